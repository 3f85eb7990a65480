"""Kedro (library API): Pipeline of nodes run by SequentialRunner over an in-memory DataCatalog.

Kedro has no cross-run result cache (``only_missing_outputs`` skips nodes whose persisted
outputs merely exist, with no notion of code or input changes), so W2 recomputes
everything on every run and W5 is not applicable. Kedro's logging is switched off.
"""

from __future__ import annotations

import logging

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


def _quiet() -> None:
    logging.disable(logging.WARNING)


def w3(params):
    t0 = now()
    from kedro.io import DataCatalog  # noqa: F401
    from kedro.pipeline import Pipeline, node  # noqa: F401
    from kedro.runner import SequentialRunner  # noqa: F401

    return {"import_s": now() - t0}


def _w1_source(shape: str, n: int) -> tuple[str, str]:
    lines = ['"""Generated W1 pipeline (Kedro nodes)."""', "from kedro.pipeline import Pipeline, node", ""]
    nodes = []
    if shape == "chain":
        lines += ["def s0():", "    return 0", ""]
        nodes.append('node(s0, inputs=None, outputs="a0", name="s0")')
        for i in range(1, n):
            lines += [f"def s{i}(a{i - 1}):", f"    return a{i - 1} + 1", ""]
            nodes.append(f'node(s{i}, inputs="a{i - 1}", outputs="a{i}", name="s{i}")')
        final = f"a{n - 1}"
    else:
        lines += ["def source():", "    return 1", ""]
        nodes.append('node(source, inputs=None, outputs="src", name="source")')
        for i in range(n):
            lines += [f"def s{i}(src):", f"    return src + {i}", ""]
            nodes.append(f'node(s{i}, inputs="src", outputs="f{i}", name="s{i}")')
        names = ", ".join(f"f{i}" for i in range(n))
        lines += [f"def sink({names}):", f"    return sum(({names},))", ""]
        ins = ", ".join(f'"f{i}"' for i in range(n))
        nodes.append(f'node(sink, inputs=[{ins}], outputs="total", name="sink")')
        final = "total"
    lines += ["pipeline = Pipeline(["] + [f"    {x}," for x in nodes] + ["])", ""]
    return "\n".join(lines), final


def _run(pipe):
    from kedro.io import DataCatalog
    from kedro.runner import SequentialRunner

    return SequentialRunner().run(pipe, DataCatalog())


def w1(params):
    shape, n = w1_shapes(params)
    source, final = _w1_source(shape, n)
    write_module("w1_steps", source)
    t0 = now()
    from kedro.io import DataCatalog  # noqa: F401
    from kedro.pipeline import Pipeline, node  # noqa: F401
    from kedro.runner import SequentialRunner  # noqa: F401

    _quiet()
    t1 = now()
    import w1_steps

    value = _run(w1_steps.pipeline)[final].load()
    t2 = now()
    expected = chain_expected(n) if shape == "chain" else fanout_expected(n)
    return {"lib_import_s": t1 - t0, "inproc_s": t2 - t1, "value": value,
            "correct": value == expected}


def w2(params):
    reset_marks()
    t0 = now()
    from kedro.io import DataCatalog  # noqa: F401
    from kedro.pipeline import Pipeline, node  # noqa: F401
    from kedro.runner import SequentialRunner  # noqa: F401

    _quiet()
    t1 = now()
    import pipeline_w2

    value = _run(pipeline_w2.pipeline)["model"].load()
    t2 = now()
    return {"lib_import_s": t1 - t0, "run_s": t2 - t1, "executed": read_marks(), "value": value}


def main():
    workload, params = parse_args()
    emit(**{"w1": w1, "w2": w2, "w3": w3}[workload](params))


if __name__ == "__main__":
    main()
