"""``processes[:N]``: a local pool of N worker processes (default: one per core).

The pool is our own rather than ``concurrent.futures.ProcessPoolExecutor`` so that one
worker can be killed — at a step's timeout, or when it died — and replaced without
breaking the others. Each submitted task gets a driver thread that encodes the job
(hashes, not values: see ``worker``), takes an idle worker, sends it the job, waits for
the reply with the step's deadline and gives the worker back; the next jobs wait
encoded, so a worker that answers gets its next job at once, and a step's future can
be cancelled until a worker takes it (a failure stops what has not started). A step
starts when a worker is taken for it: the future is then running, and the scheduling
loop is told (``notify_starts``), so progress does not show as running a step that
waits for a worker. Retries and timeouts are per attempt (``base.run_attempts``). ``shutdown`` stops every worker and SIGKILLs the
process group of any that does not exit, so no process outlives the run.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from .base import Cancelled, StepTimedOut, WorkerDied, drive, timeout_message
from .worker import WorkerProcess, decode_reply, encode_job, warm_up_message

if TYPE_CHECKING:
    from ..stores import StoreSpec
    from .task import StepOutcome, StepTask


class ProcessesExecutor:
    name = "processes"
    in_process = False

    def __init__(self, store: StoreSpec, max_workers: int | None = None) -> None:
        self.max_workers = max(1, max_workers or os.cpu_count() or 1)
        # one step waiting per worker: a driver thread hands it over as soon as the
        # worker answers, without waiting for the scheduling loop to come round
        self.in_flight = 2 * self.max_workers
        self._spec = store
        self._stats = store.open().stats
        self._lock = threading.Lock()
        self._closed = False
        self._started = False
        self._live: set[WorkerProcess] = set()
        # idle workers; None stands for "start one when needed" (lazy replacement)
        self._idle: queue.SimpleQueue[WorkerProcess | None] = queue.SimpleQueue()
        for _ in range(self.max_workers):
            self._idle.put(None)
        self._threads = ThreadPoolExecutor(self.in_flight, thread_name_prefix="flowyml-proc")
        self._on_start: Callable[[str], None] | None = None

    def notify_starts(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(step name)``, from a driver thread, when a worker is taken
        for a step (its first attempt's)."""
        self._on_start = callback

    def __repr__(self) -> str:
        return f"ProcessesExecutor(max_workers={self.max_workers})"

    def start(self, first: StepTask | None = None) -> ProcessesExecutor:
        """Start every worker now; they start up in parallel, importing the module of
        ``first``'s step. Called at the first submit, so a run whose steps are all
        cached starts no process."""
        with self._lock:
            if self._started:
                return self
            self._started = True
        warm = None if first is None else warm_up_message(first)
        idle = []
        for _ in range(self.max_workers):
            w = self._idle.get()
            if w is None:
                w = self._new_worker()
                if warm is not None:
                    w.send(warm)
            idle.append(w)
        for w in idle:
            self._idle.put(w)
        return self

    def submit(self, task: StepTask) -> Future[StepOutcome]:
        """The step's future: pending (so ``cancel()`` works) until a worker is free
        for it; its driver thread encodes the job meanwhile."""
        if not self._started:
            self.start(task)
        fut: Future[StepOutcome] = Future()
        self._threads.submit(drive, task, fut, self._attempt)
        return fut

    def _attempt(self, task: StepTask, timeout: float | None, *,
                 fut: Future[StepOutcome]) -> StepOutcome:
        # (the worker says when it starts, and sends the step's log records as it runs)
        payload = encode_job(self._spec, task, timeout, live_logs=True)
        worker = self._idle.get()
        if not fut.running():  # its first attempt: the step starts now
            if not fut.set_running_or_notify_cancel():
                self._idle.put(worker)  # cancelled while it waited (a failure elsewhere)
                raise Cancelled
            if self._on_start is not None:
                self._on_start(task.step.name)
        if worker is None or not worker.alive():
            if worker is not None:
                self._forget(worker)
            worker = self._new_worker()
        try:
            reply = worker.call(payload, timeout)
        except StepTimedOut:
            self._forget(worker)
            self._idle.put(None)
            assert timeout is not None
            raise StepTimedOut(timeout_message(task.step.name, timeout)) from None
        except WorkerDied as exc:
            self._forget(worker)
            self._idle.put(None)
            raise WorkerDied(f"{exc} while running step {task.step.name!r}") from None
        self._idle.put(worker)
        return decode_reply(reply, self._stats)

    def _new_worker(self) -> WorkerProcess:
        with self._lock:
            if self._closed:
                raise RuntimeError("the processes executor is shut down")
            w = WorkerProcess()
            self._live.add(w)
            return w

    def _forget(self, worker: WorkerProcess) -> None:
        worker.kill()
        with self._lock:
            self._live.discard(worker)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._live)
            self._live.clear()
        # polite first (they exit at once when idle), then SIGKILL the stragglers
        stoppers = [threading.Thread(target=w.stop, args=(0.5,)) for w in workers]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        self._threads.shutdown(wait=False, cancel_futures=True)
