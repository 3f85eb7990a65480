"""The cyclic collector is paused while FlowyML builds a graph, and only then: a build
never leaves it off, never turns on one the user turned off, and a step's body runs
under the user's own setting."""

from __future__ import annotations

import gc
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

import flowyml as fm
from flowyml.core.errors import BuildError
from flowyml.core.gcpause import BIG, cyclic_gc_paused

_BUILDING = {"build_graph", "fingerprint_step"}  # validating, fingerprinting a step


@pytest.fixture
def collections() -> Iterator[list[str]]:
    """For each collection the collector starts meanwhile, the FlowyML build function
    it interrupted ("" if none)."""
    seen: list[str] = []

    def cb(phase: str, info: dict[str, int]) -> None:
        if phase != "start":
            return
        f: FrameType | None = sys._getframe(1)
        while f is not None and f.f_code.co_name not in _BUILDING:
            f = f.f_back
        seen.append(f.f_code.co_name if f is not None else "")

    gc.callbacks.append(cb)
    try:
        yield seen
    finally:
        gc.callbacks.remove(cb)


def _chain(root: Path, n: int) -> list[fm.Step]:
    """A chain of ``n`` steps in a module file of the project, as a user writes it."""
    lines = ["import flowyml as fm", "", '@fm.step(outputs="a0")', "def s0():", "    return 0"]
    for i in range(1, n):
        lines += ["", f'@fm.step(outputs="a{i}")', f"def s{i}(a{i - 1}):",
                  f"    return a{i - 1} + 1"]
    name = f"gc_chain_{n}"
    path = root / f"{name}.py"
    path.write_text("\n".join(lines) + "\n")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return [getattr(module, f"s{i}") for i in range(n)]


def test_a_build_collects_nothing_and_leaves_the_collector_on(
        project: Path, collections: list[str]) -> None:
    pipeline = fm.Pipeline("p", _chain(project, BIG))
    assert gc.isenabled()
    threshold = gc.get_threshold()
    gc.set_threshold(100)  # an enabled collector would run hundreds of times
    try:
        del collections[:]
        pipeline.build()
    finally:
        gc.set_threshold(*threshold)
    assert [c for c in collections if c] == []
    assert gc.isenabled()


def test_a_build_leaves_nothing_frozen_and_keeps_the_users_frozen_objects(
        project: Path) -> None:
    steps = _chain(project, BIG)
    fm.Pipeline("p", steps).build()
    assert gc.get_freeze_count() == 0  # what the build left alive is collectable

    kept = [[i] for i in range(10)]  # a user's preloaded, frozen objects
    gc.freeze()
    try:
        fm.Pipeline("p", steps).build()
        assert gc.get_freeze_count() >= len(kept)
        collectable = {id(o) for g in range(3) for o in gc.get_objects(generation=g)}
        assert not any(id(k) in collectable for k in kept)  # still frozen
    finally:
        gc.unfreeze()


def test_a_collector_the_user_turned_off_stays_off(project: Path) -> None:
    gc.disable()
    try:
        fm.Pipeline("p", _chain(project, BIG)).build()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failing_build_turns_the_collector_back_on(project: Path) -> None:
    @fm.step(outputs="y")
    def needs_x(x: int) -> int:  # nobody produces x
        return x

    steps = [*_chain(project, BIG), needs_x]  # big enough to be validated paused
    try:
        with pytest.raises(BuildError):
            fm.Pipeline("p", steps).build()
        assert gc.isenabled()
    finally:
        gc.enable()  # a failure here must not leave the rest of the suite without it

    with pytest.raises(RuntimeError), cyclic_gc_paused(BIG):
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_step_body_runs_with_the_collector_on(project: Path) -> None:
    @fm.step(outputs="on")
    def probe() -> bool:
        return gc.isenabled()

    run = fm.Pipeline("p", [probe]).run()
    assert run["on"] is True


def _rerun_collections(pipeline: fm.Pipeline, collections: list[str]) -> int:
    """The collections a run starts, with a threshold that would start dozens."""
    threshold = gc.get_threshold()
    gc.set_threshold(100)
    try:
        del collections[:]
        pipeline.run()
        return len(collections)
    finally:
        gc.set_threshold(*threshold)


def test_a_run_that_reuses_every_step_collects_nothing_and_leaves_it_on(
        project: Path, collections: list[str]) -> None:
    pipeline = fm.Pipeline("p", _chain(project, 30))  # (small: no build pause of its own)
    pipeline.run()
    assert _rerun_collections(pipeline, collections) == 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # what the run left alive is collectable


def test_the_run_pause_ends_before_the_first_step_body(
        project: Path, collections: list[str]) -> None:
    @fm.step(outputs="garbage")
    def churn() -> bool:  # cyclic garbage, as user code makes it
        for _ in range(5000):
            a: list[object] = []
            a.append(a)
        return gc.isenabled()

    run_collections = _rerun_collections(fm.Pipeline("p", [churn]), collections)
    assert run_collections > 0  # the collector ran while the step's body did
    assert gc.isenabled()


def test_a_run_keeps_the_users_frozen_objects_and_their_choice(project: Path) -> None:
    @fm.step(outputs="on")
    def probe() -> bool:
        return gc.isenabled()

    steps = _chain(project, 5)
    kept = [[i] for i in range(10)]
    gc.freeze()
    try:
        fm.Pipeline("p", steps).run()
        fm.Pipeline("p", steps).run()  # (all reused: paused to its end)
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()
    gc.disable()
    try:
        assert fm.Pipeline("p", [probe]).run()["on"] is False  # the user's setting
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failing_run_turns_the_collector_back_on(project: Path) -> None:
    @fm.step(outputs="y")
    def boom() -> int:
        raise ValueError("boom")

    with pytest.raises(fm.StepFailed):
        fm.Pipeline("p", [boom]).run()
    assert gc.isenabled()

    @fm.step(outputs="z")
    def needs_w(w: int) -> int:  # nobody produces w: fails at build, paused
        return w

    with pytest.raises(BuildError):
        fm.Pipeline("p", [needs_w]).run()
    assert gc.isenabled()
