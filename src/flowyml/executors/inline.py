"""The default executor: one step at a time, in the driver process."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING

from ..execution import StepOutcome, StepTask, run_task

if TYPE_CHECKING:
    from ..stack import Stack


class InlineExecutor:
    name = "inline"
    max_workers = 1
    in_process = True

    def __init__(self, stack: Stack) -> None:
        self._store = stack.open_store()

    def submit(self, task: StepTask) -> Future[StepOutcome]:
        fut: Future[StepOutcome] = Future()
        try:
            fut.set_result(run_task(task, self._store))
        except BaseException as exc:  # delivered to the scheduling loop
            fut.set_exception(exc)
        return fut

    def shutdown(self) -> None:
        return None
