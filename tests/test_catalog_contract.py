"""One contract, both catalogs: SQLite and PostgreSQL (a real server on loopback).

Also the schema: created on first use, versioned, upgraded from the first schema (a
frozen copy of version 1's DDL), upgraded once when several processes open an old
catalog at the same time, and never touched when it is newer than this FlowyML.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flowyml.catalog import migrations
from flowyml.catalog.records import NewOutput, StepRecord
from flowyml.catalog.sql import SqlCatalog, artifact_id
from flowyml.errors import ArtifactNotFoundError, CatalogError
from flowyml.hashing import hash_bytes

from .stack_fixtures import pg_url, uniq  # noqa: F401  (pg_url is a fixture)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def cat(url: str) -> Any:
    c = SqlCatalog(url, stack_name="contract")
    yield c
    c.close()


def out(name: str, content: str, size: int = 10) -> NewOutput:
    return NewOutput(name, hash_bytes(content.encode()), size, "json", "builtins.dict", {"k": 1})


def rec(run_id: str, step: str, key: str | None = None, pipeline: str = "p") -> StepRecord:
    return StepRecord(
        run_id=run_id, pipeline=pipeline, step=step, status="executed",
        cache_key=key or uuid.uuid4().hex, reason="executed: test", code_version="c0de",
        started_at=time.time(), fingerprint={"code": "x"}, inputs={}, values={},
    )


class TestCatalogContract:
    def test_schema_is_created_and_versioned(self, cat: Any, url: str) -> None:
        assert cat.schema_version() == migrations.LATEST
        SqlCatalog(url).close()  # opening again changes nothing
        assert cat.schema_version() == migrations.LATEST

    def test_versions_follow_content(self, cat: Any) -> None:
        r1 = cat.record_execution(rec("r1", "train"), [out("model", "a")], {})
        assert r1["model"].version == 1
        again = cat.record_execution(rec("r2", "train"), [out("model", "a")], {})
        assert again["model"].id == r1["model"].id and again["model"].version == 1
        r3 = cat.record_execution(rec("r3", "train"), [out("model", "b")], {})
        assert r3["model"].version == 2
        assert cat.find("model").version == 2
        assert cat.find("model", 1).content_hash == hash_bytes(b"a")
        assert cat.find("model", "latest").id == r3["model"].id
        assert [a.version for a in cat.versions("model")] == [1, 2]
        assert cat.get_artifact(r1["model"].id).meta == {"k": 1}
        assert {u[0] for u in cat.runs_using(r1["model"].id)} == {"r1", "r2"}
        assert cat.referenced_hashes() == {hash_bytes(b"a"), hash_bytes(b"b")}

    def test_aliases(self, cat: Any) -> None:
        cat.record_execution(rec("r1", "train"), [out("model", "a")], {})
        cat.record_execution(rec("r2", "train"), [out("model", "b")], {})
        cat.tag("model", 1, "prod")
        assert cat.find("model", "prod").version == 1
        cat.tag("model", 2, "prod")
        assert cat.find("model", "prod").version == 2
        assert cat.aliases("model") == {"prod": 2}
        with pytest.raises(ArtifactNotFoundError, match="no alias 'staging'"):
            cat.find("model", "staging")
        with pytest.raises(ArtifactNotFoundError, match="no artifact named 'nothing'"):
            cat.find("nothing")
        with pytest.raises(ArtifactNotFoundError):
            cat.tag("model", 9, "prod")

    def test_lineage_edges(self, cat: Any) -> None:
        raw = cat.record_execution(rec("r1", "load"), [out("raw", "r")], {})["raw"]
        clean = cat.record_execution(rec("r1", "clean"), [out("clean", "c")], {"df": raw.id})["clean"]
        made = cat.record_execution(
            rec("r1", "train"), [out("model", "m"), out("metrics", "x")],
            {"clean_data": clean.id, "raw": raw.id},
        )
        assert cat.parents_of([made["model"].id]) == {
            made["model"].id: [("clean_data", clean.id), ("raw", raw.id)]
        }
        assert sorted(cat.children_of([raw.id])[raw.id]) == sorted(
            [clean.id, made["model"].id, made["metrics"].id]
        )

    def test_cache_entries(self, cat: Any) -> None:
        assert cat.lookup_cache("k1") is None
        made = cat.record_execution(rec("r1", "train", key="k1"), [out("model", "a")], {})
        hit = cat.lookup_cache("k1")
        assert hit is not None and hit["model"].id == made["model"].id
        cat.record_reuse(rec("r2", "train", key="k1"), hit)
        assert [s.status for s in cat.step_runs("r2")] == ["executed"]  # as recorded
        assert cat.previous_step("p", "train").run_id == "r2"
        cat.forget_cache("k1")
        assert cat.lookup_cache("k1") is None
        cat.record_execution(rec("r3", "nocache", key="k2"), [out("x", "x")], {}, cache=False)
        assert cat.lookup_cache("k2") is None

    def test_runs(self, cat: Any) -> None:
        cat.start_run("run-a", "p", {"lr": 0.1}, time.time())
        cat.start_run("run-b", "q", {}, time.time() + 1)
        cat.finish_run("run-a", "succeeded", None, {"io": {"store_bytes_read": 5}})
        a = cat.get_run("run-a")
        assert (a.status, a.params, a.stats["io"]["store_bytes_read"]) == ("succeeded", {"lr": 0.1}, 5)
        assert a.stack == "contract" and a.finished_at is not None
        assert [r.id for r in cat.list_runs()] == ["run-b", "run-a"]
        assert [r.id for r in cat.list_runs(pipeline="p")] == ["run-a"]
        with pytest.raises(ArtifactNotFoundError):
            cat.get_run("nope")

    def test_search_behaves_the_same(self, cat: Any) -> None:
        cat.record_execution(rec("r1", "train"), [out("Model_A", "a")], {})
        cat.record_execution(rec("r2", "other"), [out("model%b", "b")], {})
        names = {a.name for a in cat.search(name="model")}
        assert names == {"Model_A", "model%b"}, "name search ignores case on both databases"
        assert {a.name for a in cat.search(name="l%")} == {"model%b"}, "% is literal"
        assert {a.name for a in cat.search(name="l_")} == {"Model_A"}, "_ is literal"
        digest = hash_bytes(b"a")
        assert [a.name for a in cat.search(hash_prefix=digest[:8].upper())] == ["Model_A"]
        assert [a.name for a in cat.search(step="other")] == ["model%b"]
        assert [a.name for a in cat.search(run_id="r1")] == ["Model_A"]
        assert cat.asset_names()[0][:2] in (("Model_A", 1), ("model%b", 1))

    def test_concurrent_writers_get_distinct_versions(self, url: str) -> None:
        cats = [SqlCatalog(url, stack_name=f"w{i}") for i in range(4)]
        try:
            def write(i: int) -> int:
                c = cats[i % 4]
                got = c.record_execution(rec(f"r{i}", "train"), [out("model", f"c{i}")], {})
                return int(got["model"].version)

            with ThreadPoolExecutor(8) as pool:
                versions = list(pool.map(write, range(24)))
            assert sorted(versions) == list(range(1, 25))
            assert [a.version for a in cats[0].versions("model")] == list(range(1, 25))
        finally:
            for c in cats:
                c.close()

    def test_same_content_from_many_writers_is_one_artifact(self, url: str) -> None:
        cats = [SqlCatalog(url) for _ in range(3)]
        try:
            with ThreadPoolExecutor(6) as pool:
                ids = set(pool.map(
                    lambda i: cats[i % 3].record_execution(
                        rec(f"r{i}", "train"), [out("model", "same")], {}
                    )["model"].id,
                    range(12),
                ))
            assert ids == {artifact_id("model", hash_bytes(b"same"))}
            assert len(cats[0].versions("model")) == 1
        finally:
            for c in cats:
                c.close()


# ---------------------------------------------------------------- schema upgrades
def _make_v1(url: str) -> None:
    """A catalog exactly as FlowyML 0.1 left it, with some data."""
    engine = sa.create_engine(url)
    try:
        md = migrations.v1_metadata()
        with engine.begin() as conn:
            md.create_all(conn)
            t = md.tables
            conn.execute(t["flowyml_meta"].insert().values(key="schema_version", value="1"))
            conn.execute(t["runs"].insert().values(
                id="old-run", pipeline="p", status="succeeded", started_at=1.0, finished_at=2.0,
                params="{}", stats='{"io": {}}', host="h", pid=1,
            ))
            conn.execute(t["artifacts"].insert().values(
                id="a1", name="model", version=1, content_hash="ab" * 32, size=3,
                materializer="json", type_name="builtins.int", meta="{}", run_id="old-run",
                step="train", code_version="c", created_at=1.0,
            ))
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_upgrade_from_the_first_schema(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}" if kind == "sqlite" else request.getfixturevalue("pg_url")
    _make_v1(url)
    cat = SqlCatalog(url, stack_name="team")
    try:
        assert cat.schema_version() == migrations.LATEST
        old = cat.get_run("old-run")
        assert (old.status, old.stack) == ("succeeded", "")
        assert cat.find("model").content_hash == "ab" * 32
        # the upgraded catalog works as a new one does
        made = cat.record_execution(rec("new", "train"), [out("model", "n")], {})
        assert made["model"].version == 2
        cat.start_run("new-run", "p", {}, time.time())
        assert cat.get_run("new-run").stack == "team"
    finally:
        cat.close()
    # the same columns as a catalog created fresh
    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    SqlCatalog(fresh_url).close()
    assert _columns(url) == _columns(fresh_url)


def _columns(url: str) -> dict[str, list[str]]:
    engine = sa.create_engine(url)
    try:
        insp = sa.inspect(engine)
        return {t: sorted(c["name"] for c in insp.get_columns(t)) for t in insp.get_table_names()}
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("start", ["empty", "v1"])
def test_concurrent_openers_upgrade_once(kind: str, start: str, tmp_path: Path,
                                         request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}" if kind == "sqlite" else request.getfixturevalue("pg_url")
    if start == "v1":
        _make_v1(url)
    applied: list[list[int]] = []
    real = migrations.upgrade

    def counting(conn: Any, display: str, target: int = migrations.LATEST) -> list[int]:
        got = real(conn, display, target)
        applied.append(got)
        if got:
            time.sleep(0.3)  # hold the upgrade open: the others must wait, not redo it
        return got

    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            barrier.wait()
            SqlCatalog(url).close()
        except BaseException as exc:
            errors.append(exc)

    migrations.upgrade = counting  # type: ignore[assignment]
    try:
        threads = [threading.Thread(target=opener) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        migrations.upgrade = real  # type: ignore[assignment]
    assert not errors, errors
    done = [v for a in applied for v in a]
    expected = [1, 2] if start == "empty" else [2]
    assert done == expected, f"migrations applied {done}, expected each once: {expected}"
    cat = SqlCatalog(url)
    try:
        assert cat.schema_version() == migrations.LATEST
    finally:
        cat.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_newer_schema_is_refused_and_untouched(kind: str, tmp_path: Path,
                                               request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}" if kind == "sqlite" else request.getfixturevalue("pg_url")
    SqlCatalog(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE flowyml_meta SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(CatalogError, match="newer than this FlowyML"):
        SqlCatalog(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM flowyml_meta")).scalar() == "99"
    engine.dispose()


# ---------------------------------------------------------------- bad catalog URLs
def test_wrong_password_names_stack_masks_password_and_says_the_fix(postgres_server: Any) -> None:
    url = postgres_server.url.replace(postgres_server.password, "Sup3rS3cretPw")
    t0 = time.monotonic()
    with pytest.raises(CatalogError) as err:
        SqlCatalog(url, stack_name="team")
    msg = str(err.value)
    assert "Sup3rS3cretPw" not in msg and "***" in msg
    assert "'team'" in msg and "password" in msg and "flowyml stack check" in msg
    assert time.monotonic() - t0 < 10


def test_unreachable_database_fails_fast(postgres_server: Any) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://u:Pw12345678@127.0.0.1:{port}/db"
    t0 = time.monotonic()
    with pytest.raises(CatalogError) as err:
        SqlCatalog(url, stack_name="team")
    assert time.monotonic() - t0 < 10
    msg = str(err.value)
    assert "Pw12345678" not in msg and "'team'" in msg and "running" in msg


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql+nosuchdriver://u:Pw12345678@h/db", ["postgresql+psycopg", "'team'"]),
        ("not a url", ["not a valid", "'team'"]),
    ],
)
def test_unusable_catalog_urls(url: str, words: list[str]) -> None:
    with pytest.raises(CatalogError) as err:
        SqlCatalog(url, stack_name="team")
    for w in words:
        assert w in str(err.value)
    assert "Pw12345678" not in str(err.value)


def test_uniq_helper_is_unique() -> None:
    assert uniq("a") != uniq("a")
