"""What the runtime records, and when (``runtime/recorder.py``): outputs are stored
before the rows that reference them, a step's rows are all-or-nothing, and a writer
killed at any point loses nothing complete."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flowyml as fm
from tests._helpers_stores import _check_store_and_catalog
from tests.conftest import child_env, run_py, write

WRITER = """
import sys, numpy as np
import flowyml as fm

@fm.step(outputs=("big", "small"))
def produce(i: int = 0):
    rng = np.random.default_rng(i)
    return rng.random(400_000), {"i": i}

@fm.step(outputs="derived")
def derive(big, small):
    return big[: 1000] * small["i"]

pipe = fm.Pipeline("writer", [produce, derive])

if __name__ == "__main__":
    start = int(sys.argv[1])
    for i in range(start, start + 1000):
        pipe.run(params={"i": i % 7})
"""


@pytest.mark.timeout(240)
def test_kill_at_any_point_loses_nothing_complete(project: Path) -> None:
    write(project / "writer.py", WRITER)
    rnd = random.Random(1234)
    env = child_env()
    for k in range(50):
        proc = subprocess.Popen(
            [sys.executable, "writer.py", str(k)],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rnd.uniform(0.25, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _check_store_and_catalog(project)
    # the next run completes and reuses exactly what was complete
    out = run_py(
        project,
        """
        from writer import pipe
        import flowyml as fm
        for i in range(7):
            r = pipe.run(params={"i": i})
            assert r.status == "succeeded"
        r = pipe.run(params={"i": 3})
        print(r.executed)
    """,
    )
    assert out.strip() == "[]"
    staged = [
        p for p in (project / ".flowyml" / "tmp").rglob("*") if p.is_file() and p.name != ".lock"
    ]
    assert staged == []
    assert len(list((project / ".flowyml" / "tmp").iterdir())) <= 1  # only the last writer's
    _check_store_and_catalog(project)


class _Flaky:
    def __init__(self, fail: bool) -> None:
        self.fail = fail


class _FlakyMaterializer:
    name = "flaky-test"
    version = 1
    uses_pickle = False

    def handles(self, value: object) -> bool:
        return isinstance(value, _Flaky)

    def save(self, value: _Flaky, path: Path) -> dict:
        if value.fail:
            raise OSError("upload failed half-way")
        path.write_text("ok")
        return {}

    def load(self, path: Path) -> _Flaky:
        return _Flaky(False)


def test_outputs_before_records(project: Path) -> None:
    """When the k-th output fails to store, no output of that execution is recorded."""
    fm.register_materializer(_FlakyMaterializer())
    state = {"fail": True}

    @fm.step(outputs=("first", "second", "third"))
    def three() -> tuple:
        return [1], _Flaky(state["fail"]), [3]

    pipe = fm.Pipeline("outputs", [three])
    with pytest.raises(fm.StepFailed, match="upload failed"):
        pipe.run()
    con = sqlite3.connect(project / ".flowyml" / "catalog.db")
    assert con.execute("SELECT COUNT(*) FROM artifacts").fetchone()[0] == 0
    assert con.execute("SELECT COUNT(*) FROM cache_entries").fetchone()[0] == 0
    state["fail"] = False
    run = pipe.run()
    assert run.executed == ["three"] and sorted(run.artifacts) == ["first", "second", "third"]
