"""Read an object back: fetch (once), verify its BLAKE3 hash, deserialize."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConfigError, CorruptArtifactError
from .hashing import hash_file
from .materializers import get_materializer

if TYPE_CHECKING:
    from .stores.base import ArtifactStore


def load_object(
    store: ArtifactStore, digest: str, materializer: str, what: str, own: bool = False
) -> Any:
    """The value stored under ``digest``; never returns bytes that fail verification.

    Every call decodes a new value (numpy arrays and Arrow data map the object's pages
    read-only), so no two readers share a mutable object. ``own=True`` is for objects
    this process wrote during the current run (an in-process step's output read by the
    next step): their bytes were hashed as they were written, so they are not hashed
    again, and a pickle is loaded even when the store refuses pickles (the bytes are
    the process's own serialization). A copy fetched from a remote store is verified
    by the fetch itself.
    """
    mat = get_materializer(materializer)
    if own:
        try:
            return _decode(mat, store.local_path(digest), digest, what)
        except CorruptArtifactError:  # damaged since it was written? verify (and refetch)
            return _decode(mat, verified_path(store, digest, what), digest, what)
    if mat.uses_pickle and not store.allow_pickle:
        raise ConfigError(
            f"artifact {what} is stored with pickle, and loading a pickle can run code; "
            f"store {store.uri} does not allow it. If you trust this store, set "
            "allow_pickle = true on its stack (flowyml.toml) or Stack(allow_pickle=True)"
        )
    path = verified_path(store, digest, what)
    return _decode(mat, path, digest, what)


def _decode(mat: Any, path: Any, digest: str, what: str) -> Any:
    try:
        return mat.load(path)
    except Exception as exc:  # MemoryError and RecursionError included
        # bytes that hash right but do not decode: written by something other than
        # FlowyML's materializer, or hostile. Never let a half-decoded value through.
        raise CorruptArtifactError(
            f"artifact {what}: object {digest} does not decode as {mat.name!r} "
            f"({type(exc).__name__}: {str(exc)[:200]}). It was not written by this "
            "materializer; re-run the producing step with --force"
        ) from exc


def verified_path(store: ArtifactStore, digest: str, what: str) -> Any:
    """A local path whose bytes hash to ``digest``; a bad local copy is evicted and
    refetched once before giving up with ``CorruptArtifactError``."""
    path = store.local_path(digest)
    actual = hash_file(path)
    if actual == digest:
        return path
    store.evict_local(digest)
    path = store.local_path(digest)
    actual = hash_file(path)
    if actual == digest:
        return path
    where = f"store {store.uri}" + (f" of stack {store.stack_name!r}" if store.stack_name else "")
    raise CorruptArtifactError(
        f"artifact {what}: object {digest} in {where} is corrupt (its bytes hash to "
        f"{actual[:16]}...). No data was returned. Delete the object and re-run the producing "
        "step with --force, or run `flowyml verify` to find other damage"
    )
