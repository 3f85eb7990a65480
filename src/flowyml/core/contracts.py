"""Data contracts: declared table schemas on assets, checked at build, enforced at run.

A step declares the schema of a table in the annotations it already writes:

- a pandera model, ``-> pandera.typing.DataFrame[Orders]`` (``pandera.typing.polars``
  for polars frames), or a pandera ``DataFrameSchema`` in ``Annotated[pd.DataFrame, ...]``;
- a pyarrow schema, ``Annotated[pd.DataFrame, pa.schema([...])]``, for any frame type.

On a producer's return it is a promise about the asset; on a consumer's parameter it is
what the consumer requires (any subset of the columns). ``check_graph`` (called by
``graph.build_graph``) compares the two ends of every edge, and a consumer's schema with
the schema recorded for a catalog input, by column and dtype, before anything runs; it
also finds what of the consumer's schema the producer's does not guarantee (a check, a
non-nullable column the producer lets be null, ...; all of it when the producer declares
nothing), which ``validate_inputs`` (called by ``executors.task.run_task``) validates
when the consumer executes, before its code runs. ``validate_outputs`` validates each
output against its producer's schema before it is stored. ``declaration`` is the
canonical description that ``Step.options()`` adds to the step's fingerprint, so
editing a schema re-executes the step (and so re-validates); a reused step is not
re-validated.

Dtypes are compared by their Arrow names (``int64``, ``float64``, ``string``,
``timestamp[ns]``, ...), the common ground of pandas, polars and pyarrow; the catalog
records each stored table's schema under the same names (``meta["schema"]``).

pandera and pyarrow are imported only when a step declares a schema (the annotation
has already imported them) or a table is stored.
"""

from __future__ import annotations

import math
import re
import sys
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .declared import schemas_possible
from .errors import SchemaError

if TYPE_CHECKING:
    from .graph import Graph
    from .step import Step

ANY = "any"  # a column whose dtype is not declared (or is Python objects): not compared
MAX_COLUMNS = 1000  # columns recorded per artifact; wider tables are marked truncated
SHOW_ROWS = 5  # offending rows named in a run-time violation


@dataclass(frozen=True)
class Contract:
    """A declared table schema, normalized for comparison."""

    label: str  # "Orders", "pyarrow schema"
    library: str  # the frame library it validates: "pandas", "polars", or "any"
    columns: dict[str, str]  # declared column -> Arrow dtype name (ANY when undeclared)
    required: tuple[str, ...]  # the columns a reader needs
    schema: Any = field(compare=False)  # the pandera schema or pyarrow.Schema

    @property
    def is_arrow(self) -> bool:
        return type(self.schema).__module__.startswith("pyarrow")

    def describe(self) -> dict[str, Any]:
        """Canonical plain data for the cache key: everything that decides validation."""
        if self.is_arrow:
            return {"kind": "arrow", "fields": [
                [f.name, str(f.type), bool(f.nullable)] for f in self.schema
            ], "metadata": sorted((k.decode(errors="replace"), v.decode(errors="replace"))
                                  for k, v in (self.schema.metadata or {}).items())}
        return _describe_pandera(self.schema, self.library)


@dataclass(frozen=True)
class StepContracts:
    """The schemas one step declares: on its outputs (by asset) and inputs (by parameter)."""

    outputs: dict[str, Contract] = field(default_factory=dict)
    inputs: dict[str, Contract] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.outputs or self.inputs)


_NONE = StepContracts()


# ---------------------------------------------------------------------- declarations


_may_declare = schemas_possible  # no schema can be declared before pandera or pyarrow


def step_contracts(step: Step) -> StepContracts:
    """The schemas ``step`` declares, read from its annotations once (memoized on the
    step, so a worker that receives the step does not need to resolve them again)."""
    cached = getattr(step, "_contracts", None)
    if isinstance(cached, StepContracts):
        return cached
    found = _read_contracts(step) if _may_declare() else _NONE
    try:
        step._contracts = found  # type: ignore[attr-defined]
    except AttributeError:  # a step type with __slots__: no memo, computed again next time
        pass
    return found


def _read_contracts(step: Step) -> StepContracts:
    hints = _hints(step.func)
    if not hints:
        return _NONE
    outputs: dict[str, Contract] = {}
    ret = hints.get("return")
    if ret is not None:
        rets: list[Any] = [ret]
        if len(step.outputs) > 1:
            args = typing.get_args(ret) if typing.get_origin(ret) is tuple else ()
            rets = list(args) if len(args) == len(step.outputs) else []
        for asset, ann in zip(step.outputs, rets, strict=False):
            c = contract_of(ann, f"the return of step {step.name!r}")
            if c is not None:
                outputs[asset] = c
    inputs: dict[str, Contract] = {}
    for p in step.params:
        ann = hints.get(p.name)
        c = contract_of(ann, f"parameter {p.name!r} of step {step.name!r}") if ann else None
        if c is not None:
            inputs[p.name] = c
    return StepContracts(outputs, inputs) if outputs or inputs else _NONE


def _hints(func: Any) -> dict[str, Any]:
    """Annotations with ``Annotated`` extras kept; one that cannot be resolved is skipped
    (like ``graph._check_types``, an unresolvable annotation is not checked)."""
    import inspect

    target = inspect.unwrap(func) if callable(func) else func
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # unresolvable names: fall back to reading them one by one below
        pass
    raw = getattr(target, "__annotations__", None) or {}
    env = getattr(target, "__globals__", {})
    out: dict[str, Any] = {}
    for name, ann in raw.items():
        try:
            out[name] = eval(ann, env) if isinstance(ann, str) else ann
        except Exception:
            continue
    return out


def contract_of(ann: Any, where: str = "an annotation") -> Contract | None:
    """The schema an annotation declares, or None. A declared schema that cannot be read
    is a ``SchemaError`` naming ``where``."""
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        base, *extras = typing.get_args(ann)
        for extra in extras:
            found = _from_object(extra, where)
            if found is not None:
                return found
        return contract_of(base, where)
    module = getattr(origin, "__module__", "") or ""
    if origin is not None and module.startswith("pandera.typing"):
        args = typing.get_args(ann)
        model = args[0] if args else None
        if isinstance(model, type) and hasattr(model, "to_schema"):
            return _from_object(model, where)
    return None


def _from_object(obj: Any, where: str) -> Contract | None:
    module = type(obj).__module__
    if module.startswith("pyarrow") and type(obj).__name__ == "Schema":
        fields = {f.name: arrow_name(f.type) for f in obj}
        return Contract("pyarrow schema", "any", fields, tuple(fields), obj)
    label = None
    if isinstance(obj, type) and hasattr(obj, "to_schema") and any(
        c.__module__.startswith("pandera") for c in obj.__mro__[1:]
    ):
        label = obj.__name__
        try:
            obj = obj.to_schema()
        except Exception as exc:
            raise SchemaError(f"{where}: the pandera model {label} cannot be read: {exc}") from exc
        module = type(obj).__module__
    if not module.startswith("pandera") or not hasattr(obj, "columns"):
        return None
    library = "polars" if ".polars" in module else "pandas" if ".pandas" in module else "any"
    columns: dict[str, str] = {}
    required: list[str] = []
    for name, col in obj.columns.items():
        if getattr(col, "regex", False):
            continue  # a pattern, not a name: validated at run time only
        columns[str(name)] = _pandera_dtype(col.dtype, library)
        if getattr(col, "required", True):
            required.append(str(name))
    return Contract(label or getattr(obj, "name", None) or "DataFrameSchema", library, columns,
                    tuple(required), obj)


def _pandera_dtype(dtype: Any, library: str) -> str:
    """The Arrow name of a pandera column dtype (ANY when undeclared or not tabular)."""
    if dtype is None:
        return ANY
    return _native_name(getattr(dtype, "type", dtype), library)


def _native_name(native: Any, library: str) -> str:
    """The Arrow name of a pandas (numpy) or polars dtype, from an empty column of it:
    no data is read (ANY for Python objects)."""
    try:
        if library == "polars":
            import polars as pl

            t = pl.Series([], dtype=native).to_arrow().type
        else:
            import pandas as pd
            import pyarrow as pa

            frame = pd.DataFrame({"c": pd.Series([], dtype=native)})
            t = pa.Schema.from_pandas(frame, preserve_index=False).field(0).type
    except Exception:
        return ANY
    name = arrow_name(t)
    return ANY if name == "null" else name


def declaration(step: Step) -> dict[str, Any] | None:
    """The canonical description of the schemas ``step`` declares (for its cache key),
    or None when it declares none."""
    sc = step_contracts(step)
    if not sc:
        return None
    return {
        "outputs": {a: c.describe() for a, c in sorted(sc.outputs.items())},
        "inputs": {p: c.describe() for p, c in sorted(sc.inputs.items())},
    }


def _describe_pandera(schema: Any, library: str) -> dict[str, Any]:
    return {
        "kind": f"pandera-{library}",
        "columns": [[str(n), *_component(c)] for n, c in schema.columns.items()],
        "index": [_component(i) for i in _indexes(schema)],
        "checks": [_check_description(k) for k in getattr(schema, "checks", None) or []],
        "options": [repr(getattr(schema, a, None)) for a in (
            "strict", "coerce", "ordered", "unique", "add_missing_columns",
            "drop_invalid_rows", "unique_column_names", "dtype")],
    }


def _check_description(c: Any) -> list[Any]:
    """A check as plain data: what it tests (name, statistics, its code if custom) and
    how; equal descriptions test the same thing."""
    stats = getattr(c, "statistics", None) or {}
    return [str(getattr(c, "name", "")), sorted((str(k), _stable(v)) for k, v in stats.items()),
            bool(getattr(c, "element_wise", False)),
            bool(getattr(c, "ignore_na", True)), bool(getattr(c, "raise_warning", False)),
            repr(getattr(c, "groupby", None)), _check_code(c)]


def _component(c: Any) -> list[Any]:
    """A pandera column or index as plain data."""
    return [str(getattr(c, "dtype", None))] + [
        repr(getattr(c, attr, None))
        for attr in ("nullable", "unique", "coerce", "required", "regex", "name")
    ] + [[_check_description(k) for k in getattr(c, "checks", None) or []]]


def _indexes(schema: Any) -> list[Any]:
    index = getattr(schema, "index", None)
    return list(getattr(index, "indexes", None) or ([index] if index is not None else []))


def _stable(value: Any) -> str:
    """``repr`` with sets and dicts in sorted order: the same in every process, whatever
    the hash seed (``Check.isin({...})`` keeps a set)."""
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(_stable(v) for v in value)) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(sorted(f"{_stable(k)}: {_stable(v)}" for k, v in value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}(" + ", ".join(_stable(v) for v in value) + ")"
    return repr(value)


def _check_code(check: Any) -> str | None:
    """A digest of the code of a custom check (a ``@pa.check`` method, a ``Check(fn)``);
    None for pandera's own checks, which their statistics describe."""
    fn = getattr(check, "_check_fn", None)
    if fn is None:
        return None
    if (getattr(fn, "__module__", "") or "").startswith("pandera"):
        # a model's @pa.check method: pandera wraps it; the user's function is inside
        inner = None
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                inner = getattr(cell.cell_contents, "check_fn", None)
            except ValueError:  # an empty cell
                continue
            if inner is not None:
                break
        if inner is None:
            return None
        fn = inner
    return _code_digest(fn)


def _code_digest(fn: Any) -> str:
    """Bytecode, constants and the plain values of the globals it reads: comments and
    formatting do not count; an edit to the check or to a threshold constant does."""
    from .hashing import hash_text

    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"
    globs = getattr(fn, "__globals__", {})
    parts: list[str] = []
    stack = [code]
    while stack:
        co = stack.pop()
        parts.append(co.co_code.hex())
        parts.append(",".join(co.co_names))
        for const in co.co_consts:
            if hasattr(const, "co_code"):
                stack.append(const)
            else:
                parts.append(_stable(const))
        for name in co.co_names:
            value = globs.get(name)
            if isinstance(value, (bool, int, float, str, bytes, type(None))) and name in globs:
                parts.append(f"{name}={value!r}")
    return hash_text("check", *parts)


# ---------------------------------------------------------------------- dtypes


def arrow_name(t: Any) -> str:
    """A readable, library-neutral name for an Arrow type: string kinds are ``string``,
    floats ``float32``/``float64``, dictionaries ``dictionary<values>``."""
    import pyarrow as pa

    types = pa.types
    if types.is_dictionary(t):
        return f"dictionary<{arrow_name(t.value_type)}>"
    if types.is_string(t) or types.is_large_string(t) or _is(types, "is_string_view", t):
        return "string"
    if types.is_binary(t) or types.is_large_binary(t) or _is(types, "is_binary_view", t):
        return "binary"
    if types.is_floating(t):
        return f"float{t.bit_width}"
    if types.is_list(t) or types.is_large_list(t) or _is(types, "is_list_view", t):
        return f"list<{arrow_name(t.value_type)}>"
    if types.is_date(t):
        return "date"
    return str(t)


def _is(types: Any, predicate: str, t: Any) -> bool:
    fn = getattr(types, predicate, None)  # newer pyarrow only
    return bool(fn(t)) if fn is not None else False


_INT = re.compile(r"(u?)int(\d+)$")
_FLOAT = re.compile(r"float(\d+)$")
_TEMPORAL = re.compile(r"(timestamp|duration|time32|time64)\[\w+(?:, tz=(.*))?\]$")


def readable_as(have: str, want: str) -> bool:
    """Whether a column of dtype ``have`` can be read as ``want``: the same type, a wider
    integer or float, an integer as a float, another unit of a timestamp (same zone),
    a dictionary as its values and back. An undeclared dtype is not compared."""
    if have == want or ANY in (have, want) or have == "null":
        return True
    if have.startswith("dictionary<"):  # a categorical column reads as its values
        return readable_as(have[len("dictionary<"):-1], want)
    if want.startswith("dictionary<"):
        return readable_as(have, want[len("dictionary<"):-1])
    hi, wi = _INT.match(have), _INT.match(want)
    if hi and wi:
        h_unsigned, h_bits, w_unsigned, w_bits = hi[1], int(hi[2]), wi[1], int(wi[2])
        if h_unsigned == w_unsigned:
            return h_bits <= w_bits
        return bool(h_unsigned) and h_bits < w_bits  # uint32 fits in int64
    wf = _FLOAT.match(want)
    if wf and hi:
        return True  # like PEP 484's numeric tower: an int is read as a float
    hf = _FLOAT.match(have)
    if hf and wf:
        return int(hf[1]) <= int(wf[1])
    ht, wt = _TEMPORAL.match(have), _TEMPORAL.match(want)
    if ht and wt:
        return ht[1] == wt[1] and ht[2] == wt[2]
    return False


# ---------------------------------------------------------------------- build checks


@dataclass
class _Edge:
    consumer: str
    param: str
    asset: str
    want: Contract
    source: str  # "step 'clean'" / "artifact orders@3 (catalog)"
    arrow: str  # "clean --orders--> report"
    have: dict[str, str] | None = None  # None: nothing declared or recorded
    have_label: str = ""
    complete: bool = True  # False: a truncated recorded schema
    catalog: bool = False  # the producer side is an artifact in the catalog
    have_contract: Contract | None = None  # the producer's declared schema, if any
    element: bool = False  # the parameter a mapped step maps over: one element each
    handle: bool = False  # an ``ArtifactRef`` parameter: the step loads it, unvalidated


def check_graph(graph: Graph, records: dict[tuple[str, str], Any]
                ) -> tuple[list[str], dict[str, frozenset[str]]]:
    """Compare the schemas at both ends of every edge of ``graph`` (and a consumer's
    schema with the schema recorded for a catalog input); raise ``SchemaError`` listing
    every column that is missing or cannot be read as the consumer's dtype. Returns one
    line per check, for ``flowyml plan``, and for each step the parameters whose
    declared schema the build could not prove (``_unproven``): validated at run time,
    before the step's code runs (``validate_inputs``)."""
    if not _may_declare():
        return [], {}
    lines: list[str] = []
    problems: list[str] = []
    at_run: dict[str, set[str]] = {}
    for edge in _edges(graph, records):
        if edge.have is not None:
            problems.extend(_compare(edge))
        pending = _unproven(edge)
        if pending and not edge.handle:
            at_run.setdefault(edge.consumer, set()).add(edge.param)
        lines.append(_edge_line(edge, pending))
    for name in graph.order:
        for asset, c in step_contracts(graph.steps[name]).outputs.items():
            lines.append(f"{'declared':<12} {name} -> {asset}: validated against "
                         f"{c.label} when {name} executes")
    if problems:
        head = problems[0] if len(problems) == 1 else f"{len(problems)} schema problems:\n  " + (
            "\n  ".join(problems))
        raise SchemaError(head)
    return lines, {step: frozenset(params) for step, params in at_run.items()}


def _edge_line(edge: _Edge, pending: list[str]) -> str:
    """``ok`` when the build proved the consumer's whole schema; ``at run time`` when
    some of it (or all: nothing to compare with) is validated when the consumer runs."""
    n = len(edge.want.required)
    want = f"{edge.want.label} ({n} column{'s' * (n != 1)})"
    when = f"when {edge.consumer} executes"
    if edge.handle and pending:
        done = "" if edge.have is None else f"columns and dtypes satisfied by {edge.have_label}; "
        return (f"{'not checked':<12} {edge.arrow}: {want}: {done}not validated at run time: "
                f"{edge.consumer} gets a handle (ArtifactRef) and loads it itself")
    if edge.have is None:
        each = " on each element" if edge.element else ""
        return f"{'at run time':<12} {edge.arrow}: {edge.have_label}; {want} validated{each} {when}"
    if not pending:
        return f"{'ok':<12} {edge.arrow}: {want} satisfied by {edge.have_label}"
    more = f" and {len(pending) - 8} more" if len(pending) > 8 else ""
    return (f"{'at run time':<12} {edge.arrow}: {want}: columns and dtypes satisfied by "
            f"{edge.have_label}; validated {when}: {', '.join(pending[:8])}{more}")


def _edges(graph: Graph, records: dict[tuple[str, str], Any]) -> list[_Edge]:
    edges: list[_Edge] = []
    for name in graph.order:
        step = graph.steps[name]
        for param, want in step_contracts(step).inputs.items():
            b = graph.bindings[name].get(param)
            if b is None:
                continue
            n = len(edges)
            if b.kind == "value":
                edges.append(_Edge(name, param, param, want, "a run value",
                                   f"run value {param} --> {name}",
                                   have_label="a run value, not declared"))
            elif b.asset is None:
                continue  # a default value
            elif step.map_over == param:
                edges.append(_Edge(name, param, b.asset, want, "an element", f"{b.asset} (each "
                                   f"element) --> {name}", have_label=f"{name} maps over "
                                   f"{b.asset}", element=True))
            elif b.kind == "asset" and b.producer is not None:
                edges.append(_step_edge(graph, name, param, b.asset, b.producer, want))
            elif b.kind == "catalog" and b.selector is not None:
                edges.append(_catalog_edge(name, param, b.asset, b.selector, want, records))
            if len(edges) > n and _is_handle(step, param):
                edges[-1].handle = True
    return edges


def _is_handle(step: Step, param: str) -> bool:
    """``Annotated[fm.ArtifactRef, schema]``: the step gets a handle, not the table."""
    from .refs import ArtifactRef

    ann = _hints(step.func).get(param)
    return typing.get_origin(ann) is typing.Annotated and typing.get_args(ann)[0] is ArtifactRef


def _step_edge(graph: Graph, name: str, param: str, asset: str, producer: str,
               want: Contract) -> _Edge:
    edge = _Edge(name, param, asset, want, f"step {producer!r}", f"{producer} --{asset}--> {name}")
    have = step_contracts(graph.steps[producer]).outputs.get(asset)
    if graph.steps[producer].map_over is not None:
        edge.have_label = f"{producer} is mapped (its output is a list)"
    elif have is None:
        edge.have_label = f"{producer} declares no schema for {asset}"
    else:
        edge.have, edge.have_label, edge.have_contract = dict(have.columns), have.label, have
    return edge


def _catalog_edge(name: str, param: str, asset: str, selector: str, want: Contract,
                  records: dict[tuple[str, str], Any]) -> _Edge:
    rec = records.get((asset, selector))
    version = getattr(rec, "version", selector)
    edge = _Edge(name, param, asset, want, f"artifact {asset}@{version} (catalog {asset}@{selector})",
                 f"{asset}@{selector} (catalog) --> {name}")
    recorded = (getattr(rec, "meta", None) or {}).get("schema") if rec is not None else None
    if not recorded or not isinstance(recorded.get("columns"), list):
        edge.have_label = f"no schema is recorded for {asset}@{version}"
        return edge
    edge.have = {str(c): str(t) for c, t in recorded["columns"]}
    edge.have_label = f"the recorded schema of {asset}@{version}"
    edge.complete = not recorded.get("truncated")
    edge.catalog = True
    return edge


def _compare(edge: _Edge) -> list[str]:
    assert edge.have is not None
    out: list[str] = []
    consumer = f"step {edge.consumer!r}"
    for column in edge.want.required:
        want = edge.want.columns.get(column, ANY)
        have = edge.have.get(column)
        if have is None:
            if not edge.complete:
                continue  # beyond the recorded columns: cannot tell
            fix = (f"take a version of {edge.asset!r} that has it" if edge.catalog
                   else f"add {column!r} to {edge.have_label}")
            out.append(
                f"asset {edge.asset!r}: {consumer} reads column {column!r} ({want}) through "
                f"parameter {edge.param!r} ({edge.want.label}), but {edge.source} does not "
                f"produce it (it declares {_listing(edge.have)}); {fix}, or drop it from "
                f"{edge.want.label} if {edge.consumer} does not read it"
            )
        elif not readable_as(have, want):
            fix = (f"take a version of {edge.asset!r} with {column!r} as {want}, or change "
                   f"{edge.want.label}" if edge.catalog else "make the two schemas agree")
            out.append(
                f"asset {edge.asset!r}: {consumer} reads column {column!r} as {want} "
                f"({edge.want.label}), but {edge.source} produces it as {have} "
                f"({edge.have_label}); {have} cannot be read as {want}: {fix}"
            )
    return out


def _listing(columns: dict[str, str], limit: int = 8) -> str:
    if not columns:
        return "no columns"
    items = [f"{c}: {t}" for c, t in list(columns.items())[:limit]]
    more = f", ... ({len(columns)} in all)" if len(columns) > limit else ""
    return ", ".join(items) + more


def _unproven(edge: _Edge) -> list[str]:
    """What of the consumer's schema the build cannot prove from the producer's declared
    schema (or the recorded columns of a catalog input), in words; empty when all of it
    holds. The build proves columns and dtypes (``_compare``); a check, a non-nullable
    or unique column, strictness, an index, coercion hold only if the producer declares
    the same (its outputs were validated against it before they were stored). With
    nothing to compare with, nothing is proven."""
    if edge.have is None:
        return ["all of it"]
    out: list[str] = []
    if not edge.complete:  # beyond the recorded columns: _compare cannot tell
        out += [f"{c} present" for c in edge.want.required if c not in edge.have]
    have, want = edge.have_contract, edge.want
    if have is not None and ANY not in (have.library, want.library) and have.library != want.library:
        out.append(f"a {want.library} DataFrame (a {have.library} one is produced)")
    if want.is_arrow:
        out += [f"{f.name} not null" for f in want.schema
                if not f.nullable and not _not_null(have, f.name)]
        return out
    for name, col in want.schema.columns.items():
        if getattr(col, "regex", False):
            out.append(f"columns matching {str(name)!r}")
        else:
            out += _unproven_column(str(name), col, have)
    return out + _unproven_frame(want.schema, have)


def _unproven_column(name: str, col: Any, have: Contract | None) -> list[str]:
    theirs = None if have is None or have.is_arrow else have.schema.columns.get(name)
    out: list[str] = []
    if have is not None and name in have.columns and name not in have.required and getattr(
            col, "required", True):
        out.append(f"{name} present")  # the producer may leave it out
    if not getattr(col, "nullable", False) and not _not_null(have, name):
        out.append(f"{name} not null")
    if getattr(col, "unique", False) and not getattr(theirs, "unique", False):
        out.append(f"{name} unique")
    out += [f"{name} {_check_text(k)}" for k in _new_checks(col, theirs)]
    if getattr(col, "coerce", False):
        out.append(f"{name} coerced to {col.dtype}")
    return out


def _unproven_frame(schema: Any, have: Contract | None) -> list[str]:
    theirs = None if have is None or have.is_arrow else have.schema
    out = [f"frame {_check_text(k)}" for k in _new_checks(schema, theirs)]
    unique = getattr(schema, "unique", None)
    if unique and unique != getattr(theirs, "unique", None):
        out.append(f"rows unique on {', '.join(map(str, unique))}")
    closed = theirs is not None and getattr(theirs, "strict", False) is True and set(
        theirs.columns) <= set(schema.columns)  # the producer's columns are all read here
    if getattr(schema, "strict", False) is True and not closed:  # ("filter": not applied)
        out.append("no other columns")
    if getattr(schema, "ordered", False):
        out.append("column order")
    mine = [_component(i) for i in _indexes(schema)]
    if mine and (theirs is None or mine != [_component(i) for i in _indexes(theirs)]):
        out.append("the index")
    for attr, words in (("dtype", "every column's dtype"), ("coerce", "coerced to its dtypes"),
                        ("add_missing_columns", "missing columns added"),
                        ("drop_invalid_rows", "invalid rows dropped")):
        if getattr(schema, attr, None):
            out.append(words)
    return out


def _new_checks(mine: Any, theirs: Any) -> list[Any]:
    """The checks of ``mine`` (a column or a schema) that ``theirs`` does not have."""
    have = {repr(_check_description(k)) for k in getattr(theirs, "checks", None) or []}
    return [k for k in getattr(mine, "checks", None) or [] if repr(_check_description(k)) not in have]


def _check_text(check: Any) -> str:
    return str(getattr(check, "error", None) or getattr(check, "name", None) or "a check")


def _not_null(have: Contract | None, column: str) -> bool:
    """Whether the producer's schema declares ``column`` non-nullable (so validated)."""
    if have is None:
        return False
    if have.is_arrow:
        i = have.schema.get_field_index(column)
        return i >= 0 and not have.schema.field(i).nullable
    col = have.schema.columns.get(column)
    return col is not None and not getattr(col, "regex", False) and not getattr(col, "nullable", True)


# ---------------------------------------------------------------------- run time


def validate_outputs(step: Step, values: dict[str, Any]) -> dict[str, Any]:
    """Validate each output against the schema its producer declares, before anything
    is stored. A violation raises ``SchemaViolation`` (the step fails with ``StepFailed``)
    naming the output, the column and the first offending rows. Returns the values to
    store (a schema that coerces gives back the coerced frame)."""
    sc = step_contracts(step)
    if not sc.outputs:
        return values
    out = dict(values)
    for asset, contract in sc.outputs.items():
        if asset in out:
            out[asset] = _validate(step.name, asset, contract, out[asset])
    return out


def validate_inputs(step: Step, params: frozenset[str], kwargs: dict[str, Any],
                    sources: dict[str, str]) -> None:
    """Validate the arguments ``params`` of ``step`` (those whose declared schema the
    build could not prove: ``check_graph``) in ``kwargs``, before the step's code runs.
    A violation raises ``SchemaViolation`` naming the parameter, its input
    (``sources[param]``), the column and the first offending rows. Dtypes are read as
    at build (``readable_as``: an int64 column is a float64 one's input). A schema that
    coerces gives the step the coerced frame (pandera's copy, as ``@pa.check_types``
    would: the loaded object, and so the stored artifact, is unchanged); otherwise the
    step gets the very object loaded."""
    contracts = step_contracts(step).inputs
    for p in step.params:
        contract = contracts.get(p.name)
        if p.name in params and contract is not None and p.name in kwargs:
            kwargs[p.name] = _validate_input(step.name, p.name, sources.get(p.name, "a run value"),
                                             contract, kwargs[p.name])


class SchemaViolation(Exception):
    """An output (or an input) does not match its declared schema; the executor turns it
    into the step's failure, with pandera's error as the cause."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


@dataclass(frozen=True)
class _Subject:
    """What is validated, for the message: ``{head} does not match ...; {tail}``."""

    step: str
    head: str  # "output 'orders'", "parameter 'orders' (asset orders@1)"
    tail: str  # what happened, and the fix


def _violation(subject: _Subject, contract: Contract, what: str,
               cause: BaseException | None = None) -> Exception:
    schema = contract.label if contract.is_arrow else f"schema {contract.label}"
    err = SchemaViolation(
        subject.step, f"{subject.head} does not match its declared {schema}: {what}; {subject.tail}")
    err.__cause__ = cause
    return err


_FRAMES = (("pandas", "DataFrame"), ("polars", "DataFrame"), ("pyarrow", "Table"))


def _frame_library(value: Any) -> str | None:
    """"pandas" / "polars" / "pyarrow" for a table of theirs (subclasses too, such as
    pandera's ``DataFrame[Model]``), else None."""
    for library, cls in _FRAMES:
        module = sys.modules.get(library)
        if module is not None and isinstance(value, getattr(module, cls)):
            return library
    return None


def _validate(step: str, asset: str, contract: Contract, value: Any) -> Any:
    """An output against its producer's schema."""
    return _conform(_Subject(step, f"output {asset!r}", f"nothing was stored for {asset!r}. "
                             "Fix the step, or the schema if it is wrong"), contract, value)


def _validate_input(step: str, param: str, source: str, contract: Contract, value: Any) -> Any:
    """An input against the schema its parameter declares."""
    return _conform(_Subject(step, f"parameter {param!r} ({source})", f"step {step!r} did not "
                             "run, and nothing was stored for it. Fix what made the input, or "
                             "the schema if it is wrong"), contract, value, relax=True)


def _conform(subject: _Subject, contract: Contract, value: Any, relax: bool = False) -> Any:
    """``value`` validated against ``contract`` (the coerced frame if it coerces);
    ``relax``: dtypes read as at build (``_relaxed``), not as pandera compares them."""
    root = _frame_library(value)
    if root is None or contract.library not in ("any", root):
        want = "a table" if contract.library == "any" else f"a {contract.library} DataFrame"
        raise _violation(subject, contract,
                         f"it is a {type(value).__module__}.{type(value).__qualname__}, not {want}")
    present = {str(c) for c in value.columns} if root != "pyarrow" else set(value.column_names)
    missing = [c for c in contract.required if c not in present]
    if missing:
        raise _violation(subject, contract, "missing column(s) " + ", ".join(
            f"{c!r} ({contract.columns.get(c, ANY)})" for c in missing))
    if contract.is_arrow:
        problems = _arrow_problems(contract.schema, value, root)
        if problems:
            raise _violation(subject, contract, "; ".join(problems))
        return value
    schema = contract.schema
    if relax:
        schema, problems = _relaxed(contract, value, root)
        if problems:
            raise _violation(subject, contract, "; ".join(problems))
    return _validate_pandera(subject, contract, schema, value)


def _relaxed(contract: Contract, value: Any, root: str) -> tuple[Any, list[str]]:
    """The schema with no dtype on the columns whose dtype ``readable_as`` decides (as
    the build does: pandera would refuse an int64 column for a float64 one), and the
    columns whose dtype cannot be read as declared. Columns it coerces, and Python
    object columns, keep pandera's own dtype check."""
    schema = contract.schema
    if getattr(schema, "coerce", False) or getattr(schema, "dtype", None) is not None:
        return schema, []
    problems: list[str] = []
    relax: dict[str, dict[str, Any]] = {}
    seen: dict[Any, str] = {}
    types = dict(value.schema) if root == "polars" else dict(zip(map(str, value.columns),
                                                                   value.dtypes, strict=False))
    for name, col in schema.columns.items():
        want = contract.columns.get(str(name), ANY)
        native = types.get(str(name))
        if want == ANY or getattr(col, "coerce", False) or native is None:
            continue
        if native not in seen:
            seen[native] = _native_name(native, root)
        have = seen[native]
        if have == ANY:
            continue
        if readable_as(have, want):
            relax[name] = {"dtype": None}
        else:
            problems.append(f"column {str(name)!r} is {have}, the schema declares {want}")
    return (schema.update_columns(relax) if relax and not problems else schema), problems


def _validate_pandera(subject: _Subject, contract: Contract, schema: Any, value: Any) -> Any:
    from pandera.errors import SchemaError as PanderaSchemaError
    from pandera.errors import SchemaErrors

    try:
        checked = schema.validate(value, lazy=True)
    except SchemaErrors as exc:
        raise _violation(subject, contract, _failures(exc.failure_cases), exc) from exc
    except PanderaSchemaError as exc:
        raise _violation(subject, contract, str(exc), exc) from exc
    except Exception as exc:  # a check that raised, a backend error
        text = " ".join(str(exc).split())[:300]
        raise _violation(subject, contract, f"validation raised {type(exc).__name__}: {text}",
                         exc) from exc
    return checked if _coerces(schema) else value


def _coerces(schema: Any) -> bool:
    if getattr(schema, "coerce", False) or getattr(schema, "add_missing_columns", False):
        return True
    if getattr(schema, "drop_invalid_rows", False):
        return True
    return any(getattr(c, "coerce", False) for c in schema.columns.values())


def _failures(cases: Any) -> str:
    """pandera's failure cases as sentences: per column and check, the first rows."""
    rows = cases.to_dicts() if hasattr(cases, "to_dicts") else cases.to_dict("records")
    groups: dict[tuple[str, str], list[tuple[Any, Any]]] = {}
    for r in rows:
        check = str(r.get("check"))
        column = str(r.get("failure_case") if check == "column_in_dataframe" else r.get("column"))
        groups.setdefault((column, check), []).append((r.get("index"), r.get("failure_case")))
    out: list[str] = []
    for (column, check), cases_ in list(groups.items())[:SHOW_ROWS]:
        if check == "column_in_dataframe":
            out.append(f"column {column!r} is missing")
            continue
        located = [(i, v) for i, v in cases_ if not _missing(i)]
        if not located:
            got = ", ".join(str(v) for _, v in cases_[:SHOW_ROWS])
            out.append(f"column {column!r} fails {check} (got {got})")
            continue
        shown = located[:SHOW_ROWS]
        more = f" and {len(located) - len(shown)} more" if len(located) > len(shown) else ""
        rows = "row" if len(located) == 1 else "rows"
        out.append(f"column {column!r} fails {check} in {rows} "
                   f"{', '.join(str(i) for i, _ in shown)}{more} (value{'s' * (len(shown) > 1)} "
                   f"{', '.join(str(v) for _, v in shown)})")
    if len(groups) > SHOW_ROWS:
        out.append(f"and {len(groups) - SHOW_ROWS} more failing checks")
    return "; ".join(out)


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _arrow_problems(schema: Any, value: Any, root: str) -> list[str]:
    """A frame against a pyarrow schema: each declared column's Arrow type must be
    readable as the declared one; a non-nullable field must hold no nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    problems: list[str] = []
    for f in schema:
        try:
            if root == "pandas":
                col = pa.Array.from_pandas(value[f.name])
            elif root == "polars":
                col = value.get_column(f.name).to_arrow()
            else:
                col = value.column(f.name)
        except Exception as exc:
            problems.append(f"column {f.name!r} cannot be read as Arrow ({exc})")
            continue
        have, want = arrow_name(col.type), arrow_name(f.type)
        if not readable_as(have, want):
            problems.append(f"column {f.name!r} is {have}, the schema declares {want}")
        elif not f.nullable and col.null_count:
            positions = pc.indices_nonzero(pc.is_null(col)).to_pylist()
            labels = list(value.index[positions[:SHOW_ROWS]]) if root == "pandas" else positions
            shown = ", ".join(str(i) for i in labels[:SHOW_ROWS])
            more = f" and {len(positions) - SHOW_ROWS} more" if len(positions) > SHOW_ROWS else ""
            rows = "row" if len(positions) == 1 else "rows"
            problems.append(f"column {f.name!r} is not nullable but is null in {rows} {shown}{more}")
    return problems


# ---------------------------------------------------------------------- recording


def schema_meta(schema: Any, rows: int, count: int | None = None) -> dict[str, Any]:
    """What the catalog records of a stored table (``meta["schema"]``): its columns with
    their Arrow dtype names, in order, and its row count. ``count`` keeps the first
    fields only (a pandas frame's index columns come after its columns)."""
    fields = list(schema)[:count] if count is not None else list(schema)
    out: dict[str, Any] = {
        "columns": [[f.name, arrow_name(f.type)] for f in fields[:MAX_COLUMNS]],
        "rows": int(rows),
    }
    if len(fields) > MAX_COLUMNS:
        out["truncated"] = len(fields)
    return out


def describe_schema(recorded: dict[str, Any]) -> list[str]:
    """Lines for ``flowyml show``: a header, then one line per column."""
    columns = recorded.get("columns") or []
    total = recorded.get("truncated") or len(columns)
    head = f"{recorded.get('rows', '?')} rows, {total} columns"
    if recorded.get("truncated"):
        head += f" (the first {len(columns)} shown)"
    width = max((len(str(c)) for c, _ in columns), default=0)
    return [head] + [f"{c!s:<{width}}  {t}" for c, t in columns]
