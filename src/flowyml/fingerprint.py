"""Code fingerprints: what a step's result can depend on, hashed in named parts.

The step function's *normalized* AST is hashed (comments, docstrings, blank lines and
formatting do not count), together with what it reaches that can change its result:
helper functions and classes of the user's own modules (recursively), closure values,
module-level constants it reads, and the declaration. Third-party code counts by its
installed version. Parts are kept by name so a cache miss can be explained
("code of helper _normalize changed").

"The user's own" means a source file under the project root and outside any
site-packages. The AST is serialized iteratively, so generated or deeply nested code
(a 1,000-term expression) never hits the recursion limit.
"""

from __future__ import annotations

import ast
import builtins
import enum
import functools
import inspect
import linecache
import os
import pickle
import sys
import textwrap
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3

from .hashing import hash_text

FINGERPRINT_VERSION = "1"
_BUILTINS = frozenset(dir(builtins))


class FingerprintWarning(UserWarning):
    """The fingerprint of some code is weaker than usual (e.g. no source available)."""


@dataclass(frozen=True)
class Fingerprint:
    """A code fingerprint: the digest and the named parts it was made from."""

    digest: str
    parts: dict[str, str]

    def explain_change(self, old_parts: dict[str, str]) -> list[str]:
        """Human phrases for what changed since ``old_parts`` (empty when nothing did)."""
        return explain_parts(old_parts, self.parts)


def explain_parts(old: dict[str, str], new: dict[str, str]) -> list[str]:
    out: list[str] = []
    for key in sorted(set(old) | set(new), key=_part_order):
        if old.get(key) == new.get(key):
            continue
        label = _part_label(key)
        if key not in old:
            out.append(f"{label} is new")
        elif key not in new:
            out.append(f"{label} is no longer used")
        elif key.startswith("library "):
            out.append(f"{label} {old[key]} -> {new[key]}")
        else:
            out.append(f"{label} changed")
    return out


def _part_order(key: str) -> tuple[int, str]:
    rank = {"code": 0, "declaration": 1}.get(key, 2)
    return rank, key


def _part_label(key: str) -> str:
    if key == "code":
        return "code"
    if key == "declaration":
        return "declaration (@step arguments)"
    kind, _, rest = key.partition(" ")
    _where, _, qual = rest.rpartition(":")
    name = qual or rest
    if kind == "helper":
        return f"code of helper {name}"
    if kind == "constant":
        return f"constant {name}"
    if kind == "closure":
        return f"closure value {name}"
    if kind == "library":
        return f"library {rest}"
    return key


# --------------------------------------------------------------------------- helpers


class _Context:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.parts: dict[str, str] = {}
        self.seen: set[int] = set()

    def add(self, key: str, value: str) -> None:
        self.parts[key] = value


def fingerprint_function(
    func: Callable[..., Any],
    declaration: dict[str, Any] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> Fingerprint:
    """Fingerprint ``func`` and everything of the user's own code it reaches."""
    ctx = _Context(Path(root) if root is not None else _project_root())
    func = inspect.unwrap(func)
    ctx.seen.add(id(func))
    tree, _source_ok = _function_ast(func, strip_decorators=True)
    if tree is not None:
        digest, refs = _digest_and_refs(tree)
        ctx.add("code", digest)
        _follow_refs(ctx, iter(refs), func)
    else:
        ctx.add("code", _bytecode_digest(func.__code__))
        _follow_refs(ctx, _refs_of_code(func.__code__), func)
    if declaration is not None:
        ctx.add("declaration", _token_digest(declaration))
    _closure_parts(ctx, func)
    parts = dict(sorted(ctx.parts.items()))
    digest = hash_text(FINGERPRINT_VERSION, *(f"{k}={v}" for k, v in parts.items()))
    return Fingerprint(digest, parts)


def _project_root() -> Path:
    from .project import project_root

    return project_root()


def _fast_source(func: Any) -> str | None:
    """The function's source lines, cut by its code positions (no tokenizing).

    Lines after the last one that produced bytecode (a trailing ``pass``) may be cut;
    they cannot change behaviour, and when the cut text does not parse, the caller
    falls back to ``inspect.getsource``.
    """
    code = getattr(func, "__code__", None)
    if code is None or not hasattr(code, "co_positions"):
        return None
    lines = linecache.getlines(code.co_filename, getattr(func, "__globals__", None))
    if not lines:
        return None
    start = code.co_firstlineno - 1
    end = start + 1
    stack = [code]
    while stack:
        c = stack.pop()
        for pos in c.co_positions():
            if pos[1] is not None and pos[1] > end:
                end = pos[1]
        stack.extend(x for x in c.co_consts if isinstance(x, types.CodeType))
    return "".join(lines[start:end])


def _parse(src: str) -> ast.Module | None:
    try:
        return ast.parse(textwrap.dedent(src))
    except SyntaxError:
        return None


def _function_ast(obj: Any, strip_decorators: bool) -> tuple[ast.AST | None, bool]:
    tree = None
    if isinstance(obj, types.FunctionType) and obj.__name__ != "<lambda>":
        fast = _fast_source(obj)
        if fast is not None:
            tree = _parse(fast)
            if tree is not None and not (
                tree.body and isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef))
            ):
                tree = None
    if tree is None:
        try:
            src = inspect.getsource(obj)
        except (OSError, TypeError):
            _warn_no_source(obj)
            return None, False
        tree = _parse(src)
        if tree is None:
            # e.g. a lambda in the middle of an expression: the fragment does not parse
            _warn_no_source(obj)
            return None, False
    node: ast.AST = tree
    if tree.body and isinstance(
        tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    ):
        node = tree.body[0]
        if strip_decorators and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.decorator_list = []
    return node, True


def _warn_no_source(obj: Any) -> None:
    if isinstance(obj, types.FunctionType):
        warnings.warn(
            f"cannot read the source of {obj.__module__ or '<unknown module>'}.{obj.__qualname__}; its bytecode "
            "is fingerprinted instead (a Python upgrade will re-execute it)",
            FingerprintWarning,
            stacklevel=4,
        )


_DOC_OWNERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)


def _is_docstring(stmt: ast.AST) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _digest_and_refs(node: ast.AST) -> tuple[str, list[tuple[str, ...]]]:
    """In one iterative pass (no recursion limit): the hash of the AST without line
    numbers and docstrings, and the name chains the code reads (``np.linalg.norm`` ->
    ``("np", "linalg", "norm")``)."""
    h = blake3.blake3()
    refs: list[tuple[str, ...]] = []
    inner: set[int] = set()  # Attribute/Name nodes inside a chain already recorded
    stack: list[Any] = [node]
    pop, push, extend, update = stack.pop, stack.append, stack.extend, h.update
    while stack:
        item = pop()
        if isinstance(item, ast.AST):
            t = type(item)
            update(b"(" + t.__name__.encode())
            if t is ast.Name:
                if id(item) not in inner:
                    refs.append((item.id,))  # type: ignore[attr-defined]
            elif t is ast.Attribute and id(item) not in inner:
                chain = [item.attr]  # type: ignore[attr-defined]
                base = item.value  # type: ignore[attr-defined]
                while type(base) is ast.Attribute:
                    inner.add(id(base))
                    chain.append(base.attr)
                    base = base.value
                if type(base) is ast.Name:
                    inner.add(id(base))
                    chain.append(base.id)
                    refs.append(tuple(reversed(chain)))
            push(_CLOSE)
            fields = []
            for name in item._fields:
                if name == "type_comment":
                    continue
                value = getattr(item, name, None)
                if name == "body" and isinstance(item, _DOC_OWNERS) and value and _is_docstring(value[0]):
                    value = value[1:] or [ast.Pass()]
                fields.append(value)
            extend(reversed(fields))
        elif isinstance(item, list):
            update(b"[%d" % len(item))
            extend(reversed(item))
        elif item is _CLOSE:
            update(b")")
        else:
            r = f"{type(item).__name__}:{item!r}".encode("utf-8", "surrogatepass")
            update(len(r).to_bytes(4, "little") + r)
    return h.hexdigest(), refs


_CLOSE = object()


def _bytecode_digest(code: types.CodeType) -> str:
    h = blake3.blake3()
    stack: list[Any] = [code]
    while stack:
        c = stack.pop()
        if isinstance(c, types.CodeType):
            h.update(c.co_code)
            h.update(repr((c.co_names, c.co_varnames, c.co_freevars)).encode())
            for const in c.co_consts:
                stack.append(const)
        else:
            h.update(repr(c).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _refs_of_code(code: types.CodeType) -> Iterator[tuple[str, ...]]:
    stack = [code]
    while stack:
        c = stack.pop()
        for name in c.co_names:
            yield (name,)
        stack.extend(x for x in c.co_consts if isinstance(x, types.CodeType))


def _follow_refs(ctx: _Context, chains: Iterator[tuple[str, ...]], owner: Any) -> None:
    globs: dict[str, Any] = getattr(owner, "__globals__", None) or vars(
        sys.modules.get(getattr(owner, "__module__", ""), types.ModuleType("_"))
    )
    owner_file = _file_of(owner)
    done: set[tuple[str, ...]] = set()
    for chain in chains:
        if chain in done:
            continue
        done.add(chain)
        head = chain[0]
        if head in globs:
            obj = globs[head]
        elif head in _BUILTINS:
            continue
        else:
            continue  # a local variable, or a name bound at run time
        name = head
        for attr in chain[1:]:
            if not isinstance(obj, types.ModuleType):
                break
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                break
            name = f"{name}.{attr}"
        _visit(ctx, name, obj, owner_file)


def _closure_parts(ctx: _Context, func: Any) -> None:
    code = getattr(func, "__code__", None)
    cells = getattr(func, "__closure__", None)
    if code is None or not cells:
        return
    for name, cell in zip(code.co_freevars, cells, strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # empty cell
            continue
        if isinstance(value, (types.FunctionType, type, types.ModuleType)) or _is_step(value):
            _visit(ctx, name, value, _file_of(func))
        else:
            ctx.add(f"closure {name}", _token_digest(value))


def _is_step(obj: Any) -> bool:
    from .step import Step

    return isinstance(obj, Step)


def _visit(ctx: _Context, name: str, obj: Any, owner_file: str | None) -> None:
    if _is_step(obj):
        obj = obj.func
    if isinstance(obj, types.ModuleType):
        if not _is_own_file(ctx, getattr(obj, "__file__", None)):
            _library_part(ctx, obj.__name__)
        return
    if isinstance(obj, (types.FunctionType, type)):
        module = getattr(obj, "__module__", None) or ""
        file = _file_of(obj)
        if not _is_own(ctx, obj, file):
            _library_part(ctx, module)
            return
        if id(obj) in ctx.seen:
            return
        ctx.seen.add(id(obj))
        key = f"helper {_rel(ctx, file)}:{getattr(obj, '__qualname__', name)}"
        if isinstance(obj, type):
            tree, _ = _function_ast(obj, strip_decorators=False)
            if tree is None:
                ctx.add(key, _token_digest(sorted(vars(obj))))
                return
            digest, refs = _digest_and_refs(tree)
            ctx.add(key, digest)
            _follow_refs(ctx, iter(refs), sys.modules.get(module, obj))
            return
        tree, _ = _function_ast(obj, strip_decorators=False)
        if tree is None:
            ctx.add(key, _bytecode_digest(obj.__code__))
            _follow_refs(ctx, _refs_of_code(obj.__code__), obj)
        else:
            digest, refs = _digest_and_refs(tree)
            ctx.add(key, digest)
            _follow_refs(ctx, iter(refs), obj)
        _closure_parts(ctx, obj)
        return
    if isinstance(obj, (types.BuiltinFunctionType, types.MethodType, types.MethodWrapperType)):
        module = getattr(obj, "__module__", None) or type(obj).__module__
        _library_part(ctx, module or "builtins")
        return
    if isinstance(obj, functools.partial):
        _visit(ctx, f"{name}.func", obj.func, owner_file)
        ctx.add(f"constant {_rel(ctx, owner_file)}:{name}", _token_digest((obj.args, obj.keywords)))
        return
    # data: a module-level constant (or a global object) the code reads
    ctx.add(f"constant {_rel(ctx, owner_file)}:{name}", _token_digest(obj))
    cls = type(obj)
    if cls.__module__ not in ("builtins",) and _is_own(ctx, cls, _file_of(cls)):
        # an instance of the user's own class: its methods are code the step may call
        _visit(ctx, cls.__qualname__, cls, owner_file)


def _file_of(obj: Any) -> str | None:
    try:
        f = inspect.getsourcefile(obj) if not isinstance(obj, types.ModuleType) else obj.__file__
        return f or None
    except TypeError:
        mod = sys.modules.get(getattr(obj, "__module__", "") or "")
        return getattr(mod, "__file__", None)


def _is_own(ctx: _Context, obj: Any, file: str | None) -> bool:
    module = getattr(obj, "__module__", None) or ""
    if file is None:
        # no file: defined interactively (notebook, exec) -> the user's own code
        return module in ("__main__", "") or module not in sys.modules or not hasattr(
            sys.modules[module], "__file__"
        )
    return _is_own_file(ctx, file) and module.split(".")[0] != "flowyml"


_own_cache: dict[tuple[str, str], bool] = {}


def _is_own_file(ctx: _Context, file: str | None) -> bool:
    if not file:
        return False
    key = (str(ctx.root), file)
    hit = _own_cache.get(key)
    if hit is not None:
        return hit
    try:
        p = Path(file).resolve()
        own = p.is_relative_to(ctx.root.resolve()) and not any(
            part in ("site-packages", "dist-packages") for part in p.parts
        )
    except (OSError, ValueError):
        own = False
    _own_cache[key] = own
    return own


def _rel(ctx: _Context, file: str | None) -> str:
    if not file:
        return "<interactive>"
    try:
        return Path(file).resolve().relative_to(ctx.root.resolve()).as_posix()
    except (ValueError, OSError):
        return Path(file).name


_versions: dict[str, str] = {}


def _library_part(ctx: _Context, module: str) -> None:
    top = module.split(".")[0] or "builtins"
    if top in sys.stdlib_module_names or top == "builtins":
        ctx.add("library python", f"{sys.version_info.major}.{sys.version_info.minor}")
        return
    ctx.add(f"library {top}", library_version(top))


def library_version(top: str) -> str:
    """Installed version of the distribution that provides the top-level module ``top``."""
    v = _versions.get(top)
    if v is not None:
        return v
    mod = sys.modules.get(top)
    ver = getattr(mod, "__version__", None)
    if not isinstance(ver, str):
        from importlib import metadata

        try:
            dists = metadata.packages_distributions().get(top) or [top]
            ver = metadata.version(dists[0])
        except Exception:
            ver = "unknown"
    _versions[top] = ver
    return ver


# --------------------------------------------------------------------------- values


def _token_digest(value: Any) -> str:
    h = blake3.blake3()
    _token(value, h, 0)
    return h.hexdigest()


def value_token(value: Any) -> str:
    """A stable digest of a run value or constant (for the cache key)."""
    return _token_digest(value)


def _token(v: Any, h: Any, depth: int) -> None:
    t = type(v)
    if v is None or t in (bool, int, float, complex, str, bytes):
        r = f"{t.__name__}:{v!r}".encode("utf-8", "surrogatepass")
        h.update(len(r).to_bytes(8, "little") + r)
        return
    if depth > 40:
        _pickle_token(v, h)
        return
    if t in (list, tuple):
        h.update(f"{t.__name__}[{len(v)}".encode())
        for x in v:
            _token(x, h, depth + 1)
        h.update(b"]")
        return
    if t is dict:
        h.update(f"dict[{len(v)}".encode())
        for k, x in v.items():
            _token(k, h, depth + 1)
            _token(x, h, depth + 1)
        h.update(b"]")
        return
    if t in (set, frozenset):
        items = sorted(_token_digest(x) for x in v)
        h.update(f"{t.__name__}{items}".encode())
        return
    if isinstance(v, enum.Enum):
        h.update(f"enum:{t.__module__}.{t.__qualname__}.{v.name}".encode())
        return
    if t.__module__.split(".")[0] == "numpy" and hasattr(v, "tobytes") and hasattr(v, "dtype"):
        h.update(f"ndarray:{v.dtype.str}:{getattr(v, 'shape', ())}".encode())
        h.update(v.tobytes())
        return
    if isinstance(v, os.PathLike):
        h.update(f"path:{os.fspath(v)}".encode())
        return
    _pickle_token(v, h)


def _pickle_token(v: Any, h: Any) -> None:
    try:
        data = pickle.dumps(v, protocol=5)
    except Exception:
        warnings.warn(
            f"cannot fingerprint a value of type {type(v).__qualname__}; only its type counts "
            "in the cache key, so changing it will not re-execute the step",
            FingerprintWarning,
            stacklevel=3,
        )
        h.update(f"type:{type(v).__module__}.{type(v).__qualname__}".encode())
        return
    h.update(b"pickle:" + data)


def short_repr(value: Any, limit: int = 60) -> str:
    """A short display form of a parameter value for reason sentences."""
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 3] + "..."
