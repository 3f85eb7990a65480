#!/usr/bin/env python3
"""FlowyML benchmark suite: the same workloads through FlowyML and its peers.

    python benchmarks/run.py                  # full run -> benchmarks/RESULTS.md + results.json
    python benchmarks/run.py --quick          # 1 repetition, small sizes -> benchmarks/.work/quick/
    python benchmarks/run.py --only flowyml,hamilton --workloads W1,W3
    python benchmarks/run.py --setup-only     # just create/refresh the peer venvs

Every peer is installed into its own virtualenv under benchmarks/.venvs/<tool> from the
pinned benchmarks/requirements/<tool>.txt (re-installed only when that file changes);
FlowyML itself runs from the project venv (.venv). Each (tool, workload, case) is a
fresh process of that tool's python running benchmarks/tools/bench_<tool>.py in a fresh
work dir under benchmarks/.work/, printing one JSON line. Tools are interleaved within
each repetition (the order rotates per repetition) so ratios to FlowyML are taken pair
by pair on this noisy machine. Standard library only.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENVS = BENCH / ".venvs"
WORK = BENCH / ".work"
TOOLS_DIR = BENCH / "tools"
TEMPLATES = BENCH / "templates"
REQS = BENCH / "requirements"
# Hand-written profile notes for the targets FlowyML misses, appended to RESULTS.md.
PROFILES = BENCH / "profiles.md"
RESULT_PREFIX = "BENCH_RESULT "
OURS = "flowyml"
NA = "\u2013"


# --------------------------------------------------------------------------- tools


@dataclass
class Tool:
    key: str
    label: str
    dist: str  # distribution name whose version is reported
    idiom: str
    python: Path = field(default=Path())
    version: str = "?"
    error: str | None = None  # set when the tool cannot be used in this run

    @property
    def script(self) -> Path:
        return TOOLS_DIR / f"bench_{self.key}.py"


TOOLS: dict[str, Tool] = {
    t.key: t
    for t in [
        Tool("flowyml", "FlowyML", "flowyml-core",
             "`@fm.step` + `fm.Pipeline(...).run()`, default store + SQLite catalog"),
        Tool("hamilton", "Hamilton", "apache-hamilton",
             "`driver.Builder().with_modules(m)[.with_cache()].build().execute()`"),
        Tool("kedro", "Kedro", "kedro",
             "`Pipeline([node(...)])` + `SequentialRunner().run(p, DataCatalog())`, logging off"),
        Tool("dagster", "Dagster", "dagster", "`@asset` + `materialize([...])` in process"),
        Tool("prefect", "Prefect", "prefect",
             "`@flow`/`@task(cache_policy=INPUTS + TASK_SOURCE)`, ephemeral server, logging off"),
        Tool("flowyml2", "FlowyML 2.x", "flowyml",
             "`@step(inputs=, outputs=)` + `Pipeline.from_steps(...).run(auto_start_ui=False)`"),
    ]
}


def tool_env(tool: Tool, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLOWYML_", "PREFECT_", "DAGSTER_", "KEDRO_", "HAMILTON_"))
           and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE")}
    env["DO_NOT_TRACK"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    env["VIRTUAL_ENV"] = str(tool.python.parent.parent)
    env["PATH"] = f"{tool.python.parent}{os.pathsep}{env.get('PATH', '')}"
    if tool.key == "prefect":
        env.update(
            PREFECT_HOME=str(workdir / ".prefect"),
            PREFECT_LOGGING_LEVEL="WARNING",
            PREFECT_LOGGING_TO_API_ENABLED="false",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
        )
    elif tool.key == OURS:
        # the benchmark's own fingerprint memo, emptied per run: a first run parses every
        # step's source (code never seen), whatever earlier runs left in the user's
        env["FLOWYML_FINGERPRINT_MEMO"] = str(WORK / "flowyml_memo")
    elif tool.key == "flowyml2":
        env["FLOWYML_HOME"] = str(workdir / ".flowyml_home")
    elif tool.key == "kedro":
        env["KEDRO_DISABLE_TELEMETRY"] = "true"
    elif tool.key == "hamilton":
        env["HAMILTON_TELEMETRY_ENABLED"] = "false"
    return env


def _query(python: Path, code: str, timeout: float = 120) -> tuple[bool, str]:
    try:
        p = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                           timeout=timeout, cwd=str(WORK))
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return p.returncode == 0, (p.stdout.strip() if p.returncode == 0 else p.stderr.strip())


def setup_tool(tool: Tool, log) -> None:
    """Find or build the tool's interpreter; set tool.python/version or tool.error."""
    if tool.key == OURS:
        tool.python = REPO / ".venv" / "bin" / "python"
        if not tool.python.exists():
            tool.error = "project venv .venv not found (install the project first)"
            return
        ok, out = _query(tool.python, "import flowyml as fm; fm.Pipeline; fm.step")
        if not ok:
            last = out.splitlines()[-1] if out else ""
            tool.error = f"`import flowyml` failed in .venv: {last}"
            return
    else:
        req = REQS / f"{tool.key}.txt"
        venv = VENVS / tool.key
        tool.python = venv / "bin" / "python"
        stamp = venv / ".bench-requirements"
        want = req.read_text()
        if not (tool.python.exists() and stamp.exists() and stamp.read_text() == want):
            log(f"[setup] installing {tool.label} into {venv.relative_to(REPO)} ...")
            try:
                if not tool.python.exists():
                    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                                   capture_output=True, text=True)
                p = subprocess.run(
                    [str(tool.python), "-m", "pip", "install", "--disable-pip-version-check",
                     "-q", "-r", str(req)], capture_output=True, text=True, timeout=1800)
            except (OSError, subprocess.SubprocessError) as e:
                tool.error = f"could not create venv: {e}"
                return
            if p.returncode != 0:
                errs = [ln for ln in p.stderr.splitlines() if "ERROR" in ln] or \
                    p.stderr.splitlines()[-3:]
                tool.error = "pip install failed: " + " | ".join(errs)[:400]
                return
            stamp.write_text(want)
    ok, out = _query(tool.python, "import importlib.metadata as m, numpy; "
                     f"print(m.version({tool.dist!r}), numpy.__version__)")
    if ok:
        tool.version, numpy_version = out.split()[:2]
        tool.idiom += f" (numpy {numpy_version})"
    else:
        tool.error = f"installed but its version could not be read: {out[-200:]}"


# --------------------------------------------------------------------------- sizes & cases


@dataclass
class Sizes:
    chain: int
    fanout: int
    w2_n: int  # float64 elements of the W2 array
    w2_passes: int
    w4_bytes: int
    w5_n: int  # float64 elements of the W5 artifact
    w6_mb: float = 500  # MiB of the W6 shared array


FULL = Sizes(chain=200, fanout=1000, w2_n=13_107_200, w2_passes=30, w4_bytes=1 << 30,
             w5_n=134_217_728, w6_mb=500)
QUICK = Sizes(chain=50, fanout=100, w2_n=1_638_400, w2_passes=30, w4_bytes=128 << 20,
              w5_n=16_777_216, w6_mb=64)
W6_SCRIPT = BENCH / "w6_shared_input.py"

# W2: cumulative edits of the pipeline module, applied in order between processes.
# (case, edits, (factor, offset) of the expected result, steps an ideal cache re-executes)
W2_CASES: list[tuple[str, list[tuple[str, str]], tuple[int, int], list[str]]] = [
    ("cold", [], (2, 1), ["load", "transform", "train"]),
    ("unchanged", [], (2, 1), []),
    ("comment", [("    y = _scale(raw) + 1.0\n",
                  "    # shift so every value stays positive\n    y = _scale(raw) + 1.0\n")],
     (2, 1), []),
    ("noop", [("y = _scale(raw) + 1.0", "y = 1.0 + _scale(raw)")], (2, 1), ["transform"]),
    ("real", [("y = 1.0 + _scale(raw)", "y = 3.0 + _scale(raw)")], (2, 3),
     ["transform", "train"]),
    ("helper", [("return x * 2.0", "return x * 5.0")], (5, 3), ["transform", "train"]),
]
W2_CASE_TEXT = {
    "cold": "first run in an empty project",
    "unchanged": "rerun, nothing changed",
    "comment": "a comment added inside `transform`",
    "noop": "`transform` edited, output bytes identical (`x + 1.0` -> `1.0 + x`)",
    "real": "`transform` really changed (`+ 1.0` -> `+ 3.0`)",
    "helper": "the helper `_scale` that `transform` calls changed (`* 2.0` -> `* 5.0`)",
}


PLAIN = "plain"  # W2 case: the cold run in plain Python (FlowyML's module, no decorators)


def w2_expected(n: int, factor: int, offset: int) -> float:
    """sum(factor * (i % 1000) + offset for i < n), exact in float64 at these sizes."""
    q, r = divmod(n, 1000)
    s = q * 499_500 + r * (r - 1) // 2
    return float(factor * s + offset * n)


@dataclass
class Workload:
    key: str
    title: str
    tools: dict[str, str | None]  # tool -> None (runs) or reason it is n/a
    skip: str | None = None


# The slowest (workload, tool) pairs -- tens of seconds to a minute per process, several
# processes per repetition -- run fewer repetitions than ``--reps`` so that a full run
# stays well under 40 minutes on the 2-core benchmark machine (measured: one full
# repetition of everything takes ~10 min, ~7 of them in these pairs). RESULTS.md says so.
# ``--slow-reps N`` sets them all to N.
SLOW: dict[str, dict[str, int]] = {
    "W1": {"dagster": 3, "prefect": 3, "flowyml2": 3},  # 1000-step fan-out: 20-50 s each
    "W2": {"prefect": 2},  # ~20-40 s per process (ephemeral server + hashing 100 MB inputs)
    "W5": {"prefect": 2},  # ~50-60 s per process and ~7 GiB peak on the 1 GiB artifact
    "W6": {"flowyml": 3},  # ~25 s and ~1.5 GB per process (both modes, idle + full array)
}

NO_CACHE = "no cross-run result cache: every run recomputes every step (see W2)"
WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in [
        Workload("W1", "Overhead: trivial steps", dict.fromkeys(TOOLS)),
        Workload("W2", "Cache: load -> transform -> train", dict.fromkeys(TOOLS)),
        Workload("W3", "Import", dict.fromkeys(TOOLS)),
        Workload("W4", "Content hashing vs memcpy",
                 {k: (None if k == OURS else "FlowyML-only workload") for k in TOOLS}),
        Workload("W5", "Lazy: cached rerun over a 1 GiB artifact",
                 {k: (NO_CACHE if k in ("kedro", "dagster") else None) for k in TOOLS}),
        # FlowyML-only; its baseline ("pickled to workers") runs in the same process.
        Workload("W6", "Shared input: two parallel readers of one array",
                 {k: (None if k == OURS else "FlowyML-only workload") for k in TOOLS}),
    ]
}


# --------------------------------------------------------------------------- running


@dataclass
class Record:
    rep: int
    workload: str
    case: str
    tool: str
    ok: bool
    wall_s: float
    peak_rss_mb: float
    data: dict[str, Any]
    error: str | None = None
    status: str = "ok"  # ok | STALE | FAIL


def run_process(tool: Tool, workload: str, params: dict[str, Any], cwd: Path, tag: str,
                timeout: float, cmd: list[str] | None = None
                ) -> tuple[bool, float, float, dict[str, Any], str | None]:
    """Run one tool script (or ``cmd``); return ok, wall seconds, peak RSS MiB, result
    data, error."""
    if cmd is None:
        cmd = [str(tool.python), str(tool.script), workload.lower(), "--params",
               json.dumps(params)]
    out_path, err_path = cwd / f"{tag}.stdout", cwd / f"{tag}.stderr"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=str(cwd), env=tool_env(tool, cwd), stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        killed = []

        def _kill() -> None:
            killed.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, _kill)
        timer.start()
        # wait4 gives this child's own rusage: peak RSS of it and its waited-for children.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    # A tool may leave helpers behind (e.g. a server); end everything in its session.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    peak = usage.ru_maxrss / 1024.0
    data: dict[str, Any] = {}
    for line in out_path.read_text(errors="replace").splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX):])
    if killed:
        return False, wall, peak, data, f"timed out after {timeout:.0f} s"
    if proc.returncode != 0 or not data:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
        return False, wall, peak, data, f"exit {proc.returncode}: " + " | ".join(tail)[-500:]
    return True, wall, peak, data, None


def fresh_dir(*parts: str) -> Path:
    d = WORK.joinpath(*parts)
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / "flowyml.toml").write_text("# project root marker for the FlowyML benchmark\n")
    return d


def render_template(name: str, subs: dict[str, str], edits: list[tuple[str, str]]) -> str:
    text = (TEMPLATES / name).read_text()
    for old, new in list(subs.items()) + edits:
        if old not in text:
            raise RuntimeError(f"template {name}: {old!r} not found")
        text = text.replace(old, new, 1)
    return text


def write_pipeline(d: Path, module: str, text: str) -> None:
    (d / f"{module}.py").write_text(text)
    shutil.rmtree(d / "__pycache__", ignore_errors=True)  # never import a stale .pyc


class Runner:
    def __init__(self, args, tools: list[Tool], workloads: list[str], sizes: Sizes,
                 run_dir: str):
        self.args = args
        self.tools = tools
        self.workloads = workloads
        self.sizes = sizes
        self.run_dir = run_dir
        self.records: list[Record] = []
        self.started = time.monotonic()

    def log(self, msg: str) -> None:
        el = time.monotonic() - self.started
        print(f"[{el:7.1f}s] {msg}", file=sys.stderr, flush=True)

    def reps_of(self, wl: str, tool: str) -> int:
        cap = SLOW.get(wl, {}).get(tool)
        if cap is None:
            return self.args.reps
        return min(self.args.reps, self.args.slow_reps or cap)

    def order(self, rep: int, wl: str) -> list[Tool]:
        keys = [k for k, why in WORKLOADS[wl].tools.items() if why is None]
        tools = [t for t in self.tools if t.key in keys and t.error is None
                 and rep < self.reps_of(wl, t.key)]
        k = rep % len(tools) if tools else 0
        return tools[k:] + tools[:k]

    def one(self, rep: int, wl: str, case: str, tool: Tool, params: dict, cwd: Path,
            tag: str, cmd: list[str] | None = None) -> Record:
        ok, wall, peak, data, err = run_process(tool, wl, params, cwd, tag, self.args.timeout,
                                                cmd)
        rec = Record(rep, wl, case, tool.key, ok, wall, peak, data, err,
                     "ok" if ok else "FAIL")
        if ok and "correct" in data and not data["correct"]:
            rec.status = "WRONG"
        self.records.append(rec)
        note = rec.status if rec.status != "ok" else ""
        self.log(f"rep {rep + 1} {wl} {case:<10} {tool.label:<12} {wall:8.3f}s "
                 f"{peak:7.1f} MiB {note} {err or ''}".rstrip())
        return rec

    # --- workloads
    def w1(self, rep: int) -> None:
        for shape, n in (("chain", self.sizes.chain), ("fanout", self.sizes.fanout)):
            for tool in self.order(rep, "W1"):
                d = fresh_dir(self.run_dir, "W1", shape, tool.key, f"rep{rep}")
                self.one(rep, "W1", shape, tool, {"shape": shape, "n": n}, d, "run")
                self.cleanup(d)

    def w2(self, rep: int) -> None:
        tools = self.order(rep, "W2")
        dirs = {t.key: fresh_dir(self.run_dir, "W2", t.key, f"rep{rep}") for t in tools}
        subs = {"N = 13_107_200": f"N = {self.sizes.w2_n:_}",
                "PASSES = 30": f"PASSES = {self.sizes.w2_passes}"}
        edits: list[tuple[str, str]] = []
        for case, case_edits, (factor, offset), _ideal in W2_CASES:
            edits += case_edits
            expected = w2_expected(self.sizes.w2_n, factor, offset)
            for tool in tools:
                d = dirs[tool.key]
                write_pipeline(d, "pipeline_w2", render_template(f"w2_{tool.key}.py", subs, edits))
                rec = self.one(rep, "W2", case, tool, {}, d, case)
                rec.data["expected"] = expected
                if rec.ok and rec.data.get("value") != expected:
                    rec.status = "STALE"
                    self.log(f"      -> STALE: got {rec.data.get('value')} expected {expected}")
        for d in dirs.values():
            self.cleanup(d)
        if any(t.key == OURS for t in tools):
            self.w2_plain(rep, subs)

    def w2_plain(self, rep: int, subs: dict[str, str]) -> None:
        """The cold case without a framework: FlowyML's W2 module with its decorators and
        pipeline removed, run by the project venv's python (the "plain Python" baseline)."""
        ours = TOOLS[OURS]
        d = fresh_dir(self.run_dir, "W2", "plain", f"rep{rep}")
        text = render_template("w2_flowyml.py", subs, [])
        keep = [ln for ln in text.splitlines() if not ln.startswith(
            ("@fm.step", "import flowyml", "pipeline = fm.Pipeline"))]
        write_pipeline(d, "pipeline_w2", "\n".join(keep) + "\n")
        cmd = [str(ours.python), str(ours.script), "w2plain", "--params", "{}"]
        rec = self.one(rep, "W2", PLAIN, ours, {}, d, "plain", cmd)
        cold = [r for r in self.records if r.rep == rep and r.workload == "W2"
                and r.case == "cold" and r.tool == OURS and r.ok]
        if cold:  # its pair: FlowyML's cold run of the same repetition
            rec.data["paired_cold_wall_s"] = cold[-1].wall_s
        expected = w2_expected(self.sizes.w2_n, *W2_CASES[0][2])
        rec.data["expected"] = expected
        if rec.ok and rec.data.get("value") != expected:
            rec.status = "STALE"
        self.cleanup(d)

    def w3(self, rep: int) -> None:
        for tool in self.order(rep, "W3"):
            d = fresh_dir(self.run_dir, "W3", tool.key, f"rep{rep}")
            self.one(rep, "W3", "import", tool, {}, d, "run")
            self.cleanup(d)

    def w4(self, rep: int) -> None:
        for tool in self.order(rep, "W4"):
            d = fresh_dir(self.run_dir, "W4", tool.key, f"rep{rep}")
            self.one(rep, "W4", "hash", tool, {"size": self.sizes.w4_bytes}, d, "run")
            self.cleanup(d)

    def w5(self, rep: int) -> None:
        tools = self.order(rep, "W5")
        dirs = {t.key: fresh_dir(self.run_dir, "W5", t.key, f"rep{rep}") for t in tools}
        expected = 0.5 * self.sizes.w5_n
        for tool in tools:
            write_pipeline(dirs[tool.key], "pipeline_w5", render_template(
                f"w5_{tool.key}.py", {"N = 134_217_728": f"N = {self.sizes.w5_n:_}"}, []))
        for case in ("cold", "rerun"):
            for tool in tools:
                rec = self.one(rep, "W5", case, tool, {}, dirs[tool.key], case)
                rec.data["expected"] = expected
                if rec.ok and rec.data.get("value") != expected:
                    rec.status = "STALE"
        for d in dirs.values():
            self.cleanup(d)

    def w6(self, rep: int) -> None:
        # benchmarks/w6_shared_input.py measures both modes (FlowyML, and the array
        # pickled to a spawn ProcessPoolExecutor) in one process, in its own project.
        for tool in self.order(rep, "W6"):
            d = fresh_dir(self.run_dir, "W6", tool.key, f"rep{rep}")
            cmd = [str(tool.python), str(W6_SCRIPT), "--size-mb", f"{self.sizes.w6_mb:g}",
                   "--json", "--workdir", str(d / "project")]
            rec = self.one(rep, "W6", "shared", tool, {}, d, "run", cmd)
            if rec.ok and not (rec.data.get("flowyml") or {}).get("correct", True):
                rec.status = "WRONG"
            self.cleanup(d)

    def cleanup(self, d: Path) -> None:
        if not self.args.keep_work:
            shutil.rmtree(d, ignore_errors=True)

    def run(self) -> None:
        for rep in range(self.args.reps):
            for wl in self.workloads:
                if WORKLOADS[wl].skip:
                    continue
                getattr(self, wl.lower())(rep)


# --------------------------------------------------------------------------- summary


def stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def metric_of(rec: Record, metric: str) -> float | None:
    d = rec.data
    if metric in ("wall_s", "peak_rss_mb"):
        return getattr(rec, metric)
    if metric == "per_step_ms":
        n = d.get("steps")
        return d["inproc_s"] / n * 1000 if n and "inproc_s" in d else None
    if metric == "store_bytes_read":
        io = d.get("io")
        if isinstance(io, dict):
            return float(io.get("store_bytes_read", 0) + io.get("cache_bytes_read", 0))
        return None
    v: Any = d
    for part in metric.split("."):  # "flowyml.uss_sum_mb" -> d["flowyml"]["uss_sum_mb"]
        v = v.get(part) if isinstance(v, dict) else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


W6_MODES = ("flowyml", "pickled")
W6_KEYS = ("uss_sum_mb", "idle_uss_sum_mb", "uss_above_idle_mb", "store_objects_read",
           "store_bytes_read_mb", "cache_objects_read", "seconds")
METRICS = {
    "W1": ["inproc_s", "per_step_ms", "wall_s", "peak_rss_mb"],
    "W2": ["wall_s", "run_s", "peak_rss_mb"],
    "W3": ["import_s", "wall_s"],
    "W4": ["hash_gib_s", "copy_gib_s", "ratio"],
    "W5": ["wall_s", "run_s", "rchar_run", "store_bytes_read", "peak_rss_mb"],
    "W6": ["wall_s", "peak_rss_mb"] + [f"{mode}.{k}" for mode in W6_MODES for k in W6_KEYS],
}
RATIO_METRIC = {"W1": "inproc_s", "W2": "wall_s", "W3": "import_s", "W5": "wall_s"}


def summarize(records: list[Record], sizes: Sizes) -> dict[str, Any]:
    for r in records:  # derived per-record fields
        if r.workload == "W1" and r.ok:
            n = sizes.chain if r.case == "chain" else sizes.fanout + 2
            r.data["steps"] = n
    groups: dict[tuple[str, str, str], list[Record]] = collections.defaultdict(list)
    for r in records:
        groups[(r.workload, r.case, r.tool)].append(r)
    out: dict[str, Any] = {}
    for (wl, case, tool), recs in groups.items():
        good = [r for r in recs if r.ok]
        entry: dict[str, Any] = {"runs": len(recs), "ok_runs": len(good),
                                 "errors": sorted({r.error for r in recs if r.error})}
        for m in METRICS.get(wl, []):
            s = stats([v for r in good if (v := metric_of(r, m)) is not None])
            if s:
                entry[m] = s
        statuses = collections.Counter(r.status for r in recs)
        entry["status"] = dict(statuses)
        if any(r.data.get("separate_run") for r in recs):
            entry["separate_run"] = True
        ios = [io.get("store_objects_read", 0) + io.get("cache_objects_read", 0)
               for r in good if isinstance(io := r.data.get("io"), dict)]
        if ios:
            entry["objects_read_in_run"] = ios
        execs = collections.Counter(",".join(r.data.get("executed", [])) for r in good
                                    if "executed" in r.data)
        if execs:
            entry["executed"] = dict(execs)
        # Pairwise ratios to FlowyML within the same repetition.
        rm = RATIO_METRIC.get(wl)
        if wl == "W2" and case == PLAIN:  # FlowyML's cold run ÷ plain Python
            s = stats([r.data["paired_cold_wall_s"] / r.wall_s for r in good
                       if r.data.get("paired_cold_wall_s")])
            if s:
                entry["flowyml_over_plain"] = {"metric": "wall_s", **s}
        elif rm and tool != OURS:
            ours = {r.rep: r for r in groups.get((wl, case, OURS), []) if r.ok}
            ratios = []
            for r in good:
                o = ours.get(r.rep)
                a, b = metric_of(r, rm), (metric_of(o, rm) if o else None)
                if a is not None and b:
                    ratios.append(a / b)
            s = stats(ratios)
            if s:
                entry["ratio_to_flowyml"] = {"metric": rm, **s}
        out.setdefault(wl, {}).setdefault(case, {})[tool] = entry
    return out


# --------------------------------------------------------------------------- report


def fmt_s(v: float) -> str:
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_stat(s: dict | None, fmt=fmt_s, unit: str = "") -> str:
    if not s:
        return "\u2013"
    lo, mid, hi = fmt(s["min"]), fmt(s["median"]), fmt(s["max"])
    if s["n"] == 1 or lo == hi:
        return f"{mid}{unit}"
    return f"{mid}{unit} ({lo}\u2013{hi})"


def fmt_mb(v: float) -> str:
    return f"{v:.0f}"


def fmt_bytes(v: float) -> str:
    for unit, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if v >= div:
            return f"{v / div:.1f} {unit}"
    return f"{v:.0f} B"


def fmt_ratio(e: dict) -> str:
    r = e.get("ratio_to_flowyml")
    if not r:
        return "\u2013"
    if r["n"] == 1 or r["min"] == r["max"]:
        return f"{r['median']:.2f}\u00d7"
    return f"{r['median']:.2f}\u00d7 ({r['min']:.2f}\u2013{r['max']:.2f})"


def status_text(e: dict) -> str:
    st = e.get("status", {})
    bad = {k: v for k, v in st.items() if k != "ok"}
    if not bad:
        return "correct"
    return ", ".join(f"**{k}** {v}/{e['runs']}" for k, v in sorted(bad.items()))


def executed_text(e: dict) -> str:
    ex = e.get("executed")
    if not ex:
        return "\u2013"
    if len(ex) == 1:
        return next(iter(ex)) or "none"
    return " / ".join(f"{k or 'none'} \u00d7{v}" for k, v in sorted(ex.items(), key=lambda kv: -kv[1]))


def na_reason(wl: str, tool: Tool) -> str | None:
    if tool.error:
        return f"unavailable: {tool.error}"
    return WORKLOADS[wl].tools.get(tool.key)


def report(meta: dict, summary: dict, tools: list[Tool], workloads: list[str], sizes: Sizes,
           quick: bool) -> tuple[str, list[dict]]:
    L: list[str] = []
    targets: list[dict] = []
    add = L.append

    def get(wl, case, tool=OURS):
        return summary.get(wl, {}).get(case, {}).get(tool)

    add("# FlowyML benchmark results")
    add("")
    add(f"Generated by `python benchmarks/run.py{' --quick' if quick else ''}` on "
        f"{meta['date']} ({meta['duration_s'] / 60:.1f} min).")
    add("")
    add(f"- Machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, "
        f"{meta['machine']['mem_gib']:.0f} GiB RAM; `{meta['machine']['uname']}`")
    add(f"- Python {meta['machine']['python']}; FlowyML at `{meta['git']}`")
    add(f"- Repetitions: {meta['reps']} fresh processes per (tool, workload, case)"
        + (" — **quick mode: 1 repetition and small sizes; not a verdict on targets**"
           if quick else ""))
    add("- Each figure is the median over repetitions, with min\u2013max in parentheses. "
        "Ratios are *tool ÷ FlowyML*, taken pair by pair within the same repetition "
        "(the tools are interleaved and their order rotates per repetition), then the "
        "median (min\u2013max) of those ratios; > 1\u00d7 means FlowyML is faster/smaller.")
    add("- Peak memory is the peak RSS of the whole process (and any helper processes "
        "it waited for), from `wait4`.")
    add("")
    add("| Tool | Version | Used as |")
    add("| --- | --- | --- |")
    for t in tools:
        add(f"| {t.label} | {t.version if not t.error else 'n/a'} | "
            f"{t.idiom if not t.error else 'unavailable: ' + t.error} |")
    add("")

    # Targets first: where FlowyML stands.
    def target(name: str, value: float | None, ok: bool | None, shown: str,
               met_text: str | None = None) -> None:
        targets.append({"target": name, "value": value, "met": ok, "shown": shown,
                        "met_text": met_text})

    if "W1" in workloads:
        e = get("W1", "chain")
        v = e and e.get("per_step_ms", {}).get("median")
        target(f"W1 linear chain ({sizes.chain} steps): < 0.3 ms per step", v,
               None if v is None else v < 0.3, "\u2013" if v is None else f"{v:.3f} ms/step")
        e = get("W1", "fanout")
        v = e and e.get("inproc_s", {}).get("median")
        target(f"W1 fan-out ({sizes.fanout} steps): < 0.5 s", v,
               None if v is None else v < 0.5, "\u2013" if v is None else f"{v:.3f} s")
    if "W2" in workloads:
        e = get("W2", "unchanged")
        v = e and e.get("wall_s", {}).get("median")
        target("W2 unchanged rerun: < 0.3 s whole process", v,
               None if v is None else v < 0.3, "\u2013" if v is None else f"{v:.3f} s")
        e = get("W2", "unchanged")
        io = (e or {}).get("objects_read_in_run", [])
        target("W2 unchanged rerun: no artifact loaded beyond the one printed", None,
               None if not io else max(io) == 0, "\u2013" if not io else
               f"{max(io):.0f} objects read during run() (the printed value loads on access)")
        e = get("W2", PLAIN)
        r = e and e.get("flowyml_over_plain")
        target("W2 first run within 1.2\u00d7 of plain Python", r and r["median"],
               None if not r else r["median"] <= 1.2, "not measured in this run" if not r
               else f"{r['median']:.2f}\u00d7 ({r['min']:.2f}\u2013{r['max']:.2f})")
        for case, want, label in (("comment", "", "W2 comment edit: a cache hit"),
                                  ("noop", "transform",
                                   "W2 no-op edit: re-executes transform only")):
            ex = (get("W2", case) or {}).get("executed")
            target(label, None, None if not ex else set(ex) == {want}, "\u2013" if not ex
                   else executed_text(get("W2", case)))
        bad = [c for c, *_ in W2_CASES if (e := get("W2", c)) and status_text(e) != "correct"]
        have = any(get("W2", c) for c, *_ in W2_CASES)
        target("W2 every case returns the correct (never stale) value", None,
               None if not have else not bad, "all correct" if have and not bad
               else ("\u2013" if not have else "wrong in: " + ", ".join(bad)))
    if "W3" in workloads:
        e = get("W3", "import")
        v = e and e.get("import_s", {}).get("median")
        target("W3 import: < 0.15 s", v, None if v is None else v < 0.15,
               "\u2013" if v is None else f"{v:.3f} s")
    if "W4" in workloads:
        e = get("W4", "hash")
        v = e and e.get("ratio", {}).get("median")
        target("W4 hashing a big object (every core): ≥ 80% of memcpy", v,
               None if v is None else v >= 0.80, "\u2013" if v is None else f"{v * 100:.0f}%")
    if "W5" in workloads:
        e = get("W5", "rerun")
        br = e and (e.get("store_bytes_read") or e.get("rchar_run"))
        v = br and br["median"]
        target("W5 cached rerun: 0 bytes read from the store", v,
               None if v is None else v == 0, "\u2013" if v is None else fmt_bytes(v))
        v = e and e.get("peak_rss_mb", {}).get("median")
        target("W5 cached rerun: peak memory < 100 MB", v,
               None if v is None else v * 2**20 < 100e6, "\u2013" if v is None else f"{v:.0f} MiB")
    if "W6" in workloads:
        e = get("W6", "shared") or {}
        v = e.get("flowyml.uss_above_idle_mb", {}).get("median")
        limit = 0.10 * sizes.w6_mb
        target(f"W6 workers' private memory for the shared array: < 10% of its size "
               f"(< {limit:.0f} MiB of {sizes.w6_mb:g} MiB)", v,
               None if v is None else v < limit, "\u2013" if v is None else f"{v:.1f} MiB")
        v = e.get("flowyml.store_objects_read", {}).get("median")
        target("W6 store read once", v, None, "\u2013" if v is None else
               f"{v:.0f} object reads (local folder store)",
               None if v is None else "n/a locally: one map per worker, one copy in memory "
               "(see W6)")

    add("## FlowyML against its targets")
    add("")
    add("| Target | FlowyML (median) | Met? |")
    add("| --- | --- | --- |")
    for t in targets:
        met = t.get("met_text") or (
            "not measured" if t["met"] is None else ("yes" if t["met"] else "**MISSED**"))
        add(f"| {t['target']} | {t['shown']} | {met} |")
    missed = [t["target"] for t in targets if t["met"] is False]
    add("")
    if missed:
        add("FlowyML misses: " + "; ".join(missed) + "."
            + (" Why: see the profiles at the end." if PROFILES.exists() and not quick
               else ""))
    elif targets:
        add("FlowyML meets every measured target.")
    add("")

    def na_rows(wl: str, ncols: int) -> None:
        for t in tools:
            why = na_reason(wl, t)
            if why:
                add(f"| {t.label} | n/a: {why} |" + " |" * (ncols - 2))

    if "W1" in workloads:
        add("## W1 — overhead of trivial steps")
        add("")
        add(f"A linear chain of {sizes.chain} steps (`a_i = a_(i-1) + 1`) and a fan-out of "
            f"{sizes.fanout} independent steps between one source and one sink "
            f"({sizes.fanout + 2} steps), step functions generated into a module. *In-process* "
            "is the time from importing that module through building and running the "
            "pipeline to holding the final value (the library import itself is W3); "
            "*per step* divides it by the number of steps. Every run is in a fresh project. "
            "FlowyML's fingerprint memo (what each function's source says, kept across "
            "processes) is a folder of this benchmark's own, empty at the start of a "
            "benchmark run, and each repetition's project is new to it: its first runs here "
            "parse every step's source, as for code it never saw. `chain_rerun.md` also "
            "gives the first run of code the memo knows (a fresh `.flowyml` for code run "
            "before).")
        add("")
        for shape in ("chain", "fanout"):
            add(f"**{shape}**")
            add("")
            add("| Tool | In-process s | Per step ms | Ratio | Whole process s | Peak MiB | Result |")
            add("| --- | --- | --- | --- | --- | --- | --- |")
            for t in tools:
                e = get("W1", shape, t.key)
                if na_reason("W1", t) or not e:
                    continue
                add(f"| {t.label} | {fmt_stat(e.get('inproc_s'))} | "
                    f"{fmt_stat(e.get('per_step_ms'), lambda v: f'{v:.3f}')} | {fmt_ratio(e)} | "
                    f"{fmt_stat(e.get('wall_s'))} | {fmt_stat(e.get('peak_rss_mb'), fmt_mb)} | "
                    f"{status_text(e)}{errors_text(e)} |")
            na_rows("W1", 7)
            add("")

    if "W2" in workloads:
        add("## W2 — caching across edits")
        add("")
        add(f"`load` builds a {sizes.w2_n * 8 / 2**20:.0f} MiB float64 array, `transform` does "
            f"{'~1 s of ' if sizes.w2_n == FULL.w2_n else ''}numpy work on it "
            f"({sizes.w2_passes} in-place square/sqrt passes after "
            "calling the helper `_scale`), `train` reduces it to one float. The cases run in "
            "order in one project per tool, each in a new process, and each edit is a real "
            "rewrite of the pipeline module on disk. *Executed* lists the step bodies that "
            "actually ran; a final value that differs from the one the current code "
            "computes is **STALE**. Wall time is the whole process. Tools without a "
            "cross-run cache (Kedro, Dagster `materialize`) recompute everything every time.")
        add("")
        for case, _e, _x, ideal in W2_CASES:
            add(f"**{case}** — {W2_CASE_TEXT[case]}; a perfect cache executes: "
                f"{', '.join(ideal) or 'nothing'}")
            add("")
            add("| Tool | Wall s | Ratio | Executed | Peak MiB | Final value |")
            add("| --- | --- | --- | --- | --- | --- |")
            for t in tools:
                e = get("W2", case, t.key)
                if na_reason("W2", t) or not e:
                    continue
                add(f"| {t.label} | {fmt_stat(e.get('wall_s'))} | {fmt_ratio(e)} | "
                    f"{executed_text(e)} | {fmt_stat(e.get('peak_rss_mb'), fmt_mb)} | "
                    f"{status_text(e)}{errors_text(e)} |")
            p = get("W2", PLAIN) if case == "cold" else None
            if p:
                r = p.get("flowyml_over_plain")
                label = "Plain Python (no framework" + (
                    "; separate run, see Notes)" if p.get("separate_run") else ")")
                add(f"| {label} | {fmt_stat(p.get('wall_s'))} | "
                    f"{'FlowyML ÷ plain: ' + fmt_ratio({'ratio_to_flowyml': r}) if r else NA}"
                    f" | {executed_text(p)} | {fmt_stat(p.get('peak_rss_mb'), fmt_mb)} | "
                    f"{status_text(p)}{errors_text(p)} |")
            na_rows("W2", 6)
            add("")

    if "W3" in workloads:
        add("## W3 — import")
        add("")
        add("In-process time to import what a user needs to define and run a pipeline "
            "(FlowyML `import flowyml` + touching `fm.Pipeline`/`fm.step`; Hamilton "
            "`from hamilton import driver`; Kedro `Pipeline`, `node`, `SequentialRunner`, "
            "`DataCatalog`; Dagster `asset`, `materialize`; Prefect `flow`, `task`; "
            "FlowyML 2.x `Pipeline`, `step`), and the whole process's wall time.")
        add("")
        add("| Tool | Import s | Ratio | Whole process s |")
        add("| --- | --- | --- | --- |")
        for t in tools:
            e = get("W3", "import", t.key)
            if na_reason("W3", t) or not e:
                continue
            add(f"| {t.label} | {fmt_stat(e.get('import_s'))} | {fmt_ratio(e)} | "
                f"{fmt_stat(e.get('wall_s'))}{errors_text(e)} |")
        na_rows("W3", 4)
        add("")

    if "W4" in workloads:
        add("## W4 — content hashing (FlowyML only)")
        add("")
        add(f"BLAKE3 (`blake3` package, on every core from 4 MiB up) over a {fmt_bytes(sizes.w4_bytes)} "
            "array through FlowyML's content-hash function, against `np.copyto` of the same "
            "array into a pre-faulted buffer (the memory-bandwidth ceiling); best of 3 "
            "passes per process.")
        add("")
        add("| Tool | Hash GiB/s | memcpy GiB/s | Hash ÷ memcpy |")
        add("| --- | --- | --- | --- |")
        e = get("W4", "hash")
        if e:
            add(f"| FlowyML | {fmt_stat(e.get('hash_gib_s'), lambda v: f'{v:.2f}')} | "
                f"{fmt_stat(e.get('copy_gib_s'), lambda v: f'{v:.2f}')} | "
                f"{fmt_stat(e.get('ratio'), lambda v: f'{v * 100:.0f}%')}{errors_text(e)} |")
        add("")

    if "W5" in workloads:
        add("## W5 — lazy loading on a cached rerun")
        add("")
        add(f"`make_big` returns a {fmt_bytes(sizes.w5_n * 8)} array, `summarize` reduces it "
            "to a float. A cold run, then an unchanged rerun in a new process, which is what "
            "is measured: *store bytes* are the bytes FlowyML reports reading from its store "
            "and cache during `run()` (`run.io`); *read(2) bytes* is the process's `rchar` "
            "growth during the run call, for every tool: it also counts modules imported "
            "lazily during the run and database reads, and misses mmap'd reads (those show "
            "in peak memory instead).")
        add("")
        add("| Tool | Rerun wall s | Ratio | Executed | Store bytes | read(2) bytes | "
            "Peak MiB | Cold wall s | Cold peak MiB | Final value |")
        add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for t in tools:
            e = get("W5", "rerun", t.key)
            c = get("W5", "cold", t.key) or {}
            if na_reason("W5", t) or not e:
                continue
            add(f"| {t.label} | {fmt_stat(e.get('wall_s'))} | {fmt_ratio(e)} | "
                f"{executed_text(e)} | {fmt_stat(e.get('store_bytes_read'), fmt_bytes)} | "
                f"{fmt_stat(e.get('rchar_run'), fmt_bytes)} | "
                f"{fmt_stat(e.get('peak_rss_mb'), fmt_mb)} | {fmt_stat(c.get('wall_s'))} | "
                f"{fmt_stat(c.get('peak_rss_mb'), fmt_mb)} | {status_text(e)}{errors_text(e)} |")
        na_rows("W5", 10)
        add("")

    if "W6" in workloads:
        add("## W6 — shared input (FlowyML only, against pickling)")
        add("")
        add(f"Two parallel steps each read the same {sizes.w6_mb:g} MiB float64 array on "
            "FlowyML's `processes:2` executor: FlowyML sends the workers the array's hash "
            "and each worker memory-maps the stored `.npy` read-only, so both share the page "
            "cache's single copy. The baseline (*pickled to workers*) runs the same two "
            "readers in a `concurrent.futures.ProcessPoolExecutor` (spawn) with the array "
            "pickled to each worker, the usual way. Each reader touches every page, then "
            "holds the array; *USS* is the readers' peak private memory (psutil), summed "
            "over the two; *for the array* subtracts the same run with a 1-element array. "
            "Store reads come from `run.io` (the workers' traffic is added to the driver's); "
            "the baseline reads the store once in the driver. The store is a local folder, "
            "so each FlowyML worker maps the one file, which `run.io` counts as one read "
            "per worker. Both modes run in one process (`benchmarks/w6_shared_input.py`).")
        add("")
        e = get("W6", "shared")
        if e:
            add("| Measure | FlowyML (hash + mmap) | Pickled to workers |")
            add("| --- | --- | --- |")
            one = lambda v: f"{v:.1f}"  # noqa: E731
            ints = lambda v: f"{v:.0f}"  # noqa: E731
            for key, label, f in [
                ("uss_above_idle_mb", "Workers' private memory for the array, MiB", one),
                ("uss_sum_mb", "Workers' peak USS, sum, MiB", one),
                ("idle_uss_sum_mb", "— same with a 1-element array", one),
                ("store_objects_read", "Store objects read", ints),
                ("store_bytes_read_mb", "Store MiB read", one),
                ("cache_objects_read", "Local-cache objects read", ints),
                ("seconds", "Readers' run, s", fmt_s),
            ]:
                add(f"| {label} | {fmt_stat(e.get('flowyml.' + key), f)} | "
                    f"{fmt_stat(e.get('pickled.' + key), f)} |")
            add("")
            add(f"Whole process (both modes): {fmt_stat(e.get('wall_s'))} s, peak RSS "
                f"{fmt_stat(e.get('peak_rss_mb'), fmt_mb)} MiB; {e['ok_runs']} of "
                f"{e['runs']} runs ok; readers' sums {status_text(e)}{errors_text(e)}.")
            add("")
    if PROFILES.exists() and not quick:
        add(PROFILES.read_text().strip())
        add("")
    if meta.get("notes"):
        add("## Notes")
        add("")
        for n in meta["notes"]:
            add(f"- {n}")
        add("")
    return "\n".join(L), targets


def errors_text(e: dict) -> str:
    errs = e.get("errors") or []
    if not errs:
        return ""
    return " — " + "; ".join(x.replace("|", "/")[:160] for x in errs[:2])


# --------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) / 2**20
    except OSError:
        pass
    return {"uname": " ".join(x for x in platform.uname() if x), "cpu": cpu,
            "cores": os.cpu_count(), "mem_gib": mem, "python": platform.python_version()}


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return (rev or "no commit") + (" + uncommitted src changes" if dirty else "")


def _kept_sections(path: Path) -> str:
    """The sections other benchmarks write into RESULTS.md between their markers
    (``<!-- NAME:start -->`` ... ``<!-- NAME:end -->``: ``catalog_scale.py``,
    ``targets.py``), as the file has them now: a new run of this one keeps them."""
    import re

    try:
        old = path.read_text()
    except OSError:
        return ""
    found = re.findall(r"(<!-- ([\w-]+):start -->.*?<!-- \2:end -->)", old, re.S)
    return "".join(f"\n{block}\n" for block, _ in found)


def write_outputs(meta: dict, records: list[Record], tools: list[Tool], wls: list[str],
                  sizes: Sizes, out_dir: Path) -> None:
    summary = summarize(records, sizes)
    md, targets = report(meta, summary, tools, wls, sizes, bool(meta.get("quick")))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "RESULTS.md").write_text(md + _kept_sections(out_dir / "RESULTS.md"))
    (out_dir / "results.json").write_text(json.dumps(
        {"meta": meta, "targets": targets, "summary": summary,
         "records": [r.__dict__ for r in records]}, indent=1, default=str) + "\n")


def rerender(path: Path, out_dir: Path, notes: list[str] | None = None) -> None:
    """Rebuild RESULTS.md (and the summary in results.json) from a results.json."""
    doc = json.loads(path.read_text())
    meta = doc["meta"]
    meta["notes"] = list(meta.get("notes", [])) + [n for n in notes or []
                                                   if n not in meta.get("notes", [])]
    records = [Record(**r) for r in doc["records"]]
    tools = []
    for key, info in meta["tools"].items():
        t = TOOLS[key]
        t.version, t.error, t.idiom = info["version"], info["error"], info["idiom"]
        tools.append(t)
    wls = meta.get("workloads") or sorted({r.workload for r in records})
    write_outputs(meta, records, tools, wls, Sizes(**meta["sizes"]), out_dir)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 repetition and small sizes; writes under benchmarks/.work/quick/")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 5, quick 1)")
    ap.add_argument("--slow-reps", type=int, default=None,
                    help="repetitions for the slow (workload, tool) pairs in SLOW "
                    "(default: their own, 2-3)")
    ap.add_argument("--only", default="", help="comma-separated tools: " + ",".join(TOOLS))
    ap.add_argument("--workloads", default="", help="comma-separated, e.g. W1,W3")
    ap.add_argument("--out", default=None, help="directory for RESULTS.md and results.json")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per process")
    ap.add_argument("--setup-only", action="store_true", help="create the venvs and exit")
    ap.add_argument("--keep-work", action="store_true", help="keep the work dirs")
    ap.add_argument("--note", action="append", default=[],
                    help="a line for RESULTS.md's notes (repeatable; also with --from-json)")
    ap.add_argument("--from-json", default=None, metavar="RESULTS_JSON",
                    help="only re-render RESULTS.md from an existing results.json")
    args = ap.parse_args(argv)
    if args.from_json:
        src = Path(args.from_json)
        rerender(src, Path(args.out) if args.out else src.parent, args.note)
        return 0
    if args.reps is None:
        args.reps = 1 if args.quick else 5
    sizes = QUICK if args.quick else FULL

    keys = [k.strip().lower() for k in args.only.split(",") if k.strip()] or list(TOOLS)
    unknown = [k for k in keys if k not in TOOLS]
    if unknown:
        ap.error(f"unknown tool(s) {unknown}; choose from {list(TOOLS)}")
    wls = [w.strip().upper() for w in args.workloads.split(",") if w.strip()] or list(WORKLOADS)
    unknown = [w for w in wls if w not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    out_dir = Path(args.out) if args.out else (WORK / "quick" if args.quick else BENCH)

    WORK.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(WORK / "flowyml_memo", ignore_errors=True)
    VENVS.mkdir(parents=True, exist_ok=True)
    tools = [TOOLS[k] for k in TOOLS if k in keys]
    start = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - start:7.1f}s] {msg}", file=sys.stderr, flush=True)

    for t in tools:
        setup_tool(t, log)
        log(f"[setup] {t.label}: {t.error or t.version}")
    if args.setup_only:
        return 0 if all(t.error is None for t in tools) else 1

    run_dir = "quick" if args.quick else "full"
    runner = Runner(args, tools, wls, sizes, run_dir)
    runner.started = start
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        runner.run()
    except KeyboardInterrupt:
        log("interrupted: writing what was measured so far")
    notes = []
    capped = [f"{TOOLS[k].label} in {wl}: {runner.reps_of(wl, k)}"
              for wl, ks in SLOW.items() for k in ks
              if wl in wls and k in keys and runner.reps_of(wl, k) < args.reps]
    if capped:
        notes.append(f"Fewer repetitions than {args.reps} for the slowest (workload, tool) "
                     "pairs, to keep a full run well under 40 minutes (their medians and "
                     "ratios come from these runs only): " + "; ".join(capped) + ".")
    if args.only:
        notes.append(f"Only these tools were run: {', '.join(t.label for t in tools)}.")
    if "W1" in wls and "prefect" in keys:
        notes.append("Prefect W1 calls each task directly inside the flow (sequential, "
                     "like the other tools); the ephemeral server's start-up is part of the "
                     "in-process time because Prefect starts it on the first flow call.")
    notes.append("Kedro's `only_missing_outputs` is not a cache (it skips nodes whose "
                 "persisted outputs merely exist, whatever changed), so Kedro runs without "
                 "it; Dagster's `materialize` has no memoization. Both recompute each run.")
    notes.append("FlowyML 2.x runs with its default `cache=\"code_hash\"`, whose key is the "
                 "step's name and source only (inputs are not part of it).")
    notes += args.note
    meta = {"date": date, "duration_s": time.monotonic() - start, "machine": machine(),
            "git": git_rev(), "reps": args.reps, "quick": args.quick,
            "sizes": sizes.__dict__, "notes": notes, "workloads": wls,
            "tools": {t.key: {"label": t.label, "version": t.version, "error": t.error,
                              "idiom": t.idiom} for t in tools}}
    write_outputs(meta, runner.records, tools, wls, sizes, out_dir)
    log(f"wrote {out_dir / 'RESULTS.md'} and results.json")
    failed = [r for r in runner.records if not r.ok]
    if failed:
        log(f"{len(failed)} process(es) failed; see the tables and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
