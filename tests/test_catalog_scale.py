"""The catalog at scale: a bulk-filled catalog (``scripts/fill_catalog.py``, 20,000
artifacts from 2,000 runs here) on SQLite and PostgreSQL is read back by every command
and page; the indexed reads (loose index scan of names, the partial index behind
``previous_steps``, hash-prefix ranges, one-query ``ancestry``/``descendants``) give the
same answers as the straightforward queries they replace; and their plans use indexes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import flowyml as fm
from flowyml.catalog import dbapi
from flowyml.catalog.sql import SqlCatalog
from flowyml.stack import Stack, clear_opened

from .stack_fixtures import uniq

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS, RUNS = 20_000, 2_000


def _fill_module() -> Any:
    spec = importlib.util.spec_from_file_location("fill_catalog", REPO / "scripts" / "fill_catalog.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # (its dataclasses look their module up)
    spec.loader.exec_module(mod)
    return mod


class Filled:
    def __init__(self, url: str, report: dict[str, Any]) -> None:
        self.url = url
        self.report = report
        self.probes: dict[str, Any] = report["probes"]
        self.cat = SqlCatalog(url, stack_name="scale")
        # the reference queries' own connection (the tests use SQLAlchemy; the catalog does not)
        self.engine = sa.create_engine(url)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('scale') / 'catalog.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(uniq("scale").replace("-", "_"))
    report = _fill_module().fill(url, ARTIFACTS, RUNS, seed=3)
    f = Filled(url, report)
    yield f
    f.cat.close()
    f.engine.dispose()


# ---------------------------------------------------------------- the generator
def test_the_fill_has_the_shapes_asked_for(filled: Filled) -> None:
    counts, p, cat = filled.report["counts"], filled.probes, filled.cat
    assert counts["runs"] == RUNS
    assert abs(counts["artifacts"] - ARTIFACTS) < ARTIFACTS // 100
    with filled.engine.connect() as conn:
        for table, n in counts.items():
            assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar() == n, table
        statuses = dict(conn.execute(sa.text("SELECT status, COUNT(*) FROM runs GROUP BY status")).all())
    assert statuses["failed"] > 0 and statuses["succeeded"] > 0.9 * RUNS
    edges, records = cat.ancestry(p["depth50"])
    assert records[p["depth50"]].name == "deep.a50"
    assert len(records) == 51 and max(_levels_of(p["depth50"], edges).values()) == 50
    edges, records = cat.ancestry(p["ancestors"])
    assert len(records) - 1 == p["n_ancestors"] > 50
    assert cat.find(p["name"], "prod").name == p["name"]
    assert len(cat.asset_names()) > 50


def test_every_command_and_page_reads_the_filled_catalog(filled: Filled, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from flowyml.cli import main
    from flowyml.ui.app import create_app

    p = filled.probes
    for var in ("FLOWYML_STACK", "FLOWYML_STORE", "FLOWYML_CATALOG"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "flowyml.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWYML_ROOT", str(tmp_path))
    monkeypatch.setenv("FLOWYML_CATALOG", filled.url)
    clear_opened()
    runner = CliRunner()
    for args in (["runs"], ["artifacts"], ["artifacts", p["name"]], ["show", f"{p['name']}@prod"],
                 ["show", f"{p['name']}@{p['version']}"], ["lineage", "deep.a50"],
                 ["lineage", "cont.model", "--format", "json"], ["lineage", "deep.a00", "--down"]):
        res = runner.invoke(main, args, catch_exceptions=False)
        assert res.exit_code == 0, (args, res.output)
        assert res.output.strip(), args
    assert "deep.a00@" in runner.invoke(main, ["lineage", "deep.a50"]).output
    app = create_app(Stack(store=str(tmp_path / "objects"), catalog=filled.url, root=str(tmp_path)))
    run_id = filled.cat.list_runs(1, pipeline=p["pipeline"])[0].id
    for path in ("/", "/assets", "/search?q=model", f"/search?q={p['hash_prefix']}",
                 f"/runs/{run_id}", f"/artifacts/{p['depth50']}",
                 f"/artifacts/{p['depth50']}/lineage", f"/assets/{p['name']}/prod"):
        status = _get(app, path)
        assert status in (200, 302), (path, status)
    clear_opened()


def _get(app: Any, path: str) -> int:
    target, _, query = path.partition("?")
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            status.append(msg["status"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": target, "raw_path": target.encode(),
             "query_string": query.encode(), "root_path": "", "headers": [(b"host", b"127.0.0.1")],
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 40000)}
    asyncio.run(app(scope, receive, send))
    return status[0]


# ---------------------------------------------------------------- same answers as before
def _sample_ids(filled: Filled) -> list[str]:
    p = filled.probes
    with filled.engine.connect() as conn:
        some = [r[0] for r in conn.execute(sa.text("SELECT id FROM artifacts ORDER BY id LIMIT 25"))]
        first = [r[0] for r in conn.execute(sa.text(
            "SELECT id FROM artifacts WHERE version = 1 AND name IN ('cont.batch', 'deep.a00')"))]
    return [p["depth50"], p["ancestors"], *first, *some]


def _walk_levels(
    filled: Filled, root: str, max_depth: int | None, up: bool
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, Any]]:
    """The level-by-level walk (queries per level) that ``ancestry`` and ``descendants``
    replace, on what ``get_lineage`` and ``get_descendants`` read: ``parents_of`` up,
    ``children_of`` down. The reference answer."""
    cat = filled.cat
    records = {root: cat.get_artifact(root)}
    edges: dict[str, list[tuple[str, str]]] = {}
    frontier, depth = [root], 0
    while frontier and (max_depth is None or depth < max_depth):
        if up:
            got = cat.parents_of(frontier)
        else:
            got = _child_edges(filled, frontier)
            kids = cat.children_of(frontier)
            assert {n: {c for _, c in lst} for n, lst in got.items()} == {
                n: set(lst) for n, lst in kids.items()}
        edges.update({k: sorted(v) for k, v in got.items()})
        new = {o for lst in got.values() for _, o in lst if o not in records}
        records.update(cat.artifacts_by_id(new))
        frontier = [i for i in new if i not in edges]
        depth += 1
    return edges, records


def _child_edges(filled: Filled, ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Parent id -> [(param, child id)] over every production's edges."""
    out: dict[str, set[tuple[str, str]]] = {i: set() for i in ids}
    with filled.engine.connect() as conn:
        for table in ("lineage_edges", "derivation_edges"):
            q = sa.text(f"SELECT parent_id, param, child_id FROM {table} WHERE parent_id IN :ids")
            q = q.bindparams(sa.bindparam("ids", expanding=True))
            for parent, param, child in conn.execute(q, {"ids": ids}):
                out[parent].add((param, child))
    return {k: sorted(v) for k, v in out.items()}


@pytest.mark.parametrize("up", [True, False], ids=["ancestry", "descendants"])
def test_one_query_walks_equal_the_level_by_level_walk(filled: Filled, up: bool) -> None:
    cat = filled.cat
    walk = cat.ancestry if up else cat.descendants
    for root in _sample_ids(filled):
        for max_depth in (None, 0, 1, 3):
            edges, records = walk(root, max_depth)
            ref_edges, ref_records = _walk_levels(filled, root, max_depth, up)
            assert edges == ref_edges, (root, max_depth)
            assert records == ref_records, (root, max_depth)
            assert [r.meta for r in records.values()] == [ref_records[i].meta for i in records]
            levels = _levels_of(root, edges)
            order = [levels.get(i, max_depth) for i in records]
            assert order == sorted(order) and next(iter(records)) == root  # nearest first
    with pytest.raises(fm.ArtifactNotFoundError):
        walk("no-such-artifact")


def test_descendants_follow_every_production_ancestry_the_first(filled: Filled) -> None:
    """An artifact made again from other inputs (a later derivation) is a descendant of
    those inputs too, as ``children_of`` says; its lineage stays its first production's."""
    from flowyml.catalog.records import NewOutput, StepRecord, Write
    from flowyml.core.hashing import hash_bytes

    cat = filled.cat
    tag = uniq("deriv")

    def made(name: str, content: str, run: str, parents: dict[str, str]) -> str:
        rec = StepRecord(run_id=run, pipeline=tag, step=f"make_{name}", status="executed",
                         cache_key=uniq("k"), reason="executed: test", code_version="c",
                         started_at=1.0)
        out = NewOutput(name, hash_bytes(content.encode()), 1, "json", "builtins.int", {})
        return str(cat.record_batch([Write("exec", rec, [out], parents)])[0][name].id)

    p1 = made(f"{tag}.p1", "1", f"{tag}-r1", {})
    p2 = made(f"{tag}.p2", "2", f"{tag}-r1", {})
    child = made(f"{tag}.c", "same bytes", f"{tag}-r1", {"x": p1})
    assert made(f"{tag}.c", "same bytes", f"{tag}-r2", {"x": p2}) == child
    grandchild = made(f"{tag}.g", "g", f"{tag}-r3", {"c": child})
    edges, records = cat.descendants(p2)
    assert list(records) == [p2, child, grandchild]
    assert edges == {p2: [("x", child)], child: [("c", grandchild)], grandchild: []}
    assert (edges, records) == _walk_levels(filled, p2, None, up=False)
    assert set(cat.descendants(p1)[1]) == {p1, child, grandchild}
    assert cat.ancestry(child)[0] == {child: [("x", p1)], p1: []}


def test_the_walk_without_several_recursive_selects(filled: Filled,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite before 3.34 (one recursive SELECT over both edge tables, records fetched by
    a join) answers the same (the fallback's SQL runs on PostgreSQL too)."""
    from flowyml.catalog import sql

    roots = _sample_ids(filled)[:6]
    want = [(filled.cat.descendants(r, d), filled.cat.ancestry(r, d)) for r in roots for d in (None, 2)]
    monkeypatch.setattr(sql, "_walk_dialect", lambda conn: "sqlite-old")
    got = [(filled.cat.descendants(r, d), filled.cat.ancestry(r, d)) for r in roots for d in (None, 2)]
    assert got == want


def _levels_of(root: str, edges: dict[str, list[tuple[str, str]]]) -> dict[str, int]:
    level = {root: 0}
    order = [root]
    for node in order:
        for _, other in edges.get(node, []):
            if other not in level:
                level[other] = level[node] + 1
                order.append(other)
    return level


def test_get_lineage_sees_what_ancestry_sees(filled: Filled, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    stack = Stack(store=str(tmp_path / "objects"), catalog=filled.url, root=str(tmp_path))
    for root in (filled.probes["depth50"], filled.probes["ancestors"]):
        node = fm.get_lineage(root, stack)
        _, records = filled.cat.ancestry(root)
        assert {n.artifact.id for n in node.walk()} == set(records)
    clear_opened()


def test_asset_names_equal_a_full_group_by(filled: Filled) -> None:
    q = sa.text("SELECT name, COUNT(*), MAX(created_at) FROM artifacts GROUP BY name ORDER BY name")
    with filled.engine.connect() as conn:
        ref = [(r[0], int(r[1]), float(r[2])) for r in conn.execute(q)]
    assert filled.cat.asset_names() == ref


def test_latest_equals_the_walk_over_every_use(filled: Filled) -> None:
    """``name@latest`` from ``latest_outputs`` (one probe) is what reading every use
    of every version of the name says: the version the successful run that finished
    last used, else the newest."""
    names = [n for n, _, _ in filled.cat.asset_names()]
    for name in [*names[:: max(1, len(names) // 40)], filled.probes["name"]]:
        assert filled.cat.find(name).id == _walked_latest(filled, name), name


def _walked_latest(filled: Filled, name: str) -> str:
    q = sa.text(
        "SELECT a.id FROM artifacts a LEFT OUTER JOIN (SELECT u.artifact_id AS artifact_id, "
        "MAX(r.finished_at) AS t FROM artifact_uses u JOIN runs r ON r.id = u.run_id "
        "JOIN artifacts x ON x.id = u.artifact_id WHERE x.name = :name AND r.status = 'succeeded' "
        "GROUP BY u.artifact_id) done ON done.artifact_id = a.id WHERE a.name = :name "
        "ORDER BY CASE WHEN done.t IS NULL THEN 1 ELSE 0 END, done.t DESC, a.created_at DESC, "
        "a.version DESC LIMIT 1")
    with filled.engine.connect() as conn:
        return str(conn.execute(q, {"name": name}).scalar_one())


HASH_PREFIXES = ["0", "9", "a", "f", "ff", "fff", "a9", "9f", "af", "e0f", "00", "AB", "xyz",
                 "%", "_", "a_", "0%"]


def test_hash_prefix_ranges_find_exactly_what_like_found(filled: Filled) -> None:
    p = filled.probes
    full = filled.cat.find(p["name"], p["version"]).content_hash
    for prefix in [*HASH_PREFIXES, p["hash_prefix"], p["hash_prefix"][:3], full, full[:-1] + "f"]:
        got = [r.id for r in filled.cat.search(hash_prefix=prefix, limit=100_000)]
        assert got == _like_search(filled, hash_prefix=prefix), prefix
    assert [r.content_hash for r in filled.cat.search(hash_prefix=full)] == [full]


def test_name_search_finds_exactly_what_ilike_found(filled: Filled) -> None:
    for name in ("model", "MODEL", "deep.a5", "cont.", "_", "%", "a%b", "s_m", "nothing-like-it"):
        got = [r.id for r in filled.cat.search(name=name, limit=100_000)]
        assert got == _like_search(filled, name=name), name
    got = [r.id for r in filled.cat.search(name="model", hash_prefix="a", limit=50)]
    assert got == _like_search(filled, name="model", hash_prefix="a", limit=50)


def _like_search(filled: Filled, name: str | None = None, hash_prefix: str | None = None,
                 limit: int = 100_000) -> list[str]:
    """The search as it was: ILIKE on every name, LIKE on every hash."""
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    where, params = ["1 = 1"], {"limit": limit}
    if name:
        where.append("name ILIKE :name ESCAPE '\\'" if filled.engine.dialect.name == "postgresql"
                     else "lower(name) LIKE lower(:name) ESCAPE '\\'")
        params["name"] = f"%{esc(name)}%"
    if hash_prefix:
        where.append("content_hash LIKE :hash ESCAPE '\\'")
        params["hash"] = f"{esc(hash_prefix.lower())}%"
    q = sa.text(f"SELECT id FROM artifacts WHERE {' AND '.join(where)} "
                "ORDER BY name, version DESC LIMIT :limit")
    with filled.engine.connect() as conn:
        return [r[0] for r in conn.execute(q, params)]


def test_previous_steps_equal_the_grouped_query(filled: Filled) -> None:
    from flowyml.catalog.records import StepRecord, Write

    cat = filled.cat
    pipelines = {r.pipeline: r for r in reversed(cat.list_runs(RUNS))}
    last = pipelines[filled.probes["pipeline"]]
    steps = sorted(last.stats["graph"])
    # the newest record of one step fails: the one before it is the previous step
    failed = StepRecord(run_id="r-failed", pipeline=last.pipeline, step=steps[0], status="failed",
                        cache_key="k", reason="executed: test", code_version="c", started_at=1.0,
                        error="boom")
    cat.record_batch([Write("fail", failed)])
    for run in pipelines.values():
        names = [*sorted(run.stats["graph"]), "no-such-step"]
        got = cat.previous_steps(run.pipeline, names)
        assert got == _grouped_previous(filled, run.pipeline, names), run.pipeline
    assert cat.previous_steps(last.pipeline, [steps[0]])[steps[0]].status != "failed"
    assert cat.previous_steps(last.pipeline, []) == {}


def _grouped_previous(filled: Filled, pipeline: str, steps: list[str]) -> dict[str, Any]:
    """previous_steps as it was: the max id per step among the non-failed records."""
    from flowyml.catalog.runtime_sql import step_from

    q = sa.text("SELECT * FROM step_runs WHERE id IN (SELECT MAX(id) FROM step_runs WHERE "
                "pipeline = :pipeline AND step IN :steps AND status <> 'failed' GROUP BY step)")
    q = q.bindparams(sa.bindparam("steps", expanding=True))
    with filled.engine.connect() as conn:
        rows = conn.execute(q, {"pipeline": pipeline, "steps": steps})
        return {r.step: step_from(r._mapping) for r in rows}


# ---------------------------------------------------------------- query plans
BIG = {"artifacts", "step_runs", "lineage_edges", "artifact_uses", "cache_entries"}
ALIASES = {"x": "step_runs", "v": "artifacts", "n": "artifacts", "a": "artifacts", "e": "lineage_edges"}


def _plans(filled: Filled, fn: Callable[[], Any]) -> list[str]:
    """The plans of the SELECTs ``fn`` sends (every catalog statement goes through the
    driver: ``dbapi.Cursor``), as the database explains them."""
    got: list[tuple[str, Any]] = []
    original = dbapi.Cursor.run

    def run(cur: Any, statement: str, params: Any = None) -> Any:
        sql, values = dbapi.positional(statement, cur._db.dialect)
        if sql.lstrip()[:4].upper() in ("SELE", "WITH"):
            got.append((sql, values(params) if params else ()))
        return original(cur, statement, params)

    dbapi.Cursor.run = run  # type: ignore[method-assign]
    try:
        fn()
    finally:
        dbapi.Cursor.run = original  # type: ignore[method-assign]
    out = []
    with filled.engine.connect() as conn:
        for statement, params in got:
            if conn.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
                out.append("\n".join(r[3] for r in rows))
            else:
                import psycopg

                raw = conn.connection.driver_connection
                sql = psycopg.ClientCursor(raw).mogrify(statement, params).replace("%", "%%")
                out.append("\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql)))
    return out


def _full_scans(plan: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        hits = re.findall(r"^\s*SCAN (\w+)(.*)$", plan, re.M)
        return [f"SCAN {t}{rest}" for t, rest in hits if ALIASES.get(t, t) in BIG]
    return [m for m in re.findall(r"Seq Scan on (\w+)", plan) if m in BIG]


def _check_plans(filled: Filled) -> None:
    cat, p = filled.cat, filled.probes
    dialect = filled.engine.dialect.name
    steps = sorted(cat.list_runs(1, pipeline=p["pipeline"])[0].stats["graph"])
    # what -> (read, indexes it uses)
    hot: dict[str, tuple[Callable[[], Any], list[str]]] = {
        "name@latest": (lambda: cat.find(p["name"]), []),
        "name@version": (lambda: cat.find(p["name"], p["version"]), []),
        "name@alias": (lambda: cat.find(p["name"], "prod"), []),
        "asset_names": (cat.asset_names, ["ix_artifacts_name_created"]),
        "previous_steps": (lambda: cat.previous_steps(p["pipeline"], steps),
                           ["ix_step_runs_not_failed"]),
        "expected_hits": (lambda: cat.expected_hits(p["pipeline"], steps),
                          ["ix_step_runs_not_failed"]),
        "hash prefix": (lambda: cat.search(hash_prefix=p["hash_prefix"]),
                        ["ix_artifacts_content_hash"]),
        "name search": (lambda: cat.search(name="model"), []),
        "ancestry": (lambda: cat.ancestry(p["ancestors"]), []),
        "descendants": (lambda: cat.descendants(p["depth50"]), ["ix_lineage_edges_parent_id"]),
        "list_runs": (lambda: cat.list_runs(20), []),
        "list_runs of a pipeline": (lambda: cat.list_runs(200, pipeline=p["pipeline"]), []),
    }
    for what, (fn, indexes) in hot.items():
        plans = _plans(filled, fn)
        text = "\n".join(plans)
        assert plans, what
        assert not [s for pl in plans for s in _full_scans(pl, dialect)], f"{what}:\n{text}"
        for ix in indexes:
            assert ix in text, f"{what} does not use {ix}:\n{text}"
    if dialect == "sqlite":  # the range, not LIKE, bounds the hash index
        (plan,) = _plans(filled, lambda: cat.search(hash_prefix=p["hash_prefix"]))
        assert "content_hash>? AND content_hash<?" in plan
    # the next version of each name a run writes: one probe of (name, version) per name,
    # not a read of every version of those names (a run got slower with history)
    from flowyml.catalog.runtime_sql import _max_versions

    names = {p["name"], "model", "no-such-name"}
    got: dict[str, int] = {}

    def max_versions() -> None:
        with cat.db.read() as cur:
            got.update(_max_versions(cur, names))

    (plan,) = _plans(filled, max_versions)
    with filled.engine.connect() as conn:
        want = dict(conn.execute(sa.text(
            "SELECT name, MAX(version) FROM artifacts WHERE name IN :n GROUP BY name"
        ).bindparams(sa.bindparam("n", expanding=True)), {"n": sorted(names)}).all())
    assert got == want and "no-such-name" not in got
    if dialect == "sqlite":
        assert "CORRELATED SCALAR SUBQUERY" in plan and "(name=?)" in plan, plan
    else:
        assert "Backward" in plan, plan  # MAX by the index's last entry


def test_hot_queries_use_indexes(filled: Filled) -> None:
    _check_plans(filled)


def test_statistics(filled: Filled) -> None:
    """PostgreSQL: opening the bulk-filled catalog analyzed it (nothing else runs ANALYZE
    here: autovacuum's would be ``last_autoanalyze``); SQLite is never analyzed on its
    own. ``analyze()`` refreshes both, and the plans stay on their indexes."""

    with filled.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            analyzed = conn.execute(sa.text(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'artifacts' "
                "AND schemaname = current_schema()")).scalar()
            assert analyzed is not None
            assert filled.cat._stale_tables() == []
        else:
            assert not sa.inspect(conn).has_table("sqlite_stat1")
    filled.cat.analyze()
    _check_plans(filled)
