"""The README's Quickstart runs as written: saved next to an empty ``flowyml.toml``, it
runs, reruns from cache, and the commands the README shows next work on the same file
(importing it runs nothing)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import child_env, flowyml_cli

README = Path(__file__).resolve().parent.parent / "README.md"


def quickstart() -> str:
    text = README.read_text()
    section = text[text.index("## Quickstart"):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the Quickstart has a python block"
    return match.group(1)


def test_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "flowyml.toml").write_text("")
    (tmp_path / "pipe.py").write_text(quickstart())

    def python() -> str:
        done = subprocess.run([sys.executable, "pipe.py"], cwd=tmp_path, env=child_env(None),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    first, second = python(), python()
    assert "{'weight': 51.6}" in first and "False executed: no successful run of this step" in first
    assert "True reused" in second and "model@1" in second
    plan = flowyml_cli(tmp_path, "plan", "pipe.py", "-p", "lr=0.3")
    assert plan.returncode == 0, plan.stderr
    assert "train: run - parameter lr 0.2 -> 0.3" in plan.stdout
    run = flowyml_cli(tmp_path, "run", "pipe.py", "-p", "lr=0.3", "--quiet")
    assert run.returncode == 0, run.stderr
    runs = flowyml_cli(tmp_path, "runs")
    assert runs.stdout.count("quickstart") == 3, "plan ran nothing; run ran once"
    lineage = flowyml_cli(tmp_path, "lineage", "model")
    assert lineage.returncode == 0 and "raw_data@1" in lineage.stdout
