"""Handles on stored artifacts: ``ArtifactRef`` and the ``Lazy[...]`` annotation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .struct import field, struct

T = TypeVar("T")


@struct(frozen=True)
class ArtifactRef:
    """A stored artifact that has not been loaded: hash, size, format and where it lives.

    Annotate a step parameter as ``ArtifactRef`` (or ``Lazy[T]``) to receive this
    instead of the value; ``load()`` fetches, verifies and deserializes on demand.
    """

    name: str
    content_hash: str
    size: int
    materializer: str
    type_name: str = ""
    uri: str = ""
    artifact_id: str | None = None
    version: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    data: bytes | None = field(default=None, repr=False, compare=False)  # a tiny object's bytes
    _loader: Callable[[ArtifactRef], Any] | None = field(
        default=None, repr=False, compare=False
    )

    def load(self) -> Any:
        """Fetch (once), verify and deserialize the value."""
        if self._loader is None:
            raise RuntimeError(f"artifact {self.name!r} has no store attached to load from")
        return self._loader(self)


class Lazy(Generic[T]):
    """``Lazy[T]`` in an annotation means: give me an ``ArtifactRef`` to a ``T``."""

    def __class_getitem__(cls, item: Any) -> Any:
        return ArtifactRef
