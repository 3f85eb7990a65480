"""``@step(map_over=...)``: once per element, in parallel, each element cached on its own.

Dask runs the same checks in ``test_executors_dask.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import flowyml as fm

EXECUTORS = ["inline", "processes:2"]


@fm.step(outputs="items")
def items(values: list) -> list:
    return list(values)


@fm.step(outputs="squares", map_over="items")
def square(items: int, log: str, offset: int = 0) -> int:
    with open(log, "a") as f:
        f.write(f"{items}\n")
    return items * items + offset


@fm.step(outputs="total")
def add_up(squares: list[int]) -> int:
    return sum(squares)


PIPE = fm.Pipeline("mapped", [add_up, square, items])


def _executions(log: Path) -> list[int]:
    if not log.exists():
        return []
    return sorted(int(x) for x in log.read_text().split())


def _run(values: list, log: Path, executor: str, **params: object) -> fm.Run:
    return PIPE.run(params={"values": values, "log": str(log), **params}, executor=executor)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_each_element_runs_and_is_cached_on_its_own(project: Path, executor: str) -> None:
    log = project / "calls.txt"
    run = _run([1, 2, 3, 4], log, executor)
    assert run["squares"] == [1, 4, 9, 16] and run["total"] == 30
    assert _executions(log) == [1, 2, 3, 4]
    assert "4 of 4 elements executed, 0 reused" in run.steps["square"].reason

    log.unlink()
    run = _run([1, 2, 30, 4], log, executor)  # one element changed
    assert run["squares"] == [1, 4, 900, 16]
    assert _executions(log) == [30]
    assert "1 of 4 elements executed, 3 reused" in run.steps["square"].reason

    log.unlink()
    run = _run([4, 1, 2, 30], log, executor)  # same elements, another order
    assert run["squares"] == [16, 1, 4, 900] and _executions(log) == []
    assert run.steps["square"].executed  # the list changed; no element re-ran

    run = _run([4, 1, 2, 30], log, executor)  # nothing changed: the whole step is reused
    assert run.steps["square"].cached and _executions(log) == []

    run = _run([4, 1, 2, 30], log, executor, offset=1)  # a parameter change: all elements
    assert run["squares"] == [17, 2, 5, 901] and _executions(log) == [1, 2, 4, 30]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_element_records_and_lineage(project: Path, executor: str) -> None:
    log = project / "calls.txt"
    run = _run([5, 6], log, executor)
    cat = fm.Stack().resolve().open_catalog()
    rows = {r.step: r for r in cat.step_runs(run.id)}
    assert {"square[0]", "square[1]", "square"} <= set(rows)
    elements = cat.versions("squares.element")
    assert sorted(cat.find("squares.element", e.version).size for e in elements)
    whole = run.artifacts["items"].id
    for e in elements:
        assert whole in [pid for _, pid in cat.parents_of([e.id])[e.id]]
    assert run.artifacts["squares"].parents == [whole]


def test_results_are_identical_across_executors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowyml.stack import clear_opened

    seen = {}
    for ex in EXECUTORS:
        root = tmp_path / ex.replace(":", "_")
        root.mkdir()
        (root / "flowyml.toml").write_text("")
        monkeypatch.chdir(root)
        monkeypatch.setenv("FLOWYML_ROOT", str(root))
        clear_opened()
        run = PIPE.run(params={"values": [3, 1, 2], "log": os.devnull}, executor=ex)
        cat = fm.Stack().resolve().open_catalog()
        seen[ex] = (
            {a: (x.id, x.version) for a, x in run.artifacts.items()},
            [(x.version, x.content_hash) for x in cat.versions("squares.element")],
        )
    clear_opened()
    assert seen["inline"] == seen["processes:2"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_failing_element_keeps_the_others(project: Path, executor: str) -> None:
    marker = project / "calls.txt"

    @fm.step(outputs="xs")
    def xs(values: list) -> list:
        return values

    @fm.step(outputs="inv", map_over="xs")
    def inv(xs: int, log: str) -> float:
        with open(log, "a") as f:
            f.write(f"{xs}\n")
        return 1 / xs

    pipe = fm.Pipeline("inv", [xs, inv])
    with pytest.raises(fm.StepFailed, match="element 1 of xs") as info:
        pipe.run(params={"values": [1, 0, 4], "log": str(marker)}, executor=executor)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert _executions(marker) == [0, 1, 4]
    marker.unlink()
    run = pipe.run(params={"values": [1, 5, 4], "log": str(marker)}, executor=executor)
    assert run["inv"] == [1.0, 0.2, 0.25]
    assert _executions(marker) == [5]  # the elements that had finished were kept


def test_map_over_arrays_and_several_outputs(project: Path) -> None:
    @fm.step(outputs="chunks")
    def chunks() -> list:
        return [np.arange(4, dtype=np.float64) * i for i in range(3)]

    @fm.step(outputs=("sums", "maxes"), map_over="chunks")
    def stats(chunks: np.ndarray) -> tuple[float, float]:
        assert not chunks.flags.writeable  # memory-mapped from the store in the worker
        return float(chunks.sum()), float(chunks.max())

    run = fm.Pipeline("arrays", [chunks, stats]).run(executor="processes:2")
    assert run["sums"] == [0.0, 6.0, 12.0] and run["maxes"] == [0.0, 3.0, 6.0]


def test_empty_list_and_not_a_list(project: Path) -> None:
    log = project / "calls.txt"
    run = _run([], log, "inline")
    assert run["squares"] == [] and run["total"] == 0

    @fm.step(outputs="notlist")
    def notlist() -> dict:
        return {"a": 1}

    @fm.step(outputs="out", map_over="notlist")
    def out(notlist: int) -> int:
        return notlist

    with pytest.raises(fm.StepFailed, match="not a list"):
        fm.Pipeline("nl", [notlist, out]).run()


def test_force_reexecutes_every_element(project: Path) -> None:
    log = project / "calls.txt"
    _run([1, 2], log, "inline")
    log.unlink()
    PIPE.run(params={"values": [1, 2], "log": str(log)}, force=["square"])
    assert _executions(log) == [1, 2]


def test_elements_run_in_parallel(project: Path) -> None:
    @fm.step(outputs="naps")
    def naps() -> list:
        return [0.8, 0.8]

    @fm.step(outputs="spans", map_over="naps")
    def nap(naps: float) -> list:
        import time

        t = time.time()
        time.sleep(naps)
        return [t, time.time()]

    run = fm.Pipeline("naps", [naps, nap]).run(executor="processes:2")
    spans = run["spans"]
    # they overlapped (a check of overlap, not of total time, holds on a loaded machine)
    assert min(s[1] for s in spans) > max(s[0] for s in spans)


@fm.step(outputs="labels", map_over="items")
def label(items: fm.ArtifactRef) -> str:
    return f"{items.name} v{items.version} = {items.load()}"


def test_an_elements_handle_says_its_place_and_the_lists_version(project: Path) -> None:
    """A mapped step taking a handle sees ``items[i]`` and the list's version, also when
    the list was made in the same run; its result, which may say them, is reused only
    for the same place in the same list."""
    pipe = fm.Pipeline("handles", [items, label])
    first = pipe.run(params={"values": ["a", "b"]})
    assert first["labels"] == ["items[0] v1 = a", "items[1] v1 = b"]
    swapped = pipe.run(params={"values": ["b", "a"]})
    assert swapped["labels"] == ["items[0] v2 = b", "items[1] v2 = a"]
    longer = pipe.run(params={"values": ["b", "a", "c"]})
    assert longer["labels"] == ["items[0] v3 = b", "items[1] v3 = a", "items[2] v3 = c"]
    again = pipe.run(params={"values": ["b", "a", "c"]})
    assert again.steps["label"].cached and again["labels"] == longer["labels"]


@pytest.mark.parametrize("which", ["output", "step"])
def test_a_mapped_steps_names_must_leave_room_for_its_elements_records(which: str) -> None:
    """A mapped step's element records are named ``<output>.element`` and
    ``<step>[i]``: a name that fits alone (200 characters) but not with those overflowed
    PostgreSQL's columns mid-run (SQLite took it). Refused at build, naming the step."""
    long = "x" * 195

    def each(items: int) -> int:
        return items

    mapped = fm.step(outputs=long if which == "output" else "each_out",
                     name=long if which == "step" else "each", map_over="items")(each)
    with pytest.raises(fm.ParameterError, match="shorter name"):
        fm.Pipeline("long_names", [items, mapped]).build({"values": [1, 2]})
    fine = fm.step(outputs="y" * 190, name="z" * 188, map_over="items")(each)
    fm.Pipeline("long_names", [items, fine]).build({"values": [1, 2]})
