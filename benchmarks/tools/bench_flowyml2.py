"""FlowyML 2.x (the PyPI ``flowyml`` package): @step functions in a Pipeline.

Runs with its defaults (``cache="code_hash"`` per step, checkpointing and
experiment tracking on), except that ``run(auto_start_ui=False)`` stops it from
spawning its web UI server. FLOWYML_HOME is pointed at the work dir by run.py.
"""

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
    from flowyml import Pipeline, step  # noqa: F401

    return {"import_s": now() - t0}


def _w1_source(shape: str, n: int) -> tuple[str, str]:
    lines = ['"""Generated W1 steps (FlowyML 2.x)."""', "from flowyml import step", ""]
    names = []
    if shape == "chain":
        lines += ['@step(outputs=["a0"])', "def s0():", "    return 0", ""]
        names.append("s0")
        for i in range(1, n):
            lines += [f'@step(inputs=["a{i - 1}"], outputs=["a{i}"])', f"def s{i}(a{i - 1}):",
                      f"    return a{i - 1} + 1", ""]
            names.append(f"s{i}")
        final = f"a{n - 1}"
    else:
        lines += ['@step(outputs=["src"])', "def source():", "    return 1", ""]
        names.append("source")
        for i in range(n):
            lines += [f'@step(inputs=["src"], outputs=["f{i}"])', f"def s{i}(src):",
                      f"    return src + {i}", ""]
            names.append(f"s{i}")
        fs = ", ".join(f"f{i}" for i in range(n))
        ins = ", ".join(f'"f{i}"' for i in range(n))
        lines += [f'@step(inputs=[{ins}], outputs=["total"])', f"def sink({fs}):",
                  f"    return sum(({fs},))", ""]
        names.append("sink")
        final = "total"
    lines += ["STEPS = [" + ", ".join(names) + "]", ""]
    return "\n".join(lines), final


def w1(params):
    shape, n = w1_shapes(params)
    source, final = _w1_source(shape, n)
    write_module("w1_steps", source)
    t0 = now()
    from flowyml import Pipeline, step  # noqa: F401

    t1 = now()
    import w1_steps

    pipe = Pipeline.from_steps(*w1_steps.STEPS, name="w1")
    result = pipe.run(auto_start_ui=False)
    value = result[final]
    t2 = now()
    expected = chain_expected(n) if shape == "chain" else fanout_expected(n)
    return {"lib_import_s": t1 - t0, "inproc_s": t2 - t1, "value": value,
            "correct": value == expected, "success": bool(result.success)}


def _step_cache(result) -> dict:
    return {k: bool(getattr(v, "cached", False)) for k, v in result.step_results.items()}


def w2(params):
    reset_marks()
    t0 = now()
    from flowyml import Pipeline, step  # noqa: F401

    t1 = now()
    import pipeline_w2

    result = pipeline_w2.pipeline.run(auto_start_ui=False)
    value = result["model"]
    t2 = now()
    return {"lib_import_s": t1 - t0, "run_s": t2 - t1, "executed": read_marks(), "value": value,
            "tool_cached": _step_cache(result)}


def w5(params):
    reset_marks()
    t0 = now()
    from flowyml import Pipeline, step  # noqa: F401

    t1 = now()
    import pipeline_w5

    io0 = proc_io()
    result = pipeline_w5.pipeline.run(auto_start_ui=False)
    value = result["summary"]
    io1 = proc_io()
    t2 = now()
    return {"lib_import_s": t1 - t0, "run_s": t2 - t1, "executed": read_marks(), "value": value,
            "rchar_run": io1.get("rchar", 0) - io0.get("rchar", 0),
            "tool_cached": _step_cache(result)}


def main():
    workload, params = parse_args()
    emit(**{"w1": w1, "w2": w2, "w3": w3, "w5": w5}[workload](params))


if __name__ == "__main__":
    main()
