"""A team stack on real servers: S3 (SeaweedFS) for bytes, PostgreSQL for the catalog,
a local cache per "machine" (a process with its own cache dir).

Covers: fully cached runs read nothing, the local cache serves repeated reads, two
machines hand an artifact over with lineage intact, concurrent writers lose nothing,
a killed writer leaves no dangling catalog row, and every fault (credentials, endpoint,
bucket, deleted or altered object, catalog) is a FlowymlError naming the stack, the
URI with secrets masked, and the fix.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from flowyml.core.errors import (
    ArtifactNotFoundError,
    CatalogError,
    CorruptArtifactError,
    StoreError,
)
from flowyml.core.hashing import hash_bytes
from flowyml.stack import Stack, clear_opened
from tests.conftest import child_env, flowyml_cli, run_py, write

from .stack_fixtures import all_catalog_text, pg_url, s3_bucket, uniq  # noqa: F401

# about objects in the store, tiny ones too (conftest.objects_in_store)
pytestmark = pytest.mark.usefixtures("objects_in_store")

TEAM_TOML = """
stack = "team"
[stacks.team]
store = "s3://${BUCKET}/proj"
catalog = "${PG_URL}"
storage_options = { key = "${S3_KEY}", secret = "${S3_SECRET}", client_kwargs = { endpoint_url = "${S3_ENDPOINT}" } }
"""

PIPE = '''
import numpy as np
import flowyml as fm

@fm.step(outputs="raw")
def load(n: int = 20000, seed: int = 0):
    return np.random.default_rng(seed).random(n)

@fm.step(outputs="model")
def train(raw, scale: float = 2.0):
    return {"mean": float(raw.mean()) * scale, "n": int(raw.size)}

@fm.step(outputs="report")
def evaluate(model, raw, digits: int = 3):
    return {"score": round(float(model["mean"] / max(raw.max(), 1e-9)), digits)}

pipe = fm.Pipeline("train", [evaluate, train, load])
'''

SERVE = '''
import flowyml as fm

@fm.step(outputs="predictions", inputs={"m": "model@latest"})
def predict(m, k: int = 3):
    return [m["mean"] * i for i in range(k)]

serve = fm.Pipeline("serve", [predict])
'''


@pytest.fixture
def team(project: Path, s3_server: Any, request: pytest.FixtureRequest,
         monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The project's team stack (S3 + PostgreSQL) from flowyml.toml with ${VAR}s; returns
    the environment a process of "machine A" needs (machine B: other FLOWYML_CACHE_DIR)."""
    bucket = request.getfixturevalue("s3_bucket")
    db_url = request.getfixturevalue("pg_url")
    write(project / "flowyml.toml", TEAM_TOML)
    write(project / "pipes.py", PIPE)
    write(project / "serve.py", SERVE)
    env = {
        "BUCKET": bucket,
        "PG_URL": db_url,
        "S3_KEY": s3_server.key,
        "S3_SECRET": s3_server.secret,
        "S3_ENDPOINT": s3_server.endpoint_url,
        "FLOWYML_CACHE_DIR": str(project.parent / "machine-a-cache"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.syspath_prepend(str(project))
    for mod in ("pipes", "serve"):
        sys.modules.pop(mod, None)
    return env


def _s3fs(s3_server: Any) -> Any:
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, **s3_server.storage_options())


def machine(team: dict[str, str], name: str) -> dict[str, str]:
    return {**team, "FLOWYML_CACHE_DIR": str(Path(team["FLOWYML_CACHE_DIR"]).parent / f"{name}-cache")}


def _wait_for(cond: Any, procs: list[subprocess.Popen[str]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"a process died early: {p.communicate()[1]}")
        assert time.monotonic() < deadline, "processes did not get ready"
        time.sleep(0.02)


# ---------------------------------------------------------------- accounting and cache
def test_fully_cached_run_reads_nothing_and_cache_serves_rereads(
    team: dict[str, str], project: Path, s3_server: Any, tmp_path: Path
) -> None:
    from pipes import pipe

    first = pipe.run()
    assert first.status == "succeeded" and first.io["store_objects_written"] == 3
    assert first.io["store_bytes_read"] == 0
    # objects live in the bucket, in the content-addressed layout
    keys = _s3fs(s3_server).find(f"{team['BUCKET']}/proj/objects")
    assert len(keys) == 3 and all(k.split("/")[-1][:2] == k.split("/")[-2] for k in keys)

    again = pipe.run()
    assert all(s.cached for s in again.steps.values())
    assert again.io == {k: 0 for k in again.io}, "a fully cached run reads and writes nothing"
    row = fm.Catalog().run(again.id)
    assert row.stats["io"]["store_bytes_read"] == 0 and row.stack == "team"

    # a changed downstream step reads its inputs from this machine's cache, not the store
    changed = pipe.run(params={"digits": 2})
    assert changed.steps["evaluate"].executed
    assert changed.io["store_bytes_read"] == 0 and changed.io["cache_objects_read"] == 2

    # on another machine (empty cache) the same inputs are fetched once from the store
    clear_opened()
    b = Stack(cache_dir=str(tmp_path / "b-cache"))
    other = pipe.run(params={"digits": 4}, stack=b)
    assert other.io["store_objects_read"] == 2 and other.io["store_bytes_read"] > 160_000
    assert len(list((tmp_path / "b-cache").rglob("*"))) > 0

    res = flowyml_cli(project, "runs", env=team)
    assert res.returncode == 0, res.stderr
    assert "READ" in res.stdout and "WRITTEN" in res.stdout and "train" in res.stdout


def test_cross_machine_handoff_keeps_lineage(team: dict[str, str], project: Path) -> None:
    a = run_py(project, """
        from pipes import pipe
        run = pipe.run()
        print(run.artifacts["model"].id)
    """, env=machine(team, "a")).strip()
    b_env = machine(team, "b")
    out = run_py(project, """
        import json
        import flowyml as fm
        from serve import serve
        run = serve.run()
        tree = fm.get_lineage(run.artifacts["predictions"].id)
        print(json.dumps({"io": run.io, "value": run["predictions"],
                          "lineage": [(n.artifact.name, n.artifact.version, n.run_id)
                                      for n in tree.walk()]}))
    """, env=b_env)
    got = json.loads(out.strip().splitlines()[-1])
    assert got["io"]["store_objects_read"] == 1, "machine B fetched model@latest from S3"
    names = [n for n, _, _ in got["lineage"]]
    assert names == ["predictions", "model", "raw"]
    model = fm.Catalog().get("model")
    assert model.id == a
    assert got["value"][1] == pytest.approx(model.load()["mean"])
    assert {r for _, _, r in got["lineage"][1:]} == {model.run_id}, "lineage from machine A's run"
    cache_b = Path(b_env["FLOWYML_CACHE_DIR"])
    assert (cache_b / model.content_hash[:2] / model.content_hash).is_file()


WRITER = '''
import sys, time, pathlib
import flowyml as fm

name, go = sys.argv[1], pathlib.Path(sys.argv[2])

@fm.step(outputs="model")
def fit(i: int = 0, who: str = ""):
    return {"who": who, "i": i}

@fm.step(outputs="shared")
def common(model):
    return {"same": True}

pipe = fm.Pipeline(name, [fit, common])
fm.Stack().resolve().open_store().exists("0" * 64)  # connected: store and catalog
fm.Catalog()
(go.parent / f"ready-{name}").touch()
while not go.exists():
    time.sleep(0.01)
for i in range(8):
    pipe.run(params={"i": i, "who": name})
'''


@pytest.mark.parametrize("catalog", ["postgres", "sqlite"])
def test_two_machines_write_one_catalog_at_once(
    catalog: str, team: dict[str, str], project: Path, tmp_path: Path
) -> None:
    env = dict(team)
    if catalog == "sqlite":
        env["PG_URL"] = f"sqlite:///{tmp_path / 'shared.db'}"
    write(project / "writer.py", WRITER)
    go = tmp_path / "go"
    procs = []
    for who in ("alpha", "beta"):
        penv = child_env()
        penv.update(machine(env, who))
        procs.append(subprocess.Popen(
            [sys.executable, "writer.py", who, str(go)], cwd=project, env=penv,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    _wait_for(lambda: all((tmp_path / f"ready-{w}").exists() for w in ("alpha", "beta")), procs)
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    clear_opened()
    cat = fm.Catalog(Stack(catalog=env["PG_URL"]))
    versions = [a.version for a in cat.versions("model")]
    assert sorted(versions) == list(range(1, 17)), "16 distinct models, versions 1..16"
    assert len(cat.versions("shared")) == 1, "equal content is one artifact"
    runs = cat.runs(limit=100)
    assert len(runs) == 16 and {r.status for r in runs} == {"succeeded"}
    assert {r.pipeline for r in runs} == {"alpha", "beta"}
    store = Stack(catalog=env["PG_URL"]).open_store()
    for a in cat.versions("model") + cat.versions("shared"):
        assert store.exists(a.content_hash)


FETCHER = '''
import sys, time, pathlib, json
import flowyml as fm
go = pathlib.Path(sys.argv[1])
art = fm.Catalog().get("big")
store = fm.Stack().resolve().open_store()
store.exists(art.content_hash)  # connected
(go.parent / f"ready-{sys.argv[2]}").touch()
while not go.exists():
    time.sleep(0.005)
value = art.load()
print(json.dumps({"sum": float(value.sum()), **store.stats.snapshot()}))
'''


def test_concurrent_processes_fetch_an_object_once(
    team: dict[str, str], project: Path, tmp_path: Path
) -> None:
    import numpy as np

    @fm.step(outputs="big")
    def make_big() -> Any:
        return np.arange(4_000_000, dtype=np.float64)

    fm.Pipeline("big", [make_big]).run()
    write(project / "fetch.py", FETCHER)
    env = machine(team, "shared")  # one machine, three processes, one empty cache
    go = tmp_path / "go-fetch"
    procs = []
    for i in range(3):
        penv = child_env()
        penv.update(env)
        procs.append(subprocess.Popen([sys.executable, "fetch.py", str(go), str(i)], cwd=project,
                                      env=penv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    _wait_for(lambda: all((tmp_path / f"ready-{i}").exists() for i in range(3)), procs)
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert {r["sum"] for r in results} == {float(np.arange(4_000_000).sum())}
    assert sum(r["store_objects_read"] for r in results) == 1, results
    assert sum(r["cache_objects_read"] for r in results) == 2, results
    files = [p for p in Path(env["FLOWYML_CACHE_DIR"]).rglob("*") if p.is_file()
             and len(p.name) == 64]
    assert len(files) == 1


# ---------------------------------------------------------------- a killed writer
KILLED = '''
import sys, numpy as np
import flowyml as fm

@fm.step(outputs=("a", "b"))
def produce(i: int = 0):
    return np.random.default_rng(i).random(150_000), {"i": i}

@fm.step(outputs="c")
def derive(a, b):
    return a[:1000] * (b["i"] + 1)

pipe = fm.Pipeline("killed", [produce, derive])
for i in range(int(sys.argv[1]), 10**6):
    pipe.run(params={"i": i})
    print(i, flush=True)
'''


@pytest.mark.timeout(180)
def test_killed_writer_leaves_no_dangling_artifact(
    team: dict[str, str], project: Path, s3_server: Any
) -> None:
    write(project / "killed.py", KILLED)
    rnd = random.Random(7)
    penv = child_env()
    penv.update(machine(team, "victim"))
    for round_ in range(3):
        p = subprocess.Popen([sys.executable, "killed.py", str(round_ * 1000)], cwd=project,
                             env=penv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdout is not None
        p.stdout.readline()  # one run is complete: now kill it at a random point of the next ones
        time.sleep(rnd.random() * 0.8)
        assert p.poll() is None, p.stderr.read() if p.stderr else ""
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    clear_opened()
    cat = fm.Catalog()
    fs = _s3fs(s3_server)
    arts = cat.search(limit=10_000)
    assert len(arts) > 3, "the writer recorded some artifacts before it was killed"
    for a in arts:
        key = f"{team['BUCKET']}/proj/objects/{a.content_hash[:2]}/{a.content_hash}"
        assert fs.exists(key), f"{a.label} is recorded but its object is missing"
        assert hash_bytes(fs.cat_file(key)) == a.content_hash, f"{a.label} is damaged"
    assert len(cat.runs(limit=1000)) >= 4
    # the next run on the same stack works and reuses what was recorded
    from pipes import pipe

    assert pipe.run().status == "succeeded"


# ---------------------------------------------------------------- faults
def _assert_good_error(msg: str, stack: str, *secrets: str) -> None:
    assert f"'{stack}'" in msg, msg
    for s in secrets:
        assert s not in msg, f"secret {s!r} leaked: {msg}"


def test_wrong_credentials(team: dict[str, str], project: Path, s3_server: Any,
                           azure_server: Any) -> None:
    from pipes import pipe

    good = pipe.run()
    bad_secret = "WrongSecretValue123"
    bad = Stack(name="team", storage_options={**s3_server.storage_options(), "secret": bad_secret},
                cache_dir=str(project.parent / "bad-cache"))
    with pytest.raises(StoreError) as err:
        pipe.run(stack=bad, force=True)
    msg = str(err.value)
    _assert_good_error(msg, "team", bad_secret, s3_server.secret)
    assert "rejected the credentials" in msg and "storage_options" in msg
    assert f"s3://{team['BUCKET']}/proj" in msg
    with pytest.raises(StoreError, match="rejected the credentials"):
        fm.Catalog(bad).get("model").load()
    # nothing stored was lost
    clear_opened()
    assert fm.Catalog().get("model").load() == good["model"]
    res = flowyml_cli(project, "stack", "check", env={**team, "S3_SECRET": bad_secret})
    assert res.returncode == 1
    assert "FAIL store" in res.stdout and "rejected the credentials" in res.stdout
    assert "ok   catalog" in res.stdout and bad_secret not in res.stdout + res.stderr

    container = uniq("ctr")
    azure_server.make_container(container)
    cs = azure_server.connection_string.replace(azure_server.account_key, "V3JvbmdLZXlWYWx1ZQ==")
    az = Stack(name="azteam", store=f"az://{container}/p", catalog=team["PG_URL"],
               storage_options={"connection_string": cs}, cache_dir=str(project.parent / "az"))
    with pytest.raises(StoreError) as err:
        pipe.run(stack=az)
    _assert_good_error(str(err.value), "azteam", "V3JvbmdLZXlWYWx1ZQ==", azure_server.account_key)
    assert "rejected the credentials" in str(err.value)


@pytest.mark.parametrize("kind", ["s3", "gcs", "azure"])
def test_unreachable_endpoint_fails_fast(kind: str, team: dict[str, str], project: Path,
                                         s3_server: Any) -> None:
    from pipes import pipe

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    endpoint = f"http://127.0.0.1:{port}"
    uri, options = {
        "s3": ("s3://bkt/p", {**s3_server.storage_options(), "client_kwargs": {"endpoint_url": endpoint}}),
        "gcs": ("gs://bkt/p", {"endpoint_url": endpoint, "token": "anon", "project": "x"}),
        "azure": ("az://ctr/p", {"connection_string":
                  f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=S2V5S2V5;"
                  f"BlobEndpoint={endpoint}/devstoreaccount1;"}),
    }[kind]
    st = Stack(name="down", store=uri, catalog=team["PG_URL"], storage_options=options,
               cache_dir=str(project.parent / "down-cache"))
    t0 = time.monotonic()
    with pytest.raises(StoreError) as err:
        pipe.run(stack=st)
    assert time.monotonic() - t0 < 8, "an unreachable endpoint must fail in seconds"
    msg = str(err.value)
    _assert_good_error(msg, "down", s3_server.secret, "S2V5S2V5")
    assert "cannot reach" in msg and f"127.0.0.1:{port}" in msg and "flowyml stack check" in msg


@pytest.mark.parametrize("kind", ["s3", "gcs", "azure"])
def test_missing_bucket(kind: str, team: dict[str, str], project: Path, s3_server: Any,
                        gcs_server: Any, azure_server: Any) -> None:
    from pipes import pipe

    missing = uniq("missing")
    uri, options = {
        "s3": (f"s3://{missing}/p", s3_server.storage_options()),
        "gcs": (f"gs://{missing}/p", gcs_server.storage_options()),
        "azure": (f"az://{missing}/p", azure_server.storage_options()),
    }[kind]
    st = Stack(name="nob", store=uri, catalog=team["PG_URL"], storage_options=options,
               cache_dir=str(project.parent / "nob-cache"))
    with pytest.raises(StoreError) as err:
        pipe.run(stack=st)
    msg = str(err.value)
    _assert_good_error(msg, "nob", s3_server.secret, azure_server.account_key)
    assert missing in msg and "does not exist" in msg and "never creates" in msg
    failed = fm.Catalog(st).runs(limit=1)[0]
    assert failed.status == "failed" and "does not exist" in (failed.error or "")


def test_deleted_object(team: dict[str, str], project: Path, s3_server: Any, tmp_path: Path) -> None:
    from pipes import pipe

    run = pipe.run()
    model = run.artifacts["model"]
    key = f"{team['BUCKET']}/proj/objects/{model.content_hash[:2]}/{model.content_hash}"
    _s3fs(s3_server).rm_file(key)
    clear_opened()
    b = Stack(cache_dir=str(tmp_path / "b"))  # a machine without a local copy
    with pytest.raises(ArtifactNotFoundError) as err:
        fm.Catalog(b).get("model").load()
    msg = str(err.value)
    _assert_good_error(msg, "team", s3_server.secret)
    assert model.content_hash in msg and "--force" in msg
    # a rerun notices the hole, re-executes the producer and restores the object
    again = pipe.run(stack=b)
    assert again.steps["train"].executed and "missing from the store" in again.steps["train"].reason
    assert again.steps["load"].cached
    assert _s3fs(s3_server).exists(key)


def test_altered_object(team: dict[str, str], project: Path, s3_server: Any, tmp_path: Path) -> None:
    from pipes import pipe

    run = pipe.run()
    model = run.artifacts["model"]
    key = f"{team['BUCKET']}/proj/objects/{model.content_hash[:2]}/{model.content_hash}"
    fs = _s3fs(s3_server)
    fs.pipe_file(key, fs.cat_file(key).replace(b"mean", b"MEAN"))
    clear_opened()
    b_cache = tmp_path / "b"
    b = Stack(cache_dir=str(b_cache))
    with pytest.raises(CorruptArtifactError) as err:
        fm.Catalog(b).get("model").load()
    msg = str(err.value)
    _assert_good_error(msg, "team", s3_server.secret)
    assert model.content_hash in msg and f"s3://{team['BUCKET']}/proj/objects/" in msg
    assert not (b_cache / model.content_hash[:2] / model.content_hash).exists()
    # machine A still has its verified copy: nothing it holds was lost
    assert fm.Catalog().get("model").load() == run["model"]
    res = flowyml_cli(project, "verify", env=machine(team, "c"))
    assert res.returncode == 1 and f"corrupt  {model.content_hash}" in res.stdout, res.stderr
    # the fix the message gives: re-running the producer with --force repairs the object
    res = flowyml_cli(project, "run", "pipes.py", "--force", env=team)
    assert res.returncode == 0, res.stderr
    assert hash_bytes(fs.cat_file(key)) == model.content_hash
    clear_opened()
    assert fm.Catalog(Stack(cache_dir=str(tmp_path / "d"))).get("model").load() == run["model"]


def test_bad_catalog_url_in_a_stack(team: dict[str, str], project: Path, postgres_server: Any,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from pipes import pipe

    monkeypatch.setenv("PG_URL", team["PG_URL"].replace(postgres_server.password, "NotThePw99"))
    with pytest.raises(CatalogError) as err:
        pipe.run()
    msg = str(err.value)
    _assert_good_error(msg, "team", "NotThePw99", postgres_server.password)
    assert "flowyml stack check team" in msg
    res = flowyml_cli(project, "stack", "check", env={**team, "PG_URL": os.environ["PG_URL"]})
    assert res.returncode == 1
    assert "ok   store" in res.stdout and "FAIL catalog" in res.stdout
    assert "NotThePw99" not in res.stdout + res.stderr
    res = flowyml_cli(project, "stack", "check", env=team)
    assert res.returncode == 0 and "all checks passed" in res.stdout, res.stdout


def test_no_credentials_in_catalog_or_output(team: dict[str, str], project: Path,
                                             s3_server: Any, postgres_server: Any) -> None:
    res = flowyml_cli(project, "run", "pipes.py", env=team)
    assert res.returncode == 0, res.stderr
    res2 = flowyml_cli(project, "stack", "show", env=team)
    text = all_catalog_text(team["PG_URL"])
    for secret in (s3_server.secret, s3_server.key, postgres_server.password):
        assert secret not in text
        assert secret not in res.stdout + res.stderr + res2.stdout + res2.stderr


# ---------------------------------------------------------------- store details
def test_failed_multipart_upload_leaves_nothing_visible(
    team: dict[str, str], s3_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import s3fs.core

    store = Stack().resolve().open_store()
    monkeypatch.setattr(s3fs.core, "calculate_chunksize", lambda size, chunksize=None: 5 * 2**20)
    calls = {"n": 0}
    real = s3fs.core.S3FileSystem._call_s3

    async def flaky(self: Any, method: str, *a: Any, **kw: Any) -> Any:
        if method == "upload_part":
            calls["n"] += 1
            if calls["n"] == 2:
                raise ConnectionResetError("network dropped mid-upload")
        return await real(self, method, *a, **kw)

    monkeypatch.setattr(s3fs.core.S3FileSystem, "_call_s3", flaky)
    data = os.urandom(12 * 2**20)
    digest = hash_bytes(data)
    staged = store.staging_dir() / "big.part"
    staged.write_bytes(data)
    with pytest.raises(StoreError):
        store.put_file(digest, staged)
    monkeypatch.setattr(s3fs.core.S3FileSystem, "_call_s3", real)
    assert not store.exists(digest), "no partial object is visible"
    uploads = s3_server.client().list_multipart_uploads(Bucket=team["BUCKET"]).get("Uploads", [])
    assert uploads == [], "the multipart upload was aborted"
    staged.write_bytes(data)
    assert store.put_file(digest, staged) is True  # a whole multipart upload works
    assert store.exists(digest)


def test_remote_store_copies_and_pickles(team: dict[str, str]) -> None:
    store = Stack().resolve().open_store()
    staged = store.staging_dir() / "p.part"
    staged.write_bytes(b"for a worker")
    digest = hash_bytes(b"for a worker")
    store.put_file(digest, staged)
    twin = copy.copy(store)
    assert twin.fs is store.fs and twin.cache is store.cache
    clone = pickle.loads(pickle.dumps(store))
    assert clone.exists(digest) and clone.uri == store.uri


def test_gc_on_a_remote_store(team: dict[str, str], project: Path) -> None:
    from pipes import pipe

    pipe.run()
    store = Stack().resolve().open_store()
    staged = store.staging_dir() / "junk.part"
    staged.write_bytes(b"unreferenced")
    store.put_file(hash_bytes(b"unreferenced"), staged)
    time.sleep(2.2)  # gc allows writers' clocks 2 s of skew
    res = flowyml_cli(project, "gc", "--grace", "0", env=team)
    assert res.returncode == 0, res.stderr
    assert "deleted 1 object(s)" in res.stdout
    assert not store.exists(hash_bytes(b"unreferenced"))
    assert all(store.exists(a.content_hash) for a in fm.Catalog().search())


def test_scheme_aliases_share_one_layout(azure_server: Any, s3_server: Any, tmp_path: Path) -> None:
    from flowyml.stores import open_store

    container = uniq("ctr")
    azure_server.make_container(container)
    opts = azure_server.storage_options()
    az = open_store(f"az://{container}/p", opts, cache_dir=str(tmp_path / "c1"))
    staged = az.staging_dir() / "x.part"
    staged.write_bytes(b"one layout")
    digest = hash_bytes(b"one layout")
    az.put_file(digest, staged)
    abfs = open_store(f"abfs://{container}/p", opts, cache_dir=str(tmp_path / "c2"))
    assert Path(abfs.local_path(digest)).read_bytes() == b"one layout"
    bucket = uniq("bkt")
    s3_server.make_bucket(bucket)
    s3 = open_store(f"s3://{bucket}/q", s3_server.storage_options(), cache_dir=str(tmp_path / "c3"))
    staged = s3.staging_dir() / "y.part"
    staged.write_bytes(b"one layout")
    s3.put_file(digest, staged)
    s3a = open_store(f"s3a://{bucket}/q", s3_server.storage_options(), cache_dir=str(tmp_path / "c4"))
    assert s3a.exists(digest)
