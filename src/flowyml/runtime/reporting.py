"""Progress callbacks: the silent default, and line-per-step progress for terminals
(the CLI, or ``run(progress=True)``). Progress goes to stderr; the Python API prints
nothing unless asked."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

from ..run import Run, StepResult


class Reporter:
    """Progress callbacks; the default prints nothing."""

    def run_started(self, run_id: str, pipeline: str) -> None: ...

    def step_started(self, name: str) -> None:
        """Step ``name`` started: on ``processes`` and Dask when a worker started it
        (a step handed over waits for one, unseen), elsewhere when it was handed to the
        executor. A reused step, or one stopped before it started, has no call."""

    def step_finished(self, result: StepResult) -> None: ...

    def run_finished(self, run: Run) -> None: ...

    def run_interrupted(self, run_id: str, pipeline: str, seconds: float,
                        stopped: list[str], executed: int, reused: int) -> None:
        """Ctrl-C stopped the run (``KeyboardInterrupt``), after its records were
        written: ``stopped`` are the steps that had started and did not finish."""


class PrintReporter(Reporter):
    def __init__(self, stream: TextIO | None = None, color: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.color = self.stream.isatty() if color is None else color

    def _c(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def _print(self, line: str) -> None:
        try:
            print(line, file=self.stream, flush=True)
        except (BrokenPipeError, ValueError):
            pass  # a closed terminal or pipe must not fail the run

    def step_started(self, name: str) -> None:
        self._print(f"  {self._c('>', '36')} {name}: running")

    def step_finished(self, result: StepResult) -> None:
        if result.status == "cached":
            self._print(f"  {self._c('=', '34')} {result.name}: reused from cache")
        elif result.status == "executed":
            why = result.reason.removeprefix("executed: ")
            if result.attempts > 1:  # retried: it failed before it succeeded
                why += f"; succeeded at attempt {result.attempts}"
            self._print(f"  {self._c('+', '32')} {result.name}: done in {result.duration:.2f} s ({why})")
        elif result.status == "failed":
            self._print(f"  {self._c('x', '31')} {result.name}: {result.reason}")
        elif result.status == "not reached":  # handed over, cancelled before it started
            self._print(f"  {self._c('-', '33')} {result.name}: {result.reason}")

    def run_finished(self, run: Run) -> None:
        colour = "32" if run.status == "succeeded" else "31"
        self._print(self._c(run.summary(), colour))

    def run_interrupted(self, run_id: str, pipeline: str, seconds: float,
                        stopped: list[str], executed: int, reused: int) -> None:
        for name in stopped:
            self._print(f"  {self._c('x', '31')} {name}: interrupted")
        self._print(self._c(
            f"run {run_id} of {pipeline}: interrupted, {executed} executed, {reused} reused, "
            f"{seconds:.2f} s; what finished is recorded, and running the pipeline again "
            "reuses it", "31"))


def reporter_from(progress: bool | Reporter | Callable[..., Any] | None) -> Reporter | None:
    """``run(progress=...)``: ``True`` prints to stderr, a ``Reporter`` is used as is."""
    if progress is True:
        return PrintReporter()
    if isinstance(progress, Reporter):
        return progress
    return None
