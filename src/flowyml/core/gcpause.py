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

A run pauses it too, whatever its size (``paused_until_user_code``), from the start of
``Pipeline.run`` until the first step body is handed to an executor (``resume``) or the
run ends: FlowyML's modules imported on first use, the build, the catalog's reads, the
decisions and records. In a run that reuses every step that is all of it, and the
collections it triggered were ~6% of a cached 200-step rerun, freeing nothing. The
pause is the calling thread's: a run that finds the collector already off (the user's
choice, or another thread's pause) changes nothing.
"""

from __future__ import annotations

import gc
import threading
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
            _enable()


def _enable() -> None:
    if not gc.get_freeze_count():
        gc.freeze()  # everything, young included, into the permanent generation
        gc.unfreeze()  # ... and from there into the oldest one, unscanned
    gc.enable()


_run = threading.local()  # ``paused``: whether this thread's run holds a pause


@contextmanager
def paused_until_user_code() -> Iterator[None]:
    """Run the ``with`` body (a run) without automatic cyclic collections until
    ``resume`` is called in this thread, when a step body is about to execute."""
    if getattr(_run, "paused", False) or not gc.isenabled():
        yield  # (a run started while this thread's is paused, from a callback of it, or
        return  # a collector off already: the user's choice, or another thread's pause)
    gc.disable()
    _run.paused = True
    try:
        yield
    finally:
        resume()


def resume() -> None:
    """End this thread's run pause, if it holds one: user code runs next."""
    if getattr(_run, "paused", False):
        _run.paused = False
        _enable()
