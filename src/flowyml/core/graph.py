"""Infer the pipeline graph from asset names and validate it. Pure: no I/O.

Each parameter of each step is bound, in this order, to: the asset of that name (or
the asset ``inputs=`` maps it to) produced by a step of the pipeline; a catalog
artifact when the mapping carries ``@selector``; a run value; the default. Anything
left unbound, doubly produced, cyclic or contradictory is a ``BuildError``.
"""

from __future__ import annotations

import contextlib
import difflib
import enum
import inspect
import itertools
import json
import numbers
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePath
from typing import Any, Literal

from .datafile import DataFile
from .errors import (
    CycleError,
    DuplicateOutputError,
    MissingInputError,
    ParameterError,
    TypeMismatchError,
)
from .step import ParamSpec, Step
from .struct import field, struct

BindingKind = Literal["asset", "catalog", "value", "default"]


@struct(frozen=True)
class Binding:
    """What one step parameter resolves to."""

    param: str
    kind: BindingKind
    asset: str | None = None  # asset / catalog
    selector: str | None = None  # catalog
    producer: str | None = None  # asset: the producing step
    value: Any = None  # value / default


@struct
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
    # step -> the other steps whose code sets a global whole that its code sets too (a
    # lazy config several steps load: what one read to set it, another's result holds;
    # ``runtime.loop``)
    sharing: dict[str, set[str]] = field(default_factory=dict)
    # one line per schema check made at build (contracts.check_graph), for `flowyml plan`
    schema_checks: list[str] = field(default_factory=list)
    # step -> the parameters whose declared schema the build could not prove: validated
    # when the step executes, before its code runs (``contracts.validate_inputs``)
    input_checks: dict[str, frozenset[str]] = field(default_factory=dict)

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
            what = getattr(s, "__qualname__", None)
            raise ParameterError(
                f"{what if isinstance(what, str) else repr(s)} is not a step: decorate it "
                "with @fm.step (import flowyml as fm) before adding it"
            )
        if s.name in by_name and by_name[s.name] is not s:
            first, second = (_defined_at(x.func) for x in (by_name[s.name], s))
            raise ParameterError(
                f"two different steps are named {s.name!r} ({first}; {second}); give one "
                f"of them name=... (@fm.step(..., name='{s.name}_2'))"
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
    for s in by_name.values():
        b = bindings[s.name] = {}
        for p in s.params:
            b[p.name] = _bind(s, p, params, producers, resolve_ref, records)
            if s.map_over == p.name and b[p.name].kind not in ("asset", "catalog"):
                raise ParameterError(
                    f"step {s.name!r}: map_over={p.name!r} must be an asset (a list), "
                    "not a run value or default"
                )
    _check_run_values(params, bindings, producers)
    for s in by_name.values():
        if s.map_over is not None:
            _check_element_names(s)

    upstream: dict[str, list[str]] = {n: [] for n in by_name}
    downstream: dict[str, list[str]] = {n: [] for n in by_name}
    for name, b in bindings.items():
        ups = upstream[name]
        seen: set[str] = set()  # a sink may read a thousand producers: no list scans
        for bind in b.values():
            if bind.kind == "asset" and bind.producer is not None and bind.producer not in seen:
                seen.add(bind.producer)
                ups.append(bind.producer)
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


def _defined_at(func: Any) -> str:
    """``qualname at file:line`` of a step's function, as far as it tells."""
    inner = getattr(func, "__func__", func)
    code = getattr(inspect.unwrap(inner) if callable(inner) else inner, "__code__", None)
    qual = getattr(func, "__qualname__", None) or type(func).__qualname__
    if code is None:
        return f"{qual} of {getattr(func, '__module__', None) or '?'}"
    return f"{qual} at {code.co_filename}:{code.co_firstlineno}"


def _bind(s: Step, p: ParamSpec, params: Mapping[str, Any], producers: Mapping[str, str],
          resolve_ref: Callable[[str, str], Any] | None,
          records: dict[tuple[str, str], Any]) -> Binding:
    """What parameter ``p`` of step ``s`` resolves to (a catalog reference is resolved
    now, its record kept in ``records``); ``MissingInputError`` when nothing."""
    spec = s.input_map.get(p.name)
    if spec is not None and spec.from_catalog:
        assert spec.selector is not None
        if resolve_ref is not None:
            records[(spec.asset, spec.selector)] = _resolve(
                resolve_ref, s.name, p.name, spec.asset, spec.selector, producers)
        return Binding(p.name, "catalog", spec.asset, spec.selector)
    if spec is not None:
        if spec.asset not in producers:
            raise MissingInputError(
                f"step {s.name!r}: parameter {p.name!r} is mapped to asset "
                f"{spec.asset!r}, which no step produces"
                + _hint(spec.asset, producers)
                + f"; add a step with outputs={spec.asset!r}, or take it from the "
                f"catalog with inputs={{{p.name!r}: '{spec.asset}@latest'}}"
            )
        return Binding(p.name, "asset", spec.asset, producer=producers[spec.asset])
    if p.name in producers:
        return Binding(p.name, "asset", p.name, producer=producers[p.name])
    if p.name in params:
        return Binding(p.name, "value", value=run_value(s, p, params[p.name]))
    if p.has_default:
        return Binding(p.name, "default", value=p.default)
    _refuse_unbound_method(s, p.name)
    raise MissingInputError(
        f"step {s.name!r}: parameter {p.name!r} resolves to nothing: no step "
        f"produces an asset {p.name!r}, no run value is given and it has no "
        "default"
        + _hint(p.name, producers)
        + f"; add a producing step, pass params={{{p.name!r}: ...}} (on the command "
        f"line: -p {p.name}=...), map it with inputs={{{p.name!r}: 'asset_name'}}, or give "
        "it a default"
    )


def _refuse_unbound_method(s: Step, param: str) -> None:
    """A method decorated with ``@fm.step`` in its class body is a step of the plain
    function, which nothing gives ``self``: say so, and how to make the step instead."""
    func = s.func
    qual = getattr(func, "__qualname__", "")
    owner, _, attr = qual.rpartition(".")
    if param not in ("self", "cls") or not owner or owner.endswith("<locals>") or (
            not isinstance(func, types.FunctionType)
            or func.__code__.co_varnames[:1] != (param,)):
        return
    raise MissingInputError(
        f"step {s.name!r} is the method {qual} decorated with @fm.step in its class body: "
        f"the step holds the plain function, and nothing gives it {param!r} (an "
        f"instance's {attr} is the same step, not bound to the instance). Make the step "
        f"from the bound method instead, outside the class: "
        f"fm.step(outputs=...)(instance.{attr}); or make it a function of its inputs")


# what a mapped step's records add to its names: ``<output>.element``, ``<step>[i]``
ELEMENT_SUFFIX, _INDEX_ROOM = ".element", len("[999999999]")


def _check_element_names(s: Step) -> None:
    """A mapped step's element records carry longer names than its own (``out.element``,
    ``step[12]``), which must fit the catalog's columns too (``MAX_NAME_LEN``): refused
    at build, not by the database in the middle of a run."""
    from .names import MAX_NAME_LEN

    too_long = [o for o in s.outputs if len(o) + len(ELEMENT_SUFFIX) > MAX_NAME_LEN]
    if too_long or len(s.name) + _INDEX_ROOM > MAX_NAME_LEN:
        what = (f"output {too_long[0]!r} ({len(too_long[0])} characters)" if too_long
                else f"name ({len(s.name)} characters)")
        raise ParameterError(
            f"step {s.name!r} maps over {s.map_over!r}, and its {what} is too long for the "
            f"records of its elements (at most {MAX_NAME_LEN - len(ELEMENT_SUFFIX)} "
            f"characters for an output, {MAX_NAME_LEN - _INDEX_ROOM} for the step's name): "
            "use a shorter name")


def _check_run_values(params: Mapping[str, Any], bindings: Mapping[str, Mapping[str, Binding]],
                      producers: Mapping[str, str]) -> None:
    """Every run value fills some step's parameter; else a ``ParameterError`` naming the
    closest parameter a run value can fill (never one bound to an asset)."""
    used = {p for b in bindings.values() for p, bind in b.items() if bind.kind == "value"}
    unknown = sorted(set(params) - used)
    if not unknown:
        return
    for key in unknown:
        if key in producers:
            raise ParameterError(
                f"run value {key!r} cannot be used: {key!r} is an asset produced by "
                f"step {producers[key]!r}; remove it from params or rename the parameter"
            )
    all_params = sorted({p for b in bindings.values() for p, bind in b.items()
                         if bind.kind in ("value", "default")})
    key = unknown[0]
    close = difflib.get_close_matches(key, all_params, n=1)
    raise ParameterError(
        f"run value {key!r} is not a parameter of any step"
        + (f"; did you mean {close[0]!r}?" if close else "")
        + (f" (step parameters: {', '.join(all_params)})" if all_params else "")
    )


def _check_schemas(graph: Graph, records: dict[tuple[str, str], Any]) -> None:
    """Declared table schemas across every edge and catalog input (``contracts.py``)."""
    from .declared import schemas_possible

    if schemas_possible():  # else none can be declared
        from .contracts import check_graph

        graph.schema_checks, graph.input_checks = check_graph(graph, records)


def _resolve(resolve_ref: Callable[[str, str], Any], step: str, param: str, asset: str,
             selector: str, producers: Mapping[str, str]) -> Any:
    """``resolve_ref(asset, selector)``; its ``MissingInputError`` names the step and the
    parameter, and, when the catalog suggested nothing, the closest asset of the pipeline."""
    try:
        return resolve_ref(asset, selector)
    except MissingInputError as exc:
        text = str(exc)
        hint = "" if "did you mean" in text or asset in producers else _hint(asset, producers)
        raise MissingInputError(f"step {step!r}: parameter {param!r}: {text}{hint}") from None


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
    if len(loop) == 1:  # a step that takes its own output: one parameter shares its name
        step = loop[0]
        own = sorted(x.param for x in bindings[step].values()
                     if x.kind == "asset" and x.producer == step)
        names = ", ".join(repr(p) for p in own)
        return (f"step {step!r} takes its own output as its parameter{'s' if len(own) > 1 else ''} "
                f"{names}: a parameter named like one of the step's outputs is wired to that "
                f"output; rename the parameter, or map it to another asset with "
                f"inputs={{{own[0]!r}: ...}}")
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


def _hints(func: Any) -> dict[str, Any]:
    """``typing.get_type_hints`` of a step's function ({} when they do not resolve).
    A plain function whose annotations are all plain classes (``int``, ``pd.DataFrame``)
    or absent, the common case asked per step, has them as they are: get_type_hints
    would only evaluate each to itself."""
    if type(func) is types.FunctionType:
        ann = func.__annotations__
        if all(type(v) is type for v in ann.values()):
            return dict(ann)  # plain classes (or none): what get_type_hints returns, ~20x sooner
    try:
        return typing.get_type_hints(func)
    except Exception:
        return {}


def _return_types(s: Step) -> dict[str, Any]:
    hints = _hints(s.func)
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
    func = s.func
    if hasattr(func, "__wrapped__"):
        import inspect

        func = inspect.unwrap(func)
    raw = getattr(func, "__annotations__", None) or {}
    if not any(isinstance(ann, str) and "[" in ann for ann in raw.values()):
        return {}  # no text subscript, so no ``Lazy[T]`` under any name (``L[int]`` with
        # ``from flowyml import Lazy as L``): no parse, no imports (most steps)
    import ast

    from .refs import Lazy

    env = getattr(func, "__globals__", {})

    def evaluate(node: ast.expr) -> Any:
        return eval(compile(ast.Expression(node), "<annotation>", "eval"), env)

    out: dict[str, Any] = {}
    for param, ann in raw.items():
        if param == "return" or not isinstance(ann, str) or "[" not in ann:
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
                hints = _hints(s.func)
                lazy = _lazy_params(s)
                if not hints and not lazy:
                    break  # no annotation: nothing of this step's to check
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


# ---------------------------------------------------------------- run values as text
class RawValue(str):
    """A run value as typed on the command line (``flowyml run -p KEY=VALUE``). Build
    converts it by the annotation of each parameter it fills: ``int``, ``float``,
    ``complex``, ``bool`` (true/false, yes/no, on/off, 1/0), ``str``, a ``Path``, an
    ``Enum`` (by name or value), a ``Literal``, ``Optional`` / unions, and ``list`` /
    ``tuple`` / ``set`` / ``dict`` (JSON, items checked against simple item types).
    Text that does not fit is a ``ParameterError``. A parameter without an annotation
    takes the type of its default, else JSON when the text parses as JSON, else the
    text."""

    def __repr__(self) -> str:  # how the run's values are shown: as JSON-or-text reads it
        return repr(_json_or_text(self))


def run_value(step: Step, param: ParamSpec, value: Any) -> Any:
    """``value`` for ``param`` of ``step``: a ``RawValue`` converted by the parameter's
    annotation (``ParameterError`` when it does not fit); anything else as it is."""
    if not isinstance(value, RawValue):
        return value
    tp = _hints(step.func).get(param.name, param.annotation)
    if tp is inspect.Parameter.empty or isinstance(tp, str):  # none, or unresolvable
        default = type(param.default) if param.has_default else None
        tp = default if default in (bool, int, float, str) or (
            isinstance(default, type) and issubclass(default, (PurePath, DataFile))) else Any
    try:
        return _convert(str(value), tp)
    except (ValueError, TypeError, KeyError) as exc:
        raise ParameterError(
            f"step {step.name!r}: run value {param.name}={str(value)!r} does not fit "
            f"parameter {param.name}: {_type_name(tp)} ({exc}); pass e.g. "
            f"-p {param.name}={_example(tp)}"
        ) from None


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return str(text)


_TRUE, _FALSE = {"true", "yes", "on", "1", "y", "t"}, {"false", "no", "off", "0", "n", "f"}


def _convert(text: str, tp: Any) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _convert(text, args[0])
    if origin is typing.Union or (origin is not None and origin is getattr(types, "UnionType", 0)):
        return _convert_union(text, args)
    if origin is typing.Literal:
        for choice in args:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                if _convert(text, type(choice)) == choice:
                    return choice
        raise ValueError(f"expected one of {', '.join(map(repr, args))}")
    if tp is Any or tp is object:
        return _json_or_text(text)
    if tp is bool:
        word = text.strip().lower()
        if word not in _TRUE | _FALSE:
            raise ValueError("expected true or false")
        return word in _TRUE
    if tp in (int, float, complex, str):
        return tp(text.strip() if tp is not str else text)
    container = origin or tp
    if container in (list, tuple, set, frozenset, dict):
        return _items(json.loads(text), container, args)
    if isinstance(tp, type) and issubclass(tp, (PurePath, DataFile)):
        return tp(text)  # a DataFile from the command line: a path, keyed by content
    if isinstance(tp, type) and issubclass(tp, numbers.Number):  # Decimal, numpy scalars
        number: Any = tp
        return number(text.strip())
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum(text, tp)
    value = _json_or_text(text)
    want = _plain(tp)
    if want is not None and not isinstance(value, want):
        raise TypeError(f"a {want.__name__} cannot be written on the command line; "
                        "pass it from Python with run(params=...)")
    return value


def _convert_union(text: str, args: tuple[Any, ...]) -> Any:
    if type(None) in args and text.strip().lower() in ("none", "null"):
        return None
    errors = []
    for member in args:
        if member is type(None):
            continue
        try:
            return _convert(text, member)
        except (ValueError, TypeError, KeyError) as exc:
            errors.append(f"{_type_name(member)}: {exc}")
    raise ValueError("; ".join(errors))


def _enum(text: str, tp: type[enum.Enum]) -> enum.Enum:
    if text in tp.__members__:
        return tp[text]
    for member in tp:
        if str(member.value) == text:
            return member
    raise ValueError(f"expected one of {', '.join(tp.__members__)}")


def _items(value: Any, container: Any, args: tuple[Any, ...]) -> Any:
    """A JSON value as ``container``, its items checked against simple item types."""
    if container is dict:
        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON object, got {type(value).__name__}")
        item = args[1] if len(args) == 2 else Any
        return {k: _item(v, item) for k, v in value.items()}
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON array, got {type(value).__name__}")
    if container is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            raise ValueError(f"expected {len(args)} items, got {len(value)}")
        return tuple(_item(v, a) for v, a in zip(value, args, strict=True))
    items = [_item(v, args[0] if args else Any) for v in value]
    return items if container is list else container(items)


def _item(value: Any, tp: Any) -> Any:
    want = _plain(tp)
    if want is None or want is object:
        return value
    if want is float and type(value) is int:
        return float(value)
    if issubclass(want, PurePath) and isinstance(value, str):
        return want(value)
    if isinstance(value, want) and not (isinstance(value, bool) and want is not bool):
        return value
    raise ValueError(f"item {value!r} is not a {want.__name__}")


_EXAMPLES = {int: "3", float: "0.5", complex: "1+2j", bool: "true", str: "text"}
_JSON_ITEMS = {int: "1, 2", float: "0.5, 1.5", bool: "true, false", str: '"a", "b"'}


def _example(tp: Any) -> str:
    """A command-line value that fits ``tp`` (for the error message)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return str(args[0])
    if origin is typing.Annotated or origin is typing.Union or (
            origin is not None and origin is getattr(types, "UnionType", 0)):
        return _example(next(a for a in args if a is not type(None)))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return next(iter(tp.__members__))
    if isinstance(tp, type) and issubclass(tp, (PurePath, DataFile)):
        return "path/to/file"
    items = _JSON_ITEMS.get(args[-1] if args else int, "1, 2")
    if (origin or tp) is dict:
        return f"'{{\"key\": {items.split(', ')[0]}}}'"
    if (origin or tp) in (list, tuple, set, frozenset):
        return f"'[{items}]'"
    return _EXAMPLES.get(tp, "...")


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "no annotation"
    return tp.__name__ if isinstance(tp, type) and not typing.get_args(tp) else str(tp).replace(
        "typing.", "")


def consumers_by_asset(graph: Graph) -> dict[str, tuple[str, ...]]:
    """Each asset the steps of ``graph`` consume -> those steps, in graph order (one
    pass over the bindings: a step's ``consumers`` are then a lookup per output)."""
    out: dict[str, dict[str, None]] = {}
    for n in graph.order:
        for b in graph.bindings[n].values():
            if b.kind == "asset" and b.asset is not None:
                out.setdefault(b.asset, {})[n] = None
    return {asset: tuple(steps) for asset, steps in out.items()}
