"""``plan``: what a run would execute and reuse, decided from the catalog alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fingerprint import fingerprint_function, short_repr, value_token
from .runtime import _Decision, cache_key, explain_miss

if TYPE_CHECKING:
    from .catalog.records import ArtifactRecord
    from .graph import Graph
    from .stack import Stack


def plan(
    pipeline: str,
    graph: Graph,
    stack: Stack,
    params: dict[str, Any],
    refs: dict[tuple[str, str], ArtifactRecord],
) -> list[tuple[str, str, str]]:
    """For each step: ("reuse" | "run" | "run?", reason). Downstream of a step that
    will run, outputs are unknown until it runs: "run?" says it may still be reused
    (early cutoff) if the new outputs are byte-identical."""
    catalog = stack.open_catalog()
    store = stack.open_store()
    known: dict[str, ArtifactRecord] = {}
    unknown: set[str] = set()
    out: list[tuple[str, str, str]] = []
    previous = catalog.previous_steps(pipeline, list(graph.order))  # one query
    for name in graph.order:
        step = graph.steps[name]
        fp = fingerprint_function(step.func, step.options(), stack.root)
        inputs: dict[str, str] = {}
        vals: dict[str, list[str]] = {}
        in_recs: dict[str, ArtifactRecord] = {}
        blocked = None
        for param, b in graph.bindings[name].items():
            if b.kind == "asset":
                assert b.asset is not None
                if b.asset in unknown:
                    blocked = b.asset
                    continue
                rec = known[b.asset]
            elif b.kind == "catalog":
                assert b.asset is not None and b.selector is not None
                rec = refs.get((b.asset, b.selector)) or catalog.find(b.asset, b.selector)
            else:
                vals[param] = [value_token(b.value), short_repr(b.value)]
                continue
            inputs[param] = rec.content_hash
            in_recs[param] = rec
        if blocked is not None:
            unknown.update(step.outputs)
            out.append((name, "run?", f"after {graph.producers[blocked]} runs: reused only if "
                        f"{blocked} comes out byte-identical"))
            continue
        key = cache_key(fp.digest, inputs, vals, step.outputs)
        hit = catalog.lookup_cache(key) if step.cache else None
        if hit is not None and all(store.exists(r.content_hash) for r in hit.values()):
            known.update(hit)
            out.append((name, "reuse", "code, inputs and parameters unchanged"))
            continue
        d = _Decision(key, fp, inputs, vals, {}, in_recs, 0.0)
        reason = "caching is off (cache=False)" if not step.cache else explain_miss(
            previous.get(name), d
        )
        unknown.update(step.outputs)
        out.append((name, "run", reason))
    return out
