#!/usr/bin/env python
"""Catalog at scale: FlowyML's reads on an empty and on a filled catalog (1,000,000
artifacts from 100,000 runs), on SQLite and on PostgreSQL, with the query plans of the
hot queries.

    .venv/bin/python benchmarks/catalog_scale.py                       # both, full scale
    .venv/bin/python benchmarks/catalog_scale.py --backends sqlite --artifacts 20000 --runs 2000
    .venv/bin/python benchmarks/catalog_scale.py --filled-sqlite big.db --fill-report big.json \
        --label after --backends sqlite
    .venv/bin/python benchmarks/catalog_scale.py --markdown-only    # re-render RESULTS.md

The filled catalog comes from ``scripts/fill_catalog.py`` (or ``--filled-sqlite`` /
``--filled-postgres``: a filled catalog to copy, e.g. one filled by an older FlowyML, so
opening it also measures the upgrade). PostgreSQL is a throwaway cluster started the way
the tests start theirs (``tests/servers.py``), unless ``--postgres-url`` names a server.
Each backend gets, on the empty and on the filled catalog:

- lookups through ``fm.Catalog``: ``name@version``, ``name@latest``, ``name@prod``;
- ``fm.get_lineage`` of an artifact 50 levels deep and of one with 5,000 ancestors (on
  the empty catalog: the chain's ``a50`` and ``a199``), and the catalog's one-query
  ``ancestry`` of the same (when this FlowyML has it);
- ``Catalog.names()``, ``previous_steps`` of the longest pipeline, a hash-prefix search;
- the commands ``flowyml artifacts`` and ``flowyml runs`` (whole processes), and the web
  page's front page (``GET /``, the first request and warm ones, in process);
- a 200-step chain (``a_i = a_(i-1) + 1``): its first run, then cached reruns in a fresh
  process (the first one, which opens the catalog, and the median of the next four).

Every figure is a median over repetitions. The hot queries are captured as the catalog
sends them and explained (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN``); a plan
that scans a whole catalog table is flagged. Results go to ``--json`` (merged by
``--label``) and to a section of ``benchmarks/RESULTS.md`` (between markers; every label
in the JSON is shown side by side).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work" / "catalog_scale"
RESULTS_MD = BENCH / "RESULTS.md"
JSON_OUT = BENCH / "catalog_scale.json"
START, END = "<!-- catalog-scale:start -->", "<!-- catalog-scale:end -->"
CHAIN = 200
NA, TIMES = "\u2013", "\u00d7"
# the tables the generated history fills (``aliases`` holds a few rows per asset, and
# ``derivation_edges`` none: scanning those is the right plan)
TABLES = ("runs", "step_runs", "artifacts", "lineage_edges", "artifact_uses", "cache_entries")
TARGETS = {  # metric -> (seconds, what)
    "lookup_version": (0.010, "≤ 10 ms"),
    "lookup_latest": (0.010, "≤ 10 ms"),
    "lookup_alias": (0.010, "≤ 10 ms"),
    "lineage_depth50": (0.010, "≤ 10 ms"),
    "ancestry_depth50": (0.010, "≤ 10 ms"),
    "cli_runs": (0.2, "≤ 0.2 s"),
    "front_page_warm": (0.2, "≤ 0.2 s"),
}
LABELS = {
    "lookup_version": "`name@version` (Catalog.get)",
    "lookup_latest": "`name@latest`",
    "lookup_alias": "`name@prod` (an alias)",
    "lineage_depth50": "`get_lineage`, 50 levels deep",
    "lineage_wide": "`get_lineage`, 5,000 ancestors (empty: 199)",
    "ancestry_depth50": "`ancestry()` (one query), 50 levels",
    "ancestry_wide": "`ancestry()`, 5,000 ancestors (empty: 199)",
    "names": "`Catalog.names()`",
    "previous_steps": "`previous_steps` of the longest pipeline",
    "hash_prefix": "hash-prefix search (5 hex digits)",
    "name_search": "name search (`model`, 200 results)",
    "cli_artifacts": "`flowyml artifacts` (whole process)",
    "cli_runs": "`flowyml runs` (whole process)",
    "cli_help": "`flowyml --help` (CLI start-up alone)",
    "runs_inproc": "`flowyml runs`'s reads, in process (20 runs + their steps)",
    "front_page_first": "front page `GET /`, first request",
    "front_page_warm": "front page `GET /`, warm",
    "chain_first_run": "200-step chain, first run (in process)",
    "rerun_first": "200-step chain, cached rerun: first in a fresh process",
    "rerun_warm": "200-step chain, cached rerun: warm",
    "open_upgrade": "first open of the filled catalog (migrations + statistics)",
}


def median_time(fn: Callable[[], Any], reps: int, warm: int = 1) -> float:
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def env_for(project: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWYML_")}
    env.update(FLOWYML_ROOT=str(project), FLOWYML_CATALOG=url,
               FLOWYML_STORE=str(project / ".flowyml" / "objects"), PYTHONWARNINGS="ignore")
    return env


def wall(argv: list[str], env: dict[str, str], cwd: Path, reps: int = 3) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        res = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                             timeout=600)
        times.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise RuntimeError(f"{argv} failed:\n{res.stdout}\n{res.stderr}")
    return statistics.median(times)


# ---------------------------------------------------------------- the 200-step chain
def chain_source(n: int = CHAIN) -> str:
    lines = ['"""A 200-step chain: a_i = a_(i-1) + 1."""', "import flowyml as fm", "",
             '@fm.step(outputs="a0")', "def s0():", "    return 0", ""]
    for i in range(1, n):
        lines += [f'@fm.step(outputs="a{i}")', f"def s{i}(a{i - 1}):",
                  f"    return a{i - 1} + 1", ""]
    lines.append("STEPS = [" + ", ".join(f"s{i}" for i in range(n)) + "]")
    return "\n".join(lines) + "\n"


CHAIN_RUNNER = """
import json, statistics, sys, time
import flowyml as fm
import chain_steps
pipe = fm.Pipeline("chain200", chain_steps.STEPS)
out = {}
if sys.argv[1] == "first":
    t = time.perf_counter()
    run = pipe.run()
    out["chain_first_run"] = time.perf_counter() - t
    assert not any(s.cached for s in run.steps.values())
else:
    times = []
    for _ in range(5):
        t = time.perf_counter()
        run = pipe.run()
        times.append(time.perf_counter() - t)
        assert all(s.cached for s in run.steps.values()), "a step was not reused"
    out["rerun_first"] = times[0]
    out["rerun_warm"] = statistics.median(times[1:])
print("RESULT " + json.dumps(out))
"""


def run_chain(project: Path, url: str, mode: str) -> dict[str, float]:
    (project / "chain_steps.py").write_text(chain_source())
    res = subprocess.run([sys.executable, "-c", CHAIN_RUNNER, mode], cwd=project,
                         env=env_for(project, url), capture_output=True, text=True,
                         timeout=900)
    line = [x for x in res.stdout.splitlines() if x.startswith("RESULT ")]
    if res.returncode != 0 or not line:
        raise RuntimeError(f"chain {mode} failed:\n{res.stdout}\n{res.stderr}")
    return dict(json.loads(line[-1][len("RESULT "):]))


# ---------------------------------------------------------------- the web page
def asgi_get(app: Any, path: str) -> tuple[int, bytes]:
    """``GET path`` on an ASGI app, in process (no server, no HTTP client)."""
    status: list[int] = []
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            status.append(msg["status"])
        elif msg["type"] == "http.response.body":
            body.append(msg.get("body", b""))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": [(b"host", b"127.0.0.1")],
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 40000)}
    asyncio.run(app(scope, receive, send))
    return status[0], b"".join(body)


# ---------------------------------------------------------------- query plans
@contextmanager
def captured() -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements (and their parameters) the catalog sends meanwhile (all of
    them go to the driver through ``dbapi.Cursor``), as the driver gets them: positional
    marks and a tuple of values."""
    from flowyml.catalog import dbapi

    got: list[tuple[str, Any]] = []
    original = dbapi.Cursor.run

    def run(cur: Any, statement: str, params: Any = None) -> Any:
        sql, values = dbapi.positional(statement, cur._db.dialect)
        if sql.lstrip()[:4].upper() in ("SELE", "WITH"):
            got.append((sql, values(params) if params else ()))
        return original(cur, statement, params)

    dbapi.Cursor.run = run  # type: ignore[method-assign]
    try:
        yield got
    finally:
        dbapi.Cursor.run = original  # type: ignore[method-assign]


def explain(engine: Any, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = list(conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            depth: dict[int, int] = {0: -1}
            out = []
            for node, parent, _, detail in rows:
                depth[node] = depth.get(parent, -1) + 1
                out.append("  " * depth[node] + detail)
            return out
        import psycopg

        raw = conn.connection.driver_connection
        literal = psycopg.ClientCursor(raw).mogrify(statement, parameters)
        return [r[0] for r in conn.exec_driver_sql("EXPLAIN " + literal.replace("%", "%%"))]


_CTES = {"s", "w", "reached", "names", "CONSTANT"}


def full_scans(plan: list[str], dialect: str, statement: str) -> list[str]:
    """The plan lines that read a whole catalog table or index (an index read in order
    and stopped by the statement's LIMIT is not one)."""
    bad = []
    # (``ORDER BY x LIMIT n`` without a WHERE reads n entries of x's index)
    limited = re.search(r"\bLIMIT\b", statement, re.I) and not re.search(
        r"\bWHERE\b", statement, re.I)
    for line in plan:
        text = line.strip()
        if dialect == "sqlite":
            m = re.match(r"SCAN (\w+)", text)
            if not m or m.group(1) in _CTES or m.group(1)[0].isdigit():
                continue
            if not (limited and "USING" in text):
                bad.append(text)
        else:
            m = re.search(r"Seq Scan on (\w+)", text)
            if m and m.group(1) in TABLES:
                bad.append(text)
    return bad


def hot_queries(db: Any, probes: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """The reads to explain, by what they serve."""
    name, pipeline = probes["name"], probes["pipeline"]
    last = db.list_runs(1, pipeline=pipeline)
    steps = sorted(last[0].stats.get("graph", {})) if last else []
    run_id = last[0].id if last else ""
    keys = [s.cache_key for s in db.step_runs(run_id)] if run_id else []
    ops: dict[str, Callable[[], Any]] = {
        "find name@version": lambda: db.find(name, probes["version"]),
        "find name@latest": lambda: db.find(name),
        "find name@prod": lambda: db.find(name, probes["alias"]),
        "asset_names": db.asset_names,
        "previous_steps": lambda: db.previous_steps(pipeline, steps),
        "lookup_cache_many": lambda: db.lookup_cache_many(keys),
        "search hash prefix": lambda: db.search(hash_prefix=probes["hash_prefix"]),
        "list_runs": lambda: db.list_runs(20),
        "list_runs of a pipeline": lambda: db.list_runs(200, pipeline=pipeline),
        "step_runs of a run": lambda: db.step_runs(run_id),
        "parents_of (one level)": lambda: db.parents_of([probes["depth50"]]),
    }
    if hasattr(db, "ancestry"):
        ops["ancestry"] = lambda: db.ancestry(probes["depth50"])
        ops["descendants"] = lambda: db.descendants(probes["depth50"])
    return ops


def query_plans(db: Any, probes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    import sqlalchemy as sa  # the benchmark's own connection explains (the catalog has none)

    out: dict[str, dict[str, Any]] = {}
    engine = sa.create_engine(db.url)
    try:
        dialect = engine.dialect.name
        for what, fn in hot_queries(db, probes).items():
            with captured() as got:
                fn()
            plans = [(explain(engine, st, params), st) for st, params in got]
            lines = [ln for p, _ in plans for ln in (*p, "")][:-1]
            scans = [b for p, st in plans for b in full_scans(p, dialect, st)]
            out[what] = {"plan": lines, "full_scans": scans}
    finally:
        engine.dispose()
    return out


# ---------------------------------------------------------------- measurements
def measure_reads(project: Path, url: str, probes: dict[str, Any], reps: int) -> dict[str, Any]:
    """In process, through the public API, as the CLI and the web page read."""
    import flowyml as fm
    from flowyml.stack import Stack, clear_opened
    from flowyml.ui.app import create_app

    clear_opened()
    stack = Stack(store=str(project / ".flowyml" / "objects"), catalog=url,
                  root=str(project)).resolve()
    cat = fm.Catalog(stack)
    db = cat.reader
    name, version, alias = probes["name"], probes["version"], probes["alias"]
    few = max(3, reps // 4)
    out: dict[str, Any] = {
        "lookup_version": median_time(lambda: cat.get(name, version), reps),
        "lookup_latest": median_time(lambda: cat.get(name), reps),
        "lookup_alias": median_time(lambda: cat.get(name, alias), reps),
        "lineage_depth50": median_time(lambda: fm.get_lineage(probes["depth50"], stack), reps),
        "lineage_wide": median_time(lambda: fm.get_lineage(probes["ancestors"], stack), few),
        "names": median_time(cat.names, few),
        "hash_prefix": median_time(lambda: db.search(hash_prefix=probes["hash_prefix"]), reps),
        "name_search": median_time(lambda: db.search(name="model"), few),
    }
    if hasattr(db, "ancestry"):
        out["ancestry_depth50"] = median_time(lambda: db.ancestry(probes["depth50"]), reps)
        out["ancestry_wide"] = median_time(lambda: db.ancestry(probes["ancestors"]), few)
    last = db.list_runs(1, pipeline=probes["pipeline"])
    steps = sorted(last[0].stats.get("graph", {})) if last else []
    out["previous_steps"] = median_time(
        lambda: db.previous_steps(probes["pipeline"], steps), reps)
    out["runs_inproc"] = median_time(
        lambda: [cat.steps(r.id) for r in cat.runs(limit=20)], few)
    out["n_ancestors"] = len(fm.get_lineage(probes["ancestors"], stack).walk()) - 1
    app = create_app(stack)
    t0 = time.perf_counter()
    status, _ = asgi_get(app, "/")
    out["front_page_first"] = time.perf_counter() - t0
    assert status == 200, status
    out["front_page_warm"] = median_time(lambda: asgi_get(app, "/"), few, warm=0)
    clear_opened()
    return out


def measure_cli(project: Path, url: str) -> dict[str, float]:
    exe = str(Path(sys.executable).parent / "flowyml")
    env = env_for(project, url)
    return {
        "cli_help": wall([exe, "--help"], env, project),
        "cli_runs": wall([exe, "runs"], env, project),
        "cli_artifacts": wall([exe, "artifacts"], env, project),
    }


def prepare(project: Path, url: str, probes: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A project on the catalog, with the chain's first run; ``probes`` None (the empty
    catalog): probe the chain itself."""
    import flowyml as fm
    from flowyml.stack import Stack, clear_opened

    project.mkdir(parents=True, exist_ok=True)
    (project / "flowyml.toml").write_text("")
    out = run_chain(project, url, "first")
    if probes is None:
        clear_opened()
        cat = fm.Catalog(Stack(store=str(project / ".flowyml" / "objects"), catalog=url,
                               root=str(project)).resolve())
        cat.tag("a100", 1, "prod")
        probes = {"name": "a100", "version": 1, "alias": "prod", "pipeline": "chain200",
                  "depth50": cat.get("a50").id, "ancestors": cat.get(f"a{CHAIN - 1}").id,
                  "hash_prefix": cat.get("a100").content_hash[:5]}
        clear_opened()
    return out, probes


# ---------------------------------------------------------------- backends
class Postgres:
    """A server: the one at ``--postgres-url``, or a throwaway cluster (tests/servers.py)."""

    def __init__(self, url: str | None, tmp: Path) -> None:
        self.handle = None
        if url is None:
            sys.path.insert(0, str(REPO))
            from tests.servers import start_postgres

            self.handle = start_postgres(tmp)
            url = self.handle.url
        self.url = url

    def admin(self, sql: str) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self._db_url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(sql)
        finally:
            engine.dispose()

    def _db_url(self, db: str) -> str:
        import sqlalchemy as sa

        return sa.engine.make_url(self.url).set(database=db).render_as_string(False)

    def new_db(self, name: str, template: str | None = None) -> str:
        self.admin(f'DROP DATABASE IF EXISTS "{name}"')
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self._db_url(name)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()


def load_fill() -> Any:
    sys.path.insert(0, str(REPO / "scripts"))
    import fill_catalog

    return fill_catalog


def filled_catalog(kind: str, args: argparse.Namespace, pg: Postgres | None,
                   work: Path) -> tuple[str, dict[str, Any]]:
    """The filled catalog's URL (a copy of ``--filled-*``, or filled now) and the report."""
    report = json.loads(Path(args.fill_report).read_text()) if args.fill_report else None
    if kind == "sqlite" and args.filled_sqlite:
        dst = work / "filled.db"
        for suffix in ("", "-wal"):
            src = Path(args.filled_sqlite + suffix)
            if src.exists():
                shutil.copyfile(src, str(dst) + suffix)
        url = f"sqlite:///{dst}"
    elif kind == "postgres" and args.filled_postgres:
        assert pg is not None
        url = pg.new_db(f"filled_{args.label}", template=args.filled_postgres)
    else:
        url = f"sqlite:///{work / 'filled.db'}" if pg is None else pg.new_db(
            f"filled_{args.label}")
        t0 = time.perf_counter()
        report = load_fill().fill(url, args.artifacts, args.runs, seed=args.seed,
                                  log=lambda m: print(f"  fill {kind}: {m}", flush=True))
        report["fill_wall_seconds"] = round(time.perf_counter() - t0, 1)
    if report is None:
        raise SystemExit("--filled-* needs --fill-report (the JSON fill_catalog.py printed)")
    return url, report


def bench_backend(kind: str, args: argparse.Namespace, pg: Postgres | None) -> dict[str, Any]:
    from flowyml.catalog.sql import SqlCatalog

    work = WORK / args.label / kind
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = lambda m: print(f"[{kind}] {m}", flush=True)  # noqa: E731
    urls = {"empty": f"sqlite:///{work / 'empty.db'}" if pg is None else pg.new_db(
        f"empty_{args.label}")}
    urls["filled"], report = filled_catalog(kind, args, pg, work)
    log("filled catalog: first open")
    t0 = time.perf_counter()
    SqlCatalog(urls["filled"]).close()
    res: dict[str, dict[str, Any]] = {"empty": {}, "filled": {"open_upgrade": time.perf_counter() - t0}}
    probes: dict[str, dict[str, Any]] = {}
    for which in ("empty", "filled"):
        log(f"{which}: the chain's first run")
        first, probes[which] = prepare(work / which, urls[which],
                                       report["probes"] if which == "filled" else None)
        res[which].update(first)
    reruns: dict[str, list[dict[str, float]]] = {"empty": [], "filled": []}
    for _ in range(args.rerun_rounds):  # interleaved: the machine's load hits both alike
        for which in ("empty", "filled"):
            reruns[which].append(run_chain(work / which, urls[which], "rerun"))
    for which in ("empty", "filled"):
        for metric in ("rerun_first", "rerun_warm"):
            res[which][metric] = statistics.median(r[metric] for r in reruns[which])
        log(f"{which}: reads")
        res[which].update(measure_reads(work / which, urls[which], probes[which], args.reps))
        res[which].update(measure_cli(work / which, urls[which]))
    db = SqlCatalog(urls["filled"])
    try:
        plans = query_plans(db, report["probes"])
    finally:
        db.close()
    return {**res, "fill": report, "plans": plans, "reruns": reruns}


# ---------------------------------------------------------------- report
def fmt(v: Any) -> str:
    if not isinstance(v, (int, float)):
        return NA
    return f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"


def markdown(data: dict[str, Any]) -> str:
    labels = list(data)
    latest = data[labels[-1]]
    when = ", ".join(f"{k}: {v['_meta']['when']}" for k, v in data.items())
    out = [START, "## Catalog at scale (SQLite and PostgreSQL)", "",
           f"Generated by `benchmarks/catalog_scale.py` ({when}). The filled catalog: "
           "`scripts/fill_catalog.py`, " + _fill_text(latest) + " Medians; *empty* is a "
           "new catalog holding only the 200-step chain (whose `a50`/`a199` stand for the "
           f"deep lineages). The cached rerun must stay within 1.5{TIMES} of the empty "
           "catalog's.", ""]
    for kind in ("sqlite", "postgres"):
        if not any(kind in d for d in data.values()):
            continue
        out += [f"### {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}", ""]
        head = ["What"] + [f"{lab} {c}" for lab in labels if kind in data[lab]
                           for c in ("empty", "filled")] + ["Target", "Met (filled)"]
        out += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for metric, label in LABELS.items():
            row = [label]
            for lab in labels:
                if kind in data[lab]:
                    row += [fmt(data[lab][kind]["empty"].get(metric)),
                            fmt(data[lab][kind]["filled"].get(metric))]
            row += _target(metric, latest.get(kind))
            out.append("| " + " | ".join(row) + " |")
        out += ["", *_plans_md(data, kind), ""]
    notes = [*NOTES, *(n for v in data.values() for n in v.get("_meta", {}).get("notes", []))]
    out += ["Notes:", "", *[f"- {n}" for n in notes], ""]
    return "\n".join([*out, END])


def _fill_text(latest: dict[str, Any]) -> str:
    parts = []
    for kind in ("sqlite", "postgres"):
        if kind in latest:
            f = latest[kind]["fill"]
            c = f["counts"]
            secs = f.get("fill_wall_seconds", f.get("fill_seconds"))
            parts.append(f"{kind}: {c['artifacts']:,} artifacts, {c['runs']:,} runs, "
                         f"{c['step_runs']:,} step records, {c['lineage_edges']:,} lineage "
                         f"edges, bulk-filled (schema 2) in {secs} s")
    return "; ".join(parts) + "."


def _target(metric: str, res: dict[str, Any] | None) -> list[str]:
    if res is None:
        return ["", ""]
    if metric == "rerun_warm":
        ratio = res["filled"]["rerun_warm"] / res["empty"]["rerun_warm"]
        met = "yes" if ratio <= 1.5 else "**no**"
        return [f"\u2264 1.5{TIMES} empty", f"{met} ({ratio:.2f}{TIMES})"]
    if metric in TARGETS:
        limit, text = TARGETS[metric]
        v = res["filled"].get(metric)
        return [text, NA if v is None else ("yes" if v <= limit else "**no**")]
    return ["", ""]


def _plans_md(data: dict[str, Any], kind: str) -> list[str]:
    """Which reads scanned a whole table, per label; the latest label's plans in full."""
    how = "EXPLAIN QUERY PLAN" if kind == "sqlite" else "EXPLAIN"
    out = [f"Full scans of a catalog table in the filled catalog's query plans (`{how}` of "
           "the statements the catalog sent):", ""]
    for label, res in data.items():
        if kind in res:
            scans = sorted(k for k, v in res[kind]["plans"].items() if v["full_scans"])
            out.append(f"- {label}: " + (", ".join(f"**{s}**" for s in scans) or "none"))
    latest = [res[kind] for res in data.values() if kind in res][-1]
    out += ["", f"<details><summary>{how}, {list(data)[-1]}</summary>", "", "```"]
    for what, p in latest["plans"].items():
        out.append(f"-- {what}")
        out += [f"   {ln}" for ln in p["plan"]]
    return [*out, "```", "", "</details>"]


NOTES = [
    "The machine (2 cores) ran other test suites meanwhile (load average 2-4): compare "
    "columns of one label, and labels only roughly.",
    "*before*: FlowyML at commit 7804867, where these changes start; *after*: "
    "the working tree, other sessions' changes included. The filled catalogs were filled "
    "by *before* (schema 2); *after*'s first open upgrades them (migrations 3-5: the "
    "indexes of migration 3 are most of that time, once).",
    "`get_lineage` still walks level by level (two queries per level); "
    "`CatalogReader.ancestry()` is the one-query walk it can switch to.",
    "`name@latest` in *after* is one probe of `latest_outputs` (schema 6: each name's "
    "version the last successful run output, kept by `finish_run`); *before* read every "
    "use of every version of the name.",
    "`flowyml runs` as a whole process is the interpreter and its imports (the driver: "
    "sqlite3 or psycopg) plus its reads (the *in process* row); the front page reads the "
    "step records of its 50 runs (here 200-step chains), whatever the catalog's size.",
]
def write_results(data: dict[str, Any]) -> None:
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
    section = markdown(data)
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS_MD.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--artifacts", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--rerun-rounds", type=int, default=3,
                    help="fresh processes of cached reruns, per catalog (interleaved)")
    ap.add_argument("--label", default="after", help="this FlowyML's column (e.g. before)")
    ap.add_argument("--filled-sqlite", help="a filled SQLite catalog to copy")
    ap.add_argument("--filled-postgres", help="a filled database on --postgres-url to clone")
    ap.add_argument("--fill-report", help="the JSON report fill_catalog.py printed for it")
    ap.add_argument("--postgres-url", help="a server to use (default: start one)")
    ap.add_argument("--json", default=str(JSON_OUT))
    ap.add_argument("--no-markdown", action="store_true")
    ap.add_argument("--replan", action="store_true",
                    help="only explain the hot queries again, on this label's filled catalogs")
    ap.add_argument("--note", action="append", default=[],
                    help="a note for RESULTS.md, kept with this label (repeatable)")
    ap.add_argument("--markdown-only", action="store_true",
                    help="only render --json into RESULTS.md's section again")
    args = ap.parse_args(argv)
    data = json.loads(Path(args.json).read_text()) if Path(args.json).exists() else {}
    if args.note:
        data.setdefault(args.label, {}).setdefault("_meta", {})["notes"] = args.note
        Path(args.json).write_text(json.dumps(data, indent=1, default=str))
    if args.markdown_only:
        write_results(data)
        return 0
    import flowyml

    mine = data.setdefault(args.label, {})  # (other backends' results stay)
    if not args.replan:
        mine.setdefault("_meta", {}).update({
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "flowyml": str(Path(flowyml.__file__).parent), "python": platform.python_version(),
            "machine": f"{os.cpu_count()} cores, {platform.platform()}",
            "load_before": os.getloadavg()})
    kinds = [k.strip() for k in args.backends.split(",") if k.strip()]
    pg = Postgres(args.postgres_url, Path(tempfile.mkdtemp(prefix="catalog-scale-"))) \
        if "postgres" in kinds else None
    try:
        for kind in kinds:
            if args.replan:
                replan(kind, args, mine, pg)
                continue
            mine[kind] = bench_backend(kind, args, pg if kind == "postgres" else None)
            Path(args.json).write_text(json.dumps(data, indent=1, default=str))
            _print(kind, mine[kind])
    finally:
        if pg is not None:
            pg.stop()
    if not args.replan:
        mine["_meta"]["load_after"] = os.getloadavg()
    Path(args.json).write_text(json.dumps(data, indent=1, default=str))
    if not args.no_markdown:
        write_results(data)
    return 0


def replan(kind: str, args: argparse.Namespace, mine: dict[str, Any], pg: Postgres | None) -> None:
    from flowyml.catalog.sql import SqlCatalog

    url = f"sqlite:///{WORK / args.label / kind / 'filled.db'}" if kind == "sqlite" else (
        pg._db_url(f"filled_{args.label}") if pg else "")
    db = SqlCatalog(url)
    try:
        mine[kind]["plans"] = query_plans(db, mine[kind]["fill"]["probes"])
    finally:
        db.close()


def _print(kind: str, res: dict[str, Any]) -> None:
    print(f"\n{kind}: {'metric':60} {'empty':>10} {'filled':>10}")
    for metric, label in LABELS.items():
        print(f"  {label:66} {fmt(res['empty'].get(metric)):>10} "
              f"{fmt(res['filled'].get(metric)):>10}")
    for what, p in res["plans"].items():
        print(f"  plan {what}: " + ("; ".join(p["full_scans"]) or "indexes only"))


if __name__ == "__main__":
    sys.exit(main())
