"""The executor interface: run step tasks, hand back futures of outcomes.

An executor receives a ``StepTask`` (the step, its plain parameter values, and
``ArtifactRef`` handles — hashes — for its stored inputs) and returns a future of the
``StepOutcome`` (the hashes of what it stored): a ``concurrent.futures.Future``, or a
``Completed`` when the step already ran in the driver (``concurrent.futures`` is then
never imported).
Executors never touch the catalog: the driver records what comes back.

Errors an executor raises into a future besides the user's own (``UserCodeError``):
``StepTimedOut`` when an attempt ran past ``@step(timeout=...)`` and its process was
killed, ``WorkerDied`` when the process running the step died (killed, out of memory).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from concurrent.futures import Future  # (a run that reuses all imports none)

    from .task import StepOutcome, StepTask


class StepFuture(Protocol):
    """What the scheduling loop asks of a submitted step (``concurrent.futures.Future``
    has it)."""

    def result(self, timeout: float | None = None) -> StepOutcome: ...

    def done(self) -> bool: ...

    def cancel(self) -> bool: ...


class Completed:
    """The future of a step that already ran: its outcome, or the exception it raised."""

    __slots__ = ("_error", "_value")

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self._value, self._error = value, error

    def result(self, timeout: float | None = None) -> StepOutcome:
        if self._error is not None:
            raise self._error
        return self._value

    def done(self) -> bool:
        return True

    def cancel(self) -> bool:
        return False


class Executor(Protocol):
    """Runs ready steps. ``in_process`` executors run steps in the driver; their steps
    still get inputs decoded from the stored objects, like a worker's (a view of their
    own: no step can change another's input), but read objects the driver wrote in
    this run without hashing them again (``StepTask.own``).

    ``max_workers`` is how many steps may run at once. ``in_flight`` is how many the
    scheduling loop keeps submitted: ``max_workers``, or more for an executor whose
    workers would otherwise wait a round trip (through Dask's scheduler) between one
    step and the next. An executor must also accept (and queue) more (the elements of
    a ``map_over`` step are submitted together).

    A step may then wait after ``submit`` for a worker. An executor that can tell when
    one starts has ``notify_starts(callback)``: the loop passes a callable, and the
    executor calls ``callback(step_name)``, from any thread, when a step it was given
    starts on a worker (more than once is harmless: retries). The loop then says a step
    is running when it starts, not when it is submitted, which is what it says on an
    executor without the method. ``processes`` and ``dask`` have it."""

    name: str
    max_workers: int
    in_flight: int
    in_process: bool

    def submit(self, task: StepTask) -> StepFuture: ...

    def shutdown(self) -> None: ...


class StepTimedOut(Exception):
    """An attempt of a step ran past its ``timeout``; the process running it was killed."""

    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class WorkerDied(Exception):
    """The process running a step died before answering (killed, out of memory)."""

    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class RemoteError(Exception):
    """A worker-side exception that could not be rebuilt in the driver (neither it nor
    its attributes pickle, or its class does not exist here); carries its class's
    qualified name (``type_name``, also the start of the message), its message and the
    worker's traceback as text (a note)."""

    type_name = ""


def describe_exit(returncode: int | None) -> str:
    """``worker process died (signal 9)`` / ``(exit code 3)`` for a dead process."""
    if returncode is None:
        return "worker process died (it closed its connection)"
    if returncode < 0:
        import signal

        try:
            signame = signal.Signals(-returncode).name
        except ValueError:
            signame = "unknown signal"
        hint = " (out of memory, or killed from outside)" if -returncode == 9 else ""
        return f"worker process died (signal {-returncode}, {signame}){hint}"
    return f"worker process died (exit code {returncode})"


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (same as in-process)."""
    return min(0.1 * 2 ** (attempt - 1), 5.0)


def timeout_message(step: str, timeout: float) -> str:
    return f"step {step!r} timed out after {timeout:g} s; its process was killed"


def run_attempts(
    task: StepTask, call: Callable[[StepTask, float | None], StepOutcome]
) -> StepOutcome:
    """Run ``task`` up to ``retries + 1`` times through ``call(task, timeout)``.

    Each attempt is one ``call`` of a copy of the task whose step has no retries of its
    own, so the timeout applies per attempt and a timed-out or dead attempt is retried
    like a failed one, with the same backoff as in-process retries. Framework errors
    (a corrupt input, a bad configuration) are not retried."""
    from .task import UserCodeError

    step = task.step
    limit = step.retries + 1
    single = single_attempt(task)
    for attempt in range(1, limit + 1):
        try:
            outcome = call(single, step.timeout)
        except (UserCodeError, StepTimedOut, WorkerDied) as exc:
            if attempt < limit and getattr(exc, "retry", True):
                time.sleep(backoff(attempt))
                continue
            exc.attempts = attempt
            raise
        outcome.attempts = attempt
        return outcome
    raise AssertionError("unreachable")  # pragma: no cover


def single_attempt(task: StepTask) -> StepTask:
    """A copy of ``task`` whose step does not retry by itself."""
    if task.step.retries == 0:
        return task
    import copy

    from ..core.struct import replace

    step = copy.copy(task.step)
    step.retries = 0
    return replace(task, step=step)


class Cancelled(Exception):
    """A step's future was cancelled before the step started (a failure elsewhere)."""


def mark_running(fut: Future[Any]) -> bool:
    """Mark ``fut`` running, unless it is already (True) or was cancelled (False)."""
    try:
        return fut.running() or fut.set_running_or_notify_cancel()
    except RuntimeError:  # (set running by another thread meanwhile)
        return fut.running()


def drive(task: StepTask, fut: Future[StepOutcome],
          attempt: Callable[..., StepOutcome]) -> None:
    """Run ``task``'s attempts (``run_attempts``, each ``attempt(task, timeout,
    fut=fut)``) into ``fut``, a future of the executor's own that stays pending until
    the step starts, so that a failure elsewhere can cancel it first (``Cancelled``:
    nothing is set). Called on a driver thread of the executor, whose reads (the classes
    a reply names, unpickled) are no step's, though a step running in the driver
    meanwhile records the whole process's (``core.reads``)."""
    from ..core.reads import paused

    try:
        with paused():
            outcome = run_attempts(task, functools.partial(attempt, fut=fut))
    except Cancelled:
        return
    except BaseException as exc:
        if mark_running(fut):
            fut.set_exception(exc)
    else:
        if mark_running(fut):  # (Dask: it ran, though no start was said: the event is late)
            fut.set_result(outcome)
