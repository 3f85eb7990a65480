"""What a run needs of the SQL catalog, on the DBAPI drivers (``dbapi.py``).

``RuntimeSqlCatalog`` implements ``base.RuntimeCatalog`` for SQLite and PostgreSQL
with plain SQL, written once for both: cache lookups, the previous records of a
pipeline's steps, catalog references (``find``), the run's start, heartbeat and end,
and group-committed step records; it also creates and upgrades the schema
(``migrations.py``, plain SQL too), analyzes stale PostgreSQL tables, and reads runs
and their steps for ``flowyml runs``. Running a pipeline opens this, and only this
(``Stack.open_runtime_catalog``); ``sql.SqlCatalog``, the full catalog, inherits
everything here, so both write the same rows.

Writes happen in one transaction per batch. On SQLite each is ``BEGIN IMMEDIATE`` in
WAL mode; on PostgreSQL a transaction-scoped advisory lock per asset name serializes
version assignment. On both, the unique constraint on ``(name, version)`` plus the
retry of ``dbapi.Db.write`` makes concurrent version assignment safe.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from ..core.errors import ArtifactNotFoundError, CatalogError
from ..core.hashing import hash_bytes
from ..core.names import closest, is_version
from . import liveness
from .dbapi import SCHEMA_VERSION, Cursor, Db, in_list, parse_url
from .records import (
    ArtifactRecord,
    CacheHit,
    NewOutput,
    RunRecord,
    StepRecord,
    Write,
    artifact_id,
)

if TYPE_CHECKING:
    from .base import RuntimeCatalog


class FullCatalog(Protocol):
    """What this module asks of the full catalog (``sql.SqlCatalog``), which it never
    imports: ``catalog.open_runtime_catalog`` hands it a way to open one (it says what
    is wrong with a URL the driver layer does not open)."""

    def close(self) -> None: ...

ART_COLS = ("id", "name", "version", "content_hash", "size", "materializer", "type_name",
            "meta", "run_id", "step", "code_version", "created_at", "data")
STEP_COLS = ("run_id", "pipeline", "step", "status", "cache_key", "reason", "code_version",
             "started_at", "duration", "fingerprint", "inputs", "vals", "outputs", "error",
             "attempts", "reads")
RUN_COLS = ("id", "pipeline", "status", "started_at", "finished_at", "error", "params", "stats",
            "host", "pid", "heartbeat", "stack")
_ARTS = ", ".join(ART_COLS)
_RUNS = ", ".join(RUN_COLS)
_STEPS = ", ".join(STEP_COLS)
CATALOG_ID_KEY = "catalog_id"  # flowyml_meta: see RuntimeSqlCatalog.catalog_id
CATALOG_TABLES = ("flowyml_meta", "runs", "step_runs", "artifacts", "lineage_edges",
                  "derivation_edges", "artifact_uses", "cache_entries", "aliases",
                  "code_sources", "code_versions", "latest_outputs", "retired_versions")
_ANALYZE_LOCK_KEY = 0x666C6F77616E6C  # one process at a time analyzes a catalog
# PostgreSQL: analyze a table at open when it was never analyzed (its planner estimates
# are guesses, even for an empty table), or when this many rows, and at least half as
# many as it has, changed since its last ANALYZE (autovacuum, when on, acts at 10%)
STALE_MIN_ROWS = 10_000


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    except ValueError:
        return "<unparseable catalog URL>"


class RuntimeSqlCatalog:
    """Cache lookups, step records and the run's life, in plain SQL."""

    def __init__(
        self, url: str, *, stack_name: str = "default", open_full: Callable[[], FullCatalog]
    ) -> None:
        self._names(url, stack_name)
        self._open_full = open_full
        if parse_url(url) is None:  # the full catalog says what is wrong with the URL
            self._full_catalog()
        self._open_db()
        self._ensure_schema()

    def _names(self, url: str, stack_name: str) -> None:
        self.url = url
        self.display_url = mask_url(url)
        self.stack_name = stack_name
        self._full: FullCatalog | None = None
        self._id: str | None = None  # see catalog_id
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        self._secrets: set[str] = {password} if password else set()

    def _open_db(self) -> None:
        parsed = parse_url(self.url)
        if parsed is None or parsed[1] == ":memory:":
            raise CatalogError(
                f"catalog URL {self.display_url!r} of stack {self.stack_name!r} is not one "
                "FlowyML opens: use sqlite:///path/catalog.db (a file: an in-memory catalog "
                "would vanish with the process) or postgresql+psycopg://USER:PASSWORD@HOST/DB "
                "(pip install 'flowyml-core[postgres]')"
            )
        self.db = Db(parsed[0], parsed[1], self.display_url, self.stack_name, self._secrets)

    def _full_catalog(self) -> FullCatalog:
        """The full catalog on the same database (it explains a URL this module does
        not open), opened once."""
        if self._full is None:
            self._full = self._open_full()
        return self._full

    def _ensure_schema(self) -> None:
        """Create the schema on first use; apply pending migrations (see migrations.py);
        on PostgreSQL, analyze the tables whose statistics are missing or stale."""
        if self.db.schema_version() != SCHEMA_VERSION:
            from . import migrations

            self.db.write(lambda cur: migrations.upgrade(cur, self.display_url))
        stale = self._stale_tables()
        if stale:
            try:  # best effort: a reader without the right to analyze still reads
                self._analyze(stale, wait=False)
            except CatalogError:
                pass

    def schema_version(self) -> int:
        return self.db.schema_version()

    def catalog_id(self, create: bool = True) -> str | None:
        """This catalog's stable id (``flowyml_meta``), made on first need: it names
        the catalog in the stores it writes to (``stores/catalogs.py``). Read once per
        process; None when there is none yet and ``create`` is false. (A meta row, not
        a schema change: an older FlowyML ignores it.)"""
        if self._id is None:
            self._id = self._read_id()
            if self._id is None and create:
                self._id = self.db.write(self._make_id)
        return self._id

    def _read_id(self) -> str | None:
        with self.db.read() as cur:
            row = cur.one('SELECT value FROM flowyml_meta WHERE "key" = :k', {"k": CATALOG_ID_KEY})
        return None if row is None else str(row[0])

    @staticmethod
    def _make_id(cur: Cursor) -> str:
        """Insert an id (16 random hex digits) unless another process did first; return
        the one that stays."""
        cur.run('INSERT INTO flowyml_meta ("key", value) VALUES (:k, :v) ON CONFLICT ("key") '
                "DO NOTHING", {"k": CATALOG_ID_KEY, "v": os.urandom(8).hex()})
        return str(cur.one('SELECT value FROM flowyml_meta WHERE "key" = :k',
                           {"k": CATALOG_ID_KEY})[0])

    def analyze(self, tables: Iterable[str] | None = None) -> None:
        """Refresh the query planner's statistics of the catalog's tables (all of them
        by default): ``ANALYZE``, on SQLite and PostgreSQL. PostgreSQL catalogs get this
        automatically when opened with missing or stale statistics (see ``sql.py``);
        call it after loading or restoring a catalog in bulk."""
        self._analyze(sorted(CATALOG_TABLES) if tables is None else list(tables), wait=True)

    def _analyze(self, tables: list[str], wait: bool) -> bool:
        """ANALYZE ``tables``; without ``wait``, skipped (False) while another process is
        analyzing this PostgreSQL catalog."""
        unknown = set(tables) - set(CATALOG_TABLES)
        if unknown:
            raise ValueError(f"not catalog tables: {sorted(unknown)}")

        def fn(cur: Cursor) -> bool:
            if cur.dialect == "postgresql" and not wait:
                lock = cur.one("SELECT pg_try_advisory_xact_lock(:k)", {"k": _ANALYZE_LOCK_KEY})
                if not lock[0]:
                    return False
            for table in tables:
                cur.run(f"ANALYZE {table}")  # a catalog table's name, checked above
            return True

        return self.db.write(fn)

    def _stale_tables(self) -> list[str]:
        """The catalog tables whose PostgreSQL statistics are missing or far behind."""
        if self.db.dialect != "postgresql":
            return []
        names, params = in_list("t", CATALOG_TABLES)
        params["rows"] = STALE_MIN_ROWS
        with self.db.read() as cur:
            rows = cur.all(
                "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                f"AND relname IN {names} AND (n_mod_since_analyze >= GREATEST(:rows, "
                "n_live_tup / 2) OR (last_analyze IS NULL AND last_autoanalyze IS NULL))",
                params,
            )
        return sorted(r[0] for r in rows)

    def close(self) -> None:
        self.db.close()
        if self._full is not None:
            self._full.close()

    # -------------------------------------------------------------- runs
    def start_run(
        self, run_id: str, pipeline: str, params: dict[str, Any], started_at: float
    ) -> None:
        row = {"id": run_id, "pipeline": pipeline, "status": "running", "started_at": started_at,
               "params": dumps(params), "stats": "{}", "host": liveness.hostname(),
               "pid": os.getpid(), "heartbeat": started_at, "stack": self.stack_name}
        cols = ", ".join(row)
        marks = ", ".join(":" + c for c in row)
        self.db.write(lambda cur: cur.run(f"INSERT INTO runs ({cols}) VALUES ({marks})", row))

    def finish_run(
        self, run_id: str, status: str, error: str | None, stats: dict[str, Any]
    ) -> None:
        now = time.time()
        row = {"id": run_id, "status": status, "error": error, "t": now,
               "stats": dumps(stats)}

        def fn(cur: Cursor) -> None:
            cur.run("UPDATE runs SET status = :status, error = :error, finished_at = :t, "
                    "stats = :stats WHERE id = :id", row)
            if status == "succeeded":
                _advance_latest(cur, run_id, now)

        self.db.write(fn)

    def heartbeat(self, run_id: str) -> None:
        """Mark a running run as alive (the runtime calls this periodically)."""
        row = {"id": run_id, "t": time.time()}
        self.db.write(lambda cur: cur.run(
            "UPDATE runs SET heartbeat = :t WHERE id = :id AND status = 'running'", row))

    # ---------------------------------------------- runs, as readers see them
    # (here, not in sql.py: `flowyml runs` opens only what a run opens)
    def get_run(self, run_id: str) -> RunRecord:
        """The run ``run_id`` (``liveness`` applied); raises ``ArtifactNotFoundError``."""
        with self.db.read() as cur:
            row = cur.one(f"SELECT {_RUNS} FROM runs WHERE id = :id", {"id": run_id})
        if row is None:
            raise ArtifactNotFoundError(f"no run {run_id!r} in catalog {self.display_url}")
        return run_from(dict(zip(RUN_COLS, row, strict=True)))

    def list_runs(self, limit: int = 50, pipeline: str | None = None) -> list[RunRecord]:
        """The latest runs (of ``pipeline``), newest first."""
        where = "WHERE pipeline = :p " if pipeline else ""
        with self.db.read() as cur:
            rows = cur.all(f"SELECT {_RUNS} FROM runs {where}ORDER BY started_at DESC "
                           "LIMIT :n", {"p": pipeline, "n": int(limit)})
        return [run_from(dict(zip(RUN_COLS, r, strict=True))) for r in rows]

    def step_runs(self, run_id: str) -> list[StepRecord]:
        """The step records of a run, in the order they were written."""
        with self.db.read() as cur:
            rows = cur.all(f"SELECT {_STEPS} FROM step_runs WHERE run_id = :r ORDER BY id",
                           {"r": run_id})
        return [step_from(dict(zip(STEP_COLS, r, strict=True))) for r in rows]

    def step_counts(self, run_ids: list[str]) -> dict[str, dict[str, int]]:
        """Run -> {status: number of its steps} (a mapped step's element rows,
        ``step[i]``, are not steps): one grouped query, not every record."""
        out: dict[str, dict[str, int]] = {r: {} for r in run_ids}
        with self.db.read() as cur:
            for chunk in chunks(list(dict.fromkeys(run_ids))):
                marks, params = in_list("r", chunk)
                for run, status, n in cur.all(
                    f"SELECT run_id, status, COUNT(*) FROM step_runs WHERE run_id IN {marks} "
                    "AND step NOT LIKE '%]' GROUP BY run_id, status", params,
                ):
                    out[run][status] = int(n)
        return out

    # -------------------------------------------------------------- cache
    def lookup_cache_many(self, keys: list[str]) -> dict[str, CacheHit]:
        """Cache hits among ``keys`` (two queries per 500 keys)."""
        with self.db.read() as cur:
            if len(keys) == 1:  # a chain asks one key at a time: no list to build
                rows = cur.all(_LOOKUP_ONE, {"k": keys[0]})
                return _hits(cur, rows) if rows else {}
            rows = []
            for chunk in chunks(keys):
                marks, params = in_list("k", chunk)
                rows += cur.all(f"{_LOOKUP} WHERE cache_key IN {marks}", params)
            return _hits(cur, rows)

    def expected_hits(
        self, pipeline: str, steps: list[str], code_versions: Mapping[str, str] | None = None
    ) -> dict[str, CacheHit]:
        """The cache hits of the keys ``steps`` had last time (see ``base``): one probe
        per step into ``ix_step_runs_not_failed`` and one into the cache, in one query
        per 500 steps, plus the artifacts of the entries kept (a step whose code version
        differs from its record's is dropped first: nothing of it is decoded)."""
        with self.db.read() as cur:
            rows = []
            for chunk in chunks(list(dict.fromkeys(steps))):
                params: dict[str, Any] = {f"s{k}": s for k, s in enumerate(chunk)}
                params["pipeline"] = pipeline
                rows += cur.all(_expected_sql(len(chunk)), params)
            if code_versions is not None:
                rows = [r for r in rows if code_versions.get(r[2]) == r[3]]
            return _hits(cur, [(r[0], r[1], r[4], r[5], r[6]) for r in rows]) if rows else {}

    def known_code_versions(self, versions: Iterable[str]) -> set[str]:
        """The code versions among ``versions`` that an execution recorded (see
        ``base``): one query per 500."""
        out: set[str] = set()
        with self.db.read() as cur:
            for chunk in chunks(sorted(set(versions))):
                marks, params = in_list("v", chunk)
                out.update(r[0] for r in cur.all(
                    f"SELECT code_version FROM code_versions WHERE code_version IN {marks}",
                    params))
        return out

    def recorded_assets(self, names: Iterable[str]) -> set[str]:
        """The names among ``names`` that have an artifact (see ``base``): one probe
        each into the ``(name, version)`` index, in one query per 500 names."""
        out: set[str] = set()
        with self.db.read() as cur:
            for chunk in chunks(sorted(set(names))):
                params = {f"n{k}": n for k, n in enumerate(chunk)}
                out.update(r[0] for r in cur.all(_recorded_sql(len(chunk)), params))
        return out

    def previous_steps(self, pipeline: str, steps: list[str]) -> dict[str, StepRecord]:
        """The latest non-failed record of each of ``steps`` in ``pipeline``: one query,
        one probe per step into ``ix_step_runs_not_failed``, however long the history."""
        out: dict[str, StepRecord] = {}
        with self.db.read() as cur:
            for chunk in chunks(list(dict.fromkeys(steps))):
                params: dict[str, Any] = {f"s{k}": s for k, s in enumerate(chunk)}
                params["pipeline"] = pipeline
                for row in cur.all(_previous_steps_sql(len(chunk)), params):
                    out[row[2]] = step_from(dict(zip(STEP_COLS, row, strict=True)))
        return out

    def artifacts_by_id(self, ids: Iterable[str]) -> dict[str, ArtifactRecord]:
        with self.db.read() as cur:
            return artifacts_by_id(cur, ids)

    def find(self, name: str, selector: str | int | None = None) -> ArtifactRecord:
        """``name`` at a version number, ``"latest"`` (default) or an alias; one index
        probe each. ``latest`` is the version the successful run that finished last
        output or reused (``latest_outputs``, kept by ``finish_run``); a name no
        successful run used yet gives its newest version."""
        sel = "latest" if selector is None else str(selector)
        params: dict[str, Any] = {"n": name, "s": sel}
        with self.db.read() as cur:
            if sel == "latest":
                row = cur.one(_FIND_LATEST, params) or cur.one(_FIND_NEWEST, params)
            elif is_version(sel):
                row = cur.one(_FIND_VERSION, {"n": name, "v": int(sel)})
            else:
                row = cur.one(_FIND_ALIAS, params)
            if row is not None:
                return artifact_from(row)
            count = int(cur.one("SELECT COUNT(*) FROM artifacts WHERE name = :n", params)[0])
            if count == 0:
                names = [r[0] for r in cur.all(f"{_DISTINCT_NAMES} SELECT name FROM names "
                                               "WHERE name IS NOT NULL")]
            aliases = [] if sel == "latest" or is_version(sel) else [r[0] for r in cur.all(
                "SELECT alias FROM aliases WHERE name = :n ORDER BY alias", params)]
        if count == 0:
            close = closest(name, names)
            raise ArtifactNotFoundError(
                f"no artifact named {name!r} in catalog {self.display_url}"
                + (f" (did you mean '{close}@{sel}'?)" if close else "")
                + "; run the pipeline that produces it first (`flowyml artifacts` lists what "
                "exists)"
            )
        what = {"latest": "any version"}.get(
            sel, f"version {sel}" if is_version(sel) else f"alias {sel!r}"
        )
        also = f"; its aliases: {', '.join(aliases)}" if aliases else ""
        close = closest(sel, aliases)
        hint = f" (did you mean {close!r}?)" if close else ""
        raise ArtifactNotFoundError(
            f"asset {name!r} has no {what}{hint} in catalog "
            f"{self.display_url} (it has {count} version{'s' if count != 1 else ''}{also}; "
            f"see `flowyml artifacts {name}`)"
        )

    # -------------------------------------------------------------- recording
    def record_batch(self, writes: list[Write]) -> list[dict[str, ArtifactRecord]]:
        """Several steps' records in one transaction, in order (group commit). Each
        step's rows are still all-or-nothing; for ``"exec"`` writes the artifact
        records (with their versions) come back in the same order."""
        if not writes:
            return []
        dialect = self.db.dialect

        def fn(cur: Cursor) -> list[dict[str, ArtifactRecord]]:
            _check_referenced(cur, writes)
            execs = [w for w in writes if w.kind == "exec"]
            # every name this batch versions, locked up front in one order (no deadlock)
            _lock_names(cur, dialect, [o.name for w in execs for o in w.outputs])
            _record_sources(cur, [w.rec for w in writes if w.kind in ("exec", "fail")])
            batch = _Batch(cur, execs)
            out = [batch.add(w) for w in writes]
            batch.write(cur)
            return out

        return self.db.write(fn)

    if TYPE_CHECKING:
        def _implements(self) -> RuntimeCatalog:
            return self


# ------------------------------------------------------------------ statements
_INS_USE = ("INSERT INTO artifact_uses (artifact_id, run_id, step, role) "
            "VALUES (:a, :r, :s, :role)")
_INS_STEP = (f"INSERT INTO step_runs ({_STEPS}) VALUES ("
             + ", ".join(":" + c for c in STEP_COLS) + ")")
_INS_ART = f"INSERT INTO artifacts ({_ARTS}) VALUES (" + ", ".join(":" + c for c in ART_COLS) + ")"
_INS_EDGE = "INSERT INTO lineage_edges (child_id, parent_id, param) VALUES (:c, :p, :param)"
_INS_DERIV = ("INSERT INTO derivation_edges (child_id, run_id, param, parent_id) "
              "VALUES (:c, :r, :param, :p) ON CONFLICT DO NOTHING")
_LOOKUP = "SELECT cache_key, outputs, reads, effects, run_id FROM cache_entries"
_LOOKUP_ONE = f"{_LOOKUP} WHERE cache_key = :k"
_A_ARTS = ", ".join("a." + c for c in ART_COLS)
_FIND_LATEST = (f"SELECT {_A_ARTS} FROM latest_outputs l JOIN artifacts a "
                "ON a.id = l.artifact_id WHERE l.name = :n")
_FIND_NEWEST = (f"SELECT {_ARTS} FROM artifacts WHERE name = :n "
                "ORDER BY created_at DESC, version DESC LIMIT 1")
_FIND_VERSION = f"SELECT {_ARTS} FROM artifacts WHERE name = :n AND version = :v"
_FIND_ALIAS = (f"SELECT {_A_ARTS} FROM aliases al JOIN artifacts a ON a.name = al.name "
               "AND a.version = al.version WHERE al.name = :n AND al.alias = :s")
_UPSERT_LATEST = (
    "INSERT INTO latest_outputs (name, artifact_id, run_id, finished_at) "
    "VALUES (:n, :a, :r, :t) ON CONFLICT (name) DO UPDATE SET "
    "artifact_id = excluded.artifact_id, run_id = excluded.run_id, "
    "finished_at = excluded.finished_at WHERE latest_outputs.finished_at <= excluded.finished_at"
)
_UPSERT_CACHE = (
    "INSERT INTO cache_entries (cache_key, step, outputs, run_id, created_at, reads, "
    "effects) VALUES (:k, :s, :o, :r, :t, :reads, :fx) ON CONFLICT (cache_key) DO UPDATE "
    "SET step = excluded.step, outputs = excluded.outputs, run_id = excluded.run_id, "
    "created_at = excluded.created_at, reads = excluded.reads, effects = excluded.effects"
)


# The distinct asset names, ascending, by a loose index scan: each is the first name after
# the previous one in the ``(name, version)`` index (one probe per name, however many
# versions each has). The last row is NULL.
_DISTINCT_NAMES = (
    "WITH RECURSIVE names(name) AS (SELECT min(artifacts.name) AS name FROM artifacts "
    "UNION ALL SELECT (SELECT min(n.name) FROM artifacts AS n WHERE n.name > names.name) "
    "FROM names WHERE names.name IS NOT NULL)"
)


def chunks(seq: list[str], n: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


_ENCODER = json.JSONEncoder(sort_keys=True, default=str)  # json.dumps would make one a call
_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)
# ``_ENCODER.encode`` makes a new C encoder at every call (its circular-reference markers
# are per call); a run encodes thousands of small columns, so encoders are kept in a pool
# instead: each call takes one of its own (list.pop and append are atomic, the recorder
# thread encodes too), and one that raised is dropped with whatever markers it held
_ENCODERS: list[Any] = []


def dumps(v: Any) -> str:
    """``v`` as JSON, keys sorted, anything not JSON as its ``str``: the text of
    ``_ENCODER.encode(v)``, without making an encoder per call."""
    if type(v) is dict and not v:  # most steps' inputs or values: no encoder call
        return "{}"
    if _C_ENCODER is None:
        return _ENCODER.encode(v)
    try:
        encode = _ENCODERS.pop()
    except IndexError:
        e = _ENCODER
        try:  # the arguments ``JSONEncoder.iterencode`` passes it (CPython 3.11-3.13)
            encode = _C_ENCODER({}, e.default, json.encoder.encode_basestring_ascii, None,
                                e.key_separator, e.item_separator, e.sort_keys,
                                e.skipkeys, e.allow_nan)
        except TypeError:  # a Python whose private encoder takes others: the public path
            return _ENCODER.encode(v)
    text = "".join(encode(v, 0))
    _ENCODERS.append(encode)
    return text


# what json.loads scans with (the decoder's own scanner, an instance attribute)
_SCAN: Callable[[str, int], tuple[Any, int]] = vars(json.decoder.JSONDecoder())["scan_once"]


def loads(text: str) -> Any:
    """``json.loads(text)``, without its wrappers when ``text`` is one JSON value with
    nothing around it (every column this module wrote); anything else, and every error,
    goes through ``json.loads`` itself."""
    if type(text) is str:
        try:
            value, end = _SCAN(text, 0)
        except StopIteration:
            return json.loads(text)
        if end == len(text):
            return value
    return json.loads(text)


def artifact_from(r: Sequence[Any]) -> ArtifactRecord:
    """An artifact record from a row in ``ART_COLS`` order, whoever read it (a run's
    queries, a reader's, the lineage walk). Positional: a run reads hundreds at once,
    and most have no metadata to decode."""
    meta = r[7]
    return ArtifactRecord(
        r[0], r[1], int(r[2]), r[3], int(r[4]), r[5], r[6], r[8], r[9], r[10], float(r[11]),
        {} if not meta or meta == "{}" else loads(meta),
        None if r[12] is None else bytes(r[12]),
    )


def step_from(row: Mapping[Any, Any]) -> StepRecord:
    """A step record from a row's columns by name (``STEP_COLS``)."""
    return StepRecord(
        run_id=row["run_id"], pipeline=row["pipeline"], step=row["step"],
        status=row["status"], cache_key=row["cache_key"], reason=row["reason"],
        code_version=row["code_version"], started_at=float(row["started_at"]),
        duration=float(row["duration"]), fingerprint=_obj(row["fingerprint"]),
        inputs=_obj(row["inputs"]), values=_obj(row["vals"]),
        error=row["error"], attempts=int(row["attempts"]), outputs=_obj(row["outputs"]),
        reads=loads(row["reads"]) if row.get("reads") else [],
    )


def _obj(text: str) -> Any:
    """A JSON column; the empty object (most steps' values) without the decoder."""
    return {} if text == "{}" else loads(text)


def run_from(row: Mapping[Any, Any]) -> RunRecord:
    """A run record from a row's columns by name (``RUN_COLS``), with its status as
    readers show it (``liveness``: a running run whose driver died reads as failed)."""
    status, error = liveness.status_of(SimpleNamespace(**row))
    return RunRecord(
        id=row["id"], pipeline=row["pipeline"], status=status,
        started_at=float(row["started_at"]),
        finished_at=None if row["finished_at"] is None else float(row["finished_at"]),
        error=error, params=json.loads(row["params"] or "{}"),
        stats=json.loads(row["stats"] or "{}"), host=row["host"], pid=int(row["pid"]),
        stack=row.get("stack") or "",
    )


def step_params(rec: StepRecord) -> dict[str, Any]:
    return {
        "run_id": rec.run_id, "pipeline": rec.pipeline, "step": rec.step,
        "status": rec.status, "cache_key": rec.cache_key, "reason": rec.reason,
        "code_version": rec.code_version, "started_at": rec.started_at,
        "duration": rec.duration, "fingerprint": dumps(rec.fingerprint),
        "inputs": dumps(rec.inputs), "vals": dumps(rec.values), "outputs": dumps(rec.outputs),
        "error": rec.error, "attempts": rec.attempts,
        "reads": dumps(rec.reads) if rec.reads else None,
    }


def artifacts_by_id(cur: Cursor, ids: Iterable[str]) -> dict[str, ArtifactRecord]:
    out: dict[str, ArtifactRecord] = {}
    for chunk in chunks(list(dict.fromkeys(ids))):
        marks, params = in_list("i", chunk)
        for row in cur.all(f"SELECT {_ARTS} FROM artifacts WHERE id IN {marks}", params):
            out[row[0]] = artifact_from(row)
    return out


def _hits(cur: Cursor, rows: Iterable[Sequence[Any]]) -> dict[str, CacheHit]:
    """(cache key, outputs JSON, reads JSON, effects JSON, run id) rows (``_LOOKUP``) as
    hits; a key whose artifacts are not all there is a miss."""
    hits = {key: (loads(outputs), loads(reads) if reads else None,
                  loads(effects) if effects else None, run)
            for key, outputs, reads, effects, run in rows}
    recs = artifacts_by_id(cur, [a for ids, *_ in hits.values() for a in ids.values()])
    return {
        key: CacheHit({asset: recs[i] for asset, i in ids.items()}, reads, effects, run)
        for key, (ids, reads, effects, run) in hits.items()
        if all(i in recs for i in ids.values())
    }


@functools.lru_cache(maxsize=64)
def _expected_sql(n: int) -> str:
    """The cache entry of the key of each of ``n`` steps' newest record that did not
    fail (the probe of ``_previous_steps_sql``), with that record's step and code
    version, and the entry's reads, effects and run: ``(cache_key, outputs, step,
    code_version, reads, effects, run_id)``."""
    values = ", ".join(f"(:s{k})" for k in range(n))
    return (
        f"WITH s(step) AS (VALUES {values}) "
        "SELECT c.cache_key, c.outputs, x.step, x.code_version, c.reads, c.effects, "
        "c.run_id FROM s "
        "JOIN step_runs x ON x.id = (SELECT y.id FROM step_runs y WHERE y.pipeline = "
        ":pipeline AND y.step = s.step AND y.status <> 'failed' ORDER BY y.id DESC LIMIT 1) "
        "JOIN cache_entries c ON c.cache_key = x.cache_key"
    )


@functools.lru_cache(maxsize=64)
def _recorded_sql(n: int) -> str:
    """Which of the ``n`` names ``:n0``... have an artifact: one probe each (``EXISTS``
    stops at the first of however many versions)."""
    values = ", ".join(f"(:n{k})" for k in range(n))
    return (f"WITH s(name) AS (VALUES {values}) SELECT s.name FROM s WHERE EXISTS "
            "(SELECT 1 FROM artifacts a WHERE a.name = s.name)")


@functools.lru_cache(maxsize=64)
def _previous_steps_sql(n: int) -> str:
    """For each of the ``n`` steps ``:s0``... of ``:pipeline``, its newest record that
    did not fail: one backward probe into ``ix_step_runs_not_failed`` each (the literal
    ``'failed'`` lets both databases match the partial index)."""
    values = ", ".join(f"(:s{k})" for k in range(n))
    return (
        f"WITH s(step) AS (VALUES {values}) "
        f"SELECT {_STEPS} FROM step_runs WHERE id IN (SELECT (SELECT x.id FROM step_runs x "
        "WHERE x.pipeline = :pipeline AND x.step = s.step AND x.status <> 'failed' "
        "ORDER BY x.id DESC LIMIT 1) FROM s)"
    )


def _lock_names(cur: Cursor, dialect: str, names: Iterable[str]) -> None:
    """On PostgreSQL, serialize version assignment per asset name until commit (sorted,
    so two steps locking several names cannot deadlock). SQLite's BEGIN IMMEDIATE
    already serializes writers."""
    if dialect != "postgresql":
        return
    for name in sorted(set(names)):
        cur.run("SELECT pg_advisory_xact_lock(hashtext(:k))", {"k": "flowyml.version:" + name})


def _check_referenced(cur: Cursor, writes: list[Write]) -> None:
    """Every artifact a batch refers to (what a reuse reused, an execution's inputs)
    must exist. A run resolves catalog references at build, before it starts, so a
    prune that ran in between may have deleted one: recording it would leave lineage
    pointing at nothing, so the batch fails instead, naming it (one count per 500; the
    ids are read back only when one is missing)."""
    made = {artifact_id(o.name, o.content_hash)
            for w in writes if w.kind == "exec" for o in w.outputs}
    want = {pid for w in writes if w.kind == "exec" for pid in w.parents.values()}
    want |= {a.id for w in writes if w.kind == "reuse" for a in (w.artifacts or {}).values()}
    want -= made
    ids = list(want)
    present = 0
    for chunk in chunks(ids):  # counted, not read back: all there is the usual answer
        marks, params = in_list("i", chunk)
        present += cur.one(f"SELECT COUNT(*) FROM artifacts WHERE id IN {marks}", params)[0]
    if present == len(ids):
        return
    found: set[str] = set()
    for chunk in chunks(ids):
        marks, params = in_list("i", chunk)
        found.update(r[0] for r in cur.all(f"SELECT id FROM artifacts WHERE id IN {marks}",
                                           params))
    if want - found:
        raise CatalogError(
            f"artifact(s) {', '.join(sorted(want - found))} were deleted (flowyml prune) "
            "while this run used them; the run's steps from here on were not recorded: run "
            "the pipeline again"
        )


def _record_sources(cur: Cursor, recs: list[StepRecord]) -> None:
    """The code of executed steps, failed ones too (``flowyml diff`` of a failed run
    and the run that fixed it shows what changed), content-addressed and
    insert-if-absent: a code version already recorded is not even rendered, and a text
    is stored once. Every executed code version gets its row, sources or not
    (``known_code_versions``: a failed one known too only costs its key a lookup)."""
    pending = {r.code_version: r for r in recs if not r.sources}
    pending.update((r.code_version, r) for r in recs if r.sources)  # its code wins
    if not pending:
        return
    present: set[str] = set()
    for chunk in chunks(list(pending)):
        marks, params = in_list("v", chunk)
        present.update(r[0] for r in cur.all(
            f"SELECT code_version FROM code_versions WHERE code_version IN {marks}", params))
    versions: list[dict[str, Any]] = []
    texts: dict[str, str] = {}
    for version, rec in pending.items():
        if version in present:
            continue
        parts = {}
        for part, text in (rec.sources or {}).items():
            digest = hash_bytes(text.encode("utf-8", "surrogatepass"))
            parts[part] = digest
            texts[digest] = text
        versions.append({"v": version, "p": dumps(parts)})
    cur.many("INSERT INTO code_versions (code_version, parts) VALUES (:v, :p) "
             "ON CONFLICT DO NOTHING", versions)
    cur.many("INSERT INTO code_sources (digest, text) VALUES (:d, :t) ON CONFLICT DO NOTHING",
             [{"d": d, "t": t} for d, t in texts.items()])


class _Batch:
    """The rows of a batch of step records, in order, written with one ``executemany``
    per table: what already exists and each name's highest version are read once for
    the whole batch, and versions continue from there."""

    def __init__(self, cur: Cursor, execs: list[Write]) -> None:
        self.now = time.time()
        ids = [artifact_id(o.name, o.content_hash) for w in execs for o in w.outputs]
        self.known = artifacts_by_id(cur, ids)
        self.version = _max_versions(cur, {o.name for w in execs for o in w.outputs})
        self.arts: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.derivs: list[dict[str, Any]] = []
        self.uses: list[dict[str, Any]] = []
        self.cache: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []

    def add(self, w: Write) -> dict[str, ArtifactRecord]:
        """``w``'s rows; the artifacts of an execution (new ones get their versions)."""
        rec = w.rec
        result: dict[str, ArtifactRecord] = {}
        if w.kind == "reuse":
            rec.outputs = {k: v.id for k, v in (w.artifacts or {}).items()}
            self.uses += [{"a": a.id, "r": rec.run_id, "s": rec.step, "role": "reused"}
                          for a in (w.artifacts or {}).values()]
        elif w.kind == "exec":
            for out in w.outputs:
                result[out.name] = self._output(rec, out, w.parents)
            rec.outputs = {k: v.id for k, v in result.items()}
            if w.cache:
                self.cache.append({"k": rec.cache_key, "s": rec.step, "o": dumps(rec.outputs),
                                   "r": rec.run_id, "t": self.now,
                                   "reads": dumps(rec.reads) if rec.reads else None,
                                   "fx": dumps(w.effects) if w.effects else None})
        self.steps.append(step_params(rec))
        return result

    def _output(self, rec: StepRecord, out: NewOutput, parents: dict[str, str]) -> ArtifactRecord:
        aid = artifact_id(out.name, out.content_hash)
        art = self.known.get(aid)
        if art is not None and parents:  # the same bytes again: keep this derivation
            self.derivs += [{"c": aid, "r": rec.run_id, "param": k, "p": p}
                            for k, p in sorted(parents.items())]
        if art is None:
            version = self.version[out.name] = self.version.get(out.name, 0) + 1
            art = self.known[aid] = ArtifactRecord(
                aid, out.name, version, out.content_hash, out.size, out.materializer,
                out.type_name, rec.run_id, rec.step, rec.code_version, self.now, out.meta,
                out.data)
            row = {c: getattr(art, c) for c in ART_COLS}
            row["meta"] = dumps(out.meta)
            self.arts.append(row)
            self.edges += [{"c": aid, "p": p, "param": k} for k, p in sorted(parents.items())]
        self.uses.append({"a": aid, "r": rec.run_id, "s": rec.step, "role": "produced"})
        return art

    def write(self, cur: Cursor) -> None:
        for statement, rows in ((_INS_ART, self.arts), (_INS_EDGE, self.edges),
                                (_INS_DERIV, self.derivs), (_INS_USE, self.uses),
                                (_UPSERT_CACHE, self.cache), (_INS_STEP, self.steps)):
            cur.many(statement, rows)


def _advance_latest(cur: Cursor, run_id: str, finished_at: float) -> None:
    """A run succeeded: what it used becomes its names' ``@latest`` (per name, the
    newest version it used), unless a run that finished later already set one."""
    best: dict[str, tuple[float, int, str]] = {}
    for name, aid, created, version in cur.all(
        "SELECT a.name, a.id, a.created_at, a.version FROM artifact_uses u "
        "JOIN artifacts a ON a.id = u.artifact_id WHERE u.run_id = :r", {"r": run_id}
    ):
        best[name] = max(best.get(name, (-1.0, -1, "")), (float(created), int(version), aid))
    cur.many(_UPSERT_LATEST, [{"n": n, "a": b[2], "r": run_id, "t": finished_at}
                              for n, b in sorted(best.items())])


def _max_versions(cur: Cursor, names: set[str]) -> dict[str, int]:
    """Each name's highest version, of those that exist and those ``prune`` deleted
    (``retired_versions``): new versions continue above both, so no number is given
    twice. One probe of ``(name, version)`` and one of ``retired_versions`` per name (a
    scalar subquery each). ``MAX ... WHERE name IN (...) GROUP BY name`` read every
    version of those names instead: a run got slower with each run before it."""
    out: dict[str, int] = {}
    for chunk in chunks(sorted(names)):
        for n, v, retired in cur.all(_max_versions_sql(len(chunk)),
                                     {f"n{k}": n for k, n in enumerate(chunk)}):
            top = max((int(x) for x in (v, retired) if x is not None), default=None)
            if top is not None:
                out[n] = top
    return out


@functools.lru_cache(maxsize=64)
def _max_versions_sql(n: int) -> str:
    values = ", ".join(f"(:n{k})" for k in range(n))
    return (f"WITH n(name) AS (VALUES {values}) SELECT n.name, (SELECT MAX(a.version) "
            "FROM artifacts a WHERE a.name = n.name), (SELECT r.version FROM "
            "retired_versions r WHERE r.name = n.name) FROM n")
