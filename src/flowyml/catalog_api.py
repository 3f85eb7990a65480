"""The public ``Catalog``: find artifacts by name, version, alias, hash or run.

``Catalog`` is the stack's ``CatalogReader`` (``Catalog.reader``) with what a user needs
on top of records: names and aliases are checked, and artifacts come back as
``Artifact``s, which load their values from the stack's store. Reads that need nothing
added (``runs``, ``run``, ``steps``, ``names``, ``aliases``) are the reader's own
methods under their public names; record-level reads (lineage edges, artifact records
by id) are on ``reader``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from .artifact import Artifact
from .catalog.base import CatalogReader, RunReader, RuntimeCatalog
from .core.names import check_name, is_version

if TYPE_CHECKING:
    from typing import Concatenate

    from .catalog.records import RunRecord, StepRecord
    from .catalog.sql import SqlCatalog
    from .stack import Stack

P = ParamSpec("P")
R = TypeVar("R")


def _reads(method: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Catalog, P], R]:
    """``method`` of ``CatalogReader``, called on the catalog's reader (same signature)."""
    name = method.__name__

    @functools.wraps(method)
    def call(self: Catalog, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return getattr(self.reader, name)(*args, **kwargs)

    return call


class Catalog:
    """The current stack's catalog (or ``Catalog(stack=...)``)."""

    def __init__(self, stack: Stack | str | None = None) -> None:
        from .stack import reading_stack

        self.stack = reading_stack(stack)
        # runs and their steps are read through the catalog a run opens: `flowyml runs`
        # opens nothing more
        runtime = self.stack.open_runtime_catalog()
        self._runs: RunReader = runtime
        self._finder: RuntimeCatalog = runtime  # ``get``: one probe of the same catalog

    @property
    def display_url(self) -> str:
        """The catalog's URL, any password masked."""
        return self._finder.display_url

    def __repr__(self) -> str:
        return f"Catalog({self.display_url})"

    @property
    def reader(self) -> CatalogReader:
        """The stack's catalog, read-only: records of runs, steps, artifacts, lineage."""
        return self._db

    @functools.cached_property
    def _db(self) -> SqlCatalog:
        return self.stack.open_catalog()

    def runs(self, limit: int = 50, pipeline: str | None = None) -> list[RunRecord]:
        """The latest runs (of ``pipeline``), newest first."""
        return self._runs.list_runs(limit, pipeline)

    def run(self, run_id: str) -> RunRecord:
        """The run ``run_id``; raises ``ArtifactNotFoundError``."""
        return self._runs.get_run(run_id)

    def steps(self, run_id: str) -> list[StepRecord]:
        """The step records of a run, in the order they were written."""
        return self._runs.step_runs(run_id)

    def step_counts(self, run_ids: list[str]) -> dict[str, dict[str, int]]:
        """Run -> {status: number of its steps} (``executed``, ``cached``, ``failed``),
        for many runs in one query."""
        return self._runs.step_counts(run_ids)

    # names(), aliases(name)
    names = _reads(CatalogReader.asset_names)
    aliases = _reads(CatalogReader.aliases)

    def get(self, name: str, version: int | str | None = None) -> Artifact:
        """``name`` at ``version``: an int, ``"latest"`` (default) or an alias.

        ``latest`` is the version the most recent successful run output (executed or
        reused): the run that finished last wins, whatever the version numbers; without
        a successful run, the most recently created version. The CLI (``NAME``,
        ``NAME@latest``), catalog inputs (``inputs={"m": "model@latest"}``) and the web
        page (``/assets/NAME``) resolve it the same way (``find``, one index probe on
        the database driver). ``get("model@3")`` and ``get("model@prod")`` say the
        version in the name, as the CLI does."""
        if version is None and "@" in name:
            name, _, version = name.partition("@")
        if isinstance(version, str) and is_version(version):
            version = int(version)
        if isinstance(version, str) and version != "latest":
            check_name(version, "alias")
        return Artifact(self._finder.find(check_name(name), version), self.stack)

    def get_by_id(self, artifact_id: str) -> Artifact:
        return Artifact(self.reader.get_artifact(artifact_id), self.stack)

    def resolve(self, spec: str) -> Artifact:
        """``NAME``, ``NAME@VERSION``, ``NAME@ALIAS``, an artifact id, or the start of
        a content hash (at least 6 hex digits, as the lineage tree shows 10) that one
        artifact has (``catalog.resolve``)."""
        from .catalog.resolve import resolve_spec

        return Artifact(resolve_spec(spec, self._finder.find, lambda: self.reader), self.stack)

    def versions(self, name: str) -> list[Artifact]:
        """Every version of ``name``, oldest first."""
        return [Artifact(r, self.stack) for r in self.reader.versions(check_name(name))]

    def tag(self, name: str, version: int, alias: str) -> None:
        """Point ``alias`` (e.g. ``"prod"``) of ``name`` at ``version``."""
        check_name(alias, "alias")
        if alias == "latest" or alias.isdigit():
            from .core.errors import ParameterError

            raise ParameterError(f"alias {alias!r} is reserved; pick another name")
        self._db.tag(check_name(name), int(version), alias)

    def search(
        self,
        name: str | None = None,
        *,
        hash_prefix: str | None = None,
        run_id: str | None = None,
        step: str | None = None,
        alias: str | None = None,
        limit: int = 200,
    ) -> list[Artifact]:
        """Artifacts whose name contains ``name``, hash starts with ``hash_prefix``,
        made or used in ``run_id``, by ``step``, or tagged ``alias``."""
        recs = self.reader.search(
            name=name, hash_prefix=hash_prefix, run_id=run_id, step=step, limit=limit
        )
        arts = [Artifact(r, self.stack) for r in recs]
        if alias:
            arts = [a for a in arts if self.reader.aliases(a.name).get(alias) == a.version]
        return arts
