"""Pause Python's cyclic garbage collector while FlowyML itself allocates in bulk.

Building a graph (validating it, fingerprinting every step, reading and writing the
fingerprint memo) creates hundreds of thousands of small objects (parsed trees,
facts, tokens) and frees none of them as cycles. CPython's collector cannot know
that: each time allocations outnumber frees by its threshold it scans the young
objects, and every tenth of those scans also scans the older ones, up to the whole
heap. On a 10,000-step build that was a quarter of the CPU time, and it frees nothing.

Only graphs of ``BIG`` steps or more are built with the collector paused. The pause
covers FlowyML's own bookkeeping only, never a step's body, so the user's code always
runs under the collector settings the user chose. A collector the user disabled stays
disabled; one that was enabled is enabled again on the way out, also when the build
raises. Reference counting frees everything acyclic as usual.

Turning the collector back on would make the next allocation scan every object the
build left alive (they all still sit in the youngest generation): ~0.1 s on a
10,000-step build, to find nothing. So those objects are first moved to the oldest
generation unscanned (``gc.freeze()`` then ``gc.unfreeze()``), where they are scanned
with everything else at the next full collection, as any long-lived object is. Not
when the user keeps frozen objects of their own (``gc.get_freeze_count()``): unfreezing
would hand theirs back to the collector.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BIG = 500  # steps: below this a build allocates too little for the pause to pay


@contextmanager
def cyclic_gc_paused(steps: int) -> Iterator[None]:
    """Run the ``with`` body without automatic cyclic collections, for a graph of
    ``steps`` steps. Below ``BIG`` steps it changes nothing: a small build never
    reaches a full collection, and the one deferred young-generation scan made a
    200-step rerun ~2% slower."""
    if steps < BIG:
        yield
        return
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not gc.get_freeze_count():
                gc.freeze()  # everything, young included, into the permanent generation
                gc.unfreeze()  # ... and from there into the oldest one, unscanned
            gc.enable()
