"""The SQL catalog (``catalog/sql.py``) under concurrent writer processes: versions
are 1..n exactly on SQLite and PostgreSQL, and SQLite under load loses no rows and
never reports "database is locked"."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from tests.conftest import child_env


def test_versions_under_races_sqlite(project: Path) -> None:
    code = """
        import sys
        import flowyml as fm
        i = int(sys.argv[1])
        @fm.step(outputs="shared")
        def make():
            return {"writer": i}
        fm.Pipeline(f"p{i}", [make]).run()
    """
    import textwrap

    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(i)], cwd=project)
        for i in range(20)
    ]
    assert all(p.wait() == 0 for p in procs)
    versions = sorted(a.version for a in fm.Catalog().versions("shared"))
    assert versions == list(range(1, 21))


@pytest.mark.timeout(300)
def test_sqlite_under_load_loses_no_rows(project: Path) -> None:
    code = """
        import sys
        import flowyml as fm
        w = int(sys.argv[1])
        @fm.step(outputs=f"out{w}")
        def make(i: int = 0):
            return [w, i]
        pipe = fm.Pipeline(f"load{w}", [make])
        for i in range(200):
            pipe.run(params={"i": i})
    """
    import textwrap

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), str(w)],
            cwd=project,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    errors = [p.communicate()[1] for p in procs]
    failed = [e[-3000:] for p, e in zip(procs, errors, strict=True) if p.returncode != 0]
    assert not failed, failed[0]
    assert not any("locked" in e for e in errors)
    con = sqlite3.connect(project / ".flowyml" / "catalog.db")
    assert con.execute("SELECT COUNT(*) FROM runs WHERE status = 'succeeded'").fetchone()[0] == 1600
    assert con.execute("SELECT COUNT(*) FROM artifacts").fetchone()[0] == 1600
    assert con.execute("SELECT COUNT(*) FROM step_runs").fetchone()[0] == 1600


def test_versions_under_races_postgres(project: Path, postgres_server: Any) -> None:
    url = postgres_server.create_database(f"races_{os.getpid()}_{int(time.time() * 1000) % 100000}")
    code = textwrap.dedent("""
        import sys
        import flowyml as fm
        i = int(sys.argv[1])
        @fm.step(outputs="shared")
        def make():
            return {"writer": i}
        fm.Pipeline(f"p{i}", [make]).run()
    """)
    env = child_env({"FLOWYML_CATALOG": url})
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(i)],
            cwd=project,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(20)
    ]
    errs = [p.communicate()[1] for p in procs]
    failed = [e[-1500:] for p, e in zip(procs, errs, strict=True) if p.returncode != 0]
    assert not failed, failed[0]
    versions = sorted(a.version for a in fm.Catalog(fm.Stack(catalog=url)).versions("shared"))
    assert versions == list(range(1, 21))
