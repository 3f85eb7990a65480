"""The class statement a class was made by, as a tree (its body is part of its code).

``inspect.getsource`` finds a class by name: before Python 3.13 it gives the *first*
``class`` statement of that qualified name in the file. A file may hold several (a
``try: import torch`` branch and its ``except ImportError`` fallback, a script exported
from a notebook, a class redefined further down), and the one that ran may be another.
Then the one that ran is told by ``__firstlineno__`` (3.13) or by the lines of its own
methods' code; when nothing tells, every statement of that name counts (an edit of any
re-executes: the fingerprint never picks one by guess).

A class of a notebook cell has no file for ``inspect``: it is found in the cell that
holds its methods' code.
"""

from __future__ import annotations

import ast
import inspect
import re
import types
from typing import Any

from .code_text import file_lines, parse_text


def class_node(cls: type) -> ast.ClassDef | ast.Module | None:
    """The ``ClassDef`` that made ``cls``, or a ``Module`` of every one it may have been,
    or None when no text of it is found."""
    try:
        tree = parse_text(inspect.getsource(cls))
    except Exception:  # (OSError, TypeError; a metaclass's ``__getattr__`` raising
        tree = None  # KeyError for ``__wrapped__``, which ``inspect`` looks up)
    if tree is not None and tree.body and isinstance(tree.body[0], ast.ClassDef):
        return _among_namesakes(cls) or tree.body[0]
    return _in_methods_file(cls)


def _among_namesakes(cls: type) -> ast.ClassDef | ast.Module | None:
    """When ``cls``'s file has more than one ``class`` statement of its name: the one
    that ran, or a ``Module`` of the candidates. None when it has one (the common case,
    told from the text without parsing it)."""
    try:
        filename = inspect.getsourcefile(cls)
    except TypeError:
        return None
    if filename is None:
        return None
    text = "".join(file_lines(cls, filename))
    pattern = rf"^[ \t]*class[ \t]+{re.escape(cls.__name__)}\b"
    if len(re.findall(pattern, text, re.MULTILINE)) < 2:
        return None
    module = parse_text(text)
    found = [n for n, qual in _classes(module.body if module else [], "")
             if qual == cls.__qualname__]
    if len(found) < 2:
        return found[0] if found else None
    first = getattr(cls, "__firstlineno__", None)  # (Python 3.13+)
    if isinstance(first, int):
        found = [n for n in found if _first_line(n) == first] or found
    lines = _own_code_lines(cls, filename)
    if lines:
        found = [n for n in found if any(_first_line(n) <= ln <= (n.end_lineno or n.lineno)
                                         for ln in lines)] or found
    return found[0] if len(found) == 1 else ast.Module(body=list(found), type_ignores=[])


def _classes(body: list[ast.stmt], prefix: str) -> list[tuple[ast.ClassDef, str]]:
    """Every class statement under ``body``, with its qualified name (the branches of
    an ``if``, a ``try`` and its handlers, a ``with``, a ``match`` are the same level; a
    function's body is ``<locals>``)."""
    out: list[tuple[ast.ClassDef, str]] = []
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.ClassDef):
            out.append((node, prefix + node.name))
            out += _classes(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out += _classes(node.body, f"{prefix}{node.name}.<locals>.")
        elif not isinstance(node, ast.expr):  # (no class statement in an expression)
            todo[:0] = ast.iter_child_nodes(node)
    return out


def _first_line(node: ast.ClassDef) -> int:
    return node.decorator_list[0].lineno if node.decorator_list else node.lineno


def _own_code_lines(cls: type, filename: str) -> list[int]:
    """First lines of the code of ``cls``'s own methods that was compiled from
    ``filename`` (not a dataclass's generated ones, from ``<string>``)."""
    out = []
    for member in vars(cls).values():
        code = _code_of(member)
        if code is not None and code.co_filename == filename:
            out.append(code.co_firstlineno)
    return out


def _code_of(member: Any) -> types.CodeType | None:
    if isinstance(member, property):
        member = member.fget
    fn = getattr(member, "__func__", member)
    code = getattr(fn, "__code__", None)
    return code if isinstance(code, types.CodeType) else None


def _in_methods_file(cls: type) -> ast.ClassDef | None:
    """No file for the class's module (a notebook cell): the class in the file that
    holds its methods' code (any of them: a class that came by value lists its members
    in another order, a dataclass's generated ones first, from ``<string>``)."""
    path = cls.__qualname__.split(".")
    for member in vars(cls).values():
        fn = getattr(member, "__func__", member)
        code = getattr(fn, "__code__", None)
        if code is None or code.co_filename == "<string>":
            continue
        module_tree = parse_text("".join(file_lines(fn, code.co_filename)))
        if module_tree is None:
            continue
        for node in ast.walk(module_tree):
            if isinstance(node, ast.ClassDef) and node.name == path[-1] and any(
                (s.name == fn.__name__ and s.lineno == code.co_firstlineno)
                or (s.decorator_list and s.decorator_list[0].lineno == code.co_firstlineno)
                for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
            ):
                return node
    return None
