"""Executors ``inline`` and ``processes``: parallel steps, the same results, retries,
timeouts that stop the step, dead workers, and inputs read from the store by hash.

Dask has its own module (``test_executors_dask.py``) so its cluster starts once.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

import flowyml as fm
from flowyml.core.errors import ConfigError
from flowyml.executors import make_executor
from flowyml.executors.base import StepTimedOut, WorkerDied
from flowyml.run import StepResult
from flowyml.runtime.reporting import PrintReporter, Reporter
from tests.conftest import child_env, flowyml_cli, import_from, write

EXECUTORS = ["inline", "processes:2"]
SCALE = 3  # a module-level constant the steps read (shipped to workers by reference)


def _scaled(xs: list[int]) -> list[int]:
    return [x * SCALE for x in xs]


# Steps defined at module level: `tests.test_executors.clean` is the Step wrapper, so
# the function is not importable by reference; workers get it by value.
@fm.step(outputs="raw")
def load(n: int = 4) -> list[int]:
    return list(range(n))


@fm.step(outputs="clean")
def clean(raw: list[int]) -> list[int]:
    return _scaled(raw)


@fm.step(outputs="total")
def total(raw: list[int]) -> int:
    return sum(raw)


@fm.step(outputs="report")
def report(clean: list[int], total: int) -> dict:
    return {"clean": clean, "total": total, "arr": np.arange(3).tolist()}


PIPE = fm.Pipeline("exec", [report, total, clean, load])


def _children() -> set[tuple[int, float]]:
    """This process's direct children, as (pid, start time): pids wrap (32768 here)."""
    out = set()
    for p in psutil.Process().children():
        try:
            out.add((p.pid, p.create_time()))
        except psutil.NoSuchProcess:
            continue
    return out


def _started_since(before: set[tuple[int, float]]) -> set[int]:
    """Processes this process started since ``before``, and everything under them. A
    server fixture's own children (PostgreSQL's autovacuum workers) come and go on their
    own and are not counted: only what a run here could have left behind."""
    out: set[int] = set()
    for p in psutil.Process().children():
        try:
            if (p.pid, p.create_time()) in before:
                continue
            out.add(p.pid)
            out.update(c.pid for c in p.children(recursive=True))
        except psutil.NoSuchProcess:
            continue
    return out


def _summary(run: fm.Run) -> dict[str, tuple[str, int, str, list[str]]]:
    """Per asset: artifact id (name + hash), version, hash, parent ids."""
    return {
        a: (art.id, art.version, art.content_hash, sorted(art.parents))
        for a, art in run.artifacts.items()
    }


# ---------------------------------------------------------------- specs
def test_make_executor_specs(project: Path) -> None:
    stack = fm.Stack().resolve().store_spec()  # executors get where the store is, not the stack
    ex = make_executor("processes:3", stack)
    assert (ex.name, ex.max_workers, ex.in_process) == ("processes", 3, False)
    ex.shutdown()
    ex = make_executor("processes", stack)
    assert ex.max_workers == (os.cpu_count() or 1)
    ex.shutdown()
    assert make_executor(None, stack).name == "inline"
    for bad, hint in [
        ("threads", "unknown executor 'threads'; use 'inline', 'processes', 'processes:N'"),
        ("inline:2", "unknown executor"),
        ("processes:0", "positive integer"),
        ("processes:x", "positive integer"),
        ("dask://", "names no scheduler"),
    ]:
        with pytest.raises(ConfigError, match=hint):
            make_executor(bad, stack)


def test_the_executor_is_made_only_when_a_step_executes(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that reuses every step starts no worker (no cluster, no scheduler link); a
    spec that is not one still fails before the run starts, cached or not."""
    import flowyml.executors as executors

    made: list[str | None] = []
    real = executors.make_executor

    def counting(spec: str | None, store: object) -> object:
        made.append(spec)
        return real(spec, store)  # type: ignore[arg-type]

    monkeypatch.setattr(executors, "make_executor", counting)
    first = PIPE.run(executor="processes:1")
    assert made == ["processes:1"] and first["total"] is not None
    again = PIPE.run(executor="processes:1")
    assert {s.status for s in again.steps.values()} == {"cached"} and made == ["processes:1"]
    runs = len(fm.Catalog().runs())
    with pytest.raises(ConfigError, match="unknown executor 'threads'"):
        PIPE.run(executor="threads")
    assert len(fm.Catalog().runs()) == runs  # refused before it started


def test_executor_from_env_and_stack(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWYML_EXECUTOR", "processes:2")
    run = PIPE.run()
    assert run.status == "succeeded" and run["report"]["clean"] == [0, 3, 6, 9]
    monkeypatch.setenv("FLOWYML_EXECUTOR", "nope")
    with pytest.raises(ConfigError, match="unknown executor 'nope'"):
        PIPE.run(force=True)


# ---------------------------------------------------------------- parallelism
@fm.step(outputs="seed")
def seed() -> int:
    return 1


@fm.step(outputs="left")
def left(seed: int) -> list[float]:
    t = time.time()
    time.sleep(1.0)
    return [t, time.time()]


@fm.step(outputs="right")
def right(seed: int) -> list[float]:
    t = time.time()
    time.sleep(1.0)
    return [t, time.time()]


@fm.step(outputs="joined")
def joined(left: list[float], right: list[float]) -> float:
    """How long the two branches ran at the same time (negative: one after the other).
    Overlap, not total time, so a loaded machine cannot fail the check."""
    return min(left[1], right[1]) - max(left[0], right[0])


def test_diamond_branches_run_at_once_on_two_workers(project: Path) -> None:
    run = fm.Pipeline("diamond", [joined, left, right, seed]).run(executor="processes:2")
    assert run["joined"] > 0  # both 1 s branches ran at once


# ---------------------------------------------------------------- same results
def test_same_hashes_versions_and_lineage_on_every_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowyml.stack import clear_opened

    seen = {}
    for ex in EXECUTORS:
        root = tmp_path / ex.replace(":", "_")
        root.mkdir()
        (root / "flowyml.toml").write_text("")
        monkeypatch.chdir(root)
        monkeypatch.setenv("FLOWYML_ROOT", str(root))
        clear_opened()
        run = PIPE.run(params={"n": 5}, executor=ex)
        assert run["report"] == {"clean": [0, 3, 6, 9, 12], "total": 10, "arr": [0, 1, 2]}
        seen[ex] = _summary(run)
        again = PIPE.run(params={"n": 5}, executor=ex)
        assert set(again.cached) == {"load", "clean", "total", "report"}
    clear_opened()
    assert seen["inline"] == seen["processes:2"]


@pytest.mark.usefixtures("objects_in_store")
def test_only_hashes_travel_and_io_is_counted(project: Path) -> None:
    @fm.step(outputs="big")
    def big() -> np.ndarray:
        return np.arange(1000, dtype=np.float64)

    @fm.step(outputs="info")
    def info(big: np.ndarray) -> dict:
        base, mapped = big, False
        while base is not None:
            mapped = mapped or type(base).__name__ in ("mmap", "memmap")
            base = getattr(base, "base", None)
        import flowyml.stack
        import flowyml.stores

        # what this process has opened: stores (by spec), catalogs (through a stack)
        opened = sorted({"store" for _ in flowyml.stores._opened}
                        | {key[0] for key in flowyml.stack._opened})
        return {"writeable": bool(big.flags.writeable), "mapped": mapped, "pid": os.getpid(),
                "opened": opened}

    seen = []

    class Spy:
        """Wraps the processes executor to look at the tasks it is given."""

        def __init__(self) -> None:
            self.inner = make_executor("processes:1", fm.Stack().resolve().store_spec())
            self.name, self.max_workers, self.in_process = "spy", 1, False
            self.in_flight = 1

        def submit(self, task):  # type: ignore[no-untyped-def]
            seen.append(task)
            return self.inner.submit(task)

        def shutdown(self) -> None:
            self.inner.shutdown()

    from flowyml.pipeline import run_graph

    pipe = fm.Pipeline("mm", [big, info])
    graph = pipe.build()
    run = run_graph("mm", graph, fm.Stack().resolve(), {}, executor=Spy())
    assert run["info"]["pid"] != os.getpid()
    assert run["info"]["mapped"] and not run["info"]["writeable"]
    assert run["info"]["opened"] == ["store"]  # workers never open the catalog
    info_task = next(t for t in seen if t.step.name == "info")
    assert info_task.values == {} and set(info_task.refs) == {"big"}
    assert info_task.refs["big"].content_hash == run.artifacts["big"].content_hash
    # the worker's store traffic is counted in run.io: 1 read of big, 2 objects written
    assert run.io["store_objects_read"] == 1
    assert run.io["store_objects_written"] == 2


# ---------------------------------------------------------------- code shipping
def test_steps_from_a_file_run_by_the_cli(project: Path) -> None:
    src = '''
        import os
        import flowyml as fm

        FACTOR = 7

        def helper(x):
            return x * FACTOR

        @fm.step(outputs="xs")
        def xs(n: int = 3):
            return list(range(n))

        @fm.step(outputs="ys")
        def ys(xs):
            return [helper(x) for x in xs]

        @fm.step(outputs="where")
        def where(xs):
            return os.getpid()

        pipe = fm.Pipeline("clipipe", [xs, ys, where])
    '''
    write(project / "pipe.py", src)
    write(project / "my-pipe.py", src)  # not a module name: loaded from its file by workers
    for target in ("pipe.py", "my-pipe.py"):
        res = flowyml_cli(project, "run", target, "--executor", "processes:2", "--force")
        out = res.stdout + res.stderr
        assert res.returncode == 0, out
        for name in ("xs", "ys", "where"):
            assert f"> {name}: running" in out and f"+ {name}: done in" in out
        assert "succeeded, 3 executed" in out
    cat = fm.Catalog(fm.Stack().resolve())
    assert cat.get("ys").load() == [0, 7, 14]


# ---------------------------------------------------------------- retries / timeouts
@pytest.mark.parametrize("executor", EXECUTORS)
def test_retries_are_counted(project: Path, executor: str) -> None:
    marker = project / "attempts.txt"

    @fm.step(outputs="flaky", retries=2)
    def flaky(path: str) -> int:
        with open(path, "a") as f:
            f.write("x")
        n = len(Path(path).read_text())
        if n < 2:
            raise RuntimeError(f"attempt {n} fails")
        return n

    import io

    shown = io.StringIO()
    run = fm.Pipeline("flaky", [flaky]).run(params={"path": str(marker)}, executor=executor,
                                            progress=PrintReporter(shown))
    assert run["flaky"] == 2 and run.steps["flaky"].attempts == 2
    assert "succeeded at attempt 2" in shown.getvalue()  # the progress line says so
    rec = fm.Stack().resolve().open_catalog().step_runs(run.id)[0]
    assert rec.attempts == 2


@pytest.mark.parametrize("executor", EXECUTORS)
def test_timeout_stops_the_step(project: Path, executor: str) -> None:
    pid_file = project / "pid.txt"

    @fm.step(outputs="slow", timeout=0.5, retries=1)
    def slow(path: str) -> int:
        with open(path, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(60)
        return 1

    @fm.step(outputs="quick", timeout=20)
    def quick(n: int = 2) -> int:
        return n * 21  # a step with a timeout that finishes returns normally

    before = _children()
    t0 = time.perf_counter()
    with pytest.raises(fm.StepFailed, match=r"timed out after 0\.5 s") as info:
        fm.Pipeline("slow", [quick, slow]).run(params={"path": str(pid_file)}, executor=executor)
    assert time.perf_counter() - t0 < 30  # ~1.5 s; two 60 s attempts if the timeout did not stop them
    assert isinstance(info.value.__cause__, StepTimedOut)
    pids = [int(x) for x in pid_file.read_text().split()]
    assert len(pids) == 2 and os.getpid() not in pids  # two attempts, never in the driver
    assert not any(psutil.pid_exists(p) for p in pids)
    assert not _started_since(before)
    run = info.value.run  # type: ignore[attr-defined]
    assert run.status == "failed" and run.steps["slow"].attempts == 2
    assert "timed out after 0.5 s" in run.steps["slow"].reason
    cat = fm.Stack().resolve().open_catalog()
    rec = next(r for r in cat.step_runs(run.id) if r.step == "slow")
    assert rec.attempts == 2 and "timed out after 0.5 s" in (rec.error or "")
    if "quick" in run.steps and run.steps["quick"].executed:
        assert run["quick"] == 42


def test_timeout_step_that_finishes_on_inline(project: Path) -> None:
    @fm.step(outputs="base")
    def base() -> list[int]:
        return [1, 2, 3]

    @fm.step(outputs="bounded", timeout=30)
    def bounded(base: list[int]) -> dict:
        return {"sum": sum(base), "pid": os.getpid()}

    @fm.step(outputs="after")
    def after(bounded: dict) -> int:
        return bounded["sum"] + 1

    run = fm.Pipeline("bounded", [after, bounded, base]).run()
    assert run["after"] == 7 and run["bounded"]["pid"] != os.getpid()


# ---------------------------------------------------------------- dead workers
def test_a_step_submitted_but_never_started_says_so(project: Path) -> None:
    """On a pool of two, steps wait in its queue; a failure stops them before they
    start. Such a step never had a "running" line (no worker took it): it gets a "not
    reached" one, and the run says it was not reached."""
    import io

    shown = io.StringIO()
    with pytest.raises(fm.StepFailed) as info:
        fm.Pipeline("stopped", failing_among_waiting()).run(
            executor="processes:2", progress=PrintReporter(shown))
    run = info.value.run  # type: ignore[attr-defined]
    lines = shown.getvalue().splitlines()
    started = {ln.split()[1].rstrip(":") for ln in lines if ln.endswith(": running")}
    ended = {ln.split()[1].rstrip(":") for ln in lines
             if ln.strip()[:1] in "+x=-" and not ln.endswith(": running")}
    assert started <= ended, shown.getvalue()
    never = {ln.split()[1].rstrip(":") for ln in lines
             if ln.endswith("not reached: the run stopped at a failure")}
    assert never, shown.getvalue()  # (the pool had steps waiting when bad failed)
    assert not never & started, shown.getvalue()  # waiting for a worker is not running
    assert all(run.steps[n].status == "not reached" for n in never)


class _Timeline(Reporter):
    """The progress callbacks, in the order the run made them, and when."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []

    def step_started(self, name: str) -> None:
        self.events.append(("start", name, time.time()))

    def step_finished(self, result: StepResult) -> None:
        self.events.append(("end", result.name, time.time()))

    def shown(self, what: str) -> dict[str, float]:
        return {name: t for w, name, t in self.events if w == what}


def most_running(events: list[tuple[str, str, float]]) -> int:
    """The most steps shown running at once (started, not yet finished)."""
    running: set[str] = set()
    most = 0
    for what, name, _ in events:
        if what == "start":
            running.add(name)
        else:
            running.discard(name)
        most = max(most, len(running))
    return most


def nap(seconds: float = 0.6) -> tuple[float, int]:
    """When the step started (the worker's clock: this machine's), and where."""
    t = time.time()
    time.sleep(seconds)
    return t, os.getpid()


def warm_starts(run: fm.Run) -> dict[str, float]:
    """When each step began that was not the first on its worker (whose first one
    waited for it to start up or import the step's module, after it was said to start)."""
    began = sorted((run[n][0], run[n][1], n) for n in run.steps)
    seen: set[int] = set()
    out = {}
    for t, pid, name in began:
        if pid in seen:
            out[name] = t
        seen.add(pid)
    return out


def naps(n: int) -> list[fm.Step]:
    return [fm.step(outputs=f"nap{i}", name=f"nap{i}")(nap) for i in range(n)]


def test_progress_shows_running_only_the_steps_a_worker_runs(project: Path) -> None:
    """processes:2 keeps four steps in flight (two waiting for a worker, so that a
    worker that finishes gets its next step at once); progress says a step is running
    when a worker takes it: never more than two at once, and not while it waits."""
    shown = _Timeline()
    run = fm.Pipeline("naps", naps(6)).run(executor="processes:2", progress=shown)
    assert run.status == "succeeded" and len(run.executed) == 6
    assert most_running(shown.events) == 2, shown.events
    started = shown.shown("start")
    assert len(started) == 6, shown.events
    # each waited 0.6 s for a worker: said when it began, give or take its job's set-up
    warm = warm_starts(run)
    assert len(warm) >= 3 and all(started[n] > t - 0.3 for n, t in warm.items()), (
        started, warm)


def _sleepy(x: int) -> int:
    time.sleep(0.5)
    return x


def failing_among_waiting() -> list[fm.Step]:
    """A step that fails after 0.3 s among five that take 0.5 s each: on a pool of
    two, steps still wait for a worker when it fails (the run stops them)."""

    @fm.step(outputs="x")
    def load() -> int:
        return 1

    @fm.step(outputs="bad")
    def bad(x: int) -> int:
        time.sleep(0.3)
        raise RuntimeError("boom")

    return [load, bad, *(fm.step(outputs=f"w{i}", name=f"w{i}")(_sleepy) for i in range(5))]


def test_a_killed_worker_fails_its_step_and_leaves_nothing(project: Path) -> None:
    @fm.step(outputs="start")
    def start() -> int:
        return 5

    @fm.step(outputs="fine")
    def fine(start: int) -> int:
        time.sleep(0.5)
        return start + 1

    @fm.step(outputs="doomed")
    def doomed(start: int) -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0

    before = _children()
    pipe = fm.Pipeline("kill", [start, fine, doomed])
    with pytest.raises(fm.StepFailed) as info:
        pipe.run(executor="processes:2")
    msg = str(info.value)
    assert "'doomed'" in msg and "worker process died (signal 9" in msg
    assert isinstance(info.value.__cause__, WorkerDied)
    run = info.value.run  # type: ignore[attr-defined]
    assert run.status == "failed"
    assert run.steps["fine"].executed and run["fine"] == 6  # finished artifacts are kept
    cat = fm.Stack().resolve().open_catalog()
    assert cat.get_run(run.id).status == "failed"
    assert cat.find("fine").content_hash == run.artifacts["fine"].content_hash
    assert not _started_since(before)
    # the same pipeline without the killer reuses what was kept
    rerun = fm.Pipeline("kill", [start, fine]).run(executor="processes:2")
    assert rerun.cached == ["start", "fine"]


def test_user_errors_come_back_with_their_type(project: Path) -> None:
    @fm.step(outputs="bad")
    def bad() -> int:
        raise KeyError("missing-thing")

    with pytest.raises(fm.StepFailed, match="missing-thing") as info:
        fm.Pipeline("bad", [bad]).run(executor="processes:1")
    assert isinstance(info.value.__cause__, KeyError)


class NeedsArgs(Exception):
    """An exception whose ``__init__`` takes other arguments than its message (as the
    errors of HTTP and database clients do): ``pickle`` cannot rebuild it by itself."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"code={code}")
        self.code, self.detail = code, detail
        self.lock = threading.Lock()  # an attribute that cannot travel


class Opaque(Exception):
    """Neither its arguments nor its attributes pickle: it cannot be rebuilt."""


@fm.step(outputs="raised", cache=False)
def raises(kind: str) -> int:
    if kind == "needs_args":
        raise NeedsArgs(7, "x")
    if kind == "opaque":
        raise Opaque(threading.Lock())
    raise KeyboardInterrupt("from the step's code")


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_steps_exception_is_its_own_class_on_every_executor(
        project: Path, executor: str) -> None:
    """An exception whose ``__init__`` takes other arguments comes back as its own
    class, with its attributes (those that pickle), as inline; one that cannot be
    rebuilt is a ``RemoteError`` naming its class."""
    from flowyml.executors.base import RemoteError

    pipe = fm.Pipeline("raises", [raises])
    with pytest.raises(fm.StepFailed, match="NeedsArgs: code=7") as info:
        pipe.run(executor=executor, params={"kind": "needs_args"})
    cause = info.value.__cause__
    assert isinstance(cause, NeedsArgs) and (cause.code, cause.detail) == (7, "x"), cause
    assert str(cause) == "code=7" and cause.args == ("code=7",)
    with pytest.raises(fm.StepFailed, match="Opaque") as info:
        pipe.run(executor=executor, params={"kind": "opaque"})
    cause = info.value.__cause__
    if executor == "inline":
        assert isinstance(cause, Opaque)
    else:
        assert isinstance(cause, RemoteError), cause
        assert cause.type_name == "tests.test_executors.Opaque"
        assert str(cause).startswith("tests.test_executors.Opaque: <unlocked _thread.lock")


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_keyboard_interrupt_from_a_step_stops_the_run_on_every_executor(
        project: Path, executor: str) -> None:
    """``KeyboardInterrupt`` raised by a step's code (a library turning SIGINT into
    one) stops the run as Ctrl-C does, on every executor: inline the two cannot be told
    apart, and a worker has no terminal to get a Ctrl-C from, so it is the step's way
    of saying stop. The script gets it; the run is recorded as interrupted."""
    with pytest.raises(KeyboardInterrupt, match="from the step's code"):
        fm.Pipeline("interrupts", [raises]).run(executor=executor, params={"kind": "kbint"})
    cat = fm.Catalog()
    run = cat.runs(limit=1)[0]
    assert run.status == "failed" and run.error == "run interrupted (KeyboardInterrupt)", run
    steps = {r.step: r for r in cat.steps(run.id)}
    assert steps["raises"].reason == "failed: interrupted (KeyboardInterrupt)", steps


@fm.step(outputs="rows", retries=2)
def count_rows(conn: Any, marker: str) -> int:
    Path(marker).touch()
    return int(conn.execute("select 1").fetchone()[0])


@fm.step(outputs="rows", timeout=30)
def count_rows_in_time(conn: Any, marker: str) -> int:
    Path(marker).touch()
    return int(conn.execute("select 1").fetchone()[0])


@pytest.mark.filterwarnings("ignore::flowyml.core.fingerprint.FingerprintWarning")
@pytest.mark.parametrize(("executor", "step", "fix"), [
    ("processes:2", count_rows, "or run with executor='inline', where steps get it"),
    ("inline", count_rows_in_time, "or run it on the inline executor without timeout="),
], ids=["processes", "inline-timeout"])
def test_a_value_that_cannot_be_sent_to_a_worker_is_named_with_the_fix(
        project: Path, executor: str, step: fm.Step, fix: str) -> None:
    """A run value a worker cannot be sent (it does not pickle) fails the step before it
    starts, and is not retried: ``WorkerStateError`` names the parameter, its type,
    why, and what to do instead (inline, a step with a timeout runs in a process of its
    own: there the fix is to drop the timeout)."""
    import sqlite3

    marker = project / "ran"
    with pytest.raises(fm.WorkerStateError) as info:
        fm.Pipeline("unsendable", [step]).run(
            executor=executor,
            params={"conn": sqlite3.connect(":memory:"), "marker": str(marker)})
    msg = str(info.value)
    assert msg.startswith(f"step {step.name!r} cannot run in a worker process: the value of "
                          "its parameter conn (a sqlite3.Connection) cannot be sent there "
                          "(TypeError: cannot pickle 'sqlite3.Connection' object)"), msg
    assert "Create it inside the step" in msg and fix in msg
    assert info.value.__cause__ is None  # (no pickler traceback: the message says it all)
    assert not marker.exists()
    run = fm.Catalog().runs()[0]
    assert run.status == "failed"


class CarefulWarning(UserWarning):
    """A warning class of the user's own (importable in the driver and the workers)."""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_steps_warnings_reach_the_driver(project: Path, executor: str) -> None:
    """A warning raised in a step (or about it: a None output a later step reads) is
    raised where ``run()`` was called, whatever the executor: the driver's filters and
    ``pytest.warns`` see it, not only a worker's stderr."""
    import warnings

    @fm.step(outputs="x")
    def noisy() -> int:
        for _ in range(1000):  # one warning, however often it is raised
            warnings.warn("careful with x", CarefulWarning, stacklevel=1)
        return 1

    @fm.step(outputs="y")
    def silent(x: int) -> None:
        return None

    @fm.step(outputs="z")
    def reads(y: None) -> int:
        return 2

    with pytest.warns(CarefulWarning, match="careful with x") as got:
        fm.Pipeline(f"warns_{executor[:3]}", [noisy, silent, reads]).run(
            executor=executor, force=True)
    kinds = [type(w.message).__name__ for w in got]
    assert set(kinds) >= {"CarefulWarning", "NoneOutputWarning"}, kinds
    if executor != "inline":  # a worker sends each distinct warning once, not 1000 times
        assert kinds.count("CarefulWarning") == 1, kinds
    none = next(w for w in got if type(w.message).__name__ == "NoneOutputWarning")
    assert none.lineno == silent.func.__code__.co_firstlineno  # at the step's definition
    # code shipped by value keeps its file name (cloudpickle alone drops it)
    assert none.filename == __file__


STEP_LOG = logging.getLogger("tests.steps")


@fm.step(outputs="logged", cache=False)
def talks(n: int = 2) -> int:
    STEP_LOG.debug("not at the driver's level")
    STEP_LOG.info("info %d from the step", n)
    try:
        raise KeyError("inside")
    except KeyError:
        STEP_LOG.exception("caught %s", "it", extra={"lock": threading.Lock()})
    return n


@fm.step(outputs="logged", cache=False, timeout=60)
def talks_in_time(n: int = 2) -> int:
    STEP_LOG.info("info %d from the step", n)
    return n


@pytest.mark.parametrize(("executor", "step"), [
    ("inline", talks), ("processes:2", talks), ("inline", talks_in_time)],
    ids=["inline", "processes", "inline-timeout"])
def test_a_steps_log_records_reach_the_drivers_handlers(
        project: Path, executor: str, step: fm.Step, caplog: pytest.LogCaptureFixture) -> None:
    """A step's records at the driver's level reach the driver's handlers (here
    pytest's) on every executor, as inline: a worker takes the driver's root level and
    sends what it logs back (a traceback as text); below the level, nothing."""
    caplog.set_level(logging.INFO)
    fm.Pipeline(f"talks_{executor[:3]}", [step]).run(executor=executor)
    got = [(r.name, r.levelname, r.getMessage()) for r in caplog.records
           if r.name == "tests.steps"]
    expected = [("tests.steps", "INFO", "info 2 from the step")]
    if step is talks:
        expected.append(("tests.steps", "ERROR", "caught it"))
    assert got == expected, got
    if step is talks:
        failed = next(r for r in caplog.records if r.getMessage() == "caught it")
        text = logging.Formatter().format(failed)
        assert "KeyError: 'inside'" in text and "in talks" in text, text


def test_a_scripts_logging_and_deprecation_warnings_are_as_inline(project: Path) -> None:
    """A script that configures logging before run(): a step's records come out in its
    format on a worker as inline, and a DeprecationWarning its steps raise is shown
    (Python shows those of ``__main__``) on a worker as inline."""
    write(project / "pipe.py", """
        import logging, sys, warnings
        import flowyml as fm

        log = logging.getLogger("mypipe")

        @fm.step(outputs="a", cache=False)
        def talk():
            log.info("INFO from step talk")
            log.warning("WARNING from step talk")
            warnings.warn("deprecated in step talk", DeprecationWarning)
            return 1

        if __name__ == "__main__":
            logging.basicConfig(level=logging.INFO, format="LOG %(levelname)s %(name)s: %(message)s")
            fm.Pipeline("logs", [talk]).run(executor=sys.argv[1])
    """)
    seen = {}
    for executor in ("inline", "processes:2"):
        proc = subprocess.run([sys.executable, "pipe.py", executor], cwd=project,
                              env=child_env(), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        seen[executor] = [ln for ln in proc.stderr.splitlines()
                          if "step talk" in ln and not ln.startswith(" ")]
    assert seen["inline"] == [
        "LOG INFO mypipe: INFO from step talk", "LOG WARNING mypipe: WARNING from step talk",
        f"{project / 'pipe.py'}:10: DeprecationWarning: deprecated in step talk"], seen
    assert seen["processes:2"] == seen["inline"], seen


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_handle_to_an_output_of_this_run_has_its_version(project: Path, executor: str) -> None:
    """An ``ArtifactRef`` or ``Lazy`` input made earlier in the same run carries the
    version the catalog gives it, as one from an earlier run does (it had version 0,
    not yet recorded, and a step that logged it stored that)."""

    @fm.step(outputs="model")
    def fit(k: int = 1) -> dict:
        return {"w": k}

    @fm.step(outputs="info", inputs={"lazy_model": "model"})
    def info(model: fm.ArtifactRef, lazy_model: fm.Lazy[dict]) -> list:
        return [model.version, lazy_model.version, lazy_model.load()["w"]]

    pipe = fm.Pipeline(f"ref_{executor[:3]}", [fit, info])
    first = pipe.run(params={"k": 1}, executor=executor)
    second = pipe.run(params={"k": 2}, executor=executor)
    assert first["info"] == [1, 1, 1] and first.artifacts["model"].version == 1
    assert second["info"] == [2, 2, 2] and second.artifacts["model"].version == 2

    @fm.step(outputs="where")
    def where(model: fm.ArtifactRef) -> str:
        return model.uri

    run = fm.Pipeline(f"uri_{executor[:3]}", [fit, where]).run(executor=executor)
    assert run["where"] == run.artifacts["model"].uri  # as the Artifact says: catalog:ID


def test_code_shipped_by_value_is_not_taken_for_an_edited_file(project: Path) -> None:
    """A step defined in a function of a module whose code its loader rewrote (this
    test file: pytest rewrites its ``assert``) goes to a worker by value. The worker's
    copy does not compile from the file's text, as in the driver, but it was never made
    from the module the worker has: no "changed after it was loaded" warning there
    (a false one: nothing was edited), and the same key as the driver's."""
    import warnings

    @fm.step(outputs="checked")
    def check() -> int:
        value = 3
        assert value == 3, "rewritten by pytest"
        return value

    pipe = fm.Pipeline("shipped", [check])
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        first = pipe.run(executor="processes:1")
        again = pipe.run(executor="processes:1")
    said = [str(w.message) for w in got if issubclass(w.category, fm.FingerprintWarning)]
    assert said == []
    assert first["checked"] == 3 and again.steps["check"].cached


def test_a_failure_starts_nothing_beyond_what_was_handed_over(project: Path) -> None:
    """Executors keep a step queued per worker (``in_flight``); when a step fails, what
    is still queued never starts, and the run fails."""
    marks = project / "started"
    marks.mkdir()

    @fm.step(outputs="src")
    def src() -> int:
        return 1

    @fm.step(outputs="bad")
    def bad(src: int) -> int:
        (marks / "failed").write_text(repr(time.time()))
        raise ValueError("boom")

    def slow_step(i: int) -> fm.Step:
        def slow(src: int) -> int:
            (marks / str(i)).write_text(repr(time.time()))
            time.sleep(0.3)
            return src + i

        return fm.step(outputs=f"out{i}", name=f"slow{i}")(slow)

    steps = [src, bad, *[slow_step(i) for i in range(12)]]
    with pytest.raises(fm.StepFailed, match="boom"):
        fm.Pipeline("failing", steps).run(executor="processes:2")
    failed_at = float((marks / "failed").read_text())
    starts = [float(p.read_text()) for p in marks.iterdir() if p.name != "failed"]
    # After the failure, one per worker at most: the step its driver thread had taken
    # from the queue as the failure came back; the rest of the queue (in_flight is
    # twice the workers) is cancelled. Before it, the driver threads of the first
    # steps handed over may have reached the workers ahead of the failing one's, and
    # each slow step that finished meanwhile made room for one more (a busy machine
    # delays the failing one: what is handed over is bounded, not when it fails).
    after = [t for t in starts if t > failed_at]
    assert len(after) <= 2, f"{len(after)} slow steps started after the failure"
    before = [t for t in starts if t <= failed_at]
    finished = [t for t in before if t + 0.3 <= failed_at]
    assert len(before) <= 4 + len(finished), (
        f"{len(before)} slow steps started before the failure, {len(finished)} finished")
    assert len(starts) < 12


# ---------------------------------------------------------------- shared inputs (W6)
def test_parallel_readers_share_one_copy_of_an_array(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The W6 benchmark, small: two workers reading one 50 MB array add (almost) no
    private memory; pickling it to them costs a copy each."""
    bench_dir = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(bench_dir))
    import w6_shared_input as w6

    size = 50
    result = w6.run_benchmark(size, hold=0.3, workdir=tmp_path / "w6")
    ours, pickled = result["flowyml"], result["pickled"]
    assert ours["correct"] and ours["read_only_inputs"]
    assert ours["uss_above_idle_mb"] < 0.10 * size, result
    assert pickled["uss_above_idle_mb"] > 1.5 * size, result  # a private copy per worker
    # local folder store: each worker maps the same object file (one open each), and the
    # driver reads nothing; the baseline reads it once in the driver, then copies it
    assert ours["store_objects_read"] == 2 and pickled["store_objects_read"] == 1
    assert result["target_met"]["private_memory_under_10pct"]


def test_a_worker_sees_the_drivers_command_line(project: Path) -> None:
    """A step reading ``sys.argv`` (argparse in the step) is keyed by the driver's
    command line, so it must run with it: the worker gets it."""
    from tests.conftest import run_py

    write(project / "pipe.py", """
        import sys

        import flowyml as fm


        @fm.step(outputs="args")
        def args() -> list[str]:
            return sys.argv[1:]


        pipe = fm.Pipeline("argv", [args])
    """)
    code = """
        import sys
        sys.argv = ["pipe.py", "--lr", "0.1"]
        import pipe
        print(pipe.pipe.run(executor="processes:1")["args"])
    """
    assert run_py(project, code).strip() == "['--lr', '0.1']"


def test_steps_passing_state_through_globals_run_in_the_driver(project: Path) -> None:
    """Two steps coupled through a global (one changes the dict the other reads) give
    on ``processes`` what they give inline and what the plain functions called in order
    give: they run in the driver, where each sees the other's change (in workers, the
    reader saw the change only when the same worker happened to run both). The others
    still run on the workers."""
    write(project / "pipe.py", '''
        import os
        import flowyml as fm

        CONFIG = {"k": 0}

        @fm.step(outputs="ready")
        def setk(n: int = 3):
            CONFIG["k"] = n
            return os.getppid()

        @fm.step(outputs="val")
        def use(ready):
            return [CONFIG["k"] * 10, os.getppid()]

        @fm.step(outputs="free")
        def elsewhere(n: int = 2):
            return os.getppid()

        pipe = fm.Pipeline("shared", [setk, use, elsewhere])
    ''')
    res = flowyml_cli(project, "run", "pipe.py", "--executor", "processes:2")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "changes the global CONFIG" in res.stderr
    cat = fm.Catalog(fm.Stack().resolve())
    val, ready, free = (cat.get(a).load() for a in ("val", "ready", "free"))
    assert val[0] == 30
    # the driver is this test's child; a worker is the driver's
    assert ready == val[1] == os.getpid() != free


def test_a_mapped_step_reading_state_another_step_set_runs_in_the_driver(
        project: Path) -> None:
    """A ``map_over`` step coupled with another through a global: its elements run in
    the driver too, as the plain loop would see the change (in workers they gave the
    import's value)."""
    write(project / "pipe.py", '''
        import flowyml as fm

        SETTINGS = {"scale": 1}

        @fm.step(outputs="items")
        def configure(scale: int = 5):
            SETTINGS["scale"] = scale
            return [1, 2, 3]

        @fm.step(outputs="result", map_over="items")
        def compute(items):
            return items * SETTINGS["scale"]

        pipe = fm.Pipeline("mapped", [configure, compute])
    ''')
    res = flowyml_cli(project, "run", "pipe.py", "--executor", "processes:2")
    assert res.returncode == 0, res.stdout + res.stderr
    assert fm.Catalog(fm.Stack().resolve()).get("result").load() == [5, 10, 15]


def test_a_step_with_a_timeout_sharing_state_with_another_is_refused_at_build(
        project: Path) -> None:
    """A timeout runs its step in a process of its own (so that it can be killed),
    where the state another step set in the driver is not: refused before anything
    runs, naming the step, the global and both ways out."""
    write(project / "pipe.py", '''
        import flowyml as fm

        SETTINGS = {"scale": 1}

        @fm.step(outputs="ready")
        def configure(scale: int = 5):
            SETTINGS["scale"] = scale
            return True

        @fm.step(outputs="result", timeout=60)
        def compute(ready):
            return SETTINGS["scale"] * 10

        pipe = fm.Pipeline("timed", [configure, compute])
    ''')
    pipe = import_from(project, "pipe").pipe
    with pytest.raises(fm.BuildError, match=r"'compute' has timeout=60 and shares SETTINGS"
                       r".*as an output.*or drop the timeout"), warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        pipe.build()
    assert not (project / ".flowyml" / "objects").exists()


def test_a_step_with_a_timeout_changing_settings_only_steps_before_it_use_builds(
        project: Path) -> None:
    """``np.seterr`` in the last step, with a timeout: in its own process it computes as
    it would here, and no step after it sees the change: nothing to refuse."""
    write(project / "pipe.py", '''
        import numpy as np
        import flowyml as fm

        @fm.step(outputs="table")
        def load(n: int = 4):
            return np.arange(n) / 3

        @fm.step(outputs="ratios", timeout=60)
        def ratios(table):
            np.seterr(divide="ignore", invalid="ignore")
            return (table / np.arange(len(table))).round(3).tolist()

        pipe = fm.Pipeline("timed", [load, ratios])
    ''')
    pipe = import_from(project, "pipe").pipe
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        assert pipe.run()["ratios"][1:] == [0.333, 0.333, 0.333]


def test_a_module_logger_of_a_script_run_with_dash_m_is_one_on_workers_and_the_cli(
        project: Path) -> None:
    """``getLogger(__name__)`` in ``pkg/pipe.py``: ``__main__``'s logger under ``python -m
    pkg.pipe``, in a worker the driver's file without how it was started, ``pkg.pipe``'s
    under ``flowyml run``. It counts as ``pkg.pipe`` in all three: the worker computes
    the driver's key (it refused the step), and the CLI reuses its result."""
    import subprocess
    import sys

    from tests.conftest import child_env

    (project / "pkg").mkdir()
    write(project / "pkg" / "__init__.py", "")
    write(project / "pkg" / "pipe.py", '''
        import logging
        import sys

        import flowyml as fm

        log = logging.getLogger(__name__)

        @fm.step(outputs="y")
        def f(n: int = 3):
            log.info("n=%s", n)
            return n * 2

        pipe = fm.Pipeline("dashm", [f])

        if __name__ == "__main__":
            print("RESULT", pipe.run(executor=sys.argv[1])["y"])
    ''')
    proc = subprocess.run([sys.executable, "-m", "pkg.pipe", "processes:2"], cwd=project,
                          env=child_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "RESULT 6" in proc.stdout, proc.stderr[-2000:]
    res = flowyml_cli(project, "run", "pkg/pipe.py")
    assert res.returncode == 0 and "1 reused" in res.stderr, res.stdout + res.stderr


def test_a_step_with_a_timeout_changing_settings_a_later_step_computes_by_is_refused(
        project: Path) -> None:
    """``np.set_printoptions`` in a step with a timeout whose array a later step prints:
    in its own process the option would never reach the later step (which the plain
    functions called in order print by): refused."""
    write(project / "pipe.py", '''
        import numpy as np
        import flowyml as fm

        @fm.step(outputs="arr", timeout=60)
        def make(n: int = 3):
            np.set_printoptions(precision=2)
            return np.arange(1, n + 1) / 3

        @fm.step(outputs="report")
        def report(arr):
            return str(arr)

        pipe = fm.Pipeline("timed", [make, report])
    ''')
    pipe = import_from(project, "pipe").pipe
    with pytest.raises(fm.BuildError, match=r"'make' has timeout=60"), warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        pipe.build()


def test_a_worker_computes_with_a_script_class_as_it_is_now(project: Path) -> None:
    """A class of the script's ``__main__`` travels to the workers by value; changed
    since the last run (``Box.scale = 3``, as a later notebook cell does), a step given
    its instances as an input computes with it as it is now, and its result is cached
    as such (it was computed with the first copy shipped, and that value reused)."""
    write(project / "pipe.py", '''
import flowyml as fm

class AttrDict(dict):
    __getattr__ = dict.__getitem__  # (a KeyError for a name it lacks)


class Box:
    scale = 2
    opts = AttrDict(unit="m")

    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v * self.scale

@fm.step(outputs="boxes")
def make(n: int = 3):
    return [Box(i) for i in range(n)]

@fm.step(outputs="vals")
def use(boxes):
    return [b.get() for b in boxes]

pipe = fm.Pipeline("boxes", [make, use])

if __name__ == "__main__":
    first = pipe.run(executor="processes:2")
    Box.scale = 3
    second = pipe.run(executor="processes:2")
    third = pipe.run()
    print(first["vals"], second.steps["use"].status, second["vals"],
          third.steps["use"].status, third["vals"])
''')
    proc = subprocess.run([sys.executable, "pipe.py"], cwd=project, env=child_env(None),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == "[0, 2, 4] executed [0, 3, 6] cached [0, 3, 6]"


def test_a_script_step_reading_its_globals_by_name_runs_in_the_driver(project: Path) -> None:
    """``eval("n * K")`` in a step of the script: its key counts the script's module
    whole, which a worker, given the function by value with the globals it names, does
    not have (a ``WorkerStateError`` told to set ``K`` in the module, where it is): it
    runs in this process, on ``processes`` too, mapped or not."""
    write(project / "pipe.py", '''
import flowyml as fm

K = 3

@fm.step(outputs="y")
def f(n: int = 3):
    return [eval("n * K"), n]

@fm.step(outputs="ys", map_over="xs", inputs={"xs": "y"})
def each(xs):
    return eval("xs + K")

pipe = fm.Pipeline("evals", [f, each])

if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore")
    run = pipe.run(executor="processes:2")
    print(run.steps["f"].status, run["y"], run["ys"])
''')
    proc = subprocess.run([sys.executable, "pipe.py"], cwd=project, env=child_env(None),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == "executed [9, 3] [12, 6]"


def test_a_script_step_reading_its_globals_by_name_with_a_timeout_is_refused(
        project: Path) -> None:
    """Such a step cannot run in a process of its own (which a timeout needs): the build
    says so, naming the step, rather than each run failing with a WorkerStateError."""
    write(project / "pipe.py", '''
import flowyml as fm

K = 3

@fm.step(outputs="y", timeout=30)
def f(n: int = 3):
    return eval("n * K")

pipe = fm.Pipeline("evals", [f])

if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore")
    try:
        pipe.build()
    except fm.BuildError as exc:
        print("refused:", exc)
''')
    proc = subprocess.run([sys.executable, "pipe.py"], cwd=project, env=child_env(None),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "refused: step 'f' has timeout=30 and reads the globals of the script" in proc.stdout


def test_a_script_step_querying_its_globals_runs_in_the_driver(project: Path) -> None:
    """``df.query("a > @THRESH")`` in a step of the script: pandas reads ``THRESH`` from
    the caller's globals, which a worker's copy of the function lacks (a
    ``WorkerStateError`` on every run). It runs in this process; other steps still run
    on the workers."""
    write(project / "pipe.py", '''
import os
import pandas as pd
import flowyml as fm

THRESH = 1
DRIVER = os.getpid()

@fm.step(outputs="a")
def filt(n: int = 2):
    df = pd.DataFrame({"a": [0, 1, 2, 3]})
    return [len(df.query("a > @THRESH")), os.getpid() == DRIVER]

@fm.step(outputs="b")
def other(n: int = 2):
    return os.getpid() == DRIVER

pipe = fm.Pipeline("q", [filt, other])

if __name__ == "__main__":
    run = pipe.run(executor="processes:2")
    print(run["a"], run["b"])
''')
    proc = subprocess.run([sys.executable, "pipe.py"], cwd=project, env=child_env(None),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == "[2, True] False"
