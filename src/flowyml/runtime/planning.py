"""``plan``: what a run would execute and reuse, decided from the catalog alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core import reads as file_reads
from ..core.fingerprint import fingerprint_graph
from ..core.stored import artifact_id
from ..objects import is_stored
from .decisions import Decider, explain_miss, own_changes

if TYPE_CHECKING:
    from ..catalog.base import RuntimeCatalog
    from ..catalog.records import ArtifactRecord, StepRecord
    from ..core.graph import Graph
    from .loop import RunContext


class Plan(list[tuple[str, str, str]]):
    """``plan``'s rows, plus one line per schema check that build made
    (``graph.schema_checks``, see ``contracts.check_graph``); ``flowyml plan`` prints both."""

    def __init__(self, schema_checks: list[str] | None = None) -> None:
        super().__init__()
        self.schema_checks = list(schema_checks or [])

    def __str__(self) -> str:
        """As ``flowyml plan`` prints it: ``+ run``, ``= reuse``, ``? run?`` lines."""
        lines = [f"  {_MARKS[action]} {name}: {action} - {reason}" for name, action, reason in self]
        if self.schema_checks:  # declared table schemas, checked at build (contracts.py)
            lines += ["schema checks:", *(f"  {line}" for line in self.schema_checks)]
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """A notebook shows what ``flowyml plan`` prints, not a list of tuples."""
        p.text(str(self))


_MARKS = {"reuse": "=", "run": "+", "run?": "?"}


def plan(
    pipeline: str,
    graph: Graph,
    stack: RunContext,
    params: dict[str, Any],
    refs: dict[tuple[str, str], ArtifactRecord],
) -> Plan:
    """For each step: ("reuse" | "run" | "run?", reason). Downstream of a step that
    will run, outputs are unknown until it runs: "run?" says it may still be reused
    (early cutoff) if the new outputs are byte-identical, unless it cannot be reused
    whatever they are (``_ahead``)."""
    catalog = stack.open_runtime_catalog()
    store = stack.open_store()
    known: dict[str, ArtifactRecord] = {}
    unknown: set[str] = set()
    out = Plan(graph.schema_checks)
    previous = catalog.previous_steps(pipeline, list(graph.order))  # one query
    fingerprint_graph(graph, stack.root or ".")
    decider = Decider(graph, stack.root)
    expected = _Generators()
    recorded = _Recorded(catalog, graph)
    for name in graph.order:
        step = graph.steps[name]
        in_recs: dict[str, ArtifactRecord] = {}
        blocked = None
        drawn = sorted(graph.fingerprints[name].states)
        states = expected.digests(drawn) if drawn else None
        for param, b in graph.bindings[name].items():
            if b.kind == "asset":
                assert b.asset is not None
                if b.asset in unknown:
                    blocked = b.asset
                    continue
                in_recs[param] = known[b.asset]
            elif b.kind == "catalog":
                assert b.asset is not None and b.selector is not None
                in_recs[param] = refs.get((b.asset, b.selector)) or catalog.find(b.asset, b.selector)
        if blocked is not None or (drawn and states is None):
            unknown.update(step.outputs)
            expected.moved(drawn)
            out.append(_ahead(name, graph, blocked, previous.get(name), recorded,
                              decider, in_recs))
            continue
        d = decider.decide(name, in_recs, states)
        found = catalog.lookup_cache_many(d.all_keys()) if step.cache else {}
        hit = next((found[k] for k in d.all_keys() if k in found), None)
        stale = None
        if hit is not None and all(is_stored(store, r) for r in hit.values()):
            stale = file_reads.changed(hit.reads, stack.root)
            if stale is None:
                known.update(hit)
                expected.left(hit.effects)
                out.append((name, "reuse", f"{file_reads.unchanged(hit.reads)} unchanged"))
                continue
        reason = "caching is off (cache=False)" if not step.cache else stale or explain_miss(
            previous.get(name), d
        )
        unknown.update(step.outputs)
        expected.moved(drawn)
        out.append((name, "run", reason))
    return out


def _ahead(name: str, graph: Graph, blocked: str | None, prev: StepRecord | None,
           recorded: _Recorded, decider: Decider, in_recs: dict[str, ArtifactRecord],
           ) -> tuple[str, str, str]:
    """The row of a step whose key is known only when a step before it has run: the
    asset ``blocked`` it reads is made by one, or (``blocked`` None) the global random
    generator it draws from may be moved by one. It runs whatever that step does when
    caching is off, or when an output of it has no artifact (no cache entry of it can
    be a hit: it never ran, or what it made was deleted); "run?" otherwise."""
    step = graph.steps[name]
    if not step.cache:
        return name, "run", "caching is off (cache=False)"
    missing = recorded.missing(step.outputs)
    if missing:
        never = f"no {' or '.join(missing)} in the catalog"
        return name, "run", (f"no successful run of this step yet: nothing cached under its "
                             f"key ({never})"
                             if prev is None else f"nothing cached under its key ({never})")
    if blocked is None:  # what the steps before it leave is known when they run
        drawn = sorted(graph.fingerprints[name].states)
        return name, "run?", (f"draws from the global random generator of "
                              f"{' and '.join(drawn)} after a step before it that runs: "
                              "reused only if that step leaves it as it did")
    after = f"after {graph.producers[blocked]} runs"
    if prev is None:  # a cache entry of it can only be another pipeline's
        return name, "run?", (f"no successful run of this step in this pipeline yet; {after}: "
                              "reused only if another pipeline ran it on the inputs it gets")
    as_before = recorded.as_before(name, prev, in_recs)
    own = own_changes(prev, decider.decide(name, as_before), partial=as_before.keys() < (
        graph.bindings[name].keys() & prev.inputs.keys()))
    return name, "run?", ("; ".join(own) + ("; and " if own else "")
                          + f"{after}: reused only if {blocked} comes out byte-identical")


class _Recorded:
    """The output assets of a graph that have an artifact in the catalog: asked once, for
    all of them, when a step's outcome first depends on a step before it."""

    def __init__(self, catalog: RuntimeCatalog, graph: Graph) -> None:
        self.catalog, self.graph = catalog, graph
        self.names: set[str] | None = None

    def as_before(self, name: str, prev: StepRecord, in_recs: dict[str, ArtifactRecord]
                  ) -> dict[str, ArtifactRecord]:
        """``in_recs`` with each input not known yet (made by a step that runs) as the
        step's previous execution had it: what ``plan`` compares the step's own code
        with (a pickled model's classes count as its code does)."""
        want = {p: artifact_id(b.asset, prev.inputs[p])
                for p, b in self.graph.bindings[name].items()
                if p not in in_recs and b.kind == "asset" and b.asset is not None
                and p in prev.inputs}
        found = self.catalog.artifacts_by_id(list(want.values())) if want else {}
        return {**in_recs, **{p: found[i] for p, i in want.items() if i in found}}

    def missing(self, outputs: Sequence[str]) -> list[str]:
        """The assets among ``outputs`` with no artifact (none: a step without outputs
        says nothing)."""
        if self.names is None:
            self.names = self.catalog.recorded_assets(list(self.graph.producers))
        return [o for o in outputs if o not in self.names]


class _Generators:
    """The states a run would give the hidden random generators as each step starts
    (``rng.end_states`` text; None: not known, a step before it runs and may draw):
    this process's at first, then what the reused steps' executions left."""

    def __init__(self) -> None:
        self.states: dict[str, str | None] = {}

    def digests(self, names: list[str]) -> dict[str, str] | None:
        from ..core import rng

        out = {}
        for n in names:
            if n not in self.states:
                self.states[n] = rng.end_states((n,))[n]
            text = self.states[n]
            if text is None:
                return None
            out[n] = rng.digest_of(n, text)
        return out

    def moved(self, names: list[str]) -> None:
        self.states.update(dict.fromkeys(names))

    def left(self, effects: dict[str, str] | None) -> None:
        self.states.update(effects or {})
