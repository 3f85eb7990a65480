"""Reliability and security, the rest of issue 7 (see docs/reliability.md): no code
execution from a remote store, an exception or a kill inside a writer, many writers of
one object on S3 / GCS / Azure, schema upgrades killed half-way, Dask retrying a task
whose worker died, a sentinel secret across every command, a killed driver on another
host, and locks that die with their holder. Loopback servers only
(tests/fixtures_servers.py); the whole file runs in about a minute.
"""

from __future__ import annotations

import os
import pickle
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from flowyml.catalog.records import NewOutput, StepRecord, Write
from flowyml.core.hashing import hash_bytes
from flowyml.stack import Stack, clear_opened
from tests.conftest import flowyml_cli, write

from .stack_fixtures import s3_bucket, uniq  # noqa: F401  (s3_bucket is a fixture)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWYML_")}
    env.update(extra)
    return env


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ---------------------------------------------------------------- security: pickle
class _Trap:
    """Unpickling this creates ``path``: what a hostile artifact would do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (Path.touch, (self.path,))


def _s3_stack(project: Path, s3_server: Any, bucket: str, cache: str, **kw: Any) -> Stack:
    return Stack(name="team", store=f"s3://{bucket}/p",
                 catalog=f"sqlite:///{project / '.flowyml' / 'catalog.db'}",
                 storage_options=s3_server.storage_options(),
                 cache_dir=str(project.parent / cache), **kw).resolve()


def _plant(st: Stack, data: bytes, name: str, materializer: str) -> str:
    """Bytes under their valid hash in ``st``'s store, and a catalog row naming them."""
    store = st.open_store()
    staged = store.staging_dir() / "planted.part"
    staged.write_bytes(data)
    digest = hash_bytes(data)
    store.put_file(digest, staged)
    rec = StepRecord(run_id="r-planted", pipeline="evil", step="evil", status="executed",
                     cache_key="0" * 64, reason="planted", code_version="x", started_at=0.0)
    st.open_catalog().record_batch([Write(
        "exec", rec, [NewOutput(name, digest, len(data), materializer, "x.Trap")], {},
        cache=False)])
    return digest


def test_no_code_execution_from_a_remote_store_by_default(
    project: Path, s3_server: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    marker = project / "PWNED"
    payload = pickle.dumps(_Trap(marker), protocol=5)
    st = _s3_stack(project, s3_server, s3_bucket, "cache-a")
    assert st.allow_pickle is None and st.open_store().allow_pickle is False  # the default
    _plant(st, payload, "trap", "pickle")

    # another machine (empty local cache) and the planting one: both refuse
    for cache in ("cache-b", "cache-a"):
        clear_opened()
        other = _s3_stack(project, s3_server, s3_bucket, cache)
        with pytest.raises(fm.FlowymlError, match="allow_pickle") as err:
            fm.Catalog(other).get("trap").load()
        assert "trap@1" in str(err.value) and "can run code" in str(err.value)

    # a downstream step that takes it as an input: the step fails, its code never runs
    ran = []

    @fm.step(outputs="used", inputs={"t": "trap@latest"})
    def use(t: Any) -> int:
        ran.append(t)
        return 1

    with pytest.raises(fm.FlowymlError, match="allow_pickle") as err:
        fm.Pipeline("victim", [use]).run(stack=st)
    assert "trap@1" in str(err.value)
    assert ran == []
    assert not marker.exists(), "the pickle was loaded"

    # the CLI refuses too
    opts = (f'{{ key = "{s3_server.key}", secret = "${{S3_SECRET}}", '
            f'client_kwargs = {{ endpoint_url = "{s3_server.endpoint_url}" }} }}')
    write(project / "flowyml.toml", f"""
        [stacks.shared]
        store = "s3://{s3_bucket}/p"
        storage_options = {opts}
        cache_dir = "../cache-c"

        [stacks.trusted]
        store = "s3://{s3_bucket}/p"
        storage_options = {opts}
        cache_dir = "../cache-d"
        allow_pickle = true
    """)
    monkeypatch.setenv("S3_SECRET", s3_server.secret)
    write(project / "victim.py", """
        import flowyml as fm

        @fm.step(outputs="used", inputs={"t": "trap@latest"})
        def use(t):
            return 1

        pipe = fm.Pipeline("victim", [use])
    """)
    res = flowyml_cli(project, "run", "victim.py", "--stack", "shared",
                      env={"S3_SECRET": s3_server.secret})
    assert res.returncode == 1 and "allow_pickle" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert not marker.exists()

    # the web page never unpickles, whatever the stack allows
    from flowyml.ui.preview import make_preview

    trusted = Stack(name="trusted").resolve()
    art = fm.Catalog(trusted).get("trap")
    assert "stored with pickle" in (make_preview(art, trusted.open_store()).message or "")
    assert not marker.exists()

    # the documented opt-in: allow_pickle = true on the stack loads it (and so runs it)
    clear_opened()
    assert fm.Catalog("trusted").get("trap").load() is None  # Path.touch returns None
    assert marker.exists()


def _object_npy(marker: Path) -> bytes:
    import io

    import numpy as np

    arr = np.empty(1, dtype=object)
    arr[0] = _Trap(marker)
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)  # an object array is a pickle inside .npy
    return buf.getvalue()


def _arrow_py_extension(marker: Path) -> bytes:
    """The shape of CVE-2023-47248: an Arrow IPC field whose extension metadata is a
    pickle, which pyarrow < 14.0.1 unpickled when reading the file."""
    import io

    import pyarrow as pa

    f = pa.field("x", pa.binary(), metadata={
        b"ARROW:extension:name": b"arrow.py_extension_type",
        b"ARROW:extension:metadata": pickle.dumps(_Trap(marker)),
    })
    table = pa.table({"x": pa.array([b"a"])}, schema=pa.schema([f]))
    buf = io.BytesIO()
    with pa.ipc.new_file(buf, table.schema) as w:
        w.write_table(table)
    return buf.getvalue()


@pytest.mark.parametrize(("make", "materializer"), [
    (_object_npy, "numpy"), (_arrow_py_extension, "arrow"), (_arrow_py_extension, "pandas-arrow"),
])
def test_npy_and_arrow_never_unpickle_even_when_allowed(
    make: Any, materializer: str, project: Path, s3_server: Any, s3_bucket: str  # noqa: F811
) -> None:
    """Objects stored as .npy or Arrow never reach pickle, even on a stack that allows
    it: an object-dtype .npy is refused, a pickled Arrow extension type is ignored."""
    marker = project / "PWNED"
    st = _s3_stack(project, s3_server, s3_bucket, "cache-a", allow_pickle=True)
    _plant(st, make(marker), "hostile", materializer)
    try:
        fm.Catalog(st).get("hostile").load()
    except fm.FlowymlError as exc:
        assert isinstance(exc, fm.CorruptArtifactError), exc
    assert not marker.exists()


# ---------------------------------------------------------------- an exception inside a writer
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
    code = textwrap.dedent('''
        import flowyml as fm
        from tests.test_reliability_more import _HalfWriter, _half_pipe
        fm.register_materializer(_HalfWriter())
        _half_pipe().run()
    ''')
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code], cwd=project,
                          env=_env(HALF_WRITER_KILL="1", PYTHONPATH=str(repo),
                                   FLOWYML_ROOT=str(project)))  # its pipeline lives in tests/
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


# ---------------------------------------------------------------- one object, many writers
SAME_WRITER = '''
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
'''


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
    proc = subprocess.Popen([sys.executable, "same.py", str(go)], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
    (key,) = harness.raw_keys()
    assert hash_bytes(harness.raw_read(key)) == key.rsplit("/", 1)[1]
    clear_opened()
    assert [a.version for a in fm.Catalog().versions("same")] == [1]
    assert len(fm.Catalog().runs(limit=20)) == 8


# ---------------------------------------------------------------- schema upgrades, killed
UPGRADER = '''
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
'''

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
                row = conn.execute(sa.text(
                    "SELECT value FROM flowyml_meta WHERE key = 'schema_version'")).first()
                version = 0 if row is None else int(row[0])
        return version, shape
    finally:
        engine.dispose()


def _kill_upgrader(project: Path, url: str, point: str, after: float, delay: float) -> None:
    proc = subprocess.Popen([sys.executable, "-c", UPGRADER, url, str(delay)], cwd=project,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
        return str(request.getfixturevalue("postgres_server").create_database(uniq(name).replace("-", "_")))

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


# ---------------------------------------------------------------- Dask retries a dead worker's task
def test_dask_retry_after_a_dead_worker_commits_once(project: Path) -> None:
    """On a cluster with Dask's own retries (allowed-failures 3, nannies restart dead
    workers), a step whose worker dies after uploading one of its outputs is re-run by
    the scheduler: one artifact per output, one cache entry, no duplicate lineage."""
    import dask
    import numpy as np
    from distributed import LocalCluster

    from flowyml.objects import store_value
    from flowyml.stores import open_store

    @fm.step(outputs="base")
    def base() -> list[int]:
        return list(range(100))

    @fm.step(outputs=("part_a", "part_b"))
    def doomed(base: list[int], marker: str, root: str) -> tuple:
        a = np.arange(20_000, dtype=np.float64) * len(base)
        with open(marker, "a") as f:
            f.write(f"{os.getpid()}\n")
        if len(Path(marker).read_text().split()) == 1:  # the first attempt
            store_value(open_store(root), "part_a", a)  # its first output is uploaded...
            os.kill(os.getpid(), signal.SIGKILL)  # ...then its worker dies
        return a, {"n": len(base)}

    @fm.step(outputs="after")
    def after(part_a: Any, part_b: dict) -> float:
        return float(part_a.sum()) + part_b["n"]

    with dask.config.set({"distributed.scheduler.allowed-failures": 3}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    try:
        spec = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
        marker = project / "attempts.txt"
        params = {"marker": str(marker), "root": str(project / ".flowyml")}
        pipe = fm.Pipeline("retried", [after, doomed, base])
        run = pipe.run(params=params, executor=spec)
        assert run.status == "succeeded" and run["after"] == float(np.arange(20_000).sum()) * 100 + 100
        pids = marker.read_text().split()
        assert len(pids) == 2 and pids[0] != pids[1], "Dask ran the step again on a new worker"
        assert run.steps["doomed"].attempts == 1  # the retry was Dask's, not FlowyML's

        con = sqlite3.connect(project / ".flowyml" / "catalog.db")
        q = con.execute
        assert q("SELECT name, COUNT(*) FROM artifacts GROUP BY name ORDER BY name").fetchall() == [
            ("after", 1), ("base", 1), ("part_a", 1), ("part_b", 1)]
        assert q("SELECT step, COUNT(*) FROM cache_entries GROUP BY step ORDER BY step").fetchall() == [
            ("after", 1), ("base", 1), ("doomed", 1)]
        assert q("SELECT step, COUNT(*) FROM step_runs GROUP BY step ORDER BY step").fetchall() == [
            ("after", 1), ("base", 1), ("doomed", 1)]
        ids = dict(q("SELECT name, id FROM artifacts").fetchall())
        edges = sorted(q("SELECT child_id, parent_id, param FROM lineage_edges").fetchall())
        assert edges == sorted([
            (ids["part_a"], ids["base"], "base"), (ids["part_b"], ids["base"], "base"),
            (ids["after"], ids["part_a"], "part_a"), (ids["after"], ids["part_b"], "part_b"),
        ])
        uses = q("SELECT artifact_id, run_id, step, role FROM artifact_uses").fetchall()
        assert len(uses) == len(set(uses)), "duplicate artifact_uses rows"
        assert sorted((u[2], u[3]) for u in uses if u[2] == "doomed") == [
            ("doomed", "produced"), ("doomed", "produced")]
        con.close()
        # one object per artifact, each whole; the dead worker's staging is swept
        objects = _files(project / ".flowyml" / "objects")
        assert len(objects) == 4
        assert all(hash_bytes(p.read_bytes()) == p.name for p in objects)
        clear_opened()
        Stack().resolve().open_store().staging_dir()
        assert [p for p in _files(project / ".flowyml" / "tmp") if p.name != ".lock"] == []
        # and the next run reuses all of it
        again = pipe.run(params=params, executor=spec)
        assert again.executed == [] and len(marker.read_text().split()) == 2
    finally:
        cluster.close()


# ---------------------------------------------------------------- secrets: a sentinel everywhere
SENTINEL = "SENTINEL-9f3c-secret"

SECRET_TOML = """
stack = "good"
[stacks.good]
store = "s3://${BUCKET}/p"
storage_options = { key = "sentinel-key", secret = "${S3_SECRET}", client_kwargs = { endpoint_url = "${GOOD_ENDPOINT}" } }
cache_dir = ".flowyml/cache-good"

[stacks.goodpg]
store = "s3://${BUCKET}/p"
catalog = "postgresql+psycopg://${PG_USER}:${PG_PW}@${PG_HOST}/${PG_DB}"
storage_options = { key = "sentinel-key", secret = "${S3_SECRET}", client_kwargs = { endpoint_url = "${GOOD_ENDPOINT}" } }
cache_dir = ".flowyml/cache-goodpg"

[stacks.bads3]
store = "s3://${BAD_BUCKET}/p"
catalog = "sqlite:///.flowyml/catalog.db"
storage_options = { key = "${BAD_KEY}", secret = "${S3_SECRET}", client_kwargs = { endpoint_url = "${BAD_ENDPOINT}" } }
cache_dir = ".flowyml/cache-bad"

[stacks.badpg]
store = ".flowyml/badpg-store"
catalog = "postgresql+psycopg://${BAD_PG_USER}:${PG_PW}@${PG_HOST}/${PG_DB}"
"""

SECRET_PIPE = """
import flowyml as fm

@fm.step(outputs="raw")
def load(n: int = 5):
    return list(range(n))

@fm.step(outputs="model")
def train(raw):
    return {"total": sum(raw)}

pipe = fm.Pipeline("secretive", [train, load])
"""

STACK_COMMANDS = [
    ["run", "pipe.py"], ["run", "pipe.py"], ["plan", "pipe.py"], ["runs"], ["artifacts"],
    ["artifacts", "model"], ["show", "model"], ["lineage", "model"],
    ["lineage", "model", "--format", "json"], ["lineage", "raw", "--down", "--format", "mermaid"],
    ["tag", "model", "1", "prod"], ["gc", "--dry-run"], ["verify"], ["cache", "status"],
]


@pytest.fixture(scope="module")
def sentinel_s3(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An S3 server whose (right) secret key is the sentinel."""
    from .servers import start_seaweedfs

    server = start_seaweedfs(tmp_path_factory.mktemp("s3-sentinel"), key="sentinel-key",
                             secret=SENTINEL)
    try:
        yield server
    finally:
        server.stop()


def _sentinel_env(monkeypatch: pytest.MonkeyPatch, sentinel_s3: Any, s3_server: Any,
                  postgres_server: Any) -> dict[str, str]:
    import psycopg
    from psycopg import sql

    user, db, bucket, bad_bucket = (uniq(x).replace("-", "_") for x in ("sentinel", "db", "b", "b"))
    bucket, bad_bucket = bucket.replace("_", "-"), bad_bucket.replace("_", "-")
    with psycopg.connect(postgres_server.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(user), sql.Literal(SENTINEL)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(db), sql.Identifier(user)))
    sentinel_s3.make_bucket(bucket)
    s3_server.make_bucket(bad_bucket)
    env = {
        "S3_SECRET": SENTINEL, "PG_PW": SENTINEL, "BUCKET": bucket, "BAD_BUCKET": bad_bucket,
        "GOOD_ENDPOINT": sentinel_s3.endpoint_url, "BAD_ENDPOINT": s3_server.endpoint_url,
        "BAD_KEY": s3_server.key, "PG_USER": user, "BAD_PG_USER": postgres_server.user,
        "PG_HOST": f"{postgres_server.host}:{postgres_server.port}", "PG_DB": db,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def test_a_sentinel_secret_never_shows(
    project: Path, monkeypatch: pytest.MonkeyPatch, sentinel_s3: Any, s3_server: Any,
    postgres_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The sentinel is the right S3 secret and PostgreSQL password of the good stacks and
    a wrong one of the bad stacks, always through ${VAR} in flowyml.toml. Every command,
    on every stack, succeeding or failing, prints it nowhere; it is in no catalog row and
    in no file of the project."""
    import logging
    import traceback
    import warnings

    from click.testing import CliRunner

    from flowyml.cli.commands import main
    from flowyml.stack import check_stack

    from .stack_fixtures import all_catalog_text

    env = _sentinel_env(monkeypatch, sentinel_s3, s3_server, postgres_server)
    write(project / "flowyml.toml", SECRET_TOML)
    write(project / "pipe.py", SECRET_PIPE)
    monkeypatch.syspath_prepend(str(project))
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    outcomes: dict[tuple[str, ...], int] = {}
    runner = CliRunner()

    def cli(*args: str) -> None:
        clear_opened()
        sys.modules.pop("pipe", None)
        res = runner.invoke(main, list(args))
        shown.append(f"$ flowyml {' '.join(args)}\n{res.stdout}{res.stderr}")
        if res.exc_info is not None and not isinstance(res.exception, SystemExit):
            shown.append("".join(traceback.format_exception(*res.exc_info)))
        outcomes[args] = res.exit_code

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in ("good", "goodpg", "bads3", "badpg"):
            for cmd in STACK_COMMANDS:
                cli(*cmd, "--stack", name)
            cli("stack", "show", name)
            cli("stack", "show", name, "--json")
            cli("stack", "check", name)
        cli("stack", "list")

        # the Python API: errors with their whole chain, reprs, check results
        clear_opened()
        from pipe import pipe

        for name, error in (("bads3", fm.StoreError), ("badpg", fm.CatalogError)):
            with pytest.raises(error) as err:
                pipe.run(stack=name, force=True)
            shown.append("".join(traceback.format_exception(err.value)))
            shown.extend(f"{r.part} {r.message}" for r in check_stack(name))
        with pytest.raises(fm.StoreError) as err:
            fm.Catalog("bads3").get("model").load()  # the good catalog, a bad store
        shown.append("".join(traceback.format_exception(err.value)))
        for name in ("good", "goodpg", "bads3", "badpg"):
            st = Stack(name=name).resolve()
            shown += [repr(st), str(st), repr(Stack(name=name)), str(st.describe())]
            if not name.startswith("bad"):
                shown += [repr(st.open_store()), repr(st.open_catalog()), repr(fm.Catalog(st))]
        shown.append(repr(pipe.run(stack="good")))
    shown += [str(w.message) for w in caught]
    shown += [r.getMessage() for r in caplog.records]

    # the good stacks really worked, the bad ones really failed
    for name in ("good", "goodpg"):
        assert outcomes[("run", "pipe.py", "--stack", name)] == 0
        assert outcomes[("stack", "check", name)] == 0
    for name in ("bads3", "badpg"):
        assert outcomes[("run", "pipe.py", "--stack", name)] == 1
        assert outcomes[("stack", "check", name)] == 1
    text = "\n".join(shown)
    assert "rejected the credentials" in text and "password authentication failed" in text

    # the real command line: a run and the web page's startup output, on each stack
    procs = [subprocess.Popen([str(Path(sys.executable).parent / "flowyml"), *args], cwd=project,
                              env=_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
             for name in ("good", "goodpg", "bads3", "badpg")
             for args in (["run", "pipe.py", "--stack", name], ["ui", "--port", "0", "--stack", name])]
    for p in procs:
        if "ui" in p.args:
            _let_ui_start(p)
        out, err = p.communicate(timeout=60)
        shown.append(f"$ {p.args}\n{out}{err}")
    text = "\n".join(shown)
    assert text.count("FlowyML UI (read-only)") >= 3
    assert SENTINEL not in text, text[max(0, text.find(SENTINEL) - 2000):text.find(SENTINEL) + 200]

    # nothing stored anywhere: catalog rows (SQLite file bytes, PostgreSQL rows), project files
    clear_opened()
    files = _files(project)
    assert any(p.name == "catalog.db" for p in files)
    for p in files:
        assert SENTINEL.encode() not in p.read_bytes(), f"the secret is in {p}"
    pg = postgres_server.url_for(env["PG_DB"])
    pg_text = all_catalog_text(pg)
    assert "secretive" in pg_text and SENTINEL not in pg_text


def _let_ui_start(proc: subprocess.Popen[str]) -> None:
    """Wait until ``flowyml ui`` listens (or exits), then stop it with Ctrl-C."""
    import psutil

    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if any(c.status == psutil.CONN_LISTEN for c in psutil.Process(proc.pid).net_connections()):
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)


# ---------------------------------------------------------------- crash status on another host
REMOTE_DRIVER = '''
import socket, time
import flowyml as fm
import flowyml.catalog.liveness as liveness

liveness.HEARTBEAT_SECONDS = 0.2  # beat often: the test shrinks "stale" to 1.5 s
socket.gethostname = lambda: "another-machine"  # its pid means nothing here

@fm.step(outputs="slow")
def slow():
    time.sleep(60)
    return 1

fm.Pipeline("remote", [slow]).run()
'''


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
        assert time.monotonic() - killed < 5, "a dead driver's run stays running"
        time.sleep(0.05)
    failed = cat.run(run.id)
    assert failed.status == "failed" and "no heartbeat" in (failed.error or "")
    assert fm.Stack().resolve().open_catalog().live_run_starts() == []
    from click.testing import CliRunner

    from flowyml.cli.commands import main

    out = CliRunner().invoke(main, ["runs"]).stdout  # in-process: the shortened bound applies
    assert "failed" in out and "no heartbeat from the driver on another-machine" in out


# ---------------------------------------------------------------- locks die with their holder
LOCK_HOLDER = '''
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
    catalog._write(lambda conn: ready("sqlite"))


for fn in (staging, fetch, gc_lock, sqlite_write):
    threading.Thread(target=fn, daemon=True).start()
time.sleep(600)
'''


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
    proc = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(tmp_path), fetched],
                            cwd=project, env=_env())
    try:
        deadline = time.monotonic() + 30
        while not all((tmp_path / f"holding-{w}").exists()
                      for w in ("staging", "fetch", "gc", "sqlite")):
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
    path, got = quick("a cache fetch", lambda: LocalCache(tmp_path / "cache").fetch(
        fetched, lambda tmp: tmp.write_bytes(data), RuntimeError))
    assert got and path.read_bytes() == data
    assert quick("gc's delete", lambda: store.delete_if_older(digest, 0.0)) is False
    quick("a catalog write", lambda: st.open_catalog().heartbeat(first.id))
    t0 = time.monotonic()
    run = pipe.run(params={"i": 1})
    assert run.status == "succeeded" and run.executed == ["make"]
    assert time.monotonic() - t0 < 3.0
