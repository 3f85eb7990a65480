"""Group commit: what a run records reaches the catalog while the run goes on, not
only at its end, and a run that ends quickly starts no thread for it."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from flowyml.runtime import recorder

from .conftest import import_from, write


def _recorded(root: Path) -> list[str]:
    """The steps recorded so far for the newest run, read as another process would."""
    conn = sqlite3.connect(root / ".flowyml" / "catalog.db")
    try:
        return [r[0] for r in conn.execute(
            "SELECT step FROM step_runs WHERE run_id = (SELECT id FROM runs "
            "ORDER BY started_at DESC LIMIT 1) ORDER BY id")]
    finally:
        conn.close()


def test_a_long_step_does_not_hold_back_the_records_before_it(project: Path) -> None:
    write(project / "pipe.py", f'''
        import time
        from pathlib import Path

        import flowyml as fm
        from tests.test_recorder import _recorded


        @fm.step(outputs="a")
        def first():
            return 1


        @fm.step(outputs="b", cache=False)
        def long(a):
            deadline = time.monotonic() + 10 * {recorder.FLUSH_SECONDS}
            while time.monotonic() < deadline:  # the driver waits on this step
                if "first" in _recorded(Path({str(project)!r})):
                    return "first was recorded while this step ran"
                time.sleep(0.02)
            return "not recorded until the run ended"


        pipe = fm.Pipeline("p", [first, long])
    ''')
    run = import_from(project, "pipe").pipe.run()
    assert run["b"] == "first was recorded while this step ran"


def _recorder_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("flowyml-recorder")]


def test_a_run_that_only_reuses_starts_no_thread_unless_it_lasts(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project / "pipe.py", '''
        import flowyml as fm


        @fm.step(outputs="a")
        def first():
            return 1


        @fm.step(outputs="b")
        def second(a):
            return a + 1


        pipe = fm.Pipeline("p", [first, second])
    ''')
    pipe = import_from(project, "pipe").pipe
    started: list[str] = []
    real_start = recorder.Recorder.start

    def spy(self: recorder.Recorder) -> None:
        if self._run_id not in started:
            started.append(self._run_id)
        real_start(self)

    monkeypatch.setattr(recorder.Recorder, "start", spy)
    first = pipe.run()
    assert first["b"] == 2 and started == [first.id]  # it executed steps: the thread ran
    again = pipe.run()
    assert [s.status for s in again.steps.values()] == ["cached", "cached"]
    assert started == [first.id]  # all reused, in well under FLUSH_SECONDS: no thread
    assert _recorded(project) == ["first", "second"]  # and recorded all the same
    # a cached run that lasts (here: any) starts it, for its heartbeat and batches
    monkeypatch.setattr(recorder, "FLUSH_SECONDS", 0.0)
    third = pipe.run()
    assert started == [first.id, third.id] and _recorded(project) == ["first", "second"]
    assert _recorder_threads() == []  # each was joined when its run ended
