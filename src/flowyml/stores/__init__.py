"""Artifact stores, found by URI scheme. Remote backends are imported only when used.

- ``base.py``: the ``ArtifactStore`` protocol every store implements in full;
- ``local.py``: a folder (a plain path or ``file://``);
- ``remote.py``: the fsspec core for every remote scheme, behind ``cache.py``;
- ``adapter.py``: what a remote backend supplies; ``registry.py``: scheme -> adapter;
- ``s3.py``, ``gcs.py``, ``azure.py``, ``memory.py``: one adapter per backend.
"""

from __future__ import annotations

from typing import Any

from .base import ArtifactStore, ObjectInfo, object_key


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


__all__ = ["ArtifactStore", "ObjectInfo", "object_key", "open_store"]
