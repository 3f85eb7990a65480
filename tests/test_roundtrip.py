"""What is loaded equals what was returned: in the same run, from the store in a later
process, on any executor. A value a canonical format cannot keep exact falls back to
pickle with a warning naming the asset, or fails on a stack that forbids pickle."""

from __future__ import annotations

import datetime
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import flowyml as fm
from flowyml.materializers import PickleFallbackWarning
from flowyml.stack import clear_opened
from tests.conftest import REPO, child_env, run_py, write


def _pivot() -> pd.DataFrame:
    df = pd.DataFrame({"k": pd.Categorical(["x", "y", "x"]), "c": ["p", "p", "q"], "v": [1, 2, 3]})
    return df.pivot_table(index="c", columns="k", values="v", aggfunc="sum", observed=False)


def _series_with_period_index() -> pd.Series:
    return pd.Series([1.5, 2.5], index=pd.period_range("2020Q1", periods=2, freq="Q"), name="s")


def _big_minutes() -> pd.DataFrame:  # above FULL_CHECK_BYTES: verified by head and types
    n = 300_000
    return pd.DataFrame(
        {"a": np.arange(n), "b": np.arange(n) * 0.5},
        index=pd.date_range("2000-01-01", periods=n, freq="min", name="t"),
    )


# Values Arrow keeps exactly (some only thanks to FlowyML's own metadata).
EXACT: dict[str, Callable[[], Any]] = {
    "period_index": lambda: pd.DataFrame(
        {"a": [1, 2, 3]}, index=pd.period_range("2020-01", periods=3, freq="M")
    ),
    "datetime_freq": lambda: pd.DataFrame(
        {"a": [1.0, 2.0, 3.0]}, index=pd.date_range("2020-01-01", periods=3, freq="D", name="day")
    ),
    "timedelta_freq": lambda: pd.DataFrame(
        {"a": [1, 2]}, index=pd.timedelta_range("1D", periods=2, freq="h")
    ),
    "datetime_columns": lambda: pd.DataFrame(
        [[1, 2]], columns=pd.date_range("2020-01-01", periods=2, freq="W-SUN")
    ),
    "series_period": _series_with_period_index,
    "interval_index": lambda: pd.DataFrame({"a": [1, 2]}, index=pd.interval_range(0, 2)),
    "period_column": lambda: pd.DataFrame({"p": pd.period_range("2020", periods=2, freq="Q")}),
    "array_frame": lambda: pd.DataFrame(np.arange(6.0).reshape(3, 2)),  # RangeIndex columns
    "object_strings": lambda: pd.DataFrame(
        {"o": pd.Series(["x", "y", "z"], dtype=object, index=["a", "b", "c"])},
        index=pd.Index(["a", "b", "c"], dtype=object)),
    "big_minutes": _big_minutes,
}

# Values Arrow cannot hold, or would give back different: pickle, with a warning.
FALLBACK: dict[str, tuple[Callable[[], Any], str]] = {
    "categorical_pivot": (_pivot, "would not load back"),
    "mixed_objects": (lambda: pd.DataFrame({"a": [1, "x", 2.5]}), "Arrow cannot hold it"),
    "duplicate_columns": (lambda: pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column"),
    "sparse_column": (
        lambda: pd.DataFrame({"s": pd.arrays.SparseArray([0, 0, 1.0])}), "Sparse"
    ),
    "complex_column": (lambda: pd.DataFrame({"c": np.array([1 + 2j, 3j])}), "complex128"),
    "object_ints": (lambda: pd.DataFrame({"o": pd.Series([1, 2], dtype=object)}), "dtype"),
    "list_cells": (lambda: pd.DataFrame({"o": [[1], [2, 3]]}), "different"),
    "custom_bday_freq": (
        lambda: pd.DataFrame(
            {"a": range(4)},
            index=pd.bdate_range("2020-01-01", periods=4, freq="C", holidays=["2020-01-03"]),
        ),
        "would not load back",
    ),
    "polars_int128": (lambda: pl.DataFrame({"a": [1]}, schema={"a": pl.Int128}), "Arrow"),
    "npy_object_field": (
        lambda: np.array([(1, "x")], dtype=[("n", "i8"), ("o", "O")]), "Python objects"
    ),
    "json_surrogate": (lambda: ["\ud800"], "UTF-8"),
}

MATERIALIZER = {"big_minutes": "pandas-arrow", "series_period": "pandas-arrow"}


def make(name: str) -> Any:
    return EXACT[name]() if name in EXACT else FALLBACK[name][0]()


def assert_same(got: Any, want: Any) -> None:
    """Equal, with every check that can be strict, strict."""
    strict = {"check_exact": True, "check_freq": True, "check_flags": True,
              "check_index_type": True, "check_names": True, "check_dtype": True}
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, check_column_type=True, **strict)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, check_series_type=True, **strict)
    elif isinstance(want, pl.DataFrame):
        assert got.schema == want.schema and got.equals(want)
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tolist() == want.tolist()
    else:
        assert type(got) is type(want) and got == want


def producer(name: str) -> fm.Step:
    def produce() -> Any:
        return make(name)

    return fm.step(outputs=name, name=f"make_{name}")(produce)


@pytest.mark.parametrize("name", sorted(EXACT))
def test_canonical_formats_give_back_exactly_what_was_returned(project: Path, name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PickleFallbackWarning)
        run = fm.Pipeline("rt", [producer(name)]).run()
    art = run.artifacts[name]
    assert art.materializer == MATERIALIZER.get(name, "pandas-arrow")
    clear_opened()
    assert_same(fm.Catalog().get(name).load(), make(name))  # decoded from the store


@pytest.mark.parametrize("name", sorted(FALLBACK))
def test_values_a_format_cannot_keep_fall_back_to_pickle_with_a_warning(
    project: Path, name: str
) -> None:
    reason = FALLBACK[name][1]
    with pytest.warns(PickleFallbackWarning) as record:
        run = fm.Pipeline("rt", [producer(name)]).run()
    assert run.status == "succeeded"
    (warning,) = [w for w in record if issubclass(w.category, PickleFallbackWarning)]
    text = str(warning.message)
    assert f"asset {name!r}" in text and reason in text, text
    art = run.artifacts[name]
    assert art.materializer == "pickle"
    clear_opened()
    assert_same(fm.Catalog().get(name).load(), make(name))


def test_no_warning_for_values_that_are_pickled_by_design(project: Path) -> None:
    @fm.step(outputs="pair")
    def pair() -> tuple[int, int]:
        return 1, 2

    with warnings.catch_warnings():
        warnings.simplefilter("error", PickleFallbackWarning)
        run = fm.Pipeline("rt", [pair]).run()
    assert run.artifacts["pair"].materializer == "pickle"


def test_stack_without_pickle_fails_the_step_and_names_the_setting(project: Path) -> None:
    write(project / "flowyml.toml", """
        [stacks.default]
        allow_pickle = false
    """)
    clear_opened()
    with pytest.raises(fm.FlowymlError) as err:
        fm.Pipeline("rt", [producer("duplicate_columns")]).run()
    text = str(err.value)
    assert "allow_pickle" in text and "'duplicate_columns'" in text and "stacks.default" in text
    assert "duplicate column names" in text
    cat = fm.Catalog()
    with pytest.raises(fm.ArtifactNotFoundError):
        cat.get("duplicate_columns")
    # what the canonical format keeps is stored as usual on that stack
    run = fm.Pipeline("ok", [producer("period_index")]).run()
    assert run.artifacts["period_index"].materializer == "pandas-arrow"


def test_the_same_values_downstream_in_a_later_process(project: Path) -> None:
    """A consumer sees the same value in the producing run and, from the store, in a
    later process (where pandas has not registered its Arrow types yet)."""
    names = sorted(set(EXACT) | set(FALLBACK))
    write(project / "pipe.py", f"""
        import warnings
        import flowyml as fm
        from tests.test_roundtrip import assert_same, make, producer

        warnings.simplefilter("ignore")
        NAMES = {names!r}
        steps = []
        for n in NAMES:
            def check(value, n=n):
                assert_same(value, make(n))
                return True
            steps += [producer(n), fm.step(outputs=f"ok_{{n}}", inputs={{"value": n}},
                                           name=f"check_{{n}}")(check)]
        pipe = fm.Pipeline("downstream", steps)
    """)
    env = {"PYTHONPATH": f"{project}:{REPO}"}
    first = run_py(project, """
        from pipe import pipe
        run = pipe.run()
        print(sorted(run.executed))
    """, env=env)
    assert "check_period_index" in first
    # a later process: the producers are cached, each check loads its input from the store
    later = run_py(project, """
        from pipe import pipe, NAMES
        run = pipe.run(force=[f"check_{n}" for n in NAMES])
        assert run.status == "succeeded"
        print(sorted(run.executed))
    """, env=env)
    assert "make_period_index" not in later and "check_period_index" in later


def test_downstream_on_the_process_executor(project: Path) -> None:
    names = ["period_index", "datetime_freq", "categorical_pivot", "object_strings"]
    write(project / "pipe2.py", f"""
        import flowyml as fm
        from tests.test_roundtrip import assert_same, make, producer

        steps = []
        for n in {names!r}:
            def check(value, n=n):
                assert_same(value, make(n))
                return True
            steps += [producer(n), fm.step(outputs=f"ok_{{n}}", inputs={{"value": n}},
                                           name=f"check_{{n}}")(check)]
        pipe = fm.Pipeline("on_processes", steps)
    """)
    out = run_py(project, """
        import warnings
        warnings.simplefilter("ignore")
        from pipe2 import pipe
        run = pipe.run(executor="processes:2")
        print(run.status, len(run.executed))
    """, env={"PYTHONPATH": f"{project}:{REPO}"})
    assert out.split() == ["succeeded", "8"]


class Point:
    def __init__(self, x: float) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other.x == self.x

    def __hash__(self) -> int:
        return hash(self.x)


def test_pickled_artifacts_record_the_code_they_refer_to(project: Path) -> None:
    @fm.step(outputs="points")
    def points() -> Any:
        return {"p": [Point(1.0)], "when": datetime.date(2020, 1, 1)}

    run = fm.Pipeline("refs", [points]).run()
    art = run.artifacts["points"]
    assert art.materializer == "pickle"
    refs = fm.Catalog().get("points").meta["code_refs"]  # recorded in the catalog
    assert refs == [f"{Point.__module__}:Point"]  # datetime is the standard library
    assert art.meta["code_refs"] == refs


def test_an_equal_set_is_one_artifact_in_every_process(project: Path) -> None:
    """A set (of strings, whose order follows the process's hash seed; nested in a
    dict; a frozenset of frozensets) is stored with the same bytes in every process,
    whatever its ``PYTHONHASHSEED``, inline or on a worker: the step that re-executes
    (its code edited, say) gives the same artifact, version 1, and the step after it is
    reused (early cutoff)."""
    write(project / "sets_pipe.py", """
        import sys
        import flowyml as fm

        @fm.step(outputs="vocab")
        def vocab(n: int = 60) -> object:
            words = {f"word{i}" for i in range(n)}
            return {"words": words, "pairs": {frozenset({w, "x"}) for w in sorted(words)[:9]},
                    "mixed": {1, "a", None, ("t", 2.5)}}

        @fm.step(outputs="count")
        def count(vocab: dict) -> int:
            return len(vocab["words"])

        pipe = fm.Pipeline("sets", [vocab, count])
        if __name__ == "__main__":
            run = pipe.run(executor=sys.argv[1], force=["vocab"])
            art = run.artifacts["vocab"]
            print(art.version, art.content_hash, run.steps["count"].status)
    """)
    seen = []
    for seed, executor in (("1", "inline"), ("2", "inline"), ("3", "processes:2")):
        proc = subprocess.run([sys.executable, "sets_pipe.py", executor], cwd=project,
                              env=child_env({"PYTHONHASHSEED": seed,
                                             "PYTHONPATH": f"{project}:{REPO}"}),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        seen.append(proc.stdout.split())
    (v1, h1, s1), (v2, h2, s2), (v3, h3, s3) = seen
    assert (v1, v2, v3) == ("1", "1", "1") and h1 == h2 == h3, seen
    assert (s1, s2, s3) == ("executed", "cached", "cached"), seen
    stored = fm.Catalog().get("vocab").load()
    assert stored["words"] == {f"word{i}" for i in range(60)}
    assert stored["mixed"] == {1, "a", None, ("t", 2.5)}


def test_a_set_pickled_in_another_order_loads_as_it_did(tmp_path: Path) -> None:
    """Objects stored before sets were sorted (plain pickle, the process's order) load
    as they did; what is stored now loads back equal, nested sets and all."""
    import pickle

    from flowyml.materializers.builtin import PickleMaterializer

    value = {"s": {f"w{i}" for i in range(30)}, "f": frozenset({frozenset({"a"}), frozenset()}),
             "nan": {float("nan"), 1.0}, "t": ({b"x", b"y"}, [set()])}
    old = tmp_path / "old"
    old.write_bytes(pickle.dumps(value, protocol=5))
    m = PickleMaterializer()
    loaded = m.load(old)
    assert loaded["s"] == value["s"] and loaded["f"] == value["f"]
    new = tmp_path / "new"
    assert m.save(value, new) == {"code_refs": []}
    back = m.load(new)
    assert back["s"] == value["s"] and back["f"] == value["f"] and back["t"] == value["t"]
    assert len(back["nan"]) == 2 and 1.0 in back["nan"]
