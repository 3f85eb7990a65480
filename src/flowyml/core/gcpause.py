"""The cycle collector paused while FlowyML does its own bookkeeping.

Building a graph, deciding, recording and closing a run allocate many small containers
(records, keys, rows) and make no reference cycles (a test checks), so the collector's
passes during those phases find nothing to collect. They are not free: each full pass
walks every object of the process, ~20 ms for a fresh interpreter holding a 1000-step
pipeline's records, and far more in a notebook holding millions of objects. So the
driver pauses the collector for its own phases (``paused``) and resumes it (``resumed``)
around everything that runs user code in this process (a step on the inline executor,
its materializers, its retries) and while it waits for steps running elsewhere (other
threads of the process go on allocating meanwhile).

The collector's state is the user's: a pause only turns off a collector that was on,
turns it back on when it ends, and leaves it off if user code turned it off meanwhile.
Nothing is collected any less: allocations still count, and the next pass after a
pause sees everything a skipped pass would have.
"""

from __future__ import annotations

import gc
import threading
from types import TracebackType

_local = threading.local()  # .pause: the innermost pause of this thread that owns the collector


class paused:  # used like a function: ``with paused():``
    """Pause the collector for the block (a no-op when it is off already)."""

    __slots__ = ("_outer", "_owns")

    def __enter__(self) -> paused:
        self._outer = getattr(_local, "pause", None)
        self._owns = gc.isenabled()
        if self._owns:
            gc.disable()
            _local.pause = self
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._owns:
            _local.pause = self._outer
            gc.enable()


class resumed:
    """Inside a pause of this thread: the collector on for the block, as the user had
    it. User code that turns the collector off keeps it off, after the pause too."""

    __slots__ = ("_pause",)

    def __enter__(self) -> resumed:
        self._pause = getattr(_local, "pause", None)
        if self._pause is not None:
            gc.enable()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        pause = self._pause
        if pause is None:
            return
        if gc.isenabled():
            gc.disable()
        else:  # the user's code turned it off: it stays off
            pause._owns = False
            _local.pause = pause._outer
