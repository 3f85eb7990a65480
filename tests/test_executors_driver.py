"""Steps that must run in the driver (coupled through module state) on ``processes``:
they run on the driver's own thread (``executors/driver.py``), one at a time, while the
scheduling loop goes on handing the other steps to the workers and collecting them.

The steps meet through files: a driver step that waits for a file that a worker step
writes, and that worker step can only be handed over once the loop has collected the
step before it, end (well within ``WAIT``) only if the loop keeps going while the driver
step runs. The Dask variant is in ``test_executors_dask.py`` (its cluster starts once).
"""

from __future__ import annotations

import decimal
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import flowyml as fm
from tests.conftest import interrupted, write

DRIVER_STATE: dict[str, Any] = {"k": 0}
WAIT = 30.0  # seconds a step waits for a file another step writes
LOG = logging.getLogger("tests.test_executors_driver")

pytestmark = [pytest.mark.filterwarnings("ignore::flowyml.core.fingerprint.FingerprintWarning"),
              # (a step waiting for a file another writes, with no asset between them)
              pytest.mark.filterwarnings("ignore::flowyml.executors.task.UnseenInputWarning")]


def _wait_for(path: str) -> bool:
    """Whether ``path`` appeared within ``WAIT`` seconds."""
    end = time.monotonic() + WAIT
    while not os.path.exists(path):
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


@fm.step(outputs="driver_ready")
def driver_setup(flag: str) -> list[Any]:
    DRIVER_STATE["k"] = 7  # (read by driver_use: both run in the driver)
    print("driver_setup prints")
    LOG.warning("driver_setup logs")
    return [_wait_for(flag), os.getpid()]


@fm.step(outputs="driver_used")
def driver_use(driver_ready: list[Any]) -> list[int]:
    return [DRIVER_STATE["k"], os.getpid()]


@fm.step(outputs="first")
def worker_first() -> int:
    return os.getpid()


@fm.step(outputs="then")
def worker_then(first: int, flag: str) -> int:
    Path(flag).touch()
    return os.getpid()


BESIDE = fm.Pipeline("driver-beside", [driver_setup, driver_use, worker_first, worker_then])


def check_beside(run: fm.Run, flag: Path) -> None:
    """What ``BESIDE`` gives on every parallel executor."""
    assert run["driver_ready"] == [True, os.getpid()], "the loop stopped while it ran"
    assert run["driver_used"] == [7, os.getpid()]
    assert os.getpid() not in (run["first"], run["then"])
    assert flag.exists()
    # what this process did for the worker steps meanwhile (the classes it unpickled from
    # their replies) is not what the driver step read, though it records the process
    reads = {r.step: [e[0] for e in r.reads or ()] for r in fm.Catalog().steps(run.id)}
    assert reads["driver_setup"] == ["flag"], reads


def test_a_driver_step_does_not_stop_the_loop(
        project: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """While a driver step runs, the worker steps go on: ``worker_then`` is handed over
    only once ``worker_first`` is collected, and ``driver_setup`` waits for its file.
    What the driver step prints and logs reaches the driver's terminal and handlers."""
    flag = project / "flag"
    t0 = time.monotonic()
    run = BESIDE.run(executor="processes:2", params={"flag": str(flag)})
    check_beside(run, flag)
    assert time.monotonic() - t0 < WAIT
    assert "driver_setup prints" in capsys.readouterr().out
    assert "driver_setup logs" in caplog.text
    assert all(s.status == "executed" for s in run.steps.values()), run.steps


SCALE: dict[str, int] = {"by": 1}


@fm.step(outputs="map_items")
def map_configure(by: int = 5) -> list[int]:
    SCALE["by"] = by  # (read by map_scaled: both run in the driver)
    return [1, 2, 3]


@fm.step(outputs="map_scaled", map_over="map_items")
def map_scaled(map_items: int, flag: str) -> list[Any]:
    saw = _wait_for(flag) if map_items == 1 else True
    return [map_items * SCALE["by"], saw, os.getpid()]


def test_a_mapped_driver_step_does_not_stop_the_loop(project: Path) -> None:
    """The elements of a mapped driver step run on the driver's thread too, in order,
    while the loop goes on: the first one waits for a file a worker step writes."""
    flag = project / "flag"
    pipe = fm.Pipeline("driver-mapped", [map_configure, map_scaled, worker_first, worker_then])
    run = pipe.run(executor="processes:2", params={"flag": str(flag)})
    assert run["map_scaled"] == [[5, True, os.getpid()], [10, True, os.getpid()],
                                 [15, True, os.getpid()]]
    assert os.getpid() not in (run["first"], run["then"])


@fm.step(outputs="driver_waited")
def driver_waits(flag: str) -> list[Any]:
    DRIVER_STATE["k"] = 1
    saw = _wait_for(flag)
    time.sleep(0.3)  # (the worker step's failure reaches the loop meanwhile)
    return [saw, os.getpid()]


@fm.step(outputs="driver_after")
def driver_after(driver_waited: list[Any]) -> int:
    return DRIVER_STATE["k"]


@fm.step(outputs="driver_queued")
def driver_queued(first: int) -> int:
    return DRIVER_STATE["k"]  # (handed to the driver's thread while driver_waits runs)


@fm.step(outputs="boom")
def fails_on_a_worker(first: int, flag: str) -> int:
    Path(flag).touch()
    raise ValueError("boom on a worker")


def test_a_worker_failure_waits_for_the_driver_step_running(project: Path) -> None:
    """A worker step fails while a driver step runs: a thread cannot be stopped, so the
    run waits for it, as for a step running on a worker, and records it; what the
    failure stops is what had not started (``driver_queued``, waiting for the thread)."""
    flag = project / "flag"
    pipe = fm.Pipeline("driver-waited", [driver_waits, driver_after, worker_first,
                                         driver_queued, fails_on_a_worker])
    with pytest.raises(fm.StepFailed, match="boom on a worker"):
        pipe.run(executor="processes:2", params={"flag": str(flag)})
    cat = fm.Catalog()
    run = cat.runs(limit=1)[0]
    steps = {r.step: r for r in cat.steps(run.id)}
    assert steps["driver_waits"].status == "executed", steps
    assert cat.get("driver_waited").load() == [True, os.getpid()]
    assert steps["fails_on_a_worker"].status == "failed"
    assert "driver_after" not in steps and "driver_queued" not in steps  # not reached


@fm.step(outputs="driver_failed")
def driver_fails(flag: str) -> int:
    DRIVER_STATE["k"] = 2
    _wait_for(flag)
    raise RuntimeError("driver step failed")


@fm.step(outputs="driver_next")
def driver_next(driver_failed: int) -> int:
    return DRIVER_STATE["k"]


@fm.step(outputs="slow_worker")
def slow_worker(first: int, flag: str) -> int:
    Path(flag).touch()
    time.sleep(1.0)
    return os.getpid()


def test_a_driver_step_failing_beside_worker_steps(project: Path) -> None:
    """A driver step fails while a worker step it waited for runs: the run fails with
    the driver step's error, once the worker step has finished and been recorded."""
    flag = project / "flag"
    pipe = fm.Pipeline("driver-fails", [driver_fails, driver_next, worker_first, slow_worker])
    with pytest.raises(fm.StepFailed, match="driver step failed"):
        pipe.run(executor="processes:2", params={"flag": str(flag)})
    cat = fm.Catalog()
    run = cat.runs(limit=1)[0]
    steps = {r.step: r for r in cat.steps(run.id)}
    assert steps["driver_fails"].status == "failed", steps
    assert steps["slow_worker"].status == "executed", steps
    assert cat.get("slow_worker").load() != os.getpid()
    assert "driver_next" not in steps


SEEN_A: dict[str, int] = {"n": 0}  # driver_a sets it, driver_b reads it
SEEN_B: dict[str, int] = {"n": 0}  # and the other way round


@fm.step(outputs="span_a")
def driver_a(pause: float) -> list[float]:
    start = time.monotonic()
    SEEN_A["n"] = SEEN_B["n"] + 1
    time.sleep(pause)
    return [start, time.monotonic(), os.getpid()]


@fm.step(outputs="span_b")
def driver_b(pause: float) -> list[float]:
    start = time.monotonic()
    SEEN_B["n"] = SEEN_A["n"] + 1
    time.sleep(pause)
    return [start, time.monotonic(), os.getpid()]


@fm.step(outputs="span_w")
def worker_span(pause: float) -> int:
    time.sleep(pause)
    return os.getpid()


def test_driver_steps_run_one_at_a_time(project: Path) -> None:
    """Two driver steps ready together share the process's state: never both at once."""
    pipe = fm.Pipeline("driver-serial", [driver_a, driver_b, worker_span])
    run = pipe.run(executor="processes:2", params={"pause": 0.3})
    (a0, a1, a_pid), (b0, b1, b_pid) = run["span_a"], run["span_b"]
    assert a_pid == b_pid == os.getpid()
    assert a1 <= b0 or b1 <= a0, (run["span_a"], run["span_b"])
    assert run["span_w"] != os.getpid()


@fm.step(outputs="settings_seen")
def driver_settings() -> list[Any]:
    import sklearn

    DRIVER_STATE["k"] = decimal.getcontext().prec  # (read by driver_changes)
    return [sklearn.get_config()["assume_finite"], decimal.getcontext().prec,
            np.geterr()["divide"]]


@fm.step(outputs="settings_changed")
def driver_changes(settings_seen: list[Any]) -> int:
    import sklearn

    sklearn.set_config(working_memory=512)
    decimal.setcontext(decimal.Context(prec=9))
    return DRIVER_STATE["k"]


def test_a_driver_step_has_the_run_threads_settings_and_leaves_them_its_own(
        project: Path) -> None:
    """Settings a library keeps per thread (scikit-learn's config; ``decimal``'s
    context and numpy's error state are context variables) are those of the thread that
    called ``run()`` in a driver step, as its key says; what driver steps change of them
    is that thread's after the run, as inline."""
    import sklearn

    config, context, err = sklearn.get_config(), decimal.getcontext(), np.geterr()
    try:
        sklearn.set_config(assume_finite=True)
        decimal.setcontext(decimal.Context(prec=12))
        np.seterr(divide="raise")
        pipe = fm.Pipeline("driver-settings", [driver_settings, driver_changes, worker_first])
        run = pipe.run(executor="processes:2")
        assert run["settings_seen"] == [True, 12, "raise"]
        assert run["settings_changed"] == 12
        assert sklearn.get_config()["working_memory"] == 512
        assert decimal.getcontext().prec == 9
    finally:
        sklearn.set_config(**config)
        decimal.setcontext(context)
        np.seterr(**err)


@pytest.mark.parametrize("wait", ["python", "sleep"])
def test_ctrl_c_stops_a_driver_step(project: Path, wait: str) -> None:
    """Ctrl-C while a driver step runs stops the run as interrupted, as inline: the step
    gets ``KeyboardInterrupt`` at its next Python instruction and the run waits for it
    to stop. One inside a call that does not come back to Python (``time.sleep(60)``)
    is waited for a moment only: ``run()`` returns, and a warning says the step stops
    when the call returns."""
    body = ("for _ in range(1200):\n                time.sleep(0.05)" if wait == "python"
            else "time.sleep(60)")
    write(project / "stopped.py", f"""
        import time
        import flowyml as fm

        STATE = {{"k": 0}}

        @fm.step(outputs="n")
        def first():
            STATE["k"] = 1
            return 1

        @fm.step(outputs="x")
        def slow(n):
            {body}
            open("finished", "w").close()
            return n * STATE["k"]

        @fm.step(outputs="w")
        def beside():
            time.sleep(60)
            return 0

        pipeline = fm.Pipeline("stopped", [first, slow, beside])
    """)
    exe = Path(sys.executable).parent / "flowyml"
    t0 = time.monotonic()
    returncode, _, stderr = interrupted(
        [str(exe), "run", "stopped.py", "--executor", "processes:2"], project, "slow: running")
    assert returncode == 130, stderr
    assert time.monotonic() - t0 < 30, stderr
    cat = fm.Catalog()
    run = cat.runs(limit=1)[0]
    assert run.status == "failed" and run.error == "run interrupted (KeyboardInterrupt)", run
    steps = {r.step: r for r in cat.steps(run.id)}
    assert steps["slow"].reason == "failed: interrupted (KeyboardInterrupt)", steps
    stuck = "'slow', which runs in this process, did not stop within 2 s" in stderr
    assert stuck == (wait == "sleep"), stderr
    assert not (project / "finished").exists()
