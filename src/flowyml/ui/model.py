"""What the pages show, gathered from the public catalog and lineage API. No SQL here.

Everything goes through one ``flowyml.Catalog``: its artifact reads, and its
``reader`` (the stack's ``CatalogReader``) for runs, step records and lineage edges,
plus ``get_lineage`` / ``get_descendants``. So the page works on every catalog and store
the CLI works on, and it never writes.

A run's step graph is derived from what the catalog recorded: an edge goes from the
step whose output artifact a step consumed (matched by the input's content hash, and
disambiguated by the lineage edges of the consumer's outputs) to that step. Steps a
failed run never reached have no record; they are taken from the run's recorded graph
when the runtime stores one (``stats["graph"]``: step -> upstream steps), else from the
nearest earlier run of the same pipeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.errors import ArtifactNotFoundError, FlowymlError

if TYPE_CHECKING:
    from ..artifact import Artifact
    from ..catalog.base import CatalogReader
    from ..catalog.records import ArtifactRecord, RunRecord, StepRecord
    from ..catalog_api import Catalog
    from ..diff import ArtifactCode
    from ..lineage import LineageNode

STATES = ("executed", "reused", "failed", "not-reached")
_STATE = {"executed": "executed", "cached": "reused", "failed": "failed"}


@dataclass(frozen=True)
class Link:
    """An artifact as the pages show it."""

    id: str
    name: str
    version: int
    content_hash: str

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @classmethod
    def of(cls, r: ArtifactRecord | Artifact) -> Link:
        return cls(r.id, r.name, r.version, r.content_hash)


@dataclass
class StepView:
    name: str
    state: str  # executed | reused | failed | not-reached
    reason: str
    duration: float | None = None
    started_at: float | None = None
    code_version: str = ""
    cache_key: str = ""
    attempts: int = 0
    error: str | None = None
    inputs: list[tuple[str, list[Link], str]] = field(default_factory=list)  # param, artifacts, hash
    params: list[tuple[str, str]] = field(default_factory=list)  # param, value as shown
    outputs: list[tuple[str, Link | None]] = field(default_factory=list)
    elements: int = 0  # map_over: element rows ``<step>[i]`` executed in this run
    code: list[tuple[str, str]] = field(default_factory=list)  # (heading, source) parts


@dataclass
class RunSummary:
    record: RunRecord
    n_executed: int
    n_reused: int
    n_failed: int
    failing: list[StepView]

    @property
    def duration(self) -> float | None:
        r = self.record
        return None if r.finished_at is None else max(0.0, r.finished_at - r.started_at)

    @property
    def io(self) -> dict[str, int]:
        io = self.record.stats.get("io") if isinstance(self.record.stats, dict) else None
        return io if isinstance(io, dict) else {}


@dataclass
class RunView:
    summary: RunSummary
    steps: list[StepView]
    edges: list[tuple[str, str, list[str]]]  # producer step, consumer step, assets
    inferred_from: str | None = None  # run id the not-reached steps were taken from


@dataclass
class ArtifactView:
    artifact: Artifact
    aliases: list[str]
    versions: list[tuple[Artifact, list[str]]]
    n_versions: int
    parents: list[tuple[str, Link]]  # param, artifact
    children: list[Link]
    uses: list[tuple[str, str, str]]  # run id, step, role
    run: RunRecord | None
    preview_kind: str
    code: ArtifactCode | None = None  # the code of the step version that made it


@dataclass
class LineageView:
    focus: Artifact
    ancestors: list[Artifact]
    descendants: list[Artifact]
    edges: list[tuple[str, str, str]]  # parent id, child id, param
    sources: set[str]


@dataclass
class SearchResult:
    query: str
    exact: Artifact | None = None
    runs: list[RunRecord] = field(default_factory=list)
    by_name: list[Artifact] = field(default_factory=list)
    by_hash: list[Artifact] = field(default_factory=list)
    by_alias: list[tuple[Artifact, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.exact or self.runs or self.by_name or self.by_hash or self.by_alias)


# ------------------------------------------------------------------ runs
def run_summary(
    db: CatalogReader, rec: RunRecord, steps: list[StepRecord] | None = None
) -> RunSummary:
    steps = _split_elements(db.step_runs(rec.id))[0] if steps is None else steps
    failing = [_step_view(s, {}, {}) for s in steps if s.status == "failed"]
    return RunSummary(
        rec,
        sum(1 for s in steps if s.status == "executed"),
        sum(1 for s in steps if s.status == "cached"),
        len(failing),
        failing,
    )


def run_view(db: CatalogReader, rec: RunRecord) -> RunView:
    records, elements = _split_elements(db.step_runs(rec.id))
    summary = run_summary(db, rec, records)
    edges, inputs, outputs = _derive(db, records)
    steps = [_step_view(s, inputs.get(s.step, {}), outputs.get(s.step, {})) for s in records]
    for sv in steps:
        sv.elements = elements.get(sv.name, 0)
    _add_code(db, records, steps)
    present = {s.step for s in records}
    inferred: str | None = None
    missing: dict[str, list[str]] = {}  # not-reached step -> upstream steps
    graph = rec.stats.get("graph") if isinstance(rec.stats, dict) else None
    if isinstance(graph, dict):
        for name, ups in graph.items():
            if name not in present:
                missing[str(name)] = [str(u) for u in (ups or [])]
    elif rec.status != "succeeded":
        ref = _reference_run(db, rec)
        if ref is not None:
            ref_steps = _split_elements(db.step_runs(ref.id))[0]
            ref_edges, _, _ = _derive(db, ref_steps)
            for s in ref_steps:
                if s.step not in present:
                    missing[s.step] = [u for u, v, _ in ref_edges if v == s.step]
            if missing:
                inferred = ref.id
                labels = {(u, v): a for u, v, a in ref_edges}
                edges = edges + [
                    (u, v, labels.get((u, v), [])) for v, ups in missing.items() for u in ups
                ]
    if isinstance(graph, dict):
        edges = edges + [(u, v, []) for v, ups in missing.items() for u in ups]
    why = "not reached yet: the run is still going" if rec.status == "running" else (
        "not reached: an upstream step failed"
    )
    for name in missing:
        steps.append(StepView(name, "not-reached", why))
    known = {s.name for s in steps}
    edges = [(u, v, a) for u, v, a in edges if u in known and v in known]
    return RunView(summary, steps, edges, inferred)


def _add_code(db: CatalogReader, records: list[StepRecord], steps: list[StepView]) -> None:
    """Each step's recorded code, by part (one catalog read for the whole run)."""
    from ..diff import code_sections

    codes = db.code_versions({s.code_version for s in records if s.code_version})
    for rec, sv in zip(records, steps, strict=True):
        code = codes.get(rec.code_version)
        if code is not None and code.recorded:
            sv.code = code_sections(code, rec.step, rec.fingerprint)


_ELEMENT = re.compile(r"^(.+)\[(\d+)\]$")


def _split_elements(records: list[StepRecord]) -> tuple[list[StepRecord], dict[str, int]]:
    """Step rows (the last per name) apart from ``map_over`` element rows ``<step>[i]``,
    which are counted per step instead of drawn."""
    out: dict[str, StepRecord] = {}
    elements: dict[str, int] = {}
    for s in records:
        m = _ELEMENT.match(s.step)
        if m:
            elements[m.group(1)] = elements.get(m.group(1), 0) + 1
        else:
            out[s.step] = s
    return list(out.values()), elements


def _reference_run(db: CatalogReader, rec: RunRecord) -> RunRecord | None:
    """The nearest run of the same pipeline that recorded every step it had."""
    best: RunRecord | None = None
    for r in db.list_runs(limit=200, pipeline=rec.pipeline):
        if r.id == rec.id or r.status != "succeeded":
            continue
        if best is None or abs(r.started_at - rec.started_at) < abs(best.started_at - rec.started_at):
            best = r
    return best


def _derive(
    db: CatalogReader, steps: list[StepRecord]
) -> tuple[
    list[tuple[str, str, list[str]]],
    dict[str, dict[str, list[Link]]],
    dict[str, dict[str, Link]],
]:
    """Edges between the steps, and each step's input and output artifacts."""
    out_ids = [aid for s in steps for aid in s.outputs.values()]
    recs = db.artifacts_by_id(out_ids)
    producer: dict[str, str] = {}  # artifact id -> step
    by_hash: dict[str, list[ArtifactRecord]] = {}
    outputs: dict[str, dict[str, Link]] = {}
    for s in steps:
        for asset, aid in s.outputs.items():
            r = recs.get(aid)
            if r is None:
                continue
            producer[aid] = s.step
            by_hash.setdefault(r.content_hash, []).append(r)
            outputs.setdefault(s.step, {})[asset] = Link.of(r)
    lineage = db.parents_of(out_ids) if out_ids else {}
    hints: dict[str, dict[str, str]] = {}  # step -> param -> parent artifact id
    for s in steps:
        for aid in s.outputs.values():
            for param, pid in lineage.get(aid, []):
                hints.setdefault(s.step, {}).setdefault(param, pid)
    hinted = db.artifacts_by_id(
        {pid for h in hints.values() for pid in h.values()} - set(recs)
    )
    hinted.update(recs)
    edges: dict[tuple[str, str], list[str]] = {}
    inputs: dict[str, dict[str, list[Link]]] = {}
    external: dict[str, list[ArtifactRecord]] = {}
    for s in steps:
        for param, h in s.inputs.items():
            hint = hinted.get(hints.get(s.step, {}).get(param, ""))
            if hint is not None and hint.content_hash == h:
                picks = [hint]
            else:
                cands = by_hash.get(h, [])
                picks = [c for c in cands if c.name == param] or cands
                if not picks:
                    if h not in external:
                        external[h] = db.search(hash_prefix=h, limit=20)
                    cands = external[h]
                    picks = [c for c in cands if c.name == param] or cands
            inputs.setdefault(s.step, {})[param] = [Link.of(p) for p in picks]
            for p in picks:
                up = producer.get(p.id)
                if up is not None and up != s.step:
                    names = edges.setdefault((up, s.step), [])
                    if p.name not in names:
                        names.append(p.name)
    return [(u, v, a) for (u, v), a in edges.items()], inputs, outputs


def _step_view(s: StepRecord, inputs: dict[str, list[Link]], outputs: dict[str, Link]) -> StepView:
    return StepView(
        name=s.step,
        state=_STATE.get(s.status, s.status),
        reason=s.reason,
        duration=s.duration,
        started_at=s.started_at,
        code_version=s.code_version,
        cache_key=s.cache_key,
        attempts=s.attempts,
        error=s.error,
        inputs=[(p, inputs.get(p, []), h) for p, h in sorted(s.inputs.items())],
        params=[(p, str(v[1]) if isinstance(v, list) and len(v) > 1 else str(v))
                for p, v in sorted(s.values.items())],
        outputs=[(a, outputs.get(a)) for a in s.outputs],
    )


# ------------------------------------------------------------------ artifacts
def artifact_view(cat: Catalog, artifact_id: str, max_versions: int = 200) -> ArtifactView:
    from .preview import preview_kind

    db = cat.reader
    art = cat.get_by_id(artifact_id)
    aliases = cat.aliases(art.name)
    by_version: dict[int, list[str]] = {}
    for alias, v in sorted(aliases.items()):
        by_version.setdefault(v, []).append(alias)
    all_versions = cat.versions(art.name)
    shown = sorted(all_versions, key=lambda a: -a.version)[:max_versions]
    if art not in shown:
        shown.append(art)
    edges = db.parents_of([art.id])[art.id]
    kids = db.children_of([art.id])[art.id]
    recs = db.artifacts_by_id([pid for _, pid in edges] + kids)
    try:
        run = db.get_run(art.run_id)
    except ArtifactNotFoundError:
        run = None
    return ArtifactView(
        artifact=art,
        aliases=by_version.get(art.version, []),
        versions=[(a, by_version.get(a.version, [])) for a in shown],
        n_versions=len(all_versions),
        parents=[(param, Link.of(recs[pid])) for param, pid in edges if pid in recs],
        children=sorted((Link.of(recs[k]) for k in dict.fromkeys(kids) if k in recs),
                        key=lambda link: (link.name, link.version)),
        uses=db.runs_using(art.id),
        run=run,
        preview_kind=preview_kind(art),
        code=_artifact_code(db, art.id),
    )


def _artifact_code(db: CatalogReader, artifact_id: str) -> ArtifactCode:
    from ..diff import record_code

    return record_code(db, db.get_artifact(artifact_id))


def lineage_view(cat: Catalog, artifact_id: str) -> LineageView:
    from ..lineage import get_descendants, get_lineage

    stack, db = cat.stack, cat.reader
    root = get_lineage(artifact_id, stack)
    walked = _every_node(root)
    edges: dict[tuple[str, str], str] = {}
    for n in walked:
        for p in n.parents:
            edges.setdefault((p.artifact.id, n.artifact.id), p.param or "")
    has_parents = {c for _, c in edges}
    sources = {n.artifact.id for n in walked[1:] if n.artifact.id not in has_parents}
    desc = get_descendants(artifact_id, stack)
    ids = {n.artifact.id for n in walked} | {d.id for d in desc}
    if desc:
        for child, lst in db.parents_of([d.id for d in desc]).items():
            for param, pid in lst:
                if pid in ids:
                    edges.setdefault((pid, child), param)
    return LineageView(
        focus=root.artifact,
        ancestors=[n.artifact for n in walked[1:]],
        descendants=desc,
        edges=[(p, c, param) for (p, c), param in edges.items()],
        sources=sources,
    )


def _every_node(root: LineageNode) -> list[LineageNode]:
    """One node per artifact, root first. Unlike ``LineageNode.walk`` this visits every
    node object (a shared ancestor fed under another parameter name is a separate
    object) and keeps the one that carries the parents."""
    best: dict[str, LineageNode] = {}
    seen: set[int] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        aid = n.artifact.id
        if aid not in best or len(n.parents) > len(best[aid].parents):
            best[aid] = n
        stack.extend(reversed(n.parents))
    return list(best.values())


# ------------------------------------------------------------------ search
_HEX = re.compile(r"[0-9a-fA-F]{4,64}")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def search(cat: Catalog, query: str, limit: int = 100, max_names: int = 2000) -> SearchResult:
    """By asset name (substring), ``NAME@VERSION`` / ``NAME@ALIAS``, alias, content-hash
    prefix, artifact id, run id (or part of one) and pipeline name."""
    q = query.strip()
    res = SearchResult(q)
    if not q:
        return res
    if "@" in q:
        try:
            res.exact = cat.resolve(q)
        except (FlowymlError, ValueError):  # not an artifact: the other sections may match
            pass
    elif _HEX.fullmatch(q) and len(q) == 24:
        try:
            res.exact = cat.get_by_id(q.lower())
        except FlowymlError:  # hex that is no artifact id: it may be a hash prefix
            pass
    try:
        res.runs = [cat.run(q)]
    except FlowymlError:
        res.runs = [r for r in cat.runs(limit=1000) if q in r.id or q == r.pipeline][:limit]
    res.by_name = cat.search(q, limit=limit)
    if _HEX.fullmatch(q):
        res.by_hash = cat.search(hash_prefix=q.lower(), limit=limit)
    if _NAME.fullmatch(q):
        for name, _, _ in cat.names()[:max_names]:
            version = cat.aliases(name).get(q)
            if version is not None:
                try:
                    res.by_alias.append((cat.get(name, version), q))
                except FlowymlError:  # a name the API refuses, or a race: leave it out
                    pass
    return res


def error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
