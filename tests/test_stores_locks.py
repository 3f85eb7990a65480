"""Locks die with their holder (``stores/staging.py``, ``stores/cache.py``, gc's delete
lock, a SQLite write): a process killed while holding them blocks nobody, and its
half-written staging folder is swept on the next open."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from flowyml.core.hashing import hash_bytes
from flowyml.stack import Stack, clear_opened
from tests._helpers_procs import _env
from tests._helpers_stores import _files

# about objects in the store, tiny ones too (conftest.objects_in_store)
pytestmark = pytest.mark.usefixtures("objects_in_store")


def test_leftover_staging_of_a_killed_writer_is_swept(project: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            """
import flowyml as fm, time
store = fm.Stack().resolve().open_store()
d = store.staging_dir()
(d / "half-written.part").write_bytes(b"x" * 1000)
print(d, flush=True)
time.sleep(60)
""",
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().strip())
    store = fm.Stack().resolve().open_store()
    store.staging_dir()
    assert folder.exists()  # its owner is alive: never touched
    proc.kill()
    proc.wait()
    t0 = time.perf_counter()
    from flowyml.stack import clear_opened

    clear_opened()
    fm.Stack().resolve().open_store().staging_dir()  # the next open sweeps it
    assert not folder.exists()
    assert time.perf_counter() - t0 < 1.0  # a dead holder's lock never blocks


LOCK_HOLDER = """
import fcntl, pathlib, sys, threading, time
import flowyml as fm
from flowyml.stores.cache import LocalCache

here = pathlib.Path(sys.argv[1])
digest = sys.argv[2]
st = fm.Stack().resolve()
store, catalog = st.open_store(), st.open_catalog()


def ready(what):
    (here / f"holding-{what}").touch()
    time.sleep(600)


def staging():
    (store.staging_dir() / "half.part").write_bytes(b"x" * 1000)
    ready("staging")


def fetch():  # downloading into the local cache, under the object's fetch lock
    LocalCache(here / "cache").fetch(digest, lambda tmp: ready("fetch"), RuntimeError)


def gc_lock():  # gc between its age check and its delete
    with store._gc_lock(fcntl.LOCK_EX):
        ready("gc")


def sqlite_write():  # in the middle of a catalog write transaction
    catalog.db.write(lambda cur: ready("sqlite"))


for fn in (staging, fetch, gc_lock, sqlite_write):
    threading.Thread(target=fn, daemon=True).start()
time.sleep(600)
"""


def test_locks_die_with_their_holder(project: Path, tmp_path: Path) -> None:
    """A process killed while holding every lock FlowyML takes (its staging folder, a
    local-cache fetch, gc's delete lock, a SQLite write transaction) blocks nobody: each
    is released by the kernel, and the next user gets it in well under a second."""
    from flowyml.stores.cache import LocalCache

    @fm.step(outputs="v")
    def make(i: int = 0) -> list[int]:
        return [i]

    pipe = fm.Pipeline("locks", [make])
    first = pipe.run()
    digest = first.artifacts["v"].content_hash
    data = b"fetched bytes"
    fetched = hash_bytes(data)
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(tmp_path), fetched], cwd=project, env=_env()
    )
    try:
        deadline = time.monotonic() + 30
        while not all(
            (tmp_path / f"holding-{w}").exists() for w in ("staging", "fetch", "gc", "sqlite")
        ):
            assert proc.poll() is None and time.monotonic() < deadline, "the holder did not start"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()

    clear_opened()
    st = Stack().resolve()
    store = st.open_store()

    def quick(what: str, fn: Any) -> Any:
        t0 = time.monotonic()
        out = fn()
        assert time.monotonic() - t0 < 1.0, f"{what} waited for a dead holder"
        return out

    quick("the staging sweep", store.staging_dir)
    assert [p for p in _files(project / ".flowyml" / "tmp") if p.name != ".lock"] == []
    path, got = quick(
        "a cache fetch",
        lambda: LocalCache(tmp_path / "cache").fetch(
            fetched, lambda tmp: tmp.write_bytes(data), RuntimeError
        ),
    )
    assert got and path.read_bytes() == data
    assert quick("gc's delete", lambda: store.delete_if_older(digest, 0.0)) is False
    quick("a catalog write", lambda: st.open_catalog().heartbeat(first.id))
    t0 = time.monotonic()
    run = pipe.run(params={"i": 1})
    assert run.status == "succeeded" and run.executed == ["make"]
    assert time.monotonic() - t0 < 3.0
