"""The full catalog: SQLite (default) and PostgreSQL, read through SQLAlchemy Core.

``SqlCatalog`` implements both interfaces of ``base.py`` (``RuntimeCatalog`` and
``CatalogReader``). What a run writes, the schema's creation and upgrades
(``migrations.py``) and the runs list are inherited from ``runtime_sql.py``, on the
database driver; what lineage, search, the CLI and the web page read is here, on
SQLAlchemy Core, whose tables below describe the latest schema (a test compares them
with a migrated catalog). Administration writes (aliases, prune) go through
``_write``: one transaction, ``BEGIN IMMEDIATE`` on SQLite, conflicts (a lock, a
unique violation) retried after the same jittered, capped backoff as a run's writes.
The status of a run still marked running is decided by ``liveness.py``.

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
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY as pg_array
from sqlalchemy.engine import Connection, Engine

from ..core.errors import ArtifactNotFoundError, CatalogError
from . import liveness
from .base import CatalogSnapshot, Deletion, Derivation
from .dbapi import CONFLICT_WORDS, WRITE_ATTEMPTS, backoff, configure_sqlite
from .migrations import refresh_latest
from .records import ArtifactRecord, CodeVersion
from .records import artifact_id as artifact_id  # re-exported: tests and tools use it here
from .runtime_sql import ART_COLS, RuntimeSqlCatalog, artifact_from, chunks, run_from

if TYPE_CHECKING:
    from .base import CatalogReader, RetentionCatalog, RuntimeCatalog

T = TypeVar("T")

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
    sa.Column("data", sa.LargeBinary, nullable=True),  # migration 7: a tiny object's bytes
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
latest_t = sa.Table(  # migration 6: each name's @latest (runtime_sql.find)
    "latest_outputs",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("artifact_id", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("finished_at", sa.Float, nullable=False),
)

_ART = [artifacts_t.c[c] for c in ART_COLS]  # the columns artifact_from reads, in its order
_RETRYABLE = (sa.exc.IntegrityError, sa.exc.OperationalError)


class SqlCatalog(RuntimeSqlCatalog):
    """Runs, steps, artifacts, versions, aliases, cache keys and lineage edges: what a
    run writes (inherited from ``RuntimeSqlCatalog``, on the DBAPI driver) and what
    lineage, the CLI and the web page read (here, on SQLAlchemy Core)."""

    def __init__(self, url: str, *, stack_name: str = "default") -> None:
        self._names(url, stack_name)
        try:
            pw = sa.engine.make_url(url).password
            if pw:
                self._secrets.add(str(pw))
        except Exception:  # an unparseable URL has no password; _make_engine says why
            pass
        self.engine = self._make_engine(url)
        self._open_db()
        self._ensure_schema()  # on the driver, as a run does (runtime_sql.py)

    def _full_catalog(self) -> SqlCatalog:
        return self  # it is the full catalog

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
            sa.event.listen(engine, "connect", lambda conn, _rec: configure_sqlite(conn))
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
            time.sleep(backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _write_error(self, exc: sa.exc.IntegrityError | sa.exc.OperationalError) -> CatalogError:
        if isinstance(exc, sa.exc.OperationalError):
            return self._conn_error(exc)
        return self.db.conflict_error(exc.orig or exc)

    def _conn_error(self, exc: Exception) -> CatalogError:
        return self.db.conn_error(getattr(exc, "orig", exc))

    def close(self) -> None:
        super().close()
        self.engine.dispose()

    # -------------------------------------------------------------- artifacts
    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        rec = self.artifacts_by_id([artifact_id]).get(artifact_id)
        if rec is None:
            raise ArtifactNotFoundError(
                f"no artifact with id {artifact_id!r} in catalog {self.display_url}"
            )
        return rec

    def versions(self, name: str) -> list[ArtifactRecord]:
        q = sa.select(*_ART).where(artifacts_t.c.name == name).order_by(artifacts_t.c.version)
        with self._read() as conn:
            return [artifact_from(r) for r in conn.execute(q)]

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
        q = sa.select(*_ART)
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
            return [artifact_from(r) for r in conn.execute(q)]

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
                    records[node] = artifact_from((node, *art))
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
            q = sa.select(artifacts_t.c.content_hash).where(artifacts_t.c.data.is_(None))
            return {r[0] for r in conn.execute(q.distinct())}

    def inline_objects(self) -> list[tuple[str, str, bytes]]:
        """(artifact id, content hash, bytes) of every object kept in the catalog."""
        q = sa.select(artifacts_t.c.id, artifacts_t.c.content_hash, artifacts_t.c.data).where(
            artifacts_t.c.data.is_not(None))
        with self._read() as conn:
            return [(r[0], r[1], bytes(r[2])) for r in conn.execute(q)]

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


def _sqlite_on_begin(conn: Connection) -> None:
    # Writes take the lock up front. Reads run in autocommit: each SELECT sees a
    # consistent snapshot, and catalog rows that reads combine are never deleted.
    if conn.get_execution_options().get("flowyml_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _connect_args(u: sa.engine.URL) -> dict[str, Any]:
    if u.get_backend_name() == "postgresql":
        return {"connect_timeout": 5}
    return {}


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    msg = str(getattr(exc, "orig", exc)).lower()
    return any(s in msg for s in CONFLICT_WORDS)


def _code_texts(conn: Connection, digests: Iterable[str]) -> dict[str, str]:
    digests = list(digests)
    out: dict[str, str] = {}
    for i in range(0, len(digests), 500):
        q = sa.select(code_sources_t).where(code_sources_t.c.digest.in_(digests[i : i + 500]))
        out.update((r.digest, r.text) for r in conn.execute(q))
    return out


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


_ARTIFACT_COLS = ART_COLS[1:]  # the walk reads the id as its node


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


# ------------------------------------------------------------------ derivations


def _derivations(conn: Connection, ids: list[str]) -> dict[str, list[Derivation]]:
    """Each artifact's productions (``artifact_uses``), grouped by what made them: step,
    code version, run values (from the step rows) and parents (``lineage_edges`` for
    the first production, ``derivation_edges`` for the others)."""
    firsts: dict[str, tuple[str, str, str]] = {}  # id -> (run, step, code) of the first
    made: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
    edges: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
    a = artifacts_t.c
    for chunk in chunks(ids):
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
    for chunk in chunks(runs):
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
        runs=[run_from(r._mapping) for r in conn.execute(sa.select(runs_t))],
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
    for chunk in chunks(runs):
        conn.execute(step_runs_t.delete().where(step_runs_t.c.run_id.in_(chunk)))
        conn.execute(uses_t.delete().where(uses_t.c.run_id.in_(chunk)))
        conn.execute(deriv_t.delete().where(deriv_t.c.run_id.in_(chunk)))
        conn.execute(runs_t.delete().where(runs_t.c.id.in_(chunk)))
    for chunk in chunks(arts):
        conn.execute(uses_t.delete().where(uses_t.c.artifact_id.in_(chunk)))
        conn.execute(edges_t.delete().where(edges_t.c.child_id.in_(chunk)))
        conn.execute(deriv_t.delete().where(deriv_t.c.child_id.in_(chunk)))
        conn.execute(artifacts_t.delete().where(artifacts_t.c.id.in_(chunk)))
    stale = [r.cache_key for r in conn.execute(sa.select(cache_t.c.cache_key, cache_t.c.outputs))
             if d.artifacts.intersection(json.loads(r.outputs).values())]
    for chunk in chunks(stale):  # a cache entry never points at a deleted artifact
        conn.execute(cache_t.delete().where(cache_t.c.cache_key.in_(chunk)))
    _repair_latest(conn, d)


def _repair_latest(conn: Connection, d: Deletion) -> None:
    """The names whose ``@latest`` pointed at a deleted run or artifact get it again
    from what is left (``migrations.refresh_latest``)."""
    names = sorted({
        r.name for r in conn.execute(sa.select(latest_t.c.name, latest_t.c.artifact_id,
                                               latest_t.c.run_id))
        if r.artifact_id in d.artifacts or r.run_id in d.runs
    })
    for chunk in chunks(names):
        refresh_latest(lambda q, p: conn.execute(sa.text(q), p), chunk)


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
