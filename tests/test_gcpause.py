"""The cycle collector is paused for the framework's bookkeeping only: user code sees it
as the user left it, a run leaves it as it found it, and the bookkeeping it pauses for
makes no reference cycles (the premise of the pause)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

import flowyml as fm
from flowyml.core.gcpause import paused, resumed
from tests.conftest import run_py, write


@pytest.fixture
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    gc.enable() if was else gc.disable()


@fm.step(outputs="seen")
def look() -> bool:
    return gc.isenabled()


@fm.step(outputs="after")
def turn_off(seen: bool) -> bool:
    gc.disable()
    return seen


def test_a_step_sees_the_collector_on_and_a_run_leaves_it_on(
        project: Path, collector_restored: None) -> None:
    gc.enable()
    run = fm.Pipeline("gc_on", [look]).run()
    assert run["seen"] is True
    assert gc.isenabled()


def test_a_collector_the_user_turned_off_stays_off(
        project: Path, collector_restored: None) -> None:
    gc.disable()
    run = fm.Pipeline("gc_off", [look]).run(force=True)
    assert run["seen"] is False
    assert not gc.isenabled()


def test_a_step_that_turns_the_collector_off_keeps_it_off(
        project: Path, collector_restored: None) -> None:
    gc.enable()
    run = fm.Pipeline("gc_step_off", [look, turn_off]).run()
    assert run["after"] is True  # it was on inside the step
    assert not gc.isenabled()


def test_pauses_nest_and_resume_only_their_own(collector_restored: None) -> None:
    gc.enable()
    with paused():
        assert not gc.isenabled()
        with paused():  # a nested pause (a pipeline run inside a step) owns nothing
            assert not gc.isenabled()
            with resumed():
                assert gc.isenabled()
                with paused():  # a run inside a step, inside a run
                    assert not gc.isenabled()
                assert gc.isenabled()
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with resumed():  # outside any pause: nothing to do
        assert gc.isenabled()


def test_runs_make_no_reference_cycles(tmp_path: Path) -> None:
    """What a run allocates is freed by reference counting alone: first run, cached
    rerun and a changed step (in a fresh process, after the runtime's own imports)."""
    root = tmp_path / "proj"
    write(root / "flowyml.toml", "")
    write(root / "chain.py", """
        import flowyml as fm

        @fm.step(outputs="a0")
        def s0(k: int = 1):
            return [k]

        @fm.step(outputs="a1")
        def s1(a0):
            return {"v": a0}

        @fm.step(outputs="a2")
        def s2(a1, a0):
            return (a1, a0)
        """)
    out = run_py(root, """
        import gc, sys
        sys.path.insert(0, ".")
        import flowyml as fm, chain
        fm.Pipeline("warm", [chain.s0]).run()  # the runtime's modules imported
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        steps = [chain.s0, chain.s1, chain.s2]
        for params in ({}, {}, {"k": 2}):
            run = fm.Pipeline("cycles", steps).run(params)
            assert run["a2"] == ({"v": [params.get("k", 1)]}, [params.get("k", 1)])
            del run
        gc.collect()
        print(len(gc.garbage), sorted({type(o).__name__ for o in gc.garbage})[:20])
        """)
    assert out.split(" ", 1)[0] == "0", out
