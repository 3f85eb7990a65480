"""Run or reuse: the cache key of a step, the decision record, and why it missed.

One place for the rules, used by the scheduling loop (``loop``), by ``plan`` (the same
decisions from the catalog alone) and by map-over (an element's key is the step's key
recipe with the element's hash). The key is

    H(code fingerprint, {param: input content hash}, {param: value token},
      output names, materializer versions)

The fingerprint and the value tokens were taken at build (``fingerprint_graph``); the
code that an input artifact references (a pickled instance of the user's class) joins
the fingerprint here, as if the step called it.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..core.errors import ParameterError
from ..core.fingerprint import code_ref_parts, settings_parts, short_repr
from ..core.hashing import hash_text
from ..core.native_reads import QUERY_REFS, QUERY_TYPES
from ..core.parts import OPAQUE, Fingerprint, explain_parts
from ..core.struct import field, replace, struct
from ..materializers import registry_versions

if TYPE_CHECKING:
    from ..catalog.records import ArtifactRecord, StepRecord
    from ..core.graph import Graph

CACHE_KEY_VERSION = "1"


@struct
class Decision:
    """What the key of one step was made from, kept to record and explain it."""

    key: str
    fingerprint: Fingerprint
    inputs: dict[str, str]  # param -> content hash
    values: dict[str, list[str]]  # param -> [token, display]
    parents: dict[str, str]  # param -> artifact id
    refs: dict[str, ArtifactRecord]  # param -> input record
    started: float
    note: str | None = None  # why a cache entry that exists could not be used
    # the set of hidden random generators an execution's result does not depend on
    # (``rng``: seeded first, or untouched) -> the key it is stored under; ``key`` is the
    # one for none (each counted by its state).
    # Empty when the code reaches none of them: ``key`` is then the only one.
    variants: dict[frozenset[str], str] = field(default_factory=dict)
    # why an execution of it cannot be reproduced where it runs (a hidden generator's
    # state the worker could not be given): recorded, never cached
    unrepeatable: str | None = None

    def all_keys(self) -> list[str]:
        """Every key an execution of this step may be stored under, ``key`` first."""
        return [self.key, *(k for k in self.variants.values() if k != self.key)]

    def for_independent(self, names: Iterable[str]) -> None:
        """Take the key of an execution whose result does not depend on ``names``."""
        self.key = self.variants.get(frozenset(names), self.key)


def cache_key(
    fingerprint: str, inputs: dict[str, str], values: dict[str, list[str]], outputs: Iterable[str],
    materializers: str | None = None,
) -> str:
    """H(code fingerprint, {param: input hash}, {param: value token}, outputs, materializers);
    ``materializers`` is ``registry_versions()``, taken now unless the caller took it."""
    return hash_text(
        CACHE_KEY_VERSION,
        fingerprint,
        _json_list(sorted(inputs.items())) if inputs else "[]",
        _json_list(sorted((k, v[0]) for k, v in values.items())) if values else "[]",
        _json_list(list(outputs)),
        registry_versions() if materializers is None else materializers,
    )


_quote = json.encoder.encode_basestring_ascii  # how json.dumps writes a string


def _json_list(items: list[Any]) -> str:
    """``json.dumps(items)`` for a list of strings or of pairs of strings (what a key is
    made of), written by hand: ``json.dumps`` makes an encoder per call, three calls a
    step. Anything else goes through ``json.dumps``, so the text is always its text."""
    parts = []
    for item in items:
        if isinstance(item, str):
            parts.append(_quote(item))
        elif (type(item) is tuple and len(item) == 2 and isinstance(item[0], str)
              and isinstance(item[1], str)):
            parts.append(f"[{_quote(item[0])}, {_quote(item[1])}]")
        else:
            return json.dumps(items)
    return "[" + ", ".join(parts) + "]"


class Decider:
    """Makes the decisions of one run (or plan): the code an input carries is resolved
    once per set of references."""

    def __init__(self, graph: Graph, root: str | None) -> None:
        self.graph = graph
        self.root = root or "."
        # (parts, their sources) of the code inputs reference, of input libraries' settings
        self._code: dict[tuple[str, ...], tuple[dict[str, str], Mapping[str, str]]] = {}
        self._settings: dict[frozenset[str], tuple[dict[str, str], dict[str, str]]] = {}
        self.materializers = registry_versions()  # once per run, as the run starts

    def decide(self, name: str, in_recs: dict[str, ArtifactRecord],
               states: Mapping[str, str] | None = None) -> Decision:
        """The key of step ``name`` given the records of its inputs; ``states``: the
        digests of the hidden random generators its code reaches as it starts, when
        steps before it may have moved them since the build (``Fingerprint.states``)."""
        graph = self.graph
        step = graph.steps[name]
        fp: Fingerprint = graph.fingerprints[name]
        if states is not None and states != fp.states:
            fp = replace(fp, states=dict(states))
        tokens = graph.tokens[name]
        bindings = graph.bindings[name]
        vals = {p: [tokens[p], short_repr(b.value)] for p, b in bindings.items()
                if b.kind in ("value", "default")}
        refs = _code_refs(in_recs)
        if refs:
            extra = self._code.get(refs)
            if extra is None:
                extra = self._code[refs] = code_ref_parts(refs, self.root, name)
            fp = fp.merged(*extra)
        # the settings of the libraries of its inputs' and run values' types
        # (``str(array)`` follows numpy's print options, though the code never names numpy)
        tops = {rec.type_name.partition(".")[0] for rec in in_recs.values()}
        if vals:
            for b in bindings.values():
                if b.kind in ("value", "default"):
                    tops.update(_libraries(b.value))
        libs = frozenset(tops)
        if "pandas" in libs or "polars" in libs:  # their objects hand out numpy arrays
            libs |= {"numpy"}
        settings = self._settings.get(libs)
        if settings is None:
            settings = self._settings[libs] = settings_parts(libs, self.root)
        if settings[0]:
            fp = fp.merged(*settings)
        lazy = [p for p, r in in_recs.items() if _holds_query(r)]
        if lazy:
            fp = fp.merged(*_lazy_parts(name, lazy, in_recs))
        inputs = {p: r.content_hash for p, r in in_recs.items()}
        parents = {p: r.id for p, r in in_recs.items()}
        key = cache_key(fp.digest, inputs, vals, step.outputs, self.materializers)
        variants = generator_variants(key, fp.states) if fp.states else {}
        return Decision(variants.get(frozenset(), key), fp, inputs, vals, parents, in_recs,
                        time.time(), variants=variants)


def generator_variants(key: str, states: Mapping[str, str]) -> dict[frozenset[str], str]:
    """The keys of an execution of a step whose code reaches hidden random generators
    (``Fingerprint.states``), by the set of them its result does not depend on (seeded
    before anything read them, or untouched): each generator counts by its state as the
    step starts (at build, unless a step before it moved it: ``Decider.decide``), or as
    ``seeded`` (the step computes the same whatever that state is: ``rng``)."""
    names = sorted(states)
    out = {}
    for n in range(len(names) + 1):
        for seeded in itertools.combinations(names, n):
            out[frozenset(seeded)] = hash_text(
                "generators", key,
                *[f"{g}={'seeded' if g in seeded else states[g]}" for g in names])
    return out


def _holds_query(rec: ArtifactRecord) -> bool:
    """An artifact that is or holds a query (``native_reads.QUERY_TYPES``: a polars
    LazyFrame, a pyarrow dataset): it keeps the paths it scans, and the step that
    collects it reads them, in Rust or C, unseen (``native_reads`` sees the scan, in the
    step that made it). A pickle names the query's class among its globals."""
    if rec.type_name in QUERY_TYPES:
        return True
    refs = rec.meta.get("code_refs") if rec.meta else None
    return isinstance(refs, list) and not QUERY_REFS.isdisjoint(refs)


def _lazy_parts(step: str, params: list[str], in_recs: dict[str, ArtifactRecord]
                ) -> tuple[dict[str, str], dict[str, str]]:
    """An opaque part per input that is or holds a query (``_holds_query``): the step
    never reuses, with a warning (once per process): its result may follow files its
    key cannot see."""
    import os
    import warnings

    from ..core.fingerprint import FingerprintWarning
    from ..core.userframe import outside_stacklevel

    parts, sources = {}, {}
    for p in params:
        kind = in_recs[p].type_name.rsplit(".", 1)[-1]
        what = f"a {kind}" if in_recs[p].type_name in QUERY_TYPES else f"a {kind} holding a query"
        parts[f"input {p}"] = f"{OPAQUE}{os.urandom(16).hex()}:{what}, whose files are read unseen"
        sources[f"input {p}"] = f"{p}: {what}"
        text = (f"step {step!r}: input {p} is {what} (a polars LazyFrame, a pyarrow "
                "dataset): the files it scans, if any, are read when it is collected, where "
                "the cache key cannot see them, so the step re-executes on every run. "
                "Collect it in the step that makes it (return the DataFrame or Table) to "
                "cache the result")
        if text not in _lazy_warned:
            _lazy_warned.add(text)
            warnings.warn(text, FingerprintWarning, stacklevel=outside_stacklevel())
    return parts, sources


_lazy_warned: set[str] = set()


def _code_refs(in_recs: dict[str, ArtifactRecord]) -> tuple[str, ...]:
    """The code the input artifacts reference, sorted (most inputs reference none:
    no set to build then)."""
    if not any(rec.meta and "code_refs" in rec.meta for rec in in_recs.values()):
        return ()
    return tuple(sorted({r for rec in in_recs.values()
                         for r in (rec.meta or {}).get("code_refs", ())}))


def _libraries(value: Any) -> Iterator[str]:
    """The top-level modules of a run value's type and, for a list, tuple or dict, of
    its items' types (a list of arrays): whose settings the value may format by."""
    yield type(value).__module__.partition(".")[0]
    items = value.values() if isinstance(value, dict) else value if isinstance(
        value, (list, tuple)) else ()
    for item in itertools.islice(items, 100):
        yield type(item).__module__.partition(".")[0]


def forced_set(force: bool | Iterable[str], graph: Graph) -> set[str]:
    """The steps ``force=`` names (all for ``True``); unknown names are an error."""
    if force is True:
        return set(graph.order)
    if not force:
        return set()
    names = {force} if isinstance(force, str) else set(force)
    unknown = names - set(graph.order)
    if unknown:
        raise ParameterError(
            f"force names unknown step(s) {sorted(unknown)}; steps are {graph.order}"
        )
    return names


def explain(d: Decision, step: Any, forced: bool, prev: StepRecord | None) -> str:
    """Why a step executes."""
    if forced:
        return "forced"
    if not step.cache:
        return "caching is off for this step (cache=False)"
    if d.note:
        return d.note
    return explain_miss(prev, d)


def explain_miss(prev: StepRecord | None, d: Decision) -> str:
    """Why the cache key differs from the previous execution of this step."""
    if prev is None:
        # (not "first run": it may have run and failed; a failure is no comparison base)
        return "no successful run of this step in this pipeline yet: nothing cached under its key"
    phrases = explain_parts(prev.fingerprint, d.fingerprint.parts)
    for param in sorted(set(prev.inputs) | set(d.inputs)):
        if prev.inputs.get(param) != d.inputs.get(param):
            asset = d.refs[param].name if param in d.refs else param
            label = asset if asset == param else f"{param} ({asset})"
            phrases.append(f"input {label} changed" if param in prev.inputs else f"input {label} is new")
    phrases += _value_changes(prev, d)
    if not phrases:
        if prev.cache_key in d.all_keys():
            return "its cached outputs are missing from the store"
        if d.variants:
            names = " and ".join(sorted(d.fingerprint.states))
            return (f"the state of the global random generator of {names} changed, and the "
                    "step drew from it or read it without seeding it first: seed it first "
                    "thing in the step, or make a generator there "
                    "(np.random.default_rng(seed))")
        return "no cached result for this code, these inputs and parameters"
    return "; ".join(phrases)


def own_changes(prev: StepRecord | None, d: Decision, partial: bool = False) -> list[str]:
    """What changed in the step itself since its previous execution: its code and run
    values, not its inputs (``plan`` says this of a step whose inputs are not known yet,
    ``d`` decided with them as they were). ``partial``: ``d`` lacks some of them, so the
    parts inputs add (the code a pickled model refers to, its library's settings) may be
    missing from ``d`` without being gone from the step: only parts ``d`` has count."""
    if prev is None:
        return []
    now = d.fingerprint.parts
    before = {k: v for k, v in prev.fingerprint.items() if k in now} if partial else (
        prev.fingerprint)
    return explain_parts(before, now) + _value_changes(prev, d)


def _value_changes(prev: StepRecord, d: Decision) -> list[str]:
    phrases = []
    for param in sorted(set(prev.values) | set(d.values)):
        old, new = prev.values.get(param), d.values.get(param)
        if new and new[0].startswith(OPAQUE):
            phrases.append(f"parameter {param} cannot be fingerprinted ({new[0].split(':', 2)[-1]})")
        elif (old[0] if old else None) != (new[0] if new else None):
            phrases.append(
                f"parameter {param} {old[1] if old else '(unset)'} -> {new[1] if new else '(unset)'}"
            )
    return phrases
