"""Which code a pickle refers to: the globals (classes, functions) it names.

Unpickling imports ``module`` and looks up ``qualname`` for every global the bytes
name, so a pickled artifact means something only together with that code. The cache
uses this list to fold the code of the user's own classes referenced by an artifact
into the keys of the steps downstream of it.

The scan reads the opcodes (``pickletools.genops``) and never unpickles anything.
"""

from __future__ import annotations

import io
import pickletools
import sys
from typing import IO, Any

# Python 2 names that pickle protocols 0-2 write for builtins / copyreg (fix_imports).
_IGNORED = frozenset({"builtins", "copyreg", "_codecs", "__builtin__", "copy_reg"})
_STRING_OPS = frozenset(
    {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
     "SHORT_BINSTRING", "BINSTRING", "STRING"}
)
_GET_OPS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_PUT_OPS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_EXT_OPS = frozenset({"EXT1", "EXT2", "EXT4"})


def pickle_globals(data: bytes | bytearray | memoryview | IO[bytes]) -> list[str]:
    """The sorted ``"module:qualname"`` globals referenced by the pickle ``data``.

    Standard-library modules (by top-level package, ``sys.stdlib_module_names``),
    ``builtins``, ``copyreg`` and ``_codecs`` are left out: they are not the user's code.
    ``data`` may also be a binary file object, read sequentially. Raises ``ValueError``
    when the bytes are not a pickle.
    """
    return scan_pickle(data)[0]


_SET_OPS = frozenset({"EMPTY_SET", "FROZENSET"})


def scan_pickle(data: bytes | bytearray | memoryview | IO[bytes]) -> tuple[list[str], bool]:
    """``pickle_globals(data)``, and whether the pickle builds a set or a frozenset
    (whose elements it writes in the pickling process's order: ``PickleMaterializer``
    writes such a value again, sorted)."""
    sets = False
    stream: IO[bytes] = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    found: set[tuple[str, str]] = set()
    strings: list[str] = []  # the string pushes, most recent last (only two are needed)
    memo: dict[int, str | None] = {}
    last: str | None = None  # the object the previous push put on the stack, if a string
    try:
        for op, arg_, _pos in pickletools.genops(stream):
            arg: Any = arg_
            name = op.name
            if name in _STRING_OPS:
                last = arg if isinstance(arg, str) else None
                if last is not None:
                    strings.append(last)
                    del strings[:-2]
            elif name == "MEMOIZE":
                memo[len(memo)] = last
            elif name in _PUT_OPS:
                memo[int(arg)] = last
            elif name in _GET_OPS:
                last = memo.get(int(arg))
                if last is not None:
                    strings.append(last)
                    del strings[:-2]
            elif name in ("GLOBAL", "INST"):
                module, _, qualname = str(arg).partition(" ")
                found.add((module, qualname))
                last = None
            elif name == "STACK_GLOBAL":
                if len(strings) == 2:
                    found.add((strings[0], strings[1]))
                strings.clear()
                last = None
            elif name in _SET_OPS:
                sets = True
                last = None
            elif name in _EXT_OPS:
                import copyreg

                key = getattr(copyreg, "_inverted_registry", {}).get(int(arg))
                if key is not None:
                    found.add((str(key[0]), str(key[1])))
                last = None
            elif op.stack_after:
                last = None  # something other than a string was pushed
    except ValueError:
        raise
    except Exception as exc:  # truncated or garbled bytes
        raise ValueError(f"not a pickle: {type(exc).__name__}: {exc}") from None
    return sorted(f"{m}:{q}" for m, q in found if not is_python_own(m)), sets


def is_python_own(module: str) -> bool:
    """Whether ``module`` is the standard library's (or builtins, copyreg): not code that
    a pickle's meaning depends on beyond the Python version."""
    if module in _IGNORED:
        return True
    top = module.split(".", 1)[0]
    if top not in sys.stdlib_module_names:
        return False
    # a module of the user's may have a standard one's name (``code.py``, an ``email``
    # package in the project): the file it was loaded from decides
    from .tokens import in_stdlib

    file = getattr(sys.modules.get(top), "__file__", None)
    return not isinstance(file, str) or in_stdlib(file)


__all__ = ["is_python_own", "pickle_globals", "scan_pickle"]
