"""Run one phase of many never-stale idioms, each in its own fresh process.

Usage: ``python driver.py SPEC.json``. SPEC holds ``mode`` ("run" or "oracle"),
``parallel`` and ``jobs``; each job names a project folder, the module to import and
the files to write its result and its stderr to.

The driver imports FlowyML (and numpy, SQLAlchemy) once, touches no project, then
forks one child per job: every child is a new process that has never imported any
user code, as if ``python -c "from pipe import pipe; pipe.run()"`` had been started
in the project folder, without paying the interpreter start-up each time (POSIX only).

- ``run``: import the module, ``pipe.build(PARAMS)`` then ``pipe.run(params=PARAMS)``
  (``PARAMS`` is an optional module attribute), and report each step's status and
  reason, the requested asset values, the warnings raised before and while running,
  and any exception with its class hierarchy.
- ``oracle``: import the module and evaluate plain-Python expressions in its namespace
  (calling the undecorated functions): the values a run must produce. Nothing of
  FlowyML runs.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
import warnings
from typing import Any


def canon(value: Any) -> Any:
    """A JSON form that compares equal exactly when two results are the same data."""
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(value, np.ndarray):
            return {"ndarray": value.dtype.str, "shape": list(value.shape),
                    "data": canon(value.tolist())}
        if isinstance(value, np.generic):
            return canon(value.item())
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, (list, tuple)):
        return [canon(x) for x in value]
    if isinstance(value, dict):
        return {"dict": sorted([repr(k), canon(v)] for k, v in value.items())}
    if isinstance(value, (set, frozenset)):
        return {"set": sorted(repr(x) for x in value)}
    return {"repr": repr(value)}


def _error(exc: BaseException, stage: str) -> dict[str, Any]:
    return {
        "stage": stage,
        "type": type(exc).__name__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "message": str(exc)[:2000],
        "traceback": "".join(traceback.format_exception(exc))[-4000:],
    }


def _warnings(caught: list[warnings.WarningMessage]) -> list[list[str]]:
    return [[w.category.__name__, str(w.message)] for w in caught]


def _enter(job: dict[str, Any]) -> Any:
    os.chdir(job["proj"])
    sys.path[0] = job["proj"]  # like ``python -c`` started in the project folder
    return importlib.import_module(job["module"])


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"warnings": {"build": [], "run": []}}
    stage = "import"
    try:
        with warnings.catch_warnings(record=True) as early:
            warnings.simplefilter("always")
            mod = _enter(job)
            pipe = getattr(mod, job["pipeline"])
            params = getattr(mod, "PARAMS", None)
            stage = "build"
            pipe.build(params)
        out["warnings"]["build"] = _warnings(early)
        stage = "run"
        with warnings.catch_warnings(record=True) as late:
            warnings.simplefilter("always")
            try:
                run = pipe.run(params=params)
            finally:
                out["warnings"]["run"] = _warnings(late)
        out["steps"] = {name: [s.status, s.reason] for name, s in run.steps.items()}
        stage = "load"
        out["values"] = {asset: canon(run[asset]) for asset in job["assets"]}
    except BaseException as exc:
        if stage in ("import", "build"):
            out["warnings"]["build"] = _warnings(early)
        out["error"] = _error(exc, stage)
    return out


def oracle_job(job: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod = _enter(job)
            namespace = vars(mod)
            out["values"] = {
                asset: canon(eval(expr, namespace)) for asset, expr in job["oracle"].items()
            }
    except BaseException as exc:
        out["error"] = _error(exc, "oracle")
    return out


def _child(job: dict[str, Any], mode: str) -> None:
    fd = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    try:
        result = run_job(job) if mode == "run" else oracle_job(job)
        text = json.dumps(result)
    except BaseException as exc:  # the result itself failed to serialize
        text = json.dumps({"error": _error(exc, "report")})
    with open(job["out"] + ".tmp", "w") as fh:
        fh.write(text)
    os.replace(job["out"] + ".tmp", job["out"])
    sys.stdout.flush()
    sys.stderr.flush()


def _preimport() -> None:
    """What every run imports anyway; no project, no store, no catalog is touched."""
    for name in ("flowyml", "flowyml.runtime", "flowyml.executors.task", "flowyml.executors.inline",
                 "flowyml.materializers", "flowyml.catalog", "flowyml.catalog.sql",
                 "flowyml.stores", "flowyml.core.fingerprint", "sqlalchemy", "numpy", "blake3"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _write_failure(job: dict[str, Any], message: str) -> None:
    with open(job["out"], "w") as fh:
        json.dump({"error": {"stage": "driver", "type": "ChildDied", "mro": [],
                             "message": message, "traceback": ""}}, fh)


def main() -> None:
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    mode, jobs = spec["mode"], list(spec["jobs"])
    timeout = float(spec.get("timeout", 120))
    _preimport()
    parallel = max(1, int(spec.get("parallel", 2)))
    running: dict[int, tuple[dict[str, Any], float]] = {}
    while jobs or running:
        while jobs and len(running) < parallel:
            job = jobs.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the fresh process for this job
                code = 0
                try:
                    _child(job, mode)
                except BaseException:
                    code = 1
                os._exit(code)
            running[pid] = (job, time.monotonic())
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for p, (job, started) in list(running.items()):
                if now - started > timeout:
                    os.kill(p, signal.SIGKILL)
                    os.waitpid(p, 0)
                    del running[p]
                    _write_failure(job, f"timed out after {timeout:.0f} s")
            time.sleep(0.005)
            continue
        job, _ = running.pop(pid)
        if not os.path.exists(job["out"]):
            _write_failure(job, f"the process died (wait status {status})")


if __name__ == "__main__":
    main()
