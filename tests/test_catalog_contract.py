"""Contract suites for the catalog interfaces, run on every implementation: SQLite and
PostgreSQL (a real server on loopback).

- ``TestRuntimeCatalog``: what running and planning a pipeline use (``RuntimeCatalog``).
- ``TestCatalogReader``: what lineage, the CLI and the web page read (``CatalogReader``).
- ``TestCatalogContract``: the SQL catalog beyond the interfaces (schema version,
  aliases, what gc reads), concurrent writers, and retried write conflicts.

An implementation joins by adding an entry to ``IMPLEMENTATIONS``. Each suite tests
its interface's methods; the other interface is used only to set up and to observe.
``TestLiveness`` covers the run-liveness policy every implementation applies.

Also the schema: created on first use, versioned, upgraded from the first schema (a
frozen copy of version 1's DDL), upgraded once when several processes open an old
catalog at the same time, and never touched when it is newer than this FlowyML.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from flowyml.catalog import dbapi, liveness, migrations, open_catalog, open_runtime_catalog
from flowyml.catalog.base import CatalogReader, RuntimeCatalog
from flowyml.catalog.records import ArtifactRecord, NewOutput, StepRecord, Write
from flowyml.catalog.runtime_sql import CATALOG_TABLES
from flowyml.catalog.sql import SqlCatalog, artifact_id
from flowyml.core.errors import ArtifactNotFoundError, CatalogError
from flowyml.core.hashing import hash_bytes
from flowyml.core.struct import replace

from .stack_fixtures import catalog_at_version, pg_url, uniq  # noqa: F401  (pg_url is a fixture)


def _sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.db'}"


def _postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(request.getfixturevalue("pg_url"))


# implementation name -> the URL of a fresh, empty catalog
IMPLEMENTATIONS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite": _sqlite_url,
    "postgres": _postgres_url,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return IMPLEMENTATIONS[request.param](request, tmp_path)


@pytest.fixture
def cat(url: str) -> Iterator[SqlCatalog]:
    c = SqlCatalog(url, stack_name="contract")
    yield c
    c.close()


def out(name: str, content: str, size: int = 10) -> NewOutput:
    return NewOutput(name, hash_bytes(content.encode()), size, "json", "builtins.dict", {"k": 1})


def rec(
    run_id: str, step: str, key: str | None = None, pipeline: str = "p", status: str = "executed"
) -> StepRecord:
    return StepRecord(
        run_id=run_id, pipeline=pipeline, step=step, status=status,
        cache_key=key or uuid.uuid4().hex, reason="executed: test", code_version="c0de",
        started_at=time.time(), fingerprint={"code": "x"}, inputs={}, values={},
    )


def record(
    cat: RuntimeCatalog,
    r: StepRecord,
    outputs: list[NewOutput],
    parents: dict[str, str] | None = None,
    cache: bool = True,
) -> dict[str, ArtifactRecord]:
    """One executed step, written the way the runtime writes it."""
    return cat.record_batch([Write("exec", r, outputs, parents or {}, cache)])[0]


# ---------------------------------------------------------------- RuntimeCatalog
class TestRuntimeCatalog:
    """Both implementations of what a run writes: the full catalog and the one a run
    opens (``RuntimeSqlCatalog``, on the DBAPI driver); what they write is read back
    through the full catalog."""

    @pytest.fixture(params=["SqlCatalog", "RuntimeSqlCatalog"])
    def cat(self, request: pytest.FixtureRequest, url: str) -> Iterator[RuntimeCatalog]:
        opener = open_catalog if request.param == "SqlCatalog" else open_runtime_catalog
        c: Any = opener(url, stack_name="contract")
        yield c
        c.close()

    @pytest.fixture
    def reader(self, cat: RuntimeCatalog, url: str) -> Iterator[Any]:
        if isinstance(cat, SqlCatalog):
            yield cat
            return
        c = SqlCatalog(url, stack_name="contract")
        yield c
        c.close()

    def test_implements_the_interface(self, cat: RuntimeCatalog) -> None:
        assert isinstance(cat, RuntimeCatalog)

    def test_versions_follow_content(self, cat: RuntimeCatalog) -> None:
        r1 = record(cat, rec("r1", "train"), [out("model", "a")])
        assert r1["model"].version == 1
        again = record(cat, rec("r2", "train"), [out("model", "a")])
        assert again["model"].id == r1["model"].id and again["model"].version == 1
        r3 = record(cat, rec("r3", "train"), [out("model", "b")])
        assert r3["model"].version == 2
        assert r1["model"].id == artifact_id("model", hash_bytes(b"a"))
        assert cat.find("model").version == 2
        assert cat.find("model", 1).content_hash == hash_bytes(b"a")
        assert cat.find("model", "latest").id == r3["model"].id
        got = cat.artifacts_by_id([r1["model"].id, "no-such-id", r3["model"].id])
        assert got == {r1["model"].id: r1["model"], r3["model"].id: r3["model"]}
        assert got[r1["model"].id].meta == {"k": 1}

    def test_find_says_what_exists(self, cat: RuntimeCatalog, reader: Any) -> None:
        record(cat, rec("r1", "train"), [out("model", "a")])
        with pytest.raises(ArtifactNotFoundError, match="no artifact named 'nothing'"):
            cat.find("nothing")
        with pytest.raises(ArtifactNotFoundError, match=r"has no version 9 .*\(it has 1 version;"):
            cat.find("model", 9)
        with pytest.raises(ArtifactNotFoundError, match="no alias 'staging'"):
            cat.find("model", "staging")
        with pytest.raises(ArtifactNotFoundError, match=r"'modle' .*\(did you mean 'model@latest'\?\)"):
            cat.find("modle")  # a typo: the name it is close to
        reader.tag("model", 1, "prod")
        with pytest.raises(ArtifactNotFoundError,
                           match=r"alias 'prdo' \(did you mean 'prod'\?\).*its aliases: prod;"):
            cat.find("model", "prdo")

    def test_a_batch_naming_a_deleted_artifact_fails_and_writes_nothing(
            self, cat: RuntimeCatalog, reader: Any) -> None:
        """What a run reused or read must still exist when its records are written (a
        prune may have deleted it since the run resolved it): the batch fails, naming
        the artifact, and none of its rows are written."""
        kept = record(cat, rec("r1", "load"), [out("raw", "a")])["raw"]
        gone = replace(kept, id="0" * 24)  # an artifact no row has (any more)
        reuse = Write("reuse", rec("r2", "load"), artifacts={"raw": kept})
        stale = Write("exec", rec("r2", "train"), [out("model", "m")], {"raw": gone.id})
        with pytest.raises(CatalogError, match=f"{gone.id} were deleted"):
            cat.record_batch([reuse, stale])
        assert reader.step_runs("r2") == []  # all or nothing
        cat.record_batch([reuse])  # what exists is recorded as ever
        assert [s.step for s in reader.step_runs("r2")] == ["load"]

    def test_a_batch_is_written_in_order(self, cat: RuntimeCatalog, reader: Any) -> None:
        first = record(cat, rec("r1", "load", key="k-load"), [out("raw", "r")])["raw"]
        reuse = rec("r2", "load", key="k-load", status="cached")
        failed = rec("r2", "train", status="failed")
        failed.error = "ValueError: boom"
        made = cat.record_batch([
            Write("reuse", reuse, artifacts={"raw": first}),
            Write("exec", rec("r2", "clean"), [out("clean", "c")], {"df": first.id}),
            Write("fail", failed, cache=False),
        ])
        assert [set(m) for m in made] == [set(), {"clean"}, set()]
        assert reuse.outputs == {"raw": first.id}, "a reuse records the artifacts it reused"
        steps = reader.step_runs("r2")
        assert [(s.step, s.status) for s in steps] == [
            ("load", "cached"), ("clean", "executed"), ("train", "failed")
        ]
        assert steps[0].outputs == {"raw": first.id} and steps[2].error == "ValueError: boom"
        assert ("r2", "load", "reused") in reader.runs_using(first.id)
        assert cat.record_batch([]) == []

    def test_runs_steps_and_step_counts(self, cat: Any, reader: Any) -> None:
        """Runs, their steps and step counts (what `flowyml runs` reads) come from the
        catalog a run opens too, and agree with the full catalog."""
        first = record(cat, rec("r1", "load"), [out("raw", "r")])["raw"]
        cat.start_run("r2", "p", {"n": 1}, time.time())
        cat.record_batch([
            Write("reuse", rec("r2", "load", status="cached"), artifacts={"raw": first}),
            Write("exec", rec("r2", "clean"), [out("clean", "c")], {"df": first.id}),
            Write("exec", rec("r2", "clean[0]"), [out("clean-0", "c0")], {"df": first.id}),
            Write("fail", rec("r2", "train", status="failed"), cache=False),
        ])
        cat.finish_run("r2", "failed", "step train failed", {})
        assert cat.step_counts(["r1", "r2", "nope"]) == {
            "r1": {"executed": 1}, "r2": {"cached": 1, "executed": 1, "failed": 1}, "nope": {}}
        assert cat.get_run("r2") == reader.get_run("r2")
        assert [r.id for r in cat.list_runs(5, pipeline="p")] == ["r2"]
        assert cat.step_runs("r2") == reader.step_runs("r2")
        assert [s.step for s in cat.step_runs("r2")] == ["load", "clean", "clean[0]", "train"]
        with pytest.raises(ArtifactNotFoundError, match="no run 'nope'"):
            cat.get_run("nope")

    def test_cache_lookups(self, cat: RuntimeCatalog) -> None:
        assert cat.lookup_cache_many(["k1"]) == {}
        made = record(cat, rec("r1", "train", key="k1"), [out("model", "a"), out("m", "x")])
        record(cat, rec("r1", "nocache", key="k2"), [out("x", "x")], cache=False)
        hits = cat.lookup_cache_many(["k1", "k2", "k3"])
        assert hits == {"k1": made}, "cache=False records no entry; unknown keys are misses"
        assert hits["k1"].run_id == "r1"
        redone = record(cat, rec("r2", "train", key="k1"), [out("model", "b")])
        assert cat.lookup_cache_many(["k1"]) == {"k1": redone}, "the newest entry wins"
        again = record(cat, rec("r2b", "train", key="k1"), [out("model", "b")])
        assert again == redone  # the same bytes: the artifact says r2 made them, the entry r2b
        assert cat.lookup_cache_many(["k1"])["k1"].run_id == "r2b"
        assert cat.lookup_cache_many(["k1", "k3"])["k1"].run_id == "r2b"
        cat.record_batch([Write("reuse", rec("r3", "train", key="k9"), artifacts=redone)])
        assert cat.lookup_cache_many(["k9"]) == {}, "a reuse adds no cache entry"
        many = [f"key-{i}" for i in range(1200)] + ["k1"]  # more keys than one query takes
        assert set(cat.lookup_cache_many(many)) == {"k1"}

    def test_expected_hits_are_the_entries_of_the_last_keys(self, cat: RuntimeCatalog) -> None:
        assert cat.expected_hits("p", ["train"]) == {}
        old = record(cat, rec("r1", "train", key="k-old"), [out("model", "a")])
        new = record(cat, rec("r2", "train", key="k-new"), [out("model", "b")])
        made = record(cat, rec("r2", "eval", key="k-eval"), [out("score", "s")])
        cat.record_batch([Write("fail", rec("r3", "train", key="k-failed", status="failed"))])
        record(cat, rec("r4", "plain", key="k-plain"), [out("x", "x")], cache=False)
        record(cat, rec("q1", "train", pipeline="q", key="k-q"), [out("model", "q")])
        got = cat.expected_hits("p", ["train", "eval", "plain", "never-ran"])
        assert got == {"k-new": new, "k-eval": made}, "the last non-failed key; entries only"
        assert (got["k-new"].run_id, got["k-eval"].run_id) == ("r2", "r2")
        assert got == cat.lookup_cache_many(["k-new", "k-eval", "k-plain"])
        assert cat.lookup_cache_many(["k-old"]) == {"k-old": old}, "older keys still hit"
        many = [f"s{i}" for i in range(1200)] + ["eval"]  # more steps than one query takes
        assert cat.expected_hits("p", many) == {"k-eval": made}

    def test_expected_hits_of_unchanged_code_only(self, cat: RuntimeCatalog) -> None:
        """With the steps' code versions now, a step whose code changed since its last
        record expects nothing (its old key cannot come back)."""
        r = rec("r1", "train", key="k-train")
        r.code_version = "v1"
        trained = record(cat, r, [out("model", "a")])
        e = rec("r1", "eval", key="k-eval")
        e.code_version = "v1"
        record(cat, e, [out("score", "s")])
        got = cat.expected_hits("p", ["train", "eval"], {"train": "v1", "eval": "v2"})
        assert got == {"k-train": trained}
        assert cat.expected_hits("p", ["train", "eval"], {}) == {}
        many = [f"s{i}" for i in range(1200)] + ["train"]
        assert cat.expected_hits("p", many, {"train": "v1"}) == {"k-train": trained}

    def test_known_code_versions_are_those_that_executed(self, cat: RuntimeCatalog) -> None:
        """The code version of every cache entry is known (written with it), whether or
        not the step recorded its source; a failed execution's code is kept too (what
        ``flowyml diff`` of a failed run shows); a reuse adds none."""
        assert cat.known_code_versions(["v1"]) == set()
        r = rec("r1", "train", key="k1")
        r.code_version, r.sources = "v1", {"code": "def train(): ..."}
        record(cat, r, [out("model", "a")])
        bare = rec("r1", "eval", key="k2")
        bare.code_version = "v2"  # no sources
        record(cat, bare, [out("score", "s")], cache=False)
        reused, failed = rec("r2", "train", key="k1"), rec("r2", "x", status="failed")
        reused.code_version, failed.code_version = "v3", "v4"
        failed.sources = {"code": "def x(): raise ValueError"}
        cat.record_batch([Write("reuse", reused, artifacts={}), Write("fail", failed)])
        many = [f"x{i}" for i in range(1200)] + ["v1", "v2", "v3", "v4"]
        assert cat.known_code_versions(many) == {"v1", "v2", "v4"}
        if isinstance(cat, SqlCatalog):
            assert cat.code_versions(["v4"])["v4"].sources == dict(failed.sources)

    def test_recorded_assets_are_those_with_an_artifact(self, cat: RuntimeCatalog) -> None:
        """What ``plan`` asks of a step that comes after one that runs: whether each of
        its outputs has any artifact (if one has none, no cache entry of it is a hit)."""
        assert cat.recorded_assets(["model"]) == set()
        record(cat, rec("r1", "train"), [out("model", "a")])
        record(cat, rec("r2", "train"), [out("model", "b")])
        record(cat, rec("r2", "eval"), [out("score", "s")], cache=False)
        many = [f"x{i}" for i in range(1200)] + ["model", "score", "model"]
        assert cat.recorded_assets(many) == {"model", "score"}
        assert cat.recorded_assets([]) == set()

    def test_previous_steps(self, cat: RuntimeCatalog) -> None:
        record(cat, rec("r1", "train"), [out("model", "a")])
        record(cat, rec("r2", "train"), [out("model", "b")])
        record(cat, rec("r2", "eval"), [out("score", "s")])
        cat.record_batch([Write("fail", rec("r3", "train", status="failed"))])
        record(cat, rec("q1", "train", pipeline="q"), [out("model", "q")])
        prev = cat.previous_steps("p", ["train", "eval", "never-ran"])
        assert {k: v.run_id for k, v in prev.items()} == {"train": "r2", "eval": "r2"}
        assert cat.previous_steps("p", []) == {}

    def test_run_start_heartbeat_and_finish(self, cat: RuntimeCatalog, reader: Any) -> None:
        cat.start_run("run-a", "p", {"lr": 0.1}, time.time())
        a = reader.get_run("run-a")
        assert (a.status, a.params, a.stack) == ("running", {"lr": 0.1}, "contract")
        assert (a.host, a.pid, a.finished_at) == (socket.gethostname(), os.getpid(), None)
        cat.heartbeat("run-a")
        cat.finish_run("run-a", "succeeded", None, {"io": {"store_bytes_read": 5}})
        a = reader.get_run("run-a")
        assert (a.status, a.stats["io"]["store_bytes_read"]) == ("succeeded", 5)
        assert a.finished_at is not None and a.finished_at >= a.started_at
        cat.heartbeat("run-a")  # a late beat does not revive a finished run
        assert reader.get_run("run-a").status == "succeeded"
        cat.start_run("run-b", "p", {}, time.time())
        cat.finish_run("run-b", "failed", "step train failed", {})
        b = reader.get_run("run-b")
        assert (b.status, b.error) == ("failed", "step train failed")

    def test_heartbeat_keeps_a_long_run_alive(self, cat: RuntimeCatalog, reader: Any) -> None:
        long_ago = time.time() - 10 * liveness.STALE_AFTER_SECONDS
        cat.start_run("old", "p", {}, long_ago)
        stale = reader.get_run("old")
        assert stale.status == "failed" and "no heartbeat" in (stale.error or "")
        cat.heartbeat("old")
        assert reader.get_run("old").status == "running"
        assert [r.status for r in reader.list_runs()] == ["running"]


# ---------------------------------------------------------------- CatalogReader
class TestCatalogReader:
    def test_implements_the_interface(self, cat: CatalogReader) -> None:
        assert isinstance(cat, CatalogReader)

    def test_artifacts(self, cat: Any) -> None:
        reader: CatalogReader = cat
        a = record(cat, rec("r1", "train"), [out("model", "a", size=7)])["model"]
        record(cat, rec("r2", "train"), [out("model", "b")])
        record(cat, rec("r2", "eval"), [out("score", "s")])
        assert reader.get_artifact(a.id) == a
        assert (a.size, a.step, a.run_id, a.code_version, a.meta) == (7, "train", "r1", "c0de", {"k": 1})
        with pytest.raises(ArtifactNotFoundError, match="no artifact with id 'nope'") as err:
            reader.get_artifact("nope")
        assert reader.display_url in str(err.value), "errors name the catalog"
        assert [v.version for v in reader.versions("model")] == [1, 2]
        assert reader.versions("nothing") == []
        assert reader.aliases("model") == {}
        assert [n[:2] for n in reader.asset_names()] == [("model", 2), ("score", 1)]
        assert reader.find("model", 1) == a

    def test_search_behaves_the_same(self, cat: Any) -> None:
        reader: CatalogReader = cat
        record(cat, rec("r1", "train"), [out("Model_A", "a")])
        record(cat, rec("r2", "other"), [out("model%b", "b")])
        names = {a.name for a in reader.search(name="model")}
        assert names == {"Model_A", "model%b"}, "name search ignores case on both databases"
        assert {a.name for a in reader.search(name="l%")} == {"model%b"}, "% is literal"
        assert {a.name for a in reader.search(name="l_")} == {"Model_A"}, "_ is literal"
        digest = hash_bytes(b"a")
        assert [a.name for a in reader.search(hash_prefix=digest[:8].upper())] == ["Model_A"]
        assert [a.name for a in reader.search(step="other")] == ["model%b"]
        assert [a.name for a in reader.search(run_id="r1")] == ["Model_A"]
        assert len(reader.search(limit=1)) == 1

    def test_lineage_edges(self, cat: Any) -> None:
        reader: CatalogReader = cat
        raw = record(cat, rec("r1", "load"), [out("raw", "r")])["raw"]
        clean = record(cat, rec("r1", "clean"), [out("clean", "c")], {"df": raw.id})["clean"]
        made = record(
            cat, rec("r1", "train"), [out("model", "m"), out("metrics", "x")],
            {"clean_data": clean.id, "raw": raw.id},
        )
        assert reader.parents_of([made["model"].id, raw.id]) == {
            made["model"].id: [("clean_data", clean.id), ("raw", raw.id)],
            raw.id: [],
        }
        assert sorted(reader.children_of([raw.id])[raw.id]) == sorted(
            [clean.id, made["model"].id, made["metrics"].id]
        )
        assert reader.children_of([made["model"].id]) == {made["model"].id: []}
        record(cat, rec("r2", "load"), [out("raw", "r")])  # the same content again
        assert sorted(reader.runs_using(raw.id)) == [
            ("r1", "load", "produced"), ("r2", "load", "produced")
        ]

    def test_reuses_name_the_execution_whose_entry_was_reused(self, cat: Any) -> None:
        """r1 makes ``raw`` with code A; r2 makes the same bytes with code B (key kb);
        r3 reuses kb's entry: r2's. A failure or a reuse writes no entry, and an
        execution after the reuse is not where it came from."""
        reader: CatalogReader = cat

        def step(run: str, key: str, code: str, status: str = "executed") -> StepRecord:
            r = rec(run, "load", key=key, status=status)
            r.code_version = code
            return r

        raw = record(cat, step("r1", "ka", "A"), [out("raw", "r")])["raw"]
        record(cat, step("r2", "kb", "B"), [out("raw", "r")])
        cat.record_batch([Write("fail", step("r2x", "kb", "B", "failed"))])
        cat.record_batch([Write("reuse", step("r3", "kb", "B", "cached"),
                                artifacts={"raw": raw})])
        record(cat, step("r4", "kb", "B"), [out("raw", "r")])  # after r3
        cat.record_batch([Write("reuse", step("r5", "ka", "A", "cached"),
                                artifacts={"raw": raw})])
        got = reader.reuses("r3")
        assert set(got) == {raw.id}
        assert (got[raw.id].step, got[raw.id].code_version, got[raw.id].run) == ("load", "B", "r2")
        assert reader.reuses("r5")[raw.id].run == "r1"
        assert reader.reuses("r2") == {} and reader.reuses("nope") == {}

    def test_runs(self, cat: Any) -> None:
        reader: CatalogReader = cat
        cat.start_run("run-a", "p", {"lr": 0.1}, time.time())
        cat.start_run("run-b", "q", {}, time.time() + 1)
        cat.finish_run("run-a", "succeeded", None, {"io": {"store_bytes_read": 5}})
        a = reader.get_run("run-a")
        assert (a.status, a.params, a.stats["io"]["store_bytes_read"]) == ("succeeded", {"lr": 0.1}, 5)
        assert a.stack == "contract" and a.finished_at is not None
        assert [r.id for r in reader.list_runs()] == ["run-b", "run-a"]
        assert [r.id for r in reader.list_runs(pipeline="p")] == ["run-a"]
        assert [r.id for r in reader.list_runs(limit=1)] == ["run-b"]
        with pytest.raises(ArtifactNotFoundError):
            reader.get_run("nope")
        record(cat, rec("run-a", "train"), [out("model", "a")])
        record(cat, rec("run-a", "eval"), [out("score", "s")])
        assert [s.step for s in reader.step_runs("run-a")] == ["train", "eval"]
        assert reader.step_runs("run-b") == []

    def test_runs_read_with_liveness(self, cat: Any) -> None:
        """A run still marked running whose driver is silent reads as failed."""
        reader: CatalogReader = cat
        cat.start_run("silent", "p", {}, time.time() - 10 * liveness.STALE_AFTER_SECONDS)
        cat.start_run("alive", "p", {}, time.time())
        by_id = {r.id: r for r in reader.list_runs()}
        assert by_id["alive"].status == "running"
        assert by_id["silent"].status == "failed"
        assert "no heartbeat from the driver" in (reader.get_run("silent").error or "")

    def test_liveness_decides_the_bound(self, cat: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        reader: CatalogReader = cat
        cat.start_run("quiet", "p", {}, time.time() - 5)
        assert reader.get_run("quiet").status == "running"
        monkeypatch.setattr(liveness, "STALE_AFTER_SECONDS", 1.0)
        assert reader.get_run("quiet").status == "failed"


# ---------------------------------------------------------------- the SQL catalog
class TestCatalogContract:
    def test_schema_is_created_and_versioned(self, cat: SqlCatalog, url: str) -> None:
        assert cat.schema_version() == migrations.LATEST
        SqlCatalog(url).close()  # opening again changes nothing
        assert cat.schema_version() == migrations.LATEST

    def test_a_catalog_gets_one_stable_id_on_first_need(self, cat: SqlCatalog, url: str) -> None:
        """The id that names the catalog in its stores (gc): none until needed (an
        existing catalog gets one the same way, with no schema change), then one id for
        every process, also when several make it at once."""
        assert cat.catalog_id(create=False) is None
        openers = [SqlCatalog(url) for _ in range(4)]
        try:
            with ThreadPoolExecutor(4) as pool:
                ids = set(pool.map(lambda c: c.catalog_id(), openers))
        finally:
            for c in openers:
                c.close()
        assert len(ids) == 1 and re.fullmatch(r"[0-9a-f]{16}", next(iter(ids)))
        assert cat.catalog_id() in ids and cat.schema_version() == migrations.LATEST
        again = SqlCatalog(url)
        try:
            assert again.catalog_id(create=False) in ids
        finally:
            again.close()

    def test_aliases(self, cat: SqlCatalog) -> None:
        record(cat, rec("r1", "train"), [out("model", "a")])
        record(cat, rec("r2", "train"), [out("model", "b")])
        cat.tag("model", 1, "prod")
        assert cat.find("model", "prod").version == 1
        cat.tag("model", 2, "prod")
        assert cat.find("model", "prod").version == 2
        assert cat.aliases("model") == {"prod": 2}
        with pytest.raises(ArtifactNotFoundError):
            cat.tag("model", 9, "prod")

    def test_what_gc_reads(self, cat: SqlCatalog) -> None:
        record(cat, rec("r1", "train"), [out("model", "a")])
        record(cat, rec("r2", "train"), [out("model", "b")])
        assert cat.referenced_hashes() == {hash_bytes(b"a"), hash_bytes(b"b")}
        now = time.time()
        cat.start_run("live", "p", {}, now)
        cat.start_run("done", "p", {}, now)
        cat.finish_run("done", "succeeded", None, {})
        cat.start_run("silent", "p", {}, now - 10 * liveness.STALE_AFTER_SECONDS)
        assert cat.live_run_starts() == [pytest.approx(now)]

    def test_concurrent_writers_get_distinct_versions(self, url: str) -> None:
        cats = [SqlCatalog(url, stack_name=f"w{i}") for i in range(4)]
        try:
            def write(i: int) -> int:
                got = record(cats[i % 4], rec(f"r{i}", "train"), [out("model", f"c{i}")])
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
            def write(i: int) -> str:
                return record(cats[i % 3], rec(f"r{i}", "train"), [out("model", "same")])["model"].id

            with ThreadPoolExecutor(6) as pool:
                ids = set(pool.map(write, range(12)))
            assert ids == {artifact_id("model", hash_bytes(b"same"))}
            assert len(cats[0].versions("model")) == 1
        finally:
            for c in cats:
                c.close()


# ---------------------------------------------------------------- retried write conflicts
# Every write (a run's records, migrations, aliases, prune) is one ``dbapi.Db.write``
# transaction; the conflicts it retries, and an error it does not, as the database
# drivers raise them.
CONFLICTS = ("lock", "unique violation")
DRIVER_CONFLICTS: dict[str, dict[str, Callable[[], Exception]]] = {
    "sqlite": {
        "unique violation": lambda: sqlite3.IntegrityError(
            "UNIQUE constraint failed: artifacts.version"),
        "lock": lambda: sqlite3.OperationalError("database is locked"),
        "other": lambda: sqlite3.OperationalError("no such table: x"),
    },
    "postgresql": {
        "unique violation": lambda: _psycopg().IntegrityError(
            'duplicate key value violates unique constraint "uq_artifacts_name_version"'),
        "lock": lambda: _psycopg().OperationalError("deadlock detected"),
        "other": lambda: _psycopg().OperationalError("no such table: x"),
    },
}


def _psycopg() -> Any:
    import psycopg

    return psycopg


def _conflicting(times: int, conflict: Callable[[], Exception]) -> tuple[Callable[[Any], str], list[int]]:
    """A write that conflicts ``times`` times, then succeeds; and its call count."""
    calls: list[int] = []

    def fn(conn: Any) -> str:
        calls.append(1)
        if len(calls) <= times:
            raise conflict()
        return "written"

    return fn, calls


class TestWriteRetries:
    @pytest.mark.parametrize("kind", CONFLICTS)
    def test_conflicts_back_off_with_jitter_up_to_a_bound(
        self, cat: SqlCatalog, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sleeps: list[float] = []
        monkeypatch.setattr(dbapi.time, "sleep", sleeps.append)
        fn, calls = _conflicting(12, DRIVER_CONFLICTS[cat.db.dialect][kind])
        assert cat.db.write(fn) == "written"
        assert len(calls) == 13 and len(sleeps) == 12, "one wait before every retry"
        first, cap = dbapi.RETRY_FIRST_DELAY, dbapi.RETRY_MAX_DELAY
        ceilings = [min(cap, first * 2**i) for i in range(12)]
        for waited, ceiling in zip(sleeps, ceilings, strict=True):
            assert ceiling / 2 <= waited <= ceiling, (sleeps, ceilings)
        assert max(sleeps) <= cap and sleeps[-1] > 0.2, "waits grow to the bound"
        assert len({round(w / c, 9) for w, c in zip(sleeps, ceilings, strict=True)}) > 1, "jittered"

    def test_a_conflict_really_waits(self, cat: SqlCatalog) -> None:
        fn, _ = _conflicting(5, DRIVER_CONFLICTS[cat.db.dialect]["unique violation"])
        t0 = time.monotonic()
        assert cat.db.write(fn) == "written"
        least = sum(dbapi.RETRY_FIRST_DELAY * 2**i / 2 for i in range(5))
        assert least - 0.001 <= time.monotonic() - t0 < 5

    @pytest.mark.parametrize("kind", CONFLICTS)
    def test_the_last_conflict_raises(
        self, cat: SqlCatalog, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sleeps: list[float] = []
        monkeypatch.setattr(dbapi.time, "sleep", sleeps.append)
        fn, calls = _conflicting(100, DRIVER_CONFLICTS[cat.db.dialect][kind])
        with pytest.raises(CatalogError, match="'contract'"):
            cat.db.write(fn, attempts=6)
        assert (len(calls), len(sleeps)) == (6, 5)

    def test_other_errors_are_not_retried(
        self, cat: SqlCatalog, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sleeps: list[float] = []
        monkeypatch.setattr(dbapi.time, "sleep", sleeps.append)
        fn, calls = _conflicting(1, DRIVER_CONFLICTS[cat.db.dialect]["other"])
        with pytest.raises(CatalogError, match="no such table"):
            cat.db.write(fn)
        assert (len(calls), sleeps) == (1, [])

    @pytest.mark.parametrize("op", ["tag", "prune"])
    @pytest.mark.parametrize("kind", [*CONFLICTS, "other"])
    def test_administration_retries_conflicts_and_raises_other_errors(
        self, cat: SqlCatalog, op: str, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Aliases and prune are one write transaction each, retried like a run's: the
        driver's conflicts in the middle of it (here, on its first DELETEs) are rolled
        back and the transaction runs again; another error raises at once, with
        nothing written."""
        from flowyml.catalog.base import Deletion

        made = record(cat, rec("r1", "train"), [out("model", "a")])["model"]
        cat.start_run("r1", "p", {}, time.time())
        cat.finish_run("r1", "succeeded", None, {})
        if op == "tag":
            def admin() -> Any:
                return cat.tag("model", 1, "prod")

            def done() -> bool:
                return cat.aliases("model") == {"prod": 1}
        else:
            deletion = Deletion(runs=frozenset({"r1"}), artifacts=frozenset({made.id}))

            def admin() -> Any:
                return cat.prune(lambda snap: deletion)

            def done() -> bool:
                return cat.versions("model") == [] and cat.list_runs() == []
        sleeps: list[float] = []
        monkeypatch.setattr(dbapi.time, "sleep", sleeps.append)
        error, failures = DRIVER_CONFLICTS[cat.db.dialect][kind], [3 if kind in CONFLICTS else 1]
        real = dbapi.Cursor.run

        def run(cur: Any, statement: str, params: Any = None) -> Any:
            if statement.startswith("DELETE") and failures[0] > 0:
                failures[0] -= 1
                raise error()
            return real(cur, statement, params)

        monkeypatch.setattr(dbapi.Cursor, "run", run)
        if kind == "other":
            with pytest.raises(CatalogError, match="no such table"):
                admin()
            assert sleeps == [] and not done()
            assert cat.find("model").id == made.id, "nothing was deleted"
        else:
            admin()
            assert len(sleeps) == 3 and done()


# ---------------------------------------------------------------- run liveness
def _row(**kw: Any) -> Any:
    base = {"status": "running", "error": None, "host": socket.gethostname(),
            "pid": os.getpid(), "heartbeat": time.time(), "started_at": time.time()}
    return SimpleNamespace(**{**base, **kw})


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


class TestLiveness:
    def test_a_finished_run_reads_as_recorded(self) -> None:
        row = _row(status="failed", error="boom", pid=_dead_pid(), heartbeat=0.0)
        assert liveness.status_of(row) == ("failed", "boom")

    def test_a_live_driver_here_keeps_its_run_running(self) -> None:
        assert liveness.status_of(_row()) == ("running", None)
        assert liveness.is_live(_row())

    def test_a_dead_driver_here_fails_its_run_at_once(self) -> None:
        pid = _dead_pid()
        status, error = liveness.status_of(_row(pid=pid))
        assert status == "failed" and f"pid {pid}" in (error or "")
        assert not liveness.is_live(_row(pid=pid))

    def test_elsewhere_only_the_heartbeat_counts(self) -> None:
        now = time.time()
        away = _row(host="another-machine", pid=_dead_pid())
        assert liveness.status_of(away, now=now)[0] == "running"
        old = now - liveness.STALE_AFTER_SECONDS - 1
        status, error = liveness.status_of(_row(host="another-machine", heartbeat=old), now=now)
        assert status == "failed"
        assert error == "no heartbeat from the driver on another-machine for over 60 s"
        never_beat = _row(host="another-machine", heartbeat=None, started_at=old)
        assert liveness.status_of(never_beat, now=now)[0] == "failed"
        recent = _row(host="another-machine", heartbeat=now - 2)
        assert liveness.status_of(recent, now=now, stale_after=1.5)[0] == "failed"

    def test_the_heartbeat_is_well_within_the_bound(self) -> None:
        assert liveness.STALE_AFTER_SECONDS >= 4 * liveness.HEARTBEAT_SECONDS


# ---------------------------------------------------------------- schema upgrades
def _make_v1(url: str) -> None:
    """A catalog exactly as FlowyML 0.1 left it, with some data."""
    catalog_at_version(url, 1)
    engine = sa.create_engine(url)
    try:
        md = sa.MetaData()
        md.reflect(engine)
        with engine.begin() as conn:
            t = md.tables
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
        made = record(cat, rec("new", "train"), [out("model", "n")])
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
    expected = list(range(1 if start == "empty" else 2, migrations.LATEST + 1))
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


# ---------------------------------------------------------------- the run path
def test_a_run_never_imports_sqlalchemy(tmp_path: Path) -> None:
    """A run creates its catalog (migrations are plain SQL) and writes it through the
    database driver (``runtime_sql.py``); SQLAlchemy, a quarter of a second to import,
    is for the readers (lineage, search, the web page). Listing runs, as ``flowyml
    runs`` does, does not need it either."""
    (tmp_path / "flowyml.toml").write_text("")
    (tmp_path / "pipe.py").write_text(
        "import sys\nimport flowyml as fm\n\n"
        "@fm.step(outputs='a')\ndef a():\n    return 1\n\n"
        "@fm.step(outputs='b')\ndef b(a):\n    return a + 1\n\n"
        "run = fm.Pipeline('p', [a, b]).run()\n"
        "print(run['b'], [s.cached for s in run.steps.values()], 'sqlalchemy' in sys.modules)\n"
    )
    outs = [subprocess.run([sys.executable, "pipe.py"], cwd=tmp_path, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(3)]
    assert outs[0] == ["2", "[False,", "False]", "False"], outs[0]
    assert outs[1] == ["2", "[True,", "True]", "False"], outs[1]
    assert outs[2] == outs[1]
    listing = subprocess.run(
        [sys.executable, "-c", "import sys, flowyml as fm; c = fm.Catalog(); "
         "runs = c.runs(); print(len(runs), c.step_counts([r.id for r in runs])[runs[0].id], "
         "'sqlalchemy' in sys.modules)"],
        cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert listing == "3 {'cached': 2} False", listing


def test_the_full_catalog_never_imports_sqlalchemy(tmp_path: Path) -> None:
    """Opening the full catalog (lineage, versions, search, the web page, prune) and
    reading through it goes to the database driver too: no SQLAlchemy, in a fresh
    process."""
    (tmp_path / "flowyml.toml").write_text("")
    (tmp_path / "pipe.py").write_text(
        "import flowyml as fm\n\n"
        "@fm.step(outputs='a')\ndef a():\n    return 1\n\n"
        "@fm.step(outputs='b')\ndef b(a):\n    return a + 1\n\n"
        "fm.Pipeline('p', [a, b]).run()\n"
    )
    (tmp_path / "read.py").write_text(
        "import sys, flowyml as fm\n"
        "cat = fm.Stack().open_catalog()\n"
        "b = cat.versions('b')[-1]\n"
        "node = fm.get_lineage(b.id)\n"
        "cat.tag('b', b.version, 'prod')\n"
        "reads = [len(cat.search(name='B')), cat.asset_names()[0][0], cat.aliases('b'),\n"
        "         len(cat.descendants(node.parents[0].artifact.id)[1]),\n"
        "         len(cat.derivations_of([b.id])[b.id]), cat.lineage_gaps(),\n"
        "         len(cat.prune(lambda snap: __import__('flowyml.catalog.base').catalog.base\n"
        "             .Deletion(), dry_run=True)[0].runs)]\n"
        "print(node.artifact.name, node.parents[0].artifact.name, reads,\n"
        "      'sqlalchemy' in sys.modules)\n"
    )
    subprocess.run([sys.executable, "pipe.py"], cwd=tmp_path, capture_output=True, check=True)
    got = subprocess.run([sys.executable, "read.py"], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert got == "b a [1, 'a', {'prod': 1}, 2, 1, [], 1] False", got


def test_a_run_and_a_reader_share_one_connection(url: str, tmp_path: Path) -> None:
    """The full catalog opened after the runtime one (a run, then lineage) uses its
    connections: one per thread, so on PostgreSQL one session, not two."""
    from flowyml.stack import Stack, clear_opened

    stack = Stack(store=str(tmp_path / "objects"), catalog=url, root=str(tmp_path))
    clear_opened()
    try:
        runtime = stack.open_runtime_catalog()
        assert runtime.list_runs() == []
        full = stack.open_catalog()
        assert isinstance(full, SqlCatalog) and full.db is runtime.db
        assert full.versions("model") == [] and stack.open_runtime_catalog().db is runtime.db
        if full.db.dialect == "postgresql":
            with full.db.read() as cur:
                (sessions,) = cur.one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend'")
            assert sessions == 1
    finally:
        clear_opened()


# The schema the catalog's statements are written against (``sql.py``,
# ``runtime_sql.py``), described once more, here: the migrations (``migrations.py``)
# are the schema's one source of truth in the library, and this is what catches a
# migration that changes it without the code (and this description) following.
# table -> its columns ("?": nullable), in order
LATEST_COLUMNS = {
    "flowyml_meta": "key value",
    "runs": "id pipeline status started_at finished_at? error? params stats host pid "
            "heartbeat? stack?",
    "step_runs": "id run_id pipeline step status cache_key reason code_version started_at "
                 "duration fingerprint inputs vals outputs error? attempts reads?",
    "artifacts": "id name version content_hash size materializer type_name meta run_id step "
                 "code_version created_at data?",
    "lineage_edges": "child_id parent_id param",
    "derivation_edges": "child_id run_id param parent_id",
    "artifact_uses": "artifact_id run_id step role",
    "cache_entries": "cache_key step outputs run_id created_at reads? effects?",
    "aliases": "name alias version updated_at",
    "code_sources": "digest text",
    "code_versions": "code_version parts",
    "latest_outputs": "name artifact_id run_id finished_at",
    "retired_versions": "name version",
}
# the indexes and unique constraints queries rely on: name -> (table, columns)
LATEST_INDEXES = {
    "ix_runs_pipeline": ("runs", "pipeline"),
    "ix_runs_started_at": ("runs", "started_at"),
    "ix_runs_pipeline_started": ("runs", "pipeline started_at"),
    "ix_step_runs_run_id": ("step_runs", "run_id"),
    "ix_step_runs_pipeline_step": ("step_runs", "pipeline step id"),
    "ix_step_runs_not_failed": ("step_runs", "pipeline step id"),  # WHERE status <> 'failed'
    "ix_artifacts_content_hash": ("artifacts", "content_hash"),
    "ix_artifacts_run_id": ("artifacts", "run_id"),
    "ix_artifacts_name_created": ("artifacts", "name created_at"),
    "uq_artifacts_name_version": ("artifacts", "name version"),
    "uq_artifacts_name_hash": ("artifacts", "name content_hash"),
    "ix_lineage_edges_parent_id": ("lineage_edges", "parent_id"),
    "ix_derivation_edges_run_id": ("derivation_edges", "run_id"),
    "ix_derivation_edges_parent_id": ("derivation_edges", "parent_id"),
    "ix_artifact_uses_artifact_id": ("artifact_uses", "artifact_id"),
    "ix_artifact_uses_run_id": ("artifact_uses", "run_id"),
}


def _schema(url: str) -> dict[str, dict[str, Any]]:
    """A catalog's schema as the database describes it (through SQLAlchemy's
    inspector: the tests may use it, the library does not): per table its columns
    (name, type, nullable) in order, primary key, unique constraints and indexes
    (columns, uniqueness, a partial index's condition)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        insp = sa.inspect(engine)
        return {
            t: {
                "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(t)],
                "primary key": insp.get_pk_constraint(t)["constrained_columns"],
                "unique": sorted((u["name"], *u["column_names"])
                                 for u in insp.get_unique_constraints(t)),
                "indexes": sorted(
                    (str(i["name"]), " ".join(str(c) for c in i["column_names"]), bool(i["unique"]),
                     str(sorted((k, str(v)) for k, v in (i.get("dialect_options") or {}).items())))
                    for i in insp.get_indexes(t)
                ),
            }
            for t in sorted(insp.get_table_names())
        }
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_catalog_upgraded_from_the_first_schema_is_a_fresh_one(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Upgrading a FlowyML 0.1 catalog (with rows) gives exactly the schema a new
    catalog gets: every column (type, nullability, order), key, constraint and index,
    partial ones with their condition."""
    if kind == "sqlite":
        old, fresh = (f"sqlite:///{tmp_path / n}" for n in ("old.db", "fresh.db"))
    else:
        server = request.getfixturevalue("postgres_server")
        old, fresh = (server.create_database(uniq(n).replace("-", "_")) for n in ("old", "fresh"))
    _make_v1(old)
    SqlCatalog(old).close()
    SqlCatalog(fresh).close()
    assert _schema(old) == _schema(fresh)


def test_the_schema_is_the_one_the_statements_are_written_against(url: str) -> None:
    """What the migrations create, column by column and index by index, is what the
    catalog's statements read and write (``LATEST_COLUMNS``, ``LATEST_INDEXES``), and
    ``CATALOG_TABLES`` (what ``analyze`` covers) names every table."""
    from flowyml.catalog.runtime_sql import ART_COLS, RUN_COLS, STEP_COLS

    SqlCatalog(url).close()
    schema = _schema(url)
    assert set(schema) == set(CATALOG_TABLES) == set(LATEST_COLUMNS)
    for table, columns in LATEST_COLUMNS.items():
        got = [c + ("?" if nullable else "") for c, _, nullable in schema[table]["columns"]]
        assert got == columns.split(), table
    columns = {t: [c for c, _, _ in schema[t]["columns"]] for t in schema}
    assert list(ART_COLS) == columns["artifacts"] and list(RUN_COLS) == columns["runs"]
    assert set(STEP_COLS) == set(columns["step_runs"]) - {"id"}
    found = {name: (t, cols) for t in schema for name, cols, *_ in schema[t]["indexes"]}
    found |= {name: (t, " ".join(cols)) for t in schema for name, *cols in schema[t]["unique"]}
    for name, want in LATEST_INDEXES.items():
        assert found.get(name) == want, name
    cat = SqlCatalog(url)  # the partial index behind previous_steps, with its condition
    try:
        with cat.db.read() as cur:
            (ddl,) = cur.one(
                "SELECT sql FROM sqlite_master WHERE name = :n" if cur.dialect == "sqlite"
                else "SELECT indexdef FROM pg_indexes WHERE indexname = :n "
                     "AND schemaname = current_schema()", {"n": "ix_step_runs_not_failed"})
    finally:
        cat.close()
    assert "WHERE status <> 'failed'" in re.sub(r"::\w+|[()]", "", ddl), ddl


def test_a_value_of_a_long_named_class_is_recorded_on_both_databases(
    url: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A class whose qualified name is longer than ``artifacts.type_name`` holds (deep
    packages, classes nested in functions): SQLite took it, PostgreSQL's VARCHAR(200)
    refused the step's records after the step had run, with an error that blamed the
    server. The name is cut to fit, keeping its module."""
    import flowyml as fm

    name = "Result" + "x" * 220
    cls = type(name, (), {"__module__": __name__})
    monkeypatch.setattr(sys.modules[__name__], name, cls, raising=False)

    @fm.step(outputs="obj")
    def make() -> Any:
        return cls()

    run = fm.Pipeline("long", [make]).run(stack=fm.Stack(catalog=url, root=str(project)))
    art = run.artifacts["obj"]
    assert art.type_name.startswith(f"{__name__}.Resultxxx") and len(art.type_name) == 200


def test_a_failure_whose_message_holds_a_nul_is_recorded_on_both_databases(
    url: str, project: Path
) -> None:
    """An exception quoting binary data (a NUL character in its message): PostgreSQL's
    text cannot hold it, so recording the failure failed with a CatalogError that told
    the user to check the server, the step's own error was lost and the run stayed
    ``running``. The NUL is recorded as ``\\x00``."""
    import flowyml as fm

    @fm.step(outputs="rows")
    def parse() -> Any:
        raise ValueError("bad record b'ab\x00cd'")

    stack = fm.Stack(catalog=url, root=str(project))
    with pytest.raises(fm.StepFailed, match="bad record") as err:
        fm.Pipeline("nul", [parse]).run(stack=stack)
    run = fm.Catalog(stack).runs(pipeline="nul")[0]
    assert run.status == "failed" and run.error is not None and "ab\\x00cd" in run.error
    assert err.value.__cause__ is not None and "\x00" in str(err.value.__cause__)
