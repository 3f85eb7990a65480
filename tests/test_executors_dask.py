"""The Dask executor on a real ``distributed.LocalCluster`` with 2 worker processes,
started once for this module; the store is a shared temporary folder.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import flowyml as fm
from flowyml.core.errors import ConfigError
from flowyml.executors import make_executor
from flowyml.executors.base import StepTimedOut, WorkerDied
from tests.conftest import flowyml_cli, write
from tests.test_executors import PIPE, _summary, joined, left, right, seed
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


def test_diamond_branches_run_at_once(project: Path, spec: str) -> None:
    run = fm.Pipeline("diamond", [joined, left, right, seed]).run(executor=spec)
    assert run["joined"] > 0  # the two branches overlapped


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


def test_dask_spec_starts_and_stops_a_local_cluster(project: Path) -> None:
    import psutil

    def ours() -> set[int]:  # multiprocessing's resource tracker lives as long as we do
        return {
            p.pid for p in psutil.Process().children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())
        }

    before = ours()
    run = PIPE.run(params={"n": 3}, executor="dask")
    assert run["report"]["clean"] == [0, 3, 6]
    deadline = time.time() + 10
    while ours() - before and time.time() < deadline:
        time.sleep(0.1)
    assert not ours() - before


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
