"""Pickle bytes that depend on the value only, not on the process: sets in sorted order.

``pickle`` writes a set's elements in its iteration order, which for strings (and
anything hashed through them) follows the process's hash seed (``PYTHONHASHSEED``,
random by default). A step returning a vocabulary, a set of stop words or a dict
holding a frozenset would then store the same value under a new content hash in every
process: a new version on every run, no early cutoff, other hashes on a worker than
inline. The C pickler cannot be told how to write an exact ``set`` (neither
``reducer_override`` nor a dispatch table is asked for one), so a value whose pickle
holds a set is pickled again by ``dump_canonical``: the pure-Python pickler, with the
elements of every set and frozenset written sorted. The opcodes are the usual ones
(``EMPTY_SET``/``ADDITEMS``, ``FROZENSET``): any pickle reader loads the bytes, and
pickles stored before, in another order, load as they did.

The order: plain ``sorted`` for elements of one kind (strings, bytes, or numbers
without NaN); otherwise by each element's own canonical pickle (a total order on any
picklable elements: tuples, frozensets, ``None`` beside strings). A subclass of set
pickles through its own ``__reduce__``, in its iteration order, as before.
"""

from __future__ import annotations

import io
import pickle
from typing import IO, Any, ClassVar

_PROTOCOL = 5
_SORTABLE = (frozenset({str}), frozenset({bytes}), frozenset({int}))
_NUMBERS = frozenset({int, float, bool})
SET_OPCODES = frozenset({"EMPTY_SET", "FROZENSET"})  # (``pickletools`` names)


def dump_canonical(value: Any, file: IO[bytes]) -> None:
    """Pickle ``value`` (protocol 5) to ``file``, every set's elements sorted."""
    _SortingPickler(file, protocol=_PROTOCOL).dump(value)


def _canonical_bytes(value: Any) -> bytes:
    with io.BytesIO() as out:
        dump_canonical(value, out)
        return out.getvalue()


def _ordered(items: set[Any] | frozenset[Any]) -> list[Any]:
    """The elements of ``items`` in an order that depends on their values only."""
    kinds = frozenset(map(type, items))
    if kinds in _SORTABLE or (kinds <= _NUMBERS and all(x == x for x in items)):
        return sorted(items)  # (NaN is not ordered: by bytes below)
    try:
        return sorted(items, key=_canonical_bytes)
    except Exception:  # an element that does not pickle: pickling fails on it anyway
        return list(items)


class _SortingPickler(pickle._Pickler):
    """The pure-Python pickler, writing sets and frozensets with sorted elements (the
    standard library's ``save_set`` / ``save_frozenset`` otherwise)."""

    dispatch: ClassVar[dict[type, Any]] = dict(pickle._Pickler.dispatch)

    def save_set(self, obj: set[Any]) -> None:
        items = _ordered(obj)
        if self.proto < 4:  # type: ignore[attr-defined]
            self.save_reduce(set, (items,), obj=obj)  # type: ignore[attr-defined]
            return
        write = self.write  # type: ignore[attr-defined]
        write(pickle.EMPTY_SET)
        self.memoize(obj)  # type: ignore[attr-defined]
        size = self._BATCHSIZE  # type: ignore[attr-defined]
        for start in range(0, len(items), size):
            write(pickle.MARK)
            for item in items[start:start + size]:
                self.save(item)  # type: ignore[attr-defined]
            write(pickle.ADDITEMS)

    def save_frozenset(self, obj: frozenset[Any]) -> None:
        items = _ordered(obj)
        if self.proto < 4:  # type: ignore[attr-defined]
            self.save_reduce(frozenset, (items,), obj=obj)  # type: ignore[attr-defined]
            return
        write = self.write  # type: ignore[attr-defined]
        write(pickle.MARK)
        for item in items:
            self.save(item)  # type: ignore[attr-defined]
        if id(obj) in self.memo:  # type: ignore[attr-defined]
            # (recursive: it reached itself through an element's reduction)
            write(pickle.POP_MARK + self.get(self.memo[id(obj)][0]))  # type: ignore[attr-defined]
            return
        write(pickle.FROZENSET)
        self.memoize(obj)  # type: ignore[attr-defined]

    dispatch[set] = save_set
    dispatch[frozenset] = save_frozenset


__all__ = ["SET_OPCODES", "dump_canonical"]
