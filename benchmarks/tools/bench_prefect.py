"""Prefect 3: @task functions called from a @flow, run in process.

No API URL is configured, so Prefect uses its local ephemeral server, with its
database and result storage under PREFECT_HOME (set by run.py to the work dir).
Console logging and log shipping are switched off by run.py's environment.
W2/W5 use ``cache_policy=INPUTS + TASK_SOURCE`` (which also turns on result
persistence); W1 uses plain tasks (default policy, results not persisted).
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
    from prefect import flow, task  # noqa: F401

    return {"import_s": now() - t0}


def _w1_source(shape: str, n: int) -> tuple[str, str]:
    lines = ['"""Generated W1 flow (Prefect tasks)."""', "from prefect import flow, task", ""]
    body = []
    if shape == "chain":
        lines += ["@task", "def s0():", "    return 0", ""]
        body.append("a0 = s0()")
        for i in range(1, n):
            lines += ["@task", f"def s{i}(a{i - 1}):", f"    return a{i - 1} + 1", ""]
            body.append(f"a{i} = s{i}(a{i - 1})")
        body.append(f"return a{n - 1}")
    else:
        lines += ["@task", "def source():", "    return 1", ""]
        body.append("src = source()")
        for i in range(n):
            lines += ["@task", f"def s{i}(src):", f"    return src + {i}", ""]
            body.append(f"f{i} = s{i}(src)")
        names = ", ".join(f"f{i}" for i in range(n))
        lines += ["@task", f"def sink({names}):", f"    return sum(({names},))", ""]
        body.append(f"return sink({names})")
    lines += ['@flow(name="w1")', "def w1_flow():"] + [f"    {x}" for x in body] + [""]
    return "\n".join(lines), ""


def w1(params):
    shape, n = w1_shapes(params)
    source, _ = _w1_source(shape, n)
    write_module("w1_steps", source)
    t0 = now()
    from prefect import flow, task  # noqa: F401

    t1 = now()
    import w1_steps

    value = w1_steps.w1_flow()
    t2 = now()
    expected = chain_expected(n) if shape == "chain" else fanout_expected(n)
    return {"lib_import_s": t1 - t0, "inproc_s": t2 - t1, "value": value,
            "correct": value == expected}


def w2(params):
    reset_marks()
    t0 = now()
    from prefect import flow, task  # noqa: F401

    t1 = now()
    import pipeline_w2

    value = pipeline_w2.w2_flow()
    t2 = now()
    return {"lib_import_s": t1 - t0, "run_s": t2 - t1, "executed": read_marks(), "value": value}


def w5(params):
    reset_marks()
    t0 = now()
    from prefect import flow, task  # noqa: F401

    t1 = now()
    import pipeline_w5

    io0 = proc_io()
    value = pipeline_w5.w5_flow()
    io1 = proc_io()
    t2 = now()
    return {"lib_import_s": t1 - t0, "run_s": t2 - t1, "executed": read_marks(), "value": value,
            "rchar_run": io1.get("rchar", 0) - io0.get("rchar", 0)}


def main():
    workload, params = parse_args()
    emit(**{"w1": w1, "w2": w2, "w3": w3, "w5": w5}[workload](params))


if __name__ == "__main__":
    main()
