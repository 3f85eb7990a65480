"""Data contracts: declared table schemas on assets, checked at build, enforced at run.

A step declares the schema of a table in the annotations it already writes:

- a pandera model, ``-> pandera.typing.DataFrame[Orders]`` (``pandera.typing.polars``
  for polars frames), or a pandera ``DataFrameSchema`` in ``Annotated[pd.DataFrame, ...]``;
- a pyarrow schema, ``Annotated[pd.DataFrame, pa.schema([...])]``, for any frame type.

On a producer's return it is a promise about the asset; on a consumer's parameter it is
what the consumer reads (any subset of the columns). ``check_graph`` (called by
``graph.build_graph``) compares the two ends of every edge, and a consumer's schema with
the schema recorded for a catalog input, by column and dtype, before anything runs.
``validate_outputs`` (called by ``execution.run_task``) validates each output against
its producer's schema before it is stored. ``declaration`` is the canonical description
that ``Step.options()`` adds to the step's fingerprint, so editing a schema re-executes
the step (and so re-validates); a reused step is not re-validated.

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
    native = getattr(dtype, "type", dtype)
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


def check_graph(graph: Graph, records: dict[tuple[str, str], Any]) -> list[str]:
    """Compare the schemas at both ends of every edge of ``graph`` (and a consumer's
    schema with the schema recorded for a catalog input); raise ``SchemaError`` listing
    every column that is missing or cannot be read as the consumer's dtype. Returns one
    line per check, for ``flowyml plan``."""
    if not _may_declare():
        return []
    lines: list[str] = []
    problems: list[str] = []
    for edge in _edges(graph, records):
        if edge.have is None:
            lines.append(f"not checked  {edge.arrow}: {edge.have_label}")
            continue
        found = _compare(edge)
        problems.extend(found)
        n = len(edge.want.required)
        lines.append(f"{'ok':<12} {edge.arrow}: {edge.want.label} ({n} column{'s' * (n != 1)}) "
                     f"satisfied by {edge.have_label}")
    for name in graph.order:
        for asset, c in step_contracts(graph.steps[name]).outputs.items():
            lines.append(f"{'declared':<12} {name} -> {asset}: validated against "
                         f"{c.label} when {name} executes")
    if problems:
        head = problems[0] if len(problems) == 1 else f"{len(problems)} schema problems:\n  " + (
            "\n  ".join(problems))
        raise SchemaError(head)
    return lines


def _edges(graph: Graph, records: dict[tuple[str, str], Any]) -> list[_Edge]:
    edges: list[_Edge] = []
    for name in graph.order:
        step = graph.steps[name]
        for param, want in step_contracts(step).inputs.items():
            b = graph.bindings[name].get(param)
            if b is None or b.asset is None or step.map_over == param:
                continue
            if b.kind == "asset" and b.producer is not None:
                producer = graph.steps[b.producer]
                edge = _Edge(name, param, b.asset, want, f"step {b.producer!r}",
                             f"{b.producer} --{b.asset}--> {name}")
                have = step_contracts(producer).outputs.get(b.asset)
                if producer.map_over is not None:
                    edge.have_label = f"{b.producer} is mapped (its output is a list)"
                elif have is None:
                    edge.have_label = f"{b.producer} declares no schema for {b.asset}"
                else:
                    edge.have, edge.have_label = dict(have.columns), have.label
                edges.append(edge)
            elif b.kind == "catalog" and b.selector is not None:
                edges.append(_catalog_edge(name, param, b.asset, b.selector, want, records))
    return edges


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


class SchemaViolation(Exception):
    """An output does not match its declared schema; the executor turns it into the
    step's failure (the user's step produced it), with pandera's error as the cause."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


def _violation(step: str, asset: str, contract: Contract, what: str,
               cause: BaseException | None = None) -> Exception:
    schema = contract.label if contract.is_arrow else f"schema {contract.label}"
    err = SchemaViolation(
        step, f"output {asset!r} does not match its declared {schema}: {what}; "
        f"nothing was stored for {asset!r}. Fix the step, or the schema if it is wrong"
    )
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
    root = _frame_library(value)
    if root is None or contract.library not in ("any", root):
        want = "a table" if contract.library == "any" else f"a {contract.library} DataFrame"
        raise _violation(step, asset, contract,
                         f"it is a {type(value).__module__}.{type(value).__qualname__}, not {want}")
    present = {str(c) for c in value.columns} if root != "pyarrow" else set(value.column_names)
    missing = [c for c in contract.required if c not in present]
    if missing:
        raise _violation(step, asset, contract, "missing column(s) " + ", ".join(
            f"{c!r} ({contract.columns.get(c, ANY)})" for c in missing))
    if contract.is_arrow:
        problems = _arrow_problems(contract.schema, value, root)
        if problems:
            raise _violation(step, asset, contract, "; ".join(problems))
        return value
    return _validate_pandera(step, asset, contract, value)


def _validate_pandera(step: str, asset: str, contract: Contract, value: Any) -> Any:
    from pandera.errors import SchemaError as PanderaSchemaError
    from pandera.errors import SchemaErrors

    try:
        checked = contract.schema.validate(value, lazy=True)
    except SchemaErrors as exc:
        raise _violation(step, asset, contract, _failures(exc.failure_cases), exc) from exc
    except PanderaSchemaError as exc:
        raise _violation(step, asset, contract, str(exc), exc) from exc
    except Exception as exc:  # a check that raised, a backend error
        text = " ".join(str(exc).split())[:300]
        raise _violation(step, asset, contract, f"validation raised {type(exc).__name__}: {text}",
                         exc) from exc
    return checked if _coerces(contract.schema) else value


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
