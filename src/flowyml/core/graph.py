"""Infer the pipeline graph from asset names and validate it. Pure: no I/O.

Each parameter of each step is bound, in this order, to: the asset of that name (or
the asset ``inputs=`` maps it to) produced by a step of the pipeline; a catalog
artifact when the mapping carries ``@selector``; a run value; the default. Anything
left unbound, doubly produced, cyclic or contradictory is a ``BuildError``.
"""

from __future__ import annotations

import difflib
import itertools
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import (
    CycleError,
    DuplicateOutputError,
    MissingInputError,
    ParameterError,
    TypeMismatchError,
)
from .step import Step

BindingKind = Literal["asset", "catalog", "value", "default"]


@dataclass(frozen=True)
class Binding:
    """What one step parameter resolves to."""

    param: str
    kind: BindingKind
    asset: str | None = None  # asset / catalog
    selector: str | None = None  # catalog
    producer: str | None = None  # asset: the producing step
    value: Any = None  # value / default


@dataclass
class Graph:
    """The validated graph: steps in a topological order plus every parameter binding."""

    steps: dict[str, Step]
    order: list[str]
    bindings: dict[str, dict[str, Binding]]
    producers: dict[str, str]  # asset -> step name
    downstream: dict[str, list[str]] = field(default_factory=dict)  # step -> consumer steps
    upstream: dict[str, list[str]] = field(default_factory=dict)  # step -> producer steps
    # taken at build, before any step runs (fingerprint.fingerprint_graph): step -> its
    # code fingerprint, and step -> {parameter: token} for its run values and defaults
    fingerprints: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    # one line per schema check made at build (contracts.check_graph), for `flowyml plan`
    schema_checks: list[str] = field(default_factory=list)

    def assets(self) -> list[str]:
        return [o for name in self.order for o in self.steps[name].outputs]


def build_graph(
    steps: Iterable[Step],
    params: Mapping[str, Any] | None = None,
    resolve_ref: Callable[[str, str], Any] | None = None,
) -> Graph:
    """Bind, order and validate ``steps``. ``resolve_ref(asset, selector)`` must raise
    ``MissingInputError`` when a catalog reference does not resolve; the record it
    returns (if any) carries the schema a consumer's declared schema is checked against."""
    params = dict(params or {})
    step_list = list(steps)
    by_name: dict[str, Step] = {}
    for s in step_list:
        if not isinstance(s, Step):
            raise ParameterError(
                f"{s!r} is not a step: decorate it with @flowyml.core.step before adding it"
            )
        if s.name in by_name and by_name[s.name] is not s:
            raise ParameterError(
                f"two different steps are named {s.name!r}; give one of them name=..."
            )
        by_name[s.name] = s

    producers: dict[str, str] = {}
    for s in by_name.values():
        for out in s.outputs:
            if out in producers:
                raise DuplicateOutputError(
                    f"asset {out!r} is produced by both step {producers[out]!r} and step "
                    f"{s.name!r}; an asset has one producer: rename one output "
                    f"(outputs=...) or remove one step"
                )
            producers[out] = s.name

    bindings: dict[str, dict[str, Binding]] = {}
    records: dict[tuple[str, str], Any] = {}  # catalog reference -> its record
    used_params: set[str] = set()
    overridden: dict[str, str] = {}
    for s in by_name.values():
        b: dict[str, Binding] = {}
        for p in s.params:
            spec = s.input_map.get(p.name)
            if spec is not None and spec.from_catalog:
                assert spec.selector is not None
                if resolve_ref is not None:
                    records[(spec.asset, spec.selector)] = resolve_ref(spec.asset, spec.selector)
                b[p.name] = Binding(p.name, "catalog", spec.asset, spec.selector)
            elif spec is not None:
                if spec.asset not in producers:
                    raise MissingInputError(
                        f"step {s.name!r}: parameter {p.name!r} is mapped to asset "
                        f"{spec.asset!r}, which no step produces"
                        + _hint(spec.asset, producers)
                        + f"; add a step with outputs={spec.asset!r}, or take it from the "
                        f"catalog with inputs={{{p.name!r}: '{spec.asset}@latest'}}"
                    )
                b[p.name] = Binding(p.name, "asset", spec.asset, producer=producers[spec.asset])
            elif p.name in producers:
                b[p.name] = Binding(p.name, "asset", p.name, producer=producers[p.name])
                if p.name in params:
                    overridden[p.name] = producers[p.name]
            elif p.name in params:
                b[p.name] = Binding(p.name, "value", value=params[p.name])
                used_params.add(p.name)
            elif p.has_default:
                b[p.name] = Binding(p.name, "default", value=p.default)
            else:
                raise MissingInputError(
                    f"step {s.name!r}: parameter {p.name!r} resolves to nothing: no step "
                    f"produces an asset {p.name!r}, no run value is given and it has no "
                    "default"
                    + _hint(p.name, producers)
                    + f"; add a producing step, pass params={{{p.name!r}: ...}}, map it with "
                    f"inputs={{{p.name!r}: 'asset_name'}}, or give it a default"
                )
            if (
                s.map_over == p.name
                and b[p.name].kind not in ("asset", "catalog")
            ):
                raise ParameterError(
                    f"step {s.name!r}: map_over={p.name!r} must be an asset (a list), "
                    "not a run value or default"
                )
        bindings[s.name] = b

    unknown = sorted(set(params) - used_params)
    if unknown:
        for key in unknown:
            if key in overridden:
                raise ParameterError(
                    f"run value {key!r} cannot be used: {key!r} is an asset produced by "
                    f"step {overridden[key]!r}; remove it from params or rename the parameter"
                )
        all_params = sorted({p.name for s in by_name.values() for p in s.params})
        key = unknown[0]
        close = difflib.get_close_matches(key, all_params, n=1)
        raise ParameterError(
            f"run value {key!r} is not a parameter of any step"
            + (f"; did you mean {close[0]!r}?" if close else "")
            + (f" (step parameters: {', '.join(all_params)})" if all_params else "")
        )

    upstream: dict[str, list[str]] = {n: [] for n in by_name}
    downstream: dict[str, list[str]] = {n: [] for n in by_name}
    for name, b in bindings.items():
        for bind in b.values():
            if bind.kind == "asset" and bind.producer is not None and bind.producer not in upstream[name]:
                upstream[name].append(bind.producer)
                downstream[bind.producer].append(name)
    order = _toposort(list(by_name), upstream, bindings)
    graph = Graph(
        steps={n: by_name[n] for n in order},
        order=order,
        bindings=bindings,
        producers=producers,
        downstream=downstream,
        upstream=upstream,
    )
    _check_types(graph)
    _check_schemas(graph, records)
    return graph


def _check_schemas(graph: Graph, records: dict[tuple[str, str], Any]) -> None:
    """Declared table schemas across every edge and catalog input (``contracts.py``)."""
    import sys

    if "pandera" in sys.modules or "pyarrow" in sys.modules:  # else none can be declared
        from .contracts import check_graph

        graph.schema_checks = check_graph(graph, records)


def _hint(name: str, producers: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(name, list(producers), n=1, cutoff=0.6)
    return f" (did you mean asset {close[0]!r}, produced by step {producers[close[0]]!r}?)" if close else ""


def _toposort(
    names: list[str], upstream: Mapping[str, list[str]], bindings: Mapping[str, Mapping[str, Binding]]
) -> list[str]:
    indeg = {n: len(upstream[n]) for n in names}
    down: dict[str, list[str]] = {n: [] for n in names}
    for n in names:
        for u in upstream[n]:
            down[u].append(n)
    ready = [n for n in names if indeg[n] == 0]
    order: list[str] = []
    i = 0
    while i < len(ready):
        n = ready[i]
        i += 1
        order.append(n)
        for d in down[n]:
            indeg[d] -= 1
            if indeg[d] == 0:
                ready.append(d)
    if len(order) == len(names):
        return order
    raise CycleError(_describe_cycle([n for n in names if indeg[n] > 0], upstream, bindings))


def _describe_cycle(
    left: list[str], upstream: Mapping[str, list[str]], bindings: Mapping[str, Mapping[str, Binding]]
) -> str:
    # Walk upstream from any remaining node until a node repeats: that loop is a cycle.
    remaining = set(left)
    path: list[str] = []
    seen: dict[str, int] = {}
    node = left[0]
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(u for u in upstream[node] if u in remaining)
    loop = path[seen[node] :]
    loop.reverse()  # producer -> consumer order
    loop.append(loop[0])
    parts = []
    for a, b in itertools.pairwise(loop):
        asset = next(
            (x.asset for x in bindings[b].values() if x.kind == "asset" and x.producer == a), "?"
        )
        parts.append(f"{a} --{asset}--> ")
    text = "".join(parts) + loop[-1]
    return f"the steps form a cycle: {text}; break it by renaming an input or output"


def _return_types(s: Step) -> dict[str, Any]:
    try:
        hints = typing.get_type_hints(s.func)
    except Exception:
        return {}
    ret = hints.get("return")
    if ret is None:
        return {}
    if len(s.outputs) == 1:
        return {s.outputs[0]: ret}
    if typing.get_origin(ret) is tuple:
        args = typing.get_args(ret)
        if len(args) == len(s.outputs) and Ellipsis not in args:
            return dict(zip(s.outputs, args, strict=False))
    return {}


def _param_types(s: Step) -> dict[str, Any]:
    try:
        return typing.get_type_hints(s.func)
    except Exception:
        return {}


def _plain(tp: Any) -> type | None:
    """The runtime class of an annotation, or None when it cannot be compared safely."""
    if tp is Any or tp is None:
        return None
    origin = typing.get_origin(tp)
    if origin is not None:
        if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            return None
        if origin is typing.Annotated:
            return _plain(typing.get_args(tp)[0])
        return origin if isinstance(origin, type) else None
    return tp if isinstance(tp, type) else None


def _lazy_params(s: Step) -> dict[str, Any]:
    """``{param: T}`` for the parameters annotated ``Lazy[T]``.

    ``Lazy[T]`` evaluates to ``ArtifactRef`` (what the step receives), so ``T`` survives
    only in the annotation's text: under ``from __future__ import annotations`` (or a
    quoted annotation) it is read back from there and evaluated in the function's
    globals, like ``typing.get_type_hints`` does. An annotation evaluated at definition
    time has lost ``T``; that parameter is not checked.
    """
    import ast
    import inspect

    from .refs import Lazy

    func = inspect.unwrap(s.func)
    raw = getattr(func, "__annotations__", None) or {}
    env = getattr(func, "__globals__", {})

    def evaluate(node: ast.expr) -> Any:
        return eval(compile(ast.Expression(node), "<annotation>", "eval"), env)

    out: dict[str, Any] = {}
    for param, ann in raw.items():
        if param == "return" or not isinstance(ann, str) or "Lazy" not in ann:
            continue
        try:
            node = ast.parse(ann.strip(), mode="eval").body
            if not isinstance(node, ast.Subscript) or evaluate(node.value) is not Lazy:
                continue
            inner = evaluate(node.slice)
            if isinstance(inner, str):  # Lazy["pd.DataFrame"]
                inner = evaluate(ast.parse(inner.strip(), mode="eval").body)
        except Exception:
            continue  # unresolvable: as with get_type_hints, not checked
        out[param] = inner
    return out


# PEP 484's numeric tower: an int is acceptable where a float is expected, and both
# where a complex is (bool is an int). numpy scalars count by their ``numbers`` ABC.
_NUMERIC_RANK = {int: 1, float: 2, complex: 3}


def _compatible(have: type, want: type) -> bool:
    try:
        if issubclass(have, want) or issubclass(want, have):
            return True
    except TypeError:  # e.g. a Protocol that is not runtime_checkable: cannot tell
        return True
    rank = _NUMERIC_RANK.get(want)
    if rank is None:
        return False
    import numbers

    for have_rank, abc in ((1, numbers.Integral), (2, numbers.Real), (3, numbers.Complex)):
        if issubclass(have, abc):
            return have_rank <= rank
    return False


def _check_types(graph: Graph) -> None:
    from .refs import ArtifactRef

    rets: dict[str, dict[str, Any]] = {}
    for name, s in graph.steps.items():
        hints: dict[str, Any] | None = None
        lazy: dict[str, Any] = {}
        for bind in graph.bindings[name].values():
            if bind.kind != "asset" or bind.producer is None:
                continue
            if hints is None:
                hints = _param_types(s)
                lazy = _lazy_params(s)
            is_lazy = bind.param in lazy  # Lazy[T]: T is checked like a plain annotation
            want = _plain(lazy[bind.param] if is_lazy else hints.get(bind.param))
            if want is None or want is ArtifactRef or want is object:
                continue
            if bind.producer not in rets:
                rets[bind.producer] = _return_types(graph.steps[bind.producer])
            have = _plain(rets[bind.producer].get(bind.asset or ""))
            if graph.steps[bind.producer].map_over is not None:
                have = list  # a mapped step's outputs are lists of what it returns
            if have is None or have is object:
                continue
            if s.map_over == bind.param:
                continue
            if not _compatible(have, want):
                shown = f"Lazy[{want.__name__}]" if is_lazy else want.__name__
                raise TypeMismatchError(
                    f"step {name!r}: parameter {bind.param!r} is annotated {shown}, "
                    f"but step {bind.producer!r} returns {have.__name__} for asset "
                    f"{bind.asset!r}; fix one of the two annotations"
                )
