"""Lineage from the catalog: ``get_lineage`` (up to the sources) and ``get_descendants``.

Both read only the stack's ``CatalogReader`` (artifact records and lineage edges),
level by level, one query per level."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .artifact import Artifact

if TYPE_CHECKING:
    from .catalog.base import CatalogReader
    from .catalog.records import ArtifactRecord
    from .stack import Stack


@dataclass
class LineageNode:
    """One artifact in a lineage tree, with the nodes of the inputs it was made from."""

    artifact: Artifact
    step: str
    run_id: str
    code_version: str
    parents: list[LineageNode] = field(default_factory=list)
    param: str | None = None  # the parameter of the child step this artifact fed

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
        """Nested dicts; a shared ancestor is expanded at each place it appears."""
        def conv(n: LineageNode) -> dict[str, Any]:
            return {
                "id": n.artifact.id,
                "name": n.artifact.name,
                "version": n.artifact.version,
                "content_hash": n.artifact.content_hash,
                "step": n.step,
                "run_id": n.run_id,
                "code_version": n.code_version,
                "param": n.param,
                "parents": [conv(p) for p in n.parents],
            }

        return conv(self)

    def to_mermaid(self) -> str:
        lines = ["graph BT"]
        for n in self.walk():
            a = n.artifact
            lines.append(f'  {_mid(a.id)}["{a.name}@{a.version}<br/>{n.step}"]')
        edges = set()
        for n in self.walk():
            for p in n.parents:
                edges.add(f"  {_mid(p.artifact.id)} --> {_mid(n.artifact.id)}")
        lines.extend(sorted(edges))
        return "\n".join(lines)

    def __str__(self) -> str:
        out: list[str] = []
        shown: set[str] = set()
        stack: list[tuple[LineageNode, str, str, bool]] = [(self, "", "", True)]
        while stack:
            n, prefix, branch, last = stack.pop()
            a = n.artifact
            via = f" (as {n.param})" if n.param and n.param != a.name else ""
            label = (
                f"{a.name}@{a.version}{via}  [step {n.step}, code {n.code_version}, "
                f"run {n.run_id}, {a.content_hash[:10]}]"
            )
            if a.id in shown and n.parents:
                out.append(f"{prefix}{branch}{label} (see above)")
                continue
            shown.add(a.id)
            out.append(f"{prefix}{branch}{label}")
            child_prefix = prefix + ("" if not branch else ("    " if last else "│   "))
            for i, p in reversed(list(enumerate(n.parents))):
                is_last = i == len(n.parents) - 1
                stack.append((p, child_prefix, "└── " if is_last else "├── ", is_last))
        return "\n".join(out)


def _mid(artifact_id: str) -> str:
    return "a" + artifact_id[:16]


def get_lineage(artifact_id: str | Artifact, stack: Stack | str | None = None) -> LineageNode:
    """The recursive tree of what ``artifact_id`` was made from, down to the sources."""
    from .stack import as_stack

    st = as_stack(stack)
    catalog: CatalogReader = st.open_catalog()
    aid = artifact_id.id if isinstance(artifact_id, Artifact) else artifact_id
    root_rec = catalog.get_artifact(aid)
    records: dict[str, ArtifactRecord] = {aid: root_rec}
    edges: dict[str, list[tuple[str, str]]] = {}
    frontier = [aid]
    while frontier:
        got = catalog.parents_of(frontier)
        edges.update(got)
        new = {pid for lst in got.values() for _, pid in lst if pid not in records}
        records.update(catalog.artifacts_by_id(new))
        frontier = [i for i in new if i not in edges]
    nodes: dict[str, LineageNode] = {}

    def node(i: str) -> LineageNode:
        if i not in nodes:
            r = records[i]
            nodes[i] = LineageNode(Artifact(r, st), r.step, r.run_id, r.code_version)
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


def _alias(n: LineageNode, param: str) -> LineageNode:
    return LineageNode(n.artifact, n.step, n.run_id, n.code_version, n.parents, param)


def get_descendants(artifact_id: str | Artifact, stack: Stack | str | None = None) -> list[Artifact]:
    """Every artifact derived from ``artifact_id``, directly or not (nearest first)."""
    from .stack import as_stack

    st = as_stack(stack)
    catalog: CatalogReader = st.open_catalog()
    aid = artifact_id.id if isinstance(artifact_id, Artifact) else artifact_id
    catalog.get_artifact(aid)
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
