"""W6 — inputs shared without copies.

Two parallel steps each read the same large float64 array (500 MB by default) on the
``processes:2`` executor. FlowyML sends the workers the array's hash; each worker
memory-maps the stored ``.npy`` read-only, so both share the page cache's single copy
and their private memory (USS) barely grows. The baseline runs the same two readers
in a ``concurrent.futures.ProcessPoolExecutor`` (spawn) with the array pickled to each
worker as an argument — every worker then holds a private copy.

Reported per mode:

* ``uss_sum_mb``: the sum over the two reader processes of their peak USS (private
  memory, psutil ``memory_full_info().uss``), sampled every 20 ms while the readers
  run; they touch every page, then hold the array for ``--hold`` seconds.
* ``idle_uss_sum_mb`` and ``uss_above_idle_mb``: the same measurement with a
  1-element array, and the difference — the private memory the array itself costs.
* ``store_objects_read`` / ``store_bytes_read_mb`` / ``cache_objects_read``: from
  ``run.io`` (workers' store traffic is added to the driver's counters). The baseline
  reads the store once in the driver, then copies through pipes.

With a local-folder store, the "store" is the local disk: each worker opens (maps)
the one object file, which ``run.io`` counts as one read each, but the bytes exist once
in memory. With ``--s3`` (needs the SeaweedFS test server, ``scripts/install-test-deps.sh``)
the store is an S3 bucket read through the machine's local cache: the object is
fetched from the store once and the second worker maps the cached file.

Target: the workers' private memory attributable to the array under 10% of its size,
and the store read once.

    python benchmarks/w6_shared_input.py [--size-mb 500] [--hold 1.0] [--s3] [--json]

Prints a table (unless ``--json``) and one ``BENCH_RESULT {json}`` line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "
MB = 2**20
READERS = 2
RELEASED = "released"  # mark file: a reader is about to let go of the array


# ---------------------------------------------------------------- the readers
def _read_and_hold(arr: Any, hold: float, marks: str) -> dict[str, Any]:
    """What each reader does: touch every page (a full reduction), say so with a file
    in ``marks``, wait for the other reader to get there too, then hold the array."""
    total = float(arr.sum())
    Path(marks, str(os.getpid())).touch()
    deadline = time.time() + 60
    while len(_reader_pids(marks)) < READERS and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(hold)
    # Say so before letting go of the array: once one reader unmaps it, the pages the
    # other still maps count as private to that one, which is not what is measured.
    Path(marks, RELEASED).touch()
    return {"sum": total, "pid": os.getpid(), "writeable": bool(arr.flags.writeable)}


def _reader_pids(marks: str) -> list[int]:
    return [int(x) for x in os.listdir(marks) if x.isdigit()]


def _pickled_reader(arr: Any, hold: float, marks: str) -> dict[str, Any]:  # baseline
    return _read_and_hold(arr, hold, marks)


class _Sampler(threading.Thread):
    """Peak USS of the readers, sampled every ``interval`` while all of them hold the
    array (all their marks exist, and none has said it is letting go). A mapped file
    page counts as private to a process while no other process maps it, so sampling
    while one reader is still scanning, or after another has started to unmap, would
    count pages that are shared while both hold the array. A sample is kept only if no
    reader had started letting go by the time it was taken."""

    def __init__(self, marks: str, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.marks = marks
        self.interval = interval
        self.peak: dict[int, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        released = os.path.join(self.marks, RELEASED)
        while not self._stop_event.is_set():
            pids = _reader_pids(self.marks)
            if len(pids) >= READERS and not os.path.exists(released):
                sample: dict[int, int] = {}
                for pid in pids:
                    try:
                        sample[pid] = psutil.Process(pid).memory_full_info().uss
                    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                        continue
                if not os.path.exists(released):  # nobody let go while sampling
                    for pid, uss in sample.items():
                        self.peak[pid] = max(uss, self.peak.get(pid, 0))
            self._stop_event.wait(self.interval)

    def stop(self) -> dict[int, int]:
        self._stop_event.set()
        self.join()
        return self.peak


# ---------------------------------------------------------------- flowyml
def _reader_pipeline(asset: str) -> Any:
    import flowyml as fm

    @fm.step(outputs="left_read", inputs={"arr": f"{asset}@latest"}, cache=False)
    def left(arr: Any, hold: float, marks: str) -> dict[str, Any]:
        return _read_and_hold(arr, hold, marks)

    @fm.step(outputs="right_read", inputs={"arr": f"{asset}@latest"}, cache=False)
    def right(arr: Any, hold: float, marks: str) -> dict[str, Any]:
        return _read_and_hold(arr, hold, marks)

    return fm.Pipeline(f"w6_read_{asset}", [left, right])


def _produce(asset: str, n: int) -> None:
    import numpy as np

    import flowyml as fm

    @fm.step(outputs=asset)
    def make(n: int = n) -> Any:
        return np.arange(n, dtype=np.float64)

    fm.Pipeline(f"w6_make_{asset}", [make]).run(executor="inline")


def _flowyml_readers(asset: str, hold: float, executor: str) -> dict[str, Any]:
    pipe = _reader_pipeline(asset)
    marks = tempfile.mkdtemp(prefix="w6-marks-")
    sampler = _Sampler(marks)
    sampler.start()
    t0 = time.perf_counter()
    run = pipe.run(params={"hold": hold, "marks": marks}, executor=executor)
    seconds = time.perf_counter() - t0
    peaks = sampler.stop()
    shutil.rmtree(marks, ignore_errors=True)
    reads = [run["left_read"], run["right_read"]]
    pids = [r["pid"] for r in reads]
    return {
        "uss_sum_mb": sum(peaks.get(p, 0) for p in pids) / MB,
        "seconds": seconds,
        "io": dict(run.io),
        "read_only": not any(r["writeable"] for r in reads),
        "sums": [r["sum"] for r in reads],
    }


def measure_flowyml(
    size_mb: float, hold: float, executor: str = "processes:2", fresh_cache: Path | None = None
) -> dict[str, Any]:
    """Run in the current directory's project (an empty flowyml.toml is enough).
    ``fresh_cache``: a remote store's local cache folder, emptied after the array is
    produced, so the readers start as on another machine and must fetch it."""
    n = int(size_mb * MB) // 8
    _produce("w6_tiny", 1)
    _produce("w6_big", n)
    gc.collect()
    if fresh_cache is not None:
        from flowyml.stack import clear_opened

        clear_opened()
        shutil.rmtree(fresh_cache, ignore_errors=True)
    idle = _flowyml_readers("w6_tiny", hold, executor)
    big = _flowyml_readers("w6_big", hold, executor)
    io = big["io"]
    return {
        "uss_sum_mb": big["uss_sum_mb"],
        "idle_uss_sum_mb": idle["uss_sum_mb"],
        "uss_above_idle_mb": big["uss_sum_mb"] - idle["uss_sum_mb"],
        "store_objects_read": io.get("store_objects_read", 0),
        "store_bytes_read_mb": io.get("store_bytes_read", 0) / MB,
        "cache_objects_read": io.get("cache_objects_read", 0),
        "read_only_inputs": big["read_only"],
        "seconds": big["seconds"],
        "correct": big["sums"][0] == big["sums"][1] == float(n * (n - 1) / 2),
    }


# ---------------------------------------------------------------- baseline
def _pickled_readers(arr: Any, hold: float) -> dict[str, Any]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    marks = tempfile.mkdtemp(prefix="w6-marks-")
    sampler = _Sampler(marks)
    sampler.start()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futs = [pool.submit(_pickled_reader, arr, hold, marks) for _ in range(READERS)]
        reads = [f.result() for f in futs]
    seconds = time.perf_counter() - t0
    peaks = sampler.stop()
    shutil.rmtree(marks, ignore_errors=True)
    return {
        "uss_sum_mb": sum(peaks.get(r["pid"], 0) for r in reads) / MB,
        "seconds": seconds,
        "pids": len({r["pid"] for r in reads}),
    }


def measure_pickled(size_mb: float, hold: float) -> dict[str, Any]:
    """The same two readers with the array pickled to each worker (read once by the
    driver from the store the flowyml run used)."""
    import numpy as np

    import flowyml as fm

    stack = fm.Stack().resolve()
    store = stack.open_store()
    before = store.stats.snapshot()
    big = fm.Catalog(stack).get("w6_big")
    arr = np.load(store.local_path(big.content_hash), allow_pickle=False)  # one read
    io = {k: v - before.get(k, 0) for k, v in store.stats.snapshot().items()}
    idle = _pickled_readers(np.zeros(1), hold)
    full = _pickled_readers(arr, hold)
    del arr
    gc.collect()
    return {
        "uss_sum_mb": full["uss_sum_mb"],
        "idle_uss_sum_mb": idle["uss_sum_mb"],
        "uss_above_idle_mb": full["uss_sum_mb"] - idle["uss_sum_mb"],
        "store_objects_read": io.get("store_objects_read", 0),
        "store_bytes_read_mb": io.get("store_bytes_read", 0) / MB,
        "cache_objects_read": io.get("cache_objects_read", 0),
        "seconds": full["seconds"],
        "two_workers": full["pids"] == 2,
    }


# ---------------------------------------------------------------- driver
def run_benchmark(
    size_mb: float = 500, hold: float = 1.0, workdir: Path | None = None,
    store: str | None = None, storage_options: dict[str, Any] | None = None,
    baseline: bool = True,
) -> dict[str, Any]:
    """Both modes in a fresh project under ``workdir`` (a temp dir by default)."""
    from flowyml.stack import clear_opened

    owned = workdir is None
    root = Path(tempfile.mkdtemp(prefix="w6-")) if workdir is None else Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    toml = ""
    if store:
        toml = f'[stacks.default]\nstore = "{store}"\ncache_dir = "{root / "cache"}"\n'
        if storage_options:
            toml += f"storage_options = {_toml_inline(storage_options)}\n"
    (root / "flowyml.toml").write_text(toml)
    cwd = os.getcwd()
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("FLOWYML_")}
    os.chdir(root)
    os.environ["FLOWYML_ROOT"] = str(root)  # its pipelines live in benchmarks/, its project here
    clear_opened()
    try:
        result: dict[str, Any] = {"array_mb": size_mb, "store": store or "local folder"}
        result["flowyml"] = measure_flowyml(
            size_mb, hold, fresh_cache=root / "cache" if store else None
        )
        if baseline:
            result["pickled"] = measure_pickled(size_mb, hold)
        f = result["flowyml"]
        result["target_met"] = {
            "private_memory_under_10pct": f["uss_above_idle_mb"] < 0.10 * size_mb,
            # a local-folder store is the local disk: each worker maps the one file,
            # counted as one read each; a remote store must be fetched once
            "store_read_once": f["store_objects_read"] == 1 if store else None,
        }
        return result
    finally:
        clear_opened()
        os.chdir(cwd)
        os.environ.pop("FLOWYML_ROOT", None)
        os.environ.update(saved)
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def _toml_inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_inline(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _fmt(v: Any) -> str:
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def _table(r: dict[str, Any]) -> str:
    rows = [("", "flowyml (hashes, mmap)", "pickled to workers")]
    p = r.get("pickled", {})
    for key, label in [
        ("uss_sum_mb", "workers' USS, sum (MB)"),
        ("idle_uss_sum_mb", "  same with a 1-element array"),
        ("uss_above_idle_mb", "  private memory for the array"),
        ("store_objects_read", "store objects read"),
        ("store_bytes_read_mb", "store MB read"),
        ("cache_objects_read", "local-cache objects read"),
        ("seconds", "seconds"),
    ]:
        fv, pv = r["flowyml"].get(key, "-"), p.get(key, "-")
        rows.append((label, _fmt(fv), _fmt(pv)))
    w = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"W6 shared input: 2 readers x {r['array_mb']:g} MB array, store: {r['store']}"]
    lines += ["  ".join(c.ljust(w[i]) for i, c in enumerate(row)) for row in rows]
    lines.append(f"target met: {r['target_met']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=float, default=500)
    ap.add_argument("--hold", type=float, default=1.0, help="seconds each reader holds the array")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--s3", action="store_true", help="store in a SeaweedFS S3 bucket")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json", action="store_true", help="only the BENCH_RESULT line")
    ns = ap.parse_args(argv)
    server = None
    store = options = None
    if ns.s3:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.servers import start_seaweedfs

        server = start_seaweedfs(tempfile.mkdtemp(prefix="w6-s3-"))
        server.make_bucket("w6-bench")
        store, options = "s3://w6-bench/objects", server.storage_options()
    try:
        result = run_benchmark(ns.size_mb, ns.hold, ns.workdir, store, options,
                               baseline=not ns.no_baseline)
    finally:
        if server is not None:
            server.stop()
    if not ns.json:
        print(_table(result))
    print(RESULT_PREFIX + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
