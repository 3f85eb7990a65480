"""Helpers shared by the per-tool benchmark scripts.

Standard library only: this module is imported by every tool's own virtualenv
python (FlowyML's project venv and each peer's venv under benchmarks/.venvs/).
A tool script is always started in a fresh process with the work directory as
its cwd, and prints exactly one ``BENCH_RESULT {json}`` line that run.py parses.
"""

from __future__ import annotations

import argparse
import json
import os
import py_compile
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "
MARK_FILE = "executed.txt"

now = time.perf_counter


def parse_args() -> tuple[str, dict[str, Any]]:
    ap = argparse.ArgumentParser()
    ap.add_argument("workload")
    ap.add_argument("--params", default="{}", help="JSON object of workload parameters")
    ns = ap.parse_args()
    # Modules written into the work dir (generated W1 steps, W2/W5 pipelines) must import.
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    return ns.workload, json.loads(ns.params)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def proc_io() -> dict[str, int]:
    """This process's /proc/self/io counters (rchar = bytes passed to read(2)-like calls)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/io") as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k.strip()] = int(v)
    except OSError:
        pass
    return out


def reset_marks() -> None:
    try:
        os.remove(MARK_FILE)
    except FileNotFoundError:
        pass


def read_marks() -> list[str]:
    """Names of the steps whose bodies actually ran in this process (in order)."""
    try:
        with open(MARK_FILE) as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []


def write_module(name: str, source: str) -> None:
    """Write a generated module into the cwd and byte-compile it (outside any timing)."""
    path = Path(name + ".py")
    path.write_text(source)
    py_compile.compile(str(path), doraise=True)


def emit(**data: Any) -> None:
    data.setdefault("peak_rss_self_mb", round(peak_rss_mb(), 1))
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(data, default=str), flush=True)


def chain_expected(n: int) -> int:
    """W1 chain: a0 = 0, a_i = a_{i-1} + 1 -> a_{n-1} = n - 1."""
    return n - 1


def fanout_expected(n: int) -> int:
    """W1 fan-out: src = 1, f_i = src + i, sink = sum(f_i)."""
    return n + n * (n - 1) // 2


def w1_shapes(params: dict[str, Any]) -> tuple[str, int]:
    return params["shape"], int(params["n"])


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = now()
    out = fn()
    return now() - t0, out
