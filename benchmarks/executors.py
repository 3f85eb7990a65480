"""Do parallel executors pay for themselves? A fan-out of N steps that each sleep S ms.

    .venv/bin/python benchmarks/executors.py [--n 100] [--sleep-ms 50] [--reps 3]
                                             [--out benchmarks/executors.md]

Each (executor, size, repetition) is a fresh process in a fresh project under
``benchmarks/.work/executors/``; every step re-executes (a salt in the steps' module
changes per process). The ideal is ``N x S / workers``. Each executor runs N and 2N
steps: *overhead per step* is the slope, ``((run(2N) - run(N)) - N x S / workers) x
workers / N``, the time a worker spends per step beyond the step's own sleep, with
whatever happens once (worker processes importing FlowyML, Dask's local cluster)
cancelled out; *start-up* is what remains of run(N) above its ideal and N such
overheads. The same fan-out also runs without FlowyML (a ``ProcessPoolExecutor(2)``, and
Dask's ``client.map`` on the same local cluster), measured the same way: the per-task
cost of the machinery itself, against which the Dask target (Dask's own cost plus 2 ms)
is judged.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work" / "executors"
EXECUTORS = [("inline", 1), ("processes:2", 2), ("dask", 2)]
# The same fan-out without FlowyML, for the per-task cost of the machinery itself: the
# Dask target is "Dask's own per-task cost plus 2 ms".
BARE = [("bare-pool", 2), ("bare-dask", 2)]
LABELS = {"bare-pool": "`ProcessPoolExecutor(2)` alone",
          "bare-dask": "Dask alone (same cluster, `client.map`)"}
TARGET_MS = {"processes:2": ("<= 2.0 ms", lambda per, bare: per <= 2.0),
             "dask": ("<= Dask alone + 2 ms", lambda per, bare: per <= bare["bare-dask"] + 2.0)}

CHILD = r"""
import json, sys, time

def main():
    sys.path.insert(0, ".")
    import flowyml as fm
    import fan_steps
    from flowyml.executors import dask as fdask

    startup = []
    init = fdask.DaskExecutor.__init__

    def timed_init(self, *a, **k):
        t = time.perf_counter()
        init(self, *a, **k)
        startup.append(time.perf_counter() - t)

    fdask.DaskExecutor.__init__ = timed_init
    pipe = fm.Pipeline("fan", fan_steps.STEPS)
    pipe.build()  # fingerprints and the first catalog open: not the executor's cost
    t0 = time.perf_counter()
    run = pipe.run(executor=sys.argv[1])
    wall = time.perf_counter() - t0
    executed = sum(1 for s in run.steps.values() if not s.cached)
    print("RESULT " + json.dumps({"wall": wall, "startup": sum(startup), "executed": executed}))

if __name__ == "__main__":
    main()
"""

# The bare fan-out: the module's function (a worker imports it by name, as FlowyML's
# steps of a module travel), one task per element, every task submitted at once.
BARE_CHILD = r"""
import json, sys, time

def main():
    sys.path.insert(0, ".")
    import fan_steps
    n = len(fan_steps.STEPS) - 1
    startup = 0.0
    t0 = time.perf_counter()
    if sys.argv[1] == "bare-pool":
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(2) as pool:
            out = list(pool.map(fan_steps.bare, range(n)))
    else:
        import dask
        from distributed import Client, LocalCluster
        t = time.perf_counter()
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=40)
        client = Client(cluster, set_as_default=False)
        startup = time.perf_counter() - t
        out = client.gather(client.map(fan_steps.bare, range(n), pure=False))
        client.close()
        cluster.close()
    wall = time.perf_counter() - t0
    assert out == [1 + i + fan_steps.SALT for i in range(n)], out[:3]
    print("RESULT " + json.dumps({"wall": wall, "startup": startup, "executed": n}))

if __name__ == "__main__":
    main()
"""


def _steps_module(n: int, sleep_ms: float) -> str:
    # the salt is written in the module (a worker imports it), not set on it by the
    # driver: a worker would refuse a step whose module state the driver changed
    salt = time.time_ns() % 10**9
    lines = ["import time", "import flowyml as fm", "", f"SALT = {salt}",
             f"SLEEP = {sleep_ms / 1000!r}",
             "", '@fm.step(outputs="src")', "def source():", "    return 1", ""]
    for i in range(n):
        lines += [f'@fm.step(outputs="f{i}")', f"def s{i}(src):", "    time.sleep(SLEEP)",
                  f"    return src + {i} + SALT", ""]
    lines.append("STEPS = [source, " + ", ".join(f"s{i}" for i in range(n)) + "]")
    lines += ["", "", "def bare(i):  # one fan-out step's body, for the bare baselines",
              "    time.sleep(SLEEP)", "    return 1 + i + SALT"]
    return "\n".join(lines) + "\n"


def run_one(executor: str, n: int, sleep_ms: float, rep: int) -> dict[str, float]:
    d = WORK / f"{executor.replace(':', '-')}-rep{rep}"
    if d.exists():
        import shutil

        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / "flowyml.toml").write_text("")
    (d / "fan_steps.py").write_text(_steps_module(n, sleep_ms))
    (d / "child.py").write_text(BARE_CHILD if executor.startswith("bare-") else CHILD)
    env = {**os.environ, "FLOWYML_ROOT": str(d)}
    out = subprocess.run([sys.executable, "child.py", executor], cwd=d, env=env,
                         capture_output=True, text=True, timeout=600)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{executor}: no result\n{out.stdout}\n{out.stderr}")
    got = json.loads(line[len("RESULT "):])
    if got["executed"] < n:  # every fan-out step (and the source, in a fresh project)
        raise RuntimeError(f"{executor}: {got['executed']} steps executed, expected {n} or more")
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--sleep-ms", type=float, default=50.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=str(BENCH / "executors.md"))
    args = ap.parse_args()
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    everything = EXECUTORS + BARE
    for rep in range(args.reps):
        order = everything[rep % len(everything):] + everything[: rep % len(everything)]
        for executor, _ in order:
            for n in (args.n, 2 * args.n):
                got = run_one(executor, n, args.sleep_ms, rep)
                results.setdefault((executor, n), []).append(got)
                print(f"rep {rep + 1} {executor:12} {n:5} {got}", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH,
                            capture_output=True, text=True).stdout.strip()
    rows = [
        f"# Executors: a fan-out of {args.n} steps that each sleep {args.sleep_ms:g} ms",
        "",
        f"Generated by `benchmarks/executors.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f", {os.cpu_count()} cores, Python {platform.python_version()}, FlowyML at {commit}; "
        f"median of {args.reps} fresh processes. *Run* is `pipeline.run()` after `build()`; "
        "*start-up* is the executor's own (Dask: the local cluster and its workers' "
        "imports), measured as what run(N) spends beyond its ideal and N per-step "
        "overheads; *overhead per step* is the slope between N and 2N steps (see the "
        "script's docstring). Dask's cluster start-up is also timed directly "
        "(`DaskExecutor()`).",
        "",
        f"| Executor | Workers | Ideal s ({args.n}) | Run s ({args.n}) | Run s ({2 * args.n}) "
        "| Start-up s | Dask cluster s | Overhead per step ms | Target | Met? |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    n = args.n
    per_step: dict[str, float] = {}
    table: list[tuple[str, int, float, float, float, float, float]] = []
    for executor, workers in everything:
        wall = statistics.median(r["wall"] for r in results[(executor, n)])
        wall2 = statistics.median(r["wall"] for r in results[(executor, 2 * n)])
        cluster = statistics.median(r["startup"] for r in results[(executor, n)])
        ideal = n * args.sleep_ms / 1000 / workers
        per = ((wall2 - wall) - ideal) * workers / n
        start = wall - ideal - per * n / workers
        per_step[executor] = per * 1000
        table.append((executor, workers, ideal, wall, wall2, start, cluster))
    for executor, workers, ideal, wall, wall2, start, cluster in table:
        label = LABELS.get(executor, f"`{executor}`")
        target, met = TARGET_MS.get(executor, ("", None))
        verdict = "" if met is None else ("met" if met(per_step[executor], per_step)
                                          else "**missed**")
        rows.append(f"| {label} | {workers} | {ideal:.2f} | {wall:.2f} | {wall2:.2f} "
                    f"| {start:.2f} | {cluster:.2f} | {per_step[executor]:.1f} | {target} "
                    f"| {verdict} |")
    rows += ["", "The two *alone* rows run the same steps' bodies (a function of the same "
             "module that sleeps as long) with no FlowyML: every task submitted at once "
             "(`pool.map`, `client.map`), nothing stored or recorded. Their overhead is "
             "the machinery's own per-task cost; the Dask target is that of Dask alone "
             "plus 2 ms."]
    text = "\n".join(rows) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
