"""Artifact stores, found by URI scheme. Remote backends are imported only when used.

- ``base.py``: the ``ArtifactStore`` protocol every store implements in full;
- ``local.py``: a folder (a plain path or ``file://``);
- ``remote.py``: the fsspec core for every remote scheme, behind ``cache.py``;
- ``adapter.py``: what a remote backend supplies; ``registry.py``: scheme -> adapter;
- ``s3.py``, ``gcs.py``, ``azure.py``, ``memory.py``: one adapter per backend.
"""

from __future__ import annotations

import threading
from typing import Any

from ..core.struct import field, struct
from .base import ArtifactStore, ObjectInfo, object_key


@struct(frozen=True)
class StoreSpec:
    """Everything needed to open a store, and nothing else: small and picklable, so an
    executor ships it to its workers instead of the whole stack. Opening is cached per
    process, so the driver and its in-process executor share one store (and its I/O
    counters)."""

    uri: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    allow_pickle: bool | None = None
    cache_dir: str | None = None
    stack_name: str = "default"
    cache_max_bytes: int | None = None
    inline_max: int | None = None  # None: the default (stack.INLINE_MAX)

    def key(self) -> tuple[Any, ...]:
        return (self.uri, repr(sorted(self.storage_options.items())), self.allow_pickle,
                self.cache_dir, self.stack_name, self.cache_max_bytes, self.inline_max)

    def open(self) -> ArtifactStore:
        with _lock:
            store = _opened.get(self.key())
            if store is None:
                store = _opened[self.key()] = open_store(
                    self.uri, self.storage_options, self.allow_pickle, self.cache_dir,
                    stack_name=self.stack_name, cache_max_bytes=self.cache_max_bytes)
                if self.inline_max is not None:
                    store.inline_max = self.inline_max
        return store


_lock = threading.Lock()
_opened: dict[tuple[Any, ...], ArtifactStore] = {}


def forget_opened() -> None:
    """Forget the stores opened in this process (tests, and after a fork)."""
    with _lock:
        _opened.clear()


def open_store(
    uri: str,
    storage_options: dict[str, Any] | None = None,
    allow_pickle: bool | None = None,
    cache_dir: str | None = None,
    *,
    stack_name: str = "default",
    cache_max_bytes: int | None = None,
) -> ArtifactStore:
    """Open the store at ``uri``: a path or ``file://`` (local), else a remote fsspec URI
    (``stores/remote.py``) behind the local cache in ``cache_dir``."""
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme in ("", "file", "local"):
        from .local import LocalStore

        path = uri.split("://", 1)[1] if scheme else uri
        return LocalStore(
            path, allow_pickle=True if allow_pickle is None else allow_pickle, stack_name=stack_name
        )
    from .remote import open_remote_store

    return open_remote_store(
        uri,
        storage_options=storage_options or {},
        allow_pickle=False if allow_pickle is None else allow_pickle,
        cache_dir=cache_dir,
        stack_name=stack_name,
        cache_max_bytes=cache_max_bytes,
    )


__all__ = ["ArtifactStore", "ObjectInfo", "StoreSpec", "forget_opened", "object_key", "open_store"]
