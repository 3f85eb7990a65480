"""The worker protocol: how a step task travels to another process and back.

A *job* is two pickles. The outer one (plain ``pickle``) carries what the worker must
set up before it can unpickle the step: the driver's ``sys.path`` and where the step's
module lives, its command line and its ``__main__`` file. The inner one (``cloudpickle``,
keeping the file names of code: ``_pickler``) carries the ``StoreSpec`` (where the store
is and how to open it: never the whole stack), the ``StepTask`` and the driver's warning
filters. cloudpickle ships a function by value when it cannot be found by reference —
the usual case for a step, since the module attribute is the ``Step`` wrapper, not the
function — and by reference otherwise (helpers, classes), so the worker imports the
user's modules the way the driver did. Before running the step, the worker checks that
its state is the one the step's key was taken with (``core.statecheck``).

A task holds ``ArtifactRef`` hashes, never input values: the worker opens the
store itself (``spec.open()``, once per process) and reads through
``objects.load_object``, which memory-maps canonical formats read-only. The *reply* is
a cloudpickle of ``(kind, payload, io, warnings, logs)``: ``("ok", StepOutcome, io, ...)``
or an error kind (``user``, ``framework``, ``timeout``, ``died``) with enough to rebuild
the exception in the driver (``_pickled_exception``: its own class whenever it can).
``io`` is the store traffic of the task, added to the driver's counters so ``run.io``
is the same whatever the executor. ``warnings`` are
those the task raised in a worker process, re-raised in the driver (``decode_reply``),
where the user's filters, ``pytest.warns`` and a notebook see them, as on the inline
executor. (A Dask task runs in a worker's thread, where capturing warnings is not
safe: its warnings go to the worker's log.) ``logs`` are the step's log records
(``logship``), for the driver's handlers: a ``WorkerProcess`` sends them as they are
made instead, on its connection, before the reply.

Two ways to host the worker side:

* ``main(fd)``: a long-lived worker process (``WorkerProcess``), spoken to over a
  socket pair with ``multiprocessing.connection`` framing. It is started with
  ``python -c`` rather than ``multiprocessing``, so the user's ``__main__`` is never
  re-imported and a script without an ``if __name__ == "__main__"`` guard is safe.
* ``run_job(payload)``: one call in the current process (a Dask task).
  ``run_job_isolated`` runs it in a fresh ``WorkerProcess`` instead, so a timeout can
  kill it: that is what Dask tasks with a timeout do.
"""

from __future__ import annotations

import collections
import copy
import functools
import importlib
import importlib.util
import io
import linecache
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import types
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from .base import RemoteError, StepTimedOut, WorkerDied, describe_exit, timeout_message

if TYPE_CHECKING:
    from ..core.iostats import IOStats
    from ..stores import StoreSpec
    from .task import StepOutcome, StepTask

MAX_WARNINGS = 100  # distinct warnings of one task sent back to the driver
_STOP = b"stop"
_STARTED = b"started"  # sent by a worker when the step itself starts (the deadline's zero)
STARTED_TOPIC = "flowyml-step-started"  # a Dask task's event as it starts: its key


@dataclass
class Job:
    inner: bytes  # cloudpickle of (StoreSpec, StepTask)
    step: str
    sys_path: list[str]
    module: tuple[str, str, int] | None  # (name, file, mtime_ns) of the step's module
    timeout: float | None = None  # a deadline: the worker says when the step starts
    argv: list[str] | None = None  # the driver's command line (its key counts it)
    # the text of code shipped by value whose file is not on disk (a notebook cell's,
    # held in the driver's linecache), by file name
    lines: dict[str, list[str]] | None = None
    # the driver's ``__main__.__file__`` (None in a notebook): where the classes and
    # functions of ``__main__`` shipped by value are, for their source and their label
    main_file: str | None = None
    # the driver's warning filters (a pickle): a step in a worker sees the script's
    # ``simplefilter("error")``, or pytest's, as an inline step does
    filters: bytes | None = None
    # the classes the driver's ``__main__`` defines, each pickled by value, by name
    # (``_main_classes``)
    main_classes: dict[str, bytes] | None = None
    # the driver's root logger level and ``logging.disable`` (``logship``), and whether
    # the step's log records go to the driver as they are made (a ``WorkerProcess``'s
    # connection) or with the reply
    log_level: tuple[int, int] | None = None
    live_logs: bool = False


# ---------------------------------------------------------------- driver side
def encode_job(spec: StoreSpec, task: StepTask, timeout: float | None = None,
               live_logs: bool = False) -> bytes:
    """The job for ``task``; ``WorkerStateError`` naming the parameter when one of its
    values cannot be pickled (the step cannot run in a worker: said before it starts).
    ``live_logs``: its log records come as they are made (``WorkerProcess.call``)."""
    from .logship import levels

    try:
        inner, files = _dumps((spec, task))
    except Exception:
        said = _unsendable(task)
        if said is None:
            raise
        raise said from None  # (it says why: cloudpickle's frames would only hide it)
    classes = _main_classes(files, task.run_id)
    lines = {}
    for name in files:  # a notebook cell's code: its text travels with it
        if name in linecache.cache and not os.path.exists(name):
            lines[name] = linecache.getlines(name)
    job = Job(inner, task.step.name, list(sys.path), _module_of(task.step.func), timeout,
              list(sys.argv), lines or None,
              getattr(sys.modules.get("__main__"), "__file__", None), _filters_blob(),
              classes, levels(), live_logs)
    return pickle.dumps(job, protocol=5)


def _unsendable(task: StepTask) -> Exception | None:
    """Why ``task`` could not be pickled: a ``WorkerStateError`` naming the first of its
    values that does not pickle on its own, and the fix; None if each does."""
    for param, value in task.values.items():
        try:
            _dumps(value)
        except Exception as own:
            from ..core.errors import WorkerStateError

            kind = type(value)
            label = kind.__qualname__ if kind.__module__ == "builtins" else (
                f"{kind.__module__}.{kind.__qualname__}")
            why = f"{type(own).__name__}: {own}"[:300]
            fix = ("or run it on the inline executor without timeout= (a step with a "
                   "timeout runs in a process of its own on every executor, so that it "
                   "can be stopped)" if task.step.timeout is not None
                   else "or run with executor='inline', where steps get it in this process")
            return WorkerStateError(
                f"step {task.step.name!r} cannot run in a worker process: the value of its "
                f"parameter {param} (a {label}) cannot be sent there ({why}). Create it "
                f"inside the step, from plain values (a path, a URL, settings), {fix}")
    return None


_MAIN_CLASS_MAX = 4 << 20  # a class pickled bigger than this (a big class attribute) stays
# class -> (its pickle, or None: it cannot travel; the files of its code; ``_class_state``)
_class_blobs: weakref.WeakKeyDictionary[
    type, tuple[bytes | None, frozenset[str], tuple[Any, ...]]] = (
    weakref.WeakKeyDictionary())  # (a class redefined in a notebook goes when it goes)
_blobs_run = [""]  # the run ``_class_blobs`` holds the classes of


def _main_classes(files: set[str], run_id: str) -> dict[str, bytes] | None:
    """The classes the driver's ``__main__`` defines at its top level (a script's, a
    notebook's cells'), each pickled by value, for the worker to put in its own
    ``__main__`` (``_prepare``): there an output of one of them pickles by reference
    (``__main__.Box``), and loads back in the driver as its own class; an input of one
    loads. (cloudpickle unpickles the copy the step's code refers to as the same class
    object, by its tracking id.) Adds the files of their code to ``files``. A class is
    pickled once per run, and again when what it holds changed since (``Box.scale = 3``,
    a method patched, a global of ``__main__`` its methods read rebound: a later cell):
    a worker given its instances as an input computes with the class as it is now."""
    main = sys.modules.get("__main__")
    if _blobs_run[0] != run_id:
        _class_blobs.clear()
        _blobs_run[0] = run_id
    out: dict[str, bytes] = {}
    for name, obj in list(vars(main).items()) if main is not None else ():
        if not (isinstance(obj, type) and obj.__module__ == "__main__"
                and obj.__qualname__ == name):
            continue
        state = _class_state(obj, vars(main))
        kept = _class_blobs.get(obj)
        if kept is None or kept[2] != state:
            try:
                blob, its_files = _dumps(obj)
                kept = (blob if len(blob) <= _MAIN_CLASS_MAX else None, frozenset(its_files),
                        state)
            except Exception:  # cannot travel: its instances cannot either, as before
                kept = (None, frozenset(), state)
            _class_blobs[obj] = kept
        if kept[0] is not None:
            out[name] = kept[0]
            files.update(kept[1])
    return out or None


def _class_state(cls: type, main: dict[str, Any]) -> tuple[Any, ...]:
    """What a class's pickle by value is made of, by identity: its own attributes, and
    the globals of ``__main__`` its methods name."""
    names: set[str] = set()
    for member in vars(cls).values():  # (by type: ``isinstance`` reads ``__class__``,
        kind = type(member)  # which a lazy proxy's ``__getattribute__`` may raise for)
        fn = member.__func__ if issubclass(kind, (staticmethod, classmethod)) else (
            member.fget if issubclass(kind, property) else member)
        if type(fn) is types.FunctionType:
            names.update(fn.__code__.co_names)
    return (tuple((k, id(v)) for k, v in vars(cls).items()),
            tuple((n, id(main[n])) for n in sorted(names) if n in main))


_DYNAMIC = "<dynamic-code>"  # the file name cloudpickle gives the code it ships by value


def _with_filename(code: types.CodeType, filename: str) -> types.CodeType:
    """Code shipped by value, with the file name it has in the driver."""
    return code.replace(co_filename=filename)


_shipping = threading.local()  # the files of the code ``_dumps`` ships, per thread


def _reduce_code(code: types.CodeType) -> Any:
    import cloudpickle

    if code.co_filename == _DYNAMIC:
        return cloudpickle.Pickler.dispatch_table[types.CodeType](code)
    _shipping.files.add(code.co_filename)
    return _with_filename, (code.replace(co_filename=_DYNAMIC), code.co_filename)


def _reduce_step(step: Any) -> Any:
    """A step travels with its declaration (outputs, options: the driver's, whatever its
    module says now) and, when its function is its importable module's (``mod.f``, or
    ``mod.f.func`` of the step there), with that function by name: the worker imports
    the module, as the driver did, so the function reads the module's globals, the
    objects its helpers read too, as inline, not copies of them that travelled with it,
    and a global that cannot be pickled (a database engine) does not have to be. Any
    other function (in ``__main__``, made in a function) travels by value. The
    worker's check (``core.statecheck``) compares the function's code with the
    driver's."""
    func = step.func
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__qualname__", None) or ""
    mod = sys.modules.get(module)
    found = getattr(mod, name, None) if _importable(module, mod) and name.isidentifier() \
        else None
    if found is not None and (found is func or getattr(found, "func", None) is func):
        state = {k: v for k, v in vars(step).items() if k not in ("func", "__wrapped__")}
        return _step_by_name, (type(step), module, name, state)
    return step.__reduce_ex__(5)


def _step_by_name(cls: type, module: str, name: str, state: dict[str, Any]) -> Any:
    """The driver's step, around the function its module has under ``name``."""
    found = getattr(importlib.import_module(module), name, None)
    func = getattr(found, "func", found)
    if not callable(func):
        raise RuntimeError(f"module {module} has no function {name} in this worker process")
    step: Any = object.__new__(cls)
    vars(step).update(state)
    step.func = step.__wrapped__ = func
    return step


@functools.cache
def _pickler() -> type[Any]:
    """cloudpickle's pickler, keeping the file name of the code it ships by value (a
    step in ``__main__`` or a notebook cell), which cloudpickle drops: the worker could
    then neither read that code's text (to check the step's key, ``core.statecheck``)
    nor show the step's own file and lines in a traceback. (A dispatch table entry,
    read by the C pickler: no Python call for the objects that are not code.) The
    hidden random generators travel by reference."""
    import cloudpickle

    from ..core import rng
    from ..core.step import Step

    hidden = rng.hidden()

    class Pickler(cloudpickle.Pickler):
        dispatch_table = collections.ChainMap({types.CodeType: _reduce_code,
                                               Step: _reduce_step},
                                              cloudpickle.Pickler.dispatch_table)

        def reducer_override(self, obj: Any) -> Any:
            # a hidden random generator (reached by a step of ``__main__`` through
            # ``from random import random``): the worker's own, which is given the
            # driver's state (``StepTask.start_states``), not a copy of the driver's
            name = hidden.get(id(obj))
            if name is not None:
                return rng.hidden_generator, (name,)
            return super().reducer_override(obj)

    return Pickler


def _dumps(obj: Any) -> tuple[bytes, set[str]]:
    """``obj`` pickled for a worker, and the files of the code shipped by value."""
    files: set[str] = set()
    _shipping.files = files
    with io.BytesIO() as out:
        _pickler()(out, protocol=5).dump(obj)
        return out.getvalue(), files


_filters: tuple[list[Any], bytes] = ([], pickle.dumps([]))


def _filters_blob() -> bytes:
    """The driver's warning filters, pickled once for as long as they stay the same."""
    global _filters
    now = warnings.filters
    kept, blob = _filters
    if len(kept) != len(now) or any(a is not b for a, b in zip(kept, now, strict=True)):
        import cloudpickle

        blob = cloudpickle.dumps(list(now), protocol=5)  # a category of __main__: by value
        _filters = (list(now), blob)
    return blob


def warm_up_message(task: StepTask) -> bytes:
    """A job with no task: the worker only prepares (imports the step's module), so
    workers started together import in parallel before their first real job."""
    job = Job(b"", task.step.name, list(sys.path), _module_of(task.step.func),
              argv=list(sys.argv))  # a module may read the command line as it is imported
    return pickle.dumps(job, protocol=5)


def decode_reply(reply: bytes, stats: IOStats | None) -> StepOutcome:
    """The outcome in ``reply``, or raise the error it carries. Adds its io to ``stats``,
    logs the log records the task made (those it did not send as they came) and raises
    the warnings it raised, here."""
    kind, payload, io, warned, logged = pickle.loads(reply)
    if stats is not None and io:
        stats.add(**{k: v for k, v in io.items() if v})
    if logged:
        from .logship import log_again

        for fields in logged:
            log_again(fields)
    if warned:
        _warn_again(warned)
    if kind == "ok":
        return payload
    raise _rebuild(kind, payload)


_REGISTRY: dict[Any, Any] = {}  # "default" filters warn once per location, as in-process


def _warn_again(caught: list[tuple[str, str, str, str, int]]) -> None:
    """Raise warnings a worker caught, ``(category module, category name, text,
    filename, line)``, in this process: its filters decide what is shown."""
    for module, name, text, filename, lineno in caught:
        category: Any = getattr(sys.modules.get(module), name, None)
        if not (isinstance(category, type) and issubclass(category, Warning)):
            category, text = UserWarning, f"{name}: {text}"
        warnings.warn_explicit(text, category, filename, lineno, _module_at(filename),
                               registry=_REGISTRY)


_by_file: tuple[int, dict[str, str]] = (0, {})  # (len(sys.modules), file -> module name)


def _module_at(filename: str) -> str | None:
    """The module whose file ``filename`` is, here: what ``warnings.warn`` matches the
    filters' module against (``__main__`` for the script: Python's default filters
    show a ``DeprecationWarning`` raised there, and only there). None for a file no
    module here has (``warn_explicit`` then takes the file's name, as it did)."""
    global _by_file
    path = os.path.abspath(filename)
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if isinstance(main, str) and os.path.abspath(main) == path:
        return "__main__"
    if _by_file[0] != len(sys.modules):
        found: dict[str, str] = {}
        for name, mod in list(sys.modules.items()):
            file = getattr(mod, "__file__", None)
            if isinstance(file, str) and name != "__main__":
                found.setdefault(os.path.abspath(file), name)
        _by_file = (len(sys.modules), found)
    return _by_file[1].get(path)


def _module_of(func: Any) -> tuple[str, str, int] | None:
    name = getattr(func, "__module__", None) or ""
    mod = sys.modules.get(name)
    if not _importable(name, mod):
        return None
    path: str = getattr(mod, "__file__", "")
    try:
        return (name, path, os.stat(path).st_mtime_ns)
    except OSError:
        return None


def _importable(name: str, mod: Any) -> bool:
    """A module a worker can import by its name from a ``.py`` file (not ``__main__``)."""
    path = getattr(mod, "__file__", None)
    return bool(name) and name != "__main__" and isinstance(path, str) and path.endswith(".py")


def _rebuild(kind: str, info: dict[str, Any]) -> BaseException:
    from .task import UserCodeError

    if kind == "timeout":
        return StepTimedOut(info["message"])
    if kind == "died":
        return WorkerDied(info["message"])
    cause = _unpickle_exc(info)
    if kind == "user":
        err = UserCodeError(info["step"], info["message"], info.get("attempts", 1),
                            info.get("retry", True))
        err.__cause__ = cause
        return err
    return cause


def _unpickle_exc(info: dict[str, Any]) -> BaseException:
    exc: BaseException | None = None
    if info.get("pickled") is not None:
        try:
            exc = pickle.loads(info["pickled"])
        except Exception:
            exc = None
    if not isinstance(exc, BaseException):
        exc = RemoteError(f"{info['type']}: {info['text']}")
        exc.type_name = info["type"]
    tb = info.get("traceback")
    from ..core.errors import FlowymlError

    if tb and hasattr(exc, "add_note") and not isinstance(exc, FlowymlError):
        # (a FlowymlError's message says it all: not a bug in the worker)
        exc.add_note("traceback in the worker process:\n" + tb.rstrip())
    return exc


# ---------------------------------------------------------------- worker side
_loaded: dict[str, int] = {}  # module name -> mtime_ns it was (re)loaded at


def run_job(payload: bytes, started: Callable[[], None] | None = None,
            capture: bool = False, send: Callable[[bytes], None] | None = None) -> bytes:
    """Run one job in this process; never raises (errors travel in the reply).
    ``started()`` is called once the step's code is unpickled, just before it runs.
    ``capture``: the warnings it raises travel in the reply (a worker process's only
    thread: ``warnings.catch_warnings`` is not thread-safe), and the log records of
    every thread are the step's. ``send``: where a job with ``live_logs`` sends them."""
    if not capture:
        return _run_job(payload, started, [], capture, send)
    with warnings.catch_warnings(record=True) as caught:
        # every distinct warning once (a warning in a loop is not shipped a million
        # times), whatever its category: the driver's filters decide what is shown
        warnings.simplefilter("default")
        reply = _run_job(payload, started, caught, capture, send)
    return reply


def _run_job(payload: bytes, started: Callable[[], None] | None,
             caught: list[warnings.WarningMessage], capture: bool,
             send: Callable[[bytes], None] | None) -> bytes:
    from .logship import Shipper, shipping, take_levels

    stats = None
    before: dict[str, int] = {}
    shipper: Shipper | None = None
    step = "?"
    try:
        job: Job = pickle.loads(payload)
        _prepare(job)
        import cloudpickle  # noqa: F401  (unpickling by-value functions needs it importable)

        from .task import run_task

        spec, task = pickle.loads(job.inner)
        step = task.step.name
        if job.log_level is not None:  # (before the check: a setting the key may count)
            take_levels(job.log_level)
        if capture and job.filters:  # this process's only thread
            warnings.filters[:] = _driver_filters(job.filters)  # type: ignore[index]
            warnings.simplefilter("default", append=True)
        from ..core import native_reads

        native_reads.instrument()  # as the driver's build left its readers and the
        native_reads.rebind_once(task.step.func)  # names bound to them (``rebind``)
        if task.state is not None:  # the driver's state is what the step's key says
            from ..core.statecheck import check_worker_state

            check_worker_state(task.step, task.values, task.state)
        store = _task_store(spec)
        stats = store.stats
        before = stats.snapshot()
        if started is not None:
            started()
        with shipping(send if job.live_logs else None,
                      None if capture else threading.get_ident()) as shipper:
            outcome = run_task(task, store, alone=capture)  # a worker process's only step
        return _reply("ok", outcome, stats, before, caught, shipper.records(step))
    except BaseException as exc:
        from .task import UserCodeError

        kind = "user" if isinstance(exc, UserCodeError) else "framework"
        logged = [] if shipper is None else shipper.records(step)
        return _reply(kind, _exc_info(exc), stats, before, caught, logged)


_last_filters: tuple[bytes, list[Any]] = (b"", [])


def _driver_filters(blob: bytes) -> list[Any]:
    """The driver's warning filters: they decide what raises and what is dropped; what
    they show is recorded once per place (not a thousand times from a loop) and shown
    by them again in the driver. Unpickled once while the driver's stay the same."""
    global _last_filters
    if _last_filters[0] != blob:
        kept = ("error", "ignore")
        _last_filters = (blob, [(a if a in kept else "default", *rest)
                                for a, *rest in pickle.loads(blob)])
    return _last_filters[1]


def run_job_isolated(payload: bytes) -> bytes:
    """Run one job in a fresh worker process, killed at the job's timeout. Never raises."""
    job: Job = pickle.loads(payload)
    worker = WorkerProcess()
    try:
        return worker.call(payload, job.timeout)
    except StepTimedOut:
        assert job.timeout is not None
        return pickle.dumps(("timeout", {"message": timeout_message(job.step, job.timeout)},
                             {}, [], []))
    except WorkerDied as exc:
        return pickle.dumps(("died", {"message": f"{exc} while running step {job.step!r}"},
                             {}, [], []))
    finally:
        worker.stop()


def _reply(kind: str, payload: Any, stats: IOStats | None, before: dict[str, int],
           caught: list[warnings.WarningMessage], logged: list[dict[str, Any]]) -> bytes:
    import cloudpickle

    io = {} if stats is None else {k: v - before.get(k, 0) for k, v in stats.snapshot().items()}
    warned = [(w.category.__module__, w.category.__qualname__, str(w.message), w.filename,
               w.lineno) for w in caught[:MAX_WARNINGS]]
    try:
        return cloudpickle.dumps((kind, payload, io, warned, logged), protocol=5)
    except Exception as exc:  # an outcome that cannot travel is a framework error
        return cloudpickle.dumps(("framework", _exc_info(exc), io, warned, logged))


def _exc_info(exc: BaseException) -> dict[str, Any]:
    from .task import UserCodeError

    cause = exc.__cause__ if isinstance(exc, UserCodeError) and exc.__cause__ else exc
    kind = type(cause)
    return {
        "step": getattr(exc, "step", None),
        "message": str(exc),
        "attempts": getattr(exc, "attempts", 1),
        "retry": getattr(exc, "retry", True),
        "type": kind.__qualname__ if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}",
        "text": str(cause),
        "pickled": _pickled_exception(cause),
        "traceback": "".join(traceback.format_exception(type(cause), cause, cause.__traceback__)),
    }


def _pickled_exception(exc: BaseException) -> bytes | None:
    """``exc`` pickled so that the driver rebuilds it as its own class, as the inline
    executor hands it over: by its own reduction (``cls(*exc.args)``) or, when that
    does not rebuild it (an ``__init__`` taking other arguments than the message, as
    the errors of many clients have), by its class, ``args`` and the attributes that
    pickle, without calling ``__init__`` (``_exception_from_state``). None when neither
    does: the driver gets a ``RemoteError`` naming the class."""
    import cloudpickle

    try:
        pickled = cloudpickle.dumps(exc)
        pickle.loads(pickled)  # the driver must be able to rebuild it too
        return pickled
    except Exception:
        pass
    state = {}
    for name, value in vars(exc).items():
        try:
            cloudpickle.dumps(value)
        except Exception:
            continue  # (a response holding a socket: left out)
        state[name] = value
    try:
        pickled = cloudpickle.dumps(_ByState(type(exc), exc.args, state))
        pickle.loads(pickled)
        return pickled
    except Exception:
        return None


class _ByState:
    """Pickles as the exception ``_exception_from_state`` makes of its parts."""

    def __init__(self, cls: type[BaseException], args: tuple[Any, ...],
                 state: dict[str, Any]) -> None:
        self.parts = (cls, args, state)

    def __reduce__(self) -> tuple[Any, ...]:
        return _exception_from_state, self.parts


def _exception_from_state(cls: type[BaseException], args: tuple[Any, ...],
                          state: dict[str, Any]) -> BaseException:
    """An exception of class ``cls`` with these ``args`` and attributes, made without
    calling its ``__init__`` (which may take other arguments than ``args``)."""
    exc = cls.__new__(cls, *args)
    exc.args = args
    vars(exc).update(state)
    return exc


def _task_store(spec: StoreSpec) -> Any:
    """The store (opened once per process), with counters of its own for this
    task, so concurrent tasks in one process (Dask threads) report their own io."""
    from ..core.iostats import IOStats

    store = spec.open()
    try:
        mine = copy.copy(store)
        mine.stats = IOStats()
        return mine
    except Exception:
        return store


def _prepare(job: Job) -> None:
    """Make the driver's modules importable here, and the step's module current."""
    for name, lines in (job.lines or {}).items():  # a notebook cell's text, as IPython
        # keeps it (no modification time: ``linecache.checkcache`` leaves it alone)
        linecache.cache[name] = (sum(map(len, lines)), None, lines, name)
    for entry in reversed(job.sys_path):
        if entry not in sys.path and (entry == "" or os.path.isdir(entry)):
            sys.path.insert(0, entry)
    if job.argv is not None:  # a step parsing the command line sees the driver's
        sys.argv[:] = job.argv
    main = sys.modules.get("__main__")
    if job.inner and main is not None and getattr(main, "__file__", None) != job.main_file:
        # this process's __main__ stands for the driver's: a class of the driver's
        # script, shipped by value, is found in that file (``inspect.getsource``) and
        # labelled by it, as in the driver
        if job.main_file is None:
            vars(main).pop("__file__", None)
        else:
            main.__file__ = job.main_file
    if job.main_classes and main is not None:
        _put_main_classes(main, job.main_classes)
    if job.module is None:
        return
    name, path, mtime = job.module
    mod = sys.modules.get(name)
    if mod is None:
        try:
            importlib.import_module(name)
            _loaded[name] = mtime
            return
        except ImportError:
            if not os.path.isfile(path):
                return  # let unpickling report the missing module
        _load_from_file(name, path)
        _loaded[name] = mtime
    elif getattr(mod, "__file__", None) != path or _loaded.setdefault(name, mtime) != mtime:
        # A long-lived worker (Dask) has another file under this name (another
        # project's pipe.py) or an older version of it: load the driver's, so helpers
        # shipped by reference run the code the driver fingerprinted.
        _load_from_file(name, path)
        _loaded[name] = mtime


_main_blobs: dict[str, bytes] = {}  # what this worker's ``__main__`` holds, by name


def _put_main_classes(main: types.ModuleType, classes: dict[str, bytes]) -> None:
    """The driver's ``__main__`` classes, in this process's ``__main__`` (see
    ``_main_classes``); one that does not unpickle here is left out."""
    import cloudpickle  # noqa: F401  (its reconstructors, by reference)

    for name, blob in classes.items():
        if _main_blobs.get(name) == blob and name in vars(main):
            continue
        try:
            setattr(main, name, pickle.loads(blob))
            _main_blobs[name] = blob
        except Exception:
            continue


def _load_from_file(name: str, path: str) -> None:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


def main(fd: int) -> None:
    """Entry point of a worker process: serve jobs until told to stop or orphaned."""
    conn = Connection(fd)
    parent = os.getppid()

    def watch_parent() -> None:
        while True:
            threading.Event().wait(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch_parent, daemon=True, name="flowyml-parent-watch").start()
    from .logship import locked_sender

    send = locked_sender(conn.send_bytes)  # (the step's threads send its log records)
    while True:
        try:
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            break
        if msg == _STOP:
            break
        timed = True
        try:
            job = pickle.loads(msg)
            if not job.inner:  # warm-up: no reply
                _prepare(job)
                from ..core import statecheck  # noqa: F401  (every job's first check)
                continue
            timed = job.timeout is not None
        except Exception:
            pass  # run_job reports it
        try:
            # the deadline counts from the step's start: said only when there is one
            reply = run_job(msg, (lambda: send(_STARTED)) if timed else None, capture=True,
                            send=send)
            send(reply)
        except OSError:
            break
    conn.close()


class WorkerProcess:
    """A worker process serving jobs one at a time, in its own process group so that
    a kill takes whatever the step started with it."""

    def __init__(self) -> None:
        # the folder that holds the flowyml package (src/ of a checkout, or site-packages)
        pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        ours, theirs = socket.socketpair()
        code = (
            f"import sys; sys.path.insert(0, {pkg_parent!r}); "
            f"from flowyml.executors.worker import main; main({theirs.fileno()})"
        )
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.pid = self.proc.pid

    def call(self, payload: bytes, timeout: float | None) -> bytes:
        """Send a job, wait for the reply. ``StepTimedOut`` after ``timeout`` seconds
        counted from when the step starts (the process is killed first);
        ``WorkerDied`` if the process dies. The step's log records that come meanwhile
        (``logship.LIVE``) are logged here as they come."""
        from .logship import LIVE, log_message_again

        deadline = None  # worker start-up and imports are not timed
        try:
            self.conn.send_bytes(payload)
            while True:
                if deadline is not None and not self.conn.poll(
                        max(0.0, deadline - time.monotonic())):
                    self.kill()
                    raise StepTimedOut(f"timed out after {timeout:g} s")
                msg = self.conn.recv_bytes()
                if msg == _STARTED:  # (said for a job with a deadline only)
                    if timeout is not None:
                        deadline = time.monotonic() + timeout
                elif msg.startswith(LIVE):
                    log_message_again(msg)
                else:
                    return msg  # the reply
        except (EOFError, OSError) as exc:
            self.kill()
            raise WorkerDied(describe_exit(self.proc.returncode)) from exc

    def send(self, message: bytes) -> None:
        """Send a message that has no reply (a warm-up)."""
        try:
            self.conn.send_bytes(message)
        except OSError:  # a dead worker: the next job finds out and reports it
            pass

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker's process group and reap it."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # already gone
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - unkillable: leave it to init
            pass
        self.conn.close()

    def stop(self, grace: float = 1.0) -> None:
        """Ask the worker to exit; kill it (and its group) if it does not in ``grace``."""
        if self.alive():
            try:
                self.conn.send_bytes(_STOP)
                self.proc.wait(timeout=grace)
            except (OSError, subprocess.TimeoutExpired):  # did not stop in time: killed below
                pass
        self.kill()


def _say_started(key: str) -> None:
    """Log ``key`` under ``STARTED_TOPIC`` on this Dask worker: a message on the batched
    stream to the scheduler, no round trip. Progress only: never fails the task."""
    try:
        from distributed import get_worker

        get_worker().log_event(STARTED_TOPIC, key)
    except Exception:
        pass


def warm_up_dask_worker() -> None:
    """Import what running a job needs, when the executor starts rather than in each
    worker's first step (a cold import is ~0.3 s: start-up, not per-step cost)."""
    import cloudpickle  # noqa: F401

    from .. import stores  # noqa: F401
    from ..core import statecheck  # noqa: F401
    from . import task  # noqa: F401


def run_dask_task(payload: bytes, started: str | None = None) -> bytes:
    """The function a Dask worker runs for one attempt of a step: in its own process
    when the step has a timeout (so the deadline can kill it), else in the worker.
    ``started``: the task's key, logged under ``STARTED_TOPIC`` as it starts (for the
    driver's progress: a task may wait at its worker behind another)."""
    if started is not None:
        _say_started(started)
    job: Job = pickle.loads(payload)
    if job.timeout is not None:
        return run_job_isolated(payload)
    return run_job(payload)
