"""The artifact store interface: content-addressed bytes behind a URI.

``ArtifactStore`` names everything the rest of FlowyML calls on a store, so callers
never probe for optional methods: each implementation (``local.py``, and ``remote.py``
with its backend adapters) gives every method the semantics it can honour.
``tests/test_store_contract.py`` runs one suite over all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from ..core.iostats import IOStats
from ..core.struct import struct

INLINE_MAX = 4096  # bytes: the default ``inline_max`` (objects kept in the catalog row)


@struct(frozen=True)
class ObjectInfo:
    digest: str
    size: int
    mtime: float


class ArtifactStore(Protocol):
    """Immutable objects named by their BLAKE3 digest.

    Objects live at ``<root>/objects/<2 hex>/<digest>``. ``put_file`` is
    create-if-absent and atomic: a reader sees a whole object or none. A digest that is
    not 64 lowercase hex is refused with ``StoreError`` before any path is touched.
    """

    uri: str  # for display: secrets never appear in it
    stack_name: str  # the stack the store was opened for (named in every error)
    allow_pickle: bool  # may artifacts from this store be unpickled?
    inline_max: int  # objects of at most this many bytes stay in the catalog (objects.py)
    stats: IOStats  # bytes and objects moved, for run.io

    # ---------------------------------------------------------------- reading
    def exists(self, digest: str) -> bool:
        """Is the object stored now? (A real lookup, never a cached listing.)"""
        ...

    def local_path(self, digest: str) -> Path:
        """A local file with the object's bytes (fetched once when remote). Unverified;
        ``ArtifactNotFoundError`` when the object is not stored."""
        ...

    def evict_local(self, digest: str) -> None:
        """Forget a local copy that failed verification (no-op for a local store)."""
        ...

    # ---------------------------------------------------------------- writing
    def staging_dir(self) -> Path:
        """A local folder where new objects are written before ``put_file``."""
        ...

    def put_file(self, digest: str, src: Path) -> bool:
        """Store ``src`` (consumed) as ``digest``; False when it was already there (its
        age is then refreshed for gc, and a damaged copy repaired with ``src`` if
        ``src`` hashes to ``digest``)."""
        ...

    def refresh(self, digest: str) -> bool:
        """True when the object is stored intact; its age is then refreshed, as a write
        would. False means "write it": the object is absent, damaged, or the store cannot
        vouch for it cheaply; ``put_file`` then does the check itself."""
        ...

    # ---------------------------------------------------------------- maintenance (gc)
    def iter_objects(self) -> Iterator[ObjectInfo]:
        """Every stored object, with its size and modification time."""
        ...

    def mtime(self, digest: str) -> float:
        """The object's modification time now; ``FileNotFoundError`` when not stored."""
        ...

    def delete_if_older(self, digest: str, cutoff: float) -> bool:
        """Delete the object unless its age was refreshed at or after ``cutoff`` (gc's
        safe delete: the age is re-checked right before deleting). True when the object
        is gone afterwards (also when it already was), False when it was kept."""
        ...

    def delete(self, digest: str) -> None:
        """Delete the object unconditionally (absent is fine)."""
        ...

    # ---------------------------------------------------------------- catalogs (gc)
    def register_catalog(self, catalog_id: str, marker: bytes) -> bool:
        """Create ``catalogs/<catalog_id>`` holding ``marker`` unless it exists (never
        rewritten); True when this call created it. Once per process and id: a later
        call sends nothing (see ``stores/catalogs.py``). ``StoreError`` for an id that
        is not 16-64 lowercase hex."""
        ...

    def registered_catalogs(self) -> dict[str, bytes]:
        """Every catalog marker: id -> its bytes (a real listing, never cached)."""
        ...

    def forget_catalog(self, catalog_id: str) -> bool:
        """Delete the catalog's marker; True when it existed."""
        ...

    # ---------------------------------------------------------------- display
    def describe(self) -> dict[str, Any]:
        """``kind``, ``uri``, ``endpoint``, ``storage_options`` (secrets masked) and
        ``cache_dir``: what ``flowyml stack show`` may print."""
        ...


def object_key(digest: str) -> str:
    """The object's path below the store root."""
    return f"objects/{digest[:2]}/{digest}"


def object_uri(store_uri: str, digest: str, inline_id: str | None = None) -> str:
    """Where an object lives: its URI in the store, or ``catalog:<artifact id>`` for a
    tiny object the catalog keeps in the row of artifact ``inline_id``."""
    if inline_id is not None:
        return f"catalog:{inline_id}"
    return f"{store_uri.rstrip('/')}/{object_key(digest)}"


def is_stored(store: ArtifactStore, record: Any) -> bool:
    """Whether an artifact's object can be read: its bytes are in its catalog row
    (``data``), or the store holds it (a real existence check, never a listing)."""
    return getattr(record, "data", None) is not None or store.exists(record.content_hash)
