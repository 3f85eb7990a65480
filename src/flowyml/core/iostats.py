"""Byte and object counters for store and local-cache traffic (``run.io``)."""

from __future__ import annotations

import threading

from .struct import field, field_names, struct


@struct
class IOStats:
    store_bytes_read: int = 0
    store_objects_read: int = 0
    store_bytes_written: int = 0
    store_objects_written: int = 0
    cache_bytes_read: int = 0
    cache_objects_read: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {n: getattr(self, n) for n in field_names(self) if n != "_lock"}

    @staticmethod
    def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
        return {k: after[k] - before.get(k, 0) for k in after}
