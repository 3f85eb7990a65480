"""Canonical value tokens: equal values give equal digests in every process.

A value token is the BLAKE3 of a canonical walk of the value, never of memory
addresses or of orders that follow the hash seed:

- dicts, sets and frozensets are hashed as *sorted* collections of their items'
  digests, so a set of strings agrees across ``PYTHONHASHSEED`` values; a dict's
  order is observable (``list(FEATURES)``, the columns a loop over ``.items()``
  builds), so an ``ordered`` tokenizer (the one keys are made with) adds the order of
  its keys when it is not the sorted one: ``{"a": 1, "b": 2}`` and ``{"b": 2, "a": 1}``
  differ, and a dict built by iterating a set follows the hash seed, like its order;
- numpy arrays by dtype, shape and bytes; object arrays element by element (their
  ``tobytes()`` would be pointers);
- other objects through the pickle reduce protocol (``__reduce_ex__``), walked with
  the same rules, so a dataclass holding a set, or a pydantic model (whose state holds
  ``__pydantic_fields_set__``, a set), is canonical too;
- functions, classes and modules met on the way count by qualified name, and are
  handed to ``on_code`` so the caller can fingerprint the code they carry: a
  configuration object's methods, a function stored in a dict.

What cannot be walked (a lock, an open file) raises ``Opaque``; the caller decides to
warn and re-execute rather than guess.
"""

from __future__ import annotations

import copyreg
import enum
import functools
import io
import os
import sys
import types
from collections.abc import Callable
from typing import Any

import blake3

from . import rng
from .code_text import code_shape
from .hashing import digest as small_digest
from .native_reads import QUERY_TYPES

_PRIMITIVES = (type(None), bool, int, float, complex, str, bytes)
_PRIMITIVE_SET = frozenset(_PRIMITIVES)  # one hash, not a scan of the tuple
_CODE_TYPES = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.ModuleType,
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    types.ClassMethodDescriptorType,
    type,
)
MAX_DEPTH = 200
MAX_NODES = 1_000_000
_TOO_DEEP = "nested too deeply"
_TOO_MANY = f"more than {MAX_NODES} objects to walk"


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # flowyml/


def _raised_by_user(exc: BaseException) -> bool:
    """Whether the innermost Python frame ``exc`` went through is code outside this
    package: a value's own code (a property, ``__reduce__``) that raised."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last, tb = tb.tb_frame, tb.tb_next
    return last is not None and not last.f_code.co_filename.startswith(_PACKAGE + os.sep)


class Opaque(Exception):
    """A value that has no canonical form (it cannot be reduced)."""

    def __init__(self, type_name: str, why: str) -> None:
        super().__init__(f"{type_name}: {why}")
        self.type_name = type_name
        self.why = why


def qualified_name(obj: Any) -> str:
    """``module:qualname`` of a function, class or module."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(qual, str):
        qual = "?"
    if not isinstance(module, str):  # scipy's ufuncs: the module that has them
        module = (home_module(obj, qual) if qual != "?" else None) or type(obj).__module__ or "?"
    return f"{module}:{qual}"


def bound_data(obj: Any) -> Any:
    """The object a built-in method (or method-wrapper) is bound to when that is data
    its calls read (a str's ``format``, a dict's ``get``, a compiled pattern's ``sub``),
    else None: a module (``print``, ``math.sqrt``), a class (``dict.fromkeys``) or a
    standard stream, an open file or a lock (``sys.stdout.write``, ``log.write``,
    ``lock.acquire``: no data its calls read)."""
    if not isinstance(obj, (types.BuiltinMethodType, types.MethodWrapperType)):
        return None  # (a compiled pattern's ``sub`` is a subclass: ``builtin_method``)
    try:
        owner = obj.__self__
    except Exception:
        return None
    if owner is None or isinstance(owner, (types.ModuleType, type)) or any(
            owner is s for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)):
        return None
    if type(owner).__module__ == "_thread" or (
            isinstance(owner, io.IOBase) and _write_only(owner)):
        return None  # a file written to (output, as a stream is), a lock: no data read
    return owner  # (a file open for reading: its content, which has no token)


def _write_only(f: io.IOBase) -> bool:
    """Whether ``f`` is open and only for writing (closed, or a custom stream whose
    checks raise: not known to be)."""
    try:
        return not f.closed and f.writable() and not f.readable()
    except Exception:
        return False


def _primitive(t: type, v: Any) -> bytes:
    """The bytes a primitive value adds to a token: its type and repr, length-prefixed
    (an int too long for ``repr``, past ``sys.set_int_max_str_digits``: its hex)."""
    try:
        r = f"{t.__name__}:{v!r}".encode("utf-8", "surrogatepass")
    except ValueError:
        r = f"{t.__name__}:{hex(v)}".encode()
    return len(r).to_bytes(8, "little") + r


class _NotPlain(Exception):
    """``_plain`` met something the general walk must handle."""


_PLAIN_LEN, _PLAIN_DEPTH, _PLAIN_NODES = 64, 16, 2000


def _order(keys: list[bytes], items: list[bytes]) -> bytes:
    """What an ordered token adds to a dict's sorted items: nothing when its keys come
    in the sorted items' order, else the key digests in the dict's own order (so each
    order of the same items has its own bytes)."""
    if len(keys) < 2 or all(item.startswith(k) for k, item in zip(keys, items, strict=True)):
        return b""
    return b"order%d" % len(keys) + b"".join(keys)


def _plain(v: Any, depth: int, budget: list[int], ordered: bool = False) -> bytes:
    """The bytes ``Tokenizer._walk`` feeds its hash for ``v`` when ``v`` is primitives
    in small lists, tuples and dicts: the same digest, without the walk's bookkeeping
    (a run tokenizes every step's declaration, ~3x faster this way). Anything else, a
    big or deep container or a cycle, raises ``_NotPlain`` for the general walk."""
    t = type(v)
    if t in _PRIMITIVE_SET:
        return _primitive(t, v)
    budget[0] -= 1
    if depth >= _PLAIN_DEPTH or budget[0] < 0 or (
            (t is list or t is tuple or t is dict) and len(v) > _PLAIN_LEN):
        raise _NotPlain
    d = depth + 1
    if t is list or t is tuple:
        out = [_OPENERS[t] % len(v)]
        for x in v:  # (a primitive item without a call)
            tx = type(x)
            out.append(_primitive(tx, x) if tx in _PRIMITIVE_SET else _plain(x, d, budget, ordered))
        out.append(b"]")
        return b"".join(out)
    if t is dict:
        # a string key's digest, and a short scalar value's, straight from ``_SUBS``
        # when it is there (most are: the same names and flags in every declaration)
        subs = _SUBS
        keys, items = [], []
        for k, x in v.items():
            key = (type(k) is str and subs.get((str, k))) or _plain_sub(k, d, budget, ordered)
            tx = type(x)
            keys.append(key)
            items.append(key + ((tx in _SUB_TYPES and subs.get((tx, x)))
                                or _plain_sub(x, d, budget, ordered)))
        items.sort()
        return b"".join([b"dict[%d" % len(items), *items,
                         _order(keys, items) if ordered else b"", b"]"])
    raise _NotPlain


def _containers(v: Any, out: list[int]) -> None:
    """The ids of the containers ``_plain`` walked (the value's, and those inside it)."""
    todo = [v]
    while todo:
        x = todo.pop()
        t = type(x)
        if t is dict:
            out.append(id(x))
            todo.extend(x.keys())
            todo.extend(x.values())
        elif t is list or t is tuple:
            out.append(id(x))
            todo.extend(x)


_OPENERS: dict[type, bytes] = {list: b"list[%d", tuple: b"tuple[%d"}  # what the walk writes before the items


_SUBS: dict[tuple[type, Any], bytes] = {}  # short keys and scalars: the same in every step
_SUB_TYPES = frozenset({str, int, bool, type(None)})  # the types ``_SUBS`` keeps


def _plain_sub(v: Any, depth: int, budget: list[int], ordered: bool = False) -> bytes:
    """The digest of ``v`` as an item of a dict (``Tokenizer._sub``)."""
    t = type(v)
    if (t is str and len(v) <= 64) or t is int or t is bool or v is None:  # primitives
        hit = _SUBS.get((t, v))
        if hit is None:
            hit = small_digest(_primitive(t, v))  # what ``_plain`` gives them
            if len(_SUBS) < 4096:
                _SUBS[(t, v)] = hit
        return hit
    if (t is dict or t is list or t is tuple) and not v:  # most declarations' inputs={}
        # (the type first: the truth of an array, a Series or ``pd.NA`` raises)
        hit = _SUBS.get((t, None))
        if hit is None:
            hit = _SUBS[(t, None)] = small_digest(_plain(v, depth, budget, ordered))
        return hit
    return small_digest(_plain(v, depth, budget, ordered))


_DICT_VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))
_JSON_SETTINGS = ("object_hook", "object_pairs_hook", "parse_float", "parse_int",
                  "parse_constant", "strict")


_PICKLING = ("__getstate__", "__reduce__", "__reduce_ex__")
_ABSENT = object()


@functools.lru_cache(maxsize=1024)
def _pickles_its_own_way(t: type) -> bool:
    """Whether a class of the user's in ``t``'s MRO says how its instances pickle
    (``__getstate__``, ``__reduce__``, ``__reduce_ex__`` written in your code, not
    made by a library: attrs' slotted classes): what it keeps is what remakes the
    object, which may leave out what the object holds now."""
    return any(maybe_users(c) and any(maybe_users(getattr(vars(c).get(n), "__func__", vars(c).get(n)))
                                      for n in _PICKLING) for c in t.__mro__)


def _own_attributes(v: Any) -> dict[str, Any]:
    """``v``'s instance attributes and the values of its slots, by name."""
    out = dict(getattr(v, "__dict__", None) or {})
    for c in type(v).__mro__:
        slots = vars(c).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(v, name):
                out[f"{c.__qualname__}.{name}"] = getattr(v, name)
    return out


def _reducer(t: type, top: bool = False) -> Callable[[Any], Any] | None:
    """What stands for a value of a standard type that does not pickle but shows all it
    holds: a ``struct.Struct`` (its format), a view of a dict (the dict), a
    ``json.JSONDecoder`` (its settings; its C scanner is made from them). Without one
    a step reading such a global re-executed every run. Also, as the value itself
    (``top``), a lock and a log open for appending (``_SYNC``, ``_append_only``). None
    for any other type."""
    if t in _DICT_VIEWS:
        return lambda v: (t, (dict(v.mapping),))
    module = t.__module__
    if module == "_struct" and t.__name__ == "Struct":
        return lambda v: (t, (v.format,))
    if module == "json.decoder" and t.__name__ == "JSONDecoder":
        return lambda v: (t, (), {k: getattr(v, k, None) for k in _JSON_SETTINGS})
    if module == "_contextvars" and t.__name__ == "ContextVar":  # its value here and now
        return _context_var
    if module == "functools" and t.__name__ == "KeyWrapper":  # ``cmp_to_key(f)``: ``f``
        return _key_wrapper
    if (module, t.__name__) in _SYNC:
        return (lambda v: (t, ())) if top else None  # (held by an object: no pickle)
    if module == "_io" and t.__name__ in _FILES:
        return _append_only if top else None
    logging = sys.modules.get("logging")
    if logging is not None and issubclass(t, logging.Logger):
        return _logger
    return None


def _logger(v: Any) -> tuple[Any, ...]:
    """A logger by its name and by what ``isEnabledFor`` answers from it (its effective
    level, whether it is disabled, ``logging.disable``). ``__main__``'s counts by the
    name the script has when imported: ``getLogger(__name__)`` is ``__main__``'s under
    ``python pipe.py`` and ``pipe``'s under ``flowyml run pipe.py``, one key for both."""
    name = v.name
    if name == "__main__" or name.startswith("__main__."):
        name = _main_name() + name[len("__main__"):]
    return (type(v), (name,), {"level": v.getEffectiveLevel(), "disabled": bool(v.disabled),
                               "disable": v.manager.disable})


def _main_name() -> str:
    """The name ``__main__``'s file has as a module, told by the file alone, as
    ``flowyml run`` imports it and as a worker (which has the driver's file, not how it
    was started) tells it: ``pkg.pipe`` for ``pkg/pipe.py`` in a package, whether run as
    ``python -m pkg.pipe`` or ``python pkg/pipe.py``; ``__main__`` in a notebook."""
    from .ownership import script_module_name

    file = getattr(sys.modules.get("__main__"), "__file__", None)
    return script_module_name(file) if isinstance(file, str) else "__main__"


# A lock, a semaphore or a condition decides only when a thread goes on, never what
# it computes: by its type, as a global of its own (a module-level lock around a
# step's body made the step re-execute every run). Held by another object (a
# registry, a queue, a cache of yours), it stays without a canonical form: it guards
# state that methods change as steps run, which the walk cannot follow.
_SYNC = frozenset({("_thread", "lock"), ("_thread", "RLock"), ("threading", "_RLock"),
                   ("threading", "Semaphore"), ("threading", "BoundedSemaphore"),
                   ("threading", "Condition")})
_FILES = frozenset({"TextIOWrapper", "BufferedWriter", "FileIO"})


def _append_only(v: Any) -> Any:
    """A global file open only for appending (a log steps write to) by its name and
    mode: what is written to it is output, as with a stream. Open for reading, its
    content is an input; open with ``"w"``, the import emptied it, and a reused step
    would not write it again: neither has a canonical form."""
    if not _write_only(v) or "a" not in str(getattr(v, "mode", "")):
        raise TypeError("a closed file" if v.closed else
                        "a file open for reading: what it holds is read when the step runs"
                        if v.readable() else "a file the import emptied ('w'), which a "
                        "reused step would not write again")
    return (type(v), (), {"name": getattr(v, "name", None), "mode": getattr(v, "mode", None)})


def _key_wrapper(v: Any) -> Any:
    """``functools.cmp_to_key(f)`` by ``f``, which only the collector's view of the C
    object shows (besides its type)."""
    import gc

    held = [r for r in gc.get_referents(v) if r is not type(v)]
    if len(held) != 1 or not callable(held[0]):
        raise TypeError("a cmp_to_key wrapper whose function cannot be read")
    return (functools.cmp_to_key, (held[0],))


_NO_VALUE = "<no value>"  # a ContextVar without a value or a default


def _context_var(v: Any) -> Any:
    """A ``ContextVar`` by its name and value here and now: the value set, or else its
    ``default=`` (what ``get()`` returns then; ``get(_NO_VALUE)`` does not say it)."""
    state = {"value": v.get(_NO_VALUE)}
    if state["value"] is _NO_VALUE:
        try:
            state["default"] = v.get()
        except LookupError:  # no default either
            pass
    return (type(v), (v.name,), state)

def _pickled(v: Any, on_code: Callable[[Any], None] | None) -> bytes:
    """``pickle.dumps(v, protocol=5)``, the same bytes, handing ``on_code`` each class or
    function of code outside Python and installed packages that the pickle holds (the
    pickler shows every object but str, int and the like to ``reducer_override``)."""
    import io
    import pickle

    if on_code is None:
        return pickle.dumps(v, protocol=5)
    visit = on_code

    class Spotter(pickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            target = obj if isinstance(obj, (types.FunctionType, type)) else type(obj)
            if maybe_users(target):
                visit(target)
            return NotImplemented

    buf = io.BytesIO()
    Spotter(buf, protocol=5).dump(v)
    return buf.getvalue()


@functools.lru_cache(maxsize=1024)
def maybe_users_module(module: str) -> bool:
    """Whether module ``module`` may be the user's: not Python's, not an installed
    package's (a ``__main__`` is)."""
    top = module.partition(".")[0]
    if top == "__main__":  # a script's or a notebook's
        return True
    if not top:
        return False
    mod = sys.modules.get(top)
    file = getattr(mod, "__file__", None)  # none: builtins, Cython's, a namespace package
    if top in sys.stdlib_module_names and (not isinstance(file, str) or in_stdlib(file)):
        return False  # (a module of the user's may have a standard one's name: ``code``)
    if file is None and mod is not None:  # a folder without ``__init__.py`` (PEP 420):
        # yours if one of its folders is (``google`` of google-cloud's packages is not)
        paths = getattr(mod, "__path__", None) or ()
        return any(isinstance(p, str) and _not_installed(p) and not in_stdlib(p) for p in paths)
    return isinstance(file, str) and _not_installed(file)


def _not_installed(path: str) -> bool:
    return "site-packages" not in path and "dist-packages" not in path


def library_file(path: str) -> bool:
    """Whether code of file ``path`` is Python's or an installed package's (by where the
    file is: a wrapper ``functools.wraps`` made says the wrapped function's module)."""
    return not _not_installed(path) or in_stdlib(path)


@functools.lru_cache(maxsize=1024)
def in_stdlib(file: str) -> bool:
    """Whether ``file`` is in the standard library's folders."""
    import sysconfig

    real = os.path.realpath(file)
    return any(real.startswith(os.path.realpath(sysconfig.get_path(k)) + os.sep)
               for k in ("stdlib", "platstdlib"))


def maybe_users(obj: Any) -> bool:
    """Whether ``obj``'s code may be the user's (the fingerprint decides): not Python's,
    not an installed package's."""
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and maybe_users_module(module)


_HOMES: dict[int, tuple[Any, str | None]] = {}  # id -> (object, the module that has it)


def home_module(obj: Any, name: str) -> str | None:
    """The module that holds ``obj`` under ``name`` when ``obj`` does not say
    (``scipy.special.expit``, a ufunc whose ``__module__`` is None): found as pickle
    finds it, among the imported modules, once per object. None when none does (a
    ufunc ``np.frompyfunc`` made, known by a name that leads nowhere)."""
    hit = _HOMES.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    module = None
    for mod_name, mod in list(sys.modules.items()):  # (import may add some meanwhile)
        if mod_name != "__main__" and mod is not None:
            try:
                if getattr(mod, name, None) is obj:
                    module = mod_name
                    break
            except Exception:  # a lazy module whose attribute access fails
                continue
    _HOMES[id(obj)] = (obj, module)
    return module


_SAME_HASH = frozenset({int, bool, float, complex, type(None)})  # not salted per process


def _same_order_everywhere(items: list[Any]) -> bool:
    """Whether a set of ``items`` iterates in the same order in every process: their
    hashes are not salted by the hash seed (numbers; strings and bytes only when the
    seed is fixed, ``PYTHONHASHSEED``), nor by identity (an object's default hash)."""
    salted = sys.flags.hash_randomization
    stack = list(items)
    while stack:
        x = stack.pop()
        t = type(x)
        if t is tuple:
            stack.extend(x)
        elif (t not in _SAME_HASH and (salted or t not in (str, bytes))) or x != x:
            return False  # (a NaN hashes by identity)
    return True


EMPTY_CELL = "<empty cell>"


def cell_value(cell: Any) -> Any:
    """What a closure cell holds, or ``EMPTY_CELL`` (a name assigned after the function
    was made): what a token of a function's cells counts."""
    try:
        return cell.cell_contents
    except ValueError:
        return EMPTY_CELL


def _by_name(v: Any, t: type, name: str) -> Any:
    """What ``name`` (a reduce value's global name) leads to in ``v``'s module, as
    unpickling would look it up."""
    module = getattr(v, "__module__", None)
    obj: Any = sys.modules.get(module if isinstance(module, str) and module else t.__module__)
    for part in name.split("."):
        obj = getattr(obj, part, None)
    return obj


class Tokenizer:
    """Walks values canonically. ``on_code`` receives each function, class or module met;
    ``ordered`` makes a dict's order count (see the module's docstring)."""

    def __init__(self, on_code: Callable[[Any], None] | None = None, ordered: bool = False,
                 hidden: dict[int, str] | None = None,
                 identity: Callable[[Any], str] | None = None) -> None:
        self.on_code = on_code
        self.ordered = ordered
        # which function or class of the user's ``obj`` is, for one its name does not
        # tell apart from others (``_unnamed``); by default walked here
        self.identity = identity
        self._nodes = 0
        # id -> name of the process's hidden random generators (``rng.hidden``): each
        # walks as a stand-in, its name put in ``met``; its state is the caller's
        self.hidden = hidden
        self.met: set[str] = set()
        # id -> each other random generator object met (``rng.is_generator_type``: a
        # ``random.Random``, numpy's): it walks by its state, as any object; the caller
        # learns that what is drawn from it depends on what was drawn before
        self.generators: dict[int, Any] = {}
        # the ids of the objects the token walked into (a list a default argument holds,
        # a dict inside a config), when asked for (a build's: ``_state_reads``)
        self.within: list[int] | None = None
        # the top-level modules of the objects' types walked by their state (an array:
        # ``numpy``): whose settings may decide what the code computes with them
        self.tops: set[str] = set()

    def digest(self, value: Any) -> str:
        try:  # most declarations and parameters: a few primitives in small containers
            out = small_digest(_plain(value, 0, [_PLAIN_NODES], self.ordered)).hex()
            if self.within is not None:
                _containers(value, self.within)
            return out
        except _NotPlain:
            pass
        h = blake3.blake3()
        self._nodes = 0
        self._walk(value, h, 0, {})
        return h.digest().hex()

    # ``memo`` holds the containers and objects being walked (the path from the root),
    # keeping them alive so no id is reused: a cycle hashes as a back-reference by
    # distance, and a shared object is walked again wherever it appears, so the token
    # does not depend on the order in which items are visited.
    def _sub(self, value: Any, depth: int, memo: dict[int, Any]) -> bytes:
        h = blake3.blake3()
        self._walk(value, h, depth, memo)
        return h.digest()

    def _walk(self, v: Any, h: Any, depth: int, memo: dict[int, Any]) -> None:
        t = type(v)
        if t in _PRIMITIVE_SET:  # (a set: a metaclass's __eq__ is not asked)
            h.update(_primitive(t, v))
            return
        if depth > MAX_DEPTH:
            raise Opaque(t.__qualname__, _TOO_DEEP)
        key = id(v)
        if key in memo:
            h.update(b"cycle:%d" % (depth - memo[key][0]))
            return
        if self.hidden and key in self.hidden:
            name = self.hidden[key]
            self.met.add(name)
            h.update(f"hidden generator {name} {t.__name__}".encode())
            return
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise Opaque(t.__qualname__, _TOO_MANY)
        memo[key] = (depth, v)
        if self.within is not None:
            self.within.append(key)
        try:
            self._walk_container(v, t, h, depth + 1, memo)
        except Opaque:
            raise
        except Exception as exc:  # code of the value's own (a proxy's ``__class__``
            # property, a ``__reduce__``) raised while it was read: nothing to key it by
            if not _raised_by_user(exc):
                raise  # (this module's own error: a bug to see, not a value to re-run)
            raise Opaque(t.__qualname__, f"reading it raised {type(exc).__name__}: {exc}"
                         ) from None
        finally:
            del memo[key]

    def _walk_container(self, v: Any, t: type, h: Any, depth: int, memo: dict[int, Any]) -> None:
        if t is list or t is tuple:
            h.update(f"{t.__name__}[{len(v)}".encode())
            for x in v:
                self._walk(x, h, depth, memo)
            h.update(b"]")
        elif t is dict or t is types.MappingProxyType:
            # a snapshot: visiting the code an item holds may import, and so change a
            # dict such as a module's namespace while it is walked
            pairs = list(v.items())
            keys = [self._sub(k, depth, memo) for k, _ in pairs]
            items = sorted(k + self._sub(x, depth, memo) for k, (_, x) in zip(keys, pairs, strict=True))
            h.update(b"dict[%d" % len(items))
            for item in items:
                h.update(item)
            if self.ordered:
                h.update(_order(keys, items))
            h.update(b"]")
        elif t is set or t is frozenset:
            items = list(v)
            subs = [self._sub(x, depth, memo) for x in items]
            elems = sorted(subs)
            h.update(b"%s[%d" % (t.__name__.encode(), len(elems)))
            for e in elems:
                h.update(e)
            if len(subs) > 1 and subs != elems and _same_order_everywhere(items):
                # numbers (and strings under a fixed hash seed) iterate in an order that
                # insertion decides where their hashes collide, the same in every
                # process: ``list({1, 9})`` and ``list({9, 1})`` differ, so it counts
                h.update(b"order" + b"".join(subs))
            h.update(b"]")
        elif t is bytearray:
            h.update(b"bytearray:" + bytes(v))
        elif isinstance(v, types.BuiltinMethodType) and bound_data(v) is not None:
            h.update(b"bound:")  # ``"{:.2f}".format``: the method, and what it is bound to
            self._code(v, h)
            self._walk(v.__self__, h, depth, memo)
        elif isinstance(v, _CODE_TYPES) or t is functools._lru_cache_wrapper:
            self._code(v, h)
            self._unnamed(v, h, depth, memo)
        elif t is staticmethod or t is classmethod:  # the raw objects of a class body
            h.update(t.__name__.encode() + b":")  # (``TABLE = {"dbl": dbl}`` there):
            self._walk(v.__func__, h, depth, memo)  # by the function they wrap
        elif t is property:
            h.update(b"property:")
            self._walk((v.fget, v.fset, v.fdel), h, depth, memo)
        elif t is types.MethodType:
            h.update(b"method:")
            self._code(v.__func__, h)
            self._unnamed(v.__func__, h, depth, memo)
            self._walk(v.__self__, h, depth, memo)
        elif isinstance(v, enum.Enum):
            h.update(b"enum:")
            self._code(t, h)
            h.update(v.name.encode())
            self._walk(v.value, h, depth, memo)
        elif hasattr(t, "__flowyml_code__"):  # code standing for other code (a Step:
            # its function), and the state it holds besides
            code, state = v.__flowyml_code__()
            h.update(b"stands-for:")
            self._walk(code, h, depth, memo)
            self._walk(state, h, depth, memo)
        elif hasattr(t, "__flowyml_token__"):  # a value that says what it stands for
            h.update(f"token:{qualified_name(t)}:{v.__flowyml_token__()}".encode())  # (DataFile)
        elif isinstance(v, os.PathLike) and isinstance(os.fspath(v), str):
            h.update(f"path:{t.__name__}:{os.fspath(v)}".encode())
            if maybe_users(t):  # a class of yours that is also a path (``__fspath__``):
                # its code and its own state count, not its path alone
                self._code(t, h)
                own = getattr(v, "__dict__", None)
                if own:
                    self._walk(("attributes", dict(own)), h, depth, memo)
        else:
            self._object(v, t, h, depth, memo)

    def _code(self, obj: Any, h: Any) -> None:
        h.update(b"code:" + qualified_name(obj).encode("utf-8", "surrogatepass"))
        if self.on_code is not None:
            self.on_code(obj)

    def _object(self, v: Any, t: type, h: Any, depth: int, memo: dict[int, Any]) -> None:
        if rng.is_generator_type(t) and not any(k in self.generators for k in memo):
            self.generators[id(v)] = v  # (not the bit generator inside a generator)
        top = (t.__module__ or "").split(".")[0]
        self.tops.add(top)
        if top == "numpy" and hasattr(v, "dtype") and hasattr(v, "shape"):
            self._numpy(v, h, depth, memo)
            return
        np = sys.modules.get("numpy")
        if np is not None and isinstance(v, np.ndarray) and getattr(v, "__dict__", None):
            self._numpy(v, h, depth, memo)  # a subclass of the user's with attributes
            return  # (one without: by its pickle, as before)
        if top in ("polars", "pyarrow") and f"{t.__module__}.{t.__qualname__}" in QUERY_TYPES:
            raise Opaque(t.__qualname__, "a query: the files it scans are read when it is "
                                         "collected, and its pickle holds only their paths")
        if top in ("pandas", "polars", "pyarrow"):
            # their pickles are canonical for the data they hold; walking their internals
            # would be slow and version-dependent for no gain. The code of objects they
            # hold (a column of your class's instances) is handed to ``on_code``.
            try:
                h.update(b"pickle:" + _pickled(v, self.on_code))
            except Exception as exc:
                raise Opaque(t.__qualname__, str(exc)) from None
            self._code(t, h)
            return
        reducer = copyreg.dispatch_table.get(t) or _reducer(t, depth == 1)
        try:
            rv = reducer(v) if reducer is not None else v.__reduce_ex__(4)
        except Exception as exc:
            raise Opaque(t.__qualname__, str(exc) or type(exc).__name__) from None
        if isinstance(rv, str):  # known by name: a Cython function, a ufunc, a singleton
            module: str | None = t.__module__
            if _by_name(v, t, rv) is not v:
                module = home_module(v, rv)  # scipy's ufuncs have no __module__
                if module is None:
                    # np.frompyfunc(f, 1, 1): a name that leads nowhere, and no way to f
                    raise Opaque(t.__qualname__, f"known only by the name {rv!r}")
            h.update(f"global:{module}:{rv}".encode())
            self._code(v if callable(v) else t, h)
            if _pickles_its_own_way(t):  # a singleton of yours: what it holds counts
                self._left_out(v, None, h, depth, memo)
            if (self.on_code is not None and callable(v) and not isinstance(v, _CODE_TYPES)
                    and maybe_users(t)):
                self.on_code(t)  # a callable singleton of yours: its class's code runs
            return
        if not isinstance(rv, tuple) or len(rv) < 2:
            raise Opaque(t.__qualname__, "unexpected reduce value")
        h.update(b"reduce(")
        self._code_or_value(rv[0], h, depth, memo)
        self._walk(rv[1], h, depth, memo)
        state = rv[2] if len(rv) > 2 else None
        self._walk(state, h, depth, memo)
        if len(rv) > 3 and rv[3] is not None:
            self._walk(list(rv[3]), h, depth, memo)
        if len(rv) > 4 and rv[4] is not None:
            self._walk(dict(rv[4]), h, depth, memo)
        if _pickles_its_own_way(t):
            # your ``__getstate__`` or ``__reduce__`` keeps what remakes the object, not
            # all it holds (a table loaded from a file at import, a weight computed from
            # an argument): what it leaves out counts too (``_left_out``)
            self._left_out(v, state, h, depth, memo)
        elif state is None and maybe_users(t) and getattr(v, "__dict__", None):
            # a subclass of the user's of a type whose reduce drops the instance's own
            # attributes (``Counter``, ``defaultdict``: ``VOCAB.min_freq = 2``)
            self._walk(("attributes", dict(vars(v))), h, depth, memo)
        h.update(b")")

    def _left_out(self, v: Any, state: Any, h: Any, depth: int, memo: dict[int, Any]) -> None:
        """The attributes of ``v`` (of a class of yours that says how it pickles) that
        its pickled ``state`` leaves out or replaces (``state["weights"] = None``), by
        value: data it derived (a table read at import, a weight from an argument),
        which its code reads. One that has no canonical form (a connection, a lock, a
        file, a pool: a resource, which its pickle leaves out so that it pickles)
        counts by its type only. A value made anew in each process (a pid, a session
        id, when it opened) counts like any other: the fingerprint cannot tell it from
        a weight read from a file at import, so such an object's steps re-execute."""
        attrs = _own_attributes(v)
        if isinstance(state, dict):
            attrs = {k: x for k, x in attrs.items() if state.get(k, _ABSENT) is not x}
        parts: dict[str, bytes | None] = {}
        for name in sorted(attrs):
            try:
                parts[name] = self._sub(attrs[name], depth, memo)
            except Opaque as exc:
                if exc.why in (_TOO_DEEP, _TOO_MANY):
                    raise  # data too big to walk, no resource: the whole object is opaque
                parts[name] = None
        out = [b"left out"]
        for name, digest in parts.items():
            out.append(name.encode() + digest if digest is not None
                       else f"{name}: a {type(attrs[name]).__qualname__}".encode())
        if len(out) > 1:
            h.update(b"".join(out))

    def _code_or_value(self, f: Any, h: Any, depth: int, memo: dict[int, Any]) -> None:
        if isinstance(f, _CODE_TYPES):
            self._code(f, h)
            self._unnamed(f, h, depth, memo)
        else:
            self._walk(f, h, depth, memo)

    def _unnamed(self, obj: Any, h: Any, depth: int, memo: dict[int, Any]) -> None:
        """Which function or class ``obj`` is, when its qualified name does not say:
        lambdas (all ``<lambda>``), and what a function makes (``make.<locals>.inner``
        for ``make(2)`` and ``make(3)``). Their code is counted apart, under that one
        name, for what it says; here, which of them sits where in the value (two
        lambdas swapped in a dict, ``A = make(2)`` and ``B = make(3)`` swapped): the
        code of each, and what each holds (closure cells, defaults; a made class's
        attributes). A library's counts by its version, as it is (``functools``' own
        ``singledispatch.<locals>.wrapper``)."""
        if "<" not in getattr(obj, "__qualname__", "") or not maybe_users(obj):
            return
        if self.identity is not None:  # (the fingerprint's: each value tokenized once)
            h.update(b"identity:" + self.identity(obj).encode())
        elif type(obj) is types.FunctionType:
            h.update(b"def:" + code_shape(obj.__code__).encode())
            cells = [cell_value(c) for c in obj.__closure__ or ()]
            self._walk((cells, obj.__defaults__, obj.__kwdefaults__), h, depth, memo)
        elif isinstance(obj, type):  # (a class made in a function: by its functions)
            own = [getattr(v, "__func__", v) for v in list(vars(obj).values())]
            self._walk([f for f in own if type(f) is types.FunctionType], h, depth, memo)

    def _numpy(self, v: Any, h: Any, depth: int, memo: dict[int, Any]) -> None:
        import numpy as np

        arr = np.asarray(v)
        h.update(f"ndarray:{arr.dtype.str}:{arr.shape}:{type(v).__name__}".encode())
        if arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous:
            h.update(b":F")  # Fortran order: what iterates it in memory order sees differs
        if not arr.flags.writeable:
            h.update(b":ro")  # (code may branch on it: a write raises)
        if arr.dtype.metadata:
            self._walk(("dtype metadata", dict(arr.dtype.metadata)), h, depth, memo)
        if type(v).__module__.startswith("numpy.ma"):  # asarray dropped the mask
            ma = sys.modules["numpy.ma"]
            self._walk(("mask", ma.getmaskarray(v), v.fill_value), h, depth, memo)
        elif not type(v).__module__.startswith("numpy") and getattr(v, "__dict__", None):
            # a subclass of the user's: its own attributes (``obj.scale = 2``), which
            # ndarray's pickle drops, and its class's code
            self._code(type(v), h)
            self._walk(("attributes", dict(vars(v))), h, depth, memo)
        if arr.dtype.hasobject:
            # tobytes() of an object array is a list of pointers: walk the elements
            self._walk(arr.tolist(), h, depth, memo)
            return
        if arr.dtype.names is not None or arr.dtype.kind == "V":
            h.update(repr(arr.dtype.descr).encode())
        h.update(np.ascontiguousarray(arr).tobytes())
