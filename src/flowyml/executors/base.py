"""The executor interface: run step tasks, hand back futures of outcomes."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..execution import StepOutcome, StepTask


class Executor(Protocol):
    """Runs ready steps. ``in_process`` executors share the driver's memory, so values
    can be passed between steps without a round trip through the store."""

    name: str
    max_workers: int
    in_process: bool

    def submit(self, task: StepTask) -> Future[StepOutcome]: ...

    def shutdown(self) -> None: ...
