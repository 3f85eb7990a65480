#!/usr/bin/env python3
"""Per-step overhead of a linear chain, first run vs cached rerun: FlowyML, Hamilton, Kedro.

    python3 benchmarks/chain_rerun.py                 # 5 repetitions -> benchmarks/chain_rerun.md
    python3 benchmarks/chain_rerun.py --reps 3 --n 100 --out /tmp/chain.md
    python3 benchmarks/chain_rerun.py --shape fanout  # W1's fan-out of 1000 -> fanout_rerun.md

``--shape fanout`` runs W1's fan-out instead (one source, ``n`` steps ``f_i = src + i``, one
sink summing them: ``n + 2`` steps), with the first runs and cached reruns only (no
changed-module case), against issue #12's fan-out targets (first run <= 0.3 s, cached
rerun <= 0.1 s, in process).

The chain is W1's (``a0 = 0``, ``a_i = a_(i-1) + 1``), generated into ``w1_steps.py`` by
each tool's own generator in ``benchmarks/tools/bench_<tool>.py``. Per repetition, in
fresh work dirs under ``benchmarks/.work/chain_rerun/``:

- FlowyML (project venv ``.venv``): first run in a fresh project; the same module rerun
  in a second process (everything cached); then the module rewritten so every ``+ 1``
  becomes ``+ 2`` and run a third time: the changed steps re-execute but the catalog and
  store already exist ("first run on an existing catalog"). ``s0`` (``return 0``) does
  not change, so it alone is reused.
- Hamilton (``benchmarks/.venvs/hamilton``): ``.with_cache(path=...)`` first run and
  cached rerun; without cache, first run.
- Both cached: the rerun's process running the pipeline once more (*again in the same
  process*, as a notebook re-running its cell), timed from before that second run.
- Kedro (``benchmarks/.venvs/kedro``): ``SequentialRunner`` over an in-memory
  ``DataCatalog`` (Kedro has no cross-run cache), first run.

Every measurement is a fresh process of that tool's python running this file with
``--child``. The child times, in process, from *after* importing the framework to
holding the final value (importing the generated module, building and running the
pipeline, reading the result), reports the import time separately, and checks the value
against ``(n - 1) * k``. The parent records the whole-process wall time. Within a
repetition the tools are interleaved phase by phase (first runs, then reruns, then the
changed module) with their order rotated per repetition; ratios to FlowyML are taken
pair by pair within a repetition and the report gives their median (min-max).

Standard library only; runs under any Python 3.10+ (the peer venvs come from
``python3 benchmarks/run.py --setup-only --only flowyml,hamilton,kedro``).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import importlib
import json
import os
import platform
import re
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
TOOLS_DIR = BENCH / "tools"
VENVS = BENCH / ".venvs"
WORK = BENCH / ".work" / "chain_rerun"
RESULT_PREFIX = "BENCH_RESULT "  # as in tools/_common.py
DASH = "\u2013"
TIMES = "\u00d7"

# Targets for FlowyML (issue #12), in ms per step of in-process time (the chain), or in
# seconds of in-process time for the whole fan-out.
TARGET_RERUN_MS = 0.1
TARGET_FIRST_MS = 0.3
FANOUT_TARGETS_S = {"first": 0.3, "rerun": 0.1, "cold": 0.3}
SHAPE = "chain"  # or "fanout" (--shape); set once in main, passed to the children


def step_count(n: int) -> int:
    """Steps in the generated module: the chain's ``n``, the fan-out's ``n`` plus its
    source and sink."""
    return n if SHAPE == "chain" else n + 2


# =========================================================================== child side
# Runs inside each tool's own interpreter, cwd = the work dir, and prints one
# BENCH_RESULT line. The framework is imported only here, never at module level.


def _generated_source(bench: Any, n: int, k: int) -> tuple[str, str]:
    """The tool's W1 chain module, with every ``a_(i-1) + 1`` body turned into ``+ k``
    (or its fan-out module, unchanged)."""
    source, final = bench._w1_source(SHAPE, n)
    if k != 1 and SHAPE != "chain":
        raise RuntimeError("the fan-out has no changed-module case")
    if k != 1:
        source, count = re.subn(r"^(\s+return a\d+) \+ 1$", rf"\g<1> + {k}", source,
                                flags=re.MULTILINE)
        if count != n - 1:
            raise RuntimeError(f"expected {n - 1} step bodies to rewrite, found {count}")
    return source, final


def _child_flowyml(bench: Any, final: str, now, again: bool) -> dict[str, Any]:
    t0 = now()
    import flowyml as fm

    t1 = imported = now()
    if again:  # untimed: a cached rerun; the timed one is the same process's next run
        import w1_steps

        fm.Pipeline("w1", w1_steps.STEPS).run()[final]
        t1 = now()
    mods = len(sys.modules)
    import w1_steps

    run = fm.Pipeline("w1", w1_steps.STEPS).run()
    value = run[final]
    t2 = now()
    status = collections.Counter(str(s.status) for s in run.steps.values())
    return {"import_s": imported - t0, "inproc_s": t2 - t1, "value": value,
            "modules_loaded": len(sys.modules) - mods,
            "executed": status.get("executed", 0), "reused": status.get("cached", 0),
            "statuses": dict(status)}


def _child_hamilton(bench: Any, final: str, now, cache: bool, again: bool) -> dict[str, Any]:
    t0 = now()
    from hamilton import driver

    t1 = imported = now()
    if again:  # untimed: a cached rerun; the timed one is the same process's next run
        import w1_steps

        bench._cached_driver(w1_steps).execute([final])
        t1 = now()
    mods = len(sys.modules)
    import w1_steps

    if cache:
        dr = bench._cached_driver(w1_steps)  # .with_cache(path=".hamilton_cache")
    else:
        dr = driver.Builder().with_modules(w1_steps).build()
    value = dr.execute([final])[final]
    t2 = now()
    out: dict[str, Any] = {"import_s": imported - t0, "inproc_s": t2 - t1, "value": value,
                           "modules_loaded": len(sys.modules) - mods}
    if cache:  # which nodes ran vs came from the cache, from the adapter's own log
        try:
            logs = dr.cache.logs(run_id=dr.cache.last_run_id, level="info")
            kinds = [{e.event_type.value for e in events} for events in logs.values()]
            out["executed"] = sum("execute_node" in s for s in kinds)
            out["reused"] = sum("get_result" in s and "execute_node" not in s for s in kinds)
        except Exception as e:  # the counts are informative only
            out["cache_log_error"] = repr(e)
    return out


def _child_kedro(bench: Any, final: str, now) -> dict[str, Any]:
    t0 = now()
    from kedro.io import DataCatalog  # noqa: F401
    from kedro.pipeline import Pipeline, node  # noqa: F401
    from kedro.runner import SequentialRunner  # noqa: F401

    bench._quiet()  # logging off, as in bench_kedro.py
    t1 = now()
    mods = len(sys.modules)
    import w1_steps

    value = bench._run(w1_steps.pipeline)[final].load()
    t2 = now()
    return {"import_s": t1 - t0, "inproc_s": t2 - t1, "value": value,
            "modules_loaded": len(sys.modules) - mods}


def child_main(config: str, n: int, k: int, case: str) -> None:
    cwd = os.getcwd()
    for p in (str(TOOLS_DIR), cwd):  # cwd first: the generated w1_steps.py lives there
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)
    common = importlib.import_module("_common")
    bench = importlib.import_module("bench_" + config.split("_")[0])
    source, final = _generated_source(bench, n, k)
    path = Path(cwd) / "w1_steps.py"
    # A rerun leaves the module as it is (as a user rerunning would); a new or changed
    # module is written and byte-compiled, outside the timing.
    if not path.exists() or path.read_text() != source:
        common.write_module("w1_steps", source)
    now = common.now
    again = case == "again"
    if config == "flowyml":
        data = _child_flowyml(bench, final, now, again)
    elif config == "hamilton_cache":
        data = _child_hamilton(bench, final, now, cache=True, again=again)
    elif config == "hamilton":
        data = _child_hamilton(bench, final, now, cache=False, again=again)
    elif config == "kedro":
        data = _child_kedro(bench, final, now)
    else:
        raise SystemExit(f"unknown config {config!r}")
    expected = (n - 1) * k if SHAPE == "chain" else common.fanout_expected(n)
    data.update(n=n, k=k, expected=expected, correct=data["value"] == expected)
    common.emit(**data)


# ========================================================================== parent side


@dataclass
class Config:
    key: str
    label: str
    python: Path
    dist: str  # distribution whose version is reported
    name: str  # the tool's name in the versions line
    version: str = "?"
    py_version: str = "?"
    error: str | None = None


CONFIGS = [
    Config("flowyml", "FlowyML", REPO / ".venv" / "bin" / "python", "flowyml-core",
           "FlowyML (`flowyml-core`, this checkout, `.venv`)"),
    Config("hamilton_cache", "Hamilton `.with_cache()`",
           VENVS / "hamilton" / "bin" / "python", "apache-hamilton",
           "Hamilton (`apache-hamilton`)"),
    Config("hamilton", "Hamilton, no cache", VENVS / "hamilton" / "bin" / "python",
           "apache-hamilton", "Hamilton"),
    Config("kedro", "Kedro `SequentialRunner`, in-memory catalog",
           VENVS / "kedro" / "bin" / "python", "kedro", "Kedro"),
]
CONFIG = {c.key: c for c in CONFIGS}

# case -> (label, k: the step increment in the module, configs that run it)
CASES = {
    "first": ("first run (fresh dir)", 1, ["flowyml", "hamilton_cache", "hamilton", "kedro"]),
    "rerun": ("cached rerun (same dir, 2nd process)", 1, ["flowyml", "hamilton_cache"]),
    "again": ("cached rerun, again in the same process (a notebook re-running its cell)", 1,
              ["flowyml", "hamilton_cache"]),
    "changed": ("first run on an existing catalog (`+ 1` \u2192 `+ 2`)", 2, ["flowyml"]),
    "cold": ("first run, code never seen (fingerprint memo empty, fresh dir)", 1, ["flowyml"]),
}

# Ratios A / B taken pair by pair within a repetition: (label, A, B).
RATIOS = [
    ("Cached rerun: Hamilton `.with_cache()` rerun \u00f7 FlowyML rerun",
     ("hamilton_cache", "rerun"), ("flowyml", "rerun")),
    ("Cached rerun, same process: Hamilton `.with_cache()` \u00f7 FlowyML",
     ("hamilton_cache", "again"), ("flowyml", "again")),
    ("First run: Hamilton `.with_cache()` first run \u00f7 FlowyML first run",
     ("hamilton_cache", "first"), ("flowyml", "first")),
    ("First run: Hamilton no cache \u00f7 FlowyML first run",
     ("hamilton", "first"), ("flowyml", "first")),
    ("First run: Kedro \u00f7 FlowyML first run",
     ("kedro", "first"), ("flowyml", "first")),
    ("Existing catalog: Hamilton `.with_cache()` first run \u00f7 FlowyML changed-module run",
     ("hamilton_cache", "first"), ("flowyml", "changed")),
    ("Existing catalog: Hamilton no cache \u00f7 FlowyML changed-module run",
     ("hamilton", "first"), ("flowyml", "changed")),
    ("Existing catalog: Kedro \u00f7 FlowyML changed-module run",
     ("kedro", "first"), ("flowyml", "changed")),
    ("FlowyML itself: first run (fresh project) \u00f7 changed-module run (existing catalog)",
     ("flowyml", "first"), ("flowyml", "changed")),
]


@dataclass
class Record:
    rep: int
    config: str
    case: str
    ok: bool
    wall_s: float
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def good(self) -> bool:
        return self.ok and bool(self.data.get("correct"))


def child_env(cfg: Config, workdir: Path, memo: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLOWYML_", "KEDRO_", "HAMILTON_"))
           and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE")}
    env["DO_NOT_TRACK"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    env["VIRTUAL_ENV"] = str(cfg.python.parent.parent)
    env["PATH"] = f"{cfg.python.parent}{os.pathsep}{env.get('PATH', '')}"
    if cfg.key == "flowyml":
        env["FLOWYML_ROOT"] = str(workdir)  # the work dir is the project root
        env["FLOWYML_FINGERPRINT_MEMO"] = str(memo)  # this benchmark's, not the user's
    elif cfg.key.startswith("hamilton"):
        env["HAMILTON_TELEMETRY_ENABLED"] = "false"
    elif cfg.key == "kedro":
        env["KEDRO_DISABLE_TELEMETRY"] = "true"
    return env


def run_child(cfg: Config, case: str, n: int, workdir: Path, logdir: Path, rep: int,
              timeout: float, memo: Path) -> Record:
    k = CASES[case][1]
    cmd = [str(cfg.python), str(Path(__file__).resolve()), "--child", cfg.key,
           "--n", str(n), "--k", str(k), "--shape", SHAPE, "--case", case]
    out_path = logdir / f"{cfg.key}-{case}.stdout"
    err_path = logdir / f"{cfg.key}-{case}.stderr"
    killed: list[bool] = []
    with open(out_path, "w") as out, open(err_path, "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=str(workdir), env=child_env(cfg, workdir, memo),
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True)

        def _kill() -> None:
            killed.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # this child's own session only
            except ProcessLookupError:
                pass

        # A blocking wait (Popen.wait(timeout=...) polls, rounding the wall time up to
        # its 50 ms sleeps); the timer ends a child that overruns.
        timer = threading.Timer(timeout, _kill)
        timer.start()
        proc.wait()
        wall = time.perf_counter() - t0
        timer.cancel()
    timed_out = bool(killed)
    data: dict[str, Any] = {}
    for line in out_path.read_text(errors="replace").splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX):])
    error = None
    if timed_out:
        error = f"timed out after {timeout:.0f} s"
    elif proc.returncode != 0 or not data:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
        error = f"exit {proc.returncode}: " + " | ".join(tail)[-500:]
    elif not data.get("correct"):
        error = f"wrong value {data.get('value')!r}, expected {data.get('expected')!r}"
    return Record(rep, cfg.key, case, error is None or data.get("correct") is False, wall,
                  data, error)


def fresh_dir(path: Path, flowyml_marker: bool) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    if flowyml_marker:
        (path / "flowyml.toml").write_text("")
    return path


def probe(cfg: Config) -> None:
    if not cfg.python.exists():
        cfg.error = f"{cfg.python} not found"
        return
    code = ("import importlib.metadata as m, platform; "
            f"print(m.version({cfg.dist!r}), platform.python_version())")
    try:
        p = subprocess.run([str(cfg.python), "-c", code], capture_output=True, text=True,
                           timeout=120, cwd=str(WORK))
    except (OSError, subprocess.TimeoutExpired) as e:
        cfg.error = str(e)
        return
    if p.returncode != 0:
        cfg.error = (p.stderr.strip().splitlines() or ["?"])[-1]
        return
    cfg.version, cfg.py_version = p.stdout.split()


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "src"],
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return (rev or "no commit") + (" + uncommitted changes" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# --------------------------------------------------------------------------- report


def median_range(values: list[float], fmt: str, unit: str = "") -> str:
    if not values:
        return DASH
    med = format(statistics.median(values), fmt) + unit
    if len(values) == 1:
        return med
    return f"{med} ({format(min(values), fmt)}\u2013{format(max(values), fmt)})"


def steps_text(recs: list[Record], cfg: str, n: int) -> str:
    if cfg in ("hamilton", "kedro"):
        return f"{step_count(n)} / 0 (no cache)"
    pairs = collections.Counter((r.data.get("executed"), r.data.get("reused"))
                                for r in recs if r.ok)
    if not pairs:
        return DASH
    return ", ".join(
        (f"{e} / {c}" if e is not None else "not reported") + (f" (\u00d7{cnt})" if len(pairs) > 1 else "")
        for (e, c), cnt in sorted(pairs.items(), key=lambda x: -x[1]))


def report(meta: dict[str, Any], records: list[Record], n: int) -> tuple[str, list[str]]:
    by = collections.defaultdict(list)
    for r in records:
        by[(r.config, r.case)].append(r)

    def per_step(cfg: str, case: str) -> list[float]:
        return [r.data["inproc_s"] * 1000 / step_count(n) for r in by[(cfg, case)] if r.good]

    lines: list[str] = []
    add = lines.append
    if SHAPE == "chain":
        add(f"# Chain rerun: per-step overhead of a {n}-step linear chain")
    else:
        add(f"# Fan-out rerun: per-step overhead of a fan-out of {n} steps ({step_count(n)} "
            "with its source and sink)")
    add("")
    add(f"- Date: {meta['date']}")
    add(f"- Machine: {meta['cpu']}, {meta['cores']} cores, load average "
        f"{meta['load_start']} at start, {meta['load_end']} at end (other processes may "
        "share the cores: ratios are taken pair by pair within a repetition)")
    add(f"- Python: {meta['python']} (runner); tools: " + "; ".join(
        f"{c.name} {c.version} on Python {c.py_version}"
        for c in CONFIGS if c.key in ("flowyml", "hamilton_cache", "kedro")))
    add(f"- FlowyML commit: {meta['git']}")
    add(f"- Repetitions: {meta['reps']}, {SHAPE} of {n}; total time {meta['elapsed_s']:.0f} s; "
        f"command `{meta['command']}`")
    add("")
    if SHAPE == "fanout":
        add(f"The fan-out: `src = 1`, `f_i = src + i` for `i < {n}`, `total = sum(f_i)`, "
            "one function per step; the same measurements as `chain_rerun.md` (below), "
            f"*per step* divided by {step_count(n)}, first runs and cached reruns only. "
            "The description of the chain follows.")
        add("")
    add(f"The chain: `a0 = 0`, `a_i = a_(i-1) + k`, final value `(n - 1) * k` "
        f"({n - 1} for `k = 1`), one function per step, generated into `w1_steps.py` by "
        "each tool's generator in `benchmarks/tools/bench_<tool>.py`. Every measurement is "
        "a fresh process. *Per step* is the in-process time, from after importing the "
        "framework (`import flowyml` / `from hamilton import driver` / the Kedro imports) "
        "to holding the final value (importing the generated module, building and running "
        f"the pipeline, reading the result), divided by {n}. *Import* is the framework "
        "import alone; *whole process* is the wall time of the process as seen by the "
        "runner (interpreter start, imports, run, exit). FlowyML runs with its defaults: "
        "local store + SQLite catalog + lineage under `<work dir>/.flowyml`; its "
        "fingerprint memo (which remembers what each function's source says, across "
        "processes) is a folder of this run's own. In each repetition an untimed FlowyML "
        "run in the work dir comes first, then the dir is wiped: the fresh-dir first run "
        "finds the module in the memo, as after `rm -rf .flowyml` or a new clone of code "
        "run before. The *code never seen* case is a first run with the memo empty too "
        "(new code: every step's source parsed), in a dir of its own. The cached "
        "rerun is the same module in the same dir in a second process; *again in the "
        "same process* is that process running it once more (the pipeline built and run "
        "again, the step module already imported: a notebook re-running its cell; for "
        "Hamilton a new cached driver), timed from before that second run (its whole "
        "process holds both runs); the "
        "existing-catalog run follows it in the same dir, with every `+ 1` rewritten to "
        "`+ 2` (`s0`, `return 0`, is unchanged and so reused; the other steps are code "
        "the memo never saw, so their source is parsed, as in the *code never seen* "
        "case). Medians (min\u2013max) over "
        "the correct runs; *Steps* is executed / reused as the tool reports it (Hamilton's "
        "from its cache adapter's log); *Modules* is how many modules were first imported "
        "inside the timed section (FlowyML defers most of its own imports to first use, "
        "so they count in its per-step time, not in its import time).")
    add("")
    add("| Tool | Case | Per step ms | Import ms | Whole process s | Steps | Modules | "
        "Result | FlowyML target |")
    add("|---|---|---|---|---|---|---|---|---|")
    verdicts: list[str] = []
    for cfg in CONFIGS:
        for case, (case_label, _k, keys) in CASES.items():
            if cfg.key not in keys:
                continue
            recs = by[(cfg.key, case)]
            ps = per_step(cfg.key, case)
            imp = [r.data["import_s"] * 1000 for r in recs if r.good]
            wall = [r.wall_s for r in recs if r.good]
            mods = [float(r.data["modules_loaded"]) for r in recs
                    if r.good and "modules_loaded" in r.data]
            good = sum(r.good for r in recs)
            result = f"{good}/{len(recs)} correct" if recs else "not run"
            if cfg.error:
                result = f"not run: {cfg.error}"
            target = ""
            if cfg.key == "flowyml" and case == "again":
                target = "(the targets are for a new process)"
            elif cfg.key == "flowyml":
                if SHAPE == "fanout":  # the issue's fan-out targets are whole-run seconds
                    values = [r.data["inproc_s"] for r in recs if r.good]
                    limit, unit = FANOUT_TARGETS_S[case], "s"
                    what = {"first": "fan-out first run", "rerun": "fan-out cached rerun",
                            "cold": "fan-out first run, code never seen"}[case]
                else:
                    values = ps
                    limit = TARGET_RERUN_MS if case == "rerun" else TARGET_FIRST_MS
                    unit = "ms/step"
                    what = {"first": "first run with full recording, fresh project",
                            "rerun": "cached rerun",
                            "changed": "first run with full recording, existing catalog",
                            "cold": "first run with full recording, code never seen"}[case]
                if values:
                    med = statistics.median(values)
                    verdict = "met" if med <= limit else "**missed**"
                    target = f"\u2264 {limit} {unit}: {verdict}"
                    verdicts.append(f"{what}: {med:.3f} {unit} vs \u2264 {limit} {unit} "
                                    f"\u2192 {verdict}")
                else:
                    target = f"\u2264 {limit} {unit}: not measured"
                    verdicts.append(f"{what}: not measured")
            add(f"| {cfg.label} | {case_label} | {median_range(ps, '.3f')} | "
                f"{median_range(imp, '.0f')} | {median_range(wall, '.2f')} | "
                f"{steps_text(recs, cfg.key, n)} | {median_range(mods, '.0f')} | "
                f"{result} | {target} |")
    add("")
    add("Ratios, pair by pair within a repetition (A \u00f7 B > 1: B, FlowyML, is faster):")
    add("")
    add("| A \u00f7 B | Per step (in-process), median (min\u2013max) | "
        "Whole process, median (min\u2013max) | Pairs |")
    add("|---|---|---|---|")
    for label, (ac, acase), (bc, bcase) in RATIOS:
        inproc, wall = [], []
        for rep in range(meta["reps"]):
            a = [r for r in by[(ac, acase)] if r.rep == rep and r.good]
            b = [r for r in by[(bc, bcase)] if r.rep == rep and r.good]
            if a and b and b[0].data["inproc_s"] > 0:
                inproc.append(a[0].data["inproc_s"] / b[0].data["inproc_s"])
                wall.append(a[0].wall_s / b[0].wall_s)
        add(f"| {label} | {median_range(inproc, '.2f', TIMES)} | "
            f"{median_range(wall, '.2f', TIMES)} | {len(inproc)} |")
    add("")
    add("FlowyML targets (issue #12, on the median): " + "; ".join(verdicts) + ".")
    bad = [r for r in records if not r.good]
    if bad:
        add("")
        add("Failed or wrong runs:")
        add("")
        for r in bad:
            add(f"- rep {r.rep + 1}, {CONFIG[r.config].label}, {CASES[r.case][0]}: {r.error}")
    add("")
    return "\n".join(lines), verdicts


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    ap.add_argument("--shape", choices=("chain", "fanout"), default="chain",
                    help="W1's chain (default) or its fan-out")
    ap.add_argument("--n", type=int, default=None,
                    help="chain length (default 200), or fan-out width (default 1000)")
    ap.add_argument("--out", type=Path, default=None,
                    help="Markdown report path (default benchmarks/chain_rerun.md, or "
                    "fanout_rerun.md)")
    ap.add_argument("--timeout", type=float, default=600, help="per-process timeout, s")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--k", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--case", default="first", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    global SHAPE, WORK
    SHAPE = args.shape
    if args.n is None:
        args.n = 200 if SHAPE == "chain" else 1000
    if SHAPE == "fanout":
        WORK = BENCH / ".work" / "fanout_rerun"
        CASES.pop("changed", None)
        RATIOS[:] = [r for r in RATIOS if "changed" not in (r[1][1], r[2][1])]
    if args.out is None:
        args.out = BENCH / ("chain_rerun.md" if SHAPE == "chain" else "fanout_rerun.md")
    if args.child:
        child_main(args.child, args.n, args.k, args.case)
        return 0
    if args.n < 2 or args.reps < 1:
        ap.error("--n must be >= 2 and --reps >= 1")

    started = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - started:7.1f}s] {msg}", file=sys.stderr, flush=True)

    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    for cfg in CONFIGS:
        probe(cfg)
        if cfg.error:
            log(f"{cfg.label}: cannot run: {cfg.error}")
    meta: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
        "git": git_rev(), "reps": args.reps, "n": args.n, "load_start": loadavg(),
        "command": "python3 benchmarks/chain_rerun.py " + " ".join(
            a for a in (argv if argv is not None else sys.argv[1:])),
    }
    records: list[Record] = []
    for rep in range(args.reps):
        root = WORK / f"rep{rep + 1}"
        logdir = root / "logs"
        logdir.mkdir(parents=True)
        dirs = {c.key: fresh_dir(root / c.key, c.key == "flowyml") for c in CONFIGS}
        memo = WORK / "memo"
        if CONFIG["flowyml"].error is None:  # untimed: the memo learns this dir's module
            run_child(CONFIG["flowyml"], "first", args.n, dirs["flowyml"], logdir, rep,
                      args.timeout, memo)
            dirs["flowyml"] = fresh_dir(root / "flowyml", True)
        for case, (_label, _k, keys) in CASES.items():
            order = [CONFIG[k] for k in keys if CONFIG[k].error is None]
            shift = rep % len(order) if order else 0
            for cfg in order[shift:] + order[:shift]:
                workdir, case_memo = dirs[cfg.key], memo
                if case == "cold":  # a dir and a memo of its own, both empty
                    workdir = fresh_dir(root / "flowyml_cold", True)
                    case_memo = fresh_dir(root / "memo_empty", False)
                rec = run_child(cfg, case, args.n, workdir, logdir, rep, args.timeout,
                                case_memo)
                records.append(rec)
                ms = (f"{rec.data['inproc_s'] * 1000 / step_count(args.n):7.3f} ms/step"
                      if "inproc_s" in rec.data else " " * 15)
                log(f"rep {rep + 1} {case:<7} {cfg.key:<14} {ms} {rec.wall_s:6.2f} s "
                    f"{'' if rec.good else 'FAIL ' + str(rec.error)}".rstrip())
    meta["load_end"] = loadavg()
    meta["elapsed_s"] = time.monotonic() - started
    (WORK / "records.json").write_text(json.dumps(
        {"meta": meta, "records": [vars(r) for r in records]}, indent=1, default=str))
    md, _ = report(meta, records, args.n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md)
    print(md)
    log(f"wrote {args.out} (raw records: {WORK / 'records.json'})")
    return 0 if all(r.good for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
