"""The materializer interface: turn a value into canonical bytes in a file and back."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Materializer(Protocol):
    """Serializes one family of types.

    ``save`` must be deterministic: the same value gives the same bytes, so the content
    hash is stable and identical results deduplicate. ``load`` may memory-map ``path``
    (objects are immutable), so two readers share pages.
    """

    name: str  # stored in the catalog; picks the loader
    version: int  # bump when the byte format changes (part of every cache key)
    uses_pickle: bool  # loading can execute code: refused on stacks with allow_pickle=False

    def handles(self, value: Any) -> bool: ...

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        """Write ``value`` to ``path``; return small metadata (shape, schema...)."""
        ...

    def load(self, path: Path) -> Any: ...


class UnsupportedValue(ValueError):
    """Raised by ``save`` / ``dumps`` when this format cannot give back exactly the value
    it was handed (a type, index, dtype or name would change, or the value cannot be
    encoded at all). The next materializer that handles the value is tried, ultimately
    pickle. Other exceptions (a full disk...) fail the step as they are."""


class PickleFallbackWarning(UserWarning):
    """A value claimed by a canonical format (Arrow, ``.npy``, JSON) was stored with
    pickle instead, because that format could not keep it exact. The message names the
    asset and the reason."""


# Optional: a materializer may also define ``dumps(value) -> (bytes, meta)`` for values
# that are cheap to serialize in memory; identical results are then deduplicated
# without touching the disk. With ``loads(data) -> value`` as well, an object of at
# most ``objects.INLINE_MAX`` bytes is kept in the catalog row instead of the store. And ``save_hashed(value, path) -> (meta, digest) | None``:
# ``save`` that also returns the BLAKE3 digest of the bytes it wrote, computed while
# writing (``None``: not for this value; the caller saves, then hashes the file).
