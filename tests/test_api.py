"""The public surface: a curated namespace, a light import, robust fingerprints."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import flowyml as fm
from flowyml.core.fingerprint import FingerprintWarning, fingerprint_function
from tests.conftest import child_env


def test_all_is_curated_and_resolvable() -> None:
    for name in fm.__all__:
        assert getattr(fm, name) is not None, name
    assert sorted(fm.__all__) == sorted(set(fm.__all__))
    expected = {"step", "Pipeline", "Run", "Artifact", "Catalog", "get_lineage", "get_descendants",
                "FlowymlError", "BuildError", "MissingInputError", "DuplicateOutputError",
                "CycleError", "ParameterError", "TypeMismatchError", "StepFailed",
                "ArtifactNotFoundError", "CorruptArtifactError", "ArtifactRef", "Stack"}
    assert expected <= set(fm.__all__)


HEAVY = ("numpy", "pandas", "sqlalchemy", "sklearn", "pyarrow", "fsspec", "dask",
         "distributed", "click", "rich", "starlette", "uvicorn", "jinja2", "pandera",
         "polars", "openlineage", "flowyml.ui", "flowyml.runtime", "flowyml.executors",
         "flowyml.openlineage")


def test_import_is_light() -> None:
    """The one check of what `import flowyml` costs: no heavy library, no backend, no
    runtime, and a generous time bound (the benchmark measures the real figure)."""
    code = (
        "import sys, time; t = time.perf_counter(); import flowyml; "
        "d = time.perf_counter() - t; "
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; print(heavy, d)"
    )
    times = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        heavy, d = out.stdout.rsplit(" ", 1)
        assert heavy == "[]"
        times.append(float(d))
    # ~0.04 s here (0.07 s on a loaded 2-core machine); the real figure and its 0.15 s
    # target are the benchmark's (W3), this bound only catches a gross regression
    assert min(times) < 0.5


# what a plain run on a local stack does not need (each costs milliseconds per process)
UNUSED_BY_A_RUN = ("sqlalchemy", "uuid", "socket", "concurrent.futures", "logging", "tomllib",
                   "pickle", "signal", "openlineage", "flowyml.openlineage",
                   "flowyml.core.contracts", "flowyml.catalog.base", "flowyml.stores.cache",
                   "flowyml.core.secrets")


def test_a_run_imports_only_what_it_uses(tmp_path: Path) -> None:
    """A first run and a cached rerun, inline, in a project whose pyproject.toml has no
    FlowyML settings. (A first run records the steps' source, rendered from their
    syntax trees in place: no pickle either.)"""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    (tmp_path / "pipe.py").write_text(
        "import sys, flowyml as fm\n"
        "@fm.step(outputs='a')\n"
        "def a() -> int:\n    return 1\n"
        "@fm.step(outputs='b')\n"
        "def b(a: int) -> int:\n    return a + 1\n"
        "assert fm.Pipeline('p', [a, b]).run()['b'] == 2\n"
        f"print([m for m in {UNUSED_BY_A_RUN!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "FLOWYML_FINGERPRINT_MEMO": str(tmp_path / "memo")}  # cold memo
    for _ in ("executed", "cached"):
        out = subprocess.run([sys.executable, "pipe.py"], cwd=tmp_path, capture_output=True,
                             text=True, check=True, env=env)
        assert out.stdout.strip() == "[]"


def test_a_catalog_input_is_resolved_without_sqlalchemy(tmp_path: Path) -> None:
    """``inputs={"m": "m@latest"}`` is one probe on the database driver, at build, and
    so is ``Catalog().get`` (what a notebook does first)."""
    (tmp_path / "flowyml.toml").write_text("")
    (tmp_path / "pipe.py").write_text(
        "import sys, flowyml as fm\n"
        "@fm.step(outputs='m')\n"
        "def make() -> int:\n    return 3\n"
        "@fm.step(outputs='out', inputs={'m': 'm@latest'})\n"
        "def use(m: int) -> int:\n    return m + 1\n"
        "fm.Pipeline('a', [make]).run() if sys.argv[1] == 'make' else print(\n"
        "    fm.Pipeline('b', [use]).run()['out'], fm.Catalog().get('m', 1).load(),\n"
        "    'sqlalchemy' in sys.modules)\n"
    )
    env = child_env({"FLOWYML_FINGERPRINT_MEMO": str(tmp_path / "memo")})
    for arg in ("make", "use"):
        out = subprocess.run([sys.executable, "pipe.py", arg], cwd=tmp_path,
                             capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["4", "3", "False"]


def test_fingerprint_handles_a_step_with_1000_parameters(tmp_path: Path) -> None:
    params = ", ".join(f"p{i}=0" for i in range(1000))
    src = f"def wide({params}):\n    return p0 + p999\n"
    path = tmp_path / "wide_mod.py"
    path.write_text(src)
    ns: dict = {}
    exec(compile(src, str(path), "exec"), ns)
    fp = fingerprint_function(ns["wide"], root=tmp_path)
    assert len(fp.digest) == 64


def test_fingerprint_handles_a_1000_term_expression(tmp_path: Path) -> None:
    expr = " + ".join(f"x * {i}" for i in range(1000))
    src = f"def deep(x):\n    return {expr}\n"
    path = tmp_path / "deep_mod.py"
    path.write_text(src)
    import linecache

    linecache.checkcache(str(path))
    ns: dict = {}
    exec(compile(src, str(path), "exec"), ns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the source is readable: no fallback
        a = fingerprint_function(ns["deep"], root=tmp_path)
    path.write_text(src.replace("x * 999", "x * 998"))
    linecache.checkcache(str(path))
    ns2: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), ns2)
    assert fingerprint_function(ns2["deep"], root=tmp_path).digest != a.digest


def test_fingerprint_falls_back_to_bytecode_with_a_warning() -> None:
    ns: dict = {}
    exec("def generated(x):\n    return x + 1\n", ns)
    with pytest.warns(FingerprintWarning, match="generated"):
        fp = fingerprint_function(ns["generated"])
    ns2: dict = {}
    exec("def generated(x):\n    return x + 2\n", ns2)
    with pytest.warns(FingerprintWarning):
        assert fingerprint_function(ns2["generated"]).digest != fp.digest


def test_closure_values_count() -> None:
    def make(k: int):
        def f(x: int) -> int:
            return x * k

        return f

    assert fingerprint_function(make(2)).digest != fingerprint_function(make(3)).digest
    assert fingerprint_function(make(2)).digest == fingerprint_function(make(2)).digest
    assert "closure value k changed" in fingerprint_function(make(3)).explain_change(
        fingerprint_function(make(2)).parts
    )


def test_an_async_or_generator_function_is_refused_at_decoration() -> None:
    async def fetch() -> int:
        return 1

    def rows():
        yield 1

    with pytest.raises(fm.FlowymlError, match=r"async function.*asyncio.run"):
        fm.step(outputs="x")(fetch)
    with pytest.raises(fm.FlowymlError, match=r"generator function.*list\(\.\.\.\)"):
        fm.step(outputs="x")(rows)


def test_an_empty_pipeline_is_refused() -> None:
    with pytest.raises(fm.FlowymlError, match="has no steps"):
        fm.Pipeline("empty", [])


def test_wiring_mistakes_name_the_thing_and_the_fix() -> None:
    @fm.step(outputs="x")
    def load() -> int:
        return 1

    def plain() -> int:
        return 2

    with pytest.raises(fm.FlowymlError, match=r"pass a list of steps, fm.Pipeline\('one', \[load\]\)"):
        fm.Pipeline("one", load)  # type: ignore[arg-type]
    with pytest.raises(fm.FlowymlError, match=r"^test_wiring_mistakes.*\.plain is not a step"):
        fm.Pipeline("plain", [load, plain]).build()  # type: ignore[list-item]
    with pytest.raises(fm.FlowymlError, match=r"map_over='fold' .* \(did you mean 'folds'\?\)"):
        @fm.step(outputs="z", map_over="fold")
        def score(folds: list) -> int:
            return 0
    with pytest.raises(fm.FlowymlError, match=r"\*\*kwargs cannot be wired"):
        @fm.step(outputs="y")
        def takes_kwargs(**kwargs: int) -> int:
            return 0


def test_a_dask_executor_without_dask_is_refused_before_the_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from flowyml.executors import check_spec

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    with pytest.raises(fm.FlowymlError, match=r"needs dask.distributed.*flowyml-core\[dask\]"):
        check_spec("dask:2")
    assert check_spec("processes:2") == ("processes", 2)


@pytest.mark.filterwarnings("ignore:cannot read the source")  # (code made by exec)
def test_a_method_step_made_again_with_another_instance_is_warned(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipeline holds the step it was made with: a cell that makes a step from a bound
    method again (a new instance) does not change it. The run says so, as for a step
    function defined again; a variant beside it (another name holding a step of that
    name, for another pipeline) is not a newer step."""
    import types

    from flowyml.core.step import RedefinedStepWarning

    mod = types.ModuleType("method_cells")
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    exec(  # what a notebook's cells do, in a module of their own
        "import flowyml as fm\n"
        "class Model:\n"
        "    def __init__(self, k):\n        self.k = k\n"
        "    def predict(self, xs):\n        return sum(xs) * self.k\n"
        "@fm.step(outputs='xs')\ndef load():\n    return [1, 2, 3]\n"
        "predict = fm.step(outputs='score', name='predict')(Model(2).predict)\n"
        "pipe = fm.Pipeline('redef', [load, predict])\n", vars(mod))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RedefinedStepWarning)
        assert mod.pipe.run()["score"] == 12
        exec("variant = fm.step(outputs='score', name='predict')(Model(7).predict)", vars(mod))
        assert mod.pipe.run()["score"] == 12
    exec("predict = fm.step(outputs='score', name='predict')(Model(5).predict)", vars(mod))
    with pytest.warns(RedefinedStepWarning, match="holds an older step 'predict'.*another instance"):
        assert mod.pipe.run()["score"] == 12
    assert fm.Pipeline("redef", [mod.load, mod.predict]).run()["score"] == 30


def test_a_name_a_run_does_not_have_lists_the_ones_it_has(project: Path) -> None:
    @fm.step(outputs="total")
    def add_up(n: int = 3) -> int:
        return n + 1

    run = fm.Pipeline("names", [add_up]).run()
    with pytest.raises(KeyError, match=r"no asset 'totl'; its assets are \['total'\]"):
        run["totl"]
    with pytest.raises(KeyError, match=r"no step 'add'; its steps are \['add_up'\]"):
        run.steps["add"]
    assert run.steps["add_up"].executed and list(run.steps) == ["add_up"]
