"""Running one step: load inputs, call the user's function, store its outputs.

This is the only code that touches user values, and it runs wherever the executor
puts it (the driver, a worker process, a Dask worker). It returns hashes, never
catalog rows: only the driver writes to the catalog.

Inputs are decoded from their stored objects for every step, on every executor: each
step gets its own view (numpy arrays memory-mapped read-only, frames and JSON / pickle
values as new objects), so a step can never change what another step, or the store,
sees. Writing into a read-only input fails the step with a message that names the
input and the fix (copy it first). Run values and defaults are copied for each call of
an in-process step (``private_values``), as unpickling copies them for a worker. An
input whose parameter declares a table schema that the build could not prove is
validated here, once loaded and before the step's code runs (``check_inputs``).
"""

from __future__ import annotations

import functools
import inspect
import os
import time
import types
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core import native_reads, rng
from ..core import reads as file_reads
from ..core.declared import schemas_possible
from ..core.graph import consumers_by_asset  # noqa: F401  (where it was defined)
from ..core.refs import ArtifactRef
from ..core.stored import NewOutput
from ..core.struct import field, replace, struct
from ..objects import load_object, store_value

if TYPE_CHECKING:
    from ..core.statecheck import DriverState
    from ..core.step import Step
    from ..stores.base import ArtifactStore


class NoneOutputWarning(UserWarning):
    """A step returned ``None`` for an asset that a later step consumes: the later
    step's failure most likely starts here."""


class UnseenInputWarning(UserWarning):
    """A step's execution used an input FlowyML cannot see: what a command it ran
    reads (the files named on its command line count, nothing else), or what it
    received over a network connection. A reuse returns this execution's result
    even if that input changes: declare such files (``fm.DataFile``), make what is
    fetched a parameter, or use ``@step(cache=False)``. Also what processes the step
    started read (``multiprocessing``, joblib, a data loader's workers), and a file a
    step read that another step of the run wrote, with no asset to order the two (the
    run warns)."""


class UserCodeError(Exception):
    """Wraps an exception raised by user code (``__cause__``), so executors can tell it
    apart from a framework failure. ``retry``: False when another attempt would fail the
    same way (an input that does not match the step's declared schema)."""

    def __init__(self, step: str, message: str, attempts: int = 1, retry: bool = True) -> None:
        super().__init__(message)
        self.step = step
        self.attempts = attempts
        self.retry = retry


@struct
class StepTask:
    step: Step
    run_id: str
    values: dict[str, Any] = field(default_factory=dict)  # param -> value
    refs: dict[str, ArtifactRef] = field(default_factory=dict)  # param -> stored input
    want_ref: frozenset[str] = frozenset()
    keep_values: bool = False
    # params in ``refs`` whose object this process wrote during this run (in-process
    # executors): decoded without re-hashing, pickles allowed (see ``load_object``)
    own: frozenset[str] = frozenset()
    # ``values`` are the driver's own objects (in-process executors): every call gets a
    # private copy of them (``private_values``), as a worker gets its own by unpickling
    copy_values: bool = False
    # output asset -> the steps that consume it (``consumers_by_asset``); None: not known, so
    # a None output is warned about whatever reads it
    consumers: dict[str, tuple[str, ...]] | None = None
    # set for a step that runs in another process, which takes the fingerprint again
    # before running it and refuses if its state differs from the driver's
    state: DriverState | None = None
    # the hidden random generators whose state the step's key counts (``core.rng``):
    # watched while it runs, for a seed before anything reads them
    generators: tuple[str, ...] = ()
    # for a step that runs in another process: the driver's states of the hidden
    # generators its code reaches (``rng.end_states``), put in place before it runs, so
    # that it draws what it would have drawn in the driver
    start_states: dict[str, str] | None = None
    # the parameters whose declared schema the build could not prove from what produced
    # them (``Graph.input_checks``): validated before the step's code runs
    check_inputs: frozenset[str] = frozenset()


@struct
class StepOutcome:
    outputs: list[NewOutput]
    duration: float
    attempts: int = 1
    values: dict[str, Any] | None = None
    # the files the step opened for reading (``core.reads``): absolute paths, with
    # their stat and content hash; kept with the cache entry, checked before a reuse
    reads: Sequence[Sequence[Any]] = field(default_factory=list)
    writes: Sequence[str] = field(default_factory=list)  # files it wrote, absolute paths
    # the hidden random generators its result does not depend on (``core.rng``: seeded
    # first, or untouched), and the states it left those it seeded or drew from (a reuse
    # puts them back: what runs after it draws what it would have drawn)
    independent: tuple[str, ...] = ()
    effects: dict[str, str] | None = None
    # given ``start_states``: the states the step left those generators in, for the
    # driver to put in place in its turn (as if it had run there)
    left: dict[str, str] | None = None
    # why its result cannot be reproduced (``random``'s generator in a Dask worker,
    # whose own threads draw from it): recorded, not cached
    unrepeatable: str | None = None


def run_task(task: StepTask, store: ArtifactStore, alone: bool = False) -> StepOutcome:
    """One attempt of ``task`` against ``store``; raises ``UserCodeError`` when user code
    fails. Retries are the executor's (``base.run_attempts``, the one retry policy):
    every attempt decodes its inputs anew, wherever it runs. ``alone``: no other step
    runs in this process meanwhile, so files the step's own threads open are its reads
    (``core.reads``)."""
    step = task.step
    kwargs = load_inputs(task, store)
    if task.check_inputs:  # declared input schemas the build could not prove (contracts.py)
        check_inputs(task, kwargs)
    attempts = 1
    start = time.perf_counter()
    root = getattr(store, "root", None)  # a local store's folder: its files are not inputs
    if task.start_states:  # (every attempt starts from them)
        rng.restore(task.start_states)
    try:
        # (a step beside others in its process may see their draws: never seeded first)
        with file_reads.recording((str(root),) if root is not None else (), alone) as opened, \
                rng.watching(task.generators if alone else (), step.func) as generators:
            native_reads.rebind_once(step.func)  # (a worker's import of the step's module)
            result = step.func(**kwargs)
            # (the states it left the generators watched, and those it was given)
            watched, given = tuple(generators.start) if generators else (), task.start_states
            now = rng.end_states(rng.restorable(tuple(sorted({*watched, *(given or ())})))) \
                if watched or given else {}
    except Exception as exc:
        raise user_error(task, kwargs, exc, attempts) from exc
    del kwargs
    ended = {n: now[n] for n in watched if n in now}
    left = {n: now[n] for n in given if n in now} if given else None
    duration = time.perf_counter() - start
    files = opened.files()
    commands = opened.commands()
    if commands:
        warn_commands(task, commands, {f[0] for f in files})
    warn_connections(task, opened.connections())
    if opened.workers():
        warn_workers(task)
    values = split_outputs(step, result)
    if schemas_possible():  # declared schemas (contracts.py): checked before anything is stored
        from ..core.contracts import SchemaViolation, validate_outputs

        try:
            values = validate_outputs(step, values)
        except SchemaViolation as exc:  # the user's step produced it: a failure of the step
            raise UserCodeError(step.name, str(exc), attempts) from (exc.__cause__ or exc)
    warn_none_outputs(task, values)
    with rng.still(generators):  # (pickling an output that holds one reads its state)
        outputs = [store_value(store, name, value) for name, value in values.items()]
    independent = rng.independent_of(generators, [o.meta for o in outputs])
    # what a reuse puts back: the states it left, but for a generator it did not touch
    # (its key does not count the state: putting back the one it had would undo what
    # ran before it here); with no watch (a Dask worker's threads), every state counts
    effects = left
    if ended and generators is not None:
        effects = {n: s for n, s in ended.items() if n not in generators.untouched}
    return StepOutcome(
        outputs=outputs,
        duration=duration,
        attempts=attempts,
        values=values if task.keep_values else None,
        reads=files,
        writes=opened.written_files(),
        # (a process it started may have drawn from the state it was given)
        independent=() if opened.workers() else independent,
        effects=None if opened.workers() else (effects or None),
        left=left,
        # (moved while it ran: by the step, or by the threads beside it)
        unrepeatable=None if alone or not task.start_states or not left
        or left.get("random") == task.start_states.get("random") else SHARED_RANDOM,
    )


# (Dask's worker threads draw from it while the step runs: ``distributed`` samples with
# ``random`` when it sizes a message)
SHARED_RANDOM = ("it draws from random's global generator beside other threads of its "
                 "process that draw from it too (a Dask worker's)")


def warn_none_outputs(task: StepTask, values: dict[str, Any]) -> None:
    """A ``NoneOutputWarning`` for each output that is ``None`` and that a later step
    consumes (an element of a mapped step is not warned about: its output is a list)."""
    step = task.step
    if step.map_over is not None:
        return
    for asset, value in values.items():
        if value is not None:
            continue
        readers = None if task.consumers is None else task.consumers.get(asset)
        if task.consumers is not None and not readers:
            continue  # nobody reads it: a step run for its side effects may return None
        who = f"step {', '.join(map(repr, readers))}" if readers else "a later step"
        warning = NoneOutputWarning(
            f"step {step.name!r} returned None for asset {asset!r}, which {who} "
            f"consumes; if {step.name} is missing a return statement, that step fails "
            "on a None input")
        warn_at_step(step, warning)


def warn_commands(task: StepTask, commands: dict[str, list[str]], read: set[str]) -> None:
    """A ``UnseenInputWarning`` for each command the step's code ran (``core.reads``);
    ``read``: the files recorded as the step's reads."""
    here = os.path.join(os.getcwd(), "")

    def shown(paths: list[str]) -> str:
        return ", ".join(os.path.relpath(p, here) if p.startswith(here) else p for p in paths)

    for command, named in commands.items():
        inputs = [p for p in named if p in read]
        outputs = [p for p in named if p not in read]
        counted = (f"the files named on its command line count as the step's reads "
                   f"({shown(inputs)})" if inputs else "no file named on its command line "
                   "counts")
        if outputs:
            counted += f" ({shown(outputs)}: changed by the step, so taken as its output)"
        warn_at_step(task.step, UnseenInputWarning(
            f"step {task.step.name!r} ran `{command}`: FlowyML cannot see what a command "
            f"reads; {counted}, anything else it reads does not (an edit of such a "
            "file would reuse the old result). Declare such files as fm.DataFile "
            "parameters, or use @step(cache=False)"))


def warn_connections(task: StepTask, peers: list[str]) -> None:
    """One ``UnseenInputWarning`` for the network connections the step opened."""
    if not peers:
        return
    more = f" and {len(peers) - 3} more" if len(peers) > 3 else ""
    warn_at_step(task.step, UnseenInputWarning(
        f"step {task.step.name!r} connected to {', '.join(peers[:3])}{more}: what it "
        "received is not seen by the cache, so a reuse returns this execution's result "
        "even if the data there changes. Make what it fetches a parameter (a date, a "
        "version), or use @step(cache=False) to run it every time"))


def warn_workers(task: StepTask) -> None:
    """One ``UnseenInputWarning`` for the processes the step's code started."""
    warn_at_step(task.step, UnseenInputWarning(
        f"step {task.step.name!r} started processes (multiprocessing, a process pool, "
        "joblib, a data loader's workers): the files they read are not seen by the "
        "cache, so a reuse returns this execution's result even if those files change "
        "(what the step itself reads still counts). Declare the files its workers read "
        "as fm.DataFile parameters, or use @step(cache=False)"))


def warn_at_step(step: Step, warning: Warning) -> None:
    """Shown at the step's own definition, not in FlowyML's code."""
    code = getattr(inspect.unwrap(step.func), "__code__", None)
    if code is None:
        warnings.warn(warning, stacklevel=3)
    else:
        warnings.warn_explicit(warning, type(warning), code.co_filename, code.co_firstlineno,
                               getattr(step.func, "__module__", None))


def load_inputs(task: StepTask, store: ArtifactStore) -> dict[str, Any]:
    """The step's arguments: plain values (a private copy when they are the driver's
    objects, ``private_values``), stored inputs decoded anew (a view of their own for
    this call), ``ArtifactRef`` for parameters that ask for one."""
    kwargs = private_values(task.step, task.values) if task.copy_values else dict(task.values)
    for param, ref in task.refs.items():
        if param in task.want_ref:
            kwargs[param] = replace(ref, _loader=_loader_for(store))
        else:
            kwargs[param] = load_object(
                store, ref.content_hash, ref.materializer, f"{ref.name}@{ref.version}",
                own=param in task.own, data=ref.data,
            )
    return kwargs


def check_inputs(task: StepTask, kwargs: dict[str, Any]) -> None:
    """Validate the arguments ``task.check_inputs`` against the schemas their parameters
    declare, before the step's code runs (``contracts.validate_inputs``; a coercing
    schema replaces the argument by the coerced frame). A violation fails the step,
    not retried: every attempt would get the same input."""
    from ..core.contracts import SchemaViolation, validate_inputs

    # (an output of this run has no version yet)
    sources = {p: "asset " + repr(f"{r.name}@{r.version}" if r.version else r.name)
               for p, r in task.refs.items()}
    try:
        validate_inputs(task.step, task.check_inputs - task.want_ref, kwargs, sources)
    except SchemaViolation as exc:  # what it was given: a failure of the step, not FlowyML's
        raise UserCodeError(task.step.name, str(exc), retry=False) from (exc.__cause__ or exc)


class SharedValueWarning(UserWarning):
    """A run value (or default) that cannot be copied (it holds a lock, a connection,
    a generator) is given to every in-process step that takes it as the same object:
    what one step changes in it, or consumes of it, the next one sees. Said once per
    step and parameter."""


_FLAT_COPY = frozenset({list, dict, set, bytearray})
_ATOMS = frozenset({str, int, float, bool, type(None), bytes, complex})
_FROZEN = frozenset({tuple, frozenset})
# values passed as they are: a sentinel (``object()``), classes, functions and modules
# (pickle takes the three last by name: the same objects; a worker imports them)
_KEPT = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
_warned_shared: set[tuple[str, str]] = set()


def _flat(value: Any) -> bool:
    """Whether a list, dict, set, tuple, frozenset or bytearray holds only immutable
    scalars (its keys too): nothing in it can be changed in place but itself."""
    if type(value) is bytearray:
        return True
    if type(value) is dict:
        return set(map(type, value)) <= _ATOMS and set(map(type, value.values())) <= _ATOMS
    return set(map(type, value)) <= _ATOMS


def private_values(step: Step, values: dict[str, Any]) -> dict[str, Any]:
    """The driver's run values and defaults for one call of ``step`` (one attempt) in
    this process: each a private copy unless nothing can change it in place, as a
    worker gets its own by unpickling. So a step that changes a value in place (a
    list, a dataclass config, a tuple holding a list) or consumes it (an iterator)
    changes neither what the next step gets nor the caller's object, and the result
    is the one every executor computes. Plain scalars, and tuples and frozensets of
    them, are passed as they are (no work: most steps); a list, dict, set or
    bytearray of plain scalars is copied shallowly (a 100k-entry table: ~3 ms); the
    others are copied as a worker gets them (``_copies``)."""
    out = dict(values)
    deep: dict[str, Any] = {}
    for param, value in values.items():
        t = type(value)
        if t in _ATOMS:
            continue
        if t in _FLAT_COPY or t in _FROZEN:
            if _flat(value):  # scalars only: a shallow copy is a whole one
                if t in _FLAT_COPY:
                    out[param] = t(value)
                continue
        elif t is object or isinstance(value, _KEPT):
            continue
        deep[param] = value
    if deep:
        out.update(_copies(step, deep))
    return out


def _copies(step: Step, values: dict[str, Any]) -> dict[str, Any]:
    """Copies of ``values`` as unpickling gives them to a worker: one pickle of them
    all, so what two share their copies share (arrays through out-of-band buffers,
    copied once). What a copy keeps itself: a bare ``object()`` (a sentinel compared
    with ``is``), a module, the hidden random generators (a call draws from them).
    A value that does not pickle (a lambda inside, a class made in a function) is
    deep-copied instead; one that cannot be copied at all (a lock, a connection, a
    generator) is passed as it is, with a ``SharedValueWarning``."""
    keep = rng.instances()
    try:
        return dict(_round_trip(values, keep))
    except Exception:
        pass
    import copy  # here: a run of plain scalars never needs it

    out: dict[str, Any] = {}
    memo = dict(keep)
    for param, value in values.items():
        try:
            out[param] = _round_trip(value, keep)
            continue
        except Exception:
            pass
        try:
            out[param] = copy.deepcopy(value, memo)
        except Exception as exc:  # shared: said once
            out[param] = value
            _warn_shared(step, param, value, exc)
    return out


def _round_trip(value: Any, keep: dict[int, Any]) -> Any:
    import io

    pickler, unpickler = _copy_picklers()
    kept: list[Any] = []
    buffers: list[Any] = []
    with io.BytesIO() as out:
        pickler(out, keep, kept, buffers).dump(value)
        out.seek(0)
        return unpickler(out, kept, [bytearray(b.raw()) for b in buffers]).load()


@functools.cache
def _copy_picklers() -> tuple[type[Any], type[Any]]:
    """The pickler and unpickler of ``_round_trip``: ``pickle``'s, with what a copy
    keeps itself passed by reference to this process's object (a persistent id)."""
    import pickle

    class Pickler(pickle.Pickler):
        def __init__(self, file: Any, keep: dict[int, Any], kept: list[Any],
                     buffers: list[Any]) -> None:
            super().__init__(file, protocol=5, buffer_callback=buffers.append)
            self.keep, self.kept = keep, kept

        def persistent_id(self, obj: Any) -> Any:
            t = type(obj)
            if t is object or t is types.ModuleType or self.keep.get(id(obj)) is obj:
                self.kept.append(obj)
                return len(self.kept) - 1
            return None

    class Unpickler(pickle.Unpickler):
        def __init__(self, file: Any, kept: list[Any], buffers: list[Any]) -> None:
            super().__init__(file, buffers=buffers)
            self.kept = kept

        def persistent_load(self, pid: Any) -> Any:
            return self.kept[pid]

    return Pickler, Unpickler


def _type_label(value: Any) -> str:
    t = type(value)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _warn_shared(step: Step, param: str, value: Any, exc: Exception) -> None:
    if (step.name, param) in _warned_shared:
        return
    _warned_shared.add((step.name, param))
    why = f"{type(exc).__name__}: {exc}"[:200]
    warn_at_step(step, SharedValueWarning(
        f"step {step.name!r}: run value {param} (a {_type_label(value)}) cannot be "
        f"copied ({why}), so every step that takes it in this process gets this same "
        "object: what one changes in it, or consumes of it, the next one sees (and a "
        "worker process cannot be sent it at all). Create it inside the step, from "
        "plain values"))


# what numpy says when something writes into a read-only array ("assignment destination
# is read-only", "output array is read-only", "sort array is read-only", ...)
_READ_ONLY_MARKERS = ("read-only", "WRITEABLE flag")


def user_error(
    task: StepTask, kwargs: dict[str, Any], exc: BaseException, attempts: int
) -> UserCodeError:
    """``UserCodeError`` for ``exc`` raised by the step's code. A write into a read-only
    input (a stored numpy array, memory-mapped read-only) names the input and the fix;
    the user's exception stays the ``__cause__``."""
    name = task.step.name
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ValueError) and any(m in str(exc) for m in _READ_ONLY_MARKERS):
        suspects = [p for p, ref in task.refs.items() if _read_only_input(kwargs.get(p), ref)]
        if suspects:
            labels = ", ".join(f"{p} (asset {task.refs[p].name!r})" for p in suspects)
            which = f"its input {labels}" if len(suspects) == 1 else f"one of its inputs {labels}"
            p = suspects[0]
            text = (
                f"{text}. Step {name!r} wrote into {which}: a read-only view of a stored "
                "artifact, which other steps read too and which never changes; to change "
                f"it, copy it first, e.g. {p} = {p}.copy()"
            )
    nones = [f"{p} (asset {ref.name!r})" for p, ref in task.refs.items()
             if p not in task.want_ref and p in kwargs and kwargs[p] is None]
    if nones:  # points back at the producer, which was warned about (NoneOutputWarning)
        text += f" (its input {', '.join(nones)} is None: the step that produced it returned None)"
    return UserCodeError(name, text, attempts)


def _read_only_input(value: Any, ref: ArtifactRef) -> bool:
    if isinstance(value, ArtifactRef):  # the step loads it itself
        return ref.materializer == "numpy"
    flags = getattr(value, "flags", None)
    return (
        type(value).__module__ == "numpy"
        and flags is not None
        and getattr(flags, "writeable", True) is False
    )


def split_outputs(step: Step, result: Any) -> dict[str, Any]:
    if len(step.outputs) == 1:
        return {step.outputs[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(step.outputs):
        got = f"a {type(result).__name__}" + (
            f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        )
        exc = TypeError(
            f"step {step.name!r} declares {len(step.outputs)} outputs {step.outputs} but "
            f"returned {got}; return a tuple with one value per output"
        )
        raise UserCodeError(step.name, str(exc)) from exc
    return dict(zip(step.outputs, result, strict=False))


def _loader_for(store: ArtifactStore) -> Any:
    def loader(ref: ArtifactRef) -> Any:
        with file_reads.paused():  # the store's files, read for the step: not its inputs
            return load_object(store, ref.content_hash, ref.materializer,
                               f"{ref.name}@{ref.version}", data=ref.data)

    return loader


def want_ref(step: Any) -> frozenset[str]:
    """The parameters annotated ``ArtifactRef``: they get a handle, not the value."""
    cached = getattr(step, "_want_ref", None)
    if cached is not None:
        return cached
    func = step.func
    if type(func) is types.FunctionType and not func.__annotations__:  # most steps
        step._want_ref = frozenset()
        return step._want_ref
    import typing

    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable annotations: read them as written
        hints = {p.name: p.annotation for p in step.params}
    want = frozenset(p for p, t in hints.items() if t is ArtifactRef and p != "return")
    step._want_ref = want
    return want
