"""The Dask executor on a real ``distributed.LocalCluster`` with 2 worker processes,
started once for this module; the store is a shared temporary folder.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from flowyml.core.errors import ConfigError
from flowyml.core.hashing import hash_bytes
from flowyml.core.reads import never_a_step
from flowyml.executors import make_executor
from flowyml.executors.base import StepTimedOut, WorkerDied
from flowyml.stack import Stack, clear_opened
from tests._helpers_stores import _files
from tests.conftest import flowyml_cli, write
from tests.test_executors import (
    PIPE,
    NeedsArgs,
    _summary,
    _Timeline,
    count_rows,
    joined,
    left,
    most_running,
    naps,
    raises,
    right,
    seed,
    talks,
    warm_starts,
)
from tests.test_map_over import PIPE as MAP_PIPE
from tests.test_map_over import _executions


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    import dask
    from distributed import LocalCluster

    # a task whose worker dies fails at once (the step's own retries decide the rest)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
    # its scheduler runs in this process, as the ``dask`` executor's own cluster's does,
    # whose event loop the executor marks: what it unpickles is no driver step's read
    cluster.loop.add_callback(never_a_step)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture
def spec(dask_address: str) -> str:
    return "dask://" + dask_address.removeprefix("tcp://")


def test_connects_to_the_scheduler(
    project: Path, spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ex = make_executor(spec, fm.Stack().resolve().store_spec())
    try:
        assert ex.name == "dask" and ex.max_workers == 2 and not ex.in_process
    finally:
        ex.shutdown()
    monkeypatch.setattr("flowyml.executors.dask.CONNECT_TIMEOUT", "1s")
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        make_executor("dask://127.0.0.1:1", fm.Stack().resolve().store_spec())


def test_a_cached_run_connects_to_no_scheduler(
        project: Path, spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The executor is made when a step has to execute: a rerun that reuses every step
    opens no Dask client (and, for executor='dask', would start no local cluster)."""
    from flowyml.executors import dask as dask_executor

    made: list[str | None] = []
    real_init = dask_executor.DaskExecutor.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(kwargs.get("address"))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(dask_executor.DaskExecutor, "__init__", counting)
    pipe = fm.Pipeline("diamond", [joined, left, right, seed])
    assert pipe.run(executor=spec)["joined"] is not None and len(made) == 1
    again = pipe.run(executor=spec)
    assert {s.status for s in again.steps.values()} == {"cached"} and len(made) == 1


def test_diamond_branches_run_at_once(project: Path, spec: str) -> None:
    run = fm.Pipeline("diamond", [joined, left, right, seed]).run(executor=spec)
    assert run["joined"] > 0  # the two branches overlapped


@pytest.mark.usefixtures("objects_in_store")
def test_same_results_as_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    from flowyml.stack import clear_opened

    seen = {}
    for ex in ("inline", spec):
        root = tmp_path / ("inline" if ex == "inline" else "dask")
        root.mkdir()
        (root / "flowyml.toml").write_text("")
        monkeypatch.chdir(root)
        monkeypatch.setenv("FLOWYML_ROOT", str(root))
        clear_opened()
        run = PIPE.run(params={"n": 6}, executor=ex)
        seen[ex] = _summary(run)
        assert run.io["store_objects_written"] == 4  # worker writes are counted too
    clear_opened()
    assert seen["inline"] == seen[spec]


def test_map_over_on_dask(project: Path, spec: str) -> None:
    log = project / "calls.txt"
    params = {"values": [1, 2, 3], "log": str(log)}
    run = MAP_PIPE.run(params=params, executor=spec)
    assert run["squares"] == [1, 4, 9] and _executions(log) == [1, 2, 3]
    log.unlink()
    run = MAP_PIPE.run(params={**params, "values": [1, 20, 3]}, executor=spec)
    assert run["squares"] == [1, 400, 9] and _executions(log) == [20]
    assert "1 of 3 elements executed, 2 reused" in run.steps["square"].reason


def test_a_dask_worker_records_the_files_a_step_reads(project: Path, spec: str) -> None:
    """A file opened by a plain path in a step on a Dask worker (here by an absolute
    path: the workers' folder is not the project's) joins the cache entry."""
    raw = project / "raw.txt"
    raw.write_text("1 2 3")

    @fm.step(outputs="total")
    def total(path: str) -> int:
        with open(path) as f:
            return sum(int(x) for x in f.read().split())

    pipe = fm.Pipeline("dask-reads", [total])
    params = {"path": str(raw)}
    assert pipe.run(params=params, executor=spec)["total"] == 6
    assert pipe.run(params=params, executor=spec).executed == []
    raw.write_text("1 2 4")
    run = pipe.run(params=params, executor=spec)
    assert run["total"] == 7 and run.executed == ["total"]
    assert "file raw.txt it read changed" in run.steps["total"].reason


def test_timeout_and_retries_on_dask(project: Path, spec: str) -> None:
    pid_file = project / "pids.txt"

    @fm.step(outputs="slow", timeout=0.5, retries=1)
    def slow(path: str) -> int:
        with open(path, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(60)
        return 1

    t0 = time.perf_counter()
    with pytest.raises(fm.StepFailed, match=r"timed out after 0\.5 s") as info:
        fm.Pipeline("slow", [slow]).run(params={"path": str(pid_file)}, executor=spec)
    assert time.perf_counter() - t0 < 15
    assert isinstance(info.value.__cause__, StepTimedOut)
    assert info.value.run.steps["slow"].attempts == 2  # type: ignore[attr-defined]
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 2
    deadline = time.time() + 5
    while any(_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)  # the step's process was really stopped


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_dead_dask_worker_fails_the_step(project: Path, spec: str) -> None:
    @fm.step(outputs="first")
    def first() -> int:
        return 1

    @fm.step(outputs="doomed")
    def doomed(first: int) -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0

    with pytest.raises(fm.StepFailed, match="worker process died") as info:
        fm.Pipeline("doomed", [first, doomed]).run(executor=spec)
    assert "'doomed'" in str(info.value) and isinstance(info.value.__cause__, WorkerDied)
    run = info.value.run  # type: ignore[attr-defined]
    assert run.status == "failed" and run["first"] == 1


@pytest.mark.filterwarnings("ignore::flowyml.core.fingerprint.FingerprintWarning")
def test_a_value_that_cannot_be_sent_to_a_dask_worker_is_named_with_the_fix(
        project: Path, spec: str) -> None:
    marker = project / "ran"
    with pytest.raises(fm.WorkerStateError) as info:
        fm.Pipeline("unsendable", [count_rows]).run(
            executor=spec,
            params={"conn": sqlite3.connect(":memory:"), "marker": str(marker)})
    msg = str(info.value)
    assert "the value of its parameter conn (a sqlite3.Connection) cannot be sent" in msg
    assert "Create it inside the step" in msg and "executor='inline'" in msg
    assert not marker.exists()


def test_a_steps_exception_and_interrupt_on_dask_are_as_inline(project: Path, spec: str) -> None:
    """An exception whose ``__init__`` takes other arguments is its own class (as
    inline); a ``KeyboardInterrupt`` from a step's code stops the run (as inline)."""
    pipe = fm.Pipeline("raises", [raises])
    with pytest.raises(fm.StepFailed, match="NeedsArgs: code=7") as info:
        pipe.run(executor=spec, params={"kind": "needs_args"})
    cause = info.value.__cause__
    assert isinstance(cause, NeedsArgs) and (cause.code, cause.detail) == (7, "x"), cause
    with pytest.raises(KeyboardInterrupt, match="from the step's code"):
        pipe.run(executor=spec, params={"kind": "kbint"})
    assert fm.Catalog().runs(limit=1)[0].error == "run interrupted (KeyboardInterrupt)"


def test_a_failure_on_dask_cancels_the_steps_that_have_not_started(
        project: Path, spec: str) -> None:
    """Steps handed to Dask (two per worker) that wait for a worker when a step fails
    are cancelled before they start, and said "not reached", as on processes: after
    the failure only the worker it freed may have taken its next one already."""
    marks = project / "started"
    marks.mkdir()

    @fm.step(outputs="bad", cache=False)
    def bad() -> int:
        time.sleep(0.8)
        (marks / "failed").write_text(repr(time.time()))
        raise ValueError("boom")

    @fm.step(outputs="gate", cache=False)
    def gate() -> int:  # the slow steps are handed over once bad runs on a worker
        return 1

    def slow_step(i: int) -> fm.Step:
        def slow(gate: int) -> int:
            (marks / f"slow{i}").write_text(repr(time.time()))
            time.sleep(3.0)  # (the other worker's: cancelling must win over its end, on a
            return i  # loaded 2-core machine too)

        return fm.step(outputs=f"out{i}", name=f"slow{i}", cache=False)(slow)

    with pytest.raises(fm.StepFailed, match="boom") as info:
        fm.Pipeline("cancelling", [bad, gate, *[slow_step(i) for i in range(6)]]).run(
            executor=spec)
    run = info.value.run  # type: ignore[attr-defined]
    failed_at = float((marks / "failed").read_text())
    starts = {p.name: float(p.read_text()) for p in marks.iterdir() if p.name != "failed"}
    after = sorted(n for n, t in starts.items() if t > failed_at)
    assert len(after) <= 1, f"{after} started after the failure ({starts}, {failed_at})"
    never = {n for n, r in run.steps.items() if r.status == "not reached"}
    assert len(never) >= 3 and not never & set(starts), (never, starts)
    assert all(run.steps[n].status == "executed" for n in starts), run.steps


def test_a_steps_log_records_on_dask_reach_the_drivers_handlers(
        project: Path, spec: str, caplog: pytest.LogCaptureFixture) -> None:
    """Records a step logs on a Dask worker come back with its reply and reach the
    driver's handlers, at the driver's level, as inline."""
    caplog.set_level(logging.INFO)
    fm.Pipeline("talks_dask", [talks]).run(executor=spec)
    got = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "tests.steps"]
    assert got == [("INFO", "info 2 from the step"), ("ERROR", "caught it")], got


def test_cli_progress_is_the_same_as_locally(project: Path, spec: str) -> None:
    write(project / "pipe.py", """
        import flowyml as fm

        @fm.step(outputs="xs")
        def xs(n: int = 3):
            return list(range(n))

        @fm.step(outputs="ys")
        def ys(xs):
            return [x + 1 for x in xs]

        pipe = fm.Pipeline("cli", [xs, ys])
    """)

    def lines(*args: str) -> list[str]:
        res = flowyml_cli(project, "run", "pipe.py", "--force", *args)
        assert res.returncode == 0, res.stdout + res.stderr
        text = re.sub(r"\d+\.\d\d s", "T s", res.stderr)
        return [re.sub(r"run \S+ of", "run ID of", ln) for ln in text.splitlines()]

    local = lines()
    remote = lines("--executor", spec)
    assert remote == local and any("ys: done in" in ln for ln in remote)


def test_progress_shows_running_only_the_steps_a_dask_worker_runs(
        project: Path, spec: str) -> None:
    """Dask gets four steps at once on two one-thread workers (each queues one beyond
    the one it runs); progress says a step is running when its worker starts it (the
    worker says so, on the stream it sends results by): never more than two at once,
    and not while it waits."""
    shown = _Timeline()
    run = fm.Pipeline("naps", naps(6)).run(executor=spec, progress=shown)
    assert run.status == "succeeded" and len(run.executed) == 6
    assert most_running(shown.events) == 2, shown.events
    started = shown.shown("start")
    assert len(started) == 6, shown.events
    warm = warm_starts(run)  # each waited 0.6 s at its worker: said when it began
    assert len(warm) >= 3 and all(started[n] > t - 0.3 for n, t in warm.items()), (
        started, warm)


def _described(pid: int) -> str:
    """A process by its pid, status and command line, for a failure's message."""
    import psutil

    try:
        p = psutil.Process(pid)
        return f"{pid} {p.status()} {' '.join(p.cmdline())[:200]}"
    except psutil.Error as e:  # (gone since, or a zombie)
        return f"{pid} {type(e).__name__}"


def test_dask_spec_starts_and_stops_a_local_cluster(project: Path) -> None:
    import psutil

    def ours() -> set[int]:  # multiprocessing's resource tracker lives as long as we do
        pids = set()
        for p in psutil.Process().children(recursive=True):
            try:
                if "resource_tracker" not in " ".join(p.cmdline()):
                    pids.add(p.pid)
            except psutil.NoSuchProcess:  # exited between the listing and the look
                continue
        return pids

    before = ours()
    run = PIPE.run(params={"n": 3}, executor="dask")
    assert run["report"]["clean"] == [0, 3, 6]
    deadline = time.time() + 30  # (a loaded 2-core machine stops a cluster slowly)
    while ours() - before and time.time() < deadline:
        time.sleep(0.1)
    left = ours() - before
    assert not left, [_described(pid) for pid in sorted(left)]  # (which, if it flakes)


def test_long_lived_workers_run_the_current_code(project: Path, spec: str) -> None:
    src = """
        import flowyml as fm

        FACTOR = {factor}

        def helper(x):
            return x * FACTOR

        @fm.step(outputs="ys")
        def ys(n: int = 3):
            return [helper(x) for x in range(n)]

        pipe = fm.Pipeline("reload", [ys])
    """
    for factor in (2, 5):
        write(project / "pipe.py", src.format(factor=factor))
        res = flowyml_cli(project, "run", "pipe.py", "--executor", spec)
        assert res.returncode == 0, res.stdout + res.stderr
        assert fm.Catalog(fm.Stack().resolve()).get("ys").load() == [0, factor, 2 * factor]


@pytest.mark.usefixtures("objects_in_store")
def test_dask_retry_after_a_dead_worker_commits_once(project: Path) -> None:
    """On a cluster with Dask's own retries (allowed-failures 3, nannies restart dead
    workers), a step whose worker dies after uploading one of its outputs is re-run by
    the scheduler: one artifact per output, one cache entry, no duplicate lineage."""
    import dask
    import numpy as np
    from distributed import LocalCluster

    from flowyml.objects import store_value
    from flowyml.stores import open_store

    @fm.step(outputs="base")
    def base() -> list[int]:
        return list(range(100))

    @fm.step(outputs=("part_a", "part_b"))
    def doomed(base: list[int], marker: str, root: str) -> tuple:
        a = np.arange(20_000, dtype=np.float64) * len(base)
        with open(marker, "a") as f:
            f.write(f"{os.getpid()}\n")
        if len(Path(marker).read_text().split()) == 1:  # the first attempt
            store_value(open_store(root), "part_a", a)  # its first output is uploaded...
            os.kill(os.getpid(), signal.SIGKILL)  # ...then its worker dies
        return a, {"n": len(base)}

    @fm.step(outputs="after")
    def after(part_a: Any, part_b: dict) -> float:
        return float(part_a.sum()) + part_b["n"]

    with dask.config.set({"distributed.scheduler.allowed-failures": 3}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    try:
        spec = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
        marker = project / "attempts.txt"
        params = {"marker": str(marker), "root": str(project / ".flowyml")}
        pipe = fm.Pipeline("retried", [after, doomed, base])
        run = pipe.run(params=params, executor=spec)
        assert run.status == "succeeded" and run["after"] == float(np.arange(20_000).sum()) * 100 + 100
        pids = marker.read_text().split()
        assert len(pids) == 2 and pids[0] != pids[1], "Dask ran the step again on a new worker"
        assert run.steps["doomed"].attempts == 1  # the retry was Dask's, not FlowyML's

        con = sqlite3.connect(project / ".flowyml" / "catalog.db")
        q = con.execute
        assert q("SELECT name, COUNT(*) FROM artifacts GROUP BY name ORDER BY name").fetchall() == [
            ("after", 1), ("base", 1), ("part_a", 1), ("part_b", 1)]
        assert q("SELECT step, COUNT(*) FROM cache_entries GROUP BY step ORDER BY step").fetchall() == [
            ("after", 1), ("base", 1), ("doomed", 1)]
        assert q("SELECT step, COUNT(*) FROM step_runs GROUP BY step ORDER BY step").fetchall() == [
            ("after", 1), ("base", 1), ("doomed", 1)]
        ids = dict(q("SELECT name, id FROM artifacts").fetchall())
        edges = sorted(q("SELECT child_id, parent_id, param FROM lineage_edges").fetchall())
        assert edges == sorted([
            (ids["part_a"], ids["base"], "base"), (ids["part_b"], ids["base"], "base"),
            (ids["after"], ids["part_a"], "part_a"), (ids["after"], ids["part_b"], "part_b"),
        ])
        uses = q("SELECT artifact_id, run_id, step, role FROM artifact_uses").fetchall()
        assert len(uses) == len(set(uses)), "duplicate artifact_uses rows"
        assert sorted((u[2], u[3]) for u in uses if u[2] == "doomed") == [
            ("doomed", "produced"), ("doomed", "produced")]
        con.close()
        # one object per artifact, each whole; the dead worker's staging is swept
        objects = _files(project / ".flowyml" / "objects")
        assert len(objects) == 4
        assert all(hash_bytes(p.read_bytes()) == p.name for p in objects)
        clear_opened()
        Stack().resolve().open_store().staging_dir()
        assert [p for p in _files(project / ".flowyml" / "tmp") if p.name != ".lock"] == []
        # and the next run reuses all of it
        again = pipe.run(params=params, executor=spec)
        assert again.executed == [] and len(marker.read_text().split()) == 2
    finally:
        cluster.close()


UNGUARDED = '''
import flowyml as fm

@fm.step(outputs="x")
def a(n: int = 3):
    return n * 2

{run}
'''


@pytest.mark.parametrize("where, guarded", [
    ("run = fm.Pipeline('g', [a]).run(executor='dask')", False),
    ("def main():\n    fm.Pipeline('g', [a]).run(executor='dask')\n\nmain()", False),
    ("if True:\n    fm.Pipeline('g', [a]).run(executor='dask')", False),
    ("if __name__ == '__main__':\n    fm.Pipeline('g', [a]).run(executor='dask')", True),
    ("def main():\n    fm.Pipeline('g', [a]).run(executor='dask')\n\n"
     "if '__main__' == __name__:\n    main()", True),
], ids=["top-level", "function-called-at-top-level", "other-if", "guard", "guard-reversed"])
def test_a_script_without_a_main_guard_is_told_before_any_worker_starts(
    tmp_path: Path, where: str, guarded: bool
) -> None:
    """Dask's workers re-import the main script (multiprocessing 'spawn'): a script that
    runs the pipeline on import would start clusters in every worker, which fails with
    hundreds of lines of Dask's logs. It is told at once, naming the line and the fix;
    under ``if __name__ == "__main__":`` it runs."""
    import subprocess
    import sys

    from tests.conftest import child_env

    write(tmp_path / "flowyml.toml", "")
    script = write(tmp_path / "pipe.py", UNGUARDED.format(run=where))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=child_env(),
                         capture_output=True, text=True, timeout=120)
    if guarded:
        assert out.returncode == 0, out.stderr
        return
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("flowyml.core.errors.ConfigError: executor='dask' starts a local "
                           f"Dask cluster from {script}:"), last
    assert 'if __name__ == "__main__":' in last and "executor='processes'" in last
    assert "distributed" not in out.stderr  # no cluster, no worker, no Dask log
    assert time.perf_counter() - t0 < 30


SCALE = {"factor": 1}


def scaled(x: int) -> int:
    """Shipped by reference: on a worker it reads the worker's own ``SCALE``."""
    return x * SCALE["factor"]


def test_state_the_driver_changed_is_refused_on_a_dask_worker(
        project: Path, spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's module has the value it was imported with, not the driver's: the
    step is refused there, and nothing is filed under the driver's key."""
    from flowyml import WorkerStateError

    @fm.step(outputs="y")
    def y() -> int:
        return scaled(10)

    pipe = fm.Pipeline("dask-state", [y])
    assert pipe.run(executor=spec)["y"] == 10
    monkeypatch.setitem(SCALE, "factor", 4)
    with pytest.raises(WorkerStateError, match="constant SCALE"):
        pipe.run(executor=spec)
    run = pipe.run()  # inline, with the driver's state
    assert run["y"] == 40 and run.executed == ["y"]


def test_a_drawing_step_starts_from_the_drivers_state_on_dask(project: Path, spec: str) -> None:
    """As on the other executors (``test_random_seeds``): the script's seed reaches the
    steps on the cluster, which draw in the pipeline's order, and the script draws after
    the run what it would have drawn after calling them, though Dask's client draws from
    ``random`` in this process meanwhile."""
    import random
    import warnings

    import numpy as np

    from tests import test_random_seeds as seeds

    np.random.seed(3)
    first = float(np.random.rand())
    expected = [first, float(np.random.rand()) * 10, first + float(np.random.rand())]
    after = float(np.random.rand())
    pipe = fm.Pipeline("dask-draws", [numpy_first, numpy_second, seeds.draws_nothing,
                                      numpy_after_both])
    np.random.seed(3)
    random.seed(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (nothing to warn about)
        run = pipe.run(executor=spec)
    assert [run["nu"], run["nv"], run["nw"]] == expected
    assert float(np.random.rand()) == after
    assert random.random() == random.Random(4).random()


@fm.step(outputs="nu")
def numpy_first() -> float:
    import numpy as np

    return float(np.random.rand())


@fm.step(outputs="nv")
def numpy_second() -> float:
    import numpy as np

    return float(np.random.rand()) * 10


@fm.step(outputs="nw")
def numpy_after_both(nu: float, nv: float) -> float:
    import numpy as np

    return nu + float(np.random.rand())


def test_random_on_a_dask_worker_is_not_cached(project: Path, spec: str) -> None:
    """Dask's own threads in a worker draw from ``random``'s global generator (sizing
    a message): a step drawing from it there is warned about and not cached."""
    from tests import test_random_seeds as seeds

    pipe = fm.Pipeline("dask-random", [seeds.draws_first])
    for _ in range(2):
        with pytest.warns(UserWarning, match="not cached: it draws from random's global"):
            run = pipe.run(executor=spec)
        assert run.steps["draws_first"].status == "executed"
    statuses = []
    for _ in range(2):  # inline: cached from now
        seeds._script_seeds()
        statuses.append(pipe.run().steps["draws_first"].status)
    assert statuses == ["executed", "cached"]


@fm.step(outputs="fallback")
def random_as_a_fallback(seed: int | None = 4) -> float:
    import random

    return (random.Random(seed) if seed is not None else random).random()


def test_random_not_drawn_on_a_dask_worker_is_cached(project: Path, spec: str) -> None:
    """Only a draw makes a result on a Dask worker unrepeatable: ``random`` as a
    fallback not taken leaves the state as given."""
    import warnings

    pipe = fm.Pipeline("dask-fallback", [random_as_a_fallback])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = pipe.run(executor=spec)
    assert run["fallback"] == random_as_a_fallback.func()
    assert run.steps["random_as_a_fallback"].status == "executed"
    assert "not cached" not in run.steps["random_as_a_fallback"].reason


SHARED = {"k": 0}


@fm.step(outputs="shared_ready")
def shared_set(n: int = 3) -> int:
    SHARED["k"] = n
    return os.getpid()


@fm.step(outputs="shared_val")
def shared_use(shared_ready: int) -> list[int]:
    return [SHARED["k"] * 10, os.getpid()]


def test_steps_passing_state_through_globals_run_in_the_driver_on_dask(
        project: Path, spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """As on ``processes`` (``test_executors``): two steps coupled through a global run
    in the driver, where the reader sees the writer's change, as inline."""
    monkeypatch.setitem(SHARED, "k", 0)  # (the driver's dict: put back after)
    with pytest.warns(fm.FingerprintWarning, match="SHARED"):
        run = fm.Pipeline("dask-shared", [shared_set, shared_use]).run(executor=spec)
    assert run["shared_val"] == [30, os.getpid()]
    assert run["shared_ready"] == os.getpid()


@pytest.mark.filterwarnings("ignore::flowyml.core.fingerprint.FingerprintWarning")
@pytest.mark.filterwarnings("ignore::flowyml.executors.task.UnseenInputWarning")
def test_a_driver_step_does_not_stop_the_loop_on_dask(project: Path, spec: str) -> None:
    """As on ``processes`` (``test_executors_driver``): while a driver step waits for a
    file that a worker step writes, which is handed to Dask only once the step before
    it is collected, the loop goes on."""
    from tests.test_executors_driver import BESIDE, WAIT, check_beside

    flag = project / "flag"
    t0 = time.monotonic()
    run = BESIDE.run(executor=spec, params={"flag": str(flag)})
    check_beside(run, flag)
    assert time.monotonic() - t0 < WAIT
