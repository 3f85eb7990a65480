"""What the rest of FlowyML needs of a catalog, as two narrow interfaces.

``RuntimeCatalog`` is what running and planning a pipeline use (``runtime.py``,
``planning.py``, ``mapping.py``): cache lookups, the previous records of its steps,
catalog references, the run's start, heartbeat and end, and group-committed step
records. ``CatalogReader`` is what lineage, the CLI, the web page and the public
``flowyml.Catalog`` read; it is four small read interfaces (artifacts, lineage,
runs, code) and never writes.

``sql.SqlCatalog`` (SQLite and PostgreSQL) implements both; administration that only
it offers (schema version, aliases, what gc reads) stays on that class. Another
implementation joins by providing these methods and passing the parametrized contract
suite in ``tests/test_catalog_contract.py``. Run liveness (a ``running`` run whose
driver died reads as failed) is policy shared by every implementation: see
``liveness.py``.

Nothing here imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .records import ArtifactRecord, CacheHit, CodeVersion, RunRecord, StepRecord, Write


@runtime_checkable
class RuntimeCatalog(Protocol):
    """What a run (and ``plan``) needs of a catalog."""

    display_url: str  # the catalog's URL with any password masked, for messages

    def lookup_cache_many(self, keys: list[str]) -> dict[str, CacheHit]:
        """The cache hits among ``keys``: key -> {asset: artifact}, with the files the
        execution read (``CacheHit.reads``) and the run it was part of
        (``CacheHit.run_id``). A key whose artifacts are not all present is a miss."""
        ...

    def previous_steps(self, pipeline: str, steps: list[str]) -> dict[str, StepRecord]:
        """The latest non-failed record of each of ``steps`` in ``pipeline``."""
        ...

    def expected_hits(
        self, pipeline: str, steps: list[str], code_versions: Mapping[str, str] | None = None
    ) -> dict[str, CacheHit]:
        """The cache hits (as ``lookup_cache_many``) of the keys that ``steps`` had in
        their latest non-failed records in ``pipeline``: what a run whose code and
        inputs did not change will look up, read at once. With ``code_versions`` (step
        -> its code version now), a record of another code version expects nothing:
        the key of code that changed since cannot come back."""
        ...

    def known_code_versions(self, versions: Iterable[str]) -> set[str]:
        """The code versions among ``versions`` that an execution (one that failed
        too) recorded. The code
        version of every cache entry is among them (both are written in one
        transaction), so a key made by any other code cannot be in the cache: a run
        does not look it up. (An entry recorded before the catalog kept code versions
        is not found that way: its step executes once more.)"""
        ...

    def find(self, name: str, selector: str | int | None = None) -> ArtifactRecord:
        """``name`` at a version number, ``"latest"`` (default) or an alias; raises
        ``ArtifactNotFoundError`` saying what exists. ``latest`` is the version output
        (executed or reused) by the successful run that finished last; when no
        successful run output ``name``, the most recently created version."""
        ...

    def recorded_assets(self, names: Iterable[str]) -> set[str]:
        """The asset names among ``names`` that have an artifact. A cache entry is a
        hit only while an artifact of each of its outputs exists, so a step one of
        whose outputs has none cannot be reused, whatever its key (``plan``)."""
        ...

    def artifacts_by_id(self, ids: Iterable[str]) -> dict[str, ArtifactRecord]:
        """The artifacts among ``ids`` that exist (unknown ids are left out)."""
        ...

    def start_run(
        self, run_id: str, pipeline: str, params: dict[str, Any], started_at: float
    ) -> None:
        """Record a ``running`` run, with this host, process and the first heartbeat."""
        ...

    def heartbeat(self, run_id: str) -> None:
        """Mark a running run's driver as alive (see ``liveness.py``)."""
        ...

    def finish_run(
        self, run_id: str, status: str, error: str | None, stats: dict[str, Any]
    ) -> None:
        """Record how the run ended (``"succeeded"`` or ``"failed"``) and its stats."""
        ...

    def catalog_id(self, create: bool = True) -> str | None:
        """The catalog's stable id, made on first need (None: none yet, and not
        ``create``). A run names it in its store before it executes a step, so gc can
        tell a store other catalogs write to (``stores/catalogs.py``)."""
        ...

    def record_batch(self, writes: list[Write]) -> list[dict[str, ArtifactRecord]]:
        """Several steps' records, in order, in one transaction. Each step's rows are
        all-or-nothing; an ``"exec"`` write gets new versions for new content, its
        lineage edges and (unless ``cache=False``) its cache entry. One result per
        write: the artifacts of an ``"exec"`` write, ``{}`` for the others."""
        ...


@runtime_checkable
class ArtifactReader(Protocol):
    """Artifacts by name, version, alias, id or search."""

    display_url: str  # the catalog's URL with any password masked, for messages

    def find(self, name: str, selector: str | int | None = None) -> ArtifactRecord: ...

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        """The artifact ``artifact_id``; raises ``ArtifactNotFoundError``."""
        ...

    def artifacts_by_id(self, ids: Iterable[str]) -> dict[str, ArtifactRecord]: ...

    def versions(self, name: str) -> list[ArtifactRecord]:
        """Every version of ``name``, oldest first."""
        ...

    def aliases(self, name: str) -> dict[str, int]:
        """Alias -> version, for ``name``."""
        ...

    def search(
        self,
        name: str | None = None,
        hash_prefix: str | None = None,
        run_id: str | None = None,
        step: str | None = None,
        limit: int = 200,
    ) -> list[ArtifactRecord]:
        """Artifacts whose name contains ``name`` (any case; ``%`` and ``_`` are
        literal), whose hash starts with ``hash_prefix``, made or used in ``run_id``,
        or made by ``step``; by name, newest version first."""
        ...

    def asset_names(self) -> list[tuple[str, int, float]]:
        """(name, number of versions, latest creation time) of every asset, by name."""
        ...


@runtime_checkable
class LineageReader(Protocol):
    """The edges between artifacts, and the runs that touched one."""

    def parents_of(self, ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """Child id -> [(param, parent id)], sorted by param (every id is a key)."""
        ...

    def children_of(self, ids: Iterable[str]) -> dict[str, list[str]]:
        """Parent id -> ids of the artifacts made from it (every id is a key)."""
        ...

    def runs_using(self, artifact_id: str) -> list[tuple[str, str, str]]:
        """(run id, step, ``"produced"`` | ``"reused"``) of every use of the artifact."""
        ...

    def ancestry(
        self, artifact_id: str, max_depth: int | None = None
    ) -> tuple[dict[str, list[tuple[str, str]]], dict[str, ArtifactRecord]]:
        """Everything ``artifact_id`` was made from, in one query (not one per level):
        ``(edges, records)``. ``records``: the artifact and every ancestor within
        ``max_depth`` levels (``None``: down to the sources), nearest first. ``edges``:
        child id -> [(param, parent id)] sorted, as ``parents_of`` gives them, keyed by
        every artifact whose parents were read (all of them unless ``max_depth``
        stopped there). Raises ``ArtifactNotFoundError`` for an unknown id."""
        ...

    def descendants(
        self, artifact_id: str, max_depth: int | None = None
    ) -> tuple[dict[str, list[tuple[str, str]]], dict[str, ArtifactRecord]]:
        """Everything made from ``artifact_id``, likewise in one query: ``edges`` are
        parent id -> [(param, child id)] sorted, ``records`` the artifact and every
        descendant within ``max_depth`` levels, nearest first."""
        ...

    def derivations_of(self, ids: Iterable[str]) -> dict[str, list[Derivation]]:
        """Artifact id -> its distinct derivations (every id is a key): the same bytes
        made by other code, run values or inputs are separate derivations; the first
        production's comes first. A production recorded before derivations were kept
        (schema < 5) with inputs but no edges is left out."""
        ...

    def reuses(self, run_id: str) -> dict[str, Reuse]:
        """Artifact id -> how run ``run_id`` reused it (every artifact it reused is a
        key): its own record of the step, and the run whose execution wrote the cache
        entry it reused."""
        ...


@runtime_checkable
class RunReader(Protocol):
    """Runs and their step records, with liveness applied to ``running`` runs."""

    def get_run(self, run_id: str) -> RunRecord:
        """The run ``run_id``; raises ``ArtifactNotFoundError``."""
        ...

    def list_runs(self, limit: int = 50, pipeline: str | None = None) -> list[RunRecord]:
        """The latest runs (of ``pipeline``), newest first."""
        ...

    def step_runs(self, run_id: str) -> list[StepRecord]:
        """The step records of a run, in the order they were written."""
        ...

    def step_counts(self, run_ids: list[str]) -> dict[str, dict[str, int]]:
        """Run -> {status: number of its steps}, a mapped step's elements left out."""
        ...


@runtime_checkable
class CodeReader(Protocol):
    """The code of code versions: what ``record_batch`` stored for executed steps
    (each fingerprint part's normalized source, content-addressed)."""

    def code_versions(
        self, versions: Iterable[str], text: bool = True
    ) -> dict[str, CodeVersion]:
        """Code version -> its recorded code, for each of ``versions`` (one that was
        never recorded gets a ``CodeVersion`` without parts). ``text=False`` reads only
        the content addresses (``digests``), not the source texts."""
        ...


@runtime_checkable
class CatalogReader(ArtifactReader, LineageReader, RunReader, CodeReader, Protocol):
    """Everything lineage, the CLI and the web page read; nothing here writes."""


# ------------------------------------------------------------------ derivations, retention
@dataclass(frozen=True)
class Derivation:
    """One way an artifact was made: the step, its code version, its run values
    (parameter -> value token) and its inputs (parameter -> artifact id), and the runs
    that made it this way (the first production's run first)."""

    step: str
    code_version: str
    parents: tuple[tuple[str, str], ...]
    values: tuple[tuple[str, str], ...]
    runs: tuple[str, ...]


@dataclass(frozen=True)
class Reuse:
    """How a run had an artifact it reused: the step and code version of its own
    record of that step (the truth: not the code that first made those bytes), and the
    run whose execution wrote the cache entry it reused: the latest execution under the
    same cache key recorded before the reuse (``None`` when none is left, pruned)."""

    step: str
    code_version: str
    run: str | None


@dataclass
class CatalogSnapshot:
    """What a retention policy decides on, read inside the pruning transaction: runs
    (liveness applied), artifacts (without ``meta``), every use (artifact id, run id,
    role), every lineage edge (child, parent, run of the derivation; ``None`` for the
    first production's), the ids of aliased artifacts, and of those whose bytes the
    catalog row holds (no store object: deleting them frees nothing for ``gc``)."""

    runs: list[RunRecord]
    artifacts: dict[str, ArtifactRecord]
    uses: list[tuple[str, str, str]]
    edges: list[tuple[str, str, str | None]]
    aliased: set[str] = field(default_factory=set)
    inline: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Deletion:
    """What to delete: runs (with their step rows, uses and derivation edges) and
    artifacts (with their edges and the cache entries that point at them)."""

    runs: frozenset[str] = frozenset()
    artifacts: frozenset[str] = frozenset()


@runtime_checkable
class RetentionCatalog(Protocol):
    """Deleting runs and artifacts under a policy, and checking what lineage needs."""

    def prune(
        self, decide: Callable[[CatalogSnapshot], Deletion], *, dry_run: bool = False,
        wait: float = 300.0,
    ) -> tuple[CatalogSnapshot, Deletion]:
        """In ONE write transaction: read a snapshot, ask ``decide`` what to delete,
        delete it (not with ``dry_run``). A run in progress may reuse anything, so a
        non-empty deletion waits (up to ``wait`` seconds, then ``CatalogError``) until no
        run is live; runs that start meanwhile wait for the transaction."""
        ...

    def lineage_gaps(self) -> list[str]:
        """One line per broken reference: a lineage edge or a use naming a missing
        artifact or run, an artifact whose first production's run is missing."""
        ...


__all__ = [
    "ArtifactReader",
    "CatalogReader",
    "CatalogSnapshot",
    "CodeReader",
    "Deletion",
    "Derivation",
    "LineageReader",
    "RetentionCatalog",
    "RunReader",
    "RuntimeCatalog",
]
