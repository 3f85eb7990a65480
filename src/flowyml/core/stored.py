"""What an executor hands back for each output it stored: hashes, never values."""

from __future__ import annotations

from typing import Any

from .struct import field, struct


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
