"""The full catalog: SQLite (default) and PostgreSQL, in plain SQL on the database driver.

``SqlCatalog`` implements both interfaces of ``base.py`` (``RuntimeCatalog`` and
``CatalogReader``). What a run writes, the schema's creation and upgrades
(``migrations.py``, the schema's single description) and the runs list are inherited
from ``runtime_sql.py``; what lineage, search, the CLI and the web page read is here,
on the same layer (``dbapi.py``): statements written once with ``:name`` parameters
(turned into psycopg's ``%(name)s`` by ``Db.sql``), through the connection the catalog
already has. So opening the full catalog costs what opening a run's does (no
SQLAlchemy: importing it took ~0.2 s), and a process that runs a pipeline and reads
lineage shares one connection per thread (``Stack.open_catalog`` hands the runtime
catalog's ``Db`` to the full one). Where the two databases need different SQL (a
case-insensitive ``LIKE``, an array of names, the recursive walk's shape), the
statement is chosen by ``Cursor.dialect``. Administration writes (aliases, prune) go
through ``Db.write``: one transaction, ``BEGIN IMMEDIATE`` on SQLite, conflicts (a
lock, a unique violation) retried after the same jittered, capped backoff as a run's
writes, any other error raised as a ``CatalogError``. The status of a run still
marked running is decided by ``liveness.py``.

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

Nothing here imports SQLAlchemy (a test opens the full catalog and reads lineage in a
fresh process, and checks).
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ..core.errors import ArtifactNotFoundError, CatalogError
from ..core.parts import FILE_OF
from . import liveness
from .dbapi import Cursor, Db, in_list, parse_url
from .records import ArtifactRecord, CodeVersion
from .records import artifact_id as artifact_id  # re-exported: tests and tools use it here
from .runtime_sql import (
    _ARTS,  # the columns artifact_from reads, in its order
    _DISTINCT_NAMES,  # see there
    _RUNS,
    ART_COLS,
    RUN_COLS,
    RuntimeSqlCatalog,
    artifact_from,
    chunks,
    run_from,
)

if TYPE_CHECKING:  # (base.py loads where its classes are made: not on open, see _snapshot)
    from .base import (
        CatalogReader,
        CatalogSnapshot,
        Deletion,
        Derivation,
        RetentionCatalog,
        Reuse,
        RuntimeCatalog,
    )

# scheme://... : anything else is not a URL at all (``_url_error``)
_URL_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


class SqlCatalog(RuntimeSqlCatalog):
    """Runs, steps, artifacts, versions, aliases, cache keys and lineage edges: what a
    run writes (inherited from ``RuntimeSqlCatalog``) and what lineage, the CLI and
    the web page read (here), all on the database driver (``dbapi.py``)."""

    def __init__(self, url: str, *, stack_name: str = "default", db: Db | None = None) -> None:
        """Open the catalog at ``url``. ``db``: the connections of a catalog already
        open on the same URL (a run's ``RuntimeSqlCatalog``), shared instead of opening
        others; its schema is then already current."""
        self._names(url, stack_name)
        try:  # the password as the driver gets it (percent-decoded) is a secret too
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            self._secrets.add(unquote(password))
        if db is not None:
            self.db = db
            return
        parsed = parse_url(url)
        if parsed is None:
            raise self._url_error()
        if parsed[0] == "sqlite" and parsed[1] != ":memory:":
            folder = os.path.dirname(os.path.abspath(parsed[1])) or "."
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                raise CatalogError(
                    f"cannot create the folder of catalog {self.display_url} of stack "
                    f"{self.stack_name!r}: {exc}. Point the stack's catalog at a writable path"
                ) from exc
        self._open_db()
        self._ensure_schema()  # on the driver, as a run does (runtime_sql.py)

    def _url_error(self) -> CatalogError:
        """What is wrong with a URL that ``dbapi.parse_url`` does not open."""
        if not _URL_SHAPE.match(self.url):
            return CatalogError(
                f"catalog URL {self.display_url!r} of stack {self.stack_name!r} is not a valid "
                "database URL; use sqlite:///path/catalog.db or "
                "postgresql+psycopg://USER:PASSWORD@HOST/DB"
            )
        return CatalogError(
            f"catalog {self.display_url!r} of stack {self.stack_name!r}: FlowyML supports "
            "sqlite:///PATH (a file: an in-memory catalog would vanish with the process) and "
            "postgresql+psycopg://USER:PASSWORD@HOST/DB (pip install 'flowyml-core[postgres]')"
        )

    def _full_catalog(self) -> SqlCatalog:
        return self  # it is the full catalog

    # -------------------------------------------------------------- artifacts
    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        rec = self.artifacts_by_id([artifact_id]).get(artifact_id)
        if rec is None:
            raise ArtifactNotFoundError(
                f"no artifact with id {artifact_id!r} in catalog {self.display_url}"
            )
        return rec

    def versions(self, name: str) -> list[ArtifactRecord]:
        with self.db.read() as cur:
            rows = cur.all(f"SELECT {_ARTS} FROM artifacts WHERE name = :n ORDER BY version",
                           {"n": name})
        return [artifact_from(r) for r in rows]

    def aliases(self, name: str) -> dict[str, int]:
        with self.db.read() as cur:
            rows = cur.all("SELECT alias, version FROM aliases WHERE name = :n", {"n": name})
        return {alias: int(version) for alias, version in rows}

    def tag(self, name: str, version: int, alias: str) -> None:
        self.find(name, int(version))
        row = {"n": name, "a": alias, "v": int(version), "t": time.time()}

        def fn(cur: Cursor) -> None:
            cur.run("DELETE FROM aliases WHERE name = :n AND alias = :a", row)
            cur.run("INSERT INTO aliases (name, alias, version, updated_at) "
                    "VALUES (:n, :a, :v, :t)", row)

        self.db.write(fn)

    def search(
        self,
        name: str | None = None,
        hash_prefix: str | None = None,
        run_id: str | None = None,
        step: str | None = None,
        limit: int = 200,
    ) -> list[ArtifactRecord]:
        where: list[str] = []
        params: dict[str, Any] = {"limit": int(limit)}
        cte = ""
        if name:
            cte = _DISTINCT_NAMES + " "
            where.append(_NAMES_LIKE[self.db.dialect])
            params["name"] = f"%{_escape_like(name)}%"
        if hash_prefix:
            terms, hash_params = _hash_prefix_terms(hash_prefix.lower())
            where += terms
            params.update(hash_params)
        if run_id:
            where.append("(artifacts.run_id = :run OR artifacts.id IN (SELECT "
                         "artifact_uses.artifact_id FROM artifact_uses WHERE "
                         "artifact_uses.run_id = :run))")
            params["run"] = run_id
        if step:
            where.append("artifacts.step = :step")
            params["step"] = step
        cols = ", ".join("artifacts." + c for c in ART_COLS)
        sql = (f"{cte}SELECT {cols} FROM artifacts"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY artifacts.name, artifacts.version DESC LIMIT :limit")
        with self.db.read() as cur:
            rows = cur.all(sql, params)
        return [artifact_from(r) for r in rows]

    def asset_names(self) -> list[tuple[str, int, float]]:
        """Every asset name with its number of versions and the latest creation time,
        from the indexes alone, never the artifacts' rows: the names by a loose index
        scan, then per name a count of its ``(name, version)`` index entries (pruning
        may leave gaps in the versions) and one probe of ``ix_artifacts_name_created``."""
        with self.db.read() as cur:
            rows = cur.all(_ASSET_NAMES)
        return [(r[0], int(r[1]), float(r[2])) for r in rows]

    # -------------------------------------------------------------- lineage
    def parents_of(self, ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """child id -> [(param, parent id)], sorted by param."""
        ids = list(dict.fromkeys(ids))
        out: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
        with self.db.read() as cur:
            for chunk in chunks(ids):
                marks, params = in_list("i", chunk)
                for child, parent, param in cur.all(
                    "SELECT child_id, parent_id, param FROM lineage_edges "
                    f"WHERE child_id IN {marks} ORDER BY param", params,
                ):
                    out[child].append((param, parent))
        return out

    def children_of(self, ids: Iterable[str]) -> dict[str, list[str]]:
        """Parent id -> the artifacts made from it, by any derivation (each once)."""
        ids = list(dict.fromkeys(ids))
        out: dict[str, list[str]] = {i: [] for i in ids}
        with self.db.read() as cur:
            for chunk in chunks(ids):
                marks, params = in_list("i", chunk)
                for table in ("lineage_edges", "derivation_edges"):
                    for parent, child in cur.all(
                        f"SELECT parent_id, child_id FROM {table} WHERE parent_id IN {marks}",
                        params,
                    ):
                        if child not in out[parent]:
                            out[parent].append(child)
        return out

    def derivations_of(self, ids: Iterable[str]) -> dict[str, list[Derivation]]:
        """Artifact id -> its distinct derivations, the first production's first."""
        with self.db.read() as cur:
            return _derivations(cur, list(dict.fromkeys(ids)))

    def reuses(self, run_id: str) -> dict[str, Reuse]:
        """Artifact id -> how ``run_id`` reused it (see ``base``): three queries, each
        by an index (the run's rows, the productions of what it reused, those runs'
        executions)."""
        with self.db.read() as cur:
            return _reuses(cur, run_id)

    def runs_using(self, artifact_id: str) -> list[tuple[str, str, str]]:
        """(run id, step, role) for every run that produced or reused the artifact."""
        with self.db.read() as cur:
            rows = cur.all("SELECT run_id, step, role FROM artifact_uses WHERE artifact_id = :a",
                           {"a": artifact_id})
        return [(r[0], r[1], r[2]) for r in rows]

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
        with self.db.read() as cur:
            sql = _walk_sql(up, max_depth is not None, _walk_dialect(cur))
            for node, param, other, depth, *art in cur.all(sql, params):
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
        with self.db.read() as cur:
            for chunk in chunks(versions):
                marks, params = in_list("v", chunk)
                for version, got in cur.all(
                    f"SELECT code_version, parts FROM code_versions WHERE code_version IN {marks}",
                    params,
                ):
                    parts[version] = json.loads(got)
            digests = {d for p in parts.values() for d in p.values()}
            texts = _code_texts(cur, digests) if text else {}
        out = {}
        for v in versions:
            got, files = {}, {}
            for k, d in parts.get(v, {}).items():
                if not k.startswith(FILE_OF):  # (not a part: where a part's module is)
                    got[k] = d
                elif texts.get(d):
                    files[k[len(FILE_OF):]] = texts[d]
            out[v] = CodeVersion(v, {k: texts[d] for k, d in got.items() if d in texts}, got,
                                 files)
        return out

    def live_run_starts(self) -> list[float]:
        """Start times of runs whose driver is alive (gc keeps what they may reference)."""
        with self.db.read() as cur:
            rows = cur.all(f"SELECT {_RUNS} FROM runs WHERE status = :s", {"s": "running"})
        runs = [SimpleNamespace(**dict(zip(RUN_COLS, r, strict=True))) for r in rows]
        return [float(r.started_at) for r in runs if liveness.is_live(r)]

    def referenced_hashes(self) -> set[str]:
        with self.db.read() as cur:
            rows = cur.all("SELECT DISTINCT content_hash FROM artifacts WHERE data IS NULL")
        return {r[0] for r in rows}

    def inline_objects(self) -> list[tuple[str, str, bytes]]:
        """(artifact id, content hash, bytes) of every object kept in the catalog."""
        with self.db.read() as cur:
            rows = cur.all("SELECT id, content_hash, data FROM artifacts WHERE data IS NOT NULL")
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    # -------------------------------------------------------------- retention
    def prune(
        self, decide: Callable[[CatalogSnapshot], Deletion], *, dry_run: bool = False,
        wait: float = 300.0,
    ) -> tuple[CatalogSnapshot, Deletion]:
        """Read a snapshot, let ``decide`` choose, delete: one write transaction (see
        ``RetentionCatalog.prune``). A non-empty deletion waits for runs in progress."""
        if dry_run:
            with self.db.read() as cur:
                snap = _snapshot(cur)
            return snap, decide(snap)
        deadline = time.monotonic() + wait
        while True:
            try:
                return self.db.write(lambda cur: _prune_once(cur, decide))
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
        with self.db.read() as cur:
            return _lineage_gaps(cur)


# ------------------------------------------------------------------ statements

# per distinct asset name (``_DISTINCT_NAMES``: a loose index scan, one probe per name
# in the ``(name, version)`` index however many versions each has)
_ASSET_NAMES = (
    f"{_DISTINCT_NAMES} SELECT names.name, "
    "(SELECT count(*) FROM artifacts AS v WHERE v.name = names.name), "
    "(SELECT max(v.created_at) FROM artifacts AS v WHERE v.name = names.name) "
    "FROM names WHERE names.name IS NOT NULL ORDER BY names.name"
)
# ``artifacts.name`` contains ``:name`` (any case; ``:name`` is a LIKE pattern with
# ``\`` escapes): matched against the distinct names (``_DISTINCT_NAMES``), then their
# versions read by index in name order. On PostgreSQL the names come as an array
# (``= ANY``), so that no guess of how many match makes it hash-join every artifact.
_NAMES_LIKE = {
    "sqlite": "artifacts.name IN (SELECT names.name FROM names "
              "WHERE lower(names.name) LIKE lower(:name) ESCAPE '\\')",
    "postgresql": "artifacts.name = ANY (CAST((SELECT array_agg(names.name) FROM names "
                  "WHERE names.name ILIKE :name ESCAPE '\\') AS VARCHAR[]))",
}

_HEX_NEXT = dict(zip("0123456789abcde", "123456789abcdef", strict=True))  # "f" carries


def _hash_prefix_terms(prefix: str) -> tuple[list[str], dict[str, Any]]:
    """``content_hash`` starts with ``prefix``: the conditions and their parameters. For
    a hex prefix, the range ``[prefix, next)`` (``next``: the prefix plus one, in hex; no
    upper end for ``fff...``) uses the hash index, where ``LIKE`` cannot; ``LIKE`` stays
    as a filter on that range, so the answer is the same as ``LIKE``'s alone, in any
    collation."""
    like = "artifacts.content_hash LIKE :h_like ESCAPE '\\'"
    params: dict[str, Any] = {"h_like": f"{_escape_like(prefix)}%"}
    if not prefix or any(c not in _HEX_NEXT and c != "f" for c in prefix):
        return [like], params
    head = prefix.rstrip("f")
    terms = ["artifacts.content_hash >= :h_low", like]
    params["h_low"] = prefix
    if head:
        terms.append("artifacts.content_hash < :h_high")
        params["h_high"] = head[:-1] + _HEX_NEXT[head[-1]]
    return terms, params


def _walk_dialect(cur: Cursor) -> str:
    """``"postgresql"``, ``"sqlite"`` (3.34+: a recursive query may have several
    recursive SELECTs) or ``"sqlite-old"``."""
    if cur.dialect != "sqlite":
        return "postgresql"
    import sqlite3  # (imported already: the connection is SQLite's)

    return "sqlite" if sqlite3.sqlite_version_info >= (3, 34) else "sqlite-old"


@functools.lru_cache(maxsize=16)
def _walk_sql(up: bool, bounded: bool, dialect: str) -> str:
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
    return (
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


def _code_texts(cur: Cursor, digests: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for chunk in chunks(list(digests)):
        marks, params = in_list("d", chunk)
        out.update((d, t) for d, t in cur.all(
            f"SELECT digest, text FROM code_sources WHERE digest IN {marks}", params))
    return out


# ------------------------------------------------------------------ derivations


def _derivations(cur: Cursor, ids: list[str]) -> dict[str, list[Derivation]]:
    """Each artifact's productions (``artifact_uses``), grouped by what made them: step,
    code version, run values (from the step rows) and parents (``lineage_edges`` for
    the first production, ``derivation_edges`` for the others)."""
    firsts: dict[str, tuple[str, str, str]] = {}  # id -> (run, step, code) of the first
    made: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
    edges: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
    for chunk in chunks(ids):
        marks, params = in_list("i", chunk)
        firsts.update((i, (run, step, code)) for i, run, step, code in cur.all(
            f"SELECT id, run_id, step, code_version FROM artifacts WHERE id IN {marks}", params))
        for aid, run, step in cur.all(
            "SELECT artifact_id, run_id, step FROM artifact_uses "
            f"WHERE artifact_id IN {marks} AND role = :role", {**params, "role": "produced"},
        ):
            made[aid].append((run, step))
        for child, parent, param in cur.all(
            f"SELECT child_id, parent_id, param FROM lineage_edges WHERE child_id IN {marks}",
            params,
        ):
            edges.setdefault((child, None), []).append((param, parent))
        for child, run, param, parent in cur.all(
            "SELECT child_id, run_id, param, parent_id FROM derivation_edges "
            f"WHERE child_id IN {marks}", params,
        ):
            edges.setdefault((child, run), []).append((param, parent))
    runs = {run for lst in made.values() for run, _ in lst} | {f[0] for f in firsts.values()}
    steps = _executed_steps(cur, sorted(runs))
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


def _reuses(cur: Cursor, run_id: str) -> dict[str, Reuse]:
    """``SqlCatalog.reuses``. The entry a reuse took was written by an execution of the
    same cache key; of the runs that produced the reused artifacts, the one whose
    execution under that key is the last recorded before the reuse (an execution not
    cached, ``cache=False`` or unrepeatable, wrote no entry)."""
    from .base import Reuse

    reused = [(int(i), step, key, code, json.loads(outputs or "{}"))
              for i, step, key, code, outputs in cur.all(
                  "SELECT id, step, cache_key, code_version, outputs FROM step_runs "
                  "WHERE run_id = :r AND status = :s", {"r": run_id, "s": "cached"})]
    ids = list(dict.fromkeys(a for *_, outs in reused for a in outs.values()))
    producers: dict[str, set[tuple[str, str]]] = {i: set() for i in ids}
    for chunk in chunks(ids):
        marks, params = in_list("i", chunk)
        for aid, run, step in cur.all(
            "SELECT artifact_id, run_id, step FROM artifact_uses "
            f"WHERE artifact_id IN {marks} AND role = :role", {**params, "role": "produced"},
        ):
            producers[aid].add((run, step))
    execs: dict[str, list[tuple[int, str, str]]] = {}  # cache key -> (row id, run, step)
    runs = sorted({run for made in producers.values() for run, _ in made})
    for chunk in chunks(runs):
        marks, params = in_list("r", chunk)
        for i, run, step, key, reason in cur.all(
            "SELECT id, run_id, step, cache_key, reason FROM step_runs "
            f"WHERE run_id IN {marks} AND status = :s", {**params, "s": "executed"},
        ):
            if "; not cached: " not in reason:
                execs.setdefault(key, []).append((int(i), run, step))
    out: dict[str, Reuse] = {}
    for row, step, key, code, outs in reused:
        for aid in outs.values():
            made = [(i, run) for i, run, s in execs.get(key, ())
                    if i < row and (run, s) in producers.get(aid, ())]
            out.setdefault(aid, Reuse(step, code, max(made)[1] if made else None))
    return out


def _executed_steps(
    cur: Cursor, runs: list[str]
) -> dict[tuple[str, str], tuple[str, tuple[tuple[str, str], ...], tuple[str, ...], bool]]:
    """(run, step) -> (code version, run values as (param, shown value), their tokens,
    whether it had artifact inputs), for the executed steps of ``runs``."""
    out = {}
    for chunk in chunks(runs):
        marks, params = in_list("r", chunk)
        for run, step, code, vals_text, inputs in cur.all(
            "SELECT run_id, step, code_version, vals, inputs FROM step_runs "
            f"WHERE run_id IN {marks} AND status = :status", {**params, "status": "executed"},
        ):
            vals = json.loads(vals_text or "{}")
            shown = tuple(sorted((k, str(v[-1]) if isinstance(v, list) else str(v))
                                 for k, v in vals.items()))
            tokens = tuple(sorted(f"{k}={v[0] if isinstance(v, list) else v}"
                                  for k, v in vals.items()))
            out[(run, step)] = (code, shown, tokens, bool(json.loads(inputs or "{}")))
    return out


def _group(
    productions: list[tuple[str, str, tuple[tuple[str, str], ...]]],
    steps: dict[tuple[str, str], tuple[str, tuple[tuple[str, str], ...], tuple[str, ...], bool]],
    first_code: str,
) -> list[Derivation]:
    """Productions made the same way (step, code, run values, parents) are one derivation."""
    from .base import Derivation

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
# the artifact columns a retention snapshot reads, in ArtifactRecord's order (no meta)
_SNAPSHOT_ARTS = ("id, name, version, content_hash, size, materializer, type_name, run_id, "
                  "step, code_version, created_at")


class _RunsInProgress(Exception):
    def __init__(self, runs: list[str]) -> None:
        super().__init__(", ".join(runs))
        self.runs = runs


def _prune_once(
    cur: Cursor, decide: Callable[[CatalogSnapshot], Deletion]
) -> tuple[CatalogSnapshot, Deletion]:
    """One attempt, inside the write transaction. On PostgreSQL the runs table is locked
    against writes first, so no run starts (and reads the old state) until we commit;
    on SQLite ``BEGIN IMMEDIATE`` already holds every writer back."""
    if cur.dialect == "postgresql":
        cur.run("LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE")
    snap = _snapshot(cur)
    deletion = decide(snap)
    if not deletion.runs and not deletion.artifacts:
        return snap, deletion
    live = sorted(r.id for r in snap.runs if r.status == "running")
    if live:
        raise _RunsInProgress(live)
    _check_deletion(snap, deletion)
    _delete(cur, deletion)
    return snap, deletion


def _snapshot(cur: Cursor) -> CatalogSnapshot:
    # base.py (and dataclasses) are imported here, not by opening the catalog: the first
    # open is on the path of every command, and most read no snapshot or derivation
    from .base import CatalogSnapshot

    arts = {r[0]: ArtifactRecord(*r)
            for r in cur.all(f"SELECT {_SNAPSHOT_ARTS} FROM artifacts")}  # no meta
    uses = [(r[0], r[1], r[2])
            for r in cur.all("SELECT artifact_id, run_id, role FROM artifact_uses")]
    edges: list[tuple[str, str, str | None]] = [
        (r[0], r[1], None) for r in cur.all("SELECT child_id, parent_id FROM lineage_edges")
    ]
    edges += [(r[0], r[1], r[2])
              for r in cur.all("SELECT child_id, parent_id, run_id FROM derivation_edges")]
    aliased = cur.all("SELECT artifacts.id FROM artifacts JOIN aliases ON aliases.name = "
                      "artifacts.name AND aliases.version = artifacts.version")
    inline = cur.all("SELECT id FROM artifacts WHERE data IS NOT NULL")
    return CatalogSnapshot(
        runs=[run_from(dict(zip(RUN_COLS, r, strict=True)))
              for r in cur.all(f"SELECT {_RUNS} FROM runs")],
        artifacts=arts, uses=uses, edges=edges,
        aliased={r[0] for r in aliased}, inline={r[0] for r in inline},
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


# what a deletion removes, in order: (table, column) whose value is a deleted run's id,
# then a deleted artifact's
_RUN_ROWS = (("step_runs", "run_id"), ("artifact_uses", "run_id"),
             ("derivation_edges", "run_id"), ("runs", "id"))
_ARTIFACT_ROWS = (("artifact_uses", "artifact_id"), ("lineage_edges", "child_id"),
                  ("derivation_edges", "child_id"), ("artifacts", "id"))


def _delete(cur: Cursor, d: Deletion) -> None:
    _retire_versions(cur, sorted(d.artifacts))
    for ids, rows in ((sorted(d.runs), _RUN_ROWS), (sorted(d.artifacts), _ARTIFACT_ROWS)):
        for chunk in chunks(ids):
            marks, params = in_list("i", chunk)
            for table, column in rows:
                cur.run(f"DELETE FROM {table} WHERE {column} IN {marks}", params)
    stale = [key for key, outputs in cur.all("SELECT cache_key, outputs FROM cache_entries")
             if d.artifacts.intersection(json.loads(outputs).values())]
    for chunk in chunks(stale):  # a cache entry never points at a deleted artifact
        marks, params = in_list("k", chunk)
        cur.run(f"DELETE FROM cache_entries WHERE cache_key IN {marks}", params)
    _repair_latest(cur, d)


def _retire_versions(cur: Cursor, ids: list[str]) -> None:
    """Remember each name's highest deleted version (``retired_versions``): without it
    the next new content of a name whose newest versions were deleted got their numbers
    again, and ``model@3`` named other bytes than it did."""
    top: dict[str, int] = {}
    for chunk in chunks(ids):
        marks, params = in_list("i", chunk)
        for name, version in cur.all(f"SELECT name, MAX(version) FROM artifacts WHERE id IN "
                                     f"{marks} GROUP BY name", params):
            top[name] = max(top.get(name, 0), int(version))
    cur.many("INSERT INTO retired_versions (name, version) VALUES (:n, :v) ON CONFLICT (name) "
             "DO UPDATE SET version = excluded.version WHERE retired_versions.version < "
             "excluded.version", [{"n": n, "v": v} for n, v in sorted(top.items())])


def _repair_latest(cur: Cursor, d: Deletion) -> None:
    """The names whose ``@latest`` pointed at a deleted run or artifact get it again
    from what is left (``migrations.refresh_latest``)."""
    names = sorted({
        name for name, aid, run in cur.all("SELECT name, artifact_id, run_id FROM latest_outputs")
        if aid in d.artifacts or run in d.runs
    })
    from .migrations import refresh_latest

    for chunk in chunks(names):
        refresh_latest(cur.run, chunk)


# (query, message format): each finds one kind of broken reference (a LEFT JOIN)
_GAPS = (
    *(
        (f"SELECT {t}.child_id, {t}.parent_id FROM {t} LEFT OUTER JOIN artifacts AS a "
         f"ON a.id = {t}.{col} WHERE a.id IS NULL",
         f"{what} {{0}} <- {{1}}: {role} artifact is missing")
        for t, what in (("lineage_edges", "lineage edge"), ("derivation_edges", "derivation edge"))
        for col, role in (("parent_id", "parent"), ("child_id", "child"))
    ),
    ("SELECT derivation_edges.child_id, derivation_edges.run_id FROM derivation_edges "
     "LEFT OUTER JOIN runs AS r ON r.id = derivation_edges.run_id WHERE r.id IS NULL",
     "derivation of {0} in run {1}: the run is missing"),
    ("SELECT artifact_uses.artifact_id, artifact_uses.run_id FROM artifact_uses "
     "LEFT OUTER JOIN artifacts AS a ON a.id = artifact_uses.artifact_id WHERE a.id IS NULL",
     "run {1} used artifact {0}, which is missing"),
    ("SELECT artifact_uses.artifact_id, artifact_uses.run_id FROM artifact_uses "
     "LEFT OUTER JOIN runs AS r ON r.id = artifact_uses.run_id WHERE r.id IS NULL",
     "artifact {0} was used by run {1}, which is missing"),
    ("SELECT artifacts.name, artifacts.version, artifacts.run_id FROM artifacts "
     "LEFT OUTER JOIN runs AS r ON r.id = artifacts.run_id WHERE r.id IS NULL",
     "{0}@{1}: the run that first made it ({2}) is missing"),
)


def _lineage_gaps(cur: Cursor) -> list[str]:
    return [message.format(*row) for query, message in _GAPS for row in cur.all(query)]


if TYPE_CHECKING:  # SqlCatalog provides both interfaces (checked by mypy)

    def _implements(c: SqlCatalog) -> tuple[RuntimeCatalog, CatalogReader, RetentionCatalog]:
        return c, c, c
