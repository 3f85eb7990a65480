"""Schema upgrades (``catalog/migrations.py``) killed half-way, on SQLite and
PostgreSQL: the catalog keeps the old or the new schema, never a mix, and the next
open upgrades cleanly."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests._helpers_procs import _env

from .stack_fixtures import uniq

UPGRADER = """
import sys, time
from flowyml.catalog import migrations
from flowyml.catalog.sql import SqlCatalog

url, delay = sys.argv[1], float(sys.argv[2])


def slow(version, fn):
    def run(conn):
        fn(conn)
        print(f"applied-{version}", flush=True)  # inside the upgrade's transaction
        time.sleep(delay)
    return run


migrations.MIGRATIONS[:] = [(v, what, slow(v, fn)) for v, what, fn in migrations.MIGRATIONS]
real_upgrade = migrations.upgrade


def upgrade(conn, display, target=migrations.LATEST):
    done = real_upgrade(conn, display, target)
    print("recorded", flush=True)  # the new version is written, not yet committed
    time.sleep(delay)
    return done


migrations.upgrade = upgrade
print("ready", flush=True)
SqlCatalog(url).close()
print("committed", flush=True)
time.sleep(120)
"""


KILL_POINTS = ["ready", "applied-1", "applied-2", "recorded", "committed"]


def _schema(url: str) -> tuple[int, dict[str, list[str]]]:
    """(the recorded schema version, {table: sorted columns and indexes})."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        insp = sa.inspect(engine)
        shape = {
            t: sorted(c["name"] for c in insp.get_columns(t))
            + sorted(f"index:{i['name']}" for i in insp.get_indexes(t))
            for t in insp.get_table_names()
        }
        version = 0
        if "flowyml_meta" in shape:
            with engine.connect() as conn:
                row = conn.execute(
                    sa.text("SELECT value FROM flowyml_meta WHERE key = 'schema_version'")
                ).first()
                version = 0 if row is None else int(row[0])
        return version, shape
    finally:
        engine.dispose()


def _kill_upgrader(project: Path, url: str, point: str, after: float, delay: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", UPGRADER, url, str(delay)],
        cwd=project,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.strip() == point:
                break
        else:
            raise AssertionError(f"the upgrader ended before {point!r}: {proc.communicate()[1]}")
        time.sleep(after)
    finally:
        proc.kill()  # SIGKILL
        proc.wait()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_killed_upgrade_leaves_the_old_or_the_new_schema(
    kind: str, project: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from flowyml.catalog import migrations
    from flowyml.catalog.sql import SqlCatalog

    from .test_catalog_contract import _make_v1

    def new_url(name: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        return str(
            request.getfixturevalue("postgres_server").create_database(uniq(name).replace("-", "_"))
        )

    # the two shapes a catalog may have: exactly v1 (the fixture) or exactly LATEST
    ref_v1, ref_new = new_url("ref1"), new_url("ref2")
    _make_v1(ref_v1)
    SqlCatalog(ref_new).close()
    old = {"v1": _schema(ref_v1), "empty": (0, {})}
    latest = _schema(ref_new)
    assert latest[0] == migrations.LATEST

    rnd = random.Random(10 if kind == "sqlite" else 11)
    n = 12 if kind == "sqlite" else 8
    delay = 0.3
    cases = []
    for i in range(n):
        start = "empty" if i % 4 == 3 else "v1"
        point = KILL_POINTS[i % len(KILL_POINTS)]
        if start == "v1" and point == "applied-1":
            point = "applied-2"
        after = rnd.uniform(0, 1.0) if point == "ready" else rnd.uniform(0, delay)
        url = new_url(f"c{i}")
        if start == "v1":
            _make_v1(url)
        cases.append((start, point, after, url))

    with ThreadPoolExecutor(len(cases)) as pool:
        list(pool.map(lambda c: _kill_upgrader(project, c[3], c[1], c[2], delay), cases))

    seen = set()
    for start, point, after, url in cases:
        state = _schema(url)
        label = f"{start} killed {after:.2f}s after {point!r}"
        if state == latest:
            seen.add("new")
        else:
            assert state == old[start], f"{label}: a mixed schema {state}"
            seen.add("old")
        if kind == "sqlite":
            con = sqlite3.connect(url.removeprefix("sqlite:///"))
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",), label
            con.close()
        # the next open upgrades cleanly (and is not blocked by the dead upgrader's lock)
        t0 = time.monotonic()
        cat = SqlCatalog(url, stack_name="after")
        try:
            assert time.monotonic() - t0 < 10, label
            assert cat.schema_version() == migrations.LATEST
            assert _schema(url) == latest, label
            if start == "v1":
                assert cat.get_run("old-run").status == "succeeded", label
                assert cat.find("model").content_hash == "ab" * 32, label
        finally:
            cat.close()
    assert seen == {"old", "new"}, seen  # the kills really landed on both sides of the commit
