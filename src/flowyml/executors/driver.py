"""The steps that must run in the driver process (``loop._passes_state``: coupled with
others through module state) on an executor whose steps run elsewhere: a thread of the
driver's own runs them, one at a time, in the order they were submitted, while the
scheduling loop goes on handing steps to the workers and collecting their results.

One thread, never two: these steps share the process's state, so none runs beside
another, and each sees what the ones before it left, as inline. The thread runs in a
copy of the run's thread's context (``contextvars``: ``decimal``'s context, numpy's
error state and print options) and takes that thread's settings of the libraries that
keep them per thread (``settings.PER_THREAD``: scikit-learn's config), so a step
computes with what its key counts; what the steps changed of these is handed back to
the run's thread when the run ends, as if they had run in it. A step's future stays
pending until the thread takes it, so a failure elsewhere cancels it; the loop is told
when it starts (``notify_starts``), from the thread.

A thread cannot be killed. When a step fails elsewhere, the loop waits for the one
running here, as it does for a worker's. When the run stops (Ctrl-C, an error of
FlowyML's own), ``interrupt`` starts no other step and raises ``KeyboardInterrupt`` in
the one running, at its next Python instruction, and ``shutdown`` waits for it to stop,
``STOP_GRACE`` seconds at most: a step inside a call that does not come back to Python
meanwhile (a ``time.sleep``, a socket read, a long call into C) stops when the call
returns, after ``run()`` has, and a warning says so (the thread is a daemon: it does not
hold the interpreter's exit). Code that only the main thread may run
(``signal.signal``) fails in such a step.

A step with ``timeout=`` runs in a process of its own, which can be killed, as inline
(``InlineExecutor``): not on the thread.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ..core import settings
from .base import StepFuture
from .inline import InlineExecutor

if TYPE_CHECKING:
    from ..stores import StoreSpec
    from .task import StepOutcome, StepTask

_Job = tuple["Future[StepOutcome]", "StepTask"]
_UNSET = object()
STOP_GRACE = 2.0  # seconds ``shutdown`` waits for an interrupted step to stop


class DriverThread:
    name = "driver"
    max_workers = 1
    in_flight = 1
    in_process = True

    def __init__(self, store: StoreSpec) -> None:
        self._inline = InlineExecutor(store)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # (``_running`` and ``_stopping``)
        self._running: str | None = None  # the step running on the thread (``interrupt``)
        self._stopping = False
        self._on_start: Callable[[str], None] | None = None
        self._thread: threading.Thread | None = None
        self._context = contextvars.Context()  # the run's thread's (``submit``)
        self._given: dict[contextvars.ContextVar[Any], Any] = {}
        self._settings: dict[str, dict[str, Any] | None] = {}
        self._left: dict[str, dict[str, Any] | None] | None = None  # the thread's, at its end

    def notify_starts(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(step name)``, from the thread, as it starts a step."""
        self._on_start = callback

    def submit(self, task: StepTask) -> StepFuture:
        """The step's future: pending (so ``cancel()`` works) until the thread takes it."""
        if task.step.timeout is not None:  # a process of its own, as inline
            return self._inline.submit(task)
        if self._thread is None:  # (started by the run's thread: its context and settings)
            self._context = contextvars.copy_context()
            self._given = dict(self._context)
            self._settings = settings.thread_settings()
            self._thread = threading.Thread(target=self._serve, name="flowyml-driver",
                                            daemon=True)
            self._thread.start()
        fut: Future[StepOutcome] = Future()
        self._jobs.put((fut, task))
        return fut

    def _serve(self) -> None:
        try:
            self._context.run(self._work)
        except KeyboardInterrupt:  # ``interrupt``'s, come as a step ended: stopping anyway
            pass

    def _work(self) -> None:
        settings.take(self._settings)
        while (job := self._jobs.get()) is not None:
            self._one(*job)
        self._left = settings.thread_settings()

    def _one(self, fut: Future[StepOutcome], task: StepTask) -> None:
        with self._lock:
            if self._stopping:
                fut.cancel()
                return
            if not fut.set_running_or_notify_cancel():  # cancelled: a failure elsewhere
                return
            self._running = task.step.name
        try:
            if self._on_start is not None:
                self._on_start(task.step.name)
            outcome = self._inline.submit(task).result()
        except BaseException as exc:  # the step's error, or ``interrupt``'s
            self._stopped()
            fut.set_exception(exc)
        else:
            self._stopped()
            fut.set_result(outcome)

    def _stopped(self) -> None:
        with self._lock:
            self._running = None

    def interrupt(self) -> None:
        """The run stops: start no other step, and raise ``KeyboardInterrupt`` in the one
        running (``shutdown`` waits for it)."""
        with self._lock:
            self._stopping = True
            if self._running is not None and self._thread is not None and \
                    self._thread.ident is not None:
                _raise_in(self._thread.ident, KeyboardInterrupt)

    def shutdown(self) -> None:
        """Stop the thread once it has ended the step it runs (the loop waited for every
        step it handed over, unless the run stopped: ``interrupt``, then ``STOP_GRACE``
        at most), and hand what the steps changed of the context and of the per-thread
        settings to this thread (the run's)."""
        try:
            if self._thread is not None:
                self._jobs.put(None)
                self._thread.join(STOP_GRACE if self._stopping else None)
                if not self._thread.is_alive():
                    self._hand_back()
                else:
                    _still_running(self._running)
        finally:
            self._inline.shutdown()

    def _hand_back(self) -> None:
        for var, value in self._context.items():
            if self._given.get(var, _UNSET) is not value:
                var.set(value)
        if self._left is not None:  # (none: interrupted)
            settings.take({top: want for top, want in self._left.items()
                           if want != self._settings.get(top, {})})


def _still_running(step: str | None) -> None:
    import warnings

    warnings.warn(
        f"step {step!r}, which runs in this process, did not stop within {STOP_GRACE:g} s "
        "of the run's end: it is inside a call that has not returned to Python (a sleep, "
        "a read, a long computation in C); it stops with KeyboardInterrupt when that call "
        "returns", RuntimeWarning, stacklevel=2)


def _raise_in(ident: int, exc: type[BaseException]) -> None:
    """Raise ``exc`` in thread ``ident`` at its next Python instruction (CPython's
    ``PyThreadState_SetAsyncExc``; where there is none, the step runs to its end)."""
    try:
        import ctypes

        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc))
    except (ImportError, AttributeError):  # pragma: no cover (not CPython)
        pass


__all__ = ["DriverThread"]
