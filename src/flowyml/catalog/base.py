"""What the rest of FlowyML needs of a catalog, as two narrow interfaces.

``RuntimeCatalog`` is what running and planning a pipeline use (``runtime.py``,
``planning.py``, ``mapping.py``): cache lookups, the previous records of its steps,
catalog references, the run's start, heartbeat and end, and group-committed step
records. ``CatalogReader`` is what lineage, the CLI, the web page and the public
``flowyml.Catalog`` read; it is three small read interfaces (artifacts, lineage,
runs) and never writes.

``sql.SqlCatalog`` (SQLite and PostgreSQL) implements both; administration that only
it offers (schema version, aliases, what gc reads) stays on that class. Another
implementation joins by providing these methods and passing the parametrized contract
suite in ``tests/test_catalog_contract.py``. Run liveness (a ``running`` run whose
driver died reads as failed) is policy shared by every implementation: see
``liveness.py``.

Nothing here imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from .records import ArtifactRecord, RunRecord, StepRecord, Write


@runtime_checkable
class RuntimeCatalog(Protocol):
    """What a run (and ``plan``) needs of a catalog."""

    def lookup_cache_many(self, keys: list[str]) -> dict[str, dict[str, ArtifactRecord]]:
        """The cache hits among ``keys``: key -> {asset: artifact}. A key whose
        artifacts are not all present is a miss."""
        ...

    def previous_steps(self, pipeline: str, steps: list[str]) -> dict[str, StepRecord]:
        """The latest non-failed record of each of ``steps`` in ``pipeline``."""
        ...

    def find(self, name: str, selector: str | int | None = None) -> ArtifactRecord:
        """``name`` at a version number, ``"latest"`` (default) or an alias; raises
        ``ArtifactNotFoundError`` saying what exists."""
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


@runtime_checkable
class CatalogReader(ArtifactReader, LineageReader, RunReader, Protocol):
    """Everything lineage, the CLI and the web page read; nothing here writes."""


__all__ = ["ArtifactReader", "CatalogReader", "LineageReader", "RunReader", "RuntimeCatalog"]
