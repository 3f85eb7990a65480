"""The catalog on SQLAlchemy Core: SQLite (default) and PostgreSQL.

Writes happen in one transaction per step. On SQLite every write transaction is
``BEGIN IMMEDIATE`` (the lock is taken up front, so two writers never deadlock on an
upgrade) in WAL mode with a busy timeout; on PostgreSQL a transaction-scoped advisory
lock per asset name serializes version assignment. On both, a unique constraint on
``(name, version)`` plus a retry makes concurrent version assignment safe. Conflicts
(a lock, a unique violation) are retried after an exponential, jittered, capped backoff.

``SqlCatalog`` implements both interfaces of ``base.py`` (``RuntimeCatalog`` and
``CatalogReader``); the status of a run still marked running is decided by
``liveness.py``.

The schema is created on first use and upgraded by the numbered migrations in
``migrations.py`` (one transaction, guarded so concurrent openers upgrade once); the
tables below describe the latest version.

At scale (millions of artifacts) every read the CLI, the web page and a run make is an
index probe, never a scan: asset names by a loose index scan, a step's latest usable
record through a partial index, hash prefixes as ranges, and lineage as one recursive
query (``ancestry``/``descendants``). PostgreSQL plans them well only with statistics,
and a bulk-loaded or restored catalog has none until autovacuum gets to it (never, if it
is off): so opening a PostgreSQL catalog (also right after a migration) runs ``ANALYZE``
on the catalog tables whose statistics are missing or far behind (``_stale_tables``),
and ``analyze()`` does it on request. SQLite is never analyzed automatically: its
planner picks these indexes without statistics, and a stale ``sqlite_stat1`` could only
mislead it.
"""

from __future__ import annotations

import functools
import json
import os
import random
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY as pg_array
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from ..core.errors import ArtifactNotFoundError, CatalogError
from ..core.hashing import hash_bytes
from ..core.secrets import redact
from . import liveness, migrations
from .base import CatalogSnapshot, Deletion, Derivation
from .records import (
    ArtifactRecord,
    CodeVersion,
    NewOutput,
    RunRecord,
    StepRecord,
    Write,
    artifact_id,
)

if TYPE_CHECKING:
    from .base import CatalogReader, RetentionCatalog, RuntimeCatalog

T = TypeVar("T")
SCHEMA_VERSION = migrations.LATEST

metadata = sa.MetaData()

meta_t = sa.Table(
    "flowyml_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
runs_t = sa.Table(
    "runs",
    metadata,
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
    sa.Column("stack", sa.String(200)),  # migration 2
    sa.Index("ix_runs_pipeline_started", "pipeline", "started_at"),  # migration 3
)
step_runs_t = sa.Table(
    "step_runs",
    metadata,
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
    sa.Index(  # migration 3: the records previous_steps may return
        "ix_step_runs_not_failed", "pipeline", "step", "id",
        sqlite_where=sa.text("status <> 'failed'"),
        postgresql_where=sa.text("status <> 'failed'"),
    ),
)
artifacts_t = sa.Table(
    "artifacts",
    metadata,
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
    sa.Index("ix_artifacts_name_created", "name", "created_at"),  # migration 3
)
edges_t = sa.Table(
    "lineage_edges",
    metadata,
    sa.Column("child_id", sa.String(64), primary_key=True),
    sa.Column("parent_id", sa.String(64), primary_key=True, index=True),
    sa.Column("param", sa.String(200), primary_key=True),
)
deriv_t = sa.Table(  # migration 5: the edges of every later production, per run
    "derivation_edges",
    metadata,
    sa.Column("child_id", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.String(64), primary_key=True, index=True),
    sa.Column("param", sa.String(200), primary_key=True),
    sa.Column("parent_id", sa.String(64), primary_key=True, index=True),
)
uses_t = sa.Table(
    "artifact_uses",
    metadata,
    sa.Column("artifact_id", sa.String(64), nullable=False, index=True),
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("step", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # produced | reused
)
cache_t = sa.Table(
    "cache_entries",
    metadata,
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("step", sa.String(200), nullable=False),
    sa.Column("outputs", sa.Text, nullable=False),  # {asset: artifact id}
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
aliases_t = sa.Table(
    "aliases",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("alias", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
code_sources_t = sa.Table(  # migration 4: each distinct normalized source text once
    "code_sources",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
)
code_versions_t = sa.Table(  # migration 4: code version -> {part: text digest} (JSON)
    "code_versions",
    metadata,
    sa.Column("code_version", sa.String(64), primary_key=True),
    sa.Column("parts", sa.Text, nullable=False),
)

_RETRYABLE = (sa.exc.IntegrityError, sa.exc.OperationalError)
WRITE_ATTEMPTS = 30
RETRY_FIRST_DELAY = 0.005  # seconds before the first retry (at most; see _backoff)
RETRY_MAX_DELAY = 0.5  # no single wait is longer



# Statements are built once: SQLAlchemy then reuses their compiled form, which keeps
# the per-step cost of recording small (parameters are passed separately).
_SEL_CACHE_MANY = sa.select(cache_t.c.cache_key, cache_t.c.outputs).where(
    cache_t.c.cache_key.in_(sa.bindparam("keys", expanding=True))
)
_SEL_ARTS = sa.select(artifacts_t).where(artifacts_t.c.id.in_(sa.bindparam("ids", expanding=True)))
_NEXT_VERSION = sa.select(sa.func.coalesce(sa.func.max(artifacts_t.c.version), 0) + 1).where(
    artifacts_t.c.name == sa.bindparam("name")
)
_INS_ART = artifacts_t.insert()
_INS_EDGE = edges_t.insert()
_INS_USE = uses_t.insert()
_INS_STEP = step_runs_t.insert()
_INS_CACHE = cache_t.insert()
_DEL_CACHE = cache_t.delete().where(cache_t.c.cache_key == sa.bindparam("key"))


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable catalog URL>"


class SqlCatalog:
    """Runs, steps, artifacts, versions, aliases, cache keys and lineage edges."""

    def __init__(self, url: str, *, stack_name: str = "default") -> None:
        self.url = url
        self.display_url = mask_url(url)
        self.stack_name = stack_name
        self._secrets: set[str] = set()
        try:
            pw = sa.engine.make_url(url).password
            if pw:
                self._secrets.add(str(pw))
        except Exception:  # an unparseable URL has no password; _make_engine says why
            pass
        self.engine = self._make_engine(url)
        self._ensure_schema()

    # -------------------------------------------------------------- connection
    def _make_engine(self, url: str) -> Engine:
        try:
            u = sa.engine.make_url(url)
        except Exception as exc:
            raise CatalogError(
                f"catalog URL {self.display_url!r} of stack {self.stack_name!r} is not a valid "
                "SQLAlchemy URL; use sqlite:///path/catalog.db or postgresql+psycopg://..."
            ) from exc
        if u.get_backend_name() == "sqlite":
            db = u.database
            if db and db != ":memory:":
                try:
                    os.makedirs(os.path.dirname(os.path.abspath(db)) or ".", exist_ok=True)
                except OSError as exc:
                    raise CatalogError(
                        f"cannot create the folder of catalog {self.display_url} of stack "
                        f"{self.stack_name!r}: {exc}. Point the stack's catalog at a "
                        "writable path"
                    ) from exc
            engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
            sa.event.listen(engine, "connect", _sqlite_on_connect)
            sa.event.listen(engine, "begin", _sqlite_on_begin)
            return engine
        try:
            return sa.create_engine(url, pool_pre_ping=True, connect_args=_connect_args(u))
        except ModuleNotFoundError as exc:
            raise CatalogError(
                f"catalog {self.display_url!r} of stack {self.stack_name!r} needs the driver "
                f"{exc.name!r}: pip install 'flowyml-core[postgres]'"
            ) from exc
        except (sa.exc.NoSuchModuleError, sa.exc.ArgumentError) as exc:
            raise CatalogError(
                f"catalog {self.display_url!r} of stack {self.stack_name!r}: {exc}. FlowyML "
                "supports sqlite:///PATH and postgresql+psycopg://USER:PASSWORD@HOST/DB "
                "(pip install 'flowyml-core[postgres]')"
            ) from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise self._conn_error(exc) from exc

    def _write(self, fn: Callable[[Connection], T], attempts: int = WRITE_ATTEMPTS) -> T:
        """Run ``fn`` in a write transaction, retrying conflicts (version races, locks)
        after a backoff (``_backoff``); other errors, and the last conflict, raise."""
        for attempt in range(attempts):
            try:
                conn_ = self.engine.connect().execution_options(flowyml_write=True)
                with conn_ as conn, conn.begin():
                    return fn(conn)
            except _RETRYABLE as exc:
                if attempt == attempts - 1 or not _retryable(exc):
                    raise self._write_error(exc) from exc
            except sa.exc.InterfaceError as exc:
                raise self._conn_error(exc) from exc
            time.sleep(_backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _write_error(self, exc: sa.exc.IntegrityError | sa.exc.OperationalError) -> CatalogError:
        if isinstance(exc, sa.exc.OperationalError):
            return self._conn_error(exc)
        return CatalogError(
            f"catalog {self.display_url} of stack {self.stack_name!r}: "
            f"{redact(str(exc.orig), self._secrets)}"
        )

    def _conn_error(self, exc: Exception) -> CatalogError:
        detail = redact(str(getattr(exc, "orig", exc)).strip(), self._secrets)
        return CatalogError(
            f"cannot use catalog {self.display_url} of stack {self.stack_name!r}: "
            f"{detail}. Check that the database server is running and reachable, and that "
            "the URL, user and password are right (`flowyml stack check "
            f"{self.stack_name}`). Nothing was written"
        )

    def _ensure_schema(self) -> None:
        """Create the schema on first use; apply pending migrations (see migrations.py);
        on PostgreSQL, analyze the tables whose statistics are missing or stale."""
        try:
            with self._read() as conn:
                current = migrations.read_version(conn) == SCHEMA_VERSION
                stale = _stale_tables(conn) if current else []
        except CatalogError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise self._conn_error(exc) from exc
        if not current:
            self._write(lambda conn: migrations.upgrade(conn, self.display_url))
            with self._read() as conn:
                stale = _stale_tables(conn)
        if stale:
            try:  # best effort: a reader without the right to analyze still reads
                self._analyze(stale, wait=False)
            except CatalogError:
                pass

    def analyze(self, tables: Iterable[str] | None = None) -> None:
        """Refresh the query planner's statistics of the catalog's tables (all of them
        by default): ``ANALYZE``, on SQLite and PostgreSQL. PostgreSQL catalogs get this
        automatically when opened with missing or stale statistics (see the module
        docstring); call it after loading or restoring a catalog in bulk."""
        self._analyze(sorted(metadata.tables) if tables is None else list(tables), wait=True)

    def _analyze(self, tables: list[str], wait: bool) -> bool:
        """ANALYZE ``tables``; without ``wait``, skipped (False) while another process is
        analyzing this PostgreSQL catalog."""
        unknown = set(tables) - set(metadata.tables)
        if unknown:
            raise ValueError(f"not catalog tables: {sorted(unknown)}")

        def fn(conn: Connection) -> bool:
            if conn.dialect.name == "postgresql" and not wait:
                lock = conn.execute(_PG_TRY_LOCK, {"k": _ANALYZE_LOCK_KEY}).scalar()
                if not lock:
                    return False
            for table in tables:
                conn.exec_driver_sql(f"ANALYZE {table}")  # a name from metadata
            return True

        return self._write(fn)

    def schema_version(self) -> int:
        with self._read() as conn:
            return migrations.read_version(conn)

    def close(self) -> None:
        self.engine.dispose()

    # -------------------------------------------------------------- runs
    def start_run(
        self, run_id: str, pipeline: str, params: dict[str, Any], started_at: float
    ) -> None:
        def fn(conn: Connection) -> None:
            conn.execute(
                sa.insert(runs_t).values(
                    id=run_id,
                    pipeline=pipeline,
                    status="running",
                    started_at=started_at,
                    params=_dumps(params),
                    stats="{}",
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    heartbeat=started_at,
                    stack=self.stack_name,
                )
            )

        self._write(fn)

    def finish_run(
        self, run_id: str, status: str, error: str | None, stats: dict[str, Any]
    ) -> None:
        def fn(conn: Connection) -> None:
            conn.execute(
                sa.update(runs_t)
                .where(runs_t.c.id == run_id)
                .values(status=status, error=error, finished_at=time.time(), stats=_dumps(stats))
            )

        self._write(fn)

    def heartbeat(self, run_id: str) -> None:
        """Mark a running run as alive (the runtime calls this periodically)."""

        def fn(conn: Connection) -> None:
            conn.execute(
                sa.update(runs_t)
                .where(runs_t.c.id == run_id, runs_t.c.status == "running")
                .values(heartbeat=time.time())
            )

        self._write(fn)

    def get_run(self, run_id: str) -> RunRecord:
        with self._read() as conn:
            row = conn.execute(sa.select(runs_t).where(runs_t.c.id == run_id)).first()
        if row is None:
            raise ArtifactNotFoundError(f"no run {run_id!r} in catalog {self.display_url}")
        return _run(row)

    def list_runs(self, limit: int = 50, pipeline: str | None = None) -> list[RunRecord]:
        q = sa.select(runs_t).order_by(runs_t.c.started_at.desc()).limit(limit)
        if pipeline:
            q = q.where(runs_t.c.pipeline == pipeline)
        with self._read() as conn:
            return [_run(r) for r in conn.execute(q)]

    def step_runs(self, run_id: str) -> list[StepRecord]:
        q = sa.select(step_runs_t).where(step_runs_t.c.run_id == run_id).order_by(step_runs_t.c.id)
        with self._read() as conn:
            return [_step(r) for r in conn.execute(q)]

    # -------------------------------------------------------------- cache
    def lookup_cache_many(self, keys: list[str]) -> dict[str, dict[str, ArtifactRecord]]:
        """Cache hits among ``keys`` (two queries, whatever the number of keys)."""
        hits: dict[str, dict[str, str]] = {}
        with self._read() as conn:
            for i in range(0, len(keys), 500):
                for row in conn.execute(_SEL_CACHE_MANY, {"keys": keys[i : i + 500]}):
                    hits[row.cache_key] = json.loads(row.outputs)
            recs = _artifacts_by_id(conn, [a for ids in hits.values() for a in ids.values()])
        return {
            key: {asset: recs[i] for asset, i in ids.items()}
            for key, ids in hits.items()
            if all(i in recs for i in ids.values())
        }

    def previous_steps(self, pipeline: str, steps: list[str]) -> dict[str, StepRecord]:
        """The latest non-failed record of each of ``steps`` in ``pipeline``: one query,
        one probe per step into ``ix_step_runs_not_failed``, however long the history."""
        out: dict[str, StepRecord] = {}
        steps = list(dict.fromkeys(steps))
        with self._read() as conn:
            for i in range(0, len(steps), 500):
                chunk = steps[i : i + 500]
                params = {f"s{k}": s for k, s in enumerate(chunk)}
                params["pipeline"] = pipeline
                for row in conn.execute(_previous_steps_sql(len(chunk)), params):
                    out[row.step] = _step(row)
        return out

    # -------------------------------------------------------------- recording
    def record_batch(self, writes: list[Write]) -> list[dict[str, ArtifactRecord]]:
        """Several steps' records in one transaction, in order (group commit). Each
        step's rows are still all-or-nothing; for ``"exec"`` writes the artifact
        records (with their versions) come back in the same order."""
        if not writes:
            return []

        def fn(conn: Connection) -> list[dict[str, ArtifactRecord]]:
            out: list[dict[str, ArtifactRecord]] = []
            _check_referenced(conn, writes)
            reuses = [w for w in writes if w.kind == "reuse"]
            for w in reuses:
                w.rec.outputs = {k: v.id for k, v in (w.artifacts or {}).items()}
            uses = [
                {"artifact_id": a.id, "run_id": w.rec.run_id, "step": w.rec.step, "role": "reused"}
                for w in reuses
                for a in (w.artifacts or {}).values()
            ]
            if uses:
                conn.execute(_INS_USE, uses)
            # every name this batch versions, locked up front in one order (no deadlock)
            _lock_names(conn, [o.name for w in writes if w.kind == "exec" for o in w.outputs])
            _record_sources(conn, [w.rec for w in writes if w.kind == "exec"])
            for w in writes:
                if w.kind == "exec":
                    out.append(_record_execution(conn, w.rec, w.outputs, w.parents, w.cache))
                else:  # reuse / failure: the step row only
                    _insert_step(conn, w.rec)
                    out.append({})
            return out

        return self._write(fn)

    def artifacts_by_id(self, ids: Iterable[str]) -> dict[str, ArtifactRecord]:
        with self._read() as conn:
            return _artifacts_by_id(conn, ids)

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        rec = self.artifacts_by_id([artifact_id]).get(artifact_id)
        if rec is None:
            raise ArtifactNotFoundError(
                f"no artifact with id {artifact_id!r} in catalog {self.display_url}"
            )
        return rec

    def find(self, name: str, selector: str | int | None = None) -> ArtifactRecord:
        """``name`` at a version number, ``"latest"`` (default) or an alias. ``latest``
        is what the successful run that finished last output (see ``_latest_query``)."""
        sel = "latest" if selector is None else str(selector)
        with self._read() as conn:
            if sel == "latest":
                q = _latest_query(name)
            elif sel.isdigit():
                q = sa.select(artifacts_t).where(
                    artifacts_t.c.name == name, artifacts_t.c.version == int(sel)
                )
            else:
                q = (
                    sa.select(artifacts_t)
                    .join(
                        aliases_t,
                        sa.and_(
                            aliases_t.c.name == artifacts_t.c.name,
                            aliases_t.c.version == artifacts_t.c.version,
                        ),
                    )
                    .where(aliases_t.c.name == name, aliases_t.c.alias == sel)
                )
            row = conn.execute(q).first()
            if row is not None:
                return _artifact(row)
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(artifacts_t)
                .where(artifacts_t.c.name == name)
            ).scalar_one()
        if count == 0:
            raise ArtifactNotFoundError(
                f"no artifact named {name!r} in catalog {self.display_url}; run the pipeline "
                "that produces it first (`flowyml artifacts` lists what exists)"
            )
        what = {"latest": "any version"}.get(
            sel, f"version {sel}" if sel.isdigit() else f"alias {sel!r}"
        )
        raise ArtifactNotFoundError(
            f"asset {name!r} has no {what} in catalog {self.display_url} (it has {count} "
            f"version{'s' if count != 1 else ''}; see `flowyml artifacts {name}`)"
        )

    def versions(self, name: str) -> list[ArtifactRecord]:
        q = sa.select(artifacts_t).where(artifacts_t.c.name == name).order_by(artifacts_t.c.version)
        with self._read() as conn:
            return [_artifact(r) for r in conn.execute(q)]

    def aliases(self, name: str) -> dict[str, int]:
        q = sa.select(aliases_t.c.alias, aliases_t.c.version).where(aliases_t.c.name == name)
        with self._read() as conn:
            return {r.alias: int(r.version) for r in conn.execute(q)}

    def tag(self, name: str, version: int, alias: str) -> None:
        self.find(name, int(version))

        def fn(conn: Connection) -> None:
            conn.execute(
                sa.delete(aliases_t).where(aliases_t.c.name == name, aliases_t.c.alias == alias)
            )
            conn.execute(
                sa.insert(aliases_t).values(
                    name=name, alias=alias, version=int(version), updated_at=time.time()
                )
            )

        self._write(fn)

    def search(
        self,
        name: str | None = None,
        hash_prefix: str | None = None,
        run_id: str | None = None,
        step: str | None = None,
        limit: int = 200,
    ) -> list[ArtifactRecord]:
        q = sa.select(artifacts_t)
        if name:
            q = q.where(_names_like(name, self.engine.dialect.name))
        if hash_prefix:
            q = q.where(*_hash_prefix_terms(hash_prefix.lower()))
        if run_id:
            used = sa.select(uses_t.c.artifact_id).where(uses_t.c.run_id == run_id)
            q = q.where(sa.or_(artifacts_t.c.run_id == run_id, artifacts_t.c.id.in_(used)))
        if step:
            q = q.where(artifacts_t.c.step == step)
        q = q.order_by(artifacts_t.c.name, artifacts_t.c.version.desc()).limit(limit)
        with self._read() as conn:
            return [_artifact(r) for r in conn.execute(q)]

    def asset_names(self) -> list[tuple[str, int, float]]:
        """Every asset name with its number of versions and the latest creation time,
        from the indexes alone, never the artifacts' rows: the names by a loose index
        scan, then per name a count of its ``(name, version)`` index entries (pruning
        may leave gaps in the versions) and one probe of ``ix_artifacts_name_created``."""
        names = _distinct_names()
        a = artifacts_t.alias("v")
        q = (
            sa.select(
                names.c.name,
                sa.select(sa.func.count()).where(a.c.name == names.c.name)
                .scalar_subquery(),
                sa.select(sa.func.max(a.c.created_at)).where(a.c.name == names.c.name)
                .scalar_subquery(),
            )
            .where(names.c.name.is_not(None))
            .order_by(names.c.name)
        )
        with self._read() as conn:
            return [(r[0], int(r[1]), float(r[2])) for r in conn.execute(q)]

    # -------------------------------------------------------------- lineage
    def parents_of(self, ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """child id -> [(param, parent id)], sorted by param."""
        ids = list(dict.fromkeys(ids))
        out: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
        with self._read() as conn:
            for k in range(0, len(ids), 500):
                q = sa.select(edges_t).where(edges_t.c.child_id.in_(ids[k : k + 500]))
                for r in conn.execute(q.order_by(edges_t.c.param)):
                    out[r.child_id].append((r.param, r.parent_id))
        return out

    def children_of(self, ids: Iterable[str]) -> dict[str, list[str]]:
        """Parent id -> the artifacts made from it, by any derivation (each once)."""
        ids = list(dict.fromkeys(ids))
        out: dict[str, list[str]] = {i: [] for i in ids}
        with self._read() as conn:
            for k in range(0, len(ids), 500):
                for table in (edges_t, deriv_t):
                    q = sa.select(table.c.parent_id, table.c.child_id).where(
                        table.c.parent_id.in_(ids[k : k + 500])
                    )
                    for r in conn.execute(q):
                        if r.child_id not in out[r.parent_id]:
                            out[r.parent_id].append(r.child_id)
        return out

    def derivations_of(self, ids: Iterable[str]) -> dict[str, list[Derivation]]:
        """Artifact id -> its distinct derivations, the first production's first."""
        with self._read() as conn:
            return _derivations(conn, list(dict.fromkeys(ids)))

    def runs_using(self, artifact_id: str) -> list[tuple[str, str, str]]:
        """(run id, step, role) for every run that produced or reused the artifact."""
        q = sa.select(uses_t.c.run_id, uses_t.c.step, uses_t.c.role).where(
            uses_t.c.artifact_id == artifact_id
        )
        with self._read() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(q)]

    def ancestry(
        self, artifact_id: str, max_depth: int | None = None
    ) -> tuple[dict[str, list[tuple[str, str]]], dict[str, ArtifactRecord]]:
        """Everything ``artifact_id`` was made from, in one recursive query: ``(edges,
        records)``. ``records``: the artifact and each ancestor within ``max_depth``
        levels (``None``: up to the sources), nearest first. ``edges``: child id ->
        [(param, parent id)] sorted, as ``parents_of`` gives them, for every record
        whose parents were looked at (all of them, unless ``max_depth`` stopped the
        walk there). Raises ``ArtifactNotFoundError`` for an unknown id."""
        return self._walk(artifact_id, max_depth, up=True)

    def descendants(
        self, artifact_id: str, max_depth: int | None = None
    ) -> tuple[dict[str, list[tuple[str, str]]], dict[str, ArtifactRecord]]:
        """Everything made from ``artifact_id``, in one recursive query: ``(edges,
        records)`` as for ``ancestry``, downwards: parent id -> [(param, child id)]
        sorted, and the artifact and each descendant within ``max_depth``, nearest
        first."""
        return self._walk(artifact_id, max_depth, up=False)

    def _walk(
        self, artifact_id: str, max_depth: int | None, up: bool
    ) -> tuple[dict[str, list[tuple[str, str]]], dict[str, ArtifactRecord]]:
        if max_depth is not None and max_depth < 0:
            raise ValueError(f"max_depth must be >= 0, not {max_depth}")
        params: dict[str, Any] = {"root": artifact_id}
        if max_depth is not None:
            params["max_depth"] = max_depth
        found: dict[tuple[str, str, str], int] = {}  # (node, param, other) -> nearest depth
        records: dict[str, ArtifactRecord] = {}
        with self._read() as conn:
            sql = _walk_sql(up, max_depth is not None, _walk_dialect(conn))
            for node, param, other, depth, *art in conn.execute(sql, params):
                if art[0] is not None:  # an artifact's row (names are never NULL)
                    records[node] = _artifact_of(node, art)
                else:  # an edge's row
                    key = (node, param, other)
                    found[key] = min(found.get(key, depth), depth)
        if artifact_id not in records:
            raise ArtifactNotFoundError(
                f"no artifact with id {artifact_id!r} in catalog {self.display_url}"
            )
        depth = {artifact_id: 0}
        for (_, _, other), d in found.items():
            depth[other] = min(depth.get(other, d), d)
        edges: dict[str, list[tuple[str, str]]] = {
            i: [] for i, d in depth.items() if max_depth is None or d < max_depth
        }
        for node, param, other in sorted(found):
            edges[node].append((param, other))
        return edges, _nearest_first(artifact_id, edges, records)

    # -------------------------------------------------------------- code
    def code_versions(
        self, versions: Iterable[str], text: bool = True
    ) -> dict[str, CodeVersion]:
        """The recorded code of each of ``versions`` (two queries; one without ``text``,
        which leaves the texts out); a version executed before code was recorded maps
        to an empty ``CodeVersion``."""
        versions = list(dict.fromkeys(versions))
        parts: dict[str, dict[str, str]] = {}
        with self._read() as conn:
            for i in range(0, len(versions), 500):
                q = sa.select(code_versions_t).where(
                    code_versions_t.c.code_version.in_(versions[i : i + 500])
                )
                for r in conn.execute(q):
                    parts[r.code_version] = json.loads(r.parts)
            digests = {d for p in parts.values() for d in p.values()}
            texts = _code_texts(conn, digests) if text else {}
        return {
            v: CodeVersion(
                v,
                {k: texts[d] for k, d in parts.get(v, {}).items() if d in texts},
                dict(parts.get(v, {})),
            )
            for v in versions
        }

    def live_run_starts(self) -> list[float]:
        """Start times of runs whose driver is alive (gc keeps what they may reference)."""
        q = sa.select(runs_t).where(runs_t.c.status == "running")
        with self._read() as conn:
            rows = list(conn.execute(q))
        live = [r for r in rows if liveness.is_live(r)]
        return [float(r.started_at) for r in live]

    def referenced_hashes(self) -> set[str]:
        with self._read() as conn:
            return {r[0] for r in conn.execute(sa.select(artifacts_t.c.content_hash).distinct())}

    # -------------------------------------------------------------- retention
    def prune(
        self, decide: Callable[[CatalogSnapshot], Deletion], *, dry_run: bool = False,
        wait: float = 300.0,
    ) -> tuple[CatalogSnapshot, Deletion]:
        """Read a snapshot, let ``decide`` choose, delete: one write transaction (see
        ``RetentionCatalog.prune``). A non-empty deletion waits for runs in progress."""
        if dry_run:
            with self._read() as conn:
                snap = _snapshot(conn)
            return snap, decide(snap)
        deadline = time.monotonic() + wait
        while True:
            try:
                return self._write(lambda conn: _prune_once(conn, decide))
            except _RunsInProgress as busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CatalogError(
                        f"catalog {self.display_url}: prune deleted nothing: run(s) "
                        f"{', '.join(busy.runs)} still in progress after {wait:g} s, and a "
                        "run in progress may reuse what prune would delete. Try again when "
                        "they finish (or wait longer)"
                    ) from None
                time.sleep(min(PRUNE_POLL_SECONDS, left))

    def lineage_gaps(self) -> list[str]:
        """Broken references: edges and uses naming a missing artifact or run, artifacts
        whose first production's run is missing (LEFT JOINs, one query each)."""
        with self._read() as conn:
            return _lineage_gaps(conn)


# ------------------------------------------------------------------ helpers
def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=60000")
    # Switching a brand-new database to WAL can fail at once with "database is locked"
    # (no busy wait) while another connection is opening it too: retry for a while.
    delay = 0.005
    for attempt in range(100):
        try:
            mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()
            if mode is not None and str(mode[0]).lower() == "wal":
                break
        except Exception as exc:  # sqlite3.OperationalError
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        if attempt == 99:
            raise CatalogError("cannot switch the SQLite catalog to WAL mode: it stays locked")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Writes take the lock up front. Reads run in autocommit: each SELECT sees a
    # consistent snapshot, and catalog rows that reads combine are never deleted.
    if conn.get_execution_options().get("flowyml_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _connect_args(u: sa.engine.URL) -> dict[str, Any]:
    if u.get_backend_name() == "postgresql":
        return {"connect_timeout": 5}
    return {}


def _backoff(attempt: int) -> float:
    """Seconds to wait before retrying after conflict number ``attempt`` (from 0): the
    ceiling doubles from ``RETRY_FIRST_DELAY`` up to ``RETRY_MAX_DELAY``, and the wait is
    a random point in its upper half, so writers that collided do not retry in step."""
    ceiling = min(RETRY_MAX_DELAY, RETRY_FIRST_DELAY * 2 ** min(attempt, 30))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    msg = str(getattr(exc, "orig", exc)).lower()
    return any(s in msg for s in ("locked", "busy", "deadlock", "serializ", "could not obtain"))


def _artifacts_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, ArtifactRecord]:
    ids = list(dict.fromkeys(ids))
    out: dict[str, ArtifactRecord] = {}
    for i in range(0, len(ids), 500):
        for row in conn.execute(_SEL_ARTS, {"ids": ids[i : i + 500]}):
            out[row.id] = _artifact(row)
    return out


def _record_execution(
    conn: Connection,
    rec: StepRecord,
    outputs: list[NewOutput],
    parents: dict[str, str],
    cache: bool,
) -> dict[str, ArtifactRecord]:
    now = time.time()
    result: dict[str, ArtifactRecord] = {}
    _lock_names(conn, [o.name for o in outputs])
    for out in outputs:
        aid = artifact_id(out.name, out.content_hash)
        existing = _artifacts_by_id(conn, [aid]).get(aid)
        if existing is not None and parents:  # the same bytes again: keep this derivation
            _insert_derivation(conn, aid, rec.run_id, parents)
        if existing is None:
            version = conn.execute(_NEXT_VERSION, {"name": out.name}).scalar_one()
            conn.execute(
                _INS_ART,
                {
                    "id": aid,
                    "name": out.name,
                    "version": version,
                    "content_hash": out.content_hash,
                    "size": out.size,
                    "materializer": out.materializer,
                    "type_name": out.type_name,
                    "meta": _dumps(out.meta),
                    "run_id": rec.run_id,
                    "step": rec.step,
                    "code_version": rec.code_version,
                    "created_at": now,
                },
            )
            if parents:
                conn.execute(
                    _INS_EDGE,
                    [
                        {"child_id": aid, "parent_id": pid, "param": param}
                        for param, pid in sorted(parents.items())
                    ],
                )
            existing = ArtifactRecord(
                aid,
                out.name,
                int(version),
                out.content_hash,
                out.size,
                out.materializer,
                out.type_name,
                rec.run_id,
                rec.step,
                rec.code_version,
                now,
                out.meta,
            )
        result[out.name] = existing
        conn.execute(
            _INS_USE,
            {
                "artifact_id": aid,
                "run_id": rec.run_id,
                "step": rec.step,
                "role": "produced",
            },
        )
    rec.outputs = {k: v.id for k, v in result.items()}
    if cache:
        _upsert_cache(conn, rec.cache_key, rec.step, rec.outputs, rec.run_id, now)
    _insert_step(conn, rec)
    return result


def _record_sources(conn: Connection, recs: list[StepRecord]) -> None:
    """The code of executed steps, content-addressed and insert-if-absent: a code
    version already recorded is not even rendered, and a text is stored once."""
    pending = {r.code_version: r for r in recs if r.sources}
    if not pending:
        return
    col = code_versions_t.c.code_version
    present = {row[0] for row in conn.execute(sa.select(col).where(col.in_(list(pending))))}
    versions: dict[str, dict[str, str]] = {}
    texts: dict[str, str] = {}
    for version, rec in pending.items():
        if version in present:
            continue
        parts = versions[version] = {}
        for part, text in rec.sources.items():
            digest = hash_bytes(text.encode("utf-8", "surrogatepass"))
            parts[part] = digest
            texts[digest] = text
    if versions:
        _insert_absent(conn, code_versions_t, "code_version",
                       {v: {"code_version": v, "parts": _dumps(p)} for v, p in versions.items()})
        _insert_absent(conn, code_sources_t, "digest",
                       {d: {"digest": d, "text": t} for d, t in texts.items()})


def _insert_absent(conn: Connection, table: sa.Table, key: str, rows: dict[str, dict[str, Any]]) -> None:
    """Insert the ``rows`` (by primary key ``key``) that the table does not hold yet. A
    concurrent writer inserting the same key makes the batch retry (unique violation)."""
    col = table.c[key]
    keys = list(rows)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        present = {r[0] for r in conn.execute(sa.select(col).where(col.in_(chunk)))}
        new = [rows[k] for k in chunk if k not in present]
        if new:
            conn.execute(table.insert(), new)


def _code_texts(conn: Connection, digests: Iterable[str]) -> dict[str, str]:
    digests = list(digests)
    out: dict[str, str] = {}
    for i in range(0, len(digests), 500):
        q = sa.select(code_sources_t).where(code_sources_t.c.digest.in_(digests[i : i + 500]))
        out.update((r.digest, r.text) for r in conn.execute(q))
    return out


def _upsert_cache(
    conn: Connection, key: str, step: str, outputs: dict[str, str], run_id: str, now: float
) -> None:
    conn.execute(_DEL_CACHE, {"key": key})
    conn.execute(
        _INS_CACHE,
        {
            "cache_key": key,
            "step": step,
            "outputs": _dumps(outputs),
            "run_id": run_id,
            "created_at": now,
        },
    )


def _insert_step(conn: Connection, rec: StepRecord) -> None:
    conn.execute(_INS_STEP, _step_params(rec))


def _step_params(rec: StepRecord) -> dict[str, Any]:
    return {
        "run_id": rec.run_id,
        "pipeline": rec.pipeline,
        "step": rec.step,
        "status": rec.status,
        "cache_key": rec.cache_key,
        "reason": rec.reason,
        "code_version": rec.code_version,
        "started_at": rec.started_at,
        "duration": rec.duration,
        "fingerprint": _dumps(rec.fingerprint),
        "inputs": _dumps(rec.inputs),
        "vals": _dumps(rec.values),
        "outputs": _dumps(rec.outputs),
        "error": rec.error,
        "attempts": rec.attempts,
    }


def _dumps(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _lock_names(conn: Connection, names: Iterable[str]) -> None:
    """On PostgreSQL, serialize version assignment per asset name until commit (sorted,
    so two steps locking several names cannot deadlock). SQLite's BEGIN IMMEDIATE
    already serializes writers."""
    if conn.dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        conn.execute(_PG_NAME_LOCK, {"k": "flowyml.version:" + name})


_PG_NAME_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))")


_PG_TRY_LOCK = sa.text("SELECT pg_try_advisory_xact_lock(:k)")
_ANALYZE_LOCK_KEY = 0x666C6F77616E6C  # one process at a time analyzes a catalog
# PostgreSQL: analyze a table at open when it was never analyzed (its planner estimates
# are guesses, even for an empty table), or when this many rows, and at least half as
# many as it has, changed since its last ANALYZE (autovacuum, when on, acts at 10%)
STALE_MIN_ROWS = 10_000
_STALE = sa.text(
    "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
    "AND relname IN :names AND (n_mod_since_analyze >= GREATEST(:rows, n_live_tup / 2) "
    "OR (last_analyze IS NULL AND last_autoanalyze IS NULL))"
).bindparams(sa.bindparam("names", expanding=True))


def _stale_tables(conn: Connection) -> list[str]:
    """The catalog tables whose PostgreSQL statistics are missing or far behind."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(_STALE, {"names": sorted(metadata.tables), "rows": STALE_MIN_ROWS})
    return sorted(r[0] for r in rows)


@functools.lru_cache(maxsize=64)
def _previous_steps_sql(n: int) -> sa.TextClause:
    """For each of the ``n`` steps ``:s0``... of ``:pipeline``, its newest record that
    did not fail: one backward probe into ``ix_step_runs_not_failed`` each (the literal
    ``'failed'`` lets both databases match the partial index)."""
    values = ", ".join(f"(:s{k})" for k in range(n))
    return sa.text(
        f"WITH s(step) AS (VALUES {values}) "
        "SELECT * FROM step_runs WHERE id IN (SELECT (SELECT x.id FROM step_runs x "
        "WHERE x.pipeline = :pipeline AND x.step = s.step AND x.status <> 'failed' "
        "ORDER BY x.id DESC LIMIT 1) FROM s)"
    )


def _distinct_names() -> sa.CTE:
    """The distinct asset names, ascending, by a loose index scan: each is the first
    name after the previous one in the ``(name, version)`` index (one probe per name,
    however many versions each has). The last row is NULL."""
    a = artifacts_t.alias("n")
    names = sa.select(sa.func.min(artifacts_t.c.name).label("name")).cte(
        "names", recursive=True
    )
    after = sa.select(sa.func.min(a.c.name)).where(a.c.name > names.c.name).scalar_subquery()
    return names.union_all(sa.select(after).where(names.c.name.is_not(None)))


def _names_like(name: str, dialect: str) -> sa.ColumnElement[bool]:
    """``artifacts.name`` contains ``name`` (any case): matched against the distinct
    names (a loose index scan), then their versions read by index in name order. On
    PostgreSQL the names come as an array (``= ANY``), so that no guess of how many
    match makes it hash-join every artifact."""
    names = _distinct_names()
    like = names.c.name.ilike(f"%{_escape_like(name)}%", escape="\\")
    if dialect == "postgresql":
        agg = sa.select(sa.func.array_agg(names.c.name)).where(like).scalar_subquery()
        return artifacts_t.c.name == sa.any_(sa.cast(agg, pg_array(sa.String)))
    return artifacts_t.c.name.in_(sa.select(names.c.name).where(like))


_HEX_NEXT = dict(zip("0123456789abcde", "123456789abcdef", strict=True))  # "f" carries


def _hash_prefix_terms(prefix: str) -> list[sa.ColumnElement[bool]]:
    """``content_hash`` starts with ``prefix``. For a hex prefix, the range ``[prefix,
    next)`` (``next``: the prefix plus one, in hex; no upper end for ``fff...``) uses the
    hash index, where ``LIKE`` cannot; ``LIKE`` stays as a filter on that range, so the
    answer is the same as ``LIKE``'s alone, in any collation."""
    col = artifacts_t.c.content_hash
    like = col.like(f"{_escape_like(prefix)}%", escape="\\")
    if not prefix or any(c not in _HEX_NEXT and c != "f" for c in prefix):
        return [like]
    head = prefix.rstrip("f")
    terms = [col >= prefix, like]
    if head:
        terms.append(col < head[:-1] + _HEX_NEXT[head[-1]])
    return terms


def _walk_dialect(conn: Connection) -> str:
    """``"postgresql"``, ``"sqlite"`` (3.34+: a recursive query may have several
    recursive SELECTs) or ``"sqlite-old"``."""
    if conn.dialect.name != "sqlite":
        return "postgresql"
    return "sqlite" if sqlite3.sqlite_version_info >= (3, 34) else "sqlite-old"


@functools.lru_cache(maxsize=16)
def _walk_sql(up: bool, bounded: bool, dialect: str) -> sa.TextClause:
    """One recursive query for ``SqlCatalog._walk``: every lineage edge reachable from
    ``:root``, then the record of each artifact reached (by primary key). Up: child ->
    parent over ``lineage_edges`` (its primary key), the first production's edges, as
    ``parents_of`` reads them. Down: parent -> child over ``lineage_edges`` and
    ``derivation_edges`` (their ``parent_id`` indexes), every production, as
    ``children_of`` reads them: several recursive SELECTs on SQLite 3.34+, else one over
    a UNION ALL of the two (PostgreSQL probes both indexes through it). ``UNION`` keeps
    each edge once (once per depth up to ``:max_depth`` when bounded), so the walk ends
    on any graph. PostgreSQL fetches the records with ``id = ANY(ARRAY(...))``: its guess
    of the walk's size (it cannot know it) then never turns the fetch into a scan."""
    here, there = ("child_id", "parent_id") if up else ("parent_id", "child_id")
    tables = {"lineage_edges": "e"} if up else {"lineage_edges": "e", "derivation_edges": "d"}
    if dialect != "sqlite" and len(tables) > 1:
        both = " UNION ALL ".join(f"SELECT {here}, param, {there} FROM {t}" for t in tables)
        tables = {f"({both})": "e"}
    cols, seed, step, guard, stop = "", "", "", "", ""
    if bounded:
        cols, seed, step = ", depth", ", 1", ", w.depth + 1"
        guard, stop = ":max_depth > 0 AND ", " WHERE w.depth < :max_depth"
    selects = [f"SELECT {e}.{here}, {e}.param, {e}.{there}{seed} FROM {t} {e} "
               f"WHERE {guard}{e}.{here} = :root" for t, e in tables.items()]
    selects += [f"SELECT {e}.{here}, {e}.param, {e}.{there}{step} FROM w JOIN {t} {e} "
                f"ON {e}.{here} = w.other{stop}" for t, e in tables.items()]
    reached = "SELECT other FROM w UNION SELECT CAST(:root AS VARCHAR(64))"
    if dialect == "postgresql":
        fetch = f"FROM artifacts a WHERE a.id = ANY(ARRAY({reached}))"
    else:
        fetch = f"FROM ({reached}) reached JOIN artifacts a ON a.id = reached.other"
    nulls = ", ".join(f"NULL AS {c}" for c in _ARTIFACT_COLS)
    record = ", ".join(f"a.{c}" for c in _ARTIFACT_COLS)
    return sa.text(
        f"WITH RECURSIVE w(node, param, other{cols}) AS ({' UNION '.join(selects)}) "
        f"SELECT w.node AS id, w.param AS param, w.other AS other, "
        f"{'w.depth' if bounded else '0'} AS depth, {nulls} FROM w "
        f"UNION ALL SELECT a.id, NULL, NULL, 0, {record} {fetch}"
    )


_ARTIFACT_COLS = ("name", "version", "content_hash", "size", "materializer", "type_name",
                  "meta", "run_id", "step", "code_version", "created_at")


def _artifact_of(artifact_id: str, v: list[Any]) -> ArtifactRecord:
    """``_artifact`` for the values of ``_ARTIFACT_COLS``, in that order (positional:
    thousands of lineage records build faster than through named row attributes)."""
    return ArtifactRecord(
        id=artifact_id, name=v[0], version=int(v[1]), content_hash=v[2], size=int(v[3]),
        materializer=v[4], type_name=v[5], run_id=v[7], step=v[8], code_version=v[9],
        created_at=float(v[10]), meta=json.loads(v[6] or "{}"),
    )


def _nearest_first(
    root: str, edges: dict[str, list[tuple[str, str]]], records: dict[str, ArtifactRecord]
) -> dict[str, ArtifactRecord]:
    """``records`` in breadth-first order from ``root`` over ``edges`` (each node's
    neighbours by id)."""
    order = [root]
    seen = {root}
    for node in order:  # grows while iterating: a queue
        for other in sorted({o for _, o in edges.get(node, ())} - seen):
            seen.add(other)
            order.append(other)
    return {i: records[i] for i in order if i in records}


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _artifact(row: Any) -> ArtifactRecord:
    return ArtifactRecord(
        id=row.id,
        name=row.name,
        version=int(row.version),
        content_hash=row.content_hash,
        size=int(row.size),
        materializer=row.materializer,
        type_name=row.type_name,
        run_id=row.run_id,
        step=row.step,
        code_version=row.code_version,
        created_at=float(row.created_at),
        meta=json.loads(row.meta or "{}"),
    )


def _run(row: Any) -> RunRecord:
    status, error = liveness.status_of(row)
    return RunRecord(
        id=row.id,
        pipeline=row.pipeline,
        status=status,
        started_at=float(row.started_at),
        finished_at=None if row.finished_at is None else float(row.finished_at),
        error=error,
        params=json.loads(row.params or "{}"),
        stats=json.loads(row.stats or "{}"),
        host=row.host,
        pid=int(row.pid),
        stack=getattr(row, "stack", None) or "",
    )


def _step(row: Any) -> StepRecord:
    return StepRecord(
        run_id=row.run_id,
        pipeline=row.pipeline,
        step=row.step,
        status=row.status,
        cache_key=row.cache_key,
        reason=row.reason,
        code_version=row.code_version,
        started_at=float(row.started_at),
        duration=float(row.duration),
        fingerprint=json.loads(row.fingerprint),
        inputs=json.loads(row.inputs),
        values=json.loads(row.vals),
        error=row.error,
        attempts=int(row.attempts),
        outputs=json.loads(row.outputs),
    )


# ------------------------------------------------------------------ derivations
_INS_DERIV = {
    "postgresql": pg_insert(deriv_t).on_conflict_do_nothing(),
    "sqlite": sqlite_insert(deriv_t).on_conflict_do_nothing(),
}


def _insert_derivation(conn: Connection, child: str, run_id: str, parents: dict[str, str]) -> None:
    """The edges of one more production of ``child`` (insert-if-absent: a run that
    makes the same artifact twice the same way records it once)."""
    stmt = _INS_DERIV.get(conn.dialect.name, _INS_DERIV["sqlite"])
    conn.execute(stmt, [
        {"child_id": child, "run_id": run_id, "param": param, "parent_id": pid}
        for param, pid in sorted(parents.items())
    ])


def _check_referenced(conn: Connection, writes: list[Write]) -> None:
    """Every artifact a batch refers to (what a reuse reused, an execution's inputs)
    must exist. A run resolves catalog references at build, before it starts, so a
    prune that ran in between may have deleted one: recording it would leave lineage
    pointing at nothing, so the batch fails instead, naming it (one query)."""
    made = {artifact_id(o.name, o.content_hash)
            for w in writes if w.kind == "exec" for o in w.outputs}
    want = {pid for w in writes if w.kind == "exec" for pid in w.parents.values()}
    want |= {a.id for w in writes if w.kind == "reuse" for a in (w.artifacts or {}).values()}
    want -= made
    found: set[str] = set()
    for chunk in _chunks(sorted(want)):
        q = sa.select(artifacts_t.c.id).where(artifacts_t.c.id.in_(chunk))
        found.update(r[0] for r in conn.execute(q))
    if want - found:
        raise CatalogError(
            f"artifact(s) {', '.join(sorted(want - found))} were deleted (flowyml prune) "
            "while this run used them; the run's steps from here on were not recorded: run "
            "the pipeline again"
        )


def _chunks(seq: list[str], n: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _derivations(conn: Connection, ids: list[str]) -> dict[str, list[Derivation]]:
    """Each artifact's productions (``artifact_uses``), grouped by what made them: step,
    code version, run values (from the step rows) and parents (``lineage_edges`` for
    the first production, ``derivation_edges`` for the others)."""
    firsts: dict[str, tuple[str, str, str]] = {}  # id -> (run, step, code) of the first
    made: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
    edges: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
    a = artifacts_t.c
    for chunk in _chunks(ids):
        q = sa.select(a.id, a.run_id, a.step, a.code_version).where(a.id.in_(chunk))
        firsts.update((r.id, (r.run_id, r.step, r.code_version)) for r in conn.execute(q))
        u = sa.select(uses_t).where(uses_t.c.artifact_id.in_(chunk), uses_t.c.role == "produced")
        for r in conn.execute(u):
            made[r.artifact_id].append((r.run_id, r.step))
        for r in conn.execute(sa.select(edges_t).where(edges_t.c.child_id.in_(chunk))):
            edges.setdefault((r.child_id, None), []).append((r.param, r.parent_id))
        for r in conn.execute(sa.select(deriv_t).where(deriv_t.c.child_id.in_(chunk))):
            edges.setdefault((r.child_id, r.run_id), []).append((r.param, r.parent_id))
    runs = {run for lst in made.values() for run, _ in lst} | {f[0] for f in firsts.values()}
    steps = _executed_steps(conn, sorted(runs))
    out: dict[str, list[Derivation]] = {}
    for i in ids:
        if i not in firsts:
            out[i] = []
            continue
        run0, step0, code0 = firsts[i]
        productions = [(run0, step0, tuple(sorted(edges.get((i, None), []))))]
        rest = sorted(made[i])
        if (run0, step0) in rest:
            rest.remove((run0, step0))
        for run, step in rest:
            parents = tuple(sorted(edges.get((i, run), [])))
            if not parents and steps.get((run, step), ("", (), (), False))[3]:
                continue  # made before derivations were recorded: its inputs are unknown
            productions.append((run, step, parents))
        out[i] = _group(productions, steps, code0)
    return out


def _executed_steps(
    conn: Connection, runs: list[str]
) -> dict[tuple[str, str], tuple[str, tuple[tuple[str, str], ...], tuple[str, ...], bool]]:
    """(run, step) -> (code version, run values as (param, shown value), their tokens,
    whether it had artifact inputs), for the executed steps of ``runs``."""
    s = step_runs_t.c
    out = {}
    for chunk in _chunks(runs):
        q = sa.select(s.run_id, s.step, s.code_version, s.vals, s.inputs).where(
            s.run_id.in_(chunk), s.status == "executed"
        )
        for r in conn.execute(q):
            vals = json.loads(r.vals or "{}")
            shown = tuple(sorted((k, str(v[-1]) if isinstance(v, list) else str(v))
                                 for k, v in vals.items()))
            tokens = tuple(sorted(f"{k}={v[0] if isinstance(v, list) else v}"
                                  for k, v in vals.items()))
            out[(r.run_id, r.step)] = (r.code_version, shown, tokens, bool(json.loads(r.inputs or "{}")))
    return out


def _group(
    productions: list[tuple[str, str, tuple[tuple[str, str], ...]]],
    steps: dict[tuple[str, str], tuple[str, tuple[tuple[str, str], ...], tuple[str, ...], bool]],
    first_code: str,
) -> list[Derivation]:
    """Productions made the same way (step, code, run values, parents) are one derivation."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for n, (run, step, parents) in enumerate(productions):
        code, shown, tokens, _ = steps.get((run, step), (first_code if n == 0 else "", (), (), False))
        entry = groups.setdefault((step, code, tokens, parents), [shown, []])
        if run not in entry[1]:
            entry[1].append(run)
    return [Derivation(step, code, parents, shown, tuple(runs))
            for (step, code, _, parents), (shown, runs) in groups.items()]


def _latest_query(name: str) -> sa.Select[Any]:
    """``name@latest``: the version output (executed or reused) by the successful run
    that finished last; without one, the most recently created version."""
    done = (
        sa.select(uses_t.c.artifact_id, sa.func.max(runs_t.c.finished_at).label("t"))
        .join(runs_t, runs_t.c.id == uses_t.c.run_id)
        .join(artifacts_t, artifacts_t.c.id == uses_t.c.artifact_id)
        .where(artifacts_t.c.name == name, runs_t.c.status == "succeeded")
        .group_by(uses_t.c.artifact_id)
        .subquery()
    )
    return (
        sa.select(artifacts_t)
        .select_from(artifacts_t.outerjoin(done, done.c.artifact_id == artifacts_t.c.id))
        .where(artifacts_t.c.name == name)
        .order_by(
            sa.case((done.c.t.is_(None), 1), else_=0),
            done.c.t.desc(),
            artifacts_t.c.created_at.desc(),
            artifacts_t.c.version.desc(),
        )
        .limit(1)
    )


# ------------------------------------------------------------------ retention
PRUNE_POLL_SECONDS = 0.5  # how often a waiting prune looks again for runs in progress


class _RunsInProgress(Exception):
    def __init__(self, runs: list[str]) -> None:
        super().__init__(", ".join(runs))
        self.runs = runs


def _prune_once(
    conn: Connection, decide: Callable[[CatalogSnapshot], Deletion]
) -> tuple[CatalogSnapshot, Deletion]:
    """One attempt, inside the write transaction. On PostgreSQL the runs table is locked
    against writes first, so no run starts (and reads the old state) until we commit;
    on SQLite ``BEGIN IMMEDIATE`` already holds every writer back."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE"))
    snap = _snapshot(conn)
    deletion = decide(snap)
    if not deletion.runs and not deletion.artifacts:
        return snap, deletion
    live = sorted(r.id for r in snap.runs if r.status == "running")
    if live:
        raise _RunsInProgress(live)
    _check_deletion(snap, deletion)
    _delete(conn, deletion)
    return snap, deletion


def _snapshot(conn: Connection) -> CatalogSnapshot:
    a = artifacts_t.c
    cols = [a.id, a.name, a.version, a.content_hash, a.size, a.materializer, a.type_name,
            a.run_id, a.step, a.code_version, a.created_at]
    arts = {r.id: ArtifactRecord(*r) for r in conn.execute(sa.select(*cols))}  # no meta
    uses = [(r[0], r[1], r[2]) for r in conn.execute(
        sa.select(uses_t.c.artifact_id, uses_t.c.run_id, uses_t.c.role))]
    edges: list[tuple[str, str, str | None]] = [
        (r[0], r[1], None) for r in conn.execute(sa.select(edges_t.c.child_id, edges_t.c.parent_id))
    ]
    edges += [(r[0], r[1], r[2]) for r in conn.execute(
        sa.select(deriv_t.c.child_id, deriv_t.c.parent_id, deriv_t.c.run_id))]
    aliased_q = sa.select(a.id).join(
        aliases_t, sa.and_(aliases_t.c.name == a.name, aliases_t.c.version == a.version))
    return CatalogSnapshot(
        runs=[_run(r) for r in conn.execute(sa.select(runs_t))],
        artifacts=arts, uses=uses, edges=edges,
        aliased={r[0] for r in conn.execute(aliased_q)},
    )


def _check_deletion(snap: CatalogSnapshot, d: Deletion) -> None:
    """Refuse a deletion that would break what stays: an alias, a use by a kept run,
    an edge of a kept derivation, the first production's run of a kept artifact."""
    bad: list[str] = []
    bad += [f"{a} has an alias" for a in snap.aliased & d.artifacts]
    bad += [f"kept run {r} used {a}" for a, r, _ in snap.uses
            if a in d.artifacts and r not in d.runs]
    bad += [f"kept artifact {c} was derived from {p}" for c, p, r in snap.edges
            if p in d.artifacts and c not in d.artifacts and (r is None or r not in d.runs)]
    bad += [f"kept artifact {a.id} was first made by run {a.run_id}"
            for a in snap.artifacts.values() if a.run_id in d.runs and a.id not in d.artifacts]
    if bad:
        raise CatalogError(f"refusing a deletion that breaks lineage: {'; '.join(bad[:5])}")


def _delete(conn: Connection, d: Deletion) -> None:
    runs, arts = sorted(d.runs), sorted(d.artifacts)
    for chunk in _chunks(runs):
        conn.execute(step_runs_t.delete().where(step_runs_t.c.run_id.in_(chunk)))
        conn.execute(uses_t.delete().where(uses_t.c.run_id.in_(chunk)))
        conn.execute(deriv_t.delete().where(deriv_t.c.run_id.in_(chunk)))
        conn.execute(runs_t.delete().where(runs_t.c.id.in_(chunk)))
    for chunk in _chunks(arts):
        conn.execute(uses_t.delete().where(uses_t.c.artifact_id.in_(chunk)))
        conn.execute(edges_t.delete().where(edges_t.c.child_id.in_(chunk)))
        conn.execute(deriv_t.delete().where(deriv_t.c.child_id.in_(chunk)))
        conn.execute(artifacts_t.delete().where(artifacts_t.c.id.in_(chunk)))
    stale = [r.cache_key for r in conn.execute(sa.select(cache_t.c.cache_key, cache_t.c.outputs))
             if d.artifacts.intersection(json.loads(r.outputs).values())]
    for chunk in _chunks(stale):  # a cache entry never points at a deleted artifact
        conn.execute(cache_t.delete().where(cache_t.c.cache_key.in_(chunk)))


def _lineage_gaps(conn: Connection) -> list[str]:
    a, r = artifacts_t.alias("a"), runs_t.alias("r")
    out: list[str] = []
    for table, what in ((edges_t, "lineage edge"), (deriv_t, "derivation edge")):
        for col, role in ((table.c.parent_id, "parent"), (table.c.child_id, "child")):
            q = sa.select(table.c.child_id, table.c.parent_id).select_from(
                table.outerjoin(a, a.c.id == col)).where(a.c.id.is_(None))
            out += [f"{what} {c} <- {p}: {role} artifact is missing" for c, p in conn.execute(q)]
    q = sa.select(deriv_t.c.child_id, deriv_t.c.run_id).select_from(
        deriv_t.outerjoin(r, r.c.id == deriv_t.c.run_id)).where(r.c.id.is_(None))
    out += [f"derivation of {c} in run {run}: the run is missing" for c, run in conn.execute(q)]
    q = sa.select(uses_t.c.artifact_id, uses_t.c.run_id).select_from(
        uses_t.outerjoin(a, a.c.id == uses_t.c.artifact_id)).where(a.c.id.is_(None))
    out += [f"run {run} used artifact {x}, which is missing" for x, run in conn.execute(q)]
    q = sa.select(uses_t.c.artifact_id, uses_t.c.run_id).select_from(
        uses_t.outerjoin(r, r.c.id == uses_t.c.run_id)).where(r.c.id.is_(None))
    out += [f"artifact {x} was used by run {run}, which is missing" for x, run in conn.execute(q)]
    q = sa.select(artifacts_t.c.name, artifacts_t.c.version, artifacts_t.c.run_id).select_from(
        artifacts_t.outerjoin(r, r.c.id == artifacts_t.c.run_id)).where(r.c.id.is_(None))
    out += [f"{row[0]}@{row[1]}: the run that first made it ({row[2]}) is missing"
            for row in conn.execute(q)]
    return out


if TYPE_CHECKING:  # SqlCatalog provides both interfaces (checked by mypy)

    def _implements(c: SqlCatalog) -> tuple[RuntimeCatalog, CatalogReader, RetentionCatalog]:
        return c, c, c
