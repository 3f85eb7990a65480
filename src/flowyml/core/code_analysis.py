"""What a function's source text says, found by parsing it: the normalized digest
(comments, docstrings and formatting do not count), the names and attribute chains the
code reaches, its imports, the names it mutates; the checks that the text is the code
that runs; the normalized source shown in a run's records.

Only a fingerprint memo miss (code not seen before) needs this module: ``fingerprint``
imports it where it is used, so a fully cached run never loads it.
"""

from __future__ import annotations

import ast
import builtins
import dis
import inspect
import operator
import re
import sys
import threading
import types
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, NamedTuple

from .code_text import (
    ATTR_SETTERS,
    CODE_FLAGS,
    IMPORTED,
    MUTATORS,
    NAMESPACE,
    ORDERED_MUTATORS,
    QUERY_MADE_ELSEWHERE,
    RESULT,
    SET_ITEM,
    SHALLOW_COPIES,
    SHAPE_SCALARS,
    TAKERS,
    UPDATED,
    CodeInfo,
    FingerprintWarning,
    chain_of,
    code_shape,
    code_span,
    code_tree,
    context_codes,
    file_lines,
    file_trees,
    function_node,
    getattr_literal,
    is_flowyml,
    is_pick,
    iterated_argument,
    name_of,
    parse_text,
    resolve_chain,
    stale_files,
    target_names,
)
from .hashing import hash_bytes, hash_text
from .userframe import outside_stacklevel

_QUEUE_TAKERS = frozenset({"get", "get_nowait"})  # of a queue's only (``_marks_of``)


_ARGUMENT_MUTATORS = frozenset(  # functions that change their first argument
    ["shuffle", "copyto", "put", "place", "putmask", "fill_diagonal", "heappush", "heappop",
     "setitem", "delitem",  # ``operator``'s
     "heapify", "heapreplace", "heappushpop", "insort", "insort_left", "insort_right"]
)


# of those, the ones whose name says so given an attribute (``heapq.heappush(self.heap,
# x)``); not ``put``: ``self.queue.put(self.item)`` changes the queue, not the item
_ATTRIBUTE_MUTATORS = _ARGUMENT_MUTATORS - {"put"}


GLOBAL_OPS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"})


def render_tree(shared: ast.AST | None, decorators: bool, stubs: bool,
                 docstrings: bool = True) -> str:
    """``shared`` unparsed, as the digest saw it; ``docstrings=False`` says the tree
    holds none (``_Scanner.docstrings``), so it is not searched for them."""
    if shared is None:
        return "<source not available>"
    # the tree is shared (cached per code object): it is cut down in place, under a
    # lock, and put back as it was (copying it cost twice as much as unparsing it)
    cut: _Cut = []
    with _TREE_LOCK:
        try:
            if not decorators and isinstance(shared, (ast.FunctionDef, ast.AsyncFunctionDef)):
                _cut_field(cut, shared, "decorator_list", [])
            for owner in ast.walk(shared) if docstrings else ():
                if isinstance(owner, _DOC_OWNERS) and owner.body and _is_docstring(owner.body[0]):
                    _cut_field(cut, owner, "body", owner.body[1:] or [ast.Pass()])
            if stubs and isinstance(shared, ast.ClassDef):
                for stmt in shared.body:
                    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        _cut_field(cut, stmt, "body", [ast.Expr(ast.Constant(...))])
            return ast.unparse(shared)
        finally:
            _put_back(cut)


_TREE_LOCK = threading.RLock()  # held while a shared tree is changed (and put back)


_Cut = list[tuple[ast.AST, str, Any]]  # fields of a shared tree changed, with their values


def _cut_field(cut: _Cut, owner: ast.AST, attr: str, value: Any) -> None:
    """Set a field of a shared tree (under ``_TREE_LOCK``), kept in ``cut`` to put back."""
    cut.append((owner, attr, getattr(owner, attr)))
    setattr(owner, attr, value)


def _put_back(cut: _Cut) -> None:
    """Undo ``_cut_field``s, the last first: the shared tree as it was."""
    for owner, attr, value in reversed(cut):
        setattr(owner, attr, value)


def stale_info(fn: types.FunctionType, names: frozenset[str]) -> CodeInfo:
    """Facts of the bytecode that runs, for a function whose text does not show it.

    A module whose loader rewrites code on import (pytest's assertion rewriting of test
    files, an instrumenting import hook) gets here on every build, with nothing for the
    user to fix: only a module loaded from its file as it is is warned about. So is only
    a function this process made by running that module: one that came by value from
    another process (a worker's copy of a step the driver defined in a function) was
    checked there, against the module that process loaded, and here the module (if any)
    is not where its code came from."""
    filename = fn.__code__.co_filename
    mod = sys.modules.get(getattr(fn, "__module__", None) or "")
    if (filename not in stale_files  # once per file per build
            and getattr(mod, "__dict__", None) is fn.__globals__
            and not _loader_rewrites(mod)):
        stale_files.add(filename)
        broken = filename in context_codes and context_codes[filename] is None
        why = ("the file, as saved now, does not even compile" if broken else
               "an edit without a reload, or a stale bytecode cache")
        warnings.warn(
            f"{filename} changed after its module {getattr(mod, '__name__', '?')} was "
            f"loaded: {fn.__qualname__} (and any other function of it so affected) runs "
            f"code its text no longer shows ({why}), so the bytecode that runs is "
            "fingerprinted instead, and no result made from the file's text is reused. "
            "Restart the process, or reload the module",
            FingerprintWarning, stacklevel=outside_stacklevel(),
        )
    return CodeInfo(bytecode_digest(fn.__code__), [(n,) for n in sorted(names)], names,
                 [], [], False, [], None)


def _loader_rewrites(mod: types.ModuleType | None) -> bool:
    """Whether ``mod`` was loaded by something other than Python's own file loaders
    (which compile the file's text as it is)."""
    import importlib.machinery as machinery

    spec = getattr(mod, "__spec__", None)
    loader = getattr(spec, "loader", None) or getattr(mod, "__loader__", None)
    return loader is not None and not isinstance(
        loader, (machinery.SourceFileLoader, machinery.SourcelessFileLoader))


def compiles_to(fn: types.FunctionType, info: CodeInfo, shape: str) -> bool:
    """Whether the text ``info`` was read from compiles to the code that runs. First the
    function's own text, compiled alone (a module-level function); then, for what
    compiles differently out of its context (a closure, a method using ``super()`` or a
    private name), the whole file, where the function must sit at the same lines."""
    code = fn.__code__
    if info.source is not None:
        module = _compile_own_text(info, code.co_filename)
        if module is not None and any(
                type(c) is types.CodeType and c.co_name == code.co_name and _same_shape(c, code)
                for c in module.co_consts):
            return True
    span = code_span(code) if info.source is not None else None
    for c in _codes_in_context(fn).get((_co_qualname(code), code.co_firstlineno), ()):
        if code_shape(c) == shape and (span is None or code_span(c) == span):
            return True
    return False


def _same_shape(a: types.CodeType, b: types.CodeType) -> bool:
    """Whether ``code_shape`` would say the same of ``a`` and ``b``, read side by side
    rather than hashed (the compile check's freshly compiled code: its shape was hashed
    for nothing but this comparison). Stricter than comparing digests, never looser:
    what it calls equal serializes to the same bytes."""
    pairs: list[tuple[Any, Any]] = [(a, b)]
    for x, y in pairs:  # grows while it is walked
        t = type(x)
        if type(y) is not t:
            return False
        if t is types.CodeType:
            if (x.co_code != y.co_code or x.co_name != y.co_name or x.co_names != y.co_names
                    or x.co_varnames != y.co_varnames or x.co_freevars != y.co_freevars
                    or x.co_cellvars != y.co_cellvars or x.co_argcount != y.co_argcount
                    or x.co_posonlyargcount != y.co_posonlyargcount
                    or x.co_kwonlyargcount != y.co_kwonlyargcount
                    or (x.co_flags ^ y.co_flags) & CODE_FLAGS
                    or len(x.co_consts) != len(y.co_consts)):
                return False
            pairs.extend(zip(x.co_consts, y.co_consts, strict=True))
        elif t is tuple:
            if len(x) != len(y):
                return False
            pairs.extend(zip(x, y, strict=True))
        elif t in SHAPE_SCALARS:  # of one type, equal exactly when their reprs are
            if x != y:
                return False
        elif (sorted(repr(i) for i in x) != sorted(repr(i) for i in y) if t is frozenset
              else repr(x) != repr(y)):
            return False
    return True


def _compile_own_text(info: CodeInfo, filename: str) -> types.CodeType | None:
    """``info.source`` compiled alone: from the tree just parsed from it when there is
    one (the same code, without parsing the text again), else from the text itself (a
    tree too deep for the compiler's own limit, too)."""
    tree = info.parsed
    if isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
        try:
            with _TREE_LOCK:  # the tree may be shared: cut down in place elsewhere
                cut: _Cut = []
                try:
                    _cut_enclosing(tree, cut)
                    return compile(ast.Module(body=[tree], type_ignores=[]), filename,
                                   "exec", dont_inherit=True)
                finally:
                    _put_back(cut)
        except (SyntaxError, ValueError, TypeError, AttributeError, RecursionError,
                MemoryError):
            pass
    assert info.source is not None
    text = info.source
    if text[:1] in (" ", "\t"):  # indented: as ``parse_text`` reads it, each string as it is
        text = "if 1:\n" + text
    try:  # the text: no recursion limit on deep generated code
        return compile(text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _cut_enclosing(tree: ast.FunctionDef | ast.AsyncFunctionDef, cut: _Cut) -> None:
    """Take out of a function's tree, for the compile check, what is evaluated in the
    enclosing scope and so is no part of the function's own code object: its
    decorators (~30% of the compile of a small step) and its signature's annotations
    (~15% more: passed to the function when it is made, like its defaults). Each field
    changed goes into ``cut`` (``_cut_field``), for the caller to put back."""
    _cut_field(cut, tree, "decorator_list", [])
    if tree.returns is not None:
        _cut_field(cut, tree, "returns", None)
    a = tree.args
    for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
        if arg is not None and arg.annotation is not None:
            _cut_field(cut, arg, "annotation", None)


def relocated_text(fn: types.FunctionType, shape: str) -> str | None:
    """The file's text of ``fn`` when its code object says the wrong lines: the one
    function of that name in the file whose code has the same shape. IPython's
    ``%autoreload`` patches a function with code compiled from its text alone, which
    starts at line 1; the file, as a fresh process imports it, has it further down. A
    method it compiles alone in a class of its own (``__autoreload_class__.score``,
    IPython 9): the function's own qualified name says which it is."""
    qual = _co_qualname(fn.__code__)
    if qual.startswith(_AUTORELOAD_CLASS):
        qual = fn.__qualname__
    found = [c for (q, _), codes in _codes_in_context(fn).items() if q == qual
             for c in codes if code_shape(c) == shape]
    if len(found) != 1:
        return None
    first, end = code_span(found[0])
    return "".join(file_lines(fn, fn.__code__.co_filename)[first - 1:end]) or None


_AUTORELOAD_CLASS = "__autoreload_class__."  # (IPython's ``deduperreload``)


def _co_qualname(code: types.CodeType) -> str:
    return str(getattr(code, "co_qualname", code.co_name))  # co_qualname: Python 3.11+


def _codes_in_context(fn: types.FunctionType) -> dict[tuple[str, int], list[types.CodeType]]:
    """Every code object compiled from ``fn``'s file as ``linecache`` has it now, by
    (qualified name, first line): once per file per build."""
    filename = fn.__code__.co_filename
    if filename not in context_codes:
        out: dict[tuple[str, int], list[types.CodeType]] | None = None
        try:
            module = compile("".join(file_lines(fn, filename)), filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
        else:
            out = {}
            for c in code_tree(module):
                out.setdefault((_co_qualname(c), c.co_firstlineno), []).append(c)
        context_codes[filename] = out
    return context_codes[filename] or {}


def compute_info(fn: types.FunctionType, strip_decorators: bool, names: frozenset[str],
                  text: str | None) -> CodeInfo:
    tree = function_node(parse_text(text)) if text is not None else None
    source = text if tree is not None else None
    if tree is None:
        tree = _function_ast(fn)
    if tree is None:
        chains: list[tuple[str, ...]] = [(n,) for n in sorted(names)]
        return CodeInfo(bytecode_digest(fn.__code__), chains, names, [], [], False, [], None)
    decorators: list[ast.expr] = []
    scan = _Scanner()
    with _TREE_LOCK:  # the tree may be shared (a lambda's statement): changed, put back
        if isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
            decorators = list(tree.decorator_list)
            if strip_decorators:
                tree.decorator_list = []
        try:
            digest, chains = digest_and_refs(tree, scan)
        finally:
            if strip_decorators and decorators:
                tree.decorator_list = decorators  # type: ignore[attr-defined]
    texts: list[tuple[str | None, tuple[str, ...] | None]] = []
    for node in decorators:
        chain = chain_of(node.func if isinstance(node, ast.Call) else node)
        # ``@step(...)`` is the declaration, not code: its text is rendered only if
        # another process finds another object under its name (``_decorator_texts``)
        own = is_flowyml(resolve_chain(chain, fn.__globals__) if chain else None)
        texts.append((None if own else ast.unparse(node), chain))
    if scan.at_names:  # names a string makes the library read (see _Scanner._call)
        at_names = set(scan.at_names)
        if QUERY_MADE_ELSEWHERE in at_names:
            # a string built before the call: the names of the function's own string
            # literals (``cond = "x > @LIMIT"``) count; with none, the whole module does
            # (``_follow``: a helper's string, a global's)
            found = {n for c in _string_constants(fn.__code__) if "@" in c
                     for n in _AT_NAME.findall(c)}
            if found:
                at_names = (at_names - {QUERY_MADE_ELSEWHERE}) | found
        chains = [*chains, *((n,) for n in sorted(at_names) if n != QUERY_MADE_ELSEWHERE)]
        names = names | at_names
    if isinstance(tree, ast.Lambda):  # (its body is what it returns)
        scan._returned(tree.body)
    if scan.result_changes:
        scan.results_taken |= results_reading(tree, scan.result_changes, scan.result_locals)
    # (only code calling a method on a call's result may read back what it changed)
    result_reads = scan.result_reads(tree) if scan.results else ()
    taken, mutated = scan.taken, scan.mutated
    if scan.ordered:  # (a local list's appends are most of them: only a global's, or a
        # closure cell's, can be another step's)
        free = fn.__code__.co_freevars  # (a closure's: ``items.append(v); sum(items)``)
        ordered = {n: c for n, c in scan.ordered.items()
                   if n in names or n in scan.nonlocals or n in free}
        if ordered:
            taken = taken | reading_writers(tree, ordered)
    for c in chains:  # ``map(LOG.append, xs)``: a mutating method passed on, not called;
        # ``[m]``: a change only if the build finds a method there (``CFG.seed`` is data)
        if 1 < len(c) < 4 and c[-1] in MUTATORS and c not in scan.called:
            mutated = mutated | {".".join(c) + "[m]"}
    return CodeInfo(digest, chains, names, scan.imports, scan.getattrs, scan.dynamic, texts,
                 tree, source, frozenset(mutated), docstrings=scan.docstrings,
                 taken=frozenset(taken), rebound=frozenset(scan.rebound),
                 passed=_passed_on(scan, names, fn) if scan.passed else (),
                 assigned=frozenset(scan.assigned), results=frozenset(scan.results),
                 returned=frozenset(scan.returned), results_taken=frozenset(scan.results_taken),
                 ordered=frozenset(scan.ordered), result_reads=frozenset(result_reads))


_NOTHING: frozenset[str] = frozenset()
# calls whose result is (a view of) their argument's value, or yields its items
_ITEM_VIEWS = frozenset({"enumerate", "reversed", "iter", "vars", "next"})
_ITEM_LISTS = frozenset({"sorted", "list", "tuple", "filter"})  # the items, in iteration
_BUILTIN_TYPES = frozenset({"dict", "list", "set", "bytearray"})
# values that are never (a part of) another name's: a constant, a literal, an operation
_OWN_VALUES = frozenset({ast.Constant, ast.List, ast.Dict, ast.Set, ast.ListComp,
                         ast.DictComp, ast.SetComp, ast.GeneratorExp, ast.JoinedStr,
                         ast.BinOp, ast.UnaryOp, ast.Compare, ast.Lambda})
_BUILTIN_NAMES = frozenset(dir(builtins))
_COMPREHENSIONS = frozenset({ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp})


def _passed_on(scan: _Scanner, names: frozenset[str], fn: types.FunctionType
               ) -> tuple[tuple[tuple[str, ...], int | str, str], ...]:
    """``scan.passed`` for the globals and the function's parameters (a helper given a
    parameter changes what the caller gave: ``fingerprint._changes_parameter``), each
    given to a function that may be the user's (not a builtin: ``len(x)``)."""
    code = fn.__code__
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    out = []
    for f, where, name in scan.passed:
        if name == "super()":  # (``super().log(v)``: the method's first parameter)
            if params and type(f) is tuple:
                out.append((f, where, params[0]))
            continue
        base = name_of(name)  # (``X[k]``: an item of ``X``, given whole)
        if name.startswith(RESULT):  # (``()get_app().opts``: the function called)
            base = name[len(RESULT):].partition(".")[0].partition("(")[0]
        if base in names or base in params:
            callee = f if type(f) is tuple else chain_of(f)
            if callee is not None and callee[0] not in _BUILTIN_NAMES:
                out.append((callee, where, name))
    return tuple(out)



def _getattr_chain(node: ast.Call) -> tuple[str, ...] | None:
    """``getattr(APP, "tracker")``: the chain it reads, ``APP.tracker`` (a literal name)."""
    got = getattr_literal(node)
    base = chain_of(got[0]) if got is not None else None
    return None if base is None or got is None else (*base, got[1])


def _is_own_namespace(node: ast.AST) -> bool:
    """``globals()``: the calling module's namespace (a change of it rebinds globals)."""
    return type(node) is ast.Call and chain_of(node.func) == ("globals",) and not (
        node.args or node.keywords)


def _is_own_module(node: ast.AST) -> bool:
    """``sys.modules[__name__]``: the function's own module."""
    return type(node) is ast.Subscript and chain_of(node.value) == ("sys", "modules") and (
        type(node.slice) is ast.Name and node.slice.id == "__name__")


def _call_base(node: ast.AST) -> str | None:
    """The function (dotted) whose call's result ``node`` is a part of: ``get_cfg`` for
    ``get_cfg()["m"]`` or ``get_cfg().get("m")``, ``config.load`` for
    ``config.load().opts``; None for no call, or a builtin's (a new object: ``dict(x)``)."""
    while True:
        t = type(node)
        if t is ast.Subscript or t is ast.Attribute:
            node = node.value  # type: ignore[attr-defined]
        elif t is ast.Call:
            f = node.func  # type: ignore[attr-defined]
            if type(f) is ast.Attribute and f.attr in _VIEWS:
                node = f.value
                continue
            got = getattr_literal(node)  # type: ignore[arg-type]
            if got is not None:  # ``getattr(get_app(), "tracker")``
                node = got[0]
                continue
            chain = chain_of(f)
            if chain is None or chain[0] in _BUILTIN_NAMES:
                return None
            return ".".join(chain)
        elif t is ast.BoolOp or t is ast.IfExp:  # ``config() or {}``
            options = node.values if t is ast.BoolOp else [node.body, node.orelse]  # type: ignore[attr-defined]
            return next((b for b in map(_call_base, options) if b is not None), None)
        else:
            return None


def _result_part(node: ast.AST) -> tuple[ast.Call | ast.Name, str] | None:
    """``get_app().trackers["a"]``, ``get_app().trackers.get("a")``,
    ``get_app().trackers.values()`` (an item of it), ``get_app().tracker``: the call and
    the path of the part of its result (``.trackers[k]``, ``.tracker``), when that path
    starts with an attribute (an item of the result itself is ``chain[k]``)."""
    t = type(node)
    if t is not ast.Attribute and t is not ast.Subscript and t is not ast.Call:
        return None  # (most returned and bound values: a name, a constant, an operation)
    parts: list[str] = []
    item = False
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr + ("[k]" if item else ""))
            node, item = node.value, False
        elif isinstance(node, ast.Call) and (got := getattr_literal(node)) is not None:
            parts.append(got[1] + ("[k]" if item else ""))  # ``getattr(get_app(), "t")``
            node, item = got[0], False
        elif _method_of_result(node, item, parts):  # ``get_app().get_tracker()``: what a
            parts.append(node.func.attr + "()" + ("[k]" if item else ""))  # type: ignore[attr-defined]
            node, item = node.func.value, False  # type: ignore[attr-defined]
            # method of the result hands out (the last through a local bound to a call's
            # result: ``h = get_app(); h.box.get_model()``; not ``self.get_app()``, a
            # call's own base), an item of it: ``get_app().get_models()[0]``
        elif isinstance(node, ast.Subscript) and not item and not _is_slice(node.slice) and (
                _attribute_like(node.value) or _method_of_result(node.value, False, parts)):
            node, item = node.value, True
        elif isinstance(node, ast.Subscript) and not item and not _is_slice(node.slice) and (
                isinstance(node.value, ast.Name)) and not parts:  # ``trs["a"]``: an item of
            return node.value, "[k]"  # what a local alias stands for
        elif isinstance(node, ast.Call) and not item and not parts and isinstance(
                node.func, ast.Attribute) and node.func.attr in _ITEM_VIEW_CALLS and (
                _attribute_like(node.func.value)):
            node, item = node.func.value, True
        else:
            break
    if not isinstance(node, (ast.Call, ast.Name)) or not parts or item:
        return None  # (a name: of a local bound to a call's result, ``app.trackers["a"]``)
    return node, "".join("." + p for p in reversed(parts))


def _method_of_result(node: ast.AST, item: bool, parts: list[str]) -> bool:
    """Whether ``node`` calls a method of a call's result (``get_app().get_tracker()``;
    through a local bound to one, as the last part of a path: ``h.get_model()``), in a
    path ``_result_part`` walks; for an item of what it hands out (``item``), of a
    call's result only."""
    if type(node) is not ast.Call or type(node.func) is not ast.Attribute or (
            node.func.attr in _VIEWS):
        return False
    under = _call_under(node.func)
    return type(under) is ast.Call or (not parts and not item and type(under) is ast.Name)


def _attribute_like(node: ast.expr) -> bool:
    """``x.a`` or ``getattr(x, "a")``."""
    return type(node) is ast.Attribute or (type(node) is ast.Call and getattr_literal(
        node) is not None)


def _call_under(node: ast.expr) -> ast.expr:
    """What a chain of attributes and items starts from (``get_app()`` for
    ``get_app().trackers["a"].log``)."""
    while type(node) is ast.Attribute or type(node) is ast.Subscript:
        node = node.value
    return node


def item_part(index: ast.AST, consts: Mapping[str, str] | None = None) -> str:
    """A path's part for an item (``own_uses``): ``[]``, any of them; ``['lr']``, ``[0]``,
    the one a constant key names (a string, a number: either path ``within`` the other
    then only for the same key, or for ``[]``), or a parameter the caller gave one
    (``consts``: parameter -> part)."""
    if type(index) is ast.Constant and type(index.value) in (str, int):
        return f"[{index.value!r}]"
    if consts and type(index) is ast.Name and index.id in consts:
        return consts[index.id]
    return "[]"


def _key_test(node: Any, container: ast.AST) -> bool:
    """Whether ``node`` is ``k in container`` (or ``not in``): a read of that item's
    presence, not of the whole (a memo's test; by a constant key, that item's)."""
    return (type(node) is ast.Compare and len(node.ops) == 1
            and type(node.ops[0]) in (ast.In, ast.NotIn) and node.comparators[0] is container)


def _is_slice(index: ast.AST) -> bool:
    """``X[a:b]``, ``X[:, :2]``: a copy of a list, a view of an array."""
    return type(index) is ast.Slice or (type(index) is ast.Tuple and any(
        type(e) is ast.Slice for e in index.elts))


# methods whose result is (a part of) their object's value: a name bound to it is an alias
_VIEWS = frozenset({"items", "values", "keys", "get", "setdefault", "__getitem__"})
_ITEM_VIEW_CALLS = _VIEWS - {"keys"}  # the views an item's object comes out of


def _root_name(node: ast.AST, views: bool = False, dotted: bool = False,
               slices: bool = True, items: bool = False, kinds: bool = False) -> str | None:
    """The name ``node`` reads a part of: ``X``, ``X.a``, ``X[k].b``; with ``views``,
    also ``X.items()``, ``X.get(k)``, ``enumerate(X)``, ``vars(X)``; with ``dotted``,
    ``X.a`` for what is read through ``X``'s attribute ``a`` (``S.PARAMS["k"]``: a
    module's global, an attribute of a class or an object); ``slices=False``: None
    through a slice (``COLS[:]``: a list's copy; a numpy view is taken for one too);
    ``items``: what iterating yields the items of (``sorted(X)``, ``list(X)``, ``zip(X)``'s
    first: the same objects); ``kinds``: ``[k]`` after the name when the part is an item
    (by a constant key, a view, an iteration), ``[*]`` when by a computed key
    (``X[mask]``, ``X[cols]``: a copy when ``X`` is a frame or an array), for the build
    to tell by the value (``fingerprint._counts_as_change``). With ``items``, the items
    of a slice are those of what it is cut from (``for layer in NET.layers[:-1]``: the
    same objects, a list's copy holding them, an array's view)."""
    attr: str | None = None
    kind = ""
    iterated = items  # (what the loop goes over: its items are the part's)
    while True:
        t = type(node)
        if t is ast.Name:
            name: str = node.id  # type: ignore[attr-defined]
            found = f"{name}.{attr}" if dotted and attr else name
            return f"{found}[{kind}]" if kinds and kind else found
        if t is ast.Attribute or t is ast.Subscript:
            if t is ast.Subscript:
                index = node.slice  # type: ignore[attr-defined]
                if iterated and type(index) is ast.Slice:
                    node = node.value  # type: ignore[attr-defined]
                    continue
                if not slices and _is_slice(index):
                    return None
                if kind != "*":
                    kind = "k" if _constant_key(index) else "*"
            attr = node.attr if t is ast.Attribute else None  # type: ignore[attr-defined]
            # an item of ``sorted(X)``, ``list(X)`` is one of ``X``'s (``sorted(X)[0]``)
            node, iterated = node.value, t is ast.Subscript  # type: ignore[attr-defined]
        elif views and t is ast.Call:
            f = node.func  # type: ignore[attr-defined]
            got = getattr_literal(node)  # type: ignore[arg-type]
            if got is not None:
                node, attr = got  # ``getattr(X, "a")``: ``X.a``
            elif type(f) is ast.Attribute and f.attr in _VIEWS:
                node, attr, kind = f.value, None, kind or "k"
            elif type(f) is ast.Name and node.args and (  # type: ignore[attr-defined]
                    f.id in _ITEM_VIEWS or ((items or iterated) and f.id in _ITEM_LISTS)
                    or is_pick(node)):  # type: ignore[arg-type]
                node, attr = iterated_argument(node), None  # type: ignore[arg-type]
                kind = kind if f.id == "vars" else kind or "k"
            else:
                return None
        elif views and (t is ast.BoolOp or t is ast.IfExp):  # ``X.get("o") or {}``
            options = node.values if t is ast.BoolOp else [node.body, node.orelse]  # type: ignore[attr-defined]
            for option in options:
                hit = _root_name(option, views, dotted, slices, items, kinds)
                if hit is not None:
                    return hit
            return None
        else:
            return None


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _keyed_item(node: ast.AST) -> tuple[str, str] | None:
    """``X["name"]``, ``X[0]``: the name and the key as ``CodeInfo.mutated`` spells it
    (``'name'``, ``0``: an identifier or a non-negative integer, nothing that needs
    quoting); None for anything else."""
    if type(node) is not ast.Subscript or type(node.value) is not ast.Name:
        return None
    index = node.slice
    if type(index) is not ast.Constant:
        return None
    key = index.value
    if type(key) is str and _KEY.fullmatch(key):
        return node.value.id, repr(key)
    if type(key) is int and key >= 0:
        return node.value.id, str(key)
    return None


def _constant_key(index: ast.AST) -> bool:
    """``X["a"]``, ``X[0]``, ``X[0, 1]``: an item by a key the code spells out."""
    return type(index) is ast.Constant or (type(index) is ast.Tuple and all(
        type(e) is ast.Constant for e in index.elts))


def reading_writers(tree: ast.AST, ordered: dict[str, int]) -> set[str]:
    """The names of ``ordered`` (``_Scanner.ordered``) the code also reads elsewhere
    than where it changes them: ``global N; N += 1; return N``, ``LOG.append(x)`` then
    ``len(LOG)``, ``X.remove(X[0])``. What it computes then depends on what the other
    steps did to them before it, as for an item it takes out (``CodeInfo.taken``); a
    change alone (a counter, a log) computes nothing from them."""
    seen = dict.fromkeys(ordered, 0)
    for node in ast.walk(tree):
        if type(node) is ast.Name and node.id in seen:
            seen[node.id] += 1
    return {n for n, count in seen.items() if count > ordered[n]}


def called_items(tree: ast.AST, names: frozenset[str]
                 ) -> list[tuple[str, tuple[Any, ...], str]]:
    """The calls of the globals ``names`` (or of items of them) in ``tree``, each as the
    global, the literal keys down to what is called, and how much of it is called:
    ``ON(v)`` -> ``("ON", (), "exact")``; ``HANDLERS["reg"](v)`` -> ``("HANDLERS",
    ("reg",), "exact")``, ``HANDLERS.get("reg")(v)`` too; ``COMMANDS[name](v)`` ->
    ``("COMMANDS", (), "any")`` (any one item); ``for h in HOOKS: h(v)`` (also over
    ``.values()``) -> ``("HOOKS", (), "each")``; one by literal keys: ``"exact"``."""
    looped: dict[str, str] = {}  # a loop's variable -> the global it goes over
    for node in ast.walk(tree):
        if type(node) in (ast.For, ast.AsyncFor, ast.comprehension):
            over = node.iter  # type: ignore[attr-defined]
            if type(over) is ast.Call and type(over.func) is ast.Attribute and (
                    over.func.attr == "values") and not over.args:
                over = over.func.value
            if type(node.target) is ast.Name and type(over) is ast.Name and (  # type: ignore[attr-defined]
                    over.id in names):
                looped[node.target.id] = over.id  # type: ignore[attr-defined]
    out: list[tuple[str, tuple[Any, ...], str]] = []
    for node in ast.walk(tree):
        if type(node) is not ast.Call:
            continue
        f: Any = node.func
        keys: list[Any] = []
        exact = True
        while True:
            if type(f) is ast.Subscript:
                index = f.slice
                if type(index) is ast.Constant and exact:
                    keys.append(index.value)
                else:
                    exact, keys = False, []
                f = f.value
            elif type(f) is ast.Call and type(f.func) is ast.Attribute and (
                    f.func.attr == "get") and f.args and exact:
                index = f.args[0]
                if type(index) is ast.Constant:
                    keys.append(index.value)
                else:
                    exact, keys = False, []
                f = f.func.value
            else:
                break
        if type(f) is ast.Name and f.id in names:
            out.append((f.id, tuple(reversed(keys)), "exact" if exact else "any"))
        elif type(f) is ast.Name and f.id in looped and not keys and exact:
            out.append((looped[f.id], (), "each"))
    return out


def reads_content(tree: ast.AST, name: str, hands_on: Callable[[tuple[str, ...]], bool]
                  ) -> bool:
    """Whether code reads what the global ``name`` holds. Not reads: the receiver of a
    method named like a change (``LOG.append(v)``), an item set or deleted (``LOG[0] =
    v``), an argument handed to a function ``hands_on`` says is the step's own (judged
    apart: ``_write(LOG, msg)``), a local alias used only so (``log = LOG;
    log.append(v)``); a rebinding (``global LOG; LOG = []``) loads nothing. Anything
    else is a read (``sum(LOG)``, ``LOG[-1]``, ``x in LOG``, ``np.mean(LOG)``)."""
    parents: dict[int, ast.AST] = {}
    loads: list[ast.Name] = []
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
        if type(node) is ast.Name and type(node.ctx) is ast.Load:
            loads.append(node)
    names = {name}
    for _ in range(2):  # (the global, then the locals bound to it)
        aliases: set[str] = set()
        for node in loads:
            if node.id not in names:
                continue
            use, via = _use_of(node, parents, hands_on)
            if use == "read":
                return True
            if use == "alias" and via is not None:
                aliases.add(via)
        names = aliases - {name}
        if not names:
            break
    return False


Path = tuple[str, ...]  # attributes from an object, ``[]`` for an item (``own_uses``)


class OwnUses(NamedTuple):
    """How code uses an object (``own_uses``), by paths from it: ``ordered``, the values
    it changes by what they hold; ``read``, those it reads; ``calls``, the methods it
    calls, each with whether the call's result is used; ``handed``, the values it gives
    a function, each with the function's chain (a read, unless the caller follows it);
    ``assigned``, those it sets or deletes; ``call_keys``, the calls among ``calls``
    given constant keys (``name.register("m", v)``, ``name.setdefault("a", [])``): the
    path of the call and, for each such argument, its place or keyword and its part. An
    item's part is ``['lr']`` or ``[0]`` for a constant key, ``[]`` for any other
    (``item_part``)."""

    ordered: frozenset[Path]
    read: frozenset[Path]
    calls: frozenset[tuple[Path, bool]]
    handed: frozenset[tuple[Path, tuple[str, ...]]]
    assigned: frozenset[Path] = frozenset()
    call_keys: frozenset[tuple[Path, tuple[tuple[int | str, str], ...]]] = frozenset()


def own_uses(tree: ast.AST, names: Collection[str], consts: Mapping[str, str] | None = None
             ) -> dict[str, OwnUses]:
    """How code uses the objects ``names`` hold (a method's ``self``, a global instance,
    a helper's parameter), each by paths of attributes and items from it: the values it
    changes by what they hold (``name.n += 1``: ``("n",)``; ``del name.items[0]``,
    ``name.counts[k] += 1``), those it reads (``sum(name.items)``, ``return name.n``,
    ``name.items[-1]``; ``()``, the object used whole: iterated, compared, though not
    ``return name``, a method returning its own object to chain calls), the methods it
    calls (``name.log(v)``: ``("log",)``; ``name.items.append(v)``: ``("items",
    "append")``, for the build to tell by what is there), the values it hands to a
    function by name (``add(name, v)``), and those it sets (``name.w = v``: ``("w",)``;
    ``name.opts["lr"] = v``: ``("opts", "['lr']")``; ``name.opts[k] = v``: ``("opts",
    "[]")``, any item), neither a change by what they hold nor a read; a local bound to a part
    (``log = name.items``) is followed, one level. ``consts``: the parameters a caller
    gave constant keys (``item_part``), unless the function rebinds them."""
    parents: dict[int, ast.AST] = {}
    loads: dict[str, list[ast.Name]] = {}
    stored: set[str] = set()
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
        if type(node) is ast.Name:
            if type(node.ctx) is ast.Load:
                loads.setdefault(node.id, []).append(node)
            else:
                stored.add(node.id)
    if consts:  # (a parameter the function rebinds holds what it was given no more)
        consts = {k: v for k, v in consts.items() if k not in stored}
    return {name: _uses_of_name(name, loads, parents, consts) for name in names}


def _type_of(node: Any, arg: ast.AST) -> bool:
    """Whether ``node`` is ``type(arg)``: the class of ``arg``'s value."""
    return (type(node) is ast.Call and type(node.func) is ast.Name and node.func.id == "type"
            and len(node.args) == 1 and node.args[0] is arg and not node.keywords)


def _reads_of_name(value: ast.AST, target: ast.AST) -> int:
    """How often ``value`` reads the name ``target`` is (0 for another target)."""
    if type(target) is not ast.Name:
        return 0
    return sum(1 for n in ast.walk(value) if type(n) is ast.Name and n.id == target.id)


def _lazily_set(value: ast.AST, target: ast.AST) -> bool:
    """``x = x or make()``: a value made once, on first use (a memo), kept after; not a
    change by what it holds (``reads_target``)."""
    return (type(value) is ast.BoolOp and type(value.op) is ast.Or
            and type(target) is ast.Name and type(value.values[0]) is ast.Name
            and value.values[0].id == target.id)


def reads_target(value: ast.AST, target: ast.AST) -> bool:
    """Whether ``value`` reads the attribute chain ``target`` assigns (``self.n =
    self.n + 1``, ``self.best = max(self.best, v)``, ``global N; N = N + 1``): a change
    by what it holds, as ``+=`` is."""
    chain = chain_of(target) if type(target) in (ast.Attribute, ast.Name) else None
    return chain is not None and any(
        type(n) in (ast.Attribute, ast.Name) and type(n.ctx) is ast.Load  # type: ignore[attr-defined]
        and chain_of(n) == chain for n in ast.walk(value))


def _uses_of_name(name: str, loads: dict[str, list[ast.Name]], parents: dict[int, ast.AST],
                  consts: Mapping[str, str] | None = None) -> OwnUses:
    """``own_uses`` of one name, given the tree's loads by name and its parents."""
    ordered: set[Path] = set()
    read: set[Path] = set()
    assigned: set[Path] = set()
    calls: set[tuple[Path, bool]] = set()
    given: set[tuple[Path, tuple[tuple[int | str, str], ...]]] = set()
    handed: set[tuple[Path, tuple[str, ...]]] = set()
    aliases: list[tuple[str, Path]] = []
    todo: list[tuple[ast.Name, Path, bool]] = [(n, (), False) for n in loads.get(name, ())]
    for node, start, aliased in todo:  # (grows once, with the aliases' loads)
        path: list[str] = list(start)
        top: Any = node
        p: Any = parents.get(id(node))
        if _type_of(p, top):  # ``type(self).count += 1``: as ``self.__class__.count``
            path.append("__class__")
            top, p = p, parents.get(id(p))
        while (type(p) is ast.Attribute or (type(p) is ast.Subscript and type(
                p.ctx) is ast.Load and not _is_slice(p.slice))) and p.value is top:
            path.append(p.attr if isinstance(p, ast.Attribute) else item_part(p.slice, consts))
            top, p = p, parents.get(id(p))
        here = tuple(path)
        if type(top) is ast.Attribute and type(top.ctx) is not ast.Load:
            if type(p) is ast.AugAssign or (type(p) is ast.Assign and reads_target(
                    p.value, top)):  # ``name.n += 1``, ``name.n = name.n + 1``
                ordered.add(here)
            else:  # ``name.w = v``, ``del name.w``, ``name.a, name.b = v``: set
                assigned.add(here)
        elif type(p) is ast.Call and p.func is top:  # (the object itself called: its
            calls.add((here if type(top) is ast.Attribute else (*here, "__call__"),  # class's
                       type(parents.get(id(p))) is not ast.Expr))  # ``__call__``)
            keys = _given_keys(p, consts)  # (``name.setdefault("a", [])``, ``name.put("m", v)``)
            if here[-1:] == ("update",):
                keys = keys + _updated_keys(p)
            if keys:
                given.add((here, keys))
        elif type(p) is ast.Subscript and p.value is top and type(p.ctx) is not ast.Load:
            if type(p.ctx) is ast.Del or type(parents.get(id(p))) is ast.AugAssign:
                ordered.add(here)  # ``del name.items[0]``, ``name.counts[k] += 1``
            else:  # ``name.opts["lr"] = v``: that item of ``opts``; ``[k]``: any of them
                assigned.add((*here, item_part(p.slice, consts)))
        elif type(p) is ast.Assign and p.value is top and len(p.targets) == 1 and type(
                p.targets[0]) is ast.Name and not aliased:  # ``log = name.items``
            aliases.append((p.targets[0].id, here))
        elif _key_test(p, top):  # ``"," in name.cache``: whether that item is there
            read.add((*here, item_part(p.left, consts)))
        elif path or type(p) is not ast.Return:
            callee = chain_of(p.func) if type(p) is ast.Call and p.func is not top else None
            if callee is None and type(p) is ast.keyword:
                call = parents.get(id(p))
                callee = chain_of(call.func) if type(call) is ast.Call else None
            if callee is not None:
                handed.add((here, callee))
            else:
                read.add(here)
        if node is todo[-1][0] and aliases:
            todo += [(n, at, True) for alias, at in aliases if alias != name
                     for n in loads.get(alias, ())]
            aliases = []
    return OwnUses(frozenset(ordered), frozenset(read), frozenset(calls), frozenset(handed),
                   frozenset(assigned), frozenset(given))


def keyed_calls(tree: ast.AST) -> list[tuple[tuple[str, ...], tuple[tuple[int | str, str], ...]]]:
    """The calls in ``tree`` of a name chain given constant keys (``put("a", v)``:
    ``(("put",), ((0, "['a']"),))``, ``_given_keys``): for the build to tell which item
    a helper of the user's setting one by its parameter sets there."""
    out = []
    for node in ast.walk(tree):
        if type(node) is ast.Call and (node.args or node.keywords):
            chain = chain_of(node.func)
            keys = _given_keys(node, None) if chain is not None else ()
            if keys:
                out.append((chain, keys))
    return out  # type: ignore[return-value]


def only_bare_calls(tree: ast.AST, name: str) -> bool:
    """Whether every use in ``tree`` of the name ``name`` (a variable, or the last
    attribute of a chain: ``load``, ``CFG_LOADER.load``) is a call given no argument
    (``load()``): a function handed on (``map(load, xs)``, ``partial(load, p)``) or
    called with arguments may fill what it fills from them."""
    calls: set[int] = set()
    for node in ast.walk(tree):
        if type(node) is ast.Call:
            if node.args or node.keywords:
                chain = chain_of(node.func)
                if chain is not None and chain[-1] == name:
                    return False
            else:
                calls.add(id(node.func))
    return all(id(node) in calls for node in ast.walk(tree)
               if (type(node) is ast.Name and node.id == name)
               or (type(node) is ast.Attribute and node.attr == name))


def _updated_keys(call: ast.Call) -> tuple[tuple[int | str, str], ...]:
    """The items ``X.update(...)`` sets when its arguments name them all (``update(a=1)``,
    ``update({"a": 1})``), each as ``(UPDATED, "['a']")``; none when one may set others
    (``update(d)``, ``update(**kw)``: a dict filled whole, a config loaded once)."""
    out: list[tuple[int | str, str]] = []
    for arg in call.args:
        if type(arg) is not ast.Dict or any(k is None for k in arg.keys):
            return ()
        for k in arg.keys:
            part = item_part(k)  # type: ignore[arg-type]
            if part == "[]":
                return ()
            out.append((UPDATED, part))
    for kw in call.keywords:
        if kw.arg is None:
            return ()
        out.append((UPDATED, f"[{kw.arg!r}]"))
    return tuple(out)


def _given_keys(call: ast.Call, consts: Mapping[str, str] | None
                ) -> tuple[tuple[int | str, str], ...]:
    """The arguments of ``call`` that are constant keys (``item_part``), by place or
    keyword: what the method called may set or read an item by."""
    out: list[tuple[int | str, str]] = []
    for i, arg in enumerate(call.args):
        if type(arg) is ast.Starred:
            break  # (the places after it are not known)
        part = item_part(arg, consts)
        if part != "[]":
            out.append((i, part))
    for kw in call.keywords:
        if kw.arg is not None and item_part(kw.value, consts) != "[]":
            out.append((kw.arg, item_part(kw.value, consts)))
    return tuple(out)


def _use_of(node: ast.AST, parents: dict[int, ast.AST],
            hands_on: Callable[[tuple[str, ...]], bool]) -> tuple[str, str | None]:
    """What a load of a name does with its value (``reads_content``): ``"read"``,
    ``"changed"`` (in place), ``"handed"`` on, or ``"alias"`` (with the local bound to
    it)."""
    p: Any = parents.get(id(node))
    while type(p) is ast.BoolOp or type(p) is ast.IfExp:  # ``(sink or LOG).append(m)``
        node, p = p, parents.get(id(p))
    t = type(p)
    if t is ast.Attribute and p.value is node:
        call: Any = parents.get(id(p))
        attr: str = p.attr
        if type(call) is ast.Call and call.func is p and attr in MUTATORS:
            return "changed", None
        return "read", None
    if t is ast.Subscript and p.value is node and type(p.ctx) is not ast.Load:
        return "changed", None
    if t is ast.keyword:
        node, p = p, parents.get(id(p))
        t = type(p)
    if t is ast.Call and p.func is not node:
        chain = chain_of(p.func)
        return ("handed" if chain is not None and hands_on(chain) else "read"), None
    if t is ast.Assign and p.value is node and len(p.targets) == 1 and (
            type(p.targets[0]) is ast.Name):
        return "alias", p.targets[0].id
    return "read", None


def results_reading(tree: ast.AST, changes: dict[str, list[Any]],
                    bound: dict[str, set[str]]) -> set[str]:
    """The calls whose result the code changes by what it holds through a local and
    also reads there (``e = events(); e.append(0); return sum(e)``), under that name or
    another bound to the same result (``f = e; f.append(0); sum(e)``): more loads of
    those locals (less those only binding another: ``f = e``) than their changes
    (``reading_writers`` for a call's result)."""
    counts: dict[str, int] = {}
    for name, (count, chains) in changes.items():
        for c in chains:
            counts[c] = counts.get(c, 0) + count
            bound.setdefault(c, set()).add(name)
    loads = {n: 0 for c in counts for n in bound[c]}
    for node in ast.walk(tree):
        t = type(node)
        if t is ast.Name and node.id in loads and type(node.ctx) is ast.Load:  # type: ignore[attr-defined]
            loads[node.id] += 1  # type: ignore[attr-defined]
        elif t is ast.Assign and type(node.value) is ast.Name and (  # type: ignore[attr-defined]
                node.value.id in loads) and all(  # type: ignore[attr-defined]
                type(x) is ast.Name for x in node.targets):  # type: ignore[attr-defined]
            loads[node.value.id] -= 1  # type: ignore[attr-defined]
    return {c for c, count in counts.items() if sum(loads[n] for n in bound[c]) > count}


_AT_NAME = re.compile(r"@([A-Za-z_]\w*)")


def _string_constants(code: types.CodeType) -> list[str]:
    """Every string literal of ``code`` and the code nested in it."""
    out: list[str] = []
    todo = [code]
    while todo:
        c = todo.pop()
        for k in c.co_consts:
            if isinstance(k, str):
                out.append(k)
            elif isinstance(k, types.CodeType):
                todo.append(k)
    return out


def global_names_of(code: types.CodeType) -> frozenset[str]:
    """Names the code (and code nested in it) reads or writes as globals: exact, from
    the bytecode, so locals and parameters never count."""
    out: set[str] = set()
    fast = _GLOBAL_OPCODES is not None
    for c in code_tree(code):
        if fast:
            _scan_global_ops(c, out)
        else:  # a Python whose bytecode layout this module does not know: dis decodes
            out.update(ins.argval for ins in dis.get_instructions(c) if ins.opname in GLOBAL_OPS)
    return frozenset(out)


# The opcodes of GLOBAL_OPS, to read them straight from ``co_code`` (``dis`` builds an
# object per instruction: most of the fingerprint's time). Known layouts only: 2-byte
# instructions, EXTENDED_ARG prefixes, and from 3.11 LOAD_GLOBAL's name index in arg >> 1.
_GLOBAL_OPCODES = (frozenset(dis.opmap[n] for n in GLOBAL_OPS)
                   if (3, 10) <= sys.version_info[:2] <= (3, 13) else None)


_LOAD_GLOBAL = dis.opmap["LOAD_GLOBAL"]


_LOAD_GLOBAL_SHIFT = 1 if sys.version_info >= (3, 11) else 0


def _scan_global_ops(c: types.CodeType, out: set[str]) -> None:
    ops = _GLOBAL_OPCODES
    assert ops is not None
    code, names, ext, extended = c.co_code, c.co_names, 0, dis.EXTENDED_ARG
    for i in range(0, len(code), 2):
        op = code[i]
        arg = code[i + 1] | ext
        if op == extended:
            ext = arg << 8
            continue
        ext = 0
        if op in ops:
            out.add(names[arg >> _LOAD_GLOBAL_SHIFT if op == _LOAD_GLOBAL else arg])


class _Scanner:
    """What a function's AST does beyond its digest, collected node by node during the
    digest's own pass (``digest_and_refs``): imports inside it, ``getattr`` calls,
    dynamic imports, and the names whose items or attributes it assigns."""

    __slots__ = ("aliases", "assigned", "at_names", "called", "copies", "declared",
                 "docstrings", "dynamic", "getattrs", "imports", "local", "mutated",
                 "nonlocals", "ordered", "passed", "rebound", "result_changes", "result_locals", "results",
                 "results_taken",
                 "returned", "taken", "unused")
    WANTS = frozenset({ast.Import, ast.ImportFrom, ast.Call, ast.Assign, ast.Delete,
                       ast.AugAssign, ast.Global, ast.Nonlocal, ast.Expr, ast.For, ast.AsyncFor,
                       ast.comprehension, ast.NamedExpr, ast.ListComp, ast.SetComp,
                       ast.DictComp, ast.GeneratorExp, ast.Return, ast.With,
                       ast.AsyncWith, ast.Yield, ast.YieldFrom})  # the node types
    # ``__call__`` looks at

    def __init__(self) -> None:
        self.imports: list[tuple[str, str, str | None, int]] = []
        self.getattrs: list[tuple[tuple[str, ...], str | None]] = []
        self.dynamic = False
        self.mutated: set[str] = set()
        self.taken: set[str] = set()  # see ``CodeInfo.taken``
        self.rebound: set[str] = set()  # see ``CodeInfo.rebound``
        # name -> how many of its changes depend on what it holds (``X += 1``,
        # ``del X[0]``, ``X.append(v)``): read elsewhere too, it is taken (``reading_writers``)
        self.ordered: dict[str, int] = {}
        self.unused: set[int] = set()  # calls whose value is dropped (``C.popitem()``)
        self.at_names: set[str] = set()  # ``df.query("x > @LIMIT")``: read by the library
        self.declared: set[str] = set()  # names a ``global`` statement declares
        # names a ``nonlocal`` statement declares: a closure's cell, changed by what it
        # holds (``nonlocal n; n += 1``) as a global is (``fingerprint._cells_rebound``)
        self.nonlocals: set[str] = set()
        # as the walk has them so far (statements in order): a local name -> the names
        # whose value (or a part of it) it is bound to (``cfg = CONFIG``, ``for r in
        # ROWS``, ``m = MODELS.get("lr")``); the local names bound to a value of their
        # own (``df = df.copy()``, ``est = clone(est)``): what the code changes through
        # them it changes in those names' values, or in nothing (``_roots``)
        self.aliases: dict[str, frozenset[str]] = {}
        self.local: set[str] = set()
        # the local names bound to a shallow copy of a global's value (``cfg =
        # dict(CONFIG)``, ``list(ROWS)``): a change of what it holds (``cfg["model"]
        # ["lr"] = v``) is one of the global's
        self.copies: dict[str, frozenset[str]] = {}
        self.assigned: set[str] = set()  # see ``CodeInfo.assigned``
        self.called: set[tuple[str, ...]] = set()  # changing methods called (not passed on)
        # (the function called, or its chain; position or keyword; name): ``_passed``
        self.passed: list[tuple[Any, int | str, str]] = []
        self.docstrings = False  # set by ``digest_and_refs`` when it skips one
        self.results: set[str] = set()  # see ``CodeInfo.results``
        self.results_taken: set[str] = set()  # see ``CodeInfo.results_taken``
        # a local bound to a call's result -> [its changes by what it holds, the calls]
        self.result_changes: dict[str, list[Any]] = {}
        self.result_locals: dict[str, set[str]] = {}  # a call's chain -> locals bound to it
        self.returned: set[str] = set()  # see ``CodeInfo.returned``

    def __call__(self, node: ast.AST) -> None:
        t = type(node)
        if t is ast.Import:
            for a in node.names:  # type: ignore[attr-defined]
                if a.asname:
                    self.imports.append((a.asname, a.name, None, 0))
                else:
                    top = a.name.split(".")[0]
                    self.imports.append((top, a.name, "", 0))  # binds the top package
        elif t is ast.ImportFrom:
            for a in node.names:  # type: ignore[attr-defined]
                if a.name != "*":
                    self.imports.append((a.asname or a.name, node.module or "",  # type: ignore[attr-defined]
                                         a.name, node.level))  # type: ignore[attr-defined]
        elif t is ast.Expr:  # (seen before the call it holds: the walk is pre-order)
            if type(node.value) is ast.Call:  # type: ignore[attr-defined]
                self.unused.add(id(node.value))  # type: ignore[attr-defined]
        elif t is ast.Call:
            self._call(node)  # type: ignore[arg-type]
        elif t is ast.Assign or t is ast.Delete:
            for target in node.targets:  # type: ignore[attr-defined]
                self._assigned(target)
                if t is ast.Assign:
                    self._set_whole(target)
                    self._bound(target, node.value)  # type: ignore[attr-defined]
                    value = node.value  # type: ignore[attr-defined]
                    if reads_target(value, target) and not _lazily_set(value, target):
                        # ``self.n = self.n + 1``: as ``+=`` (``N = N + 1``'s own read of
                        # ``N`` is part of the change, not a read of what it holds)
                        self._ordered(target, _reads_of_name(value, target))
                elif type(target) is not ast.Name:  # ``del X[0]`` (a name: unbound)
                    self._ordered(target)
            if t is ast.Assign and len(node.targets) > 1:  # type: ignore[attr-defined]
                self._chained(node.targets)  # type: ignore[attr-defined]
        elif t is ast.AugAssign:
            target = node.target  # type: ignore[attr-defined]
            self._assigned(target)
            self._ordered(target)
            if type(target) is ast.Name:
                self._augmented(target.id)
        elif t is ast.Global:  # ``global X``: an ``X = ...`` after it rebinds the module's
            self.declared.update(node.names)  # type: ignore[attr-defined]
        elif t is ast.Nonlocal:
            self.nonlocals.update(node.names)  # type: ignore[attr-defined]
        elif t is ast.For or t is ast.AsyncFor or t is ast.comprehension:
            self._bound(node.target, node.iter, items=True)  # type: ignore[attr-defined]
        elif t in _COMPREHENSIONS:  # its loops bind before its element is walked
            for gen in node.generators:  # type: ignore[attr-defined]
                self._bound(gen.target, gen.iter, items=True)
        elif t is ast.NamedExpr:  # ``if (c := CFG) is not None:``
            self._bound(node.target, node.value)  # type: ignore[attr-defined]
        elif t is ast.With or t is ast.AsyncWith:  # ``with get_run() as r: r.log(v)``: ``r``
            for item in node.items:  # type: ignore[attr-defined]  # (as the manager,
                if item.optional_vars is not None:  # which ``__enter__`` most often returns)
                    self._bound(item.optional_vars, item.context_expr)
        elif t is ast.Return and node.value is not None:  # type: ignore[attr-defined]
            self._returned(node.value)  # type: ignore[attr-defined]
        elif t is ast.Yield and node.value is not None:  # type: ignore[attr-defined]
            self._yielded(node.value)  # type: ignore[attr-defined]
        elif t is ast.YieldFrom:  # ``yield from self.layers``: their items, as ``iter(...)``
            self._returned(ast.Call(func=ast.Name(id="iter", ctx=ast.Load()),
                                    args=[node.value], keywords=[]))  # type: ignore[attr-defined]

    def _call(self, node: ast.Call) -> None:
        f = node.func
        if type(f) is ast.Attribute and type(f.value) is ast.NamedExpr and type(
                f.value.target) is ast.Name:  # ``(m := APP.model).train(v)``: bound first
            self._bound(f.value.target, f.value.value)  # (the walk meets the call first)
            f = ast.Attribute(value=f.value.target, attr=f.attr, ctx=ast.Load())
        if node.args or node.keywords:  # ``set_key(CONFIG, "k", v)``, ``f(d=CONFIG)``
            self._passed(f, node)
        if type(f) is ast.Attribute:
            self._alias_method(f)
            if type(f.value) is ast.Call and chain_of(f.value.func) == ("super",):
                # ``super().log(v)``: a base class's ``log``, given ``self`` (``_passed_on``)
                self.passed.append((("super()", f.attr), "self", "super()"))
        if isinstance(f, ast.Name) and f.id == "getattr" and node.args:  # see CodeInfo.getattrs
            chain = chain_of(node.args[0])
            const = node.args[1] if len(node.args) > 1 else None
            name = const.value if isinstance(const, ast.Constant) and isinstance(
                const.value, str) else None
            self.getattrs.append((chain or (), name))
        else:
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(
                f, ast.Name) else None
            if name == "import_module":  # importlib's, also imported by its own name
                arg = node.args[0] if node.args else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    # a literal name: that module, as a local import (see _follow)
                    level = len(arg.value) - len(arg.value.lstrip("."))
                    self.imports.append((f"{IMPORTED}{arg.value}", arg.value[level:],
                                         None, level))
                else:
                    self.dynamic = True
            elif name in _LOADERS and (
                    (chain_of(f) or ())[:1] in (("runpy",), ("importlib",), ("util",), ("imp",),
                                                 ("pydoc",))
                    or (isinstance(f, ast.Name) and name != "locate")):
                self.dynamic = True  # code loaded from a file or by a dotted name, by those
                # modules' functions (not a method of the user's of the same name)
            elif name in _QUERIES and isinstance(f, ast.Attribute):
                # pandas' ``query``/``eval`` look ``@name`` up in the caller's scope (and
                # ``pd.eval`` bare names), polars' and DuckDB's SQL its frames by name: a
                # name the code reads, though only a string says it (every identifier
                # of the string, as the library may resolve any)
                for arg in (*node.args[:1],
                            *(k.value for k in node.keywords if k.arg in ("expr", "query"))):
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        self.at_names.update(_IDENTIFIER.findall(arg.value))
                    elif name != "execute" and name != "sql":
                        self.at_names.add(QUERY_MADE_ELSEWHERE)  # see compute_info
            if isinstance(f, ast.Attribute) and (
                    f.attr in MUTATORS or _in_place(f.attr, node.keywords)):
                self._mutating(node, f)
            elif isinstance(f, ast.Attribute) and f.attr not in _VIEWS:
                self._result_method(f)
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (
                    f.attr in _QUEUE_TAKERS) and id(node) not in self.unused:
                self.taken.add(f"{f.value.id}:get")  # (a dict's ``get`` takes nothing)
            elif name in ATTR_SETTERS and isinstance(f, ast.Name) and len(node.args) >= 2:
                self._attribute_set(node.args[0], node.args[1])
            if (name in MUTATORS and isinstance(f, ast.Attribute) and node.args
                    and isinstance(f.value, ast.Name) and f.value.id in _BUILTIN_TYPES):
                changed = _root_name(node.args[0], views=True, kinds=True)  # ``dict.update(C, ..)``
                if changed is not None:
                    self._mark(changed)
            if name in _ARGUMENT_MUTATORS and node.args and isinstance(node.args[0], ast.Name):
                self._mark(node.args[0].id)  # ``heapq.heappush(H, x)``, ``np.copyto(A, b)``
                if name in TAKERS and id(node) not in self.unused:
                    self.taken.add(node.args[0].id)
            if (name == "next" and isinstance(f, ast.Name) and node.args
                    and isinstance(node.args[0], ast.Name) and id(node) not in self.unused):
                self.taken.add(node.args[0].id)  # ``next(IDS)``: what the others left
            if node.args and type(node.args[0]) is ast.Attribute and (
                    name in _ATTRIBUTE_MUTATORS or (name == "next" and isinstance(f, ast.Name))):
                self._attribute_given(node.args[0])  # ``heapq.heappop(self.heap)``
            for k in node.keywords:  # ``np.add(a, b, out=BUF)``: filled in place
                if k.arg == "out" and isinstance(k.value, ast.Name):
                    self._mark(k.value.id)

    def _attribute_given(self, arg: ast.Attribute) -> None:
        """An attribute's value given to a function that changes it
        (``heapq.heappush(self.heap, x)``, ``np.copyto(S.buf, a)``) or advances it
        (``next(self.ids)``): changed in place, as ``self.heap.append(x)`` changes it
        (``_mutating``); what it returns is taken (``fingerprint._HANDED_TAKERS``)."""
        if type(arg.value) is ast.Name:
            self._mark(arg.value.id, f"{arg.value.id}.{arg.attr}", whole=False)
        else:
            root = _root_name(arg, views=True, kinds=True)
            if root is not None:
                self._mark(root)

    def _attribute_set(self, target: ast.expr, attr: ast.expr) -> None:
        """``setattr(X, "k", v)`` (or ``delattr``): a change of ``X``'s attribute ``k``,
        any attribute for a computed name (of a module or class: ``_state_writes``);
        ``setattr(sys.modules[__name__], "X", v)`` rebinds a global of the module."""
        if _is_own_module(target):
            self._namespace_changed(attr)
            return
        literal = isinstance(attr, ast.Constant) and isinstance(attr.value, str)
        if type(target) is ast.Call:  # ``setattr(get_cfg(), "k", v)``
            self._changed_result(target)
        if isinstance(target, ast.Name):
            self._mark(target.id, f"{target.id}.{attr.value if literal else '*'}")  # type: ignore[attr-defined]
            if self._roots(target.id) is None:
                self.assigned.add(target.id)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            # ``setattr(APP.model, "w", v)``: as the assignment ``APP.model.w = v``
            self._assigned(ast.Attribute(value=target, ctx=ast.Store(),
                                         attr=attr.value if literal else "*"))  # type: ignore[attr-defined]

    def _class_changed(self, node: ast.AST) -> None:
        """``type(self).total = n``, ``self.__class__.seen.append(x)``: a change of what
        the class of ``self`` holds, as ``self.__class__`` in ``mutated`` (the build marks
        the class, whose readers read it: ``fingerprint._self_changed``)."""
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if type(node) is ast.Attribute and node.attr == "__class__" and type(
                    node.value) is ast.Name:
                break
            node = node.value
        else:
            if not (type(node) is ast.Call and type(node.func) is ast.Name and node.func.id
                    == "type" and len(node.args) == 1 and type(node.args[0]) is ast.Name):
                return
            self._mark(node.args[0].id, f"{node.args[0].id}.__class__", whole=False)
            return
        self._mark(node.value.id, f"{node.value.id}.__class__", whole=False)

    def _alias_method(self, f: ast.Attribute) -> None:
        """``m = MODEL; m.train(x)``: a method called through a local alias, as the
        object given to it (``"self"`` in ``CodeInfo.passed``); an item too (``for m in
        MODELS.values()``), an attribute's value (``t = APP.tracker``, ``for t in
        APP.trackers``), an object the alias holds (``a = APP; a.model.train(x)``); and
        directly on an item of a global, a parameter or an attribute of one
        (``APP.trackers["a"].log(v)``, ``self.trackers["a"].log(v)``: ``name.a[k]``;
        ``_C.get("t").log(v)``)."""
        value = f.value
        item = type(value) is ast.Subscript and not _is_slice(value.slice)
        if item:
            value = value.value  # type: ignore[attr-defined]
        elif type(value) is ast.Call and type(value.func) is ast.Attribute and (
                value.func.attr in _VIEWS):  # ``_C.get("t").log(v)``: an item of ``_C``
            value, item = value.func.value, True
        while type(value) is ast.Call and type(value.func) is ast.Name and value.args and (
                (value.func.id in _ITEM_VIEWS and value.func.id != "vars")
                or value.func.id in _ITEM_LISTS or (
                    is_pick(value))):
            value, item = iterated_argument(value), True  # ``max(X, key=f).fit(v)``
        held = chain_of(value) if type(value) is not ast.Call else _getattr_chain(value)
        if held is None:
            return
        rest = "".join("." + a for a in held[1:]) + ("[k]" if item else "")
        copied = self.copies.get(held[0]) if item and len(held) == 1 else None
        if copied and held[0] not in self.aliases:  # ``ms = sorted(MODELS.values());
            for root in copied:  # ms[0].train(x)``: an item of a shallow copy is the original's
                if not root.startswith(RESULT):
                    owner = name_of(root)
                    self.passed.append(((owner, f.attr), "self",
                                        owner if "." not in root else root.partition("[")[0]))
            return
        if held[0] not in self.aliases:
            if (item or type(value) is ast.Call) and self._roots(held[0]) is None:
                self.passed.append(((held[0], f.attr), "self", held[0] + rest))
            return
        for root in self.aliases[held[0]]:
            if not root.startswith(RESULT) and not (rest and root.endswith("]")):
                owner = name_of(root)
                self.passed.append(((owner, f.attr), "self", root + rest if rest else (
                    owner if "." not in root else root)))

    def _passed(self, f: ast.expr, node: ast.Call) -> None:
        """The names given whole to a function (``CodeInfo.passed``), a local alias as
        the names it stands for; the function's chain is read at the end, for those
        that are globals or parameters (``_passed_on``)."""
        passed = self.passed
        for where, arg in enumerate(node.args):
            passed.extend((f, where, name) for name in self._given(arg))
        for k in node.keywords:
            if k.arg is not None:
                passed.extend((f, k.arg, name) for name in self._given(k.value))

    def _given(self, arg: ast.AST) -> list[str]:
        """The names ``arg`` gives whole (``_passed``): a global or a parameter, a local
        alias as the names it stands for, or an attribute of one (``APP.tracker.metrics``,
        ``self.metrics``: what the build finds there)."""
        kind = ""
        while type(arg) is ast.Call and type(arg.func) is ast.Name and arg.args and (
                arg.func.id == "next" or is_pick(arg)
                or (kind and arg.func.id in _ITEM_VIEWS and arg.func.id != "vars")):
            arg, kind = iterated_argument(arg), "[k]"  # ``train(max(X, key=f), v)``: an item
        if type(arg) is ast.Subscript and not _is_slice(arg.slice) and not kind:
            kind = "[k]" if _constant_key(arg.slice) else "[*]"  # ``put(CONFIG["m"], ...)``
            arg = arg.value
        chain = (arg.id,) if type(arg) is ast.Name else (
            chain_of(arg) if type(arg) is ast.Attribute else None)
        if chain is None:  # ``set_key(get_app().opts, k, v)``: a part of a call's result
            return self._given_of_result(arg, kind)
        name, rest = chain[0], "".join("." + a for a in chain[1:]) + kind
        if name in self.aliases:  # (an item's attribute: not followed)
            return [r + rest if not r.startswith(RESULT) or not rest or "()" in r[len(RESULT):]
                    else r + "()" + rest for r in self.aliases[name]
                    if not rest or not r.endswith("]") or r.startswith(RESULT)]
        return [name + rest] if name not in self.local or name in self.declared else []

    def _given_of_result(self, arg: ast.AST, kind: str) -> list[str]:
        """An attribute of what a call hands out, given (``put(get_app().opts, v)``), as
        ``()get_app().opts`` (``CodeInfo.passed``: the build tells what the call hands
        out, and whether the function changes it)."""
        part = _result_part(arg)  # ``go(get_app().get_tracker(), v)``: what a method of
        if part is not None and "()" in part[1] and "[" not in part[1]:  # the result hands
            return [f"{RESULT}{chain}(){path}{kind}" for chain, path in self._result_paths(
                *part) if "[" not in path]  # out (also through a local bound to the call's)
        attrs: list[str] = []
        while type(arg) is ast.Attribute:
            attrs.append(arg.attr)
            arg = arg.value
        if not attrs or type(arg) is not ast.Call:
            return []
        base = _call_base(arg)
        if base is None or "[" in base:
            return []
        return [f"{RESULT}{base}()" + "".join("." + a for a in reversed(attrs)) + kind]

    def _roots(self, name: str) -> frozenset[str] | None:
        """What a change of ``name``'s value changes, as the walk has it at this point:
        None for a name the function did not bind before (a global, a parameter: its
        own value); the names a local alias stands for (``_bound``); nothing for a local
        bound to a value of its own since (``df = df.copy()``)."""
        if name in self.declared or name in self.nonlocals:
            return None
        hit = self.aliases.get(name)
        if hit is not None:
            return hit
        return _NOTHING if name in self.local else None

    def _mark(self, name: str, dotted: str | None = None, whole: bool = True,
              item: bool = False) -> None:
        """``name``'s value changed (``name.attr``'s with ``dotted``; not the name's own
        with ``whole=False``: ``np.random.seed()`` changes no setting of numpy's; what
        an item of it holds with ``item``: ``rows[0]["v"] = n``)."""
        roots = self._roots(name_of(name))
        if roots is None:
            if whole:
                self.mutated.add(name)
                if item and not name.endswith("]"):  # (``HOLD["rows"]["a"] = v``: also
                    self.mutated.add(name + "[k]")  # what an item of it holds)
            if dotted:
                self.mutated.add(dotted)
        else:
            kind = name[name.index("["):] if name.endswith("]") else ""
            deep = bool(kind) or item or not whole
            for r in roots:
                if r.startswith(RESULT):  # ``cfg = get_cfg(); cfg["lr"] = v``
                    self._result_changed(r[len(RESULT):], deep)
                else:
                    self.mutated.add(r if r.endswith("]") else r + kind)

    def _result_changed(self, root: str, deep: bool) -> None:
        """A change of what the call ``root`` (a chain, ``[k]`` for an item of its result)
        handed out: ``chain[k]`` in ``results`` when it is of what an item holds (``rows =
        head(); rows[0]["v"] = n``), not of the result itself (``rows.append(x)``):
        a new list or tuple of globals a function returns changes only so."""
        root, held, path = root.partition("()")  # (a part of it: what an item holds, deep)
        chain, _, kind = root.partition("[")
        if "()" in path and not kind:  # (``t = get_app().get_tracker(); t.w = v``)
            self.results.add(f"{chain}:{path[1:]}.{SET_ITEM}")
            return
        self.results.add(chain + "[k]" if deep or kind or held else chain)

    def _returned(self, value: ast.AST) -> None:
        """``return CONFIG``, ``return cfg`` (an alias of it), ``return REG["m"]``,
        ``return settings.CFG``: what the function hands out of module-level state
        (``CodeInfo.returned``), an item marked as ``_root_name`` marks it (``RAW[mask]``:
        ``RAW[*]``, a copy of a frame), a slice as ``[s]`` (a list's is a copy, an
        array's a view: ``fingerprint._counts_as_change``); the values a new tuple, list
        or dict holds, as ``[i]`` (``return X, Y``: ``X, y = get_data(); X.append(v)``
        changes ``X``; a number held changes nothing); another call's result as ``"()"
        + its chain`` (``return _load()``: what that one hands out, for the build to
        follow)."""
        t = type(value)
        if t is ast.Tuple or t is ast.List or t is ast.Dict:
            before = set(self.returned)
            for part in value.values if t is ast.Dict else value.elts:  # type: ignore[attr-defined]
                self._returned(part.value if type(part) is ast.Starred else part)
            self.returned = before | {r if r.endswith("]") else r + "[i]"
                                      for r in self.returned - before}
            return
        if t in _COMPREHENSIONS:
            self._comprehended(value)  # type: ignore[arg-type]
            return
        if t is ast.Call and type(value.func) is ast.Name and value.func.id in (  # type: ignore[attr-defined]
                "iter", "reversed") and len(value.args) == 1:  # type: ignore[attr-defined]
            # ``return iter(self.layers)``: a new iterator over its items, as ``list(...)``
            self._returned(ast.Call(func=ast.Name(id="list", ctx=ast.Load()),
                                    args=value.args, keywords=[]))  # type: ignore[attr-defined]
            return
        part = _result_part(value)  # ``return get_app().tracker``: a part of a call's result
        paths = self._result_paths(*part) if part is not None else []
        if paths:
            self.returned.update(f"{RESULT}{chain}(){path}" for chain, path in paths)
            return
        if t is ast.Call:  # ``return list(ROWS)``, ``dict(CONFIG)``: a new one of its items
            self.returned.update(r if r.endswith("]") else r + "[i]"  # (``list(self.models)``:
                                 for r in self._copy_of(value, dotted=True))  # its items)
        sliced = t is ast.Subscript and _is_slice(value.slice)  # type: ignore[attr-defined]
        root = _root_name(value.value if sliced else value,  # type: ignore[attr-defined]
                          views=True, dotted=True, kinds=True)
        if root is None:
            base = _call_base(value)
            if base is not None:
                self.returned.add(RESULT + base)
            return
        if sliced:
            root = root.partition("[")[0] + "[s]"
        inner = self._roots(name_of(root))
        kind = root[root.index("["):] if root.endswith("]") else ""
        self.returned.update({root} if inner is None else {
            r if r.endswith("]") or r.startswith(RESULT) else r + kind for r in inner})

    def _yielded(self, value: ast.expr) -> None:
        """``yield x``: a generator hands out what it yields as the items of a new list
        (``[i]``): a loop's variable over ``self.layers`` (``self.layers[k]``) as
        ``self.layers[i]``, the items of ``self.layers``, as ``[x for x in ...]`` is; each
        part of a tuple yielded alike. A call's result (``copy.copy(x)``) as returned."""
        t = type(value)
        for part in value.elts if t is ast.Tuple or t is ast.List else [value]:  # type: ignore[attr-defined]
            part = part.value if type(part) is ast.Starred else part
            before = set(self.returned)
            self._returned(part)
            if type(part) is ast.Call:
                continue
            self.returned = before | {
                r[:-3] + "[i]" if r.endswith("[k]") else r if r.endswith("]") or r.startswith(
                    RESULT) else r + "[i]" for r in self.returned - before}

    def _comprehended(self, value: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
                      ) -> None:
        """``return [r for r in ROWS]``, ``{k: v for k, v in CONFIG.items()}``: a new
        list or dict of what it goes over holds (``[i]``, as ``list(ROWS)``), when an
        item it makes is a loop variable or a part of one (``r["v"]``); not one made
        from it (``dict(r)``, ``r * 2``, ``r[:]``), nor a dict's key (``{m: [] for m in
        METRICS}``: a key is never changed in place)."""
        made = value.value if type(value) is ast.DictComp else value.elt  # type: ignore[union-attr]
        root = _root_name(made, views=True, slices=False)
        names = {name_of(root)} if root is not None else set()
        for gen in value.generators:
            if not any(type(n) is ast.Name and n.id in names for n in ast.walk(gen.target)):
                continue
            root = _root_name(gen.iter, views=True, items=True, dotted=True)
            if root is None:
                base = _call_base(gen.iter)  # (``for r in load()``: what that hands out)
                if base is not None:
                    self.returned.add(RESULT + base)
                continue
            inner = self._roots(name_of(root))
            self.returned.update(r if r.endswith("]") or r.startswith(RESULT) else r + "[i]"
                                 for r in ({root} if inner is None else inner))

    def _augmented(self, name: str) -> None:
        """``h = HIST; h += [x]``: a list's (an array's, a frame's) ``+=`` changes it in
        place, a number's rebinds the local (``[+]``: the build tells by the value). Not
        through an item (``lr = CONFIG["lr"]; lr *= 0.5``: what it holds is not known).
        A name of its own value (a parameter: ``def scale(a, k): a *= k``, a ``global``
        or ``nonlocal`` one) as ``name[+]``: the caller's value, changed alike."""
        roots = self._roots(name)
        if roots is None:
            self.mutated.add(name + "[+]")
            return
        for r in roots:
            if r.endswith("]"):
                continue
            if r.startswith(RESULT):
                self._result_changed(r[len(RESULT):], False)
            else:
                self.mutated.add(r + "[+]")

    def _result_method(self, f: ast.Attribute) -> None:
        """``get_tracker().log_metric(k, v)``, ``t = get_tracker(); t.log(v)``: a method
        called on what a call hands out, which may change it (``chain:method`` in
        ``results``: the build tells, by the method's code); on an item of it
        (``get_ctx()[0].log(v)``, ``t, _ = get_ctx(); t.log(v)``) as ``chain[k]:method``.
        A method taken as a value (``log = get_tracker().log``) counts as called."""
        value, method = f.value, f.attr
        part = _result_part(value)  # ``get_app().tracker.log(v)``, ``get_app().trackers
        paths = self._result_paths(*part) if part is not None else []  # ["a"].log(v)``: of
        if paths:  # an object it holds (``get_app:trackers[k].log``)
            for chain, path in paths:
                self.results.add(f"{chain}:{path[1:]}.{method}")
            return
        item = type(value) is ast.Subscript and not _is_slice(value.slice)
        if item:
            value = value.value  # type: ignore[attr-defined]
        if type(value) is ast.Call:
            vf = value.func
            if type(vf) is ast.Attribute and vf.attr in _VIEWS:
                # (``CFG.get("m").copy()``: an item of a global; but ``Reg.get("a")`` may
                # be a classmethod of yours handing out what it keeps: as ``_class_view``)
                if type(vf.value) is ast.Name and self._roots(vf.value.id) is None:
                    self.results.add(f"{vf.value.id}.{vf.attr}{'[k]' if item else ''}:{method}")
                return
            base = _call_base(value)
            if base is not None:
                self.results.add(f"{base}{'[k]' if item else ''}:{method}")
        elif type(value) is ast.Name and value.id in self.aliases and not item:
            for r in self.aliases[value.id]:
                if r.startswith(RESULT):  # (``t = get_app().tracker``: ``get_app:tracker.m``)
                    chain, held, path = r[len(RESULT):].partition("()")
                    self.results.add(f"{chain}:{path[1:]}.{method}" if held else
                                     f"{chain}:{method}")

    def result_reads(self, tree: ast.AST) -> set[str]:
        """``sum(get_tracker().items)``, ``t = get_tracker(); len(t.items)``: the
        attributes the code reads of what a call hands out (``CodeInfo.result_reads``),
        each as its whole path from the result (``get_app:tracker.items``); not one a
        method is called on (``results``), nor a part of an item. After the walk: a
        local counts as bound as the walk left it."""
        skip: set[int] = set()  # a method called, and what it is called on
        out: set[str] = set()
        for node in ast.walk(tree):  # (breadth first: a call before its function, an
            t = type(node)  # attribute before the one it is read from)
            if t is ast.Call:
                f = node.func  # type: ignore[attr-defined]
                while type(f) is ast.Attribute:
                    skip.add(id(f))
                    f = f.value
            elif t is ast.Attribute and id(node) not in skip and type(
                    node.ctx) is ast.Load:  # type: ignore[attr-defined]
                inner = node.value  # type: ignore[attr-defined]
                while type(inner) is ast.Attribute:  # (``a.b.c``: read as a whole)
                    skip.add(id(inner))
                    inner = inner.value
                part = _result_part(node)
                for chain, path in self._result_paths(*part) if part is not None else ():
                    if path[:1] == "." and "[" not in path and "(" not in path:
                        out.add(f"{chain}:{path[1:]}")
        return out

    def _result_paths(self, node: ast.Call | ast.Name, path: str) -> list[tuple[str, str]]:
        """The calls and paths a part of a result is at (``_result_part``): the call's
        own, or those of the results a local alias stands for (``app = get_app();
        app.trackers["a"]``: ``("get_app", ".trackers[k]")``)."""
        if isinstance(node, ast.Call):
            base = _call_base(node)
            return [(base, path)] if base is not None and "[" not in base else []
        out = []
        for r in self.aliases.get(node.id, ()):
            chain, _, before = r[len(RESULT):].partition("()")
            if r.startswith(RESULT) and "[" not in chain and (before or path[:1] == "."):
                out.append((chain, before + path))  # (``app["x"]``: ``get_app[k]``, below)
        return out

    def _class_view(self, node: ast.AST) -> None:
        """``Config.get()["lr"] = v``: a method named like a dict's view (``get``,
        ``items``) called on a global is taken for one (an item of it changed): a
        class's classmethod or staticmethod of that name hands out what it keeps, so
        the call counts too (the build tells: a dict's method is no function of yours)."""
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        if isinstance(node, ast.Call):
            f = node.func
            if type(f) is ast.Attribute and f.attr in _VIEWS and type(f.value) is ast.Name and (
                    self._roots(f.value.id) is None):
                self.results.add(f"{f.value.id}.{f.attr}")

    def _changed_result(self, node: ast.AST, method: str = SET_ITEM) -> str | None:
        """A change of ``node``, a part of a call's result (``CFG.get("m")["lr"] = v``:
        of ``CFG``'s; ``get_cfg()["lr"] = v``: of what ``get_cfg`` returned, whose name
        it returns); by ``method`` when a method named like a change is called on it
        (``get_app().get_model().log.append(v)``: the build tells by what it reaches)."""
        part = _result_part(node)  # ``get_app().get_tracker().w = v``: what a method of
        through = self._result_paths(*part) if part else []  # a call's result hands out
        for chain, path in through:  # (``get_tracker().=``: the build tells, by what that
            self.results.add(f"{chain}:{path[1:]}.{method}")  # method returns), or a part
        if any("()" in p for _, p in through):  # of it (``get_app().model.w = v``, ``a =
            return through[0][0]  # get_app(); a.model.w = v``: also the object there,
        root = _root_name(node, views=True, kinds=True)  # another global's too)
        if root is not None:
            self._mark(root)
            self._class_view(node)
            return None
        base = _call_base(node)
        if base is not None:  # (``get_cfg()["m"]["lr"] = v``: what an item holds)
            self._result_changed(base, type(node) is ast.Subscript or type(node) is ast.Attribute)
        return base

    def _mutating(self, node: ast.Call, f: ast.Attribute) -> None:
        """A call of a method that changes its object (``MUTATORS``, ``inplace=True``):
        the name it is called on, or the one the object is a part of."""
        chain = chain_of(f)
        if chain is not None:
            self.called.add(chain)
        if _is_own_namespace(f.value):  # ``globals().update(LR=v)``: any of its names
            self._namespace_changed(node.args[0] if f.attr in ("__setitem__", "setdefault")
                                    and node.args else None)
            return
        self._class_changed(f.value)
        keyed = _keyed_item(f.value)
        if keyed is not None and self._roots(keyed[0]) is None and f.attr in MUTATORS and (
                not _in_place(f.attr, node.keywords)):
            # ``OPTS["model"].partition(":")``: by what that item holds, as ``X.sort[M]``
            # (a string's changes nothing, a list's sorts it in place)
            self.mutated.add(f"{keyed[0]}[{keyed[1]}].{f.attr}[M]")
        elif type(f.value) in (ast.Subscript, ast.Call):
            # ``D["k"].append(x)``, ``MODELS["lr"].fit(X)``, ``CFG.get("opt").update()``
            root = _root_name(f.value, views=True, kinds=True)
            if root is not None:
                self._mark(root)
                self._class_view(f.value)
                base = name_of(root)
                if base in self.copies and type(f.value) is ast.Subscript:
                    self.mutated.update(self.copies[base])  # ``cfg["tags"].append(x)``
            else:  # ``get_cfg()["tags"].append(x)``
                called = self._changed_result(f.value, f.attr)
                if called is not None and f.attr in TAKERS and id(node) not in self.unused:
                    self.results_taken.add(called)  # ``job = queue().pop()``
        elif isinstance(f.value, ast.Name):
            direct = self._roots(f.value.id) is None
            if direct and f.attr in MUTATORS and not _in_place(f.attr, node.keywords):
                # ``X.sort()``: ``[M]``, a change by what X is, for the build to tell
                # (``fingerprint._method_changes``: ``pl_frame.sort()`` returns a copy)
                self.mutated.add(f"{f.value.id}.{f.attr}[M]")
            else:
                self._mark(f.value.id)
            if f.attr in ORDERED_MUTATORS:
                self._ordered(f)  # (through a local alias too: ``log = LOG; log.append(v)``)
            if not direct:
                self._result_change(f.value.id, f.attr, node)
                return
            if f.attr == "update":
                self.rebound.add(f.value.id)  # ``_CFG.update(json.load(f))``: whole
            if f.attr in TAKERS and id(node) not in self.unused:
                self.taken.add(f.value.id)  # (an eviction, ``C.popitem(last=False)``,
                # takes nothing the step uses)
        elif isinstance(f.value, ast.Attribute) and isinstance(f.value.value, ast.Name):
            # ``jobs.SEEN.append(x)``, ``REG.names.append(x)``: an attribute's value
            # changed in place, as ``X.a = v`` changes it (``_assigned``)
            dotted = f"{f.value.value.id}.{f.value.attr}"
            if self._roots(f.value.value.id) is None and f.attr in MUTATORS and not _in_place(
                    f.attr, node.keywords):  # ``self.name.partition(":")``: by what the
                self.mutated.add(f"{dotted}.{f.attr}[M]")  # attribute holds, as ``X.sort[M]``
            else:
                self._mark(f.value.value.id, dotted, whole=False)  # (not the base: ``np.
                # random.seed()`` is no change of numpy's settings; ``_marks_of`` tells
                # modules from objects)
            if f.value.value.id in self.copies:  # ``c = copy.copy(CFG); c.tags.append(x)``
                self.mutated.update(self.copies[f.value.value.id])
            if f.attr == "update" and self._roots(f.value.value.id) is None:
                self.rebound.add(dotted)  # ``S.data.update(...)``: whole
        else:  # ``get_settings().history.append(x)``
            self._changed_result(f.value, f.attr)

    def _result_change(self, local: str, method: str, node: ast.Call) -> None:
        """``e = events(); e.append(x)``: a change through a local bound to a call's
        result that depends on what it holds (``ORDERED_MUTATORS``, a taker's): counted,
        so that a read of ``e`` elsewhere (``sum(e)``) makes the step read what it and
        others left there (``results_reading``); an item taken out and used, at once."""
        if method not in ORDERED_MUTATORS and method not in TAKERS:
            return
        chains = {r[len(RESULT):].partition("[")[0].partition("(")[0]
                  for r in self.aliases.get(local, ()) if r.startswith(RESULT)}
        if not chains:
            return
        if method in TAKERS and id(node) not in self.unused:
            self.results_taken.update(chains)
        changes = self.result_changes.setdefault(local, [0, set()])
        changes[0] += 1
        changes[1].update(chains)

    def _ordered(self, target: ast.AST, reads: int = 0) -> None:
        """A change of ``target``'s root name that depends on what it holds: a global
        rebound by ``X += 1`` (after ``global X``; a closure's cell after ``nonlocal``),
        an item or attribute augmented or deleted, an item added or removed by a method
        (``ORDERED_MUTATORS``). ``reads``: the times the change itself reads the name
        (``X = X + 1``: once), which ``reading_writers`` does not count as reads."""
        root = target
        while isinstance(root, (ast.Subscript, ast.Attribute)):
            root = root.value
        if type(root) is ast.Call and root.args and _type_of(root, root.args[0]):
            root = root.args[0]  # ``type(self).count += 1``: ``self``'s class
        if type(root) is not ast.Name or (root is target and root.id not in self.declared
                                          and root.id not in self.nonlocals):
            return
        roots = self._roots(root.id)  # (``log = LOG; log.append(v)``: ``LOG``'s)
        for name in (root.id,) if roots is None else {
                name_of(r) for r in roots if not r.startswith(RESULT)}:
            self.ordered[name] = self.ordered.get(name, 0) + 1 + reads

    def _bound(self, target: ast.AST, value: ast.AST, items: bool = False) -> None:
        """Local names bound, in the walk's order (``_roots``): to a value reached from
        another name, an alias of it (``cfg = CONFIG``, ``for r in ROWS``, ``for k, m in
        MODELS.items()``, ``y = x`` for an alias ``x``); to anything else, a value of
        their own (a call's result, a slice: ``df = df.copy()``, ``r = dict(r)``,
        ``cols = COLS[:]``)."""
        if type(value) is ast.Call and chain_of(value.func) == ("next",) and value.args:
            value, items = value.args[0], True  # ``m = next(HUB.each())``: an item of it
        if items and type(target) is ast.Name and type(value) in (ast.Tuple, ast.List, ast.Set):
            self._bound_to_each(target, value.elts)  # type: ignore[attr-defined]
            return
        if type(target) is ast.Name and type(value) in _OWN_VALUES and not (
                type(value) is ast.Dict and None in value.keys):  # (most: ``n = 0``)
            name = target.id
            if name not in self.declared and name not in self.nonlocals:
                self.local.add(name)
                if name in self.aliases:
                    del self.aliases[name]
                if name in self.copies:
                    del self.copies[name]
            return
        if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
                and len(target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts, strict=True):  # ``a, b = A, B``
                self._bound(t, v)
            return
        if items and isinstance(target, (ast.Tuple, ast.List)) and type(value) is ast.Call \
                and chain_of(value.func) == ("zip",) and len(value.args) == len(target.elts):
            for t, v in zip(target.elts, value.args, strict=True):  # ``for r, x in zip(R, X)``
                self._bound(t, v, items=True)
            return
        root = _root_name(value, views=True, dotted=True, slices=False, items=items,
                          kinds=True)
        if root is not None and items and not root.endswith("]"):
            root += "[k]"  # (a loop's variable: an item of what it goes over)
        if type(value) is ast.Attribute and not items:
            self._result_method(value)  # (``log = get_tracker().log_metric``)
        whole = type(target) is ast.Name or (items and isinstance(target, (ast.Tuple, ast.List)))
        over = value.args[0] if items and isinstance(value, ast.Call) and chain_of(
            value.func) == ("enumerate",) and value.args else value  # (``for i, t in ...``)
        part = _result_part(over) if whole else None
        paths = self._result_paths(*part) if part is not None else []
        if paths:
            # ``t = get_app().tracker``, ``for t in get_app().trackers.values()``, ``t =
            # app.tracker`` (``app = get_app()``): a part of what the call hands out
            # (``()get_app().trackers[k]``)
            roots: frozenset[str] = frozenset(
                f"{RESULT}{chain}(){path}" + ("[k]" if items and not path.endswith("]") else "")
                for chain, path in paths)
        elif root is None:
            # a call's result (``cfg = get_cfg()``): its changes are of what the function
            # returned (``_mark``), for the build to tell what that is
            base = _call_base(value)
            item = items or type(value) is not ast.Call or type(target) is not ast.Name
            roots = _NOTHING if base is None else frozenset(
                {RESULT + base + ("[k]" if item else "")})  # (``X, y = get_data()``: items)
        else:
            inner = self._roots(name_of(root))
            kind = root[root.index("["):] if root.endswith("]") else ""
            roots = frozenset({root}) if inner is None else frozenset(
                r if r.endswith("]") else r + kind for r in inner)
            roots |= self._deep_roots(value, inner)
            if not items and isinstance(target, (ast.Tuple, ast.List)):  # ``a, b = X.pair``:
                roots = frozenset(r if r.endswith("]") else r + "[k]" for r in roots)  # items
        names = target_names(target)  # (``for i, (k, m) in enumerate(X.items())``: each)
        copied = self._copy_of(value) if isinstance(target, ast.Name) else _NOTHING
        if copied:  # ``ls = list(NET.layers); ls[0].w = v``: what an item of the part holds
            copied |= {r + "[k]" for r in self._copy_of(value, dotted=True)
                       if "." in r and not r.endswith("]")}
        self._bind_names(names, roots, copied)

    def _bound_to_each(self, target: ast.Name, elts: list[ast.expr]) -> None:
        """``for a in (X_TR, X_TE)``, ``for log in [A, B]``: the loop's variable is each
        value the literal holds in turn, so an alias of all of them."""
        roots: frozenset[str] = _NOTHING
        for e in elts:
            self._bound(target, e.value if type(e) is ast.Starred else e,
                        items=type(e) is ast.Starred)
            roots |= self.aliases.get(target.id, _NOTHING)
        if roots:
            self._bind_names([target], roots, _NOTHING)

    def _bind_names(self, names: Sequence[ast.expr], roots: frozenset[str],
                    copied: frozenset[str]) -> None:
        """``_bound``'s locals, each an alias of ``roots`` (or a value of its own when
        there are none) and a shallow copy of ``copied``."""
        for t in names:
            if isinstance(t, ast.Name) and t.id not in self.declared:
                if copied:
                    self.copies[t.id] = copied
                else:
                    self.copies.pop(t.id, None)
                if roots:
                    self.aliases[t.id] = roots
                    self.local.discard(t.id)
                    for r in roots:
                        if r.startswith(RESULT):  # (``e = events()``, ``f = e``)
                            self.result_locals.setdefault(
                                r[len(RESULT):].partition("[")[0].partition("(")[0],
                                set()).add(t.id)
                else:
                    self.aliases.pop(t.id, None)
                    self.local.add(t.id)

    def _deep_roots(self, value: ast.AST, inner: frozenset[str] | None) -> frozenset[str]:
        """``m = self.app.model``, ``a = self.app; m = a.model``: the whole path of
        attributes as well, besides the root ``_root_name`` keeps (``self.app``), for the
        build to find the object a method called on ``m`` changes (``m.train(v)``: the
        model, which another global may hold, not ``self.app``)."""
        chain = chain_of(value) if type(value) is ast.Attribute else None
        if chain is None or (inner is None and len(chain) < 3):
            return _NOTHING
        rest = "".join("." + a for a in chain[1:])
        if inner is None:
            return frozenset({chain[0] + rest})
        return frozenset(r + rest for r in inner if not r.endswith("]")
                         and not r.startswith(RESULT))

    def _namespace_changed(self, key: ast.AST | None) -> None:
        """A global of the function's module rebound through its namespace
        (``globals()["LR"] = v``, ``setattr(sys.modules[__name__], "LR", v)``): as
        ``NAMESPACE.LR`` in ``mutated``, ``NAMESPACE.*`` for a name not spelled out."""
        name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else "*"
        self.mutated.add(f"{NAMESPACE}.{name}")

    def _chained(self, targets: list[ast.expr]) -> None:
        """``t = _MADE[k] = Tracker()``: a local bound with a part of a global to one
        value is an alias of that part too (``return t`` hands it out)."""
        parts = set()
        for target in targets:
            if type(target) is ast.Name:
                continue
            root = _root_name(target, views=True, dotted=True, slices=False, kinds=True)
            if root is not None:
                inner = self._roots(name_of(root))
                kind = root[root.index("["):] if root.endswith("]") else ""
                parts |= {root} if inner is None else {
                    r if r.endswith("]") else r + kind for r in inner}
        for target in targets:
            if parts and type(target) is ast.Name and target.id not in self.declared:
                self.aliases[target.id] = self.aliases.get(target.id, _NOTHING) | parts
                self.local.discard(target.id)

    def _copy_of(self, value: ast.AST, dotted: bool = False) -> frozenset[str]:
        """The names whose values ``value`` is a shallow copy of: ``dict(X)``,
        ``list(X)``, ``copy.copy(X)``, ``X[:]`` (not ``copy.deepcopy``); ``X.copy()`` and
        ``{**X, ...}`` as ``X[c]``: shallow for a dict, a list or a set, a whole copy of
        a frame or an array (the build tells by the value: ``_counts_as_change``). With
        ``dotted``, ``X.a`` for a copy of what ``X``'s attribute ``a`` holds."""
        source: ast.AST | None = None
        kind = ""
        if type(value) is ast.Call:
            f, args = value.func, value.args
            if args and (chain_of(f) or ()) in SHALLOW_COPIES:  # (``sorted(X, key=k)``)
                source = args[0]
            elif type(f) is ast.Attribute and f.attr == "copy" and not args:
                source, kind = f.value, "[c]"
        elif type(value) is ast.Subscript and _is_slice(value.slice):
            source = value.value
        elif type(value) is ast.Dict and None in value.keys:  # ``{**CONFIG, "seed": 1}``
            source, kind = value.values[value.keys.index(None)], "[c]"
        root = _root_name(source, views=True, dotted=dotted) if source is not None else None
        if root is None:
            return _NOTHING
        inner = self._roots(name_of(root))
        return frozenset({root + kind}) if inner is None else frozenset(
            r if r.endswith("]") else r + kind for r in inner if not r.startswith(RESULT))

    def _set_whole(self, target: ast.AST) -> None:
        """``global _CFG; _CFG = load()`` or ``STATE.cfg = load()``: a value set whole
        (``CodeInfo.rebound``)."""
        if type(target) is ast.Name and target.id in self.declared:
            self.rebound.add(target.id)
        elif type(target) is ast.Attribute and type(target.value) is ast.Name:
            self.rebound.add(f"{target.value.id}.{target.attr}")

    def _assigned(self, target: ast.AST) -> None:
        if type(target) is ast.Subscript and _is_own_namespace(target.value):
            self._namespace_changed(target.slice)  # ``globals()["LR"] = v``
            return
        if isinstance(target, (ast.Subscript, ast.Attribute)):
            self._class_changed(target.value)
            root = target.value  # ``X.a = v``, ``X[k] = v``, and deeper: ``X.a.b[k] = v``
            while isinstance(root, (ast.Subscript, ast.Attribute, ast.NamedExpr)):
                root = root.value  # (``(m := APP.model).w = v``: ``APP``'s)
            if isinstance(root, ast.Name):
                # which attribute: ``X.a = v``
                dotted = f"{root.id}.{target.attr}" if isinstance(
                    target, ast.Attribute) and target.value is root else None
                self._mark(root.id, dotted, item=target.value is not root)
                if target.value is not root and any(
                        r.startswith(RESULT) for r in self._roots(root.id) or ()):
                    part = _result_part(target.value)  # ``a = get_app(); a.model.w = v``:
                    for chain, path in self._result_paths(*part) if part else ():  # the
                        self.results.add(f"{chain}:{path[1:]}.{SET_ITEM}")  # object there
                if target.value is not root and root.id in self.copies:
                    self.mutated.update(self.copies[root.id])  # ``cfg["m"]["lr"] = v``
                if self._roots(root.id) is None:
                    self.assigned.add(root.id)
            elif type(root) is ast.Call:  # ``CFG.get("m")["lr"] = v``, ``get_cfg().lr = v``
                self._changed_result(target.value)
        elif isinstance(target, ast.Name) and target.id in self.declared:
            self.mutated.add(target.id)  # a global rebound (read-only ``global``: nothing)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._assigned(t)


def _in_place(method: str, keywords: list[ast.keyword]) -> bool:
    """A method call that changes its object by convention: ``DF.fillna(0, inplace=True)``
    (pandas), ``S.sort(in_place=True)`` (polars), ``T.add_(1)`` (torch: a trailing
    underscore). A computed flag (``inplace=flag``) may be True: it counts too."""
    return (method.endswith("_") and not method.startswith("_")) or any(
        k.arg in ("inplace", "in_place") and not (
            isinstance(k.value, ast.Constant) and k.value.value in (False, None))
        for k in keywords)


_QUERIES = frozenset({"query", "eval", "sql", "execute"})


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


# calls that load code the text does not name (``runpy.run_path("params.py")``)
_LOADERS = frozenset({"run_path", "run_module", "spec_from_file_location", "load_source",
                      "locate"})


def _function_ast(fn: types.FunctionType) -> ast.AST | None:
    """The tree of ``fn`` from ``inspect.getsource`` (when its lines, cut by code
    positions, did not parse as a function: a lambda, a trailing decorator...)."""
    if fn.__name__ == "<lambda>":
        node = _lambda_in_file(fn)
        if node is not None:
            return node
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        _warn_no_source(fn)
        return None
    tree = parse_text(src)
    if tree is None:  # e.g. a lambda in the middle of an expression
        return _lambda_node(fn, src)
    if tree.body and isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return tree.body[0]
    return tree


def _lambda_in_file(fn: types.FunctionType) -> ast.Lambda | None:
    """The lambda's own node in its file's tree (as ``linecache`` has the file), found
    by its first line and, among several there, by the code it compiles to: its key is
    then its own expression, however the statement around it is laid out (a dict of
    lambdas one per line, a lambda wrapped in parentheses or in ``field(...)`` over
    lines), and a neighbour's edit is not its own. None when the file does not parse."""
    code = fn.__code__
    filename = code.co_filename
    if filename not in file_trees:
        file_trees[filename] = parse_text("".join(file_lines(fn, filename)))
    tree = file_trees[filename]
    if tree is None:
        return None
    found = [n for n in ast.walk(tree)
             if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno]
    if len(found) == 1:
        return found[0]
    # several on the line: the one whose code this is, compiled beside the file's imports
    # (Python 3.11 calls a function of an imported module, ``np.log1p(v)``, otherwise)
    imports = _module_imports(tree)
    for node in found:
        try:
            module = compile(ast.Module(body=[*imports, ast.copy_location(ast.Expr(node), node)],
                                        type_ignores=[]), filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if any(type(c) is types.CodeType and _same_shape(c, code) for c in module.co_consts):
            return node
    return None


def _module_imports(tree: ast.Module) -> list[ast.stmt]:
    """The import statements of a module's own scope (in ``if``, ``try``, ``with``
    blocks too; not in a function or class), without ``__future__``'s."""
    out: list[ast.stmt] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, ast.Import) or (
                isinstance(stmt, ast.ImportFrom) and stmt.module != "__future__"):
            out.append(stmt)
        elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for name in ("body", "orelse", "finalbody", "handlers"):
                todo.extend(getattr(stmt, name, None) or ())
    return out


def _lambda_node(fn: types.FunctionType, src: str) -> ast.AST | None:
    """A lambda inside a larger expression: parse the widest line span that parses."""
    import textwrap

    text = textwrap.dedent(src).strip()
    for cut in range(len(text), 0, -1):
        tree = parse_text(text[:cut])
        if tree is not None:
            lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
            if lambdas:
                return lambdas[0]
    _warn_no_source(fn)
    return None


def _warn_no_source(fn: types.FunctionType) -> None:
    if fn.__code__.co_filename == "<string>" and "." in fn.__qualname__:
        return  # generated methods (dataclass __init__...): the class body counts
    if fn.__module__ is None and fn.__code__.co_filename == "<template>":
        return  # a jinja2 template's code, generated in no module: no text to read,
        # nothing to fix; its bytecode counts
    warnings.warn(
        f"cannot read the source of {fn.__module__ or '<unknown module>'}.{fn.__qualname__}; "
        "its bytecode is fingerprinted instead (a Python upgrade will re-execute it)",
        FingerprintWarning,
        stacklevel=outside_stacklevel(),
    )


_DOC_OWNERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)


def _is_docstring(stmt: ast.AST) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


# The stream ``digest_and_refs`` hashes, per node: ``(`` and its type name, its
# fields in order (a list as ``[`` and its length, then its items; anything else as its
# length-prefixed ``type:repr``), then ``)``. It is built as one list of byte strings and
# hashed once: the same bytes as fed piece by piece, without a call into the hasher per
# piece. A node's fields are read by one ``attrgetter`` per node type, and the bytes of
# names and of ``None`` come from a table: most of a tree is identifiers. The commonest
# nodes are emitted whole, in one step, instead of one stack item per field: a node
# without fields (``Load``, ``Add``) as one piece, a ``Name`` (its identifier and context)
# and a ``Constant`` (its value and kind) as theirs (``_whole_name``, ``_whole_constant``);
# so is the closing ``)`` of every other node (``_Piece``).
def digest_and_refs(node: ast.AST, visit: _Scanner | None = None
                     ) -> tuple[str, list[tuple[str, ...]]]:
    """In one iterative pass (no recursion limit; the stream is described above): the
    hash of the AST without line numbers, docstrings and locals' annotations, and the
    name chains the code reads (``np.linalg.norm`` -> ``("np", "linalg", "norm")``);
    ``visit`` sees every node of a type it ``WANTS``."""
    refs: list[tuple[str, ...]] = []
    inner: set[int] = set()  # Attribute/Name nodes inside a chain already recorded
    declared = _declarations(node, set())  # annotated assignments that declare
    stack: list[Any] = [node]
    out: list[bytes] = []
    pop, push, extend, add = stack.pop, stack.append, stack.extend, out.append
    wants = visit.WANTS if visit is not None else frozenset()
    kinds, leaves, names, tails = _NODE_KINDS, _LEAVES, _NAMES, _ATTRIBUTE_TAILS
    name_t, attr_t, const_t, arg_t, args_t, close, str_t, piece_t = (
        ast.Name, ast.Attribute, ast.Constant, ast.arg, ast.arguments, _CLOSE, str, _Piece)
    while stack:
        item = pop()
        t = type(item)
        if t is piece_t:  # a node's closing ``)``
            add(item)
            continue
        if t is str_t or item is None:
            add(leaves.get(item) or _identifier(item))
            continue
        kind = kinds.get(t)
        if kind is None:
            if t is list or isinstance(item, list):
                add(b"[%d" % len(item))
                extend(reversed(item))
                continue
            if not isinstance(item, ast.AST):
                add(_leaf(t, item))
                continue
            kind = _node_kind(t)
        if kind[4]:  # no fields: the whole node at once
            add(kind[0])
            continue
        if t is name_t:
            if id(item) not in inner:
                refs.append((item.id,))
            try:
                b = names.get((item.id, type(item.ctx))) or _whole_name(item)
            except (AttributeError, TypeError):  # built by hand: no context, odd id
                b = _whole_name(item)
            if b is not None:
                add(b)
                continue
        elif t is const_t or t is arg_t or t is args_t:
            b = (_whole_constant(item) if t is const_t else _whole_arg(item) if t is arg_t
                 else _whole_arguments(item, push))
            if b is not None:
                add(b)
                continue
        elif t is ast.AnnAssign or t is ast.ClassDef:  # (``_unannotated``)
            item, t = _unannotated(item, declared)
            kind = kinds.get(t) or _node_kind(t)
        if t in wants:  # (never a Name, Constant or arg: those went on above)
            visit(item)  # type: ignore[misc]
        add(kind[0])
        if t is attr_t:
            if id(item) not in inner:
                _attribute_chain(item, inner, refs)
            try:  # its name and context after its value: one piece with the closer
                b = tails.get((item.attr, type(item.ctx))) or _attribute_tail(item)
            except (AttributeError, TypeError):
                b = _attribute_tail(item)
            if b is not None:
                push(b)
                push(item.value)
                continue
        push(close)
        try:
            fields: Any = kind[1](item)
        except AttributeError:  # a node built by hand, without every field
            fields = tuple(getattr(item, name, None) for name in kind[3])
        if kind[2] >= 0:  # a body that may start with a docstring
            fields = _without_docstring(fields, kind[2], visit)
        extend(reversed(fields))
    return hash_bytes(b"".join(out)), refs


_BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
           ast.Match, ast.match_case, ast.ExceptHandler)


def _unannotated(item: Any, declared: set[int]) -> tuple[Any, type]:
    """``x: T = v`` in a function is ``x = v``: Python neither evaluates nor keeps a
    local's annotation (adding type hints is not a code change). A class met in a
    function has its own fields, which declare (``_declarations``)."""
    if type(item) is ast.ClassDef:
        _declarations(item, declared)
    elif item.value is not None and id(item) not in declared:
        return ast.Assign(targets=[item.target], value=item.value), ast.Assign
    return item, type(item)


def _declarations(node: ast.AST, out: set[int]) -> set[int]:
    """The annotated assignments of a module's or class's own body, in its blocks too
    (``if``, ``try``...), not in the functions it defines: those declare (a dataclass
    field, a pydantic field, a module's ``__annotations__``), where a function's only
    bind a local. Adds them to ``out``, and returns it."""
    body = getattr(node, "body", None)
    if not isinstance(body, list) or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return out
    todo: list[Any] = list(body)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, ast.AnnAssign):
            out.add(id(stmt))
        elif isinstance(stmt, _BLOCKS):
            for name in ("body", "orelse", "finalbody", "handlers", "cases"):
                todo.extend(getattr(stmt, name, ()) or ())
        elif sys.version_info >= (3, 11) and type(stmt).__name__ == "TryStar":
            for name in ("body", "orelse", "finalbody", "handlers"):
                todo.extend(getattr(stmt, name, ()) or ())
    return out


def _attribute_chain(item: ast.Attribute, inner: set[int],
                     refs: list[tuple[str, ...]]) -> None:
    """Record the name chain an ``Attribute`` reads (``np.linalg.norm``) when it starts
    at a ``Name``; the nodes inside it are marked ``inner`` (not chains of their own)."""
    chain = [item.attr]
    base = item.value
    while type(base) is ast.Attribute:
        inner.add(id(base))
        chain.append(base.attr)
        base = base.value
    if type(base) is ast.Name:
        inner.add(id(base))
        chain.append(base.id)
        refs.append(tuple(reversed(chain)))


def _without_docstring(fields: Any, body: int, visit: _Scanner | None) -> Any:
    """A node's fields with its ``body``'s docstring left out (``pass`` if that was all)."""
    stmts = fields[body]
    if not (stmts and _is_docstring(stmts[0])):
        return fields
    if visit is not None:
        visit.docstrings = True
    fields = list(fields)
    fields[body] = stmts[1:] or [ast.Pass()]
    return fields


def _leaf(t: type, value: Any) -> bytes:
    r = f"{t.__name__}:{value!r}".encode("utf-8", "surrogatepass")
    return len(r).to_bytes(4, "little") + r


class _Piece(bytes):
    """Bytes of the stream pushed on the walk's stack (a node's closing ``)``): of a type
    no field of a tree holds, so the walk tells them from a field's value."""


_CLOSE = _Piece(b")")


_LEAVES: dict[str | None, bytes] = {}  # identifier (or None) -> its bytes in the stream


_LEAVES_MAX = 1 << 16


_CONTEXTS = {ast.Load: b"(Load)", ast.Store: b"(Store)", ast.Del: b"(Del)"}


_INTS: dict[int, bytes] = {}  # an int Constant's value -> its bytes


_NAMES: dict[tuple[str, type], bytes] = {}  # (identifier, context type) -> a Name's bytes


_NONE = _leaf(type(None), None)


# Whether the node types emitted whole or in pieces (Name, Attribute, Constant, arg,
# arguments) have the fields they have in Python 3.11-3.13 (else: field by field)
_SHORTCUTS = (ast.Name._fields, ast.Attribute._fields, ast.Constant._fields, ast.arg._fields,
              ast.arguments._fields) == (
    ("id", "ctx"), ("value", "attr", "ctx"), ("value", "kind"),
    ("arg", "annotation", "type_comment"),
    ("posonlyargs", "args", "vararg", "kwonlyargs", "kw_defaults", "kwarg", "defaults"))


_ATTRIBUTE_TAILS: dict[tuple[str, type], _Piece] = {}  # (attr, context type) -> piece


_ARGS: dict[str, bytes] = {}  # name -> an ``arg``'s bytes when it has no annotation


_ARGUMENTS_TAIL = _Piece(_NONE + b"[0[0" + _NONE + b"[0)")  # vararg .. defaults, closer


_CONSTANTS = frozenset({int, float, complex, bytes, bool, type(None), type(...)})  # a


def _identifier(name: str | None) -> bytes:
    """A name's (or ``None``'s) bytes in the stream, from (and into) ``_LEAVES``."""
    b = _LEAVES.get(name)
    if b is None:
        b = _leaf(type(name), name)
        if len(_LEAVES) < _LEAVES_MAX:
            _LEAVES[name] = b
    return b


def _whole_name(node: ast.Name) -> bytes | None:
    """A ``Name``'s bytes in the stream, as the walk would emit them field by field
    (kept in ``_NAMES``); None for one built by hand (another identifier or context)."""
    ident, ctx = getattr(node, "id", None), type(getattr(node, "ctx", None))
    if type(ident) is not str or ctx not in _CONTEXTS or not _SHORTCUTS:
        return None
    b = b"(Name" + _identifier(ident) + _CONTEXTS[ctx] + b")"
    if len(_NAMES) < _LEAVES_MAX:
        _NAMES[(ident, ctx)] = b
    return b


def _attribute_tail(node: ast.Attribute) -> _Piece | None:
    """What the walk emits of an ``Attribute`` after its value (its name, context and
    closer), kept in ``_ATTRIBUTE_TAILS``; None for one built by hand."""
    attr, ctx = getattr(node, "attr", None), type(getattr(node, "ctx", None))
    if (type(attr) is not str or ctx not in _CONTEXTS or not hasattr(node, "value")
            or not _SHORTCUTS):
        return None
    b = _Piece(_identifier(attr) + _CONTEXTS[ctx] + b")")
    if len(_ATTRIBUTE_TAILS) < _LEAVES_MAX:
        _ATTRIBUTE_TAILS[(attr, ctx)] = b
    return b


def _whole_arg(node: ast.arg) -> bytes | None:
    """An ``arg`` without annotation, whole (kept in ``_ARGS``); None for another."""
    name = getattr(node, "arg", None)
    if type(name) is not str or getattr(node, "annotation", 0) is not None or not _SHORTCUTS:
        return None
    b = _ARGS.get(name)
    if b is None:
        b = b"(arg" + _identifier(name) + _NONE + b")"
        if len(_ARGS) < _LEAVES_MAX:
            _ARGS[name] = b
    return b


def _whole_arguments(node: ast.arguments, push: Callable[[Any], None]) -> bytes | None:
    """The opening of the usual ``arguments`` (positional ones only, no defaults), with
    its ``args`` and the piece of its five empty fields after them pushed for the walk;
    None, with nothing pushed, for another."""
    if not _SHORTCUTS:
        return None
    try:
        posonly, args, vararg, kwonly, kw_defaults, kwarg, defaults = (
            node.posonlyargs, node.args, node.vararg, node.kwonlyargs, node.kw_defaults,
            node.kwarg, node.defaults)
    except AttributeError:
        return None
    if (type(posonly) is not list or posonly or vararg is not None or type(kwonly) is not list
            or kwonly or type(kw_defaults) is not list or kw_defaults or kwarg is not None
            or type(defaults) is not list or defaults):
        return None
    push(_ARGUMENTS_TAIL)
    push(args)
    return b"(arguments[0"


def _whole_constant(node: ast.Constant) -> bytes | None:
    """A ``Constant``'s bytes in the stream, as the walk would emit them field by field;
    None when its value is not a plain one (a hand-built node holding a tree, a list)."""
    try:
        value, kind = node.value, node.kind
    except AttributeError:
        return None
    if not _SHORTCUTS:
        return None
    t = type(value)
    if t is str:
        b = _LEAVES.get(value)  # type: ignore[arg-type]
        if b is None:
            b = _leaf(t, value)
    elif t is int:  # (only ints: 1 == 1.0 == True, so no table of mixed types)
        number: Any = value
        b = _INTS.get(number)
        if b is None:
            b = _leaf(t, number)
            if len(b) <= 64 and len(_INTS) < 4096:
                _INTS[number] = b
    elif t in _CONSTANTS:
        b = _leaf(t, value)
    else:
        return None
    if kind is None or kind == "u":  # ``u"x"`` is ``"x"`` (pyupgrade drops the prefix)
        return b"(Constant" + b + _NONE + b")"
    if type(kind) is str:
        return b"(Constant" + b + _leaf(str, kind) + b")"
    return None


# Per AST node type: its opening bytes (the whole node's when it has no fields), a
# getter of the fields hashed (``type_comment`` never is) as a tuple, the index among
# them of a ``body`` whose docstring is skipped (-1: none), the fields' names, and
# whether it has none
_NODE_KINDS: dict[type, tuple[bytes, Callable[[Any], tuple[Any, ...]], int, tuple[str, ...],
                              bool]] = {}


def _node_kind(t: type) -> tuple[bytes, Callable[[Any], tuple[Any, ...]], int, tuple[str, ...],
                                 bool]:
    fields = tuple(f for f in t._fields if f != "type_comment")  # type: ignore[attr-defined]
    body = fields.index("body") if issubclass(t, _DOC_OWNERS) and "body" in fields else -1
    get: Callable[[Any], tuple[Any, ...]]
    if t is ast.Constant and fields == ("value", "kind"):  # as ``_whole_constant``
        get = lambda n: (n.value, None if n.kind == "u" else n.kind)  # noqa: E731
    elif len(fields) > 1:
        get = operator.attrgetter(*fields)
    elif fields:
        one = operator.attrgetter(fields[0])
        get = lambda n: (one(n),)  # noqa: E731
    else:
        get = lambda n: ()  # noqa: E731
    opening = b"(" + t.__name__.encode()
    kind = _NODE_KINDS[t] = (opening + b")" if not fields else opening, get, body, fields,
                             not fields)
    return kind


def bytecode_digest(code: types.CodeType) -> str:
    """The key of code whose text is not known (a cell run by ``exec`` or ``%%time``, a
    file changed since its import): its shape (``code_shape``), so ``def f(*items)`` and
    ``def f(items)`` differ (argument counts and flags), and a set constant hashes the
    same under every hash seed."""
    return hash_text("bytecode", code_shape(code))
