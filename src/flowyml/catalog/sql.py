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
"""

from __future__ import annotations

import json
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..core.errors import ArtifactNotFoundError, CatalogError
from ..core.secrets import redact
from . import liveness, migrations
from .records import ArtifactRecord, NewOutput, RunRecord, StepRecord, Write, artifact_id

if TYPE_CHECKING:
    from .base import CatalogReader, RuntimeCatalog

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
)
edges_t = sa.Table(
    "lineage_edges",
    metadata,
    sa.Column("child_id", sa.String(64), primary_key=True),
    sa.Column("parent_id", sa.String(64), primary_key=True, index=True),
    sa.Column("param", sa.String(200), primary_key=True),
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
        """Create the schema on first use; apply pending migrations (see migrations.py)."""
        try:
            with self._read() as conn:
                if migrations.read_version(conn) == SCHEMA_VERSION:
                    return
        except CatalogError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise self._conn_error(exc) from exc
        self._write(lambda conn: migrations.upgrade(conn, self.display_url))

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
        """The latest non-failed record of each of ``steps`` in ``pipeline`` (one query)."""
        out: dict[str, StepRecord] = {}
        with self._read() as conn:
            for i in range(0, len(steps), 500):
                latest = (
                    sa.select(sa.func.max(step_runs_t.c.id))
                    .where(
                        step_runs_t.c.pipeline == pipeline,
                        step_runs_t.c.step.in_(steps[i : i + 500]),
                        step_runs_t.c.status != "failed",
                    )
                    .group_by(step_runs_t.c.step)
                )
                for row in conn.execute(sa.select(step_runs_t).where(step_runs_t.c.id.in_(latest))):
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
        """``name`` at a version number, ``"latest"`` (default) or an alias."""
        sel = "latest" if selector is None else str(selector)
        with self._read() as conn:
            if sel == "latest":
                q = (
                    sa.select(artifacts_t)
                    .where(artifacts_t.c.name == name)
                    .order_by(artifacts_t.c.version.desc())
                    .limit(1)
                )
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
            q = q.where(artifacts_t.c.name.ilike(f"%{_escape_like(name)}%", escape="\\"))
        if hash_prefix:
            q = q.where(
                artifacts_t.c.content_hash.like(
                    f"{_escape_like(hash_prefix.lower())}%", escape="\\"
                )
            )
        if run_id:
            used = sa.select(uses_t.c.artifact_id).where(uses_t.c.run_id == run_id)
            q = q.where(sa.or_(artifacts_t.c.run_id == run_id, artifacts_t.c.id.in_(used)))
        if step:
            q = q.where(artifacts_t.c.step == step)
        q = q.order_by(artifacts_t.c.name, artifacts_t.c.version.desc()).limit(limit)
        with self._read() as conn:
            return [_artifact(r) for r in conn.execute(q)]

    def asset_names(self) -> list[tuple[str, int, float]]:
        """Every asset name with its number of versions and the latest creation time."""
        q = (
            sa.select(artifacts_t.c.name, sa.func.count(), sa.func.max(artifacts_t.c.created_at))
            .group_by(artifacts_t.c.name)
            .order_by(artifacts_t.c.name)
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
        ids = list(dict.fromkeys(ids))
        out: dict[str, list[str]] = {i: [] for i in ids}
        with self._read() as conn:
            for k in range(0, len(ids), 500):
                q = sa.select(edges_t).where(edges_t.c.parent_id.in_(ids[k : k + 500]))
                for r in conn.execute(q):
                    out[r.parent_id].append(r.child_id)
        return out

    def runs_using(self, artifact_id: str) -> list[tuple[str, str, str]]:
        """(run id, step, role) for every run that produced or reused the artifact."""
        q = sa.select(uses_t.c.run_id, uses_t.c.step, uses_t.c.role).where(
            uses_t.c.artifact_id == artifact_id
        )
        with self._read() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(q)]

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


if TYPE_CHECKING:  # SqlCatalog provides both interfaces (checked by mypy)

    def _implements(c: SqlCatalog) -> tuple[RuntimeCatalog, CatalogReader]:
        return c, c
