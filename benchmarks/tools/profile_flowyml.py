"""cProfile of the FlowyML workloads that miss their targets (W1 chain, W1 fan-out, W2
unchanged rerun), each in a fresh process and a fresh project, as the benchmark runs them.

    .venv/bin/python benchmarks/tools/profile_flowyml.py [--top 15] [--out DIR]

For each case it prints the wall time of the profiled section and the top functions by
cumulative and by own (tottime) time; ``--out`` also keeps the ``.prof`` files. W1 is
profiled from importing the generated steps module to holding the value (the W1
in-process time; ``import flowyml`` itself is W3); W2 from ``import flowyml`` through the
rerun (most of its whole-process wall time, interpreter start-up aside), and the same for
its cold run (against the 1.2x-of-plain-Python target).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent

# Where the time goes, as cumulative time of these (non-overlapping) functions.
GROUPS = [
    ("import flowyml", "flowyml/__init__.py", "<module>"),
    ("import the pipeline module (numpy)", "pipeline_w2.py", "<module>"),
    ("import the generated steps module", "w1_steps.py", "<module>"),
    ("open the catalog (sqlite3; creates the schema in a fresh project)", "flowyml/stack.py",
     "open_runtime_catalog"),
    ("fingerprint step code", "flowyml/core/fingerprint.py", "fingerprint_graph"),
    ("cache lookups (catalog reads)", "flowyml/catalog/runtime_sql.py", "lookup_cache_many"),
    ("step bodies (the user's code)", "pipeline_w2.py", "*"),
    ("step bodies (the user's code)", "w1_steps.py", "*"),
    ("load step inputs from the store", "flowyml/objects.py", "load_object"),
    ("store outputs (serialize, hash, write one file each)", "flowyml/objects.py",
     "store_value"),
    ("record step results (the loop's side)", "flowyml/runtime/loop.py", "complete"),
    ("flush the run's catalog batch", "flowyml/runtime/recorder.py", "close"),
]

CHILD = r"""
import cProfile, io, json, pstats, sys, time
GROUPS = {groups!r}
sys.path.insert(0, {tools!r}); sys.path.insert(0, ".")
case, top, keep = {case!r}, {top}, {keep!r}
prof = cProfile.Profile()
if case.startswith("w2_"):
    t0 = time.perf_counter(); prof.enable()
    import flowyml as fm
    import pipeline_w2
    value = pipeline_w2.pipeline.run()["model"]
    prof.disable(); t = time.perf_counter() - t0
else:
    import flowyml as fm
    import bench_flowyml
    from _common import write_module
    shape, n = case.split("_")[1], {{"chain": 200, "fanout": 1000}}[case.split("_")[1]]
    src, final = bench_flowyml._w1_source(shape, n)
    write_module("w1_steps", src)
    t0 = time.perf_counter(); prof.enable()
    import w1_steps
    value = fm.Pipeline("w1", w1_steps.STEPS).run()[final]
    prof.disable(); t = time.perf_counter() - t0
if keep:
    prof.dump_stats(keep)
out = {{"case": case, "seconds": t, "value": value, "groups": []}}
raw = pstats.Stats(prof).stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
for label, suffix, func in GROUPS:
    ct = sum(v[3] for k, v in raw.items() if k[0].endswith(suffix)
             and (k[2] == func or (func == "*" and k[2] != "<module>")))
    if ct:
        out["groups"].append((label, ct))
out["total"] = sum(v[2] for v in raw.values())
for key in ("cumulative", "tottime"):
    s = io.StringIO()
    pstats.Stats(prof, stream=s).strip_dirs().sort_stats(key).print_stats(top)
    out[key] = s.getvalue()
print("PROFILE " + json.dumps(out))
"""


def profile(case: str, top: int, keep: str | None) -> dict:
    d = Path(tempfile.mkdtemp(prefix=f"fm-prof-{case}-"))
    try:
        (d / "flowyml.toml").write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWYML_")}
        if case.startswith("w2_"):
            shutil.copy(BENCH / "templates" / "w2_flowyml.py", d / "pipeline_w2.py")
        if case == "w2_unchanged":  # cold run first (not profiled), then the rerun
            subprocess.run([sys.executable, "-c", "import pipeline_w2; "
                            "pipeline_w2.pipeline.run()"], cwd=d, env=env, check=True,
                           capture_output=True)
            shutil.rmtree(d / "__pycache__", ignore_errors=True)
        code = CHILD.format(tools=str(HERE), case=case, top=top, keep=keep,
                            groups=GROUPS)
        p = subprocess.run([sys.executable, "-c", code], cwd=d, env=env, text=True,
                           capture_output=True)
        for line in p.stdout.splitlines():
            if line.startswith("PROFILE "):
                return json.loads(line[len("PROFILE "):])
        raise RuntimeError(f"{case}: {p.stderr[-2000:]}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--out", type=Path, default=None, help="keep <case>.prof files here")
    ap.add_argument("--cases", default="w1_chain,w1_fanout,w2_unchanged,w2_cold")
    ns = ap.parse_args()
    if ns.out:
        ns.out.mkdir(parents=True, exist_ok=True)
    for case in ns.cases.split(","):
        keep = str((ns.out / f"{case}.prof").resolve()) if ns.out else None
        r = profile(case, ns.top, keep)
        print(f"=== {case}: {r['seconds']:.3f} s profiled (value {r['value']})")
        rest = r["total"]
        for label, ct in r["groups"]:
            print(f"  {ct:7.3f} s {ct / r['total']:4.0%}  {label}")
            rest -= ct
        print(f"  {rest:7.3f} s {rest / r['total']:4.0%}  everything else")
        print(r["cumulative"])
        print(r["tottime"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
