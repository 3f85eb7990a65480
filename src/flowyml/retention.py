"""Retention: which runs and artifact versions a policy keeps, and pruning the rest.

``plan`` is the policy, pure: it reads a ``CatalogSnapshot`` and returns what to
delete. ``prune`` hands it to the catalog, which reads the snapshot, asks the policy and
deletes in ONE transaction (``RetentionCatalog.prune``), refuses any deletion that
would break what stays, and waits while a run is in progress (a run may reuse anything
it has looked up). Bytes are not touched: ``gc`` frees them afterwards.

What a policy keeps, in this order, until nothing changes:

1. the runs inside the policy: the runs of each pipeline since its ``keep_last``-th
   most recent successful run (that one included: a failed run does not count, so
   it never pushes a result out), the runs younger than ``older_than``, every run of
   another pipeline than
   ``pipeline``, and runs in progress (a run is outside the policy when it is outside
   every limit given);
2. every artifact a kept run produced or reused, every artifact with an alias, and
   every artifact no known run made;
3. the lineage of every kept artifact: the inputs of its first production and of its
   derivations by kept runs, recursively;
4. the run that first produced each kept artifact (its lineage names that run), which
   keeps, by 2, what that run produced.

Everything else is deleted: the runs (with their step records) and the artifact
versions (with their lineage edges and the cache entries that point at them).
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .catalog.base import CatalogSnapshot, Deletion

if TYPE_CHECKING:
    from .catalog.records import ArtifactRecord, RunRecord
    from .stack import Stack

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``12h``, ``30d``, ``2w`` (or a sum: ``1d12h``) -> seconds."""
    t = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw])", t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise ValueError(
            f"cannot read duration {text!r}: write a number of seconds or e.g. 30d, 12h, "
            "90m, 2w, 1d12h"
        )
    return sum(float(n) * _UNITS[u] for n, u in parts)


@dataclass(frozen=True)
class Policy:
    """Keep the runs of each pipeline since its ``keep_last``-th most recent successful
    run and the runs younger than ``older_than`` seconds; only runs of ``pipeline`` are
    considered when given.
    At least one of ``keep_last`` and ``older_than`` is required."""

    keep_last: int | None = None
    older_than: float | None = None
    pipeline: str | None = None

    def __post_init__(self) -> None:
        if self.keep_last is None and self.older_than is None:
            raise ValueError("a retention policy needs --keep-last N and/or --older-than DURATION")
        if self.keep_last is not None and self.keep_last < 0:
            raise ValueError(f"keep_last must be 0 or more, got {self.keep_last}")
        if self.older_than is not None and self.older_than < 0:
            raise ValueError(f"older_than must be 0 or more seconds, got {self.older_than}")

    def outside(self, runs: Iterable[RunRecord], now: float) -> set[str]:
        """Ids of the runs outside every limit of the policy (never a run in progress)."""
        by_pipeline: dict[str, list[RunRecord]] = {}
        for r in runs:
            if self.pipeline is None or r.pipeline == self.pipeline:
                by_pipeline.setdefault(r.pipeline, []).append(r)
        out: set[str] = set()
        for group in by_pipeline.values():
            group.sort(key=lambda r: (r.started_at, r.id), reverse=True)
            newer = 0  # successful runs of the pipeline that started after this one
            for r in group:
                # ``keep_last`` counts results: the runs since the N-th most recent
                # successful one stay, so failed runs never push a good result out
                beyond = self.keep_last is None or newer >= self.keep_last
                old = self.older_than is None or r.started_at < now - self.older_than
                if beyond and old and r.status != "running":
                    out.add(r.id)
                newer += r.status == "succeeded"
        return out


@dataclass
class Plan:
    """What a policy deletes, and why runs outside it were kept all the same."""

    deletion: Deletion
    kept_for_lineage: dict[str, str] = field(default_factory=dict)  # run id -> why


def plan(snap: CatalogSnapshot, policy: Policy, now: float) -> Plan:
    """Apply ``policy`` to ``snap`` (steps 1-4 of the module docstring)."""
    arts = snap.artifacts
    outside = policy.outside(snap.runs, now)
    uses_by_run: dict[str, list[str]] = {}
    used: set[str] = set()
    for aid, run, _role in snap.uses:
        uses_by_run.setdefault(run, []).append(aid)
        used.add(aid)
    parents: dict[str, list[tuple[str, str | None]]] = {}
    derived_in: dict[str, list[tuple[str, str]]] = {}  # run -> (child, parent) it derived
    for child, parent, by in snap.edges:
        parents.setdefault(child, []).append((parent, by))
        if by is not None:
            derived_in.setdefault(by, []).append((child, parent))
    every_run = {r.id for r in snap.runs} | set(uses_by_run) | {a.run_id for a in arts.values()}
    kept_runs = every_run - outside
    kept: set[str] = set()
    why: dict[str, str] = {}
    todo = deque(a for a in arts if a in snap.aliased or a not in used)
    runs_todo = deque(kept_runs)
    while todo or runs_todo:
        while runs_todo:  # 2: what a kept run used; 3: its derivations of kept artifacts
            rid = runs_todo.popleft()
            todo.extend(uses_by_run.get(rid, ()))
            todo.extend(p for c, p in derived_in.get(rid, ()) if c in kept)
        while todo:
            aid = todo.popleft()
            if aid in kept or aid not in arts:
                continue
            kept.add(aid)
            todo.extend(p for p, by in parents.get(aid, ()) if by is None or by in kept_runs)
            first = arts[aid].run_id
            if first not in kept_runs:  # 4: the run its lineage names stays
                kept_runs.add(first)
                why[first] = f"it first made {arts[aid].name}@{arts[aid].version}, which is kept"
                runs_todo.append(first)
    deleted_runs = frozenset(outside - kept_runs)
    return Plan(Deletion(deleted_runs, frozenset(set(arts) - kept)), why)


@dataclass
class PruneReport:
    """What ``prune`` deleted (or, with ``dry_run``, would delete)."""

    dry_run: bool
    runs: list[RunRecord]
    artifacts: list[ArtifactRecord]
    kept_for_lineage: dict[str, str]
    kept_runs: int
    kept_artifacts: int
    reclaim_objects: int  # objects no kept artifact references: gc can then delete them
    reclaim_bytes: int
    in_progress: list[str]  # runs in progress when the snapshot was read


def prune(
    stack: Stack | str | None,
    policy: Policy,
    *,
    dry_run: bool = False,
    wait: float = 300.0,
    now: float | None = None,
) -> PruneReport:
    """Delete the runs and artifact versions outside ``policy`` (see the module
    docstring); with ``dry_run`` only say what would go. While a run is in progress a
    deletion waits up to ``wait`` seconds for it (then ``CatalogError``)."""
    from .stack import reading_stack

    catalog = reading_stack(stack).open_catalog()
    at = time.time() if now is None else now
    made: list[Plan] = []

    def decide(snap: CatalogSnapshot) -> Deletion:
        made.append(plan(snap, policy, at))
        return made[-1].deletion

    snap, _ = catalog.prune(decide, dry_run=dry_run, wait=wait)
    return report(snap, made[-1], dry_run)


def report(snap: CatalogSnapshot, p: Plan, dry_run: bool) -> PruneReport:
    """The ``PruneReport`` of plan ``p`` on ``snap``: what goes, and the bytes gc frees."""
    d = p.deletion
    runs = sorted((r for r in snap.runs if r.id in d.runs), key=lambda r: r.started_at)
    gone = sorted((snap.artifacts[a] for a in d.artifacts), key=lambda a: (a.name, a.version))
    kept_hashes = {a.content_hash for i, a in snap.artifacts.items() if i not in d.artifacts}
    freed = {a.content_hash: a.size for a in gone
             if a.content_hash not in kept_hashes and a.id not in snap.inline}
    return PruneReport(
        dry_run=dry_run,
        runs=runs,
        artifacts=gone,
        kept_for_lineage={r: w for r, w in p.kept_for_lineage.items()
                          if any(x.id == r for x in snap.runs)},
        kept_runs=len(snap.runs) - len(runs),
        kept_artifacts=len(snap.artifacts) - len(gone),
        reclaim_objects=len(freed),
        reclaim_bytes=sum(freed.values()),
        in_progress=sorted(r.id for r in snap.runs if r.status == "running"),
    )


__all__ = ["Plan", "Policy", "PruneReport", "parse_duration", "plan", "prune", "report"]
