"""Run liveness (``catalog/liveness.py``) end to end: a killed driver's run is shown
failed, on this host by its pid and on another host by its stopped heartbeat."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flowyml as fm
from tests._helpers_procs import _env
from tests.conftest import write


def test_killed_driver_shows_as_failed(project: Path) -> None:
    write(
        project / "slow.py",
        """
        import time
        import flowyml as fm

        @fm.step(outputs="a")
        def fast():
            return 1

        @fm.step(outputs="b")
        def slow(a):
            time.sleep(60)
            return a

        pipe = fm.Pipeline("slow", [fast, slow])
    """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", "from slow import pipe; pipe.run()"], cwd=project
    )
    deadline = time.time() + 30
    cat = fm.Catalog()
    while time.time() < deadline:
        runs = cat.runs()
        if runs and runs[0].status == "running" and cat.steps(runs[0].id):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the run never started")
    proc.kill()
    proc.wait()
    (run,) = cat.runs()
    assert run.status == "failed" and "died" in (run.error or "")
    # the step that was running left no cache entry: a rerun executes it
    con = sqlite3.connect(project / ".flowyml" / "catalog.db")
    assert con.execute("SELECT COUNT(*) FROM cache_entries WHERE step = 'slow'").fetchone()[0] == 0


REMOTE_DRIVER = """
import time
import flowyml as fm
import flowyml.catalog.liveness as liveness

liveness.HEARTBEAT_SECONDS = 0.2  # beat often: the test shrinks "stale" to 1.5 s
liveness.hostname = lambda: "another-machine"  # its pid means nothing here

@fm.step(outputs="slow")
def slow():
    time.sleep(60)
    return 1

fm.Pipeline("remote", [slow]).run()
"""


def test_a_killed_driver_on_another_host_is_shown_failed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pid of a driver on another machine cannot be checked: its heartbeat keeps a
    long step's run "running" (and protects what it writes from gc); once the driver is
    killed the run is shown failed within the staleness bound."""
    import flowyml.catalog.liveness as liveness

    monkeypatch.setattr(liveness, "STALE_AFTER_SECONDS", 1.5)
    proc = subprocess.Popen([sys.executable, "-c", REMOTE_DRIVER], cwd=project, env=_env())
    try:
        cat = fm.Catalog()
        deadline = time.monotonic() + 30
        while not cat.runs():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        (run,) = cat.runs()
        assert run.host == "another-machine"
        started = time.monotonic()
        while time.monotonic() - started < 3:  # twice the staleness bound, step still running
            assert cat.run(run.id).status == "running"
            assert fm.Stack().resolve().open_catalog().live_run_starts() == [run.started_at]
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    killed = time.monotonic()
    while cat.run(run.id).status == "running":
        # it flips ~1.5 s (the shortened bound) after the last beat; 10 s is for loaded machines
        assert time.monotonic() - killed < 10, "a dead driver's run stays running"
        time.sleep(0.05)
    failed = cat.run(run.id)
    assert failed.status == "failed" and "no heartbeat" in (failed.error or "")
    assert fm.Stack().resolve().open_catalog().live_run_starts() == []
    from click.testing import CliRunner

    from flowyml.cli.commands import main

    out = CliRunner().invoke(main, ["runs"]).stdout  # in-process: the shortened bound applies
    assert "failed" in out and "no heartbeat from the driver on another-machine" in out
