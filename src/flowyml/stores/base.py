"""The artifact store interface: content-addressed bytes behind a URI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..iostats import IOStats


@dataclass(frozen=True)
class ObjectInfo:
    digest: str
    size: int
    mtime: float


class ArtifactStore(Protocol):
    """Immutable objects named by their BLAKE3 digest.

    Objects live at ``<root>/objects/<2 hex>/<digest>``. ``put_file`` is
    create-if-absent and atomic: a reader sees a whole object or none.
    """

    uri: str  # for display: secrets never appear in it
    allow_pickle: bool  # may artifacts from this store be unpickled?
    stats: IOStats  # bytes and objects moved, for run.io

    def staging_dir(self) -> Path:
        """A local folder where new objects are written before ``put_file``."""
        ...

    def exists(self, digest: str) -> bool: ...

    def put_file(self, digest: str, src: Path) -> bool:
        """Store ``src`` (consumed) as ``digest``; False when it was already there."""
        ...

    def local_path(self, digest: str) -> Path:
        """A local file with the object's bytes (fetched once when remote). Unverified."""
        ...

    def evict_local(self, digest: str) -> None:
        """Forget a local copy that failed verification (no-op for a local store)."""
        ...

    def delete(self, digest: str) -> None: ...

    def iter_objects(self) -> Iterator[ObjectInfo]: ...


def object_key(digest: str) -> str:
    """The object's path below the store root."""
    return f"objects/{digest[:2]}/{digest}"
