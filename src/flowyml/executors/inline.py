"""The default executor: one step at a time, in the driver process.

Steps get their inputs as a worker would: decoded from the stored objects, one view per
step (numpy arrays memory-mapped read-only), never the producer's object, so results
are the same as on the other executors. Objects written by this process during the
run are read from the local store without hashing them again.

A step with ``timeout=`` is the exception: a timeout must be able to stop the step, and
only a process can be stopped, so such a step runs in a one-worker process pool (the
``processes`` executor's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Completed, StepFuture, run_attempts
from .task import StepTask, run_task

if TYPE_CHECKING:
    from ..stores import StoreSpec
    from .processes import ProcessesExecutor


class InlineExecutor:
    name = "inline"
    max_workers = 1
    in_flight = 1
    in_process = True

    def __init__(self, store: StoreSpec) -> None:
        self._spec = store
        self._store = store.open()
        self._isolated: ProcessesExecutor | None = None

    def submit(self, task: StepTask) -> StepFuture:
        if task.step.timeout is not None:
            if self._isolated is None:
                from .processes import ProcessesExecutor

                self._isolated = ProcessesExecutor(self._spec, 1)
            return self._isolated.submit(task)
        try:
            return Completed(run_attempts(  # one step at a time: the process is its own
                task, lambda t, _timeout: run_task(t, self._store, alone=True)))
        except KeyboardInterrupt:
            raise  # Ctrl-C stops the run, not the step: as on every other executor
        except BaseException as exc:  # delivered to the scheduling loop
            return Completed(error=exc)

    def shutdown(self) -> None:
        if self._isolated is not None:
            self._isolated.shutdown()
            self._isolated = None
