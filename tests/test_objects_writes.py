"""The write half of the object path (``objects.py``): an exception or a kill inside a
materializer leaves no object and no staged file, and many writers of the same content
(local folder, S3, GCS, Azure) all succeed with one object at version 1. Remote stores
are the loopback servers of tests/fixtures_servers.py."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import flowyml as fm
from flowyml.core.hashing import hash_bytes
from flowyml.stack import Stack, clear_opened
from tests._helpers_procs import _env
from tests._helpers_stores import _files, _s3_stack
from tests.conftest import write

from .stack_fixtures import uniq

# about objects in the store, tiny ones too (conftest.objects_in_store)
pytestmark = pytest.mark.usefixtures("objects_in_store")


class _Half:
    """A value whose materializer dies half-way through writing a large file."""


class _HalfWriter:
    name = "half-writer-test"
    version = 1
    uses_pickle = False

    def handles(self, value: object) -> bool:
        return isinstance(value, _Half)

    def save(self, value: _Half, path: Path) -> dict:
        with open(path, "wb") as f:
            for _ in range(8):
                f.write(os.urandom(2**20))
            f.flush()
            if os.environ.get("HALF_WRITER_KILL"):
                os.kill(os.getpid(), signal.SIGKILL)
            raise OSError("disk full half-way through")

    def load(self, path: Path) -> _Half:
        return _Half()


def _half_pipe() -> fm.Pipeline:
    @fm.step(outputs=("small", "large"))
    def produce() -> tuple:
        return [1, 2, 3], _Half()

    return fm.Pipeline("half", [produce])


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_exception_inside_a_writer_leaves_nothing(
    kind: str, project: Path, request: pytest.FixtureRequest
) -> None:
    fm.register_materializer(_HalfWriter())
    if kind == "local":
        st = Stack().resolve()
    else:
        server = request.getfixturevalue("s3_server")
        bucket = uniq("bkt")
        server.make_bucket(bucket)
        st = _s3_stack(project, server, bucket, "cache-a")
    with pytest.raises(fm.StepFailed, match="disk full"):
        _half_pipe().run(stack=st)
    store = st.open_store()
    # the small output was stored before the large one failed: whole, and unrecorded
    assert [o.digest for o in store.iter_objects()] == [hash_bytes(b"[1,2,3]")]
    con = sqlite3.connect(project / ".flowyml" / "catalog.db")
    assert con.execute("SELECT COUNT(*) FROM artifacts").fetchone()[0] == 0
    assert con.execute("SELECT COUNT(*) FROM cache_entries").fetchone()[0] == 0
    staging = Path(store.staging_dir())
    assert [p.name for p in _files(staging.parent)] == [".lock"], "the staged file is removed"
    if kind == "s3":
        server = request.getfixturevalue("s3_server")
        bucket = st.store.split("/")[2]  # type: ignore[union-attr]
        assert server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        assert not [p for p in _files(Path(st.cache_dir)) if p.stat().st_size > 100]  # type: ignore[arg-type]


def test_writer_killed_inside_a_materializer_leaves_nothing(project: Path) -> None:
    code = textwrap.dedent("""
        import flowyml as fm
        from tests.test_objects_writes import _HalfWriter, _half_pipe
        fm.register_materializer(_HalfWriter())
        _half_pipe().run()
    """)
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env=_env(HALF_WRITER_KILL="1", PYTHONPATH=str(repo), FLOWYML_ROOT=str(project)),
    )  # its pipeline lives in tests/
    assert proc.returncode == -signal.SIGKILL
    tmp = project / ".flowyml" / "tmp"
    leftovers = [p for p in _files(tmp) if p.name != ".lock"]
    assert leftovers and max(p.stat().st_size for p in leftovers) == 8 * 2**20  # half-written
    objects = _files(project / ".flowyml" / "objects")
    assert all(p.stat().st_size < 100 for p in objects)
    clear_opened()
    Stack().resolve().open_store().staging_dir()  # the next open sweeps the dead writer's
    assert [p for p in _files(tmp) if p.name != ".lock"] == []
    assert len(list(tmp.iterdir())) == 1  # only this process's own folder


def test_same_object_from_many_writers(project: Path) -> None:
    code = """
        import flowyml as fm
        @fm.step(outputs="same")
        def make():
            return list(range(50_000))
        fm.Pipeline("p", [make]).run(force=True)
    """
    import textwrap

    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=project)
        for _ in range(8)
    ]
    assert all(p.wait() == 0 for p in procs)
    objects = [p for p in (project / ".flowyml" / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 1
    assert [a.version for a in fm.Catalog().versions("same")] == [1]


SAME_WRITER = """
import os, sys, time, pathlib
import flowyml as fm
import fsspec, numpy, sqlalchemy, {backend}  # imported once, before the fork: 8 cheap processes

go = pathlib.Path(sys.argv[1])

@fm.step(outputs="same")
def make():  # .npy: no in-memory hash first, so every writer really uploads
    import numpy as np
    return np.arange(300_000, dtype=np.float64)

pipe = fm.Pipeline("same", [make])
pids = []
for i in range(8):
    pid = os.fork()
    if pid == 0:  # a writer process: connects on its own, waits, then races the others
        code = 1
        try:
            os.environ["FLOWYML_CACHE_DIR"] = str(go.parent / f"cache-{{i}}")
            fm.Stack().resolve().open_store().exists("0" * 64)
            fm.Catalog()
            (go.parent / f"ready-{{i}}").touch()
            while not go.exists():
                time.sleep(0.005)
            written = pipe.run(force=True).io["store_objects_written"]
            (go.parent / f"written-{{i}}").write_text(str(written))
            code = 0
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
    pids.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
print(codes)
"""


@pytest.mark.parametrize("kind", ["s3", "gcs", "azure"])
def test_same_object_from_many_writers_on_remote_stores(
    kind: str, project: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """8 processes put the same content at once: all succeed, one object, version 1."""
    import json

    from .stack_fixtures import make_harness

    harness = make_harness(kind, request, tmp_path)
    backend = {"s3": "s3fs", "gcs": "gcsfs", "azure": "adlfs"}[kind]
    write(project / "same.py", SAME_WRITER.format(backend=backend))
    go = tmp_path / "go"
    env = _env(FLOWYML_STORE=harness.uri, FLOWYML_STORAGE_OPTIONS=json.dumps(harness.options))
    proc = subprocess.Popen(
        [sys.executable, "same.py", str(go)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{i}").exists() for i in range(8)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the writers did not get ready"
        time.sleep(0.02)
    go.touch()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip() == str([0] * 8), out + err[-3000:]
    written = [int((tmp_path / f"written-{i}").read_text()) for i in range(8)]
    assert sum(written) == 1, written  # create-if-absent: exactly one upload created it
    keys = harness.raw_keys()
    (key,) = [k for k in keys if k.startswith("objects/")]
    assert hash_bytes(harness.raw_read(key)) == key.rsplit("/", 1)[1]
    # the project's catalog, which all 8 named in the store at once, is named once
    assert [k.split("/")[0] for k in keys if k != key] == ["catalogs"]
    clear_opened()
    assert [a.version for a in fm.Catalog().versions("same")] == [1]
    assert len(fm.Catalog().runs(limit=20)) == 8
