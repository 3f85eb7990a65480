"""A worker process computes with the state its step's cache key describes, or refuses.

A step's key is taken in the driver. A worker process imports the user's modules
afresh, so what a script sets after importing them is not there: a worker takes the
fingerprint again before running the step and refuses when it differs, naming what
differs and the fix. Nothing is filed under the driver's key that the worker computed
with other state, and an inline run afterwards computes the driver's value. Random
generators and the containers a step mutates itself are state every process advances:
they never refuse a step (see ``core/statecheck.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import child_env, write
from tests.test_never_stale import _cell_result, _notebook, _notebook_project

HELPERS = """
    SETTINGS = {"scale": 1}

    def scale(x):
        return x * SETTINGS["scale"]
"""

PIPE = """
    import json
    import sys

    import flowyml as fm
    import helpers

    @fm.step(outputs="y")
    def f():
        return helpers.scale(10)

    pipeline = fm.Pipeline("state", [f])

    if __name__ == "__main__":
        helpers.SETTINGS["scale"] = int(sys.argv[1])  # e.g. from argparse
        r = pipeline.run(executor=sys.argv[2])
        print("RESULT " + json.dumps({"status": r.steps["f"].status, "y": r["y"]}))
"""


def _script(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python pipe.py ARGS`` in ``root``: the pipeline's file is the script."""
    return subprocess.run([sys.executable, "pipe.py", *args], cwd=root, env=child_env(),
                          capture_output=True, text=True, timeout=180)


def _result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT "):]))


def run_in(root: Path, code: str, *args: str) -> dict[str, Any]:
    """``code`` (with ``args`` as its command line) in a fresh interpreter in ``root``:
    its RESULT line."""
    return _result(subprocess.run([sys.executable, "-c", code, *args], cwd=root,
                                  env=child_env(), capture_output=True, text=True, timeout=180))


def test_state_a_script_sets_after_import_is_refused_in_a_worker(project: Path) -> None:
    write(project / "helpers.py", HELPERS)
    write(project / "pipe.py", PIPE)

    # the module as imported: the worker agrees with the driver and runs the step
    # (a step in __main__ travels by value, its text and file name with it)
    assert _result(_script(project, "1", "processes:2")) == {"status": "executed", "y": 10}

    refused = _script(project, "3", "processes:2")
    assert refused.returncode != 0
    assert "WorkerStateError: step 'f' cannot run in a worker process" in refused.stderr
    assert "constant SETTINGS" in refused.stderr
    assert "Pass such values as step parameters" in refused.stderr
    assert "executor='inline'" in refused.stderr
    assert "traceback in the worker process" not in refused.stderr  # no bug to debug there

    # nothing was filed under the key of scale 3: inline computes it, then reuses it
    assert _result(_script(project, "3", "inline")) == {"status": "executed", "y": 30}
    assert _result(_script(project, "3", "inline")) == {"status": "cached", "y": 30}
    # the worker's own state (scale 1) still hits the entry it made
    assert _result(_script(project, "1", "processes:2")) == {"status": "cached", "y": 10}


def test_classes_and_values_of_the_script_agree_in_a_worker(project: Path) -> None:
    """A dataclass run value and a class defined in the script travel by value; what
    their bodies name (``dataclass``, a constant of the script) is the driver's."""
    write(project / "pipe.py", """
        import json
        import sys
        from dataclasses import dataclass, field

        import flowyml as fm

        FACTOR = 10

        @dataclass
        class Config:
            lr: float = 0.1
            tags: list = field(default_factory=list)

            def scaled(self):
                return self.lr * FACTOR

        class Model:
            \"\"\"Multiplies.\"\"\"
            unit = FACTOR

            def __init__(self, k):
                self.k = k

            def predict(self, x):
                return x * self.k + self.unit

        @fm.step(outputs="y")
        def f(cfg: Config):
            return Model(cfg.scaled()).predict(2)

        pipeline = fm.Pipeline("classes", [f])

        if __name__ == "__main__":
            r = pipeline.run(params={"cfg": Config(0.5, ["a"])}, executor=sys.argv[1])
            print("RESULT " + json.dumps({"status": r.steps["f"].status, "y": r["y"]}))
    """)
    assert _result(_script(project, "processes:2")) == {"status": "executed", "y": 20.0}
    assert _result(_script(project, "inline")) == {"status": "cached", "y": 20.0}


def test_a_worker_takes_the_library_settings_of_the_driver(project: Path) -> None:
    """Settings a script makes before running (print options, a pandas option, the
    root logger's level from ``logging.basicConfig``) are the driver's in its workers,
    as its command line is: the worker computes what inline computes, under one key."""
    write(project / "pipe.py", """
        import json
        import logging
        import sys

        import numpy as np
        import pandas as pd
        import flowyml as fm

        log = logging.getLogger("pipe")

        @fm.step(outputs="y")
        def f():
            return [str(np.array([1 / 3])), repr(pd.Series([1 / 3])),
                    log.isEnabledFor(logging.INFO)]

        pipeline = fm.Pipeline("settings", [f])

        if __name__ == "__main__":
            logging.basicConfig(level=logging.INFO)
            np.set_printoptions(precision=int(sys.argv[1]))
            pd.set_option("display.precision", int(sys.argv[1]))
            r = pipeline.run(executor=sys.argv[2])
            print("RESULT " + json.dumps({"status": r.steps["f"].status, "y": r["y"],
                                          "plain": f.func()}))
    """)
    first = _result(_script(project, "2", "processes:2"))
    assert first["status"] == "executed" and first["y"] == first["plain"]
    assert first["y"] == ["[0.33]", "0    0.33\ndtype: float64", True]
    assert _result(_script(project, "2", "inline"))["status"] == "cached"
    third = _result(_script(project, "3", "processes:2"))
    assert third["status"] == "executed" and third["y"][0] == "[0.333]"


def test_a_worker_takes_the_dask_and_polars_config_of_the_driver(project: Path) -> None:
    """``dask.config.set`` and ``pl.Config`` made by the script before it runs (not at
    import, so not by a worker importing it) count in the key and reach the worker."""
    pytest.importorskip("polars")
    pytest.importorskip("dask.dataframe")
    write(project / "pipe.py", """
        import json
        import sys

        import dask
        import dask.dataframe as dd
        import pandas as pd
        import polars as pl
        import flowyml as fm

        @fm.step(outputs="y")
        def f():
            frame = pd.DataFrame({"name": ["a", "b", "c", "d", "e", "f"]}, dtype=object)
            kind = str(dd.from_pandas(frame, npartitions=1).compute()["name"].dtype)
            return [kind, str(pl.DataFrame({"a": list(range(6))})).count("\\n")]

        pipeline = fm.Pipeline("settings", [f])

        if __name__ == "__main__":
            dask.config.set({"dataframe.convert-string": sys.argv[1] == "str"})
            pl.Config.set_tbl_rows(int(sys.argv[2]))
            r = pipeline.run(executor=sys.argv[3])
            print("RESULT " + json.dumps({"status": r.steps["f"].status, "y": r["y"],
                                          "plain": f.func()}))
    """)
    first = _result(_script(project, "obj", "2", "processes:2"))
    assert first["status"] == "executed" and first["y"] == first["plain"]
    assert first["y"][0] == "object"
    assert _result(_script(project, "obj", "2", "inline"))["status"] == "cached"
    rows = _result(_script(project, "obj", "4", "processes:2"))
    assert rows["status"] == "executed" and rows["y"] == rows["plain"] != first["y"]


def test_a_worker_takes_the_settings_of_a_library_it_meets_only_in_an_input(
        project: Path) -> None:
    """A step given a polars frame (or a pandas one) prints it by the library's settings
    the script set at import, though its code never names the library: a worker that
    has not loaded it yet loads it to take the driver's (it refused the step)."""
    pytest.importorskip("polars")
    write(project / "pipe.py", """
        import json
        import sys

        import pandas as pd
        import polars as pl
        import flowyml as fm

        pl.Config.set_tbl_rows(2)
        pd.set_option("display.max_rows", 2)

        @fm.step(outputs="frames")
        def load(n: int = 6):
            return [pl.DataFrame({"a": list(range(n))}), pd.DataFrame({"a": list(range(n))})]

        @fm.step(outputs="text")
        def show(frames):
            return [str(f).count("\\n") for f in frames]

        pipeline = fm.Pipeline("input_settings", [load, show])

        if __name__ == "__main__":
            r = pipeline.run(executor=sys.argv[1])
            print("RESULT " + json.dumps({"status": r.steps["show"].status, "y": r["text"],
                                          "plain": show.func(load.func())}))
    """)
    result = _result(_script(project, "processes:2"))
    assert result["status"] == "executed" and result["y"] == result["plain"]


def test_a_worker_puts_back_the_defaults_the_driver_has() -> None:
    """A long-lived worker (Dask) keeps what an earlier job set: a driver on the
    defaults has them back for its step, and nothing is refused."""
    code = """
import numpy as np
import flowyml as fm
from flowyml.core.fingerprint import fingerprint_step
from flowyml.core.statecheck import check_worker_state, driver_state

@fm.step(outputs="y")
def f():
    return str(np.array([1 / 3]))

fp, _ = fingerprint_step(f, {}, ".")
driver = driver_state(fp, fp, ".", {})
np.set_printoptions(precision=2)  # left by an earlier job in this worker
check_worker_state(f, {}, driver)
print(np.get_printoptions()["precision"], f.func())
"""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, timeout=120, env=child_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["8", "[0.33333333]"]


def test_a_worker_in_another_time_zone_takes_the_drivers() -> None:
    """A Dask worker on a machine in another zone: ``fromtimestamp`` there would give
    other hours under the driver's key. The worker takes the driver's zone by name for
    the step (and UTC back for a driver in UTC)."""
    code = """
import datetime, os, time
import flowyml as fm
from flowyml.core.statecheck import check_worker_state, driver_state

@fm.step(outputs="y")
def f():
    return datetime.datetime.fromtimestamp(0).hour

def as_driver(zone):
    os.environ["TZ"] = zone
    time.tzset()
    fp = fm.Pipeline("zones", [f]).build().fingerprints["f"]  # (each build reads it)
    return fp, driver_state(fp, fp, ".", {})

tokyo, in_tokyo = as_driver("Asia/Tokyo")
utc, in_utc = as_driver("UTC")
assert tokyo.digest != utc.digest, "the zone is part of the key"
check_worker_state(f, {}, in_tokyo)  # this worker is in UTC now
print(f.func(), os.environ["TZ"])
check_worker_state(f, {}, in_utc)
print(f.func(), os.environ["TZ"])
"""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, timeout=120, env=child_env({"TZ": "UTC"}))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["9", "Asia/Tokyo", "0", "UTC"]


def test_a_file_edited_since_the_driver_imported_it_is_refused(project: Path) -> None:
    """The driver keyed the code it imported; a new worker would import the edit."""
    write(project / "helpers.py", HELPERS)
    write(project / "pipe.py", PIPE)
    got = run_in(project, """
import json, pathlib, sys
sys.argv = ["pipe.py"]
import pipe
pathlib.Path("helpers.py").write_text(
    pathlib.Path("helpers.py").read_text().replace("x * SETTINGS", "x + SETTINGS"))
try:
    pipe.pipeline.run(executor="processes:1")
except Exception as exc:
    print("RESULT " + json.dumps({"error": type(exc).__name__, "message": str(exc)}))
""")
    assert got["error"] == "WorkerStateError", got
    assert "code of helper scale" in got["message"]


def test_generators_and_state_the_code_changes_never_refuse(project: Path) -> None:
    """Draws advance a generator, a step's own appends grow its list, a helper fills
    its memo and counts its calls, in a worker as inline: one worker running every step
    and element after the other agrees with the driver."""
    write(project / "memo.py", """
        _SQUARES = {}
        CALLS = 0

        def square(x):
            global CALLS
            CALLS += 1
            if x not in _SQUARES:
                _SQUARES[x] = x * x
            return _SQUARES[x]
    """)
    write(project / "steps.py", """
        import random

        import numpy as np
        import flowyml as fm
        from memo import square

        random.seed(7)
        np.random.seed(7)
        RNG = np.random.default_rng(7)
        SEEN = []

        @fm.step(outputs="a")
        def a():
            SEEN.append("a")
            return square(2) + random.random() + np.random.rand() + RNG.normal()

        @fm.step(outputs="b")
        def b(a):
            SEEN.append("b")
            return a + square(2) + random.random() + np.random.rand() + RNG.normal()

        @fm.step(outputs="items")
        def items(n: int):
            SEEN.append("items")
            return [random.random() for _ in range(n)]

        @fm.step(outputs="c", map_over="items")
        def c(b, items):
            SEEN.append(items)
            return b + items + square(3) + random.random() + RNG.normal()

        pipeline = fm.Pipeline("draws", [a, b, items, c])
    """)
    got = run_in(project, """
import json, sys
sys.path.insert(0, ".")
import steps
r = steps.pipeline.run(params={"n": 4}, executor="processes:1")
print("RESULT " + json.dumps({"executed": sorted(r.executed), "c": len(r["c"])}))
""")
    assert got == {"executed": ["a", "b", "c", "items"], "c": 4}


@pytest.mark.timeout(300)
def test_a_notebook_step_runs_in_a_worker_and_cell_state_is_refused(
        tmp_path: Path, kernel_env: str) -> None:
    """A step, a helper and a dataclass defined in a cell travel by value; their text
    (which only the kernel has) travels with them, so the worker agrees with the
    kernel, until a cell changes a module the step reads after importing it."""
    from nbclient import NotebookClient

    proj = _notebook_project(tmp_path)
    write(proj / "helpers.py", HELPERS)
    run = """
        import json as _json
        try:
            _r = pipe.run(executor="processes:2")
            print("RESULT " + _json.dumps({"status": _r.steps["f"].status, "y": _r["y"]}))
        except Exception as _exc:
            print("RESULT " + _json.dumps({"error": type(_exc).__name__, "message": str(_exc)}))
    """
    nb = _notebook(
        "import dataclasses\n\nimport flowyml as fm\nimport helpers\n\nTWO = 2\n\n"
        "@dataclasses.dataclass\nclass Doubler:\n    factor: int = TWO\n\n"
        "    def apply(self, x):\n        return self.factor * x\n\n"
        "def double(x):\n    return Doubler().apply(x)\n\n"
        "@fm.step(outputs='y')\ndef f():\n    return double(helpers.scale(10))\n\n"
        "pipe = fm.Pipeline('nbstate', [f])",
        run.strip().replace("\n        ", "\n"),
        "helpers.SETTINGS['scale'] = 5",
        run.strip().replace("\n        ", "\n"),
    )
    NotebookClient(nb, timeout=120, kernel_name=kernel_env, allow_errors=True,
                   resources={"metadata": {"path": str(proj)}}).execute()
    assert _cell_result(nb.cells[1]) == {"status": "executed", "y": 20}
    refused = _cell_result(nb.cells[3])
    assert refused["error"] == "WorkerStateError", refused
    assert "constant SETTINGS" in refused["message"]


def test_state_steps_change_is_accepted_once_the_worker_had_the_drivers(project: Path) -> None:
    """A module-level model a step fits, a loader's cache filled through a method: a
    worker that had the driver's value before its steps changed it runs on, as inline
    steps run with what earlier steps left. A value the script set and a helper then
    mutates (``setdefault``) was never the driver's in the worker: refused."""
    write(project / "state.py", """
        from sklearn.preprocessing import StandardScaler

        SCALER = StandardScaler()
        CONFIG = {}

        class Loader:
            def __init__(self):
                self._cache = {}

            def get(self, i):
                if i not in self._cache:
                    self._cache[i] = i * 10
                return self._cache[i]

        LOADER = Loader()

        def scale(x):
            return x * CONFIG.setdefault("scale", 1)
    """)
    write(project / "steps.py", """
        import numpy as np
        import flowyml as fm
        import state

        @fm.step(outputs="a")
        def a():
            state.SCALER.fit(np.arange(6.0).reshape(3, 2))
            return float(state.SCALER.mean_[0]) + state.LOADER.get(1) + state.scale(1)

        @fm.step(outputs="b")
        def b(a):
            return a + state.LOADER.get(2) + float(state.SCALER.scale_[0]) + state.scale(2)

        @fm.step(outputs="c")
        def c(b):
            return b + state.LOADER.get(3) + state.scale(3)

        pipeline = fm.Pipeline("fitted", [a, b, c])
    """)
    run = """
import json, sys
sys.path.insert(0, ".")
import state, steps
if len(sys.argv) > 1:
    state.CONFIG["scale"] = int(sys.argv[1])
try:
    r = steps.pipeline.run(executor="processes:1")
    print("RESULT " + json.dumps({"c": r["c"]}))
except Exception as exc:
    print("RESULT " + json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""
    assert run_in(project, run) == {"c": 2.0 + 10 + 1 + 20 + 1.632993161855452 + 2 + 30 + 3}
    refused = run_in(project, run, "100")
    assert refused["error"] == "WorkerStateError" and "constant CONFIG" in refused["message"]


def test_a_classmethod_step_agrees_in_a_worker(project: Path) -> None:
    """The step's function travels by value, its class by reference: one method."""
    write(project / "steps.py", """
        import flowyml as fm

        class Dataset:
            SIZE = 3

            @classmethod
            def load(cls):
                return list(range(cls.SIZE))

        load = fm.step(outputs="xs")(Dataset.load)
        pipeline = fm.Pipeline("cm", [load])
    """)
    out = run_in(project, """
import json, sys
sys.path.insert(0, ".")
import steps
r = steps.pipeline.run(executor="processes:1")
print("RESULT " + json.dumps({"xs": r["xs"]}))
""")
    assert out == {"xs": [0, 1, 2]}


def test_a_step_in_a_worker_sees_the_drivers_warning_filters(project: Path) -> None:
    """``warnings.simplefilter("error")`` in the script turns a warning into an
    exception the step itself can catch, in a worker as inline."""
    write(project / "steps.py", """
        import warnings
        import flowyml as fm

        @fm.step(outputs="kind")
        def fit():
            try:
                warnings.warn("did not converge", UserWarning)
                return "model"
            except UserWarning:
                return "fallback"

        pipeline = fm.Pipeline("warned", [fit])
    """)
    code = """
import json, sys, warnings
sys.path.insert(0, ".")
import steps
warnings.simplefilter("error", UserWarning)
print("RESULT " + json.dumps({"kind": steps.pipeline.run(executor=sys.argv[1])["kind"]}))
"""
    for executor in ("inline", "processes:1"):
        assert run_in(project, code, executor) == {"kind": "fallback"}, executor
        (project / ".flowyml").rename(project / f"old-{executor[:4]}")


def test_a_module_reading_the_command_line_at_import_agrees_in_a_worker(project: Path) -> None:
    """Workers import the step's module before the first job (a warm-up): with the
    driver's command line already."""
    write(project / "steps.py", """
        import sys
        import flowyml as fm

        SMALL = "--small" in sys.argv

        def size():
            return 2 if SMALL else 20

        @fm.step(outputs="n")
        def n():
            return size()

        pipeline = fm.Pipeline("argv", [n])
    """)
    code = """
import json, sys
sys.path.insert(0, ".")
import steps
print("RESULT " + json.dumps({"n": steps.pipeline.run(executor="processes:2")["n"]}))
"""
    assert run_in(project, code, "--small") == {"n": 2}


def test_settings_of_the_libraries_of_a_steps_inputs_reach_the_worker(project: Path) -> None:
    """A step that formats the numpy array and the DataFrame it is given, without its
    code naming numpy or pandas, formats them with the driver's options."""
    write(project / "steps.py", """
        import flowyml as fm

        @fm.step(outputs="report")
        def report(arr, frame):
            return f"{arr}|{frame}"

        pipeline = fm.Pipeline("fmt", [report])
    """)
    code = """
import json, sys
sys.path.insert(0, ".")
import numpy as np, pandas as pd
import steps
np.set_printoptions(precision=3)
pd.set_option("display.precision", 2)
params = {"arr": np.array([1 / 3, 2 / 3]), "frame": pd.DataFrame({"x": [1 / 3]})}
r = steps.pipeline.run(params=params, executor="processes:1")
print("RESULT " + json.dumps({"same": r["report"] == steps.report.func(**params),
                              "report": r["report"]}))
"""
    got = run_in(project, code)
    assert got["same"] and got["report"].startswith("[0.333 0.667]"), got


def test_a_module_step_reads_its_modules_globals_in_a_worker(project: Path) -> None:
    """A step of an importable module travels by name: in a worker its function reads
    the module's globals, the very objects its helpers change, as inline; and a global
    that cannot be pickled (a database connection made at import) does not travel."""
    write(project / "steps.py", """
        import sqlite3

        import flowyml as fm

        DB = sqlite3.connect(":memory:")
        REGISTRY = {}

        def register(name):
            REGISTRY[name] = len(REGISTRY)

        @fm.step(outputs="names")
        def names():
            register("m1")
            register("m2")
            return sorted(REGISTRY) + [DB.execute("select 7").fetchone()[0]]

        pipeline = fm.Pipeline("registry", [names])
    """)
    got = run_in(project, """
import json, sys
sys.path.insert(0, ".")
import steps
r = steps.pipeline.run(executor="processes:1")
print("RESULT " + json.dumps({"names": r["names"]}))
""")
    assert got == {"names": ["m1", "m2", 7]}


def test_a_value_whose_repr_fills_a_memo_agrees_in_a_worker(project: Path) -> None:
    """The fingerprint shows a constant with ``repr``; a ``repr`` that fills a
    ``cached_property`` changes the object. The token is taken after it, in the driver
    and in the worker, so both agree, and a second run in one process still reuses."""
    write(project / "steps.py", """
        from functools import cached_property

        import flowyml as fm

        class Table:
            def __init__(self, rows):
                self.rows = rows

            @cached_property
            def size(self):
                return len(self.rows)

            def __repr__(self):
                return f"Table({self.size} rows)"

        DATA = Table([1, 2, 3])

        @fm.step(outputs="total")
        def total():
            return sum(DATA.rows)

        pipeline = fm.Pipeline("memo", [total])
    """)
    got = run_in(project, """
import json, sys
sys.path.insert(0, ".")
import steps
first = steps.pipeline.run(executor="processes:1")
again = steps.pipeline.run()
print("RESULT " + json.dumps({"total": first["total"], "again": again.steps["total"].status}))
""")
    assert got == {"total": 6, "again": "cached"}


def test_a_library_function_the_script_patches_is_refused_in_a_worker(project: Path) -> None:
    """``json.dumps = sorted_dumps`` in the script: a worker has the library's own, so
    the step is refused, not run with the other function (its text came by value, but
    the library module it is reached through did not)."""
    write(project / "steps.py", """
        import json
        import flowyml as fm

        @fm.step(outputs="text")
        def dump():
            return json.dumps({"b": 1, "a": 2})

        pipeline = fm.Pipeline("patch", [dump])
    """)
    write(project / "pipe.py", """
        import json
        import sys

        import steps

        _dumps = json.dumps

        def sorted_dumps(obj, **kw):
            return _dumps(obj, sort_keys=True, **kw)

        json.dumps = sorted_dumps

        if __name__ == "__main__":
            try:
                r = steps.pipeline.run(executor=sys.argv[1])
                print("RESULT " + json.dumps({"text": r["text"]}))
            except Exception as exc:
                print("RESULT " + json.dumps({"error": type(exc).__name__, "msg": str(exc)}))
    """)
    refused = _result(_script(project, "processes:1"))
    assert refused["error"] == "WorkerStateError" and "sorted_dumps" in refused["msg"]
    assert _result(_script(project, "inline")) == {"text": '{"a": 2, "b": 1}'}


def test_a_step_with_retries_or_redeclared_keeps_its_module_and_its_declaration(
        project: Path) -> None:
    """Each attempt of a step with ``retries`` runs a copy of it; a script may declare
    a module's function again (``m.f = fm.step(outputs="y2")(m.f.func)``). Either way
    the worker runs the driver's declaration around the module's own function, reading
    the module's globals (a lock that cannot be pickled among them)."""
    write(project / "m.py", """
        import threading

        import flowyml as fm

        LOCK = threading.Lock()
        REGISTRY = {}

        def register(name):
            REGISTRY[name] = True

        @fm.step(outputs="names", retries=1)
        def names():
            with LOCK:
                register("a")
            return sorted(REGISTRY)

        @fm.step(outputs="y")
        def f():
            return 10
    """)
    got = run_in(project, """
import json, sys
sys.path.insert(0, ".")
import flowyml as fm
import m
m.f = fm.step(outputs="y2")(m.f.func)
r = fm.Pipeline("redeclared", [m.names, m.f]).run(executor="processes:1")
print("RESULT " + json.dumps({"names": r["names"], "y2": r["y2"]}))
""")
    assert got == {"names": ["a"], "y2": 10}


def test_a_copy_of_the_steps_own_function_agrees_in_a_worker(project: Path) -> None:
    """The step's own function, also held by a run value (``PARAMS = {"f": s.func}``) or
    by a list a module keeps (through a helper's attribute), may reach a worker as
    another object than the step's function (one by value): it is the step's code on
    both sides, not a helper in the worker only (a false ``WorkerStateError``)."""
    write(project / "steps.py", """
        import flowyml as fm


        @fm.step(outputs="y")
        def s(x: int = 2, f=None):
            if x <= 0 or f is None:
                return 1
            return x + f(x - 1)


        def f0(x):
            return 1


        def factory(k):
            def inner(x: int = 2):
                if x <= 0:
                    return k
                return x + TAB[0](x - 1)
            return inner


        t = fm.step(outputs="z", name="t")(factory(10))
        TAB = [f0, t]
        f0.reg = TAB
        pipeline = fm.Pipeline("copies", [s, t])
    """)
    code = """
import json, sys
sys.path.insert(0, ".")
import steps
r = steps.pipeline.run(params={"f": steps.s.func}, executor="processes:2")
print("RESULT " + json.dumps({"y": r["y"], "z": r["z"],
                              "status": sorted({str(x.status) for x in r.steps.values()})}))
"""
    assert run_in(project, code) == {"y": 3, "z": 3, "status": ["executed"]}
    assert run_in(project, code) == {"y": 3, "z": 3, "status": ["cached"]}


def test_a_step_with_a_timeout_refused_on_inline_is_told_the_fix_that_works(
        project: Path) -> None:
    """A step with ``timeout=`` runs in a process of its own even on the inline
    executor: refused there, it is not told to run with executor='inline' (it is), but
    to pass the value as a parameter, set it in the module, or drop ``timeout=``."""
    write(project / "helpers.py", HELPERS)
    write(project / "pipe.py", PIPE.replace('@fm.step(outputs="y")',
                                            '@fm.step(outputs="y", timeout=60)'))
    refused = _script(project, "3", "inline")
    assert refused.returncode != 0
    assert "WorkerStateError: step 'f' cannot run in a worker process" in refused.stderr
    assert "Pass such values as step parameters, or set them in the module itself" in (
        refused.stderr)
    assert "without timeout=, on the inline executor, it would run in this process" in (
        refused.stderr)
    assert "executor='inline'" not in refused.stderr
