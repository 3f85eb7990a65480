"""Apache Hamilton: W1 (driver over a generated module), W2/W5 (with_cache), W3 (import)."""

from __future__ import annotations

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


def w3(params):
    t0 = now()
    from hamilton import driver  # noqa: F401

    return {"import_s": now() - t0}


def _w1_source(shape: str, n: int) -> tuple[str, str]:
    lines = ['"""Generated W1 dataflow (Hamilton: function name = node name)."""', ""]
    if shape == "chain":
        lines += ["def a0() -> int:", "    return 0", ""]
        for i in range(1, n):
            lines += [f"def a{i}(a{i - 1}: int) -> int:", f"    return a{i - 1} + 1", ""]
        return "\n".join(lines), f"a{n - 1}"
    lines += ["def src() -> int:", "    return 1", ""]
    for i in range(n):
        lines += [f"def f{i}(src: int) -> int:", f"    return src + {i}", ""]
    args = ", ".join(f"f{i}: int" for i in range(n))
    names = ", ".join(f"f{i}" for i in range(n))
    lines += [f"def total({args}) -> int:", f"    return sum(({names},))", ""]
    return "\n".join(lines), "total"


def w1(params):
    shape, n = w1_shapes(params)
    source, final = _w1_source(shape, n)
    write_module("w1_steps", source)
    t0 = now()
    from hamilton import driver

    t1 = now()
    import w1_steps

    dr = driver.Builder().with_modules(w1_steps).build()
    value = dr.execute([final])[final]
    t2 = now()
    expected = chain_expected(n) if shape == "chain" else fanout_expected(n)
    return {"lib_import_s": t1 - t0, "inproc_s": t2 - t1, "value": value,
            "correct": value == expected}


def _cached_driver(module):
    from hamilton import driver

    return driver.Builder().with_modules(module).with_cache(path=".hamilton_cache").build()


def w2(params):
    reset_marks()
    t0 = now()
    from hamilton import driver  # noqa: F401

    t1 = now()
    import pipeline_w2

    dr = _cached_driver(pipeline_w2)
    value = dr.execute(["model"])["model"]
    t2 = now()
    return {"lib_import_s": t1 - t0, "run_s": t2 - t1, "executed": read_marks(), "value": value}


def w5(params):
    reset_marks()
    t0 = now()
    from hamilton import driver  # noqa: F401

    t1 = now()
    import pipeline_w5

    dr = _cached_driver(pipeline_w5)
    io0 = proc_io()
    value = dr.execute(["summary"])["summary"]
    io1 = proc_io()
    t2 = now()
    return {"lib_import_s": t1 - t0, "run_s": t2 - t1, "executed": read_marks(), "value": value,
            "rchar_run": io1.get("rchar", 0) - io0.get("rchar", 0)}


def main():
    workload, params = parse_args()
    emit(**{"w1": w1, "w2": w2, "w3": w3, "w5": w5}[workload](params))


if __name__ == "__main__":
    main()
