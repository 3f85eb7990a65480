"""What an executor hands back for each output it stored (hashes, never values), and
the id the catalog gives an artifact."""

from __future__ import annotations

import functools
from typing import Any

from .hashing import hash_text
from .struct import field, struct


@functools.lru_cache(maxsize=4096)  # a run asks for each output's id several times
def artifact_id(name: str, content_hash: str) -> str:
    """Artifact ids are derived from (name, content hash): the same everywhere, in the
    catalog (``catalog.records``) and in the messages of the objects layer."""
    return hash_text("artifact", name, content_hash)[:24]


@struct(frozen=True)
class NewOutput:
    """An output a step just produced: in the store, or, for a tiny one, its bytes in
    ``data`` (the catalog row will keep them: ``objects.INLINE_MAX``)."""

    name: str
    content_hash: str
    size: int
    materializer: str
    type_name: str
    meta: dict[str, Any] = field(default_factory=dict)
    data: bytes | None = field(default=None, repr=False)
