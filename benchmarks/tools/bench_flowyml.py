"""FlowyML (this repository), from the project venv: W1-W5, and W2 in plain Python.

Steps are plain functions decorated with ``@fm.step``; a parameter named like an
asset is that asset. Runs use the defaults, so the store, the SQLite catalog and
the lineage are all recorded under ``<work dir>/.flowyml`` (run.py puts a
flowyml.toml in every work dir to make it the project root).
"""

from __future__ import annotations

import os

from _common import (
    chain_expected,
    emit,
    fanout_expected,
    now,
    parse_args,
    proc_io,
    read_marks,
    reset_marks,
    w1_shapes,
    write_module,
)

# The pipelines are built here, in benchmarks/tools (this repository's project), but
# belong to the work dir run.py prepared: say so, as a user would with FLOWYML_ROOT.
os.environ.setdefault("FLOWYML_ROOT", os.getcwd())


def w3(params):
    t0 = now()
    import flowyml as fm

    fm.Pipeline  # noqa: B018 - what a user touches to define and run a pipeline
    fm.step  # noqa: B018
    return {"import_s": now() - t0}


def _w1_source(shape: str, n: int) -> tuple[str, str]:
    lines = ['"""Generated W1 steps (FlowyML)."""', "import flowyml as fm", ""]
    names = []
    if shape == "chain":
        lines += ['@fm.step(outputs="a0")', "def s0():", "    return 0", ""]
        names.append("s0")
        for i in range(1, n):
            lines += [f'@fm.step(outputs="a{i}")', f"def s{i}(a{i - 1}):",
                      f"    return a{i - 1} + 1", ""]
            names.append(f"s{i}")
        final = f"a{n - 1}"
    else:
        lines += ['@fm.step(outputs="src")', "def source():", "    return 1", ""]
        names.append("source")
        for i in range(n):
            lines += [f'@fm.step(outputs="f{i}")', f"def s{i}(src):", f"    return src + {i}", ""]
            names.append(f"s{i}")
        fs = ", ".join(f"f{i}" for i in range(n))
        lines += ['@fm.step(outputs="total")', f"def sink({fs}):", f"    return sum(({fs},))", ""]
        names.append("sink")
        final = "total"
    lines += ["STEPS = [" + ", ".join(names) + "]", ""]
    return "\n".join(lines), final


def _io(run) -> dict | None:
    io = getattr(run, "io", None)
    return dict(io) if io is not None else None


def _steps(run) -> dict:
    out = {}
    for name, s in run.steps.items():
        out[name] = {"cached": bool(getattr(s, "cached", False)),
                     "reason": str(getattr(s, "reason", ""))}
    return out


def w1(params):
    shape, n = w1_shapes(params)
    source, final = _w1_source(shape, n)
    write_module("w1_steps", source)
    t0 = now()
    import flowyml as fm

    t1 = now()
    import w1_steps

    pipe = fm.Pipeline("w1", w1_steps.STEPS)
    run = pipe.run()
    value = run[final]
    t2 = now()
    expected = chain_expected(n) if shape == "chain" else fanout_expected(n)
    return {"lib_import_s": t1 - t0, "inproc_s": t2 - t1, "value": value,
            "correct": value == expected}


def w2(params):
    reset_marks()
    t0 = now()
    import flowyml as fm  # noqa: F401

    t1 = now()
    import pipeline_w2

    run = pipeline_w2.pipeline.run()
    value = run["model"]
    t2 = now()
    return {"lib_import_s": t1 - t0, "run_s": t2 - t1, "executed": read_marks(), "value": value,
            "tool_steps": _steps(run), "io": _io(run)}


def w2plain(params):
    """W2's first run without a framework: the same module with the decorators removed
    (run.py writes it), its three functions called in turn -- the issue's "plain Python"."""
    reset_marks()
    t0 = now()
    import pipeline_w2

    value = pipeline_w2.train(pipeline_w2.transform(pipeline_w2.load()))
    return {"run_s": now() - t0, "executed": read_marks(), "value": value}


def w5(params):
    reset_marks()
    t0 = now()
    import flowyml as fm  # noqa: F401

    t1 = now()
    import pipeline_w5

    io0 = proc_io()
    run = pipeline_w5.pipeline.run()
    io1 = proc_io()
    value = run["summary"]
    io2 = proc_io()
    t2 = now()
    return {"lib_import_s": t1 - t0, "run_s": t2 - t1, "executed": read_marks(), "value": value,
            "rchar_run": io1.get("rchar", 0) - io0.get("rchar", 0),
            "rchar_value": io2.get("rchar", 0) - io1.get("rchar", 0),
            "tool_steps": _steps(run), "io": _io(run)}


def w4(params):
    """BLAKE3 content hashing (every core, for a big array) vs a memory copy of it."""
    import numpy as np

    try:
        from flowyml.core.hashing import hash_bytes

        hasher = "flowyml.core.hashing.hash_bytes"
    except ImportError:  # pragma: no cover - fall back to the package FlowyML uses
        import blake3

        def hash_bytes(data):
            return blake3.blake3(data).hexdigest()

        hasher = "blake3.blake3"
    size = int(params["size"])
    repeats = int(params.get("repeats", 3))
    src = np.arange(size // 8, dtype=np.uint64)
    dst = np.empty_like(src)
    dst.fill(1)  # fault the destination pages in before timing
    copy_s, hash_s = [], []
    for _ in range(repeats):
        t0 = now()
        np.copyto(dst, src)
        copy_s.append(now() - t0)
        t0 = now()
        hash_bytes(memoryview(src).cast("B"))
        hash_s.append(now() - t0)
    gib = size / 2**30
    best_copy, best_hash = min(copy_s), min(hash_s)
    return {"hasher": hasher, "size": size, "copy_gib_s": gib / best_copy,
            "hash_gib_s": gib / best_hash, "ratio": best_copy / best_hash}


def main():
    workload, params = parse_args()
    emit(**{"w1": w1, "w2": w2, "w2plain": w2plain, "w3": w3, "w4": w4,
             "w5": w5}[workload](params))


if __name__ == "__main__":
    main()
