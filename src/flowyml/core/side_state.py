"""State a step's code leaves behind for the steps after it, that no value shows at build.

Two kinds, each a marker for ``fingerprint._couple_shared_state``:

- **A random generator a helper makes and keeps** (``kept_generator``): cached
  (``@functools.lru_cache def get_rng(): return np.random.default_rng(0)``, a
  ``functools.cached_property``, a memo of yours) or stored on its first call where the
  next finds it (``global _rng``, ``nonlocal rng``, ``_CACHE["rng"] = ...``,
  ``cls._rng = ...`` in a classmethod, ``self._rng = ...`` in a method). It does not
  exist when the pipeline is built, yet every step calling the helper draws from the
  one generator the first call made, after what the steps before it drew.
- **A library's process-wide settings a step changes** (``settings_set``):
  ``np.set_printoptions(...)`` or ``pd.options.display.precision = 2`` in a ``setup``
  step. The keys of the steps after it counted the settings at build, before it ran,
  and a reuse of it would not change them.

Both are read from the function's code: the names it reaches, and for a function that
makes a generator its tree (parsed then only). Each function is read once per build
(``fingerprint._state_writes``).
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

from . import rng
from .code_text import CodeInfo, module_of, name_of, safe_attr
from .tokens import maybe_users_module


def _resolve(chain: tuple[str, ...], fn: types.FunctionType, info: CodeInfo) -> Any:
    """What ``chain`` names in ``fn``: from its module's globals, or from an import in
    its body (``import numpy`` / ``from numpy import seterr as se`` inside the
    function), followed through modules only (a user object's attribute may run code)."""
    head = chain[0]
    if head in info.global_names:
        obj = fn.__globals__.get(head)
    else:
        obj = None
        for local, module, attribute, level in info.imports:
            if local == head and not level:
                mod = sys.modules.get(module)
                obj = safe_attr(mod, attribute) if attribute else mod
                if not attribute and "." in module:  # ``import a.b`` binds ``a``
                    obj = sys.modules.get(module.partition(".")[0])
                break
        if obj is None:
            return None
    for name in chain[1:]:
        if type(obj) is not types.ModuleType:
            return None
        obj = getattr(obj, name, None)
    return obj


# --------------------------------------------------------------------------- generators


def _is_factory(obj: Any) -> bool:
    """A random generator's class, or numpy's ``default_rng``."""
    if issubclass(type(obj), type):  # (not ``isinstance``: a proxy's ``__class__`` may raise)
        return rng.is_generator_type(obj)
    npr = sys.modules.get("numpy.random")
    return obj is not None and obj is getattr(npr, "default_rng", None)


InfoOf = Callable[[types.FunctionType], "CodeInfo | None"]  # a function's facts, if walked


def kept_generator(fn: types.FunctionType, info: CodeInfo,
                   out: dict[tuple[Any, ...], str], info_of: InfoOf) -> None:
    """Mark ``fn`` if it makes a random generator and keeps it: it returns the
    generator and a caching wrapper holds it, or it stores the generator where its
    next call finds it (``_generator_flow``: a global or a ``nonlocal`` it binds, an
    item or an attribute of anything but an object it made itself, ``self._rng`` in a
    method other than ``__init__``) (``("draw", "kept", id)``: every step reaching
    ``fn`` draws from it; one step alone stays cached, a new process making the
    generator afresh). A caching wrapper already filled at build holds a generator made
    earlier in this process (a notebook's earlier run, or the module's import), which
    may have drawn since: ``("made", id)``, and a step reaching it re-executes even
    alone. A function that only uses a generator it makes (``rng = default_rng(0);
    return rng.normal(...)``, a dataset made once) keeps none. What makes a generator
    (``_factories``): a generator class, ``default_rng``, a function of yours that
    returns what one makes (``return _make()``; ``self._make()``), a class of yours
    whose ``__init__`` stores one on its instance (``info_of``: the facts of the
    functions the step walked)."""
    factories = _factories(fn, info, info_of)
    if not factories:
        return
    tree = info.tree()
    flow = (_generator_flow(tree, factories, _init_self(fn), _resolver(fn, info))
            if tree is not None else (True, True, False))
    cache = _cache_of(fn, info_of) if flow[0] else None
    if cache is None and not flow[1]:
        return
    label = f"the one {fn.__qualname__}() makes and keeps"
    out[("draw", "kept", id(fn))] = label
    if cache is not None and _filled(cache):
        out[("made", id(fn))] = label


# the generator classes' and ``default_rng``'s names (a library's other names are skipped)
_FACTORY_NAMES = frozenset({"default_rng", "Random", "RandomState", "Generator", "SystemRandom"})


def _is_library(obj: Any) -> bool:
    """Whether ``obj`` is a module of the standard library or an installed package."""
    return type(obj) is types.ModuleType and not maybe_users_module(obj.__name__)


_MAKER_DEPTH = 50  # calls followed from a function to the one that makes a generator


def _factories(fn: types.FunctionType, info: CodeInfo, info_of: InfoOf, depth: int = 0
               ) -> set[str]:
    """The names in ``fn``'s code whose call makes a random generator: a generator
    class, ``default_rng``, a function of yours that returns what one makes (named as
    a global, or on the method's own ``self``/``cls``: ``self._make``, overridden in a
    subclass too), or a class of yours whose instances hold one (``_holds_generator``),
    up to ``_MAKER_DEPTH`` calls deep (once per build and function; a function met
    again while it is looked at, in a recursion, or beyond that depth, counts as making
    none)."""
    hit = _made_by.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    out: set[str] = set()
    _made_by[id(fn)] = (fn, out)
    globs, names = fn.__globals__, info.global_names
    code = fn.__code__
    owner = _owner_class(fn) if code.co_argcount else None
    first = code.co_varnames[0] if owner is not None else None
    for chain in info.chains:
        if chain[0] == first and owner is not None:  # ``self._make``, ``cls()``
            if len(chain) < 3 and depth < _MAKER_DEPTH and _own_makes(
                    fn, owner, chain[1:], info_of, depth + 1):
                out.add(".".join(chain))
            continue
        if len(chain) > 1:
            if chain[-1] not in _FACTORY_NAMES and _is_library(globs.get(chain[0])):
                continue  # (``np.sqrt``: a library's function makes no generator of yours)
            obj = _resolve(chain, fn, info)
        else:
            obj = globs.get(chain[0]) if chain[0] in names else _resolve(chain, fn, info)
        if obj is not None and obj is not fn and (_is_factory(obj) or (
                depth < _MAKER_DEPTH and _makes(obj, info_of, depth + 1))):
            out.add(".".join(chain))
    return out


def _makes(obj: Any, info_of: InfoOf, depth: int) -> bool:
    """Whether calling ``obj`` (not a generator class) gives a generator, or an object
    holding one: a function of yours returning one, a class of yours holding one."""
    if type(obj) is types.FunctionType:
        return _returns_generator(obj, info_of, depth)
    return issubclass(type(obj), type) and _holds_generator(obj, info_of, depth)


def _own_makes(fn: types.FunctionType, owner: type, rest: tuple[str, ...],
               info_of: InfoOf, depth: int) -> bool:
    """``self.name(...)`` / ``cls.name(...)`` (``rest == (name,)``) or ``cls(...)``
    (``rest == ()``) in ``fn``, a method of ``owner``: whether it makes a generator, in
    the class or any subclass (whose override the call may reach)."""
    if not rest:
        return _holds_generator(owner, info_of, depth)
    for klass in (owner, *_subclasses(owner)):
        try:
            member = inspect.getattr_static(klass, rest[0], None)
        except Exception:
            continue
        if isinstance(member, staticmethod | classmethod):
            member = member.__func__
        if member is not fn and _makes(member, info_of, depth):
            return True
    return False


def _owner_class(fn: types.FunctionType) -> type | None:
    """The class ``fn`` is written in, found by its qualified name from its module (None
    for a function of a function's, or of no class)."""
    parts = fn.__qualname__.split(".")
    if len(parts) < 2 or "<locals>" in parts:
        return None
    obj: Any = fn.__globals__.get(parts[0])
    for name in parts[1:-1]:
        try:
            obj = inspect.getattr_static(obj, name, None)
        except Exception:
            return None
    return obj if issubclass(type(obj), type) else None


def _subclasses(cls: type) -> list[type]:
    """``cls``'s subclasses, at any depth (once per build and class)."""
    hit = _subclasses_of.get(id(cls))
    if hit is not None and hit[0] is cls:
        return hit[1]
    out: list[type] = []
    todo = [cls]
    while todo and len(out) < _MAX_SUBCLASSES:
        try:
            subs: list[type] = type.__subclasses__(todo.pop())
        except TypeError:
            continue
        for sub in subs:
            if sub not in out:
                out.append(sub)
                todo.append(sub)
    _subclasses_of[id(cls)] = (cls, out)
    return out


_MAX_SUBCLASSES = 200  # looked at under a class of yours (a bound for a generated zoo)

_INITS = ("__init__", "__post_init__")  # what makes an instance: ``self.x = ...`` there


def _holds_generator(cls: type, info_of: InfoOf, depth: int) -> bool:
    """Whether ``cls`` is a class of yours whose ``__init__`` (or a dataclass's
    ``__post_init__``, its own or a base's of yours) stores a generator it makes on
    the new instance (``self.rng = default_rng(seed)``): making one makes a generator
    (once per build and class)."""
    hit = _holding.get(id(cls))
    if hit is not None and hit[0] is cls:
        return hit[1]
    _holding[id(cls)] = (cls, False)  # (while it is looked at: a recursion says no)
    inits = [init for klass in cls.__mro__ if maybe_users_module(module_of(klass))
             for init in map(vars(klass).get, _INITS) if type(init) is types.FunctionType]
    found = any(_flow_of(init, info_of, depth)[2] for init in inits)
    _holding[id(cls)] = (cls, found)
    return found


def _init_self(fn: types.FunctionType | None) -> str | None:
    """The name of the new instance in ``fn``, if it is a class's ``__init__``."""
    if fn is None or fn.__name__ not in _INITS or "." not in fn.__qualname__:
        return None
    code = fn.__code__
    return code.co_varnames[0] if code.co_argcount else None


def _returns_generator(fn: types.FunctionType, info_of: InfoOf, depth: int) -> bool:
    hit = _returning.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    _returning[id(fn)] = (fn, False)  # (while it is looked at: a recursion says no)
    found = _flow_of(fn, info_of, depth)[0]
    _returning[id(fn)] = (fn, found)
    return found


def _flow_of(fn: types.FunctionType, info_of: InfoOf, depth: int) -> tuple[bool, bool, bool]:
    """``_generator_flow`` of a function the step walked (nothing for one it did not,
    or one that makes no generator)."""
    info = info_of(fn)
    factories = _factories(fn, info, info_of, depth) if info is not None else None
    tree = info.tree() if factories and info is not None else None
    if tree is None or info is None or not factories:
        return False, False, False
    return _generator_flow(tree, factories, _init_self(fn), _resolver(fn, info))


# this build's answers of ``_returns_generator``, ``_factories``, ``_holds_generator``
# and ``_subclasses`` (``forget``)
_returning: dict[int, tuple[Any, bool]] = {}
_made_by: dict[int, tuple[Any, set[str]]] = {}
_holding: dict[int, tuple[Any, bool]] = {}
_subclasses_of: dict[int, tuple[Any, list[type]]] = {}


def forget() -> None:
    _returning.clear()
    _made_by.clear()
    _holding.clear()
    _subclasses_of.clear()


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _root(node: ast.expr) -> str | None:
    """The name an item or attribute target hangs from (``self`` of
    ``self._c["rng"]``); None when it is anything else (``get_cache()["rng"]``)."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value  # (an ``ast.expr``)
    return node.id if isinstance(node, ast.Name) else None


def _resolver(fn: types.FunctionType, info: CodeInfo) -> Callable[[str], Any]:
    """What a dotted name called in ``fn`` is (``Dataset``, ``dict``, ``np.mean``): from
    its module's globals or builtins, an import in it, through modules (None if none)."""
    builtins = fn.__globals__.get("__builtins__")
    table = builtins if isinstance(builtins, dict) else vars(builtins) if builtins else {}

    def resolve(dotted: str) -> Any:
        chain = tuple(dotted.split("."))
        if len(chain) == 1:
            return fn.__globals__.get(chain[0], table.get(chain[0]))
        return _resolve(chain, fn, info)

    return resolve


def _of_a_library(obj: Any) -> bool:
    """Whether ``obj`` is Python's or an installed package's (not None, not yours)."""
    return obj is not None and not maybe_users_module(module_of(obj) or "builtins")


_STORING = frozenset({"setdefault", "append", "add", "update", "insert", "__setitem__",
                      "extend", "appendleft", "put"})
_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


class _Code:
    """What ``_generator_flow`` reads of a function's tree, in one walk."""

    def __init__(self, tree: ast.AST) -> None:
        self.declared: set[str] = set()  # ``global`` / ``nonlocal`` names
        self.pairs: list[tuple[ast.expr, ast.expr]] = []  # (target, value) of each binding
        self.puts: list[tuple[ast.expr, list[ast.expr]]] = []  # (container, values put)
        self.calls: list[tuple[ast.expr, list[ast.expr]]] = []  # (function, arguments)
        self.returned: list[ast.expr] = []
        self.stored_names: list[str] = []  # every name bound, once per binding
        for node in ast.walk(tree):
            if isinstance(node, ast.Global | ast.Nonlocal):
                self.declared.update(node.names)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    self.pairs.extend(_bindings(target, node.value))
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                self.pairs.append((node.target, node.value))
            elif isinstance(node, ast.Return) and node.value is not None:
                self.returned.append(node.value)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.stored_names.append(node.id)
            elif isinstance(node, ast.Call):
                func, args = node.func, [*node.args, *(k.value for k in node.keywords)]
                if isinstance(func, ast.Attribute) and func.attr in _STORING:
                    self.puts.append((func.value, args))
                elif isinstance(func, ast.Name) and func.id == "setattr" and len(args) > 2:
                    self.puts.append((args[0], [args[2]]))
                else:
                    self.calls.append((func, args))
        self.params: set[str] = set()
        if isinstance(tree, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            a = tree.args
            self.params.update(x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs))
            self.params.update(x.arg for x in (a.vararg, a.kwarg) if x is not None)


def _generator_flow(tree: ast.AST, factories: set[str], init_self: str | None = None,
                    resolve: Callable[[str], Any] = lambda _: None
                    ) -> tuple[bool, bool, bool]:
    """Where the generators ``tree`` makes go (a call of ``factories``, and what holds
    one: a local name bound to it, ``a or b``, ``a if c else b``, ``(x := ...)``, an
    item or attribute stored with it, a new dict or list of its own it put it in):
    whether the function returns one; whether it stores one where the next call finds
    it (a global or a ``nonlocal`` it binds, an item or attribute of anything but a new
    object of its own, through ``setattr`` or a storing method: ``_C.setdefault(k,
    Random(0))``; or a new object of its own holding one, given to a function of yours);
    and whether it stores one on ``init_self``, the instance an ``__init__`` makes (the
    instance holds it: the function keeps none)."""
    code = _Code(tree)
    fresh = _fresh_names(code, resolve)
    held: set[str] = set()  # local names holding a generator
    places: set[str] = set()  # the items and attributes stored with one
    flags = [False, False]  # stores, stores on ``init_self``

    def holds(v: ast.AST) -> bool:
        if isinstance(v, ast.Call):
            return _dotted(v.func) in factories
        if isinstance(v, ast.Name):
            return v.id in held
        if isinstance(v, ast.BoolOp):
            return any(holds(x) for x in v.values)
        if isinstance(v, ast.IfExp):
            return holds(v.body) or holds(v.orelse)
        if isinstance(v, ast.NamedExpr | ast.Starred):
            return holds(v.value)
        return (bool(places) and isinstance(v, ast.Attribute | ast.Subscript)
                and ast.unparse(v) in places)

    def store(container: ast.expr) -> None:
        root = _root(container)
        if root is not None:
            held.add(root)  # (it holds one now: what returns or stores it does too)
        if root is not None and root == init_self:
            flags[1] = True
        elif root is None or root not in fresh:  # (a new object of its own: kept if it is)
            flags[0] = True

    size = -1
    while size != len(held) + len(places):  # (a name bound after its use: once more)
        size = len(held) + len(places)
        for target, value in code.pairs:
            if not holds(value):
                continue
            if isinstance(target, ast.Name):
                held.add(target.id)
                flags[0] = flags[0] or target.id in code.declared
            elif isinstance(target, ast.Attribute | ast.Subscript):
                places.add(ast.unparse(target))
                store(target.value)
        for container, values in code.puts:
            if any(holds(v) for v in values):
                store(container)
    holders = held & fresh
    flags[0] = flags[0] or (bool(holders) and any(  # (``register(state)``: it may keep it)
        isinstance(a, ast.Name) and a.id in holders and not _of_a_library(
            resolve(_dotted(func) or "")) for func, args in code.calls for a in args))
    return any(holds(v) for v in code.returned), flags[0], flags[1]


def _bindings(target: ast.expr, value: ast.expr) -> list[tuple[ast.expr, ast.expr]]:
    """``a, b = x, y`` as ``a = x`` and ``b = y``; any other unpacking binds each
    target to a part of the value (``*value``: holding what it holds, new for none)."""
    if isinstance(target, ast.Tuple | ast.List):
        if isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts):
            return [p for t, v in zip(target.elts, value.elts, strict=True)
                    for p in _bindings(t, v)]
        whole = ast.Starred(value=value, ctx=ast.Load())
        return [p for t in target.elts for p in _bindings(t, whole)]
    if isinstance(target, ast.Starred):
        return _bindings(target.value, value)
    return [(target, value)]


def _fresh_names(code: _Code, resolve: Callable[[str], Any]) -> set[str]:
    """The local names bound only to a new container (a display, ``{}``, or a call of
    a class of Python's or a library's: ``dict()``, ``SimpleNamespace()``), never to
    anything else; not a parameter. (A class of yours may keep its instances: not new.)"""
    fresh: set[str] = set()
    other: set[str] = code.declared | code.params
    counts: dict[str, int] = {}
    for target, value in code.pairs:
        if isinstance(target, ast.Name):
            counts[target.id] = counts.get(target.id, 0) + 1
            made = resolve(_dotted(value.func) or "") if isinstance(value, ast.Call) else None
            new = isinstance(value, _DISPLAYS) or (isinstance(made, type)
                                                   and _of_a_library(made))
            (fresh if new else other).add(target.id)
    if len(code.stored_names) != sum(counts.values()):  # bound by ``for``, ``with`` too
        seen: dict[str, int] = {}
        for name in code.stored_names:
            seen[name] = seen.get(name, 0) + 1
        other.update(n for n, k in seen.items() if k != counts.get(n, 0))
    return fresh - other


def stores_results(tree: ast.AST, free: set[str]) -> bool:
    """Whether a wrapper's code (``tree``) hands out again what the function it wraps
    returned, kept in its closure (``free``): it returns what it reads out of a
    container of its closure (``return store[key]``, ``store.get(key)``,
    ``store.setdefault(key, fn(*a))``, or a name bound to such a read), or a
    ``nonlocal`` it binds to a call of a closure name (``nonlocal r; r = fn()``). Not a
    stats dict, a list of durations, a counter, nor a wrapper keeping the last result
    only to look at (``last["r"] = out; return out``)."""
    def read_out(node: ast.AST | None) -> bool:  # an item of a closure's container
        if isinstance(node, ast.Subscript):
            return _root(node) in free
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "setdefault") and _root(node.func.value) in free)

    read: set[str] = set()  # names bound to such a read
    made: set[str] = set()  # names bound to a call of a closure name
    nonlocals: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            if read_out(node.value):
                read |= names
            elif _free_call(node.value, free):
                made |= names
        elif isinstance(node, ast.Nonlocal):
            nonlocals.update(node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            if read_out(value) or (isinstance(value, ast.Name) and (
                    value.id in read or value.id in made & nonlocals)):
                return True
    return False


def _free_call(node: ast.AST, free: set[str]) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
        node.func.id in free)


def _cache_of(fn: types.FunctionType, info_of: InfoOf) -> Any:
    """The caching wrapper around ``fn``, None if none: ``functools.lru_cache``/``cache``
    or one whose ``cache`` is a mapping (cachetools' ``cached``), its module holding it
    under ``fn``'s qualified name (a method's through its class) or under any name
    (``get_rng = lru_cache(_make)``); a cached property on its class (``functools.
    cached_property``, another library's: each instance keeps what it returns); or a
    memo of yours: a function wrapping it (``functools.wraps``) that stores in its
    closure, an object wrapping it that holds a dict or a list."""
    globs = fn.__globals__
    parts = fn.__qualname__.split(".")
    candidates: list[Any] = []
    if "<locals>" not in parts:
        obj: Any = globs.get(parts[0])
        for name in parts[1:]:
            try:
                obj = inspect.getattr_static(obj, name, None)
            except Exception:
                obj = None
            if isinstance(obj, staticmethod | classmethod):
                obj = obj.__func__
        candidates.append(obj)
    candidates.extend(list(globs.values()))
    for obj in candidates:
        if obj is None or obj is fn or type(obj) is types.ModuleType:
            continue
        if type(obj) is types.FunctionType:
            if safe_attr(obj, "__wrapped__") is fn and _memoizes(obj, info_of):
                return obj
        elif _cached_property_of(obj, fn) or (safe_attr(obj, "__wrapped__") is fn and (
                safe_attr(obj, "cache_info") is not None
                or isinstance(safe_attr(obj, "cache"), Mapping)  # (a Step's is a flag)
                or any(isinstance(v, _HOLDERS) for v in _own_values(obj)))):
            return obj
    return None


_HOLDERS = (Mapping, list)  # what a memo of yours holds its results in


def _own_values(obj: Any) -> list[Any]:
    try:
        return list(vars(obj).values())
    except Exception:  # (no ``__dict__``, or one that raises)
        return []


def _cached_property_of(obj: Any, fn: types.FunctionType) -> bool:
    """Whether ``obj`` is a cached property (``functools.cached_property``, or a class
    named so by a library: ``cached_property``, ``lazy_property``...) computed by ``fn``."""
    if issubclass(type(obj), functools.cached_property):  # (by its type: no ``__class__``)
        return safe_attr(obj, "func") is fn
    name = type(obj).__name__.lower()
    return ("cache" in name or "lazy" in name) and not callable(obj) and any(
        safe_attr(obj, a) is fn for a in ("func", "fget", "__wrapped__", "wrapped"))


def _memoizes(wrapper: types.FunctionType, info_of: InfoOf) -> bool:
    """Whether a function wrapping another stores into its closure (``store[key] =
    fn(*args)``, ``nonlocal`` binding): a memo, not a logging or timing wrapper."""
    free = set(wrapper.__code__.co_freevars)
    info = info_of(wrapper)
    tree = info.tree() if info is not None else None
    if tree is None:  # (no source: by what its closure holds)
        return any(isinstance(v, _HOLDERS) for v in _cells(wrapper))
    for node in ast.walk(tree):
        if isinstance(node, ast.Nonlocal):
            return True
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Subscript | ast.Attribute) and _root(t) in free
                   for t in targets):
                return True
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in _STORING and _root(node.func.value) in free):
            return True
    return False


def _cells(fn: types.FunctionType) -> list[Any]:
    out = []
    for cell in fn.__closure__ or ():
        try:
            out.append(cell.cell_contents)
        except ValueError:  # (an empty cell)
            pass
    return out


def _filled(cache: Any) -> bool:
    """Whether a caching wrapper holds something already: a generator made earlier (in
    its cache, its dict or list, a closure cell). (A cached property's are on its
    instances: values the step's walk meets, a generator among them keyed by its state,
    as any other.)"""
    if not callable(cache):
        return False
    try:
        if safe_attr(cache, "cache_info") is not None:
            return bool(cache.cache_info().currsize)
        held = safe_attr(cache, "cache")
        if isinstance(held, Mapping):
            return bool(len(held))
        values = _cells(cache) if type(cache) is types.FunctionType else _own_values(cache)
        return any(bool(len(v)) if isinstance(v, _HOLDERS) else rng.is_generator_type(type(v))
                   for v in values)
    except Exception:
        return True  # not known: as if it were


# --------------------------------------------------------------------------- settings


def settings_set(fn: types.FunctionType, info: CodeInfo,
                 out: dict[tuple[Any, ...], str]) -> None:
    """Mark ``fn`` if its code changes a library's process-wide settings: it calls a
    setter (``settings.SETTERS``: ``np.set_printoptions``, ``pd.set_option``,
    ``sklearn.set_config``, ...; named globally or imported in the function) or assigns
    an attribute under such a library's module (``pd.options.display.precision = 2``)
    (``("settings", top)``: read by every step whose key counts the library's settings,
    ``fingerprint._state_reads``)."""
    from .settings import SETTER_NAMES, SETTERS, setters

    known = setters()
    globs, names = fn.__globals__, info.global_names
    for chain in info.chains:
        if len(chain) > 1:
            if chain[-1] not in SETTER_NAMES:
                continue  # (a bare name may be a setter under another: ``se = np.seterr``)
            obj = _resolve(chain, fn, info)
        else:
            obj = globs.get(chain[0]) if chain[0] in names else _resolve(chain, fn, info)
        hit = known.get(id(obj)) if obj is not None else None
        top = hit[1] if hit is not None and hit[0] is obj else None
        if top is not None:
            out[("settings", top)] = f"{top}'s process-wide settings ({'.'.join(chain)})"
            if top == "time":  # the zone ``datetime`` converts to as well
                out[("settings", "datetime")] = out[("settings", top)]
    for name in info.assigned & info.global_names:  # ``pd.options.display.x = ...``
        mod = fn.__globals__.get(name)
        top = mod.__name__.partition(".")[0] if type(mod) is types.ModuleType else None
        if top in SETTERS:
            out[("settings", top)] = f"{top}'s process-wide settings ({name}. ... = ...)"
    _context_assigned(fn, info, out)
    _process_state_set(fn, info, out)


# what a step may change that any other step depends on, whatever its code names: the
# directory relative paths start from, and where ``import`` finds modules
PROCESS_STATE = frozenset({"cwd", "sys.path", "sys.modules"})


def _process_state_set(fn: types.FunctionType, info: CodeInfo,
                       out: dict[tuple[Any, ...], str]) -> None:
    """Mark ``fn`` if it changes the current directory (``os.chdir``), ``sys.path``
    (``sys.path.insert(0, d)``, ``sys.path[:0] = ...``, ``sys.path = [...]``) or
    ``sys.modules`` (``sys.modules["plug"] = mod``): a later step opening a relative
    path, or importing, depends on it (``PROCESS_STATE``)."""
    import os

    for chain in info.chains:
        head = chain[:2] if chain[0] in ("sys", "os") else chain[:1]
        if head[-1] not in ("chdir", "path", "modules"):
            continue
        obj = _resolve(head, fn, info)
        if obj is os.chdir:
            out[("settings", "cwd")] = "the current directory (os.chdir)"
        elif (obj is sys.path or obj is sys.modules) and (
                ".".join(head) in info.mutated or head[0] in info.mutated
                or any(name_of(m) == head[0] and m.endswith("[M]") for m in info.mutated)):
            what = "sys.path" if obj is sys.path else "sys.modules"
            out[("settings", what)] = what


_CONTEXT_ATTRS = frozenset({"prec", "rounding", "Emin", "Emax", "capitals", "clamp", "traps"})


def _context_assigned(fn: types.FunctionType, info: CodeInfo,
                      out: dict[tuple[Any, ...], str]) -> None:
    """Mark ``fn`` if it sets decimal's context (``decimal.getcontext().prec = 6``,
    ``ctx = getcontext(); ctx.traps[Overflow] = False``): what every ``Decimal``
    operation after it, in the steps after it, computes by. Not when the function uses
    ``localcontext()`` (the ``with`` puts the context back; an assignment is to it)."""
    names = fn.__code__.co_names
    if "getcontext" not in names or "localcontext" in names or _CONTEXT_ATTRS.isdisjoint(names):
        return
    decimal = sys.modules.get("decimal")
    if decimal is None or not any(chain[-1] == "getcontext" and _resolve(
            chain, fn, info) is decimal.getcontext for chain in info.chains):
        return
    tree = info.tree()
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Subscript):  # ``ctx.traps[Overflow] = ...``
                    target = target.value
                if isinstance(target, ast.Attribute) and target.attr in _CONTEXT_ATTRS:
                    out[("settings", "decimal")] = (
                        f"decimal's process-wide settings (getcontext().{target.attr} = ...)")
                    return
