"""The public ``Catalog``: find artifacts by name, version, alias, hash or run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .artifact import Artifact
from .names import check_name

if TYPE_CHECKING:
    from .catalog.records import RunRecord
    from .catalog.sql import SqlCatalog
    from .stack import Stack


class Catalog:
    """The current stack's catalog (or ``Catalog(stack=...)``)."""

    def __init__(self, stack: Stack | str | None = None) -> None:
        from .stack import as_stack

        self.stack = as_stack(stack)
        self._db: SqlCatalog = self.stack.open_catalog()

    def get(self, name: str, version: int | str | None = None) -> Artifact:
        """``name`` at ``version``: an int, ``"latest"`` (default) or an alias."""
        if isinstance(version, str) and version.isdigit():
            version = int(version)
        if isinstance(version, str) and version != "latest":
            check_name(version, "alias")
        return Artifact(self._db.find(check_name(name), version), self.stack)

    def get_by_id(self, artifact_id: str) -> Artifact:
        return Artifact(self._db.get_artifact(artifact_id), self.stack)

    def resolve(self, spec: str) -> Artifact:
        """``NAME``, ``NAME@VERSION``, ``NAME@ALIAS`` or an artifact id."""
        if "@" in spec:
            name, _, sel = spec.partition("@")
            return self.get(name, sel)
        from .errors import ArtifactNotFoundError

        try:
            return self.get(spec)
        except (ArtifactNotFoundError, Exception) as first:
            try:
                return self.get_by_id(spec)
            except ArtifactNotFoundError:
                raise first from None

    def versions(self, name: str) -> list[Artifact]:
        return [Artifact(r, self.stack) for r in self._db.versions(check_name(name))]

    def tag(self, name: str, version: int, alias: str) -> None:
        """Point ``alias`` (e.g. ``"prod"``) of ``name`` at ``version``."""
        check_name(alias, "alias")
        if alias == "latest" or alias.isdigit():
            from .errors import ParameterError

            raise ParameterError(f"alias {alias!r} is reserved; pick another name")
        self._db.tag(check_name(name), int(version), alias)

    def aliases(self, name: str) -> dict[str, int]:
        return self._db.aliases(name)

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
        recs = self._db.search(name=name, hash_prefix=hash_prefix, run_id=run_id, step=step, limit=limit)
        arts = [Artifact(r, self.stack) for r in recs]
        if alias:
            arts = [a for a in arts if self._db.aliases(a.name).get(alias) == a.version]
        return arts

    def names(self) -> list[tuple[str, int, float]]:
        return self._db.asset_names()

    def runs(self, limit: int = 50, pipeline: str | None = None) -> list[RunRecord]:
        return self._db.list_runs(limit=limit, pipeline=pipeline)

    def run(self, run_id: str) -> RunRecord:
        return self._db.get_run(run_id)

    def steps(self, run_id: str) -> list[Any]:
        return self._db.step_runs(run_id)
