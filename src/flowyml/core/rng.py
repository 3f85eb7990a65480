"""The process's hidden random generators, and whether a step's result depends on them.

``random.random()`` draws from ``random``'s hidden instance, ``np.random.rand()`` from
numpy's global ``RandomState``: their state is an input of a step that draws from them.
It is not part of the step's code fingerprint (the tokenizer puts a stand-in where it
meets one of them, ``hidden``); the fingerprint keeps it apart (``Fingerprint.states``),
and the key the step's execution is stored under says, per generator, either that state
or that the result does not depend on it (``watching``): the step seeded it before
anything read it (``np.random.seed(0)`` first thing in a training step), or did not
touch it at all (a fallback to ``np.random`` on a branch not taken). Such a step is
reused in the next process, whose state is another. A reuse of any step puts back the
states its execution left the generators it seeded or drew from in (``end_states``,
``restore``); a step that runs in another process starts from this process's states
(``StepTask.start_states``) and sends back the ones it left.

This is observed as the step runs, never guessed from its text. A seed counts as first
when it is one of these calls (``random.seed``, ``np.random.seed``; for ``random``, any
call of ``Random.seed`` on the hidden instance), its argument seeds the same way in every
process (an ``int``; for ``random`` a ``str`` or ``bytes`` too), no module's top level
made it, it returned, and the generator's state is still the one the step started with.
Reading the state (``getstate``, ``get_state``, in any thread) or setting it, a seed of
``None`` anywhere in the step, a step that starts processes, or one that runs beside
other steps in its process (a Dask worker's threads) keeps the state counted, as does an
output that holds the generator (its pickle keeps the state). A seed computed from the
clock is an int like any other: such a step is reused, as one that reads the clock is
(README, "Not tracked").

Not seen: numpy's ``RandomState`` methods called on the instance itself
(``np.random.mtrand._rand.get_state()``: a compiled class), a ``deepcopy`` of it, and
names bound to the originals before the first build in modules other than the steps'
(the steps' are rebound: ``rebind``). A seed not seen only costs an execution; a state
read not seen before a seed could be stale, so the README names them.
"""

from __future__ import annotations

import functools
import sys
import threading
import types
from typing import Any

from . import wrappers

_RANDOM, _NUMPY = "random", "numpy"
_local = threading.local()
_lock = threading.Lock()
_done: set[str] = set()  # the libraries whose functions are wrapped
_replaced: dict[int, tuple[Any, Any]] = {}  # id(original) -> (original, wrapper)
_rebound: set[int] = set()  # the namespaces ``watching`` rebound


def _generators() -> dict[str, Any]:
    """name -> the hidden generators of the libraries imported by now."""
    out: dict[str, Any] = {}
    inst = getattr(sys.modules.get("random"), "_inst", None)
    if inst is not None:
        out[_RANDOM] = inst
    rand = getattr(sys.modules.get("numpy.random.mtrand"), "_rand", None)
    if rand is not None:
        out[_NUMPY] = rand
    return out


def hidden() -> dict[int, str]:
    """id -> name of the hidden generators of the libraries imported by now."""
    return {id(g): name for name, g in _generators().items()}


def stand_ins() -> dict[int, str]:
    """``hidden`` and, by the same names, the modules whose functions draw from them
    (``random``, ``numpy.random``): a value that is one of these (``gen=np.random`` as
    a default) reaches the generator, and walks as its stand-in in a token."""
    out = hidden()
    for module, name in (("random", _RANDOM), ("numpy.random", _NUMPY)):
        mod = sys.modules.get(module)
        if mod is not None and name in out.values():
            out[id(mod)] = name
    return out


def instances() -> dict[int, Any]:
    """id -> each hidden generator of the libraries imported by now: a ``deepcopy``
    memo that keeps them themselves (a step given one draws from it, as a call does)."""
    return {id(g): g for g in _generators().values()}


def hidden_generator(name: str) -> Any:
    """This process's hidden generator ``name`` (its library imported): what one
    pickled for a worker stands for there (``executors.worker``), so a step shipped by
    value draws from the worker's own, which is given the driver's state, not from a
    copy that no state given or left can reach."""
    import importlib

    if name == _RANDOM:
        return importlib.import_module("random")._inst
    importlib.import_module("numpy.random")
    return _np_rand()


def _state(name: str) -> Any:
    """The generator's state now (compared, not kept: taken once per seed at most)."""
    if name == _RANDOM:  # (``Random.getstate`` without its wrapper, which reports)
        inst = sys.modules["random"]._inst
        return sys.modules["_random"].Random.getstate(inst), inst.gauss_next
    # (any bit generator; as ``end_states`` keeps it: equal states compare equal, and
    # its repr, in numpy's key order, is a digest's input)
    return _jsonable(_np_rand().get_state(legacy=False))


def _np_rand() -> Any:
    return sys.modules["numpy.random.mtrand"]._rand


def end_states(names: tuple[str, ...]) -> dict[str, str]:
    """The states of the generators ``names`` now, as text (JSON-safe): what a step
    left, which a reuse of it puts back (``restore``), so the steps and code after it
    draw what they would have drawn had it executed; or what a step in another process
    starts from."""
    import array
    import base64
    import json

    out = {}
    for name in names:
        if name == _RANDOM:  # (624 words of 32 bits and an index)
            inst = sys.modules["random"]._inst
            words = array.array("I", sys.modules["_random"].Random.getstate(inst))
            out[name] = json.dumps([base64.b64encode(words.tobytes()).decode(),
                                    inst.gauss_next])
        else:
            out[name] = json.dumps(_jsonable(_np_rand().get_state(legacy=False)))
    return out


def _jsonable(value: Any) -> Any:
    """numpy's state dict as JSON: an array as ``{"__array__": base64, "dtype": ...}``."""
    import base64

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "tobytes") and hasattr(value, "dtype"):
        if not value.shape:
            return value.item()
        return {"__array__": base64.b64encode(value.tobytes()).decode(),
                "dtype": str(value.dtype)}
    return value


def _from_json(value: Any) -> Any:
    import base64

    if isinstance(value, dict):
        if "__array__" in value:
            npy = sys.modules["numpy"]
            return npy.frombuffer(base64.b64decode(value["__array__"]),
                                  dtype=value["dtype"]).copy()
        return {k: _from_json(v) for k, v in value.items()}
    return value


def restore(states: dict[str, str]) -> None:
    """Put back what ``end_states`` took (a generator not imported here is imported:
    the step that left it drew from it)."""
    import array
    import base64
    import importlib
    import json

    for name, text in states.items():
        saved = json.loads(text)
        if name == _RANDOM:
            rnd = importlib.import_module("random")
            words = tuple(array.array("I", base64.b64decode(saved[0])))
            sys.modules["_random"].Random.setstate(rnd._inst, words)
            rnd._inst.gauss_next = saved[1]
        elif name == _NUMPY:
            npr = importlib.import_module("numpy.random")
            state = _from_json(saved)
            rand = _np_rand()
            kind = state.get("bit_generator")
            if type(rand._bit_generator).__name__ != kind:  # the step set another one
                wrappers.original(npr.set_bit_generator)(getattr(npr, kind)())
            rand.set_state(state)


def state_digest(name: str) -> str:
    """A digest of the generator's state now (what a step that reads it depends on).
    ("state 2": until executors started a step in a worker from the driver's state
    (``StepTask.start_states``), a worker drew from its own, under a key with the
    driver's: those entries are not the step's result for that state, and no key finds
    them now.)"""
    return digest_of(name, end_states((name,))[name])


def digest_of(name: str, state: str) -> str:
    """``state_digest`` of a state as ``end_states`` gives it (one a step left, put
    back before the next is decided, or one a plan expects)."""
    from .hashing import hash_text

    return hash_text("generator state 2", name, state)


# --------------------------------------------------------------------------- watching


class Watch:
    """What one step did to the hidden generators its key counts: for each, whether
    its first use was a seed that left nothing of the state it started with."""

    __slots__ = ("start", "untouched", "verdict")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.start = {n: _state(n) for n in names if n in loaded()}
        self.verdict: dict[str, bool] = {}  # name -> seeded first
        self.untouched: tuple[str, ...] = ()

    def settle(self) -> None:
        """At the step's end (it returned): the generators nothing seeded, read or drew
        from (the state is the one it started with: every draw moves it). A branch not
        taken (``np.random`` as a fallback when no seed is given) reads nothing."""
        self.untouched = tuple(sorted(n for n, s in self.start.items()
                                      if n not in self.verdict and _state(n) == s))

    def seeded(self) -> tuple[str, ...]:
        """The generators the step seeded before anything read them."""
        return tuple(sorted(n for n, first in self.verdict.items() if first))

    def independent(self) -> tuple[str, ...]:
        """The generators whose state the step's result does not depend on: seeded
        first, or untouched (``settle``)."""
        return tuple(sorted({*self.seeded(), *self.untouched}))


def loaded() -> set[str]:
    """The names of the hidden generators whose library is imported."""
    return set(_generators())


_active: set[Watch] = set()  # the watches of the steps running now, in any thread


class watching:  # (a context manager, named as one used like a function)
    """Watch the hidden generators ``names`` while a step runs in this thread (none:
    nothing is watched, nothing is wrapped). ``func``'s module namespace has its names
    bound to the originals pointed at the wrappers (``rebind``), once."""

    def __init__(self, names: tuple[str, ...], func: Any = None,
                 watch: Watch | None = None) -> None:
        self.watch = watch  # (given: watching again, ``still``)
        if names:
            install()
            namespace = getattr(func, "__globals__", None)
            if type(namespace) is dict and id(namespace) not in _rebound:
                _rebound.add(id(namespace))  # (a worker imported the step's module itself)
                rebind([namespace])
            self.watch = Watch(names)

    def __enter__(self) -> Watch | None:
        self.outer = getattr(_local, "watch", None)
        _local.watch = self.watch
        if self.watch is not None:
            with _lock:
                _active.add(self.watch)
        return self.watch

    def __exit__(self, *exc: object) -> None:
        _local.watch = self.outer
        if self.watch is not None:
            with _lock:
                _active.discard(self.watch)


def still(watch: Watch | None) -> watching:
    """``watch`` watching again, while the step's outputs are stored: pickling one that
    holds a hidden generator reads its state (``random``'s: numpy's pickles unseen, see
    ``independent_of``)."""
    return watching((), watch=watch)


# what a pickle of a numpy RandomState, Generator or bit generator names
# (``PickleMaterializer``'s ``code_refs``): the hidden generator's own, or one wrapping
# its bit generator, may be among them
_GENERATOR_REFS = frozenset({"numpy.random._pickle:__randomstate_ctor",
                             "numpy.random._pickle:__generator_ctor",
                             "numpy.random._pickle:__bit_generator_ctor"})


def independent_of(watch: Watch | None, metas: list[dict[str, Any]]) -> tuple[str, ...]:
    """The generators a finished step's result does not depend on the state of
    (``Watch.independent``). One it did not touch does not count if an output holds a
    numpy generator or bit generator (it may be the hidden one, or hold its bit
    generator, whose state the pickle keeps: it pickles in C, unseen)."""
    if watch is None:
        return ()
    watch.settle()
    out = restorable(watch.independent())
    if _NUMPY in watch.untouched and any(
            not _GENERATOR_REFS.isdisjoint(m.get("code_refs") or ()) for m in metas):
        out = tuple(n for n in out if n != _NUMPY or n in watch.seeded())
    return out


def restorable(names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of ``names`` whose state ``restore`` can put back: numpy's only on one of
    numpy's bit generators (one of the user's own keeps its state counted)."""
    if _NUMPY not in names:
        return names
    npr = sys.modules.get("numpy.random")
    kind = type(_np_rand()._bit_generator).__name__
    if npr is not None and isinstance(getattr(npr, kind, None), type):
        return names
    return tuple(n for n in names if n != _NUMPY)


def _read(name: str) -> None:
    """A wrapper's report: the state of the hidden generator ``name`` is read or set.
    Any thread's read counts for every step running (a helper thread of the step may
    hand it the state): each that has not seeded it yet keeps counting it."""
    if not _active:
        return
    with _lock:
        for w in _active:
            if name in w.start and name not in w.verdict:
                w.verdict[name] = False


def _seeding(name: str, arg: Any, version: int = 2) -> tuple[Watch, bool] | None:
    """A seed wrapper's look before the seed: this thread's watch and whether the seed
    comes first (``None``: no watch of ``name`` here). The verdict is taken only once
    the seed returned (``_seeded``): a seed that raised seeded nothing. A seed made by
    a module's top level (a module the step imports) is no seed of the step's: another
    process may have imported it before the step ran, and the step then draws from the
    state it started with."""
    w: Watch | None = getattr(_local, "watch", None)
    if w is None or name not in w.start:
        return None
    first = (_same_everywhere(name, arg, version)
             and sys._getframe(2).f_code.co_name != "<module>"
             and name not in w.verdict and _state(name) == w.start[name])
    return w, first


def _seeded(name: str, arg: Any, version: int, looked: tuple[Watch, bool] | None) -> None:
    if looked is None:
        return
    w, first = looked
    if not _same_everywhere(name, arg, version):  # fresh entropy, now or later: never
        w.verdict[name] = False  # reused for it
    elif name not in w.verdict:
        w.verdict[name] = first


def _same_everywhere(name: str, arg: Any, version: int) -> bool:
    """Whether ``arg`` seeds ``name`` the same way in every process (``None`` seeds
    from the OS; a float's seed follows its hash, NaN's its id)."""
    if type(arg) is int or type(arg) is bool:
        return True
    if name == _RANDOM:
        return version == 2 and type(arg) in (str, bytes, bytearray)
    npy = sys.modules.get("numpy")
    return npy is not None and isinstance(arg, npy.integer)


# --------------------------------------------------------------------------- wrappers


def install() -> None:
    """Wrap the seeding and state functions of ``random`` and ``numpy.random`` if
    imported (once each): the calls a ``Watch`` is told of."""
    if len(_done) == 2:
        return
    with _lock:
        rnd = sys.modules.get("random")
        if rnd is not None and _RANDOM not in _done:
            _wrap_random(rnd)
            _done.add(_RANDOM)
        mtrand = sys.modules.get("numpy.random.mtrand")
        if mtrand is not None and _NUMPY not in _done:
            _wrap_numpy(mtrand)
            _done.add(_NUMPY)


def _wrap_random(rnd: Any) -> None:
    """``Random.seed``, ``getstate`` and ``setstate`` on the class (a call on the hidden
    instance is reported, however it was reached: ``copy`` and ``pickle`` go through
    ``getstate``), and the module's bound methods, made at import from the originals,
    bound again (a bound method pickles as ``getattr(instance, name)``)."""
    cls, inst = rnd.Random, rnd._inst
    for attr in ("seed", "getstate", "setstate"):
        original = cls.__dict__.get(attr)
        if original is None or wrappers.is_wrapper(original):
            continue
        wrapper = _random_method(original, attr == "seed", inst)
        wrappers.register(wrapper, original)
        setattr(cls, attr, wrapper)
        module_fn = getattr(rnd, attr, None)
        if getattr(module_fn, "__self__", None) is inst:
            bound = getattr(inst, attr)
            wrappers.register(bound, module_fn)
            _replaced[id(module_fn)] = (module_fn, bound)
            setattr(rnd, attr, bound)


def _random_method(original: Any, seed: bool, inst: Any) -> Any:
    if seed:
        @functools.wraps(original)
        def seed_method(self: Any, a: Any = None, version: int = 2) -> Any:
            if self is not inst:
                return original(self, a, version)
            looked = _seeding(_RANDOM, a, version)
            result = original(self, a, version)
            _seeded(_RANDOM, a, version, looked)
            return result

        return seed_method

    @functools.wraps(original)
    def state_method(self: Any, *args: Any) -> Any:
        if self is inst:
            _read(_RANDOM)
        return original(self, *args)

    return state_method


def _wrap_numpy(mtrand: Any) -> None:
    """``np.random.seed``, ``get_state``, ``set_state`` and ``get_bit_generator``: the
    module's (in ``numpy.random`` and ``numpy.random.mtrand``; ``RandomState`` is
    compiled, its methods cannot be wrapped). The two bound methods are wrapped as
    methods of the same instance (they pickle as ``getattr(instance, name)``); the
    functions keep their module and name (they pickle by reference, as before)."""
    npr = sys.modules.get("numpy.random")
    rand = mtrand._rand
    for attr in ("seed", "get_state", "set_state", "get_bit_generator", "set_bit_generator"):
        original = getattr(mtrand, attr, None)
        if original is None or wrappers.is_wrapper(original):
            continue
        if getattr(original, "__self__", None) is rand:
            wrapper: Any = types.MethodType(_numpy_method(original), rand)
        else:
            wrapper = _numpy_function(original, attr == "seed")
        wrappers.register(wrapper, original)
        _replaced[id(original)] = (original, wrapper)
        for mod in (mtrand, npr):
            if mod is not None and getattr(mod, attr, None) is original:
                setattr(mod, attr, wrapper)


def _numpy_function(original: Any, seed: bool) -> Any:
    if seed:
        @functools.wraps(original)
        def np_seed(seed: Any = None) -> Any:
            looked = _seeding(_NUMPY, seed)
            result = original(seed)
            _seeded(_NUMPY, seed, 2, looked)
            return result

        return np_seed

    @functools.wraps(original)
    def np_state(*args: Any, **kwargs: Any) -> Any:
        _read(_NUMPY)
        return original(*args, **kwargs)

    return np_state


def _numpy_method(original: Any) -> Any:
    @functools.wraps(original.__func__)
    def np_state_method(self: Any, *args: Any, **kwargs: Any) -> Any:
        _read(_NUMPY)
        return original(*args, **kwargs)

    return np_state_method


_NUMPY_FUNCTIONS = ("seed", "get_bit_generator", "set_bit_generator")


def module_generator(obj: Any) -> Any:
    """The hidden generator behind the ``random`` module or ``numpy.random`` used
    whole (``r = np.random``, a fallback when no seed is given); None for anything
    else."""
    if type(obj) is not types.ModuleType:
        return None
    if obj.__name__ == "random":
        return getattr(obj, "_inst", None)
    if obj.__name__ in ("numpy.random", "numpy.random.mtrand"):
        return getattr(sys.modules.get("numpy.random.mtrand"), "_rand", None)
    return None


def generator_of(obj: Any) -> Any:
    """The hidden generator one of numpy's module functions seeds or hands out the
    state of (``np.random.seed``: none of its methods); None for anything else."""
    obj = wrappers.original(obj)
    mtrand = sys.modules.get("numpy.random.mtrand")
    if mtrand is None or getattr(obj, "__module__", None) not in ("numpy.random",
                                                                 "numpy.random.mtrand"):
        return None
    for attr in _NUMPY_FUNCTIONS:
        fn = getattr(mtrand, attr, None)
        if fn is obj or wrappers.original(fn) is obj:
            return mtrand._rand
    return None


def is_generator_type(t: type) -> bool:
    """Whether ``t``'s instances are random generators: ``random.Random`` (and its
    subclasses), numpy's ``Generator``, ``RandomState`` and bit generators. Each draw
    advances such an object's state."""
    known = _generator_types.get(t)
    if known is None:  # (a type made before its library was imported is none of them)
        rnd = sys.modules.get("random")
        npr = sys.modules.get("numpy.random")
        classes = (getattr(rnd, "Random", None), *(getattr(npr, n, None) for n in (
            "Generator", "RandomState", "BitGenerator")))
        known = _generator_types[t] = issubclass(t, tuple(c for c in classes if isinstance(c, type)))
    return known


_generator_types: dict[type, bool] = {}


def name_of(generator: Any) -> str | None:
    """``"random"`` or ``"numpy"`` for a hidden generator (``hidden``), else None."""
    return hidden().get(id(generator)) if generator is not None else None


def rebind(namespaces: Any) -> None:
    """Point the names of these module namespaces (the modules of a pipeline's steps)
    bound to a seeding or state function before it was wrapped (``from numpy.random
    import seed``) to the wrapper, which calls the same function: its calls are seen.
    A bound method made again (a step's globals sent by value to a worker) is matched
    by its instance and function."""
    if not _replaced:
        return
    for namespace in namespaces:
        for key, value in list(namespace.items()):
            hit = _replaced.get(id(value))
            if hit is None and type(value) is types.MethodType:
                hit = _rebound_method(value)
            if hit is not None and (hit[0] is value or hit[0] == value):
                namespace[key] = hit[1]


def _rebound_method(value: types.MethodType) -> tuple[Any, Any] | None:
    for original_fn, wrapper in _replaced.values():
        if type(original_fn) is types.MethodType and original_fn == value:
            return original_fn, wrapper
    return None
