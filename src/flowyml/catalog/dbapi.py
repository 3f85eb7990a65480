"""The catalog's connections on the DBAPI drivers themselves (``sqlite3``, ``psycopg``).

Every catalog statement goes through this small layer: a run's (cache lookups, step
records, the run's start and end: few, simple, once per step), the schema migrations,
and the readers' and administration's of the full catalog (``sql.py``: lineage,
search, the web page, aliases, prune). Through SQLAlchemy each statement cost ~0.1 ms
of Python, and importing it ~0.2 s before the first one: a catalog opens here in a few
milliseconds.

What it keeps from the engine it replaces:

- one connection per thread (the recorder thread writes while the loop reads), made on
  first use and dropped after a fork (a child never uses its parent's connection);
- SQLite in WAL mode with a busy timeout, reads in autocommit, and every write
  transaction ``BEGIN IMMEDIATE`` (the lock up front: two writers never deadlock);
- conflicts (a unique violation, a lock, a serialization failure) retried after
  ``backoff``; other errors, and the last conflict, raise ``CatalogError``;
- statements written once with ``:name`` parameters, turned into positional ones
  (``?``, ``%s``) once and kept, with the getter that lists a row's values in their
  order (``positional``): a driver binding by name looks each name up again for every
  row (SQLite makes a string of it first), ~40% of an ``executemany`` of step records.

Nothing here imports SQLAlchemy.
"""

from __future__ import annotations

import functools
import operator
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from ..core.errors import CatalogError

T = TypeVar("T")

SCHEMA_VERSION = 11  # migrations.LATEST (a test keeps them equal)
SCHEMA_KEY = "schema_version"
WRITE_ATTEMPTS = 30
RETRY_FIRST_DELAY = 0.005  # seconds before the first retry (at most; see backoff)
RETRY_MAX_DELAY = 0.5  # no single wait is longer
CONFLICT_WORDS = ("locked", "busy", "deadlock", "serializ", "could not obtain")


def backoff(attempt: int) -> float:
    """Seconds to wait before retrying after conflict number ``attempt`` (from 0): the
    ceiling doubles from ``RETRY_FIRST_DELAY`` up to ``RETRY_MAX_DELAY``, and the wait is
    a random point in its upper half, so writers that collided do not retry in step."""
    ceiling = min(RETRY_MAX_DELAY, RETRY_FIRST_DELAY * 2 ** min(attempt, 30))
    import random

    return ceiling / 2 + random.uniform(0, ceiling / 2)


def parse_url(url: str) -> tuple[str, str] | None:
    """``(dialect, target)`` for the URLs this layer opens: ``sqlite:///PATH`` (target:
    the file, or ``:memory:``) and ``postgresql[+psycopg]://...`` (target: a libpq
    URL). ``None`` for anything else (``sql.SqlCatalog`` says what is wrong with it)."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if "?" in path or not path:
            return None
        return "sqlite", unquote(path)
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgresql+psycopg", "postgres"):
        try:
            urlsplit(url).port  # noqa: B018 - a malformed port raises here
        except ValueError:
            return None
        return "postgresql", "postgresql://" + rest
    return None


_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")  # ``:name``; not a cast (``x::text``)


@functools.lru_cache(maxsize=1024)
def positional(sql: str, dialect: str) -> tuple[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]]:
    """``sql`` with each ``:name`` made the driver's positional mark (``?``; psycopg's
    ``%s``, with ``%`` doubled), and the function that gives a parameter mapping's values
    in the marks' order (a name used twice is given twice)."""
    if dialect != "sqlite":
        sql = sql.replace("%", "%%")
    names = _PARAM.findall(sql)
    text = _PARAM.sub("?" if dialect == "sqlite" else "%s", sql)
    if not names:
        return text, _no_values
    if len(names) == 1:
        name = names[0]
        return text, lambda params: (params[name],)
    return text, operator.itemgetter(*names)  # (a tuple for two names or more)


def _no_values(params: Mapping[str, Any]) -> tuple[Any, ...]:
    return ()


def in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:p0, :p1, ...)`` and its parameters, for ``IN`` over ``values``."""
    names = [f"{prefix}{i}" for i in range(len(values))]
    return "(" + ", ".join(":" + n for n in names) + ")", dict(zip(names, values, strict=True))


class Db:
    """Connections to one catalog database, one per thread."""

    def __init__(self, dialect: str, target: str, display_url: str, stack_name: str,
                 secrets: set[str]) -> None:
        self.dialect = dialect
        self._target = target
        self._display = display_url
        self._stack = stack_name
        self._secrets = secrets
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        if dialect == "sqlite":
            sqlite3 = _sqlite()
            self._errors: tuple[type[Exception], ...] = (sqlite3.Error,)
            self._integrity: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
        else:
            try:
                import psycopg
            except ModuleNotFoundError as exc:
                raise CatalogError(
                    f"catalog {display_url!r} of stack {stack_name!r} needs the driver "
                    f"{exc.name!r}: pip install 'flowyml-core[postgres]'"
                ) from exc
            self._errors = (psycopg.Error,)
            self._integrity = (psycopg.IntegrityError,)

    # -------------------------------------------------------------- connections
    def _conn(self) -> Any:
        if os.getpid() != self._pid:  # forked: the parent's connections are not ours
            self._pid, self._local, self._all = os.getpid(), threading.local(), []
        conn = getattr(self._local, "conn", None)
        if conn is not None and (getattr(conn, "closed", False) or getattr(conn, "broken", False)):
            self._drop()  # a PostgreSQL link that died since (server restart): a new one
            conn = None
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _drop(self) -> None:
        """Forget this thread's connection (after an error that may have broken it)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                if conn in self._all:
                    self._all.remove(conn)
            _quietly(conn.close)

    def _connect(self) -> Any:
        try:
            if self.dialect == "sqlite":
                return _sqlite_connect(self._target)
            import psycopg

            return psycopg.connect(self._target, autocommit=True, connect_timeout=5)
        except CatalogError:
            raise
        except self._errors as exc:
            raise self.conn_error(exc) from exc

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            _quietly(conn.close)
        self._local = threading.local()

    # -------------------------------------------------------------- statements
    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A cursor in autocommit: each statement sees a consistent snapshot."""
        try:
            yield Cursor(self, self._conn().cursor())
        except self._errors as exc:
            self._drop()
            raise self.conn_error(exc) from exc

    def write(self, fn: Callable[[Cursor], T], attempts: int = WRITE_ATTEMPTS) -> T:
        """Run ``fn`` in one write transaction, retrying conflicts (version races,
        locks) after ``backoff``; other errors, and the last conflict, raise."""
        for attempt in range(attempts):
            conn = self._conn()
            cur = conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
                try:
                    result = fn(Cursor(self, cur))
                except BaseException:
                    _rollback(cur)
                    raise
                cur.execute("COMMIT")
                return result
            except self._errors as exc:
                if not self._conflict(exc) or attempt == attempts - 1:
                    if not isinstance(exc, self._integrity):
                        self._drop()
                        raise self.conn_error(exc) from exc
                    raise self.conflict_error(exc) from exc
            finally:
                _quietly(cur.close)
            time.sleep(backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _conflict(self, exc: Exception) -> bool:
        if isinstance(exc, self._integrity):
            return True
        msg = str(exc).lower()
        return any(s in msg for s in CONFLICT_WORDS)

    def conflict_error(self, exc: BaseException) -> CatalogError:
        """A write that still conflicted after its last attempt (a unique violation)."""
        from ..core.secrets import redact

        return CatalogError(
            f"catalog {self._display} of stack {self._stack!r}: "
            f"{redact(str(exc), self._secrets)}"
        )

    def conn_error(self, exc: BaseException) -> CatalogError:
        from ..core.secrets import redact

        detail = redact(str(exc).strip(), self._secrets)
        return CatalogError(
            f"cannot use catalog {self._display} of stack {self._stack!r}: "
            f"{detail}. Check that the database server is running and reachable, and that "
            "the URL, user and password are right (`flowyml stack check "
            f"{self._stack}`). Nothing was written"
        )

    def schema_version(self) -> int:
        """The schema version recorded in ``flowyml_meta``; 0 when there is none."""
        with self.read() as cur:
            return read_version(cur)


def read_version(cur: Cursor) -> int:
    """The catalog's schema version; 0 for an empty database."""
    # PostgreSQL: read pg_tables under the statement's snapshot. (to_regclass would go
    # through the session's catalog cache, which can still say "no such table" after
    # another opener created it while this transaction waited for the upgrade lock.)
    exists = (
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flowyml_meta'"
        if cur.dialect == "sqlite" else
        "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
        "AND tablename = 'flowyml_meta'"
    )
    row = cur.one(exists)
    if row is None or not row[0]:
        return 0
    row = cur.one('SELECT value FROM flowyml_meta WHERE "key" = :k', {"k": SCHEMA_KEY})
    return 0 if row is None else int(row[0])


class Cursor:
    """A driver cursor that takes ``:name`` statements (converted once per statement,
    see ``positional``)."""

    __slots__ = ("_cur", "_db")

    def __init__(self, db: Db, cur: Any) -> None:
        self._db = db
        self._cur = cur

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    def run(self, statement: str, params: Mapping[str, Any] | None = None) -> Any:
        text, values = positional(statement, self._db.dialect)
        self._cur.execute(text, values(params) if params else ())
        return self._cur

    def many(self, statement: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            text, values = positional(statement, self._db.dialect)
            self._cur.executemany(text, map(values, rows))

    def one(self, statement: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.run(statement, params).fetchone()

    def all(self, statement: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        return list(self.run(statement, params).fetchall())

    def columns(self) -> list[str]:
        return [d[0] for d in self._cur.description]


def _rollback(cur: Any) -> None:
    _quietly(lambda: cur.execute("ROLLBACK"))


def _quietly(fn: Callable[[], Any]) -> None:
    """``fn`` for cleanup after an error: the transaction, cursor or connection may be
    gone already (a dead link, a connection just dropped), and that is fine."""
    try:
        fn()
    except Exception:  # the error that matters is the one being handled
        pass


def _sqlite() -> Any:
    """The SQLite driver: its C module itself when there is one. ``import sqlite3`` adds
    the DB-API wrapper, which imports ``datetime`` for adapters the catalog never uses
    (it stores times as floats): ~1 ms of every command's start. The same classes and
    ``connect`` either way."""
    import importlib

    try:
        return importlib.import_module("_sqlite3")
    except ImportError:  # pragma: no cover (a Python built without it: the package says why)
        return importlib.import_module("sqlite3")


def _sqlite_connect(path: str) -> Any:
    sqlite3 = _sqlite()
    if path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    configure_sqlite(conn)
    return conn


def configure_sqlite(conn: Any) -> None:
    """WAL, a busy timeout and NORMAL synchronous: on every SQLite connection of a
    catalog (this layer's, and a bulk loader's such as ``scripts/fill_catalog.py``)."""
    conn.isolation_level = None  # we issue BEGIN ourselves
    cur = conn.cursor()
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
