"""No step can change another step's input, or a stored artifact, on any executor.

Every consumer gets a view of its own decoded from the stored object, exactly as a
worker process would: numpy arrays memory-mapped read-only (writing into one fails the
step with a message that names the input and the fix), Arrow frames as loaded, JSON and
pickle values as fresh objects. Run values and defaults of any kind (containers,
dataclasses, tuples holding lists, iterators) are private to each step too. So a step that changes its input in place changes nothing
that its siblings see, nothing in the store, and the run's results are the same on the
``inline``, ``processes`` and ``dask`` executors.

Each pipeline below has a producer, a step that changes its input in place and a
sibling that reads the same input *after* it (it also takes the changer's output, which
orders it on every executor) and hands back what it saw.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import flowyml as fm
from flowyml.core.refs import ArtifactRef
from flowyml.stack import clear_opened
from tests.test_executors_dask import dask_address  # noqa: F401  (module-scoped cluster)

EXECUTORS = ["inline", "processes:2", "dask"]


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest) -> str:
    """An executor spec; ``dask`` is the module's one ``LocalCluster`` (2 workers)."""
    if request.param == "dask":
        address: str = request.getfixturevalue("dask_address")
        return "dask://" + address.removeprefix("tcp://")
    return str(request.param)


# ---------------------------------------------------------------- producers
@fm.step(outputs="xs")
def make_list() -> list:
    return [1, 2, 3]


@fm.step(outputs="cfg")
def make_dict() -> dict:
    return {"lr": 0.1, "layers": [8, 8]}


@fm.step(outputs="ratings")
def make_frame() -> pd.DataFrame:
    return pd.DataFrame({"rating": [10.0, 55.0, 90.0], "user": ["a", "b", "c"]})


@fm.step(outputs="arr")
def make_array() -> np.ndarray:
    return np.arange(6, dtype=np.float64)


# ---------------------------------------------------------------- in-place changers
@fm.step(outputs="appended")
def append_one(xs: list) -> list:
    xs.append(4)
    xs[0] = -1
    return xs


@fm.step(outputs="tuned")
def tune(cfg: dict) -> dict:
    cfg["lr"] *= 10
    cfg["layers"].append(4)
    return cfg


@fm.step(outputs="scaled")
def scale(ratings: pd.DataFrame) -> pd.DataFrame:
    # pandas >= 3 (copy-on-write) gives the frame a private copy of the column; pandas 2
    # writes into the frame's own blocks, which were decoded for this step alone
    ratings["rating"] /= 100
    ratings.loc[0, "user"] = "changed"
    ratings.iloc[2, 0] = -1.0
    ratings["extra"] = 1
    return ratings


@fm.step(outputs="doubled")
def double_a_copy(arr: np.ndarray) -> np.ndarray:
    arr = arr.copy()  # the documented way to change a stored array
    arr *= 2
    return arr


# ---------------------------------------------------------------- siblings (read after)
@fm.step(outputs="seen_list")
def see_list(xs: list, appended: list) -> list:
    return xs


@fm.step(outputs="seen_dict")
def see_dict(cfg: dict, tuned: dict) -> dict:
    return cfg


@fm.step(outputs="seen_frame")
def see_frame(ratings: pd.DataFrame, scaled: pd.DataFrame) -> pd.DataFrame:
    return ratings


@fm.step(outputs="seen_array")
def see_array(arr: np.ndarray, doubled: np.ndarray) -> list:
    return arr.tolist()


MUTATING = fm.Pipeline("mutating", [
    make_list, append_one, see_list,
    make_dict, tune, see_dict,
    make_frame, scale, see_frame,
    make_array, double_a_copy, see_array,
])
PRODUCERS: dict[str, Callable[[], Any]] = {
    "xs": make_list.func, "cfg": make_dict.func, "ratings": make_frame.func,
    "arr": make_array.func,
}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame):
        return isinstance(b, pd.DataFrame) and a.equals(b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return bool(a == b)


def _stored(asset: str) -> Any:
    """The asset's latest stored value, loaded anew from the store (and verified)."""
    return fm.Catalog().get(asset).load()


def _check_mutating_run(run: fm.Run) -> None:
    # the changers saw the original and their results are what their code computes
    assert run["appended"] == [-1, 2, 3, 4]
    assert run["tuned"] == {"lr": 1.0, "layers": [8, 8, 4]}
    scaled = run["scaled"]
    assert scaled["rating"].tolist() == [0.1, 0.55, -1.0]
    assert scaled["user"].tolist() == ["changed", "b", "c"] and list(scaled["extra"]) == [1] * 3
    assert run["doubled"].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    # the siblings, run after them, saw the producer's value
    assert run["seen_list"] == make_list.func()
    assert run["seen_dict"] == make_dict.func()
    assert _same(run["seen_frame"], make_frame.func())
    assert run["seen_array"] == make_array.func().tolist()
    # ... recorded under the unchanged input's hash: the output returned as it came in is
    # the very same object in the store
    assert run.artifacts["seen_list"].content_hash == run.artifacts["xs"].content_hash
    assert run.artifacts["seen_dict"].content_hash == run.artifacts["cfg"].content_hash
    assert run.artifacts["seen_frame"].content_hash == run.artifacts["ratings"].content_hash
    # and the store still holds what the producers return when called directly
    for asset, produce in PRODUCERS.items():
        assert _same(_stored(asset), produce()), asset


def test_a_step_changing_its_input_changes_nothing_else(project: Path, executor: str) -> None:
    run = MUTATING.run(executor=executor)
    assert run.status == "succeeded"
    _check_mutating_run(run)
    # a rerun reuses everything: the recorded results were right
    again = MUTATING.run(executor=executor)
    assert all(s.cached for s in again.steps.values())
    _check_mutating_run(again)


def test_inputs_are_fresh_views_of_the_store(project: Path, executor: str) -> None:
    """What each step receives: numpy read-only, everything else its own object."""

    @fm.step(outputs="kinds")
    def kinds(xs: list, cfg: dict, ratings: pd.DataFrame, arr: np.ndarray) -> dict:
        return {
            "arr_writeable": bool(arr.flags.writeable),
            "arr_type": type(arr).__name__,
            "xs": type(xs).__name__,
            "cfg": type(cfg).__name__,
            "frame": type(ratings).__name__,
        }

    run = fm.Pipeline("kinds", [make_list, make_dict, make_frame, make_array, kinds]).run(
        executor=executor
    )
    assert run["kinds"] == {"arr_writeable": False, "arr_type": "ndarray", "xs": "list",
                            "cfg": "dict", "frame": "DataFrame"}


# ---------------------------------------------------------------- writing into an array
@fm.step(outputs="tripled")
def triple_in_place(arr: np.ndarray) -> np.ndarray:
    arr *= 3
    return arr


@fm.step(outputs="tripled")
def triple_through_ref(arr: ArtifactRef) -> np.ndarray:
    values = arr.load()
    values[0] = 100.0
    return values


@pytest.mark.parametrize("changer", [triple_in_place, triple_through_ref], ids=["value", "ref"])
def test_writing_into_a_stored_array_fails_naming_the_input(
    project: Path, executor: str, changer: fm.Step
) -> None:
    with pytest.raises(fm.StepFailed) as info:
        fm.Pipeline("readonly", [make_array, changer]).run(executor=executor)
    msg = str(info.value)
    assert f"step {changer.name!r} failed" in msg
    assert "its input arr (asset 'arr')" in msg and "read-only" in msg
    assert "copy it first, e.g. arr = arr.copy()" in msg
    assert isinstance(info.value.__cause__, ValueError)
    run = info.value.run  # type: ignore[attr-defined]
    assert run.steps[changer.name].status == "failed"
    assert _same(_stored("arr"), make_array.func())


# ---------------------------------------------------------------- map_over
@fm.step(outputs="rows")
def make_rows() -> list:
    return [[1, 2], [3, 4], [5]]


@fm.step(outputs="padded", map_over="rows")
def pad(rows: list) -> list:
    rows.append(0)
    return rows


@fm.step(outputs="seen_rows")
def see_rows(rows: list, padded: list) -> list:
    return rows


def test_map_over_elements_are_views_of_their_own(project: Path, executor: str) -> None:
    run = fm.Pipeline("rows", [make_rows, pad, see_rows]).run(executor=executor)
    assert run["padded"] == [[1, 2, 0], [3, 4, 0], [5, 0]]
    assert run["seen_rows"] == make_rows.func()
    assert _stored("rows") == make_rows.func()


@fm.step(outputs="arrays")
def make_arrays() -> list:
    return [np.arange(3, dtype=np.float64), np.ones(2)]


@fm.step(outputs="scaled_arrays", map_over="arrays")
def scale_each(arrays: np.ndarray) -> np.ndarray:
    arrays *= 2
    return arrays


@pytest.mark.filterwarnings("ignore::flowyml.materializers.PickleFallbackWarning")
def test_map_over_arrays_are_read_only_on_every_executor(project: Path, executor: str) -> None:
    with pytest.raises(fm.StepFailed) as info:
        fm.Pipeline("arrays", [make_arrays, scale_each]).run(executor=executor)
    msg = str(info.value)
    assert "element 0 of arrays" in msg and "its input arrays (asset 'arrays[0]')" in msg
    assert "copy it first, e.g. arrays = arrays.copy()" in msg
    stored = _stored("arrays")
    assert all(_same(a, b) for a, b in zip(stored, make_arrays.func(), strict=True))


# ---------------------------------------------------------------- plain values, retries
DEFAULT_TAGS = ["base"]


@fm.step(outputs="first_opts")
def change_opts(opts: dict, tags: list = DEFAULT_TAGS) -> dict:
    opts["k"] = "changed"
    opts["nested"]["n"].append(2)  # inside a value inside the value
    tags.append("first")
    return {"opts": opts, "tags": tags}


@fm.step(outputs="second_opts")
def read_opts(first_opts: dict, opts: dict, tags: list = DEFAULT_TAGS) -> dict:
    return {"opts": opts, "tags": tags}


def test_plain_values_are_private_to_each_step(project: Path, executor: str) -> None:
    opts = {"k": "original", "nested": {"n": [1]}}
    run = fm.Pipeline("opts", [change_opts, read_opts]).run(
        params={"opts": opts}, executor=executor
    )
    assert run["first_opts"] == {"opts": {"k": "changed", "nested": {"n": [1, 2]}},
                                 "tags": ["base", "first"]}
    assert run["second_opts"] == {"opts": {"k": "original", "nested": {"n": [1]}},
                                  "tags": ["base"]}
    assert opts == {"k": "original", "nested": {"n": [1]}} and DEFAULT_TAGS == ["base"]


@fm.step(outputs="retried", retries=1)
def flaky_append(xs: list, marker: str) -> list:
    xs.append(99)
    if not os.path.exists(marker):
        Path(marker).touch()
        raise RuntimeError("the first attempt fails after changing its input")
    return xs


def test_a_retry_starts_from_the_stored_input(project: Path, executor: str) -> None:
    marker = str(project / "attempted")
    run = fm.Pipeline("retry", [make_list, flaky_append]).run(
        params={"marker": marker}, executor=executor
    )
    assert run.steps["flaky_append"].attempts == 2
    assert run["retried"] == [1, 2, 3, 99]


# ---------------------------------------------------------------- run values of any kind
@dataclasses.dataclass
class Cfg:
    """A config object given as a run value (defined here: workers import it)."""

    layers: list = dataclasses.field(default_factory=lambda: [64, 32])


Pair = collections.namedtuple("Pair", "left right")


@fm.step(outputs="changed_values")
def change_values(cfg: Cfg, pair: tuple, named: Pair, stream: Any) -> list:
    cfg.layers.append(999)  # a dataclass, changed in place
    pair[0].append(999)  # a tuple holding a list
    named.left.append(999)  # a namedtuple holding a list
    return [len(cfg.layers), sum(stream)]  # consumes the iterator


@fm.step(outputs="seen_values")
def see_values(changed_values: list, cfg: Cfg, pair: tuple, named: Pair, stream: Any) -> list:
    return [cfg.layers, pair[0], named.left, sum(stream)]


def test_run_values_of_any_kind_are_private_to_each_step(project: Path, executor: str) -> None:
    """A dataclass, a tuple or namedtuple holding a list, an iterator: each step gets a
    value of its own, as a worker does by unpickling, so the step reading it after
    another changed (or consumed) it sees what the caller passed, on every executor,
    and the caller's objects are left alone."""
    cfg, pair, named = Cfg(), ([1, 2],), Pair([1], [2])
    run = fm.Pipeline("values", [change_values, see_values]).run(
        params={"cfg": cfg, "pair": pair, "named": named, "stream": iter(range(5))},
        executor=executor)
    assert run["changed_values"] == [3, 10]
    assert run["seen_values"] == [[64, 32], [1, 2], [1], 10]
    assert cfg == Cfg() and pair == ([1, 2],) and named == Pair([1], [2])


@fm.step(outputs="retried_cfg", retries=1)
def flaky_config(cfg: Cfg, marker: str) -> list:
    cfg.layers.append(1)
    if not os.path.exists(marker):
        Path(marker).touch()
        raise RuntimeError("the first attempt fails after changing its run value")
    return cfg.layers


def test_a_retry_starts_from_the_run_value(project: Path, executor: str) -> None:
    run = fm.Pipeline("retry_cfg", [flaky_config]).run(
        params={"cfg": Cfg(), "marker": str(project / "attempted")}, executor=executor)
    assert run.steps["flaky_config"].attempts == 2
    assert run["retried_cfg"] == [64, 32, 1]


@fm.step(outputs="both_loaded", cache=False)
def load_given(art: Any, loaded: Any) -> list:
    values = [art.load(), loaded.load()]
    for value in values:
        value.append(4)  # its own copy, loaded by its own handle
    return values


def test_an_artifact_given_as_a_run_value_loads_in_every_step(
        project: Path, executor: str) -> None:
    """An ``Artifact`` passed as a run value (``fm.Catalog().get(...)``, one loaded
    already) is a handle each step loads itself, on every executor: not a copy of the
    value the caller loaded, nor of its "not loaded yet" marker (which a copy would
    not take for the marker)."""
    fm.Pipeline("given", [make_list]).run()
    art, loaded = fm.Catalog().get("xs"), fm.Catalog().get("xs")
    assert loaded.load() == [1, 2, 3]
    run = fm.Pipeline("uses", [load_given]).run(params={"art": art, "loaded": loaded},
                                                executor=executor)
    assert run["both_loaded"] == [[1, 2, 3, 4], [1, 2, 3, 4]]
    assert art.load() == [1, 2, 3] and loaded.load() == [1, 2, 3]


SENTINEL = object()


@fm.step(outputs="kept")
def keeps(flag: object = SENTINEL, table: dict | None = None, codes: tuple = (1, "a"),
          shared: Any = None, holder: Any = None) -> bool:
    if shared is not None:
        shared["n"].append(2)
    return flag is SENTINEL and (holder is None or holder["flag"] is SENTINEL)


@pytest.mark.filterwarnings("ignore::flowyml.core.fingerprint.FingerprintWarning")
def test_values_that_cannot_change_or_cannot_be_copied_are_passed_as_they_are(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inline: plain scalars, tuples of them, a sentinel are passed with no copy (a
    flat table is copied shallowly, nothing is pickled or deep-copied); a value that
    cannot be copied (it holds a lock) is shared, with one warning that says so."""
    from flowyml.executors import task

    def no_copies(*args: Any) -> Any:
        raise AssertionError("copied a value that needs no copy beyond a shallow one")

    monkeypatch.setattr(task, "_copies", no_copies)
    pipe = fm.Pipeline("kept", [keeps])
    assert pipe.run(params={"table": {"a": 1, "b": 2.0}}, force=True)["kept"] is True
    monkeypatch.undo()
    # a copy keeps a sentinel inside a value itself too
    assert pipe.run(params={"holder": {"flag": SENTINEL, "n": [1]}}, force=True)["kept"]
    holder = {"lock": threading.Lock(), "n": [1]}
    with pytest.warns(fm.SharedValueWarning, match=r"run value shared \(a dict\) cannot be "
                      r"copied \(TypeError: cannot pickle '_thread.lock' object\)"):
        pipe.run(params={"shared": holder}, force=True)
    assert holder["n"] == [1, 2]  # the step had the caller's object
    with warnings.catch_warnings():
        warnings.simplefilter("error", fm.SharedValueWarning)  # said once
        pipe.run(params={"shared": holder}, force=True)
    assert holder["n"] == [1, 2, 2]


# ---------------------------------------------------------------- across executors
def test_same_results_on_every_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dask_address: str  # noqa: F811
) -> None:
    specs = ["inline", "processes:2", "dask://" + dask_address.removeprefix("tcp://")]
    seen: dict[str, dict[str, str]] = {}
    for i, spec in enumerate(specs):
        root = tmp_path / f"p{i}"
        root.mkdir()
        (root / "flowyml.toml").write_text("")
        monkeypatch.chdir(root)
        monkeypatch.setenv("FLOWYML_ROOT", str(root))
        clear_opened()
        run = MUTATING.run(executor=spec)
        _check_mutating_run(run)
        seen[spec] = {a: art.content_hash for a, art in run.artifacts.items()}
    clear_opened()
    assert seen[specs[1]] == seen[specs[0]] and seen[specs[2]] == seen[specs[0]]
