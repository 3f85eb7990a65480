"""The public ``Artifact``: one immutable, versioned value of an asset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.refs import ArtifactRef

if TYPE_CHECKING:
    from .catalog.records import ArtifactRecord
    from .stack import Stack

_UNSET: Any = object()


class Artifact:
    """A catalog record with a handle to load its value.

    ``id``, ``name``, ``version`` (from 1), ``content_hash`` (hex BLAKE3), ``run_id``
    and ``step`` of its first production, ``code_version``, ``parents`` (the artifact
    ids of the inputs it was made from), ``size``; ``load()`` returns the value.
    """

    __slots__ = ("_parents", "_record", "_stack", "_value")

    def __init__(self, record: ArtifactRecord, stack: Stack) -> None:
        self._record = record
        self._stack = stack
        self._parents: list[str] | None = None
        self._value: Any = _UNSET

    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    version = property(lambda self: self._record.version)
    content_hash = property(lambda self: self._record.content_hash)
    run_id = property(lambda self: self._record.run_id)
    step = property(lambda self: self._record.step)
    code_version = property(lambda self: self._record.code_version)
    size = property(lambda self: self._record.size)
    materializer = property(lambda self: self._record.materializer)
    type_name = property(lambda self: self._record.type_name)
    created_at = property(lambda self: self._record.created_at)
    meta = property(lambda self: dict(self._record.meta))

    @property
    def parents(self) -> list[str]:
        """Artifact ids of the inputs this artifact was made from."""
        if self._parents is None:
            edges = self._stack.open_catalog().parents_of([self.id])[self.id]
            self._parents = [pid for _, pid in edges]
        return list(self._parents)

    @property
    def uri(self) -> str:
        """Where the object lives: its URI in the store, or ``catalog:<artifact id>``
        for a tiny object the catalog keeps in the artifact's row."""
        from .stores.base import object_uri

        if self._record.data is not None:
            return object_uri("", self.content_hash, self.id)
        return object_uri(self._stack.open_store().uri, self.content_hash)

    def load(self) -> Any:
        """Fetch, verify and deserialize the value (cached on this object)."""
        if self._value is _UNSET:
            from .objects import load_object

            self._value = load_object(
                self._stack.open_store(), self.content_hash, self.materializer, self.label,
                data=self._record.data,
            )
        return self._value

    def _set_value(self, value: Any) -> None:
        self._value = value

    def __reduce__(self) -> tuple[Any, ...]:
        """A copy (a worker's, a step's own) is the record and its stack: it loads its
        value itself, not the copy of a cached one (nor of the "not loaded" marker,
        which would no longer be it)."""
        return Artifact, (self._record, self._stack)

    def ref(self) -> ArtifactRef:
        return make_ref(self._record, self._stack)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        r = self._record
        return {
            "id": r.id,
            "name": r.name,
            "version": r.version,
            "content_hash": r.content_hash,
            "size": r.size,
            "materializer": r.materializer,
            "type": r.type_name,
            "run_id": r.run_id,
            "step": r.step,
            "code_version": r.code_version,
            "created_at": r.created_at,
            "meta": r.meta,
        }

    def __repr__(self) -> str:
        return (
            f"Artifact({self.name}@{self.version}, id={self.id}, "
            f"hash={self.content_hash[:12]}, step={self.step})"
        )

    def _repr_html_(self) -> str:
        from .display import artifact_html

        return artifact_html(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Artifact) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


def make_ref(record: ArtifactRecord, stack: Stack) -> ArtifactRef:
    from .objects import load_object

    def loader(ref: ArtifactRef) -> Any:
        return load_object(stack.open_store(), ref.content_hash, ref.materializer,
                           f"{ref.name}@{ref.version}", data=ref.data)

    return ArtifactRef(
        name=record.name,
        content_hash=record.content_hash,
        size=record.size,
        materializer=record.materializer,
        type_name=record.type_name,
        uri=Artifact(record, stack).uri,
        artifact_id=record.id,
        version=record.version,
        meta=dict(record.meta),
        data=record.data,
        _loader=loader,
    )
