"""Lineage from the catalog: ``get_lineage`` (up to the sources), ``get_descendants``
and ``get_descendant_tree`` (down to what was made from it).

All read only the stack's ``CatalogReader`` (artifact records, lineage edges and
derivations), level by level, a few queries per level. The same bytes can be made
several ways (content addressing): every derivation is kept; a tree shows the first
production unless ``get_lineage(..., run=RUN_ID)`` asks for the one a run made, and a
node's ``derivations`` counts the distinct ways its artifact was made."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .artifact import Artifact
from .core.errors import ArtifactNotFoundError
from .core.userframe import shown_as_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from .catalog.base import CatalogReader, Derivation, Reuse
    from .catalog.records import ArtifactRecord, CodeVersion
    from .stack import Stack


MAX_JSON_DEPTH = 20_000  # steps of lineage ``to_json`` nests (the encoder recurses)
INDENTED_DEPTH = 64  # deeper trees come as compact JSON


@shown_as_text
@dataclass
class LineageNode:
    """One artifact in a lineage tree, with the nodes of the inputs it was made from."""

    artifact: Artifact
    step: str
    run_id: str
    code_version: str
    parents: list[LineageNode] = field(default_factory=list)
    param: str | None = None  # the parameter of the child step this artifact fed
    _code: CodeVersion | None = field(default=None, repr=False, compare=False)
    derivations: int = 1  # distinct ways these bytes were made (>1: see derivations_of)
    _files: list[list[Any]] | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.artifact.name

    @property
    def version(self) -> int:
        return self.artifact.version

    @property
    def code(self) -> CodeVersion:
        """The code of the step version that made this artifact: each fingerprint
        part's normalized source (read from the catalog on first use)."""
        if self._code is None:
            catalog = self.artifact._stack.open_catalog()
            self._code = catalog.code_versions([self.code_version])[self.code_version]
        return self._code

    @property
    def files(self) -> list[list[Any]]:
        """The files the step execution that made this artifact read, outside FlowyML's
        store (``[path, size, mtime_ns, blake3, ctime_ns]``, the ctime absent from records
        made before it was kept; a folder it listed ends in ``/``; paths under the project
        root relative to it). Read from the catalog on first use."""
        if self._files is None:
            _load_files(self.artifact._stack.open_catalog(), [self])
        return self._files or []

    def walk(self) -> list[LineageNode]:
        """Every node once, this one first (iterative; shared ancestors once)."""
        seen: set[str] = set()
        out: list[LineageNode] = []
        stack = [self]
        while stack:
            n = stack.pop()
            if n.artifact.id in seen:
                continue
            seen.add(n.artifact.id)
            out.append(n)
            stack.extend(reversed(n.parents))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Nested dicts, in the text tree's order (``_nested``): each artifact is
        expanded where it first appears, a shared ancestor that appears again is
        ``{"id", "name", "version", "see_above": True}`` (and the ``param`` it fed
        there), a source repeats whole. Each
        node's ``code`` references its step's recorded code: the code version and, per
        part, the BLAKE3 of its normalized source (``flowyml show ID --code`` prints it)."""
        catalog = self.artifact._stack.open_catalog()
        codes = catalog.code_versions({n.code_version for n in self.walk()}, text=False)
        _load_files(catalog, self.walk())

        def record(n: LineageNode) -> dict[str, Any]:
            a = n.artifact
            return {
                "id": a.id,
                "name": a.name,
                "version": a.version,
                "content_hash": a.content_hash,
                "step": n.step,
                "run_id": n.run_id,
                "code_version": n.code_version,
                "code": {"version": n.code_version, "parts": codes[n.code_version].digests},
                "param": n.param,
                "derivations": n.derivations,
                "files": n.files,
            }

        return _nested(self, lambda n: n.parents, record, "parents")

    def to_json(self) -> str:
        """``to_dict()`` as JSON text, however deep (see ``_json``)."""
        return _json(self.to_dict(), "parents", f"{self.artifact.name}@{self.artifact.version}")

    def to_mermaid(self) -> str:
        lines = ["graph BT"]
        for n in self.walk():
            a = n.artifact
            lines.append(f'  {_mid(a.id)}["{_mermaid_label(n)}"]')
        edges = set()
        for n in self.walk():
            for p in n.parents:
                edges.add(f"  {_mid(p.artifact.id)} --> {_mid(n.artifact.id)}")
        lines.extend(sorted(edges))
        return "\n".join(lines)

    def __str__(self) -> str:
        out: list[str] = []
        shown: set[str] = set()
        _load_files(self.artifact._stack.open_catalog(), self.walk())
        stack: list[tuple[LineageNode, str, str, bool]] = [(self, "", "", True)]
        while stack:
            n, prefix, branch, last = stack.pop()
            a = n.artifact
            via = f" (as {n.param})" if n.param and n.param != a.name else ""
            label = (
                f"{a.name}@{a.version}{via}  [step {n.step}, code {n.code_version}, "
                f"run {n.run_id}, {a.content_hash[:10]}{_derivations_mark(n.derivations)}]"
            )
            if a.id in shown and n.parents:
                out.append(f"{prefix}{branch}{label} (see above)")
                continue
            shown.add(a.id)
            out.append(f"{prefix}{branch}{label}")
            child_prefix = prefix + ("" if not branch else ("    " if last else "│   "))
            bar = "│   " if n.parents else "    "
            out += [f"{child_prefix}{bar}{_read_line(f)}" for f in n.files]
            for i, p in reversed(list(enumerate(n.parents))):
                is_last = i == len(n.parents) - 1
                stack.append((p, child_prefix, "└── " if is_last else "├── ", is_last))
        return "\n".join(out)

    def _repr_html_(self) -> str:
        from .display import lineage_html

        return lineage_html(self)


def _read_line(read: list[Any]) -> str:
    """``reads data/raw.csv (44bf83394c)``; ``unpickled features:add_one (67ba2f2dc2)`` for
    code a pickle it loaded names."""
    from .core.reads import CODE

    kind = read[4] if len(read) > 4 else None
    return f"{'unpickled' if kind == CODE else 'reads'} {read[0]} ({_short(read)})"


def _short(read: list[Any]) -> str:
    from .core.reads import FOLDER, PRESENT, STAT

    if read[3] == STAT:  # a file its code checked (``os.path.getsize``), not read
        return f"checked: {read[1]} bytes"
    if read[3] in (FOLDER, PRESENT):
        return f"checked: {read[3]}"
    return str(read[3])[:10] if read[3] else f"{read[1]} bytes, not hashed"


def _load_files(catalog: Any, nodes: list[LineageNode]) -> None:
    """Fill ``_files`` of ``nodes`` from their producing steps' records: one query per
    run (a node's own step row; an artifact reused by its run has the execution's)."""
    from .core.reads import CWD

    todo = [n for n in nodes if n._files is None]
    for run in dict.fromkeys(n.run_id for n in todo):
        by_step = {r.step: r.reads for r in catalog.step_runs(run)}
        for n in todo:
            if n.run_id == run:  # files and code; not where relative paths resolved
                n._files = [f for f in by_step.get(n.step) or []
                            if not (len(f) > 4 and f[4] == CWD)]


def _mid(artifact_id: str) -> str:
    return "a" + artifact_id[:16]


def _mermaid_label(n: LineageNode | DescendantNode) -> str:
    a = n.artifact
    more = f"<br/>{n.derivations} derivations" if n.derivations > 1 else ""
    return f"{a.name}@{a.version}<br/>{n.step}{more}"


def _derivations_mark(count: int) -> str:
    return f", {count} derivations" if count > 1 else ""


def get_lineage(
    artifact_id: str | Artifact, stack: Stack | str | None = None, *, run: str | None = None
) -> LineageNode:
    """The recursive tree of what ``artifact_id`` (an id, an ``Artifact``, or
    ``NAME@VERSION`` / ``@latest`` / ``@ALIAS``) was made from, down to the sources.

    Each artifact appears as its first production made it, unless ``run`` (a run id)
    is given: then each artifact that run produced appears as that run made it (step,
    code version, inputs; ``node.run_id`` is ``run``), one it reused as made by the
    execution whose cache entry it reused (``node.run_id`` is that execution's run,
    ``node.code_version`` the one ``run``'s own record of the step has: the code it
    would have run), anything else as first produced. ``run`` must have produced or
    reused ``artifact_id``; a bare ``NAME`` is then the version of it ``run`` had.
    ``node.derivations`` > 1 marks an artifact made in several ways."""
    from .stack import reading_stack

    st = reading_stack(stack)
    catalog: CatalogReader = st.open_catalog()
    aid = (run is not None and _used_in_run(catalog, artifact_id, run)) or _artifact_id(
        catalog, artifact_id)
    had: _Had | None = None  # what ``run`` produced or reused, and how
    derivs: dict[str, list[Derivation]] = {}
    if run is None:  # first productions all the way up: one recursive query
        edges, records = catalog.ancestry(aid)
    else:
        root_rec = catalog.get_artifact(aid)
        _check_run(catalog, root_rec, run)
        had = _Had(run, {a.id for a in catalog.search(run_id=run, limit=10**9)},
                   catalog.reuses(run))
        edges, records = _walk_run(catalog, root_rec, had, derivs)
    derivs.update(catalog.derivations_of([i for i in records if i not in derivs]))
    nodes: dict[str, LineageNode] = {}

    def node(i: str) -> LineageNode:
        if i not in nodes:
            r, ways = records[i], derivs.get(i, [])
            step, by, code = (r.step, r.run_id, r.code_version) if had is None else (
                had.shown(i, ways, r))
            nodes[i] = LineageNode(Artifact(r, st), step, by, code, derivations=max(1, len(ways)))
        return nodes[i]

    # build iteratively; shared ancestors are the same node object
    for child, lst in edges.items():
        if child not in records:
            continue
        n = node(child)  # each child once; aliases made earlier share this parents list
        for param, pid in lst:
            if pid not in records:
                continue
            p = node(pid)
            n.parents.append(p if p.param in (None, param) else _alias(p, param))
            if p.param is None:
                p.param = param
    return node(aid)


def _walk_run(
    catalog: CatalogReader, root: ArtifactRecord, had: _Had,
    derivs: dict[str, list[Derivation]],
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, ArtifactRecord]]:
    """Level by level up from ``root``, each artifact through the derivation the run
    made or had (see ``_Had.made_by``); the derivations read land in ``derivs``."""
    records: dict[str, ArtifactRecord] = {root.id: root}
    edges: dict[str, list[tuple[str, str]]] = {}
    frontier = [root.id]
    while frontier:
        derivs.update(catalog.derivations_of(frontier))
        got: dict[str, list[tuple[str, str]]] = {}
        for i in frontier:
            made = had.made_by(i, derivs[i])
            got[i] = list(made.parents) if made else []
        edges.update(got)
        new = {pid for lst in got.values() for _, pid in lst if pid not in records}
        records.update(catalog.artifacts_by_id(new))
        frontier = [i for i in new if i not in edges]
    return edges, records


def _alias(n: LineageNode, param: str) -> LineageNode:
    return replace(n, param=param)  # the same parents list: shared ancestors stay shared


@dataclass
class _Had:
    """What run ``run`` produced or reused (``touched``), and how it had each artifact
    it reused (``reused``: its own step record, and the run whose cache entry it took)."""

    run: str
    touched: set[str]
    reused: dict[str, Reuse]

    def made_by(self, i: str, ways: list[Derivation]) -> Derivation | None:
        """The derivation the run made of artifact ``i``; for one it reused, that of
        the execution whose cache entry it took; else (no record of that execution
        left) the first made by the run's code version from inputs the run had, the
        first from inputs it had, the first production's."""
        for d in ways:
            if self.run in d.runs:
                return d
        reuse = self.reused.get(i)
        if reuse is not None:
            for d in ways:
                if reuse.run in d.runs and d.step == reuse.step:
                    return d
        had = [d for d in ways if all(pid in self.touched for _, pid in d.parents)]
        if reuse is not None:
            for d in had:
                if (d.step, d.code_version) == (reuse.step, reuse.code_version):
                    return d
        return had[0] if had else ways[0] if ways else None

    def shown(self, i: str, ways: list[Derivation], rec: ArtifactRecord
              ) -> tuple[str, str, str]:
        """(step, run, code version) of artifact ``i``'s node: as the run made it; as
        the run had what it reused (its own record's step and code, the run of the
        execution whose entry it took); anything else as its derivation made it."""
        made = self.made_by(i, ways)
        reuse = self.reused.get(i)
        if made is not None and self.run in made.runs:
            return made.step, self.run, made.code_version
        if reuse is not None:
            by = reuse.run or (made.runs[0] if made else rec.run_id)
            return reuse.step, by, reuse.code_version
        if made is None:
            return rec.step, rec.run_id, rec.code_version
        return made.step, made.runs[0], made.code_version


def _check_run(catalog: CatalogReader, rec: ArtifactRecord, run: str) -> None:
    uses = catalog.runs_using(rec.id)
    if run not in {u[0] for u in uses}:
        catalog.get_run(run)  # no such run: says so (ArtifactNotFoundError, as a lookup)
        made = sorted({u[0] for u in uses if u[2] == "produced"} | {rec.run_id})
        raise ArtifactNotFoundError(
            f"run {run!r} did not produce or reuse {rec.name}@{rec.version} ({rec.id}); "
            f"it was produced by run(s) {', '.join(made)}"
        )


def get_descendants(artifact_id: str | Artifact, stack: Stack | str | None = None) -> list[Artifact]:
    """Every artifact derived from ``artifact_id`` (named as ``get_lineage`` takes it),
    directly or not (nearest first)."""
    from .stack import reading_stack

    st = reading_stack(stack)
    catalog: CatalogReader = st.open_catalog()
    aid = _artifact_id(catalog, artifact_id)
    seen: list[str] = []
    known = {aid}
    frontier = [aid]
    while frontier:
        got = catalog.children_of(frontier)
        frontier = []
        for kids in got.values():
            for k in kids:
                if k not in known:
                    known.add(k)
                    seen.append(k)
                    frontier.append(k)
    recs = catalog.artifacts_by_id(seen)
    return [Artifact(recs[i], st) for i in seen if i in recs]


@shown_as_text
@dataclass
class DescendantNode:
    """One artifact in a tree of what was made from an artifact: the nodes of the
    artifacts made from it (by any derivation) are its ``children``."""

    artifact: Artifact
    step: str
    run_id: str
    code_version: str
    children: list[DescendantNode] = field(default_factory=list)
    param: str | None = None  # the parameter through which the parent fed this one's step
    derivations: int = 1

    def walk(self) -> list[DescendantNode]:
        """Every node once, this one first (iterative; shared descendants once)."""
        seen: set[str] = set()
        out: list[DescendantNode] = []
        stack = [self]
        while stack:
            n = stack.pop()
            if n.artifact.id not in seen:
                seen.add(n.artifact.id)
                out.append(n)
                stack.extend(reversed(n.children))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Nested dicts like ``LineageNode.to_dict``, with ``children`` for ``parents``: a
        shared descendant is expanded where it first appears."""

        def record(n: DescendantNode) -> dict[str, Any]:
            a = n.artifact
            return {
                "id": a.id, "name": a.name, "version": a.version,
                "content_hash": a.content_hash, "step": n.step, "run_id": n.run_id,
                "code_version": n.code_version, "param": n.param,
                "derivations": n.derivations,
            }

        return _nested(self, lambda n: n.children, record, "children")

    def to_json(self) -> str:
        """``to_dict()`` as JSON text, however deep (see ``_json``)."""
        return _json(self.to_dict(), "children", f"{self.artifact.name}@{self.artifact.version}")

    def to_mermaid(self) -> str:
        """``graph TD``: each node labelled ``name@version`` and its step."""
        nodes = self.walk()
        lines = ["graph TD"]
        lines += [f'  {_mid(n.artifact.id)}["{_mermaid_label(n)}"]' for n in nodes]
        lines += sorted({f"  {_mid(n.artifact.id)} --> {_mid(c.artifact.id)}"
                         for n in nodes for c in n.children})
        return "\n".join(lines)

    def __str__(self) -> str:
        out: list[str] = []
        shown: set[str] = set()
        stack: list[tuple[DescendantNode, str]] = [(self, "")]
        while stack:
            n, indent = stack.pop()
            a = n.artifact
            via = f" (as {n.param})" if n.param and n.param != a.name else ""
            label = (f"{indent}{'-> ' if indent else ''}{a.name}@{a.version}{via}  [step {n.step}, "
                     f"run {n.run_id}{_derivations_mark(n.derivations)}]")
            if a.id in shown and n.children:
                out.append(label + " (see above)")
                continue
            shown.add(a.id)
            out.append(label)
            stack.extend((c, indent + "  ") for c in reversed(n.children))
        return "\n".join(out)


def _used_in_run(catalog: CatalogReader, spec: str | Artifact, run: str) -> str | None:
    """For a bare ``NAME``: the version of it ``run`` produced or reused (the newest, if
    several), not its ``@latest``; None otherwise."""
    if not isinstance(spec, str) or "@" in spec:
        return None
    used = [r for r in catalog.search(name=spec, run_id=run, limit=10**6) if r.name == spec]
    return used[0].id if used else None


def _artifact_id(catalog: CatalogReader, spec: str | Artifact) -> str:
    """The id ``spec`` names, as the CLI takes it (``catalog.resolve``): an
    ``Artifact``, ``NAME`` (its ``@latest``), ``NAME@VERSION|ALIAS``, an id, or the
    start of a content hash."""
    if isinstance(spec, Artifact):
        return spec.id
    from .catalog.resolve import resolve_spec

    return resolve_spec(spec, catalog.find, lambda: catalog).id


def get_descendant_tree(
    artifact_id: str | Artifact, stack: Stack | str | None = None
) -> DescendantNode:
    """The tree of everything made from ``artifact_id`` (by any derivation), down to
    the leaves; shared descendants are the same node."""
    from .stack import reading_stack

    st = reading_stack(stack)
    catalog: CatalogReader = st.open_catalog()
    aid = _artifact_id(catalog, artifact_id)
    records: dict[str, ArtifactRecord] = {aid: catalog.get_artifact(aid)}
    kids: dict[str, list[str]] = {}
    frontier = [aid]
    while frontier:
        got = catalog.children_of(frontier)
        kids.update(got)
        new = {k for lst in got.values() for k in lst if k not in records}
        records.update(catalog.artifacts_by_id(new))
        frontier = [k for k in new if k not in kids]
    derivs = catalog.derivations_of(records)
    nodes: dict[str, DescendantNode] = {}
    for i, r in records.items():
        nodes[i] = DescendantNode(Artifact(r, st), r.step, r.run_id, r.code_version,
                                  derivations=max(1, len(derivs.get(i, []))))
    for parent, lst in kids.items():
        for k in sorted((k for k in lst if k in nodes),
                        key=lambda k: (records[k].name, records[k].version)):
            # once per parameter through which any derivation of it reads the parent
            # (``inputs={"p": "x", "q": "x"}``: as the upward tree lists both edges)
            params = sorted({p for d in derivs.get(k, []) for p, pid in d.parents
                             if pid == parent})
            child = nodes[k]
            for param in (*params,) or (None,):
                if child.param is None:
                    child.param = param
                nodes[parent].children.append(
                    child if child.param == param else replace(child, param=param))
    return nodes[aid]


def _nested(root: Any, kids: Callable[[Any], list[Any]],
            record: Callable[[Any], dict[str, Any]], key: str) -> dict[str, Any]:
    """A tree of nodes as nested dicts (``record`` of each, its ``kids`` under ``key``),
    depth first in order as the text tree prints it, without recursion. A node is
    expanded where it first appears; where one with kids appears again it is
    ``{"id", "name", "version", "see_above": True}``: expanding it at every place grew
    with the number of paths (a ladder of 16 diamonds: 35 s and 0.8 GB of JSON). It
    keeps the ``param`` of the edge it stands on (an artifact read through two
    parameters appears twice, once with each)."""
    shown: set[str] = set()

    def conv(n: Any) -> dict[str, Any]:
        a = n.artifact
        below = kids(n)
        if a.id in shown and below:
            again = {"id": a.id, "name": a.name, "version": a.version, "see_above": True}
            if getattr(n, "param", None) is not None:  # the edge's: another one may differ
                again["param"] = n.param
            return again
        shown.add(a.id)
        out = record(n)
        out[key] = [None] * len(below)  # each filled in when its node is reached
        return out

    top = conv(root)
    node, out = root, top
    stack: list[tuple[Any, list[Any], int]] = []
    while True:
        if key in out:
            slots = out[key]
            stack.extend((k, slots, i) for i, k in reversed(list(enumerate(kids(node)))))
        if not stack:
            return top
        node, slots, i = stack.pop()
        out = slots[i] = conv(node)


def _json(tree: dict[str, Any], key: str, what: str) -> str:
    """``tree`` (``_nested``) as JSON: indented, unless it is more than ``INDENTED_DEPTH``
    levels deep (each level indents every line below it: a 4,000-step chain was 0.5 GB
    of spaces), then compact. The encoder recurses per level: the interpreter's limit
    is raised for the call as far as the tree needs, up to ``MAX_JSON_DEPTH`` levels
    (beyond, a ``ValueError`` says to use the tree or mermaid form)."""
    import json
    import sys

    depth, todo = 0, [(tree, 1)]
    while todo:
        d, level = todo.pop()
        depth = max(depth, level)
        todo.extend((k, level + 1) for k in d.get(key, ()))
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"the lineage of {what} is {depth} steps deep, more than its JSON "
                         f"form goes ({MAX_JSON_DEPTH}): use the tree or mermaid form")
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4 * depth + 200))  # a dict and a list per level
    try:
        return json.dumps(tree, indent=2 if depth <= INDENTED_DEPTH else None)
    finally:
        sys.setrecursionlimit(old)
