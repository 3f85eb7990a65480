"""Reliability on one machine: kills, races, stale staging, concurrent writers, names."""

from __future__ import annotations

import os
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
from flowyml.core.hashing import hash_file
from tests.conftest import run_py, write

WRITER = '''
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
'''


def _check_store_and_catalog(root: Path) -> tuple[int, int]:
    """Every object hashes to its name; every artifact row points at a whole object."""
    objects = {p.name: p for p in (root / ".flowyml" / "objects").rglob("*") if p.is_file()}
    for name, path in objects.items():
        assert hash_file(path) == name, f"object {name} is damaged"
    con = sqlite3.connect(root / ".flowyml" / "catalog.db")
    rows = con.execute("SELECT name, version, content_hash FROM artifacts").fetchall()
    for name, version, digest in rows:
        assert digest in objects, f"{name}@{version} points at missing object {digest}"
    versions = con.execute("SELECT name, COUNT(*), MAX(version) FROM artifacts GROUP BY name").fetchall()
    for name, count, top in versions:
        assert count == top, f"versions of {name} are not 1..{count}"
    return len(objects), len(rows)


@pytest.mark.timeout(240)
def test_kill_at_any_point_loses_nothing_complete(project: Path) -> None:
    write(project / "writer.py", WRITER)
    rnd = random.Random(1234)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWYML_")}
    for k in range(50):
        proc = subprocess.Popen([sys.executable, "writer.py", str(k)], cwd=project, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.25, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _check_store_and_catalog(project)
    # the next run completes and reuses exactly what was complete
    out = run_py(project, '''
        from writer import pipe
        import flowyml as fm
        for i in range(7):
            r = pipe.run(params={"i": i})
            assert r.status == "succeeded"
        r = pipe.run(params={"i": 3})
        print(r.executed)
    ''')
    assert out.strip() == "[]"
    staged = [p for p in (project / ".flowyml" / "tmp").rglob("*") if p.is_file() and p.name != ".lock"]
    assert staged == []
    assert len(list((project / ".flowyml" / "tmp").iterdir())) <= 1  # only the last writer's
    _check_store_and_catalog(project)


def test_leftover_staging_of_a_killed_writer_is_swept(project: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", '''
import flowyml as fm, time
store = fm.Stack().resolve().open_store()
d = store.staging_dir()
(d / "half-written.part").write_bytes(b"x" * 1000)
print(d, flush=True)
time.sleep(60)
'''], cwd=project, stdout=subprocess.PIPE, text=True)
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


def test_same_object_from_many_writers(project: Path) -> None:
    code = '''
        import flowyml as fm
        @fm.step(outputs="same")
        def make():
            return list(range(50_000))
        fm.Pipeline("p", [make]).run(force=True)
    '''
    import textwrap

    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=project)
             for _ in range(8)]
    assert all(p.wait() == 0 for p in procs)
    objects = [p for p in (project / ".flowyml" / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 1
    assert [a.version for a in fm.Catalog().versions("same")] == [1]


def test_different_bytes_never_replace_an_object(project: Path) -> None:
    store = fm.Stack().resolve().open_store()
    good = project / "good"
    good.write_bytes(b"good")
    digest = hash_file(good)
    store.put_file(digest, good)
    evil = project / "evil"
    evil.write_bytes(b"evil")
    assert store.put_file(digest, evil) is False
    assert store.local_path(digest).read_bytes() == b"good"


def test_versions_under_races_sqlite(project: Path) -> None:
    code = '''
        import sys
        import flowyml as fm
        i = int(sys.argv[1])
        @fm.step(outputs="shared")
        def make():
            return {"writer": i}
        fm.Pipeline(f"p{i}", [make]).run()
    '''
    import textwrap

    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(i)], cwd=project)
             for i in range(20)]
    assert all(p.wait() == 0 for p in procs)
    versions = sorted(a.version for a in fm.Catalog().versions("shared"))
    assert versions == list(range(1, 21))


@pytest.mark.timeout(300)
def test_sqlite_under_load_loses_no_rows(project: Path) -> None:
    code = '''
        import sys
        import flowyml as fm
        w = int(sys.argv[1])
        @fm.step(outputs=f"out{w}")
        def make(i: int = 0):
            return [w, i]
        pipe = fm.Pipeline(f"load{w}", [make])
        for i in range(200):
            pipe.run(params={"i": i})
    '''
    import textwrap

    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(w)], cwd=project,
                              stderr=subprocess.PIPE, text=True) for w in range(8)]
    errors = [p.communicate()[1] for p in procs]
    failed = [e[-3000:] for p, e in zip(procs, errors, strict=True) if p.returncode != 0]
    assert not failed, failed[0]
    assert not any("locked" in e for e in errors)
    con = sqlite3.connect(project / ".flowyml" / "catalog.db")
    assert con.execute("SELECT COUNT(*) FROM runs WHERE status = 'succeeded'").fetchone()[0] == 1600
    assert con.execute("SELECT COUNT(*) FROM artifacts").fetchone()[0] == 1600
    assert con.execute("SELECT COUNT(*) FROM step_runs").fetchone()[0] == 1600


@pytest.mark.parametrize(
    "bad",
    ["../escape", "/abs/path", "a/b", "name#frag", "name%2e%2e", "nul\x00byte", "", ".hidden",
     "white space", "a..b", "x" * 300],
)
def test_names_cannot_escape(project: Path, bad: str) -> None:
    with pytest.raises(fm.ParameterError):
        fm.step(outputs=bad)(lambda: 1)
    fm.Pipeline("p", [fm.step(outputs="ok")(lambda: 1)]).run()
    with pytest.raises(fm.ParameterError):
        fm.Catalog().tag("ok", 1, bad)
    with pytest.raises(fm.ParameterError):
        fm.Catalog().get(bad)


def test_digests_are_validated_before_touching_a_path(project: Path) -> None:
    store = fm.Stack().resolve().open_store()
    for bad in ("../../etc/passwd", "ab/../../x", "A" * 64, "0" * 63):
        with pytest.raises(fm.StoreError):
            store.exists(bad)


def test_symlinked_object_is_not_trusted(project: Path, tmp_path: Path) -> None:
    run = fm.Pipeline("p", [fm.step(outputs="v")(lambda: [1, 2, 3])]).run()
    art = run.artifacts["v"]
    path = project / ".flowyml" / "objects" / art.content_hash[:2] / art.content_hash
    outside = tmp_path / "outside"
    outside.write_bytes(b"[9,9,9]")
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(fm.FlowymlError):
        fm.Catalog().get("v").load()


def _plant(project: Path, data: bytes, name: str, materializer: str) -> None:
    """Put hostile bytes in the store under their valid hash and a catalog row for them."""
    from flowyml.catalog.records import NewOutput, StepRecord, Write

    st = fm.Stack().resolve()
    store = st.open_store()
    staged = project / "planted"
    staged.write_bytes(data)
    digest = hash_file(staged)
    store.put_file(digest, staged)
    rec = StepRecord(run_id="r-planted", pipeline="evil", step="evil", status="executed",
                     cache_key="0" * 64, reason="planted", code_version="x", started_at=0.0)
    st.open_catalog().record_batch([Write(
        "exec", rec, [NewOutput(name, digest, len(data), materializer, "x")], {}, cache=False)])


@pytest.mark.parametrize(
    ("data", "materializer"),
    [
        (b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000000,), }"
         + b" " * 40 + b"\n", "numpy"),
        (b"\x93NUMPY\x01\x00\xff\xff" + b"{" * 70000, "numpy"),
        (b"[" * 200_000 + b"]" * 200_000, "json"),
        (b"ARROW1\x00\x00garbage" * 10, "pandas-arrow"),
        (b"not a pickle at all", "pickle"),
    ],
)
def test_hostile_objects_fail_cleanly(project: Path, data: bytes, materializer: str) -> None:
    import resource

    _plant(project, data, "hostile", materializer)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(fm.CorruptArtifactError):
        fm.Catalog().get("hostile").load()
    assert time.perf_counter() - t0 < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 512 * 1024  # KiB


def test_oversized_json_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowyml.materializers import builtin

    monkeypatch.setattr(builtin, "MAX_JSON_BYTES", 1000)
    _plant(project, b"[" + b"1," * 1000 + b"1]", "big_json", "json")
    with pytest.raises(fm.CorruptArtifactError, match="exceeds the limit"):
        fm.Catalog().get("big_json").load()


def test_killed_driver_shows_as_failed(project: Path) -> None:
    write(project / "slow.py", '''
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
    ''')
    proc = subprocess.Popen([sys.executable, "-c", "from slow import pipe; pipe.run()"], cwd=project)
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


@pytest.mark.timeout(200)
def test_gc_with_zero_grace_is_safe_under_concurrent_writers(project: Path) -> None:
    """A 60-second soak: gc with no grace period against two writers that keep leaving
    garbage and re-adopting it; never a reference to a missing object."""
    code = textwrap.dedent('''
        import sys, time
        import flowyml as fm
        from flowyml.objects import store_value
        w = int(sys.argv[1])

        @fm.step(outputs=f"data{w}")
        def make(i: int = 0):
            return [w, 50 + (i * 3) % 50]

        pipe = fm.Pipeline(f"soak{w}", [make])
        store = fm.Stack().resolve().open_store()
        end = time.time() + float(sys.argv[2])
        i = 0
        while time.time() < end:
            # garbage: stored, never recorded; later runs produce the same bytes
            store_value(store, "garbage", [w, 50 + (i * 7) % 1000])
            assert pipe.run(params={"i": i}, force=(i % 2 == 0)).status == "succeeded"
            i += 1
        print(i)
    ''')
    writers = [subprocess.Popen([sys.executable, "-c", code, str(w), "60"], cwd=project,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for w in range(2)]
    from flowyml.cli.maintenance import collect_garbage

    st = fm.Stack().resolve()
    deleted = 0
    while any(p.poll() is None for p in writers):
        deleted += len(collect_garbage(st, grace_seconds=0).deleted)
        referenced = st.open_catalog().referenced_hashes()  # first: later ones may be new
        stored = {o.digest for o in st.open_store().iter_objects()}
        missing = referenced - stored
        assert not missing, f"references to missing objects: {missing}"
        time.sleep(0.02)
    for p in writers:
        out, err = p.communicate()
        assert p.returncode == 0, err
        assert int(out) > 20
    assert deleted > 0  # gc really had garbage to collect
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


def test_versions_under_races_postgres(project: Path, postgres_server: Any) -> None:
    url = postgres_server.create_database(f"races_{os.getpid()}_{int(time.time() * 1000) % 100000}")
    code = textwrap.dedent('''
        import sys
        import flowyml as fm
        i = int(sys.argv[1])
        @fm.step(outputs="shared")
        def make():
            return {"writer": i}
        fm.Pipeline(f"p{i}", [make]).run()
    ''')
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FLOWYML_")},
           "FLOWYML_CATALOG": url}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(i)], cwd=project, env=env,
                              stderr=subprocess.PIPE, text=True) for i in range(20)]
    errs = [p.communicate()[1] for p in procs]
    failed = [e[-1500:] for p, e in zip(procs, errs, strict=True) if p.returncode != 0]
    assert not failed, failed[0]
    versions = sorted(a.version for a in fm.Catalog(fm.Stack(catalog=url)).versions("shared"))
    assert versions == list(range(1, 21))


@pytest.mark.parametrize("materializer", ["pandas-arrow", "arrow", "polars-arrow"])
def test_compressed_arrow_bomb_is_refused_before_decoding(project: Path, materializer: str) -> None:
    """A planted Arrow file whose few compressed bytes expand to 800 MB: refused from its
    metadata, without allocating."""
    import resource

    import pyarrow as pa

    chunk = pa.table({"zeros": pa.array([0] * 1_000_000, type=pa.int64())})  # 8 MB
    path = project / "bomb.arrow"
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, chunk.schema, options=options) as w:
        for _ in range(100):  # 800 MB once decompressed
            w.write_table(chunk)
    data = path.read_bytes()
    assert len(data) < 2_000_000  # a small file...
    _plant(project, data, "bomb", materializer)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(fm.CorruptArtifactError, match="compressed Arrow"):
        fm.Catalog().get("bomb").load()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KiB
