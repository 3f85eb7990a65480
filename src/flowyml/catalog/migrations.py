"""Numbered schema migrations for the SQL catalog (SQLite and PostgreSQL).

The schema version lives in ``flowyml_meta`` (``key = 'schema_version'``). A catalog
opened by this FlowyML is brought to ``LATEST`` by applying, in order, every migration
above its version, all in one transaction, and recording the new version in the same
transaction. Two processes that open an old catalog at once upgrade it once: the
transaction first takes a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory transaction
lock on PostgreSQL) and then re-reads the version. A catalog newer than ``LATEST`` is
refused with a ``CatalogError`` (upgrade FlowyML), never modified.

Migrations are plain SQL run through the driver (``dbapi.py``), one text for both
databases, so creating a catalog does not import SQLAlchemy either. To change the
schema: append ``(N, "what", function)`` to ``MIGRATIONS``, update the statements that
read and write the tables (``runtime_sql.py``, ``sql.py``) and the description of the
latest schema in ``tests/test_catalog_contract.py`` (``LATEST_COLUMNS``,
``LATEST_INDEXES``: a test compares a migrated catalog with it, and an upgraded one
with a fresh one), set ``dbapi.SCHEMA_VERSION``, and never edit a released migration.
Version 1 below is the DDL SQLAlchemy generated for FlowyML 0.1's tables on both
databases, frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.errors import CatalogError
from .dbapi import SCHEMA_KEY, SCHEMA_VERSION, Cursor, in_list, read_version

ADVISORY_LOCK_KEY = 0x666C6F77796D6C  # "flowyml": PostgreSQL advisory lock for upgrades

# FlowyML 0.1's schema (frozen: do not edit). {serial}: step_runs' generated id.
_V1 = (
    """CREATE TABLE IF NOT EXISTS flowyml_meta (
    "key" VARCHAR(64) NOT NULL, value TEXT NOT NULL, PRIMARY KEY ("key"))""",
    """CREATE TABLE IF NOT EXISTS runs (
    id VARCHAR(64) NOT NULL, pipeline VARCHAR(200) NOT NULL, status VARCHAR(16) NOT NULL,
    started_at FLOAT NOT NULL, finished_at FLOAT, error TEXT, params TEXT NOT NULL,
    stats TEXT NOT NULL, host VARCHAR(255) NOT NULL, pid INTEGER NOT NULL,
    heartbeat FLOAT, PRIMARY KEY (id))""",
    "CREATE INDEX IF NOT EXISTS ix_runs_pipeline ON runs (pipeline)",
    "CREATE INDEX IF NOT EXISTS ix_runs_started_at ON runs (started_at)",
    """CREATE TABLE IF NOT EXISTS step_runs (
    id {serial} NOT NULL, run_id VARCHAR(64) NOT NULL, pipeline VARCHAR(200) NOT NULL,
    step VARCHAR(200) NOT NULL, status VARCHAR(16) NOT NULL, cache_key VARCHAR(64) NOT NULL,
    reason TEXT NOT NULL, code_version VARCHAR(64) NOT NULL, started_at FLOAT NOT NULL,
    duration FLOAT NOT NULL, fingerprint TEXT NOT NULL, inputs TEXT NOT NULL,
    vals TEXT NOT NULL, outputs TEXT NOT NULL, error TEXT, attempts INTEGER NOT NULL,
    PRIMARY KEY (id))""",
    "CREATE INDEX IF NOT EXISTS ix_step_runs_pipeline_step ON step_runs (pipeline, step, id)",
    "CREATE INDEX IF NOT EXISTS ix_step_runs_run_id ON step_runs (run_id)",
    """CREATE TABLE IF NOT EXISTS artifacts (
    id VARCHAR(64) NOT NULL, name VARCHAR(200) NOT NULL, version INTEGER NOT NULL,
    content_hash VARCHAR(64) NOT NULL, size BIGINT NOT NULL,
    materializer VARCHAR(64) NOT NULL, type_name VARCHAR(200) NOT NULL, meta TEXT NOT NULL,
    run_id VARCHAR(64) NOT NULL, step VARCHAR(200) NOT NULL,
    code_version VARCHAR(64) NOT NULL, created_at FLOAT NOT NULL, PRIMARY KEY (id),
    CONSTRAINT uq_artifacts_name_version UNIQUE (name, version),
    CONSTRAINT uq_artifacts_name_hash UNIQUE (name, content_hash))""",
    "CREATE INDEX IF NOT EXISTS ix_artifacts_content_hash ON artifacts (content_hash)",
    "CREATE INDEX IF NOT EXISTS ix_artifacts_run_id ON artifacts (run_id)",
    """CREATE TABLE IF NOT EXISTS lineage_edges (
    child_id VARCHAR(64) NOT NULL, parent_id VARCHAR(64) NOT NULL,
    param VARCHAR(200) NOT NULL, PRIMARY KEY (child_id, parent_id, param))""",
    "CREATE INDEX IF NOT EXISTS ix_lineage_edges_parent_id ON lineage_edges (parent_id)",
    """CREATE TABLE IF NOT EXISTS artifact_uses (
    artifact_id VARCHAR(64) NOT NULL, run_id VARCHAR(64) NOT NULL,
    step VARCHAR(200) NOT NULL, role VARCHAR(16) NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ix_artifact_uses_artifact_id ON artifact_uses (artifact_id)",
    "CREATE INDEX IF NOT EXISTS ix_artifact_uses_run_id ON artifact_uses (run_id)",
    """CREATE TABLE IF NOT EXISTS cache_entries (
    cache_key VARCHAR(64) NOT NULL, step VARCHAR(200) NOT NULL, outputs TEXT NOT NULL,
    run_id VARCHAR(64) NOT NULL, created_at FLOAT NOT NULL, PRIMARY KEY (cache_key))""",
    """CREATE TABLE IF NOT EXISTS aliases (
    name VARCHAR(200) NOT NULL, alias VARCHAR(200) NOT NULL, version INTEGER NOT NULL,
    updated_at FLOAT NOT NULL, PRIMARY KEY (name, alias))""",
)


def _m1_initial(cur: Cursor) -> None:
    serial = "SERIAL" if cur.dialect == "postgresql" else "INTEGER"
    for ddl in _V1:
        cur.run(ddl.replace("{serial}", serial))


def _m2_run_stack(cur: Cursor) -> None:
    """``runs.stack``: the name of the stack a run used (a name, never a credential)."""
    cur.run("ALTER TABLE runs ADD COLUMN stack VARCHAR(200)")


def _m3_scale_indexes(cur: Cursor) -> None:
    """Indexes for catalogs of millions of rows (each query names its index in sql.py):
    ``(name, created_at)`` gives an asset's latest creation time in one probe; the steps
    that did not fail, by ``(pipeline, step, id)``, give a step's latest usable record in
    one probe whatever its history; ``(pipeline, started_at)`` lists a pipeline's latest
    runs without sorting them all."""
    for ddl in (
        "CREATE INDEX ix_artifacts_name_created ON artifacts (name, created_at)",
        "CREATE INDEX ix_step_runs_not_failed ON step_runs (pipeline, step, id) "
        "WHERE status <> 'failed'",
        "CREATE INDEX ix_runs_pipeline_started ON runs (pipeline, started_at)",
    ):
        cur.run(ddl)


def _m4_code_sources(cur: Cursor) -> None:
    """The code of every code version, content-addressed: ``code_sources`` holds each
    distinct normalized source text once (by its BLAKE3); ``code_versions`` maps a code
    version to {fingerprint part: text digest}."""
    cur.run("CREATE TABLE IF NOT EXISTS code_sources (digest VARCHAR(64) NOT NULL, "
            "text TEXT NOT NULL, PRIMARY KEY (digest))")
    cur.run("CREATE TABLE IF NOT EXISTS code_versions (code_version VARCHAR(64) NOT NULL, "
            "parts TEXT NOT NULL, PRIMARY KEY (code_version))")


def _m5_derivation_edges(cur: Cursor) -> None:
    """``derivation_edges``: the lineage edges of every later production of an artifact
    (same bytes, another run), one set per producing run; ``lineage_edges`` keeps those
    of the first production (the default lineage). Nothing to backfill: earlier
    catalogs did not record later derivations."""
    cur.run("CREATE TABLE IF NOT EXISTS derivation_edges (child_id VARCHAR(64) NOT NULL, "
            "run_id VARCHAR(64) NOT NULL, param VARCHAR(200) NOT NULL, "
            "parent_id VARCHAR(64) NOT NULL, PRIMARY KEY (child_id, run_id, param, parent_id))")
    cur.run("CREATE INDEX IF NOT EXISTS ix_derivation_edges_run_id "
            "ON derivation_edges (run_id)")
    cur.run("CREATE INDEX IF NOT EXISTS ix_derivation_edges_parent_id "
            "ON derivation_edges (parent_id)")


def _m6_latest_outputs(cur: Cursor) -> None:
    """``latest_outputs``: each asset name's ``@latest`` (the version the successful run
    that finished last output), kept by ``finish_run`` and repaired by ``prune``, so
    ``name@latest`` is one probe instead of a walk over every use of every version.
    Backfilled from the runs already recorded."""
    cur.run("CREATE TABLE IF NOT EXISTS latest_outputs (name VARCHAR(200) NOT NULL, "
            "artifact_id VARCHAR(64) NOT NULL, run_id VARCHAR(64) NOT NULL, "
            "finished_at FLOAT NOT NULL, PRIMARY KEY (name))")
    refresh_latest(cur.run)


def refresh_latest(run: Callable[[str, dict[str, Any]], Any],
                   names: Sequence[str] | None = None) -> None:
    """Recompute ``latest_outputs`` (for ``names``; every name by default) from the
    recorded runs: per name, the version used (produced or reused) by the successful
    run that finished last, ties to the newest version. ``run(sql, params)`` executes
    a statement (a driver cursor's ``run``). A name no
    successful run used has no row (``find`` then takes its newest version)."""
    where, params = "", dict[str, Any]()
    if names is not None:
        if not names:
            return
        marks, params = in_list("n", list(names))
        where = f" AND a.name IN {marks}"
        run(f"DELETE FROM latest_outputs WHERE name IN {marks}", params)
    run(
        "INSERT INTO latest_outputs (name, artifact_id, run_id, finished_at) "
        "SELECT name, artifact_id, run_id, finished_at FROM (SELECT a.name AS name, "
        "a.id AS artifact_id, r.id AS run_id, r.finished_at AS finished_at, ROW_NUMBER() "
        "OVER (PARTITION BY a.name ORDER BY r.finished_at DESC, a.created_at DESC, "
        "a.version DESC) AS rn FROM artifact_uses u JOIN runs r ON r.id = u.run_id "
        "JOIN artifacts a ON a.id = u.artifact_id WHERE r.status = 'succeeded' "
        f"AND r.finished_at IS NOT NULL{where}) t WHERE rn = 1",
        params,
    )


def _m7_inline_data(cur: Cursor) -> None:
    """``artifacts.data``: the bytes of a tiny object (``objects.INLINE_MAX``), kept in
    the row instead of one small file (or object-store request) per scalar; NULL for
    objects in the store. Still content-addressed: readers verify it against
    ``content_hash``."""
    kind = "BYTEA" if cur.dialect == "postgresql" else "BLOB"
    cur.run(f"ALTER TABLE artifacts ADD COLUMN data {kind}")


def _m8_cache_reads(cur: Cursor) -> None:
    """``cache_entries.reads``: the files the execution behind an entry opened for
    reading (JSON ``[[path, size, mtime_ns, blake3], ...]``, ``core.reads``), checked
    before the entry is reused; NULL when it read none, as every earlier entry is
    taken to have."""
    cur.run("ALTER TABLE cache_entries ADD COLUMN reads TEXT")


def _m9_step_reads(cur: Cursor) -> None:
    """``step_runs.reads``: the files each step execution read (as ``cache_entries.reads``;
    a reused step's row, those of the execution it reused), for lineage and ``diff``:
    the cache entry keeps only the newest execution's. NULL: none, or not recorded."""
    cur.run("ALTER TABLE step_runs ADD COLUMN reads TEXT")


def _m10_cache_effects(cur: Cursor) -> None:
    """``cache_entries.effects``: what the execution behind an entry left in process
    state that a reuse puts back (JSON ``{generator: state}``: the hidden random
    generators it seeded first, ``core.rng``); NULL: nothing."""
    cur.run("ALTER TABLE cache_entries ADD COLUMN effects TEXT")


def _m11_retired_versions(cur: Cursor) -> None:
    """``retired_versions``: per asset name, the highest version ``prune`` deleted. New
    versions are numbered above it as above the versions still there, so a number never
    names other bytes than it did (``name@3`` read in a report, a notebook or a
    pipeline's ``inputs``). Nothing to backfill: what earlier prunes deleted is gone."""
    cur.run("CREATE TABLE IF NOT EXISTS retired_versions (name VARCHAR(200) NOT NULL, "
            "version INTEGER NOT NULL, PRIMARY KEY (name))")


Migration = tuple[int, str, Callable[[Cursor], None]]

MIGRATIONS: list[Migration] = [
    (1, "initial schema", _m1_initial),
    (2, "runs.stack: the stack each run used", _m2_run_stack),
    (3, "indexes for catalogs of millions of artifacts", _m3_scale_indexes),
    (4, "code_sources, code_versions: the code of every code version", _m4_code_sources),
    (5, "derivation_edges: lineage of every derivation, per run", _m5_derivation_edges),
    (6, "latest_outputs: each name's @latest in one probe", _m6_latest_outputs),
    (7, "artifacts.data: tiny objects kept in the catalog", _m7_inline_data),
    (8, "cache_entries.reads: the files each cached execution read", _m8_cache_reads),
    (9, "step_runs.reads: the files each step execution read", _m9_step_reads),
    (10, "cache_entries.effects: random generators a reuse puts back", _m10_cache_effects),
    (11, "retired_versions: version numbers prune freed are never given again",
     _m11_retired_versions),
]
LATEST = MIGRATIONS[-1][0]
if LATEST != SCHEMA_VERSION:  # a run checks the version without importing this module
    raise RuntimeError(f"dbapi.SCHEMA_VERSION is {SCHEMA_VERSION}: set it to {LATEST}")


def upgrade(cur: Cursor, display_url: str, target: int = LATEST) -> list[int]:
    """Bring the catalog (``cur`` is inside a write transaction) to ``target``; returns
    the versions applied (empty when it was already there)."""
    if cur.dialect == "postgresql":
        cur.run("SELECT pg_advisory_xact_lock(:k)", {"k": ADVISORY_LOCK_KEY})
    current = read_version(cur)
    if current > LATEST:
        raise CatalogError(
            f"catalog {display_url} has schema version {current}, newer than this FlowyML "
            f"understands ({LATEST}); upgrade flowyml (pip install -U flowyml-core)"
        )
    applied: list[int] = []
    for version, _what, fn in MIGRATIONS:
        if current < version <= target:
            fn(cur)
            applied.append(version)
    if applied:
        params = {"k": SCHEMA_KEY, "v": str(applied[-1])}
        if current == 0:
            cur.run('INSERT INTO flowyml_meta ("key", value) VALUES (:k, :v)', params)
        else:
            cur.run('UPDATE flowyml_meta SET value = :v WHERE "key" = :k', params)
    return applied
