#!/usr/bin/env python3
"""Issue #12's targets that no other benchmark measures: storing a big numpy array,
building a 10,000-step graph, the commands ``flowyml runs`` / ``flowyml plan``, and the
first catalog open.

    .venv/bin/python benchmarks/targets.py                    # all four, 5 reps (~2.5 min)
    .venv/bin/python benchmarks/targets.py --size-mb 128 --reps 2 --only big,open
    .venv/bin/python benchmarks/targets.py --from-json benchmarks/.work/targets/results.json

Every measurement is a fresh process of the project venv's python (``.venv``), started
in a work dir under ``benchmarks/.work/targets/`` with ``PYTHONDONTWRITEBYTECODE`` and
every ``FLOWYML_*`` variable removed from its environment (``.pyc`` files are cached, as
a user has them); a child gets ``FLOWYML_ROOT`` (its work dir is the project) and
``FLOWYML_FINGERPRINT_MEMO`` (a memo folder under the work dir, so the user's
``~/.cache`` is neither read nor written). Medians (min-max) over ``--reps``.

- **big**: per repetition, two processes. Each builds a ``--size-mb`` float64 array
  (not timed), then times, in an order that alternates per repetition, (a) FlowyML
  storing it and (b) ``np.save`` of the same array into the same project folder. (a)
  is ``pipeline.run()`` of a one-step pipeline whose step returns the pre-built array
  (reached as a builtin name, which the code fingerprint does not hash) in the first
  process, and the bare object path (``flowyml.objects.store_value`` into a
  ``LocalStore``) in the second. Each timed write follows ``QUIET_S`` of quiet and an
  untimed write and delete of a file of the same size (see ``WarmUp``: this VM hands
  freed memory back to its host, and a write into such pages costs seconds more); in
  the run, that warm-up is the step's body, and its time and bytes are taken off the
  run's. ``/proc/self/io`` gives the bytes the process read (``rchar``) and wrote
  (``wchar``) meanwhile: one pass means ``rchar`` is nowhere near the array's size;
  ``getrusage`` and ``/proc/stat`` the CPU time of the process (every thread), of the
  other processes, and the host's steal meanwhile. Whether FlowyML fsyncs is probed
  first (``os.fsync`` / ``os.fdatasync`` / ``os.sync`` counted while it stores a
  32 MiB array); if it does, ``np.save`` is timed with an fsync too.
- **graph**: a generated module of ``--steps`` steps (100-step chains from one source,
  merged ten at a time, then one total; every step annotated ``int``), byte-compiled
  beforehand. Per repetition: one process times ``fm.Pipeline(...)`` plus
  ``build_graph`` (the inference and validation that raise ``BuildError``s), with the
  module's import reported apart; two more time ``pipeline.build()`` (validation plus
  every step's code fingerprint), with the fingerprint memo empty, then filled.
- **cli**: a project whose 200-step chain ran twice (``flowyml run``: a first run and a
  cached rerun). The whole processes ``.venv/bin/flowyml runs`` and ``.venv/bin/flowyml
  plan chain200.py`` as the runner sees them, after one untimed call of each; with
  ``flowyml --help``, ``python -c "import flowyml"`` and ``python -c pass`` for scale.
- **open**: in process, the first catalog open of a fresh process after ``import
  flowyml``: ``Stack.open_runtime_catalog()`` (what a run and ``flowyml runs`` open, on
  the database driver) and ``Stack.open_catalog()`` (the full catalog: ``artifacts``,
  ``lineage``, the web page), each on a fresh project (the schema is created) and on
  the cli project's existing catalog; the stack's resolution is reported apart.

Writes ``benchmarks/targets.md`` and its section of ``benchmarks/RESULTS.md`` (between
``<!-- targets:start -->`` and ``<!-- targets:end -->``); raw records go to
``benchmarks/.work/targets/results.json``. Standard library only (the parent runs under
any Python 3.10+; the children run the project venv).
"""

from __future__ import annotations

# Only these before the child side: a child measures imports (a run's, the catalog's),
# so it must not find modules this script imported for itself. The parent's imports
# follow the child's entry point below.
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

RESULT_PREFIX = "RESULT "


# =========================================================================== child side
# Runs in the project venv's python, cwd = its work dir; prints one RESULT line.

now = time.perf_counter


def proc_io() -> dict[str, int]:
    """This process's /proc/self/io counters (rchar: bytes read by read(2) and alike)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/io") as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k.strip()] = int(v)
    except OSError:
        pass
    return out


class SyncCounter:
    """Counts ``os.fsync`` / ``os.fdatasync`` / ``os.sync`` calls while ``on``
    (installed before FlowyML is imported, so a ``from os import fsync`` sees it too)."""

    NAMES = ("fsync", "fdatasync", "sync")

    def __init__(self) -> None:
        self.on = False
        self.calls = 0
        self.real: dict[str, Callable[..., Any]] = {n: getattr(os, n) for n in self.NAMES}
        for name in self.NAMES:
            setattr(os, name, self._wrap(self.real[name]))

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            if self.on:
                self.calls += 1
            return fn(*args)

        return counted

    def sync(self) -> None:
        self.real["sync"]()


def _make_array(size: int) -> Any:
    import numpy as np

    arr = np.arange(size // 8, dtype=np.float64)
    arr *= 1.000001  # not a plain ramp; touches every page before anything is timed
    return arr


class WarmUp:
    """Writes and deletes a file of the array's size, untimed, right before a timed write.

    On this VM (virtio-balloon free page reporting) free memory goes back to the host
    about two seconds after it is freed, and the first write into such pages costs ~2 s
    a GiB more; pages freed a moment ago are still backed. So each timed write gets
    ``QUIET_S`` of quiet (the reporting worker goes idle), then this write and delete
    (slow, not timed), then at once the timed write, which reuses those pages. Without
    it, whichever write meets reported pages pays seconds that are not its own."""

    def __init__(self, arr: Any, path: Path, counter: SyncCounter) -> None:
        self.arr, self.path, self.counter = arr, path, counter
        self.took: list[float] = []
        self.io: dict[str, int] = {}
        self.cpu = self.busy = self.steal = 0.0

    def __call__(self) -> None:
        t = now()
        before = proc_io()
        cpu0, busy0, steal0 = cpu_seconds()
        with open(self.path, "wb") as f:
            self.arr.tofile(f)
        self.path.unlink()  # dirty pages dropped, never written back
        self.counter.sync()
        cpu1, busy1, steal1 = cpu_seconds()
        self.cpu, self.busy, self.steal = cpu1 - cpu0, busy1 - busy0, steal1 - steal0
        after = proc_io()
        self.took.append(now() - t)
        self.io = {k: after.get(k, 0) - before.get(k, 0) for k in ("rchar", "wchar")}


def _np_save(arr: Any, path: Path, fsync: bool) -> None:
    import numpy as np

    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)
        if fsync:
            f.flush()
            os.fsync(f.fileno())


def cpu_seconds() -> tuple[float, float, float]:
    """(this process's CPU time, every thread; the machine's busy CPU time; the time the
    host took from this VM's CPUs, "steal"), in seconds."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    busy = steal = 0.0
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
        busy = (v[0] + v[1] + v[2] + v[5] + v[6]) / hz  # user nice system irq softirq
        steal = v[7] / hz
    except (OSError, ValueError, IndexError):
        pass
    return ru.ru_utime + ru.ru_stime, busy, steal


def _timed(fn: Callable[[], Any], counter: SyncCounter, count: bool) -> dict[str, Any]:
    before = proc_io()
    cpu0, busy0, steal0 = cpu_seconds()
    counter.on, counter.calls = count, 0
    t = now()
    out = fn()
    took = now() - t
    counter.on = False
    cpu1, busy1, steal1 = cpu_seconds()
    after = proc_io()
    return {"s": took, "rchar": after.get("rchar", 0) - before.get("rchar", 0),
            "wchar": after.get("wchar", 0) - before.get("wchar", 0), "cpu": cpu1 - cpu0,
            "others_cpu": max(0.0, (busy1 - busy0) - (cpu1 - cpu0)), "steal": steal1 - steal0,
            "syncs": counter.calls, "out": out}


def child_big(p: dict[str, Any], counter: SyncCounter) -> dict[str, Any]:
    """(a) ``pipeline.run()`` or the bare ``store_value`` vs (b) ``np.save``."""
    import builtins
    from pathlib import Path

    cwd = Path.cwd()
    size, mode, quiet = int(p["size"]), p["mode"], float(p["quiet"])
    fsync, order = p["fsync"] == "1", p["order"].split(",")
    t = now()
    arr = _make_array(size)
    build_s = now() - t
    warm = WarmUp(arr, cwd / "warm.bin", counter)
    (cwd / "npsave").mkdir(exist_ok=True)
    res: dict[str, Any] = {"build_array_s": build_s, "nbytes": int(arr.nbytes), "mode": mode,
                           "order": order}

    t = now()
    import flowyml as fm

    res["import_flowyml_s"] = now() - t
    if mode == "run":
        # the step returns the array and, first, calls the warm-up (its time and bytes
        # are taken off the run's below): reached as builtins, which the fingerprint
        # does not hash
        builtins.BENCH_ARRAY = arr  # type: ignore[attr-defined]
        builtins.BENCH_WARMUP = warm  # type: ignore[attr-defined]
        import big_step

        pipe = fm.Pipeline("big", [big_step.make_big])

        def flowyml_op() -> Any:
            return pipe.run()

        def flowyml_done(run: Any) -> dict[str, Any]:
            art = run.artifacts["big"]
            step = run.steps["make_big"]
            found = list((cwd / ".flowyml" / "objects").glob(f"*/{art.content_hash}"))
            size_on_disk = found[0].stat().st_size if found else -1
            for f in found:
                f.unlink()
            return {"executed": not step.cached, "object_bytes": size_on_disk,
                    "materializer": art.materializer, "step_duration_s": step.duration,
                    "store_bytes_written": dict(run.io or {}).get("store_bytes_written")}
    else:
        from flowyml.objects import store_value
        from flowyml.stores.local import LocalStore

        store = LocalStore(cwd / "bare-store")

        def flowyml_op() -> Any:
            return store_value(store, "big", arr)

        def flowyml_done(run: Any) -> dict[str, Any]:  # (the NewOutput it stored)
            out = run
            path = store.root / "objects" / out.content_hash[:2] / out.content_hash
            size_on_disk = path.stat().st_size if path.exists() else -1
            path.unlink(missing_ok=True)
            return {"executed": True, "object_bytes": size_on_disk,
                    "materializer": out.materializer}

    for what in order:
        time.sleep(quiet)
        if what == "flowyml":
            if mode != "run":
                warm()
            got = _timed(flowyml_op, counter, count=True)
            res.update(flowyml_rchar=got["rchar"],
                       flowyml_wchar=got["wchar"], flowyml_syncs=got["syncs"],
                       flowyml_cpu=got["cpu"], flowyml_others_cpu=got["others_cpu"],
                       flowyml_steal=got["steal"],
                       **flowyml_done(got["out"]))
            res["flowyml_s"] = got["s"]
            if mode == "run":  # the warm-up ran inside the step: not FlowyML's
                res["flowyml_s"] -= warm.took[-1]
                res["flowyml_rchar"] -= warm.io["rchar"]
                res["flowyml_wchar"] -= warm.io["wchar"]
                res["flowyml_cpu"] -= warm.cpu
                res["flowyml_others_cpu"] = max(
                    0.0, res["flowyml_others_cpu"] - max(0.0, warm.busy - warm.cpu))
                res["flowyml_steal"] = max(0.0, res["flowyml_steal"] - warm.steal)
                res["warmup_in_step_s"] = warm.took[-1]
                res["flowyml_raw_s"] = got["s"]
            res["flowyml_warm_write_s"] = warm.took[-1]
        else:
            path = cwd / "npsave" / "array.npy"

            def npsave_op(path: Path = path) -> None:
                _np_save(arr, path, fsync)

            warm()
            got = _timed(npsave_op, counter, count=False)
            res.update(npsave_s=got["s"], npsave_rchar=got["rchar"], npsave_wchar=got["wchar"],
                       npsave_cpu=got["cpu"], npsave_others_cpu=got["others_cpu"],
                       npsave_steal=got["steal"],
                       npsave_bytes=path.stat().st_size, npsave_warm_write_s=warm.took[-1])
            path.unlink()
            counter.sync()
    res["ratio"] = res["flowyml_s"] / res["npsave_s"]
    return res


def child_fsync_probe(p: dict[str, Any], counter: SyncCounter) -> dict[str, Any]:
    """Does FlowyML's store fsync? Count the calls while it stores a 32 MiB array, in a
    pipeline run and through the bare object path."""
    import builtins
    from pathlib import Path

    import big_step

    import flowyml as fm

    arr = _make_array(int(p["size"]))
    builtins.BENCH_ARRAY = arr  # type: ignore[attr-defined]
    builtins.BENCH_WARMUP = lambda: None  # type: ignore[attr-defined]
    counter.on, counter.calls = True, 0
    fm.Pipeline("big", [big_step.make_big]).run()
    run_calls = counter.calls
    from flowyml.objects import store_value
    from flowyml.stores.local import LocalStore

    counter.calls = 0
    store_value(LocalStore(Path.cwd() / "bare-store"), "big", arr)
    counter.on = False
    return {"run_syncs": run_calls, "store_syncs": counter.calls}


def child_validate(p: dict[str, Any], counter: SyncCounter) -> dict[str, Any]:
    """``fm.Pipeline(...)`` + ``build_graph``, the import of the module apart."""
    t0 = now()
    import flowyml as fm
    from flowyml.core.graph import build_graph

    t1 = now()
    import graph_steps

    t2 = now()
    pipe = fm.Pipeline("graph", graph_steps.STEPS)
    t3 = now()
    graph = build_graph(pipe.steps, {})
    t4 = now()
    assert len(graph.order) == len(pipe.steps) == int(p["steps"]), len(graph.order)
    return {"import_flowyml_s": t1 - t0, "import_module_s": t2 - t1, "pipeline_s": t3 - t2,
            "build_graph_s": t4 - t3, "validate_s": t4 - t2, "steps": len(graph.order),
            "edges": sum(len(v) for v in graph.upstream.values())}


def child_build(p: dict[str, Any], counter: SyncCounter) -> dict[str, Any]:
    """``pipeline.build()``: validation plus every step's fingerprint."""
    t0 = now()
    import flowyml as fm

    t1 = now()
    import graph_steps

    t2 = now()
    pipe = fm.Pipeline("graph", graph_steps.STEPS)
    graph = pipe.build()
    t3 = now()
    assert len(graph.fingerprints) == int(p["steps"]), len(graph.fingerprints)
    return {"import_flowyml_s": t1 - t0, "import_module_s": t2 - t1, "build_s": t3 - t2,
            "memo": p["memo"]}


def child_open(p: dict[str, Any], counter: SyncCounter) -> dict[str, Any]:
    """The first catalog open in this process, after ``import flowyml``."""
    t0 = now()
    import flowyml  # noqa: F401
    from flowyml.stack import as_stack

    t1 = now()
    from pathlib import Path  # (flowyml imported it)

    mods = len(sys.modules)
    st = as_stack(None, root=Path.cwd())
    t2 = now()
    before = set(sys.modules)
    cat = st.open_runtime_catalog() if p["kind"] == "runtime" else st.open_catalog()
    t3 = now()
    new = set(sys.modules) - before
    runs = len(cat.list_runs(50))
    return {"import_flowyml_s": t1 - t0, "resolve_s": t2 - t1, "open_s": t3 - t2,
            "modules_resolve": len(before) - mods, "modules_open": len(new),
            "sqlalchemy": any(m.split(".")[0] == "sqlalchemy" for m in new),
            "runs": runs, "schema_version": cat.schema_version()}


CHILDREN: dict[str, Callable[[dict[str, Any], SyncCounter], dict[str, Any]]] = {
    "big": child_big, "fsync-probe": child_fsync_probe, "validate": child_validate,
    "build": child_build, "open": child_open,
}


def child_main(argv: list[str]) -> int:
    """``--child NAME KEY=VALUE...``: run one child, print its RESULT line (JSON is
    imported only then)."""
    counter = SyncCounter()  # before FlowyML is imported
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # the generated modules live in the work dir
    params = dict(a.partition("=")[::2] for a in argv[1:])
    data = CHILDREN[argv[0]](params, counter)
    import json

    print(RESULT_PREFIX + json.dumps(data, default=str), flush=True)
    return 0


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    sys.exit(child_main(sys.argv[2:]))


# ========================================================================== parent side
import argparse  # noqa: E402 - after the child's entry point (see the top)
import datetime as dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
FLOWYML = VENV_BIN / "flowyml"
WORK = BENCH / ".work" / "targets"
OUT_MD = BENCH / "targets.md"
RESULTS_MD = BENCH / "RESULTS.md"
JSON_OUT = WORK / "results.json"
START, END = "<!-- targets:start -->", "<!-- targets:end -->"
SECTIONS = ("big", "graph", "cli", "open")
DASH, TIMES, LE, DIV = "\u2013", "\u00d7", "\u2264", "\u00f7"
MIB = 1 << 20

# Issue #12's targets
BIG_RATIO = 1.3  # storing <= 1.3x np.save of the same array to the same disk
GRAPH_S = 1.0  # building and validating a 10,000-step graph
CLI_S = 0.2  # `flowyml runs`, `flowyml plan`, whole process
OPEN_S = 0.030  # the first catalog open
CHAIN = 200  # the cli project's chain
QUIET_S = 3.0  # before each timed big write (see WarmUp)
QUIET_SHARE = 0.1  # a "quiet" big write: others' CPU + steal below this share of its time


@dataclass
class Proc:
    rc: int
    wall: float
    maxrss_mib: float
    stdout: str
    stderr: str
    data: dict[str, Any]


def child_env(project: Path | None, memo: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLOWYML_")
           and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    if project is not None:
        env["FLOWYML_ROOT"] = str(project)
    if memo is not None:
        env["FLOWYML_FINGERPRINT_MEMO"] = str(memo)
    return env


def spawn(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> Proc:
    """Run ``argv`` to its end; wall time as the runner sees it (a blocking ``wait4``,
    no polling), and the child's peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        killed: list[bool] = []
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)

        def kill() -> None:
            killed.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # this child's own session only
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    data: dict[str, Any] = {}
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX):])
    if killed:
        raise RuntimeError(f"{argv} timed out after {timeout:.0f} s")
    return Proc(proc.returncode, wall, usage.ru_maxrss / 1024, stdout, stderr, data)


def run_child(name: str, params: dict[str, Any], cwd: Path, memo: Path | None = None,
              project: Path | None = None) -> Proc:
    """``targets.py --child NAME KEY=VALUE...`` (lists joined by commas, bools as 1/0)."""
    def text(v: Any) -> str:
        if isinstance(v, bool):
            return "1" if v else "0"
        return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)

    argv = [str(PYTHON), str(Path(__file__).resolve()), "--child", name,
            *(f"{k}={text(v)}" for k, v in params.items())]
    p = spawn(argv, cwd, child_env(project or cwd, memo))
    if p.rc != 0 or not p.data:
        tail = "\n".join(p.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"child {name} {params} failed (exit {p.rc}):\n{tail}")
    return p


def check_ok(p: Proc, what: str) -> Proc:
    if p.rc != 0:
        raise RuntimeError(f"{what} failed (exit {p.rc}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / "flowyml.toml").write_text("# project root marker (benchmarks/targets.py)\n")
    return path


def compile_module(path: Path) -> None:
    """Byte-compile a generated module with the venv's python (outside any timing)."""
    code = f"import py_compile; py_compile.compile({str(path)!r}, doraise=True)"
    check_ok(spawn([str(PYTHON), "-c", code], path.parent, child_env(None, None)),
             f"compiling {path.name}")


def rotate(items: list[str], rep: int) -> list[str]:
    k = rep % len(items)
    return items[k:] + items[:k]


# ---------------------------------------------------------------- generated modules
BIG_STEP = '''"""One step returning a pre-built array (benchmarks/targets.py).

``BENCH_ARRAY`` and ``BENCH_WARMUP`` are put in ``builtins`` by the benchmark: the code
fingerprint does not hash builtins, so the step's key costs nothing. The step body is
the benchmark's warm-up write (see ``WarmUp``), whose time the benchmark takes off the
run's: what is left is FlowyML's own work (storing, hashing, recording).
"""

import flowyml as fm


@fm.step(outputs="big")
def make_big():
    BENCH_WARMUP()  # noqa: F821 - untimed: taken off the run's time
    return BENCH_ARRAY  # noqa: F821
'''


def chain_source(n: int) -> str:
    lines = [f'"""A {n}-step chain: a_i = a_(i-1) + 1 (benchmarks/targets.py)."""',
             "import flowyml as fm", "", '@fm.step(outputs="a0")', "def s0():",
             "    return 0", ""]
    for i in range(1, n):
        lines += [f'@fm.step(outputs="a{i}")', f"def s{i}(a{i - 1}):",
                  f"    return a{i - 1} + 1", ""]
    lines.append(f'pipeline = fm.Pipeline("chain{n}", [' + ", ".join(f"s{i}" for i in range(n))
                 + "])")
    return "\n".join(lines) + "\n"


def graph_source(n: int) -> tuple[str, dict[str, int]]:
    """``n`` steps: a source, chains of ~100 steps from it, merges of ten chain ends,
    one total. Every step is annotated, so the build's type checks have work."""
    chains = max(1, n // 100)
    merges = max(1, chains // 10)
    body = n - 2 - merges
    if body < chains:
        raise SystemExit(f"--steps {n} is too small")
    lengths = [body // chains + (1 if c < body % chains else 0) for c in range(chains)]
    lines = [f'"""{n} generated steps (benchmarks/targets.py)."""', "import flowyml as fm", "",
             '@fm.step(outputs="src")', "def source() -> int:", "    return 1", ""]
    names = ["source"]
    ends: list[str] = []
    for c, length in enumerate(lengths):
        prev = "src"
        for i in range(length):
            out = f"c{c}_{i}"
            lines += [f'@fm.step(outputs="{out}")', f"def s_{out}({prev}: int) -> int:",
                      f"    return {prev} + 1", ""]
            names.append(f"s_{out}")
            prev = out
        ends.append(prev)
    totals = []
    for g in range(merges):
        group = ends[g::merges]
        args = ", ".join(f"{e}: int" for e in group)
        lines += [f'@fm.step(outputs="m{g}")', f"def merge{g}({args}) -> int:",
                  f"    return sum(({', '.join(group)},))", ""]
        names.append(f"merge{g}")
        totals.append(f"m{g}")
    lines += ['@fm.step(outputs="total")',
              f"def total_step({', '.join(f'{m}: int' for m in totals)}) -> int:",
              f"    return sum(({', '.join(totals)},))", ""]
    names.append("total_step")
    lines.append("STEPS = [" + ", ".join(names) + "]")
    assert len(names) == n, (len(names), n)
    shape = {"steps": n, "chains": chains, "chain_length_max": max(lengths),
             "merges": merges, "merge_width": len(ends[0::merges])}
    return "\n".join(lines) + "\n", shape


# ---------------------------------------------------------------- sections
Log = Callable[[str], None]


def bench_big(args: argparse.Namespace, log: Log) -> dict[str, Any]:
    size = args.size_mb * MIB
    root = WORK / "big"
    if root.exists():
        shutil.rmtree(root)
    probe_dir = fresh_dir(root / "fsync-probe")
    (probe_dir / "big_step.py").write_text(BIG_STEP)
    probe = run_child("fsync-probe", {"size": 32 * MIB}, probe_dir, memo=probe_dir / "memo").data
    shutil.rmtree(probe_dir)
    fsync = bool(probe["run_syncs"] or probe["store_syncs"])
    log(f"big: fsync probe {probe} -> np.save {'with' if fsync else 'without'} fsync")
    recs: list[dict[str, Any]] = []
    for rep in range(args.reps):
        order = ["flowyml", "npsave"] if rep % 2 == 0 else ["npsave", "flowyml"]
        for mode in ("run", "store"):
            d = fresh_dir(root / f"rep{rep + 1}-{mode}")
            (d / "big_step.py").write_text(BIG_STEP)
            compile_module(d / "big_step.py")
            p = run_child("big", {"size": size, "mode": mode, "order": order, "fsync": fsync,
                                  "quiet": QUIET_S}, d, memo=d / "memo")
            rec = {**p.data, "rep": rep, "wall": p.wall, "maxrss_mib": p.maxrss_mib}
            recs.append(rec)
            shutil.rmtree(d)
            log(f"big rep {rep + 1} {mode:5} order={'/'.join(order):15} FlowyML "
                f"{rec['flowyml_s']:.3f} s  np.save {rec['npsave_s']:.3f} s  "
                f"ratio {rec['ratio']:.2f}  rchar {rec['flowyml_rchar'] / MIB:.2f} MiB  "
                f"warm-up writes {rec['flowyml_warm_write_s']:.2f} / "
                f"{rec['npsave_warm_write_s']:.2f} s")
    return {"size": size, "fsync_probe": probe, "npsave_fsync": fsync, "records": recs}


def bench_graph(args: argparse.Namespace, log: Log) -> dict[str, Any]:
    root = WORK / "graph"
    if root.exists():
        shutil.rmtree(root)
    d = fresh_dir(root / "project")
    source, shape = graph_source(args.steps)
    (d / "graph_steps.py").write_text(source)
    compile_module(d / "graph_steps.py")
    recs: list[dict[str, Any]] = []
    for rep in range(args.reps):
        memo = root / f"memo-rep{rep + 1}"  # empty for this repetition's first build()
        for case in ("validate", "build-cold", "build-warm"):
            name = "validate" if case == "validate" else "build"
            p = run_child(name, {"steps": args.steps, "memo": case.removeprefix("build-")},
                          d, memo=memo)
            recs.append({**p.data, "rep": rep, "case": case, "wall": p.wall,
                         "maxrss_mib": p.maxrss_mib})
            took = p.data.get("validate_s", p.data.get("build_s"))
            log(f"graph rep {rep + 1} {case:10} {took:.3f} s  (module import "
                f"{p.data['import_module_s']:.3f} s, whole process {p.wall:.2f} s)")
    return {"shape": shape, "source_bytes": len(source), "records": recs}


_cli_project: Path | None = None


def cli_project(log: Log) -> Path:
    """The project whose 200-step chain ran twice (made once per invocation)."""
    global _cli_project
    if _cli_project is not None:
        return _cli_project
    d = fresh_dir(WORK / "cli" / "project")
    (d / "chain200.py").write_text(chain_source(CHAIN))
    env = child_env(None, WORK / "cli" / "memo")
    for i in range(2):
        p = check_ok(spawn([str(FLOWYML), "run", "chain200.py", "-q"], d, env), "flowyml run")
        log(f"cli project: flowyml run #{i + 1} {p.wall:.2f} s ({p.stdout.strip()})")
    _cli_project = d
    return d


def bench_cli(args: argparse.Namespace, log: Log) -> dict[str, Any]:
    d = cli_project(log)
    env = child_env(None, WORK / "cli" / "memo")  # as a user types them: cwd = project
    commands = {
        "runs": [str(FLOWYML), "runs"],
        "plan": [str(FLOWYML), "plan", "chain200.py"],
        "help": [str(FLOWYML), "--help"],
        "import": [str(PYTHON), "-c", "import flowyml"],
        "python": [str(PYTHON), "-c", "pass"],
    }
    shown: dict[str, str] = {}
    for key, argv in commands.items():  # one untimed call each (and a check)
        shown[key] = check_ok(spawn(argv, d, env), " ".join(argv[1:])).stdout
    runs_lines = [ln for ln in shown["runs"].splitlines()[1:] if ln.strip()]
    reuse = sum(" reuse " in ln for ln in shown["plan"].splitlines())
    if len(runs_lines) < 2 or reuse != CHAIN:
        raise RuntimeError(f"unexpected output: runs {shown['runs']!r}, plan reuse {reuse}")
    recs: list[dict[str, Any]] = []
    for rep in range(args.reps):
        for key in rotate(list(commands), rep):
            p = check_ok(spawn(commands[key], d, env), key)
            recs.append({"rep": rep, "command": key, "wall": p.wall, "maxrss_mib": p.maxrss_mib})
        log(f"cli rep {rep + 1} " + "  ".join(
            f"{r['command']} {r['wall']:.3f}" for r in recs if r["rep"] == rep))
    return {"runs_listed": len(runs_lines), "plan_reused": reuse,
            "plan_head": shown["plan"].splitlines()[:3], "records": recs}


def bench_open(args: argparse.Namespace, log: Log) -> dict[str, Any]:
    existing = cli_project(log)
    root = WORK / "open"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    cases = [f"{kind}-{proj}" for kind in ("runtime", "full") for proj in ("fresh", "existing")]
    recs: list[dict[str, Any]] = []
    for rep in range(args.reps):
        for case in rotate(cases, rep):
            kind, proj = case.split("-")
            d = fresh_dir(root / f"rep{rep + 1}-{case}") if proj == "fresh" else existing
            p = run_child("open", {"kind": kind}, d, memo=root / "memo")
            recs.append({**p.data, "rep": rep, "case": case, "wall": p.wall})
            if proj == "fresh" and not (d / ".flowyml" / "catalog.db").is_file():
                raise RuntimeError(f"{case}: no catalog was created in {d}")
        log(f"open rep {rep + 1} " + "  ".join(
            f"{r['case']} {r['open_s'] * 1000:.1f} ms" for r in recs if r["rep"] == rep))
    listed = [r["runs"] for r in recs if r["case"].endswith("-existing")]
    return {"existing_runs": listed[0] if listed else None, "records": recs}


BENCHES: dict[str, Callable[[argparse.Namespace, Log], dict[str, Any]]] = {
    "big": bench_big, "graph": bench_graph, "cli": bench_cli, "open": bench_open,
}


# ---------------------------------------------------------------- machine
def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return (rev or "no commit") + (" + uncommitted src changes" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return "?"


def filesystem(path: Path) -> str:
    """The file system type of ``path`` (from /proc/mounts: the longest mount prefix)."""
    best, kind = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def venv_versions() -> str:
    code = ("import importlib.metadata as m, platform; print(platform.python_version(), "
            "m.version('numpy'), m.version('blake3'))")
    out = spawn([str(PYTHON), "-c", code], REPO, child_env(None, None)).stdout.split()
    return (f"Python {out[0]}, numpy {out[1]}, blake3 {out[2]}" if len(out) == 3
            else "venv: ?")


# ---------------------------------------------------------------- report
def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def mr(values: list[float], fmt: Callable[[float], str]) -> str:
    """``median (min-max)``."""
    if not values:
        return DASH
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(med(values))} ({fmt(min(values))}{DASH}{fmt(max(values))})"


def secs(v: float) -> str:
    return f"{v:.3f} s" if v < 10 else f"{v:.1f} s"


def ms(v: float) -> str:
    return f"{v * 1000:.1f} ms"


def ratio(v: float) -> str:
    return f"{v:.2f}{TIMES}"


def mib(v: float) -> str:
    return f"{v / MIB:.2f} MiB" if v < 100 * MIB else f"{v / MIB:.0f} MiB"


def met(value: float, limit: float) -> str:
    return "met" if value <= limit else "**missed**"


def markdown(data: dict[str, Any], level: int = 1) -> str:
    h = "#" * level
    meta = data["meta"]
    out: list[str] = [
        f"{h} Targets without a benchmark of their own (issue #12)", "",
        f"Generated by `benchmarks/targets.py` on {meta['date']} ({meta['elapsed_s']:.0f} s; "
        f"`{meta['command']}`).", "",
        f"- Machine: {meta['cpu']}, {meta['cores']} cores, {meta['ram']} RAM; "
        f"`{meta['platform']}`; work dirs on {meta['fs']}",
        f"- {meta['venv']} (project venv `.venv`); FlowyML at `{meta['git']}`",
        f"- Load average {meta['load_start']} at start, {meta['load_end']} at end; at the "
        "start of each part: " + "; ".join(f"{k} {v.get('load_at_start', '?')}"
                                           for k, v in data["results"].items()),
        f"- Repetitions: {meta['reps']}, each a fresh process per measurement; figures are "
        f"the median (min{DASH}max)", "",
    ]
    rows, details = [], []
    res = data["results"]
    for part, render in (("big", _big_md), ("graph", _graph_md), ("cli", _cli_md),
                         ("open", _open_md)):
        if part in res:
            r, d = render(res[part], h)
            rows += r
            details += d
    out += ["| Target | Measured | Target | Met? |", "| --- | --- | --- | --- |", *rows, ""]
    out += details
    return "\n".join(out).rstrip() + "\n"


def _big_md(b: dict[str, Any], h: str) -> tuple[list[str], list[str]]:
    size = b["size"]
    label = f"{size / 2**30:g} GiB" if size >= 2**30 else f"{size // MIB} MiB"
    by = {m: [r for r in b["records"] if r["mode"] == m] for m in ("run", "store")}
    run_r, store_r = [r["ratio"] for r in by["run"]], [r["ratio"] for r in by["store"]]
    save = "`np.save` + fsync" if b["npsave_fsync"] else "`np.save`"
    rows = [
        f"| Storing a {label} float64 array: `pipeline.run()` of a one-step pipeline "
        f"{DIV} {save} of the same array, same disk | {mr(run_r, ratio)} "
        f"| {LE} {BIG_RATIO}{TIMES} | {met(med(run_r), BIG_RATIO)} |",
        f"| Storing it through the bare object path (`store_value` into a `LocalStore`) "
        f"{DIV} {save} | {mr(store_r, ratio)} | {LE} {BIG_RATIO}{TIMES} "
        f"| {met(med(store_r), BIG_RATIO)} |",
        f"| One pass: bytes read (`rchar`) while `pipeline.run()` stores it "
        f"| {mr([r['flowyml_rchar'] for r in by['run']], mib)} | no re-read of the "
        f"{label} | {_one_pass(by['run'], size)} |",
    ]
    probe = b["fsync_probe"]
    lines = [f"{h}# Storing a {label} numpy array", "",
             "| | `pipeline.run()` process | bare `store_value` process |", "| --- | --- | --- |"]

    def row(what: str, key: str, fmt: Callable[[float], str]) -> str:
        return (f"| {what} | {mr([r[key] for r in by['run'] if key in r], fmt)} "
                f"| {mr([r[key] for r in by['store'] if key in r], fmt)} |")

    lines += [
        row("FlowyML storing it", "flowyml_s", secs),
        row(f"{save} of the same array", "npsave_s", secs),
        row(f"ratio FlowyML {DIV} {save}, pair by pair", "ratio", ratio),
        row("CPU time of the process meanwhile (every thread): FlowyML", "flowyml_cpu", secs),
        row(f"CPU time of the process meanwhile: {save}", "npsave_cpu", secs),
        row("other processes' CPU time meanwhile (machine busy time less ours): FlowyML",
            "flowyml_others_cpu", secs),
        row(f"other processes' CPU time meanwhile: {save}", "npsave_others_cpu", secs),
        row("CPU time the host took from this VM meanwhile (steal): FlowyML", "flowyml_steal",
            secs),
        row(f"steal meanwhile: {save}", "npsave_steal", secs),
        f"| ratio over the quiet pairs only (others' CPU + steal < {QUIET_SHARE:.0%} of each "
        f"write's time) | {_quiet(by['run'])} | {_quiet(by['store'])} |",
        row("`pipeline.run()` as timed, its step body included", "flowyml_raw_s", secs),
        row("of which the step body (the warm-up write, taken off)", "warmup_in_step_s", secs),
        row("bytes read by the process while FlowyML stored it (`rchar`)", "flowyml_rchar", mib),
        row("bytes written meanwhile (`wchar`)", "flowyml_wchar", mib),
        row(f"bytes written by {save} (`wchar`)", "npsave_wchar", mib),
        row("the stored object's size", "object_bytes", mib),
        row("untimed warm-up write before FlowyML's", "flowyml_warm_write_s", secs),
        row(f"untimed warm-up write before {save}", "npsave_warm_write_s", secs),
        row("building the array (untimed)", "build_array_s", secs),
        row("whole process", "wall", secs),
        row("peak RSS", "maxrss_mib", lambda v: f"{v:.0f} MiB"),
        "",
        "Each repetition is two processes, each building the array (untimed) and timing "
        f"FlowyML and {save} in an order that alternates per repetition. Before each timed "
        f"write: {QUIET_S:g} s of quiet, then a write and delete of a file of the same size "
        "(untimed; the warm-up rows), then at once the timed write. This VM returns freed "
        "memory to its host (virtio-balloon free page reporting, ~2 s after the free), and "
        "a write into such pages costs ~2 s a GiB more (the warm-up rows show it); the "
        "warm-up leaves just-freed pages for the timed write, so neither side pays for the "
        "VM. `pipeline.run()` is a fresh process's first run (the runtime's imports, the "
        "build, the catalog's creation and the records count, besides storing); its step "
        "returns the pre-built array, reached as a builtin name, which the code fingerprint "
        "does not hash, and its body is the warm-up write (so that nothing comes between "
        "the warm-up and the store), whose time and bytes are taken off the run's. "
        f"Does FlowyML's store fsync? {'Yes' if b['npsave_fsync'] else 'No'}: "
        f"os.fsync/fdatasync/sync calls while storing a 32 MiB array: "
        f"{probe['run_syncs']} in a run, {probe['store_syncs']} in `store_value`; so "
        f"`np.save` is timed {'with' if b['npsave_fsync'] else 'without'} an fsync"
        f"{'' if b['npsave_fsync'] else ' and both write into the page cache'}. "
        "FlowyML's numpy format is `.npy`: the same bytes as `np.save` writes.", "",
    ]
    return rows, lines


def _quiet(recs: list[dict[str, Any]]) -> str:
    """The pair-by-pair ratio over the pairs that nothing else disturbed, and how many."""
    def calm(r: dict[str, Any], side: str) -> bool:
        spent = r.get(f"{side}_others_cpu", 0.0) + r.get(f"{side}_steal", 0.0)
        return bool(spent < QUIET_SHARE * r[f"{side}_s"])

    ok = [r["ratio"] for r in recs if calm(r, "flowyml") and calm(r, "npsave")]
    return f"{mr(ok, ratio)}, {len(ok)} of {len(recs)} pairs" if ok else f"none of {len(recs)}"


def _one_pass(recs: list[dict[str, Any]], size: int) -> str:
    if not recs:
        return DASH
    worst = max(r["flowyml_rchar"] for r in recs)
    return "met" if worst < size * 0.1 else "**missed**"


def _graph_md(g: dict[str, Any], h: str) -> tuple[list[str], list[str]]:
    shape = g["shape"]
    n = shape["steps"]
    by = {c: [r for r in g["records"] if r["case"] == c]
          for c in ("validate", "build-cold", "build-warm")}
    val = [r["validate_s"] for r in by["validate"]]
    rows = [
        f"| Building and validating a {n:,}-step graph (`fm.Pipeline(...)` + `build_graph`) "
        f"| {mr(val, secs)} | {LE} {GRAPH_S:g} s | {met(med(val), GRAPH_S)} |",
        *(f"| `pipeline.build()` of it (validation + every step's code fingerprint), {what} "
          f"| {mr(v, secs)} | {LE} {GRAPH_S:g} s if `build()` counts | "
          f"{met(med(v), GRAPH_S) if v else DASH} |"
          for what, v in (("fingerprint memo empty", [r["build_s"] for r in by["build-cold"]]),
                          ("memo filled (a later process)",
                           [r["build_s"] for r in by["build-warm"]]))),
    ]
    lines = [f"{h}# A {n:,}-step graph", "",
             f"The generated module: one source, {shape['chains']} chains of up to "
             f"{shape['chain_length_max']} steps from it, {shape['merges']} merges of "
             f"{shape['merge_width']} chain ends, one total ({g['source_bytes'] / 1024:.0f} KiB "
             "of source, byte-compiled beforehand, every parameter and return annotated "
             "`int`). *Validate* is what infers the graph and raises the `BuildError`s "
             "(`core.graph.build_graph`, which `build()` and `run()` call); `build()`, the "
             "public call that \"validates; runs nothing\", also takes every step's code "
             "fingerprint (`fingerprint_graph`), with the fingerprint memo empty (a first "
             "build) or filled by an earlier process (the module unchanged).", "",
             "| | validate | build(), memo empty | build(), memo filled |",
             "| --- | --- | --- | --- |"]

    def row(what: str, key: str, fmt: Callable[[float], str]) -> str:
        cells = [mr([r[key] for r in by[c] if key in r], fmt) for c in by]
        return f"| {what} | " + " | ".join(cells) + " |"

    lines += [
        row("`import` of the generated module (steps decorated)", "import_module_s", secs),
        row("`fm.Pipeline(...)`", "pipeline_s", secs),
        row("`build_graph` (bind, order, validate)", "build_graph_s", secs),
        row("`pipeline.build()`", "build_s", secs),
        row("`import flowyml`", "import_flowyml_s", secs),
        row("whole process", "wall", secs),
        row("peak RSS", "maxrss_mib", lambda v: f"{v:.0f} MiB"), "",
    ]
    return rows, lines


def _cli_md(c: dict[str, Any], h: str) -> tuple[list[str], list[str]]:
    walls = {k: [r["wall"] for r in c["records"] if r["command"] == k]
             for k in ("runs", "plan", "help", "import", "python")}
    rss = {k: [r["maxrss_mib"] for r in c["records"] if r["command"] == k] for k in walls}
    rows = [
        f"| `flowyml runs`, whole process ({c['runs_listed']} runs of a {CHAIN}-step chain "
        f"in the catalog) | {mr(walls['runs'], secs)} | {LE} {CLI_S} s "
        f"| {met(med(walls['runs']), CLI_S)} |",
        f"| `flowyml plan chain200.py`, whole process ({c['plan_reused']} steps to reuse) "
        f"| {mr(walls['plan'], secs)} | {LE} {CLI_S} s "
        f"| {met(med(walls['plan']), CLI_S)} |",
    ]
    labels = {"runs": "`flowyml runs`", "plan": "`flowyml plan chain200.py`",
              "help": "`flowyml --help` (the CLI's start-up alone)",
              "import": "`python -c \"import flowyml\"`", "python": "`python -c pass`"}
    lines = [f"{h}# `flowyml runs` and `flowyml plan`", "",
             f"In a project whose {CHAIN}-step chain ran twice (`flowyml run chain200.py`: "
             "a first run and a cached rerun), `.venv/bin/flowyml ...` with the project as the "
             "current directory, as a user types it; wall time as the runner sees it "
             "(fork to `wait4`), after one untimed call of each command; the commands "
             "interleaved, their order rotated per repetition.", "",
             "| Command | Whole process | Peak RSS |", "| --- | --- | --- |"]
    for k, label in labels.items():
        lines.append(f"| {label} | {mr(walls[k], secs)} "
                     f"| {mr(rss[k], lambda v: f'{v:.0f} MiB')} |")
    lines.append("")
    return rows, lines


def _open_md(o: dict[str, Any], h: str) -> tuple[list[str], list[str]]:
    cases = {"runtime-fresh": "`open_runtime_catalog()` (a run, `flowyml runs`), fresh "
                              "project: schema created",
             "runtime-existing": "`open_runtime_catalog()`, existing catalog",
             "full-fresh": "`open_catalog()` (full catalog: `artifacts`, `lineage`, the web "
                           "page), fresh project",
             "full-existing": "`open_catalog()`, existing catalog"}
    by = {c: [r for r in o["records"] if r["case"] == c] for c in cases}
    rows = []
    for c, label in cases.items():
        v = [r["open_s"] for r in by[c]]
        rows.append(f"| First catalog open: {label} | {mr(v, ms)} | {LE} "
                    f"{OPEN_S * 1000:.0f} ms | {met(med(v), OPEN_S) if v else DASH} |")
    lines = [f"{h}# The first catalog open", "",
             "In process, in a fresh process after `import flowyml`: `as_stack(None)` (the "
             "stack's resolution: `flowyml.toml`, the environment), then the catalog's first "
             "open (its modules' imports, the connection, the schema's creation or check). "
             f"The existing catalog is the cli project's ({o['existing_runs']} runs of the "
             f"{CHAIN}-step chain).", "",
             "| Case | open | resolve the stack | modules imported by the open | SQLAlchemy "
             "imported | whole process |", "| --- | --- | --- | --- | --- | --- |"]
    for c in cases:
        rs = by[c]
        sa = sorted({"yes" if r["sqlalchemy"] else "no" for r in rs})
        lines.append(f"| {c} | {mr([r['open_s'] for r in rs], ms)} "
                     f"| {mr([r['resolve_s'] for r in rs], ms)} "
                     f"| {mr([float(r['modules_open']) for r in rs], lambda v: f'{v:.0f}')} "
                     f"| {'/'.join(sa) or DASH} | {mr([r['wall'] for r in rs], secs)} |")
    lines.append("")
    return rows, lines


def write_results(data: dict[str, Any]) -> None:
    OUT_MD.write_text(markdown(data, level=1))
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
    section = f"{START}\n{markdown(data, level=2)}{END}"
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS_MD.write_text(text)


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections of {', '.join(SECTIONS)}")
    ap.add_argument("--size-mb", type=int, default=1024, help="the big array, MiB (1024)")
    ap.add_argument("--steps", type=int, default=10_000, help="the graph's steps (10000)")
    ap.add_argument("--no-markdown", action="store_true",
                    help="write only the JSON, not targets.md and RESULTS.md")
    ap.add_argument("--from-json", type=Path, help="only render a results.json again")
    args = ap.parse_args(argv)
    if args.from_json:
        write_results(json.loads(args.from_json.read_text()))
        return 0
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown or args.reps < 1:
        ap.error(f"unknown sections {sorted(unknown)}" if unknown else "--reps must be >= 1")
    if not PYTHON.exists():
        ap.error(f"{PYTHON} not found: create the project venv first (make demo)")
    started = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    WORK.mkdir(parents=True, exist_ok=True)
    global _cli_project
    _cli_project = None
    if "open" in only or "cli" in only:
        shutil.rmtree(WORK / "cli", ignore_errors=True)
    meta: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(), "cores": os.cpu_count(), "ram": ram_gib(),
        "platform": platform.platform(), "fs": filesystem(WORK), "venv": venv_versions(),
        "git": git_rev(), "reps": args.reps, "load_start": loadavg(),
        "command": "benchmarks/targets.py " + " ".join(
            argv if argv is not None else sys.argv[1:]),
    }
    meta["command"] = meta["command"].strip()
    results: dict[str, Any] = {}
    for section in SECTIONS:
        if section in only:
            load = loadavg()
            results[section] = BENCHES[section](args, log)
            results[section]["load_at_start"] = load
    meta["load_end"] = loadavg()
    meta["elapsed_s"] = time.monotonic() - started
    data = {"meta": meta, "results": results}
    JSON_OUT.write_text(json.dumps(data, indent=1, default=str) + "\n")
    if not args.no_markdown:
        write_results(data)
    print(markdown(data))
    log(f"wrote {OUT_MD.relative_to(REPO)}, the targets section of "
        f"{RESULTS_MD.relative_to(REPO)} and {JSON_OUT.relative_to(REPO)}"
        if not args.no_markdown else f"wrote {JSON_OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
