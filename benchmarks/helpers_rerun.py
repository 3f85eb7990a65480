#!/usr/bin/env python3
"""Steps that call helpers: what fingerprinting what a step reaches costs, per step.

    .venv/bin/python benchmarks/helpers_rerun.py                  # -> benchmarks/helpers_rerun.md
    .venv/bin/python benchmarks/helpers_rerun.py --against 362967d --reps 5

The trivial chain of ``chain_rerun.py`` calls no helper. Real steps do, and every step's
key holds everything its code reaches, so a helper called by many steps, or a dispatch
table every step reads, is where the fingerprint's time goes. Three generated shapes:

- ``helpers``: a 200-step chain; each step calls ``combine`` (-> ``norm`` -> ``clean``,
  numpy and ``math``) and one of 30 functions of a dispatch dict ``OPS`` (each calling
  ``clean``); every other step also calls ``norm``.
- ``table1000``: the same with a dispatch dict of 1,000 functions.
- ``entangled``: 5 chained steps, each calling 10 functions of a 300-function module in
  which every function calls 3 others (seeded): closures overlap as much as they can.

Per shape and repetition, each FlowyML (this checkout, and ``--against REV`` checked out
into a git worktree) runs in fresh processes in a fresh project: a first run with an
empty fingerprint memo (code never seen), then a cached rerun. Times are in process,
from after ``import flowyml`` and the pipeline module's import to holding the final
value, which is checked against the step functions called directly. The checkouts are
interleaved within a repetition, their order rotated per repetition. FlowyML only: the
peers' caches (Hamilton's, Prefect's) key a function by its own source and do not see
the helpers it calls, so there is nothing equivalent to time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from chain_rerun import DASH, git_rev, median_range

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work" / "helpers_rerun"
PYTHON = REPO / ".venv" / "bin" / "python"
SHAPES = ("helpers", "table1000", "entangled")

CHILD = r"""
import json, sys, time
sys.path.insert(0, ".")
import flowyml as fm
t0 = time.perf_counter()
import pipe
t1 = time.perf_counter()
run = pipe.PIPE.run()
value = run[pipe.FINAL]
t2 = time.perf_counter()
prev = None
for step in pipe.PIPE.steps:
    prev = step() if prev is None else step(prev)
statuses = sorted({str(s.status) for s in run.steps.values()})
print("RESULT " + json.dumps({"module_s": t1 - t0, "run_s": t2 - t1,
                              "correct": value == prev, "statuses": statuses}))
"""


def _dispatch_source(n: int, ops: int) -> str:
    lines = ['"""Generated: steps calling helpers and a dispatch table."""', "import math",
             "import numpy as np", "import flowyml as fm", "", "SCALE = 3", ""]
    for k in range(ops):
        lines += [f"def op_{k}(x):", f"    return clean(x) * {k} + SCALE", ""]
    lines += ["def clean(x):", "    return abs(x) + math.floor(0.5)", "",
              "def norm(x):", "    return float(np.sqrt(clean(x) ** 2))", "",
              "def combine(a, b):", "    return norm(a) + norm(b)", "",
              "OPS = {" + ", ".join(f"'op_{k}': op_{k}" for k in range(ops)) + "}", "",
              "@fm.step(outputs='a0')", "def s0() -> float:", "    return 1.0", ""]
    for i in range(1, n):
        extra = "" if i % 2 else " + norm(2)"
        lines += [f"@fm.step(outputs='a{i}')", f"def s{i}(a{i - 1}: float) -> float:",
                  f"    return combine(a{i - 1}, 1) * 1e-3 + OPS['op_{i % ops}'](1){extra}", ""]
    steps = ", ".join(f"s{i}" for i in range(n))
    lines += [f"PIPE = fm.Pipeline('helpers', [{steps}])", f"FINAL = 'a{n - 1}'"]
    return "\n".join(lines) + "\n"


def _entangled_source(funcs: int = 300, steps: int = 5, entries: int = 10) -> str:
    rnd = random.Random(1)
    lines = ['"""Generated: steps reaching a module whose functions call each other."""',
             "import flowyml as fm", ""]
    for i in range(funcs):
        body = " + ".join(f"(u{c}(x - 1) if x > 0 else 0)" for c in rnd.sample(range(funcs), 3))
        lines += [f"def u{i}(x):", f"    return {i} + {body}", ""]
    for s in range(steps):
        calls = " + ".join(f"u{e}(0)" for e in rnd.sample(range(funcs), entries))
        arg, plus = (f"a{s - 1}: int", f" + a{s - 1}") if s else ("", "")
        lines += [f"@fm.step(outputs='a{s}')", f"def s{s}({arg}) -> int:",
                  f"    return {calls}{plus}", ""]
    names = ", ".join(f"s{s}" for s in range(steps))
    lines += [f"PIPE = fm.Pipeline('entangled', [{names}])", f"FINAL = 'a{steps - 1}'"]
    return "\n".join(lines) + "\n"


def source(shape: str) -> str:
    if shape == "helpers":
        return _dispatch_source(200, 30)
    if shape == "table1000":
        return _dispatch_source(200, 1000)
    return _entangled_source()


def step_count(shape: str) -> int:
    return 5 if shape == "entangled" else 200


def checkout(rev: str) -> Path:
    """``rev``'s ``src`` folder, from a git worktree under the work dir."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", rev], check=True,
                         capture_output=True, text=True).stdout.strip()
    tree = WORK / f"rev-{sha}"
    if not tree.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), sha],
                       check=True, capture_output=True)
    return tree / "src"


def child(src: Path, project: Path, memo: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLOWYML_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(src), FLOWYML_FINGERPRINT_MEMO=str(memo), PYTHONHASHSEED="0")
    out = subprocess.run([str(PYTHON), "-c", CHILD], cwd=project, env=env, check=True,
                         capture_output=True, text=True, timeout=600).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT "):]))


def measure(shape: str, label: str, src: Path, rep: int) -> dict[str, object]:
    base = WORK / f"{shape}-{label}-{rep}"
    shutil.rmtree(base, ignore_errors=True)
    project = base / "proj"
    project.mkdir(parents=True)
    (project / "flowyml.toml").write_text("")
    (project / "pipe.py").write_text(source(shape))
    child(src, project, base / "warm-memo")  # untimed: the pycs of this checkout
    shutil.rmtree(project / ".flowyml")
    first = child(src, project, base / "memo")
    cached = child(src, project, base / "memo")
    ok = first["correct"] and cached["correct"] and cached["statuses"] == ["cached"]
    return {"first_s": first["run_s"], "cached_s": cached["run_s"], "ok": ok,
            "module_s": cached["module_s"]}


def _fmt(values: list[float]) -> str:
    return median_range(values, ".3f", " s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--against", help="another revision to run side by side (git rev)")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--out", default=str(BENCH / "helpers_rerun.md"))
    args = ap.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    checkouts = [(git_rev(), REPO / "src")]
    if args.against:
        checkouts.append((args.against, checkout(args.against)))
    shapes = [s for s in args.shapes.split(",") if s]
    results: dict[tuple[str, str], list[dict[str, object]]] = {}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for rep in range(args.reps):
        for shape in shapes:
            order = checkouts[rep % len(checkouts):] + checkouts[:rep % len(checkouts)]
            for label, src in order:
                res = measure(shape, re.sub(r"\W+", "_", label), src, rep)
                results.setdefault((shape, label), []).append(res)
                print(f"rep {rep + 1} {shape:10} {label:16} first {res['first_s']:.3f} s  "
                      f"cached {res['cached_s']:.3f} s  ok={res['ok']}", flush=True)
    lines = ["# Steps that call helpers (`benchmarks/helpers_rerun.py`)", "",
             f"Generated {started}, {args.reps} repetitions, load average "
             f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end; "
             f"{os.cpu_count()} cores, Python {sys.version.split()[0]}.", "",
             "In process, from after the pipeline module's import to holding the final "
             f"value; median (min{DASH}max). *First run*: a fresh project and an empty "
             "fingerprint memo (code never seen). *Cached rerun*: the next process. "
             "*helpers*: 200 chained steps, each calling a helper chain (numpy, `math`) "
             "and one of a 30-function dispatch dict; *table1000*: the same with 1,000 "
             "functions in the dict; *entangled*: 5 steps each calling 10 functions of a "
             "300-function module whose functions all call each other (the script's "
             "docstring says more).", "",
             "| Shape | FlowyML | First run | Cached rerun | Cached, per step | Correct |",
             "| --- | --- | --- | --- | --- | --- |"]
    for shape in shapes:
        for label, _ in checkouts:
            rs = results[(shape, label)]
            cached = [float(str(r["cached_s"])) for r in rs]
            per = statistics.median(cached) / step_count(shape) * 1000
            lines.append(f"| {shape} | `{label}` | {_fmt([float(str(r['first_s'])) for r in rs])} "
                         f"| {_fmt(cached)} | {per:.2f} ms | "
                         f"{'yes' if all(r['ok'] for r in rs) else '**no**'} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(r["ok"] for rs in results.values() for r in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
