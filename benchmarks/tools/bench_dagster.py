"""Dagster: @asset definitions materialized in process with ``materialize``.

``materialize`` always executes every selected asset (there is no cross-run
memoization in it), so W2 recomputes everything on every run and W5 is not applicable.
It runs against the default ephemeral instance with its default filesystem IO manager.
"""

from __future__ import annotations

from _common import (
    chain_expected,
    emit,
    fanout_expected,
    now,
    parse_args,
    read_marks,
    reset_marks,
    w1_shapes,
    write_module,
)


def w3(params):
    t0 = now()
    from dagster import asset, materialize  # noqa: F401

    return {"import_s": now() - t0}


def _w1_source(shape: str, n: int) -> tuple[str, str]:
    lines = ['"""Generated W1 assets (Dagster)."""', "from dagster import asset", ""]
    names = []
    if shape == "chain":
        lines += ["@asset", "def a0() -> int:", "    return 0", ""]
        names.append("a0")
        for i in range(1, n):
            lines += ["@asset", f"def a{i}(a{i - 1}: int) -> int:", f"    return a{i - 1} + 1", ""]
            names.append(f"a{i}")
        final = f"a{n - 1}"
    else:
        lines += ["@asset", "def src() -> int:", "    return 1", ""]
        names.append("src")
        for i in range(n):
            lines += ["@asset", f"def f{i}(src: int) -> int:", f"    return src + {i}", ""]
            names.append(f"f{i}")
        args = ", ".join(f"f{i}: int" for i in range(n))
        fs = ", ".join(f"f{i}" for i in range(n))
        lines += ["@asset", f"def total({args}) -> int:", f"    return sum(({fs},))", ""]
        names.append("total")
        final = "total"
    lines += ["ASSETS = [" + ", ".join(names) + "]", ""]
    return "\n".join(lines), final


def w1(params):
    shape, n = w1_shapes(params)
    source, final = _w1_source(shape, n)
    write_module("w1_steps", source)
    t0 = now()
    from dagster import asset, materialize  # noqa: F401

    t1 = now()
    import w1_steps

    result = materialize(w1_steps.ASSETS)
    value = result.output_for_node(final)
    t2 = now()
    expected = chain_expected(n) if shape == "chain" else fanout_expected(n)
    return {"lib_import_s": t1 - t0, "inproc_s": t2 - t1, "value": value,
            "correct": value == expected}


def w2(params):
    reset_marks()
    t0 = now()
    from dagster import asset, materialize  # noqa: F401

    t1 = now()
    import pipeline_w2

    result = materialize(pipeline_w2.ASSETS)
    value = result.output_for_node("model")
    t2 = now()
    return {"lib_import_s": t1 - t0, "run_s": t2 - t1, "executed": read_marks(), "value": value}


def main():
    workload, params = parse_args()
    emit(**{"w1": w1, "w2": w2, "w3": w3}[workload](params))


if __name__ == "__main__":
    main()
