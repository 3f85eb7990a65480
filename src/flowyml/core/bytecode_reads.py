"""What a function's bytecode shows it reads besides its names: environment variables
(``os.environ["X"]``, ``os.getenv("X")``, ``os.path.expandvars("$X/data")``, or the
whole environment when the name is computed) and ``__subclasses__()`` of a class. Pure functions of code objects; the
fingerprint turns what they find into parts."""

from __future__ import annotations

import dis
import os
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

WHOLE_ENV: frozenset[str] = frozenset({"\0"})  # os.environ read as a whole (its token)


_NO_ENV: frozenset[str] = frozenset()


_ENV_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FAST", "LOAD_DEREF"})


def env_reads(codes: list[types.CodeType], globs: Mapping[str, Any],
               local: Mapping[str, Any], loaded: Sequence[str]
               ) -> tuple[frozenset[str], frozenset[str]]:
    """The environment variables ``codes`` (a ``code_tree``) read by a literal
    name (``os.getenv("X")``, ``os.environ.get("X")``, ``os.environ["X"]``,
    ``"X" in os.environ``), or ``WHOLE_ENV`` when it uses ``os.environ`` any other way
    (a computed name, a copy, iteration): then the whole environment counts, by token.
    And the variables it changes (``os.environ["X"] = ...``, ``setdefault("X", v)``,
    ``pop("X")``), or ``WHOLE_ENV`` when it changes it otherwise (``update``, a computed
    name, ``os.putenv``). Read from the bytecode, decoded only for code that names them.
    ``loaded``: the names ``codes`` load (``_names_of``)."""
    environ, getenv, expandvars = os.environ, os.getenv, os.path.expandvars
    setters = (os.putenv, getattr(os, "unsetenv", os.putenv))
    watched = {id(environ), id(getenv), id(expandvars), *map(id, setters)}
    # the globals bound to them that the code names (``ENV = os.environ``): only a name
    # it loads can reach one, so its names are looked up, not the module's every global
    # (a module of a thousand pipelines was scanned whole for each one's build); first
    # all at once, in C: most code names none
    aliases: set[str] = set() if watched.isdisjoint(map(id, map(globs.get, loaded))) else {
        n for n in loaded if id(globs.get(n)) in watched}
    if local:
        aliases.update(k for k, v in local.items() if id(v) in watched)
    hot = [c for c in codes if not (_ENV_NAMES.isdisjoint(c.co_names) and aliases.isdisjoint(
        c.co_names) and aliases.isdisjoint(c.co_varnames))] if aliases else [
        c for c in codes if not _ENV_NAMES.isdisjoint(c.co_names)]
    if not hot:  # most code: no name it uses can reach the environment
        return _NO_ENV, _NO_ENV

    def resolve(name: str) -> Any:
        return local[name] if name in local else globs.get(name)

    names: set[str] = set()
    written: set[str] = set()
    whole = wrote_any = False
    for c in hot:
        ins = list(dis.get_instructions(c))
        for i, x in enumerate(ins):
            if x.opname not in _ENV_LOADS or not isinstance(x.argval, str):
                continue
            obj, j = resolve(x.argval), i
            while (not any(obj is w for w in watched) and isinstance(obj, types.ModuleType)
                   and j + 1 < len(ins) and ins[j + 1].opname in _ATTR_LOADS):
                obj = getattr(obj, str(ins[j + 1].argval), None)
                j += 1
            changed = "" if any(obj is w for w in setters) else (
                _env_written(ins, j, resolve) if obj is environ else None)
            if changed:
                written.add(changed)
            elif changed is not None:  # some variable, or several
                wrote_any = True
            elif obj is expandvars:  # the variables a literal template names
                template = _literal_env_read(ins, i, j, True, resolve)
                if template is None:
                    whole = True
                else:
                    names.update(filter(None, (next(filter(None, m), "")
                                               for m in _EXPANDED.findall(template))))
            elif obj is environ or obj is getenv:
                var = _literal_env_read(ins, i, j, obj is getenv, resolve)
                if var is None:
                    whole = True
                else:
                    names.add(var)
    return ((WHOLE_ENV if whole else frozenset(names) if names else _NO_ENV),
            WHOLE_ENV if wrote_any else frozenset(written) if written else _NO_ENV)


_ENV_NAMES = frozenset({"environ", "getenv", "putenv", "unsetenv", "expandvars"})
# what ``os.path.expandvars`` replaces: ``$NAME``, ``${NAME}`` (and on Windows ``%NAME%``)
_EXPANDED = re.compile(r"\$(\w+)|\$\{([^}]*)\}" if os.name != "nt" else
                       r"\$(\w+)|\$\{([^}]*)\}|%([^%]*)%")


_ENV_WRITERS = frozenset({"update", "setdefault", "pop", "popitem", "clear", "__setitem__",
                          "__delitem__"})


def _env_written(ins: list[dis.Instruction], j: int, resolve: Callable[[str], Any]
                 ) -> str | None:
    """The variable the use of ``os.environ`` loaded by ``ins[..j]`` sets or deletes by a
    literal name (``environ["X"] = v``, ``environ.setdefault("X", v)``), "" when it
    changes it otherwise (``update``, ``clear``, a computed name), None when it does not
    change it."""
    nxt = ins[j + 1:j + 3]
    if nxt and nxt[0].opname in _ATTR_LOADS and nxt[0].argval in _ENV_WRITERS:
        if nxt[0].argval in ("setdefault", "pop", "__setitem__", "__delitem__") and len(nxt) == 2:
            return _literal(nxt[1], resolve) or ""
        return ""
    if len(nxt) == 2 and nxt[1].opname in ("STORE_SUBSCR", "DELETE_SUBSCR"):
        return _literal(nxt[0], resolve) or ""
    return None


def _literal(x: dis.Instruction, resolve: Callable[[str], Any] | None) -> str | None:
    """The string ``x`` loads: a constant, or a global string constant's value."""
    if x.opname == "LOAD_CONST" and isinstance(x.argval, str):
        return x.argval
    if x.opname in ("LOAD_GLOBAL", "LOAD_NAME") and resolve is not None and isinstance(
            x.argval, str):
        value = resolve(x.argval)
        return value if type(value) is str else None
    return None


def _literal_env_read(ins: list[dis.Instruction], i: int, j: int, getenv: bool,
                      resolve: Callable[[str], Any] | None = None) -> str | None:
    """The variable named by a literal in the use of ``os.getenv`` / ``os.environ``
    loaded by ``ins[i:j + 1]``, or None for any other use (``getenv("X_" + k)`` too).
    A global string constant is a literal too (``KEY = "DEPTH"``, ``getenv(KEY)``): its
    value counts as a constant of the code, so the name it gives is the one read."""

    def literal(x: dis.Instruction) -> str | None:
        return _literal(x, resolve)

    def call_with_literal(k: int) -> str | None:
        """``ins[k]`` is a literal string that is the call's first argument: the call
        follows at once, or after one simple default (a constant or a name)."""
        name = literal(ins[k]) if k < len(ins) else None
        if name is None:
            return None
        rest = [x.opname for x in ins[k + 1:k + 3]]
        if rest[:1] and (rest[0] in _CALLS or (rest[0] in _SIMPLE_LOADS and rest[1:2]
                                               and rest[1] in _CALLS)):
            return name
        return None

    if getenv:  # getenv("X"), getenv("X", default)
        return call_with_literal(j + 1)
    nxt = ins[j + 1:j + 3]
    ops = [n.opname for n in nxt]
    if ops[:1] and ops[0] in _ATTR_LOADS and nxt[0].argval == "get":  # environ.get("X", d)
        return call_with_literal(j + 2)
    if len(nxt) == 2 and ops[1] == "BINARY_SUBSCR" and literal(nxt[0]) is not None:
        return literal(nxt[0])  # environ["X"], environ[KEY]
    before = ins[i - 1] if i > 0 else None  # "X" in environ
    if ops[:1] == ["CONTAINS_OP"] and before is not None and literal(before) is not None:
        return literal(before)
    return None


_ATTR_LOADS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})


_CALLS = frozenset({"PRECALL", "CALL", "CALL_FUNCTION", "CALL_METHOD", "KW_NAMES",
                    "CALL_KW", "CALL_FUNCTION_KW"})


_SIMPLE_LOADS = frozenset({"LOAD_CONST", "LOAD_GLOBAL", "LOAD_NAME", "LOAD_FAST",
                           "LOAD_DEREF"})


def subclass_reads(codes: list[types.CodeType]) -> tuple[list[tuple[str, ...]], bool]:
    """The classes whose ``__subclasses__`` ``codes`` (a ``code_tree``) read, as
    global name chains (``Base``, ``plugins.Base``), and whether it reads that of a class
    it does not name (``type(x).__subclasses__()``, a parameter's). From the bytecode:
    nothing is decoded unless the name is there."""
    chains: list[tuple[str, ...]] = []
    unknown = False
    for c in codes:
        if "__subclasses__" not in c.co_names:
            continue
        ins = list(dis.get_instructions(c))
        for i, x in enumerate(ins):
            if x.opname not in _ATTR_LOADS or x.argval != "__subclasses__":
                continue
            j, attrs = i - 1, []
            while j >= 0 and ins[j].opname in _ATTR_LOADS:
                attrs.append(str(ins[j].argval))
                j -= 1
            if j >= 0 and ins[j].opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                chains.append((str(ins[j].argval), *reversed(attrs)))
            else:
                unknown = True
    return chains, unknown
