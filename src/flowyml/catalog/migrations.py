"""Numbered schema migrations for the SQL catalog (SQLite and PostgreSQL).

The schema version lives in ``flowyml_meta`` (``key = 'schema_version'``). A catalog
opened by this FlowyML is brought to ``LATEST`` by applying, in order, every migration
above its version, all in one transaction, and recording the new version in the same
transaction. Two processes that open an old catalog at once upgrade it once: the
transaction first takes a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory transaction
lock on PostgreSQL) and then re-reads the version. A catalog newer than ``LATEST`` is
refused with a ``CatalogError`` (upgrade FlowyML), never modified.

To change the schema: append ``(N, "what", function)`` to ``MIGRATIONS``, make the
tables in ``sql.py`` describe the result, and never edit a released migration. Version
1 is frozen here (``v1_metadata``) so an upgrade from the first schema stays testable.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..core.errors import CatalogError
from .dbapi import SCHEMA_KEY, SCHEMA_VERSION

ADVISORY_LOCK_KEY = 0x666C6F77796D6C  # "flowyml": PostgreSQL advisory lock for upgrades


def v1_metadata() -> sa.MetaData:
    """The first schema, exactly as FlowyML 0.1 created it (frozen: do not edit)."""
    md = sa.MetaData()
    _v1_run_tables(md)
    _v1_artifact_tables(md)
    return md


def _v1_run_tables(md: sa.MetaData) -> None:
    sa.Table(
        "flowyml_meta",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    sa.Table(
        "runs",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("pipeline", sa.String(200), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False, index=True),
        sa.Column("finished_at", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column("params", sa.Text, nullable=False, default="{}"),
        sa.Column("stats", sa.Text, nullable=False, default="{}"),
        sa.Column("host", sa.String(255), nullable=False, default=""),
        sa.Column("pid", sa.Integer, nullable=False, default=0),
        sa.Column("heartbeat", sa.Float),
    )
    sa.Table(
        "step_runs",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False, index=True),
        sa.Column("pipeline", sa.String(200), nullable=False),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("code_version", sa.String(64), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("vals", sa.Text, nullable=False),
        sa.Column("outputs", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, default=1),
        sa.Index("ix_step_runs_pipeline_step", "pipeline", "step", "id"),
    )


def _v1_artifact_tables(md: sa.MetaData) -> None:
    sa.Table(
        "artifacts",
        md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, index=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("materializer", sa.String(64), nullable=False),
        sa.Column("type_name", sa.String(200), nullable=False),
        sa.Column("meta", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False, index=True),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("code_version", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_artifacts_name_version"),
        sa.UniqueConstraint("name", "content_hash", name="uq_artifacts_name_hash"),
    )
    sa.Table(
        "lineage_edges",
        md,
        sa.Column("child_id", sa.String(64), primary_key=True),
        sa.Column("parent_id", sa.String(64), primary_key=True, index=True),
        sa.Column("param", sa.String(200), primary_key=True),
    )
    sa.Table(
        "artifact_uses",
        md,
        sa.Column("artifact_id", sa.String(64), nullable=False, index=True),
        sa.Column("run_id", sa.String(64), nullable=False, index=True),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
    )
    sa.Table(
        "cache_entries",
        md,
        sa.Column("cache_key", sa.String(64), primary_key=True),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("outputs", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    sa.Table(
        "aliases",
        md,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("alias", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def _m1_initial(conn: Connection) -> None:
    v1_metadata().create_all(conn, checkfirst=True)


def _m2_run_stack(conn: Connection) -> None:
    """``runs.stack``: the name of the stack a run used (a name, never a credential)."""
    conn.execute(sa.text("ALTER TABLE runs ADD COLUMN stack VARCHAR(200)"))


def _m3_scale_indexes(conn: Connection) -> None:
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
        conn.execute(sa.text(ddl))


def _m4_code_sources(conn: Connection) -> None:
    """The code of every code version, content-addressed: ``code_sources`` holds each
    distinct normalized source text once (by its BLAKE3); ``code_versions`` maps a code
    version to {fingerprint part: text digest}."""
    md = sa.MetaData()
    sa.Table(
        "code_sources",
        md,
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
    )
    sa.Table(
        "code_versions",
        md,
        sa.Column("code_version", sa.String(64), primary_key=True),
        sa.Column("parts", sa.Text, nullable=False),
    )
    md.create_all(conn, checkfirst=True)


def _m5_derivation_edges(conn: Connection) -> None:
    """``derivation_edges``: the lineage edges of every later production of an artifact
    (same bytes, another run), one set per producing run; ``lineage_edges`` keeps those
    of the first production (the default lineage). Nothing to backfill: earlier
    catalogs did not record later derivations."""
    md = sa.MetaData()
    sa.Table(
        "derivation_edges",
        md,
        sa.Column("child_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(64), primary_key=True, index=True),
        sa.Column("param", sa.String(200), primary_key=True),
        sa.Column("parent_id", sa.String(64), primary_key=True, index=True),
    )
    md.create_all(conn, checkfirst=True)


Migration = tuple[int, str, Callable[[Connection], None]]

MIGRATIONS: list[Migration] = [
    (1, "initial schema", _m1_initial),
    (2, "runs.stack: the stack each run used", _m2_run_stack),
    (3, "indexes for catalogs of millions of artifacts", _m3_scale_indexes),
    (4, "code_sources, code_versions: the code of every code version", _m4_code_sources),
    (5, "derivation_edges: lineage of every derivation, per run", _m5_derivation_edges),
]
LATEST = MIGRATIONS[-1][0]
if LATEST != SCHEMA_VERSION:  # a run checks the version without importing this module
    raise RuntimeError(f"dbapi.SCHEMA_VERSION is {SCHEMA_VERSION}: set it to {LATEST}")


def read_version(conn: Connection) -> int:
    """The catalog's schema version; 0 for an empty database."""
    if not sa.inspect(conn).has_table("flowyml_meta"):
        return 0
    row = conn.execute(
        sa.text("SELECT value FROM flowyml_meta WHERE key = :k"), {"k": SCHEMA_KEY}
    ).first()
    return 0 if row is None else int(row[0])


def upgrade(conn: Connection, display_url: str, target: int = LATEST) -> list[int]:
    """Bring the catalog on ``conn`` (inside a write transaction) to ``target``; returns
    the versions applied (empty when it was already there)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
    current = read_version(conn)
    if current > LATEST:
        raise CatalogError(
            f"catalog {display_url} has schema version {current}, newer than this FlowyML "
            f"understands ({LATEST}); upgrade flowyml (pip install -U flowyml-core)"
        )
    applied: list[int] = []
    for version, _what, fn in MIGRATIONS:
        if current < version <= target:
            fn(conn)
            applied.append(version)
    if applied:
        params = {"k": SCHEMA_KEY, "v": str(applied[-1])}
        if current == 0:
            conn.execute(sa.text("INSERT INTO flowyml_meta (key, value) VALUES (:k, :v)"), params)
        else:
            conn.execute(sa.text("UPDATE flowyml_meta SET value = :v WHERE key = :k"), params)
    return applied
