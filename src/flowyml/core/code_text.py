"""A function's code as it runs, read without parsing: the file's lines, the span and
the *shape* of a code object (its bytecode, names and constants, without positions),
and the record of what a function's text says (``CodeInfo``).

This is what a fingerprint memo hit needs. Parsing and analysing the text, which only
a miss needs, is ``code_analysis``: a cached run never loads it.
"""

from __future__ import annotations

import ast
import linecache
import types
from collections.abc import Mapping
from typing import Any, TypeGuard, TypeVar

from .hashing import digest
from .struct import field, struct

# methods that change their object (also: ``inplace=True``, torch's ``add_``): read by
# the scan of a function's text, and by a build for a global bound to one (``push =
# QUEUE.append``), which a memo hit makes without the scan
MUTATORS = frozenset(
    ["append", "extend", "insert", "pop", "remove", "clear", "add", "update", "setdefault",
     "discard", "popitem", "appendleft", "popleft", "extendleft", "sort", "reverse", "rotate",
     "fit", "partial_fit", "fit_transform", "fit_predict", "set_params",  # an estimator
     "load_state_dict", "fill", "resize", "put", "itemset", "partition", "shuffle", "seed",
     "__setitem__", "__delitem__",
     "subtract", "intersection_update", "difference_update",  # a Counter's, a set's
     "symmetric_difference_update", "setstate", "zero_grad",  # a generator's, a model's
     "set", "add_section", "remove_section", "remove_option"]  # a config's, an event's
)

# Of those, the ones that set a part of their object, not all of it
# (``cfg.set("s", "k", v)``, ``model.set_params(C=2)``): what the object held elsewhere
# is still there (``fingerprint._Takes._called``), where ``fit`` and ``fill`` set anew.
# (``update`` sets the items its arguments name, or, given a dict, counts as set anew:
# a config loaded once, ``if not CFG: CFG.update(json.load(f))``.)
PARTIAL_SETTERS = frozenset({
    "set", "subtract", "intersection_update", "difference_update",
    "symmetric_difference_update", "add_section", "remove_section", "remove_option", "put",
    "itemset", "set_params", "partial_fit"})

# Of those, the ones whose change depends on what the object holds, not on a key: a
# step that calls one on a global and reads that global elsewhere too
# (``LOG.append(x)`` then ``len(LOG)``) computes from what the other steps did before
# it (``code_analysis._Scanner.ordered``)
ORDERED_MUTATORS = frozenset({"append", "extend", "insert", "remove", "clear", "add",
                              "discard", "appendleft", "extendleft", "sort", "reverse",
                              "rotate"})
# and the ones that take an item out and return it (``heapq``'s on their first
# argument): what a step returns then comes from what the other steps left, not only
# from the value as the run starts (``fingerprint._couple_shared_state``)
TAKERS = frozenset({"pop", "popitem", "popleft", "heappop", "heapreplace", "heappushpop"})
UPDATED = "="  # the place, in ``OwnUses.call_keys``, of the items an ``update`` sets
# a container's methods that take the key of the one item they read or set first
KEYED_METHODS = frozenset({"get", "setdefault", "__getitem__", "__setitem__", "__contains__"})


def parts_meet(a: str, b: str) -> bool:
    """Whether two parts of paths (``own_uses``) may name the same attribute or item:
    the same part, or an item by a key and any item."""
    return a == b or (a == "[]" and b[:1] == "[") or (b == "[]" and a[:1] == "[")


def within(path: tuple[str, ...], prefix: tuple[str, ...], surely: bool = False) -> bool:
    """Whether what is at ``path`` may be a part of what is at ``prefix`` (``parts_meet``
    along ``prefix``); ``surely``: is, whatever the keys. Only the same parts are surely
    the same: an item by a constant key is not surely within any item (an item set by a
    key computed at run time, ``CFG[name] = 1``, need not be ``CFG["lr"]``), nor is the
    container whole (``sum(CFG.values())``), while any item is within any item (a memo's
    ``if k in CACHE``, ``CACHE.get(k)`` and ``CACHE[k]``, beside ``CACHE[k] = v``)."""
    if surely:
        return path[:len(prefix)] == prefix
    return len(path) >= len(prefix) and all(
        parts_meet(a, b) for a, b in zip(path, prefix, strict=False))


ATTR_SETTERS = frozenset({"setattr", "delattr"})  # the builtins changing an attribute


# the calls making a new container of the same items as their first argument (a
# shallow copy: ``list(X)``, ``sorted(X, key=k)``, ``copy.copy(X)``)
SHALLOW_COPIES = frozenset({("dict",), ("list",), ("set",), ("tuple",), ("sorted",),
                             ("copy", "copy"), ("copy",)})


RESULT = "()"  # an alias's root: a call's result (``"()get_cfg"``: ``cfg = get_cfg()``)
# in ``CodeInfo.results``, the "method" of an item or attribute set on what a path through
# a method's result reaches (``get_app:get_tracker().=`` for ``get_app().get_tracker().w = v``)
SET_ITEM = "="


def name_of(root: str) -> str:
    """The name a root (``X``, ``X.a``, ``X[k]``, ``X.a[*]``: ``CodeInfo.mutated``,
    ``CodeInfo.passed``) starts with."""
    for i, c in enumerate(root):
        if c == "." or c == "[":
            return root[:i]
    return root


class FingerprintWarning(UserWarning):
    """The fingerprint cannot see through some code or value; it errs toward re-execution."""


def is_flowyml(obj: Any) -> bool:
    return obj is not None and module_of(obj).partition(".")[0] == "flowyml"


@struct
class CodeInfo:
    """What one function's code says, computed once per code object (and, for what
    its source text alone decides, remembered across processes: ``source_memo``)."""

    digest: str
    chains: list[tuple[str, ...]]
    global_names: frozenset[str]
    imports: list[tuple[str, str, str | None, int]]  # local name, module, attribute, level
    calls_getattr: list[tuple[tuple[str, ...], str | None]]  # getattr(chain, name) calls
    dynamic_imports: bool
    decorators: list[tuple[str | None, tuple[str, ...] | None]]  # (source, chain of its
    # callable); no source for FlowyML's own (``@step``), rendered when needed
    parsed: ast.AST | None  # the function's tree, once parsed in this process
    source: str | None = None  # the text ``parsed`` comes from, parsed again on demand
    mutated: frozenset[str] = frozenset()  # names whose items/attributes the code assigns
    rendered: dict[str, str] = field(default_factory=dict)  # variant -> normalized source
    slot: tuple[str, str] | None = None  # where the memo keeps these facts
    shape: str = ""  # ``code_shape`` of the code the text compiled to (checked per process)
    docstrings: bool = True  # whether the tree holds any (False: rendering skips the search)
    # names the code takes items out of (``L.pop()``, ``heapq.heappop(H)``), and
    # ``name:get`` for a ``get`` that takes only from a queue (``Q.get()``)
    taken: frozenset[str] = frozenset()
    # globals the code sets whole, once (``global _CFG; _CFG = json.load(f)``,
    # ``_CFG.update(...)``): a lazy value several steps may share (``Graph.sharing``)
    rebound: frozenset[str] = frozenset()
    # globals given whole to a function: (its chain, the argument's position or
    # keyword, the name); a helper of the user's changing that parameter changes it
    passed: tuple[tuple[tuple[str, ...], int | str, str], ...] = ()
    # names whose items or attributes the code assigns (``pd.options.x = 2``), not only
    # calls a changing method on (``np.sort(a)`` is no change of numpy's settings)
    assigned: frozenset[str] = frozenset()
    # the functions (dotted, as called) whose result the code changes (``get_cfg()["lr"]
    # = v``, ``cfg = load(); cfg.lr = v``): a change of what they return, when that is
    # kept (a memo's, a global's: ``fingerprint._result_marks``)
    results: frozenset[str] = frozenset()
    # what the code returns of module-level state: ``X``, ``X.a`` (``return CONFIG``),
    # the values of a tuple it returns (``return X, Y``), another call's result as
    # ``"()" + its chain`` (``return _load()``: followed by the build)
    returned: frozenset[str] = frozenset()
    # of ``results``, those the code also reads what it changed in, or takes an item of
    # (``e = events(); e.append(0); sum(e)``, ``queue().pop()``): it reads what other
    # steps left there, as a taker of a global does (``fingerprint._result_marks``)
    results_taken: frozenset[str] = frozenset()
    # names the code changes by what they hold (``LOG.append(x)``, ``N += 1``, ``del
    # X[0]``: ``_Scanner.ordered``): read by other code the step reaches (a helper
    # appending, the step summing), what it computes depends on what the other steps
    # left there (``fingerprint._split_takers``)
    ordered: frozenset[str] = frozenset()
    # the attributes the code reads of what a function it calls returns, as
    # ``chain:path`` (``sum(get_tracker().items)``: ``get_tracker:items``), when it also
    # calls a method there (``results``): whether it reads back what that method
    # changes (``fingerprint._reads_back``)
    result_reads: frozenset[str] = frozenset()

    @property
    def getattrs(self) -> list[tuple[tuple[str, ...], str | None]]:
        """``getattr`` calls, when ``getattr`` is the builtin (read as a global)."""
        return self.calls_getattr if "getattr" in self.global_names else []

    def tree(self) -> ast.AST | None:
        if self.parsed is None and self.source is not None:
            self.parsed = function_node(parse_text(self.source))
        return self.parsed

    def has_source(self) -> bool:
        return self.parsed is not None or self.source is not None

    def facts(self) -> dict[str, Any]:
        """What the source text alone decides, as JSON for the memo. (Written for a
        function the memo did not know, one per new function: empty facts, most of
        them, skip their comprehension and sort.)"""
        f: dict[str, Any] = {
            "d": self.digest, "c": [list(c) for c in self.chains] if self.chains else [],
            "i": [list(i) for i in self.imports] if self.imports else [],
            "g": [[list(c), n] for c, n in self.calls_getattr] if self.calls_getattr else [],
            "y": self.dynamic_imports, "m": sorted(self.mutated) if self.mutated else [],
            "k": [[t, None if c is None else list(c)] for t, c in self.decorators]
            if self.decorators else [],
            "r": dict(self.rendered), "s": self.shape,
            "n": sorted(self.global_names) if self.global_names else [],
            "h": self.docstrings, "t": sorted(self.taken) if self.taken else [],
            "b": sorted(self.rebound) if self.rebound else []}
        # (the rarer facts only when there are any: most functions have none)
        if self.passed:
            f["p"] = [[list(c), i, n] for c, i, n in self.passed]
        if self.assigned:
            f["w"] = sorted(self.assigned)
        if self.results:
            f["x"] = sorted(self.results)
        if self.returned:
            f["v"] = sorted(self.returned)
        if self.results_taken:
            f["xt"] = sorted(self.results_taken)
        if self.ordered:
            f["o"] = sorted(self.ordered)
        if self.result_reads:
            f["xr"] = sorted(self.result_reads)
        return f

    @classmethod
    def from_facts(cls, f: dict[str, Any], names: frozenset[str], source: str) -> CodeInfo:
        # (on every memo hit: empty lists, the usual imports and getattr calls, skip
        # their comprehension)
        imports, getattrs = f["i"], f["g"]
        return cls(f["d"], list(map(tuple, f["c"])), names,
                   [(a, b, c, int(d)) for a, b, c, d in imports] if imports else [],
                   [(tuple(c), n) for c, n in getattrs] if getattrs else [], bool(f["y"]),
                   [(t, None if c is None else tuple(c)) for t, c in f["k"]],
                   None, source, frozenset(f["m"]), dict(f.get("r") or {}), None, f["s"],
                   bool(f.get("h", True)), frozenset(f.get("t") or ()),
                   frozenset(f.get("b") or ()),
                   tuple((tuple(c), i, n) for c, i, n in f["p"]) if f.get("p") else (),
                   frozenset(f.get("w") or ()), frozenset(f.get("x") or ()),
                   frozenset(f.get("v") or ()), frozenset(f.get("xt") or ()),
                   frozenset(f["o"]) if "o" in f else _NO_NAMES,
                   frozenset(f["xr"]) if "xr" in f else _NO_NAMES)


_NO_NAMES: frozenset[str] = frozenset()


stale_files: set[str] = set()  # files ``stale_info`` warned about this build


fresh_files: set[str] = set()  # files whose ``linecache`` entry this build checked


context_codes: dict[str, dict[tuple[str, int], list[types.CodeType]] | None] = {}


CODE_FLAGS = 0x3FF  # co_flags without the __future__ ones (their effect is in the code itself)


_NUL = "\0"


def forget_build() -> None:
    """Forget the per-build file checks (and the code compiled or parsed for them)."""
    fresh_files.clear()
    context_codes.clear()
    file_trees.clear()
    stale_files.clear()


def file_lines(func: Any, filename: str) -> list[str]:
    """``linecache``'s lines of ``filename``, re-read if the file changed since they
    were cached (once per build): after ``importlib.reload`` (or autoreload), the text
    of the code that now runs."""
    if filename not in fresh_files:
        linecache.checkcache(filename)
        fresh_files.add(filename)
    return linecache.getlines(filename, getattr(func, "__globals__", None))


def code_shape(code: types.CodeType) -> str:
    """A digest of what ``code`` does, without where it sits in its file: bytecode,
    names, constants (nested code included), signature counts and flags. Two code
    objects with the same shape behave the same; comments and line moves do not change
    it. Computed for every function fingerprinted; compared, never part of a key
    (except a lambda's, see ``_info``)."""
    out: list[bytes] = []  # hashed at once: the same digest as an update per piece
    add = out.append
    stack: list[Any] = [code]
    while stack:
        c = stack.pop()
        t = type(c)
        if t is types.CodeType:
            add(c.co_code)
            # names hold no control characters: NUL between names, SOH between fields
            add((f"{c.co_name}\1{_NUL.join(c.co_names)}\1{_NUL.join(c.co_varnames)}\1"
                 f"{_NUL.join(c.co_freevars)}\1{_NUL.join(c.co_cellvars)}\1"
                 f"{c.co_argcount} {c.co_posonlyargcount} {c.co_kwonlyargcount} "
                 f"{c.co_flags & CODE_FLAGS} {len(c.co_consts)}").encode("utf-8", "surrogatepass"))
            stack.extend(c.co_consts)
        elif t is tuple:
            add(b"(%d" % len(c))
            stack.extend(c)
        elif t is frozenset:  # its order follows the hash seed
            add(repr(sorted(repr(x) for x in c)).encode("utf-8", "surrogatepass"))
        elif t in SHAPE_SCALARS:
            add(_scalar_bytes(t, c))
        else:
            add(repr((t.__name__, c)).encode("utf-8", "surrogatepass"))
    return digest(b"".join(out)).hex()


SHAPE_SCALARS = frozenset({type(None), bool, int, str})  # equal ones have one repr (not


# floats: 0.0 == -0.0)
_scalar_shapes: dict[tuple[type, Any], bytes] = {}  # the same constants in every function


def _scalar_bytes(t: type, c: Any) -> bytes:
    """What ``code_shape`` hashes for the constant ``c`` of type ``t``, kept for the
    short ones (``None``, small numbers, names: most constants of most functions)."""
    key = (t, c)
    hit = _scalar_shapes.get(key)
    if hit is None:
        hit = repr((t.__name__, c)).encode("utf-8", "surrogatepass")
        if len(hit) <= 128 and len(_scalar_shapes) < 4096:
            _scalar_shapes[key] = hit
    return hit


def code_span(code: Any) -> tuple[int, int]:
    """First and last line that ``code`` (nested code included) was compiled from
    (``co_positions``: Python 3.11+)."""
    end = code.co_firstlineno
    for c in code_tree(code):
        for pos in c.co_positions():  # type: ignore[attr-defined]  # 3.11+
            if pos[1] is not None and pos[1] > end:
                end = pos[1]
    return code.co_firstlineno, end


def code_tree(code: types.CodeType) -> list[types.CodeType]:
    """``code`` and every code object nested in it (functions, lambdas, classes and
    comprehensions defined inside), at any depth."""
    out = [code]
    for c in out:  # grows while it is walked
        for x in c.co_consts:
            if type(x) is types.CodeType:
                out.append(x)
    return out


def function_node(module: ast.Module | None) -> ast.AST | None:
    """The function definition a source text holds, or None."""
    if module is not None and module.body and isinstance(
            module.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return module.body[0]
    return None


# a module ``importlib.import_module("name")`` imports: a local import under this name
# and the module's (no code can read it by that name: it is visited as a whole)
IMPORTED = "<import_module>"


# in ``CodeInfo.mutated``: the function's own module's namespace (``globals()["X"] = v``)
NAMESPACE = "globals()"


# a ``query``/``eval`` string the call does not spell out (a variable, a helper's result)
QUERY_MADE_ELSEWHERE = "<query>"


def getattr_literal(node: ast.Call) -> tuple[ast.expr, str] | None:
    """``getattr(x, "name")``, ``getattr(x, "name", default)`` (a literal name): ``x``
    and the name (what it reads when there is one)."""
    f, args = node.func, node.args
    if type(f) is ast.Name and f.id == "getattr" and len(args) in (2, 3) and (
            type(args[1]) is ast.Constant and isinstance(args[1].value, str)):
        return args[0], args[1].value
    return None


def is_pick(call: ast.Call) -> bool:
    """``max(X, key=f)``, ``min(X)``: of one iterable, one of its items (given several
    positional arguments, one of them)."""
    f = call.func
    return type(f) is ast.Name and f.id in ("max", "min") and len(call.args) == 1


def iterated_argument(call: ast.Call) -> ast.expr:
    """The argument whose items a builtin's call goes over: ``filter``'s second, any
    other's first (``sorted(X)``, ``max(X, key=f)``). A call with positional arguments."""
    f, args = call.func, call.args
    return args[1] if type(f) is ast.Name and f.id == "filter" and len(args) == 2 else args[0]


def target_names(target: ast.AST) -> list[ast.Name]:
    """The names an assignment's or a loop's target binds, nested and starred ones too
    (``i, (k, m)``, ``first, *rest``)."""
    t = type(target)
    if t is ast.Name:
        return [target]  # type: ignore[list-item]
    if t is ast.Starred:
        return target_names(target.value)  # type: ignore[attr-defined]
    if t is ast.Tuple or t is ast.List:
        return [n for e in target.elts for n in target_names(e)]  # type: ignore[attr-defined]
    return []


def chain_of(node: ast.AST) -> tuple[str, ...] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return tuple(reversed(parts))
    return None


def resolve_chain(chain: tuple[str, ...], globs: Mapping[str, Any]) -> Any:
    if chain[0] not in globs:
        return None
    obj = globs[chain[0]]
    for attr in chain[1:]:
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj


def safe_attr(obj: Any, name: str, default: Any = None) -> Any:
    """``getattr(obj, name, default)`` for a value of the user's, whose ``__getattr__``
    may raise something else than ``AttributeError`` for a name it does not have (an
    ``AttrDict``'s ``KeyError``): that is a name it does not have too."""
    try:
        return getattr(obj, name, default)
    except Exception:
        return default


_T = TypeVar("_T")


def is_a(obj: object, kind: type[_T] | tuple[type, ...]) -> TypeGuard[_T]:
    """``isinstance`` for a value of the user's. It asks the object's ``__class__`` when
    its type does not match, which a proxy runs code for: a working one (wrapt's) says
    what it stands for, as counted; one whose code raises (werkzeug's ``LocalProxy``
    outside its context) is judged by its own type instead of failing the build."""
    try:
        return isinstance(obj, kind)
    except Exception:
        return issubclass(type(obj), kind)


def module_of(obj: Any) -> str:
    """``obj.__module__`` when it is a string (C types may expose a descriptor; a lazy
    proxy's ``__getattr__`` may raise anything)."""
    module = safe_attr(obj, "__module__")
    return module if isinstance(module, str) else ""


def fast_source(func: Any) -> str | None:
    """The function's source lines, cut by its code positions (no tokenizing).

    Lines after the last one that produced bytecode (a trailing ``pass``) may be cut;
    they cannot change behaviour, and when the cut text does not parse, the caller
    falls back to ``inspect.getsource``.
    """
    code = getattr(func, "__code__", None)
    if code is None or not hasattr(code, "co_positions"):
        return None
    lines = file_lines(func, code.co_filename)
    if not lines:
        return None
    first, end = code_span(code)
    start = first - 1
    return "".join(lines[start:end])


def parse_text(src: str) -> ast.Module | None:
    """The statements of ``src``, which may be indented (a method's lines).

    Not ``textwrap.dedent``: it rewrites every line, those inside a multi-line string
    too, and turns a line of spaces into an empty one, so an edit of such a line (a
    template's blank line) left the digest as it was. Indented text is parsed as the
    body of an ``if 1:`` instead: each string keeps its exact value."""
    try:
        if src[:1] in (" ", "\t"):
            wrapped = ast.parse("if 1:\n" + src)
            if len(wrapped.body) != 1:  # a line less indented than the first: not one block
                return None
            return ast.Module(body=wrapped.body[0].body, type_ignores=[])  # type: ignore[attr-defined]
        return ast.parse(src)
    except (SyntaxError, ValueError):  # ValueError: a NUL byte in the text
        return None


file_trees: dict[str, ast.Module | None] = {}  # a file's tree, once per build (lambdas)
