"""State a step's code leaves behind for the steps after it, that no value shows at build.

Two kinds, each a marker for ``fingerprint._couple_shared_state``:

- **A random generator a helper makes and keeps** (``kept_generator``): cached
  (``@functools.lru_cache def get_rng(): return np.random.default_rng(0)``) or stored on
  its first call in module-level state (``global _rng``, ``_CACHE["rng"] = ...``). It
  does not exist when the pipeline is built, yet every step calling the helper draws
  from the one generator the first call made, after what the steps before it drew.
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
import inspect
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

from . import rng
from .code_text import CodeInfo, safe_attr
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
    if isinstance(obj, type):
        return rng.is_generator_type(obj)
    npr = sys.modules.get("numpy.random")
    return obj is not None and obj is getattr(npr, "default_rng", None)


InfoOf = Callable[[types.FunctionType], "CodeInfo | None"]  # a function's facts, if walked


def kept_generator(fn: types.FunctionType, info: CodeInfo,
                   out: dict[tuple[Any, ...], str], info_of: InfoOf) -> None:
    """Mark ``fn`` if it makes a random generator and keeps it: it returns the
    generator and a caching wrapper holds it, or it stores the generator in module
    state (``("draw", "kept", id)``: every step reaching ``fn`` draws from it; one step
    alone stays cached, a new process making the generator afresh). A caching wrapper
    already filled at build holds a generator made earlier in this process (a
    notebook's earlier run, or the module's import), which may have drawn since:
    ``("made", id)``, and a step reaching it re-executes even alone. A function that
    only uses a generator it makes (``rng = default_rng(0); return rng.normal(...)``,
    a dataset made once) keeps none. A function of yours that returns a generator it
    makes (``return _make()``, ``_make`` returning ``default_rng(0)``) counts as a
    generator class here (``info_of``: the facts of the functions the step walked)."""
    factories = _factories(fn, info, info_of)
    if not factories:
        return
    tree = info.tree()
    returns, stores = _generator_flow(tree, factories) if tree is not None else (True, True)
    cache = _cache_of(fn) if returns else None
    if cache is None and not stores:
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
    class, ``default_rng``, or a function of yours that returns what one makes, up to
    ``_MAKER_DEPTH`` calls deep (once per build and function; a function met again while
    it is looked at, in a recursion, or beyond that depth, counts as making none)."""
    hit = _made_by.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    out: set[str] = set()
    _made_by[id(fn)] = (fn, out)
    globs, names = fn.__globals__, info.global_names
    for chain in info.chains:
        if len(chain) > 1:
            if chain[-1] not in _FACTORY_NAMES and _is_library(globs.get(chain[0])):
                continue  # (``np.sqrt``: a library's function makes no generator of yours)
            obj = _resolve(chain, fn, info)
        else:
            obj = globs.get(chain[0]) if chain[0] in names else _resolve(chain, fn, info)
        if _is_factory(obj) or (type(obj) is types.FunctionType and obj is not fn
                                and depth < _MAKER_DEPTH
                                and _returns_generator(obj, info_of, depth + 1)):
            out.add(".".join(chain))
    return out


def _returns_generator(fn: types.FunctionType, info_of: InfoOf, depth: int) -> bool:
    hit = _returning.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    _returning[id(fn)] = (fn, False)  # (while it is looked at: a recursion says no)
    info = info_of(fn)
    found = False
    if info is not None:
        factories = _factories(fn, info, info_of, depth)
        tree = info.tree() if factories else None
        found = tree is not None and _generator_flow(tree, factories)[0]
    _returning[id(fn)] = (fn, found)
    return found


# this build's answers of ``_returns_generator`` and ``_factories`` (``forget``)
_returning: dict[int, tuple[Any, bool]] = {}
_made_by: dict[int, tuple[Any, set[str]]] = {}


def forget() -> None:
    _returning.clear()
    _made_by.clear()


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


_STORING = frozenset({"setdefault", "append", "add", "update", "insert", "__setitem__"})


def _generator_flow(tree: ast.AST, factories: set[str]) -> tuple[bool, bool]:
    """Whether the function returns a generator it makes (the call, or a local name
    bound to it), and whether it stores one where the next call finds it: in a global
    it declares, an item or an attribute (``_C["rng"] = ...``, ``get_rng.rng = ...``),
    or through a storing method (``_C.setdefault(k, Random(0))``)."""

    def made(v: ast.AST | None) -> bool:
        return isinstance(v, ast.Call) and _dotted(v.func) in factories

    names: set[str] = set()
    declared: set[str] = set()
    stores = returns = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and made(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    names.add(t.id)
                elif isinstance(t, ast.Subscript | ast.Attribute):
                    stores = True
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in _STORING and any(made(a) for a in node.args)):
            stores = True
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and (made(node.value) or (
                isinstance(node.value, ast.Name) and node.value.id in names)):
            returns = True
    return returns, stores or bool(names & declared)


def _cache_of(fn: types.FunctionType) -> Any:
    """The caching wrapper (``functools.lru_cache``/``cache``, or one whose ``cache``
    is a mapping, as cachetools' ``cached``) around ``fn`` its module holds: under
    ``fn``'s qualified name (a method's through its class), or under any name
    (``get_rng = lru_cache(_make)``). None if it holds none."""
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
        if obj is None or obj is fn or type(obj) in (types.ModuleType, types.FunctionType):
            continue
        if safe_attr(obj, "__wrapped__") is fn and (
                safe_attr(obj, "cache_info") is not None
                or isinstance(safe_attr(obj, "cache"), Mapping)):  # (a Step's is a flag)
            return obj
    return None


def _filled(cache: Any) -> bool:
    try:
        info = cache.cache_info() if safe_attr(cache, "cache_info") is not None else None
        return bool(info.currsize if info is not None else len(cache.cache))
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
    for name in info.mutated & info.global_names:  # ``pd.options.display.x = ...``
        mod = fn.__globals__.get(name)
        top = mod.__name__.partition(".")[0] if type(mod) is types.ModuleType else None
        if top in SETTERS:
            out[("settings", top)] = f"{top}'s process-wide settings ({name}. ... = ...)"
