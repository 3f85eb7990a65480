"""The files a step's execution opened for reading, recorded so a reuse can check them.

The cache key covers a step's code, its inputs and its parameters. A file the step
opens by a plain path (``pd.read_csv("data/raw.csv")``) is none of these, and editing
it would otherwise leave the old result cached. So while a step's body runs, the
files it opens for reading are recorded (a ``sys.addaudithook`` hook sees every
``open``: builtin ``open``, ``os.open``, ``io.open``, and so ``pandas``, ``numpy``,
``json``, ``pickle``...), each with its size, modification time and BLAKE3 content
hash, taken once the step returns. They are kept with the cache entry, and a later
run checks them before it reuses the entry: a file whose size, mtime and ctime are
unchanged is taken as unchanged (as ``make`` and git do); otherwise its content is
hashed, and a different hash, or a missing file, re-executes the step with a reason
that names the file. A file that changed within a timestamp tick of the read (racy,
see ``_read``) is hashed as the step opens it, and always checked by content.

A file the step tried to open and did not find counts by its absence. A folder the
step lists (``glob``, ``iterdir``, ``os.walk``) is recorded too, as its sorted names
(or its absence): a file added or removed re-executes the step. Not a folder the step
itself created, removed or renamed entries in, nor the ``sys.path`` folders the import
system lists to find a module.

Not recorded (each is covered otherwise, or is not the step's input):

* files the same execution also opened for writing (its outputs, scratch files);
* Python code read as code (imported, found, shown by ``inspect`` or a traceback, run
  by ``runpy``: the code fingerprint covers it; a ``.py`` file the step's code opens
  itself is data and counts), compiled code, the interpreter's and installed packages'
  files (library versions cover them), ``/proc``, ``/sys``, ``/dev``;
* FlowyML's own reads: inputs loaded lazily (``ArtifactRef.load``), anything under a
  ``.flowyml`` folder, the local store's folder.

Threads the step starts count where the step has the process to itself (the inline
executor, a ``processes`` worker): there a file any thread without a step of its own
opens is the step's. On a Dask worker, whose threads run several steps at once, only
the step's own thread counts. Seen only where Python opens the file: a library that
opens files in C, C++ or Rust (pyarrow and so ``pd.read_parquet``, polars, h5py) is
not; declare such files with ``fm.DataFile``. Files of more than ``HASH_LIMIT`` bytes
are recorded by size and mtime alone (a ``touch`` re-executes the step).

A path the step's own code only checks (``os.path.exists``, ``Path.is_file``,
``os.path.getsize``: an ``os.stat`` or ``os.lstat``, which Python does not audit, so
``_install`` wraps those two functions) counts too: a path not there by its absence
(``if os.path.exists("override.json")``: once it appears, the step runs again), a
regular file by its size and times (``STAT``: a check hashes no content, unless the
file changed within a tick of it: racy, as for a read), a folder or
anything else by its being there (``FOLDER``, ``PRESENT``). A check that library code
makes for its own needs is not the step's: the first caller above ``os``,
``os.path``, ``pathlib`` and ``glob`` must be the user's code, or, for a path under
the working folder, the first caller outside the standard library and installed
packages (``pd.read_parquet("data.parquet")`` asks ``os.path.isdir`` before pyarrow
reads the file in C: the file then counts by its stat).

Two C-level readers are seen by their own audit events: SQLite (``sqlite3.connect``:
the database counts as read) and a command the step's code runs (``subprocess``,
``os.system``: the files named on its command line count; what else it reads is not
seen, and each execution warns). A network connection is only warned about: what came
back cannot be recorded (``executors.task.UnseenInputWarning``).

The hook is added once per process, at the first step executed, and does nothing
while no step runs in the thread (one attribute lookup per audited event).
"""

from __future__ import annotations

import functools
import os
import stat
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from . import native_reads, wrappers
from .hashing import MISSING, just_changed
from .ownership import library_dirs

# (path, size, mtime_ns, BLAKE3 hex or None, ctime_ns): no hash when only the stat counts
# (a file too big to hash, or one that changed while the step ran: its times are then
# -1); no ctime when only the content counts (a file changed just before it was read);
# ``MISSING`` for the hash of a file the step tried to read and did not find
FileRead = tuple[str, int, int, "str | None", "int | str | None"]  # str: CODE
_ABSENT = (-1, -1, -1)  # the stat of a file not there when the step tried to open it
# (its first two: the times of a folder not there when the step tried to list it)
# the "hash" of a path the step's code only checked (``_checked``): a regular file by
# its size and times, a folder or anything else by its being there
STAT, FOLDER, PRESENT = "stat", "folder", "present"
# the last field of an entry for code a pickle the step loaded names (``pickle.find_class``:
# a joblib model calling your function): (``module:qualname``, -1, -1, digest of that
# code as the fingerprint sees it, CODE); the file counts by its bytes, this by its code
CODE = "code"
# an entry (CWD_PATH, -1, -1, the working directory, CWD) for a step that opened, listed or
# checked a path relative to the working directory: from another one it reads other files
CWD, CWD_PATH = "cwd", "<working directory>"

HASH_LIMIT = 256 * 2**20  # bytes: bigger files are recorded by size and mtime only
# compiled code, never data (not ``.pth``: PyTorch's weights); a ``.py`` file is skipped
# only when it is read as code (``_reads_code``): opened by the step's own code, it is data
_SKIP_SUFFIXES = (".pyc", ".pyo", ".pyd", ".so")
_SKIP_DIRS = ("/proc/", "/sys/", "/dev/")
_METADATA = (".egg-info/", ".dist-info/")  # a package's metadata folder

_local = threading.local()
_PAUSED: Any = object()  # a thread's ``rec`` while FlowyML reads for the step
# the recording of the step that has the whole process (the inline executor, a worker
# process): it gets the opens of threads without a recording of their own too
_process: _Recording | None = None
_hooked = False
_hook_lock = threading.Lock()


def _current() -> _Recording | None:
    """The recording this thread's reads go to: its own step's, else the one that has
    the whole process (a thread the step started); None when FlowyML reads (paused)."""
    rec = getattr(_local, "rec", None)
    if rec is None:
        return _process
    return None if rec is _PAUSED else rec
_skip_prefixes: tuple[str, ...] = ()


class _Recording:
    __slots__ = ("checked", "classes", "commands", "early", "hits", "listed", "memo", "native",
                 "opened", "peers", "relative", "skip", "unseen_writes", "workers", "written")

    def __init__(self, skip: tuple[str, ...]) -> None:
        self.skip = skip
        self.opened: dict[str, tuple[int, int, int] | None] = {}  # path -> stat at first open
        self.written: set[str] = set()
        self.listed: dict[str, tuple[int, int] | None] = {}  # folder -> its times then
        # a path the step's code only checked (``os.path.exists``) -> the stat of a
        # regular file then (racy: its hash in ``early``), or its kind (``FOLDER``,
        # ``PRESENT``); a path not there is kept in ``opened``, as a file not found
        self.checked: dict[str, tuple[int, int, int] | str] = {}
        # what a file or folder changed just before the step read it held then (its
        # hash; a folder's names): its times cannot prove it unchanged (racy, below)
        self.early: dict[str, Any] = {}
        self.commands: dict[str, list[str]] = {}  # command the step ran -> files it names
        self.peers: dict[str, None] = {}  # network addresses connected to, in order
        self.workers = False  # it started processes (``_worker_started``)
        # memoized functions (``functools.lru_cache``) that computed here -> the paths
        # they read, listed or checked meanwhile; and those known to have read files ->
        # their cache hits as the step began (``_memoized``)
        self.memo: dict[Any, set[str]] = {}
        self.hits: dict[Any, int] = {}
        # files the step may write where FlowyML cannot see it (named on a command line,
        # a SQLite database): changed while the step ran, they are its outputs
        self.unseen_writes: set[str] = set()
        self.classes: set[tuple[str, str]] = set()  # what unpickling looked up (module, name)
        self.relative = False  # it named a path relative to the working directory
        self.native: set[tuple[str, bool, str]] = set()  # sources ``native_reads`` noted


_LISTINGS = ("os.listdir", "os.scandir")
# events that create, remove or rename an entry of a folder -> which of their
# arguments name it: the step's writes, as a file opened for writing is
_CHANGES = {"os.mkdir": (0,), "os.rmdir": (0,), "os.remove": (0,), "os.rename": (0, 1),
            "os.link": (1,), "os.symlink": (1,)}
# events that start a command -> the index of its argv (or command line) among their
# arguments (``subprocess.Popen``: executable, args, cwd, env)
_SPAWNS = {"subprocess.Popen": 1, "os.system": 0, "os.posix_spawn": 1, "os.exec": 1,
           "os.spawn": 2}
_EVENTS = frozenset({"open", *_LISTINGS, *_CHANGES, *_SPAWNS, "socket.connect",
                     "sqlite3.connect", "os.fork", "pickle.find_class"})


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event not in _EVENTS:
        return
    rec = _current()
    if rec is None:
        return
    try:  # an audit hook that raises would fail the user's open(): never
        if event == "open":
            _opened(rec, args)
        elif event in _CHANGES:
            for i in _CHANGES[event]:
                if isinstance(args[i], (str, bytes, os.PathLike)):
                    rec.written.add(os.path.abspath(os.fsdecode(args[i])))  # type: ignore[arg-type]
        elif event in _SPAWNS:
            _spawned(rec, args[_SPAWNS[event]],
                     args[2] if event == "subprocess.Popen" else None)
        elif event == "socket.connect":
            _connected(rec, args[1])
        elif event == "sqlite3.connect":
            _database(rec, args[0])
        elif event == "os.fork":
            _worker_started(rec, sys._getframe(1))  # _hook <- (C) <- who forks
        elif event == "pickle.find_class":  # unpickling (pickle, joblib, torch.load...)
            rec.classes.add((str(args[0]), str(args[1])))
        else:
            _listed(rec, args)
    except Exception:
        pass


# Code that lists the folders of ``sys.path`` to find a module, a distribution's
# metadata or a resource (the import system, ``importlib.metadata`` /
# ``importlib.resources``, ``pkgutil``, ``pkg_resources``): such a listing is a lookup,
# not the step's input. Else a library imported inside a step, which asks for its
# version, would make every new file in the project re-execute the step.
_STDLIB = os.path.dirname(os.__file__)
_FINDERS = ("<frozen importlib", os.path.join(_STDLIB, "importlib", ""),
            os.path.join(_STDLIB, "pkgutil.py"))
_FINDER_PACKAGES = ("/pkg_resources/", "/importlib_metadata/", "/importlib_resources/")


def _stdlib_frames(*modules: str) -> tuple[str, ...]:
    """The ``co_filename`` prefixes of frames of these standard library modules (a
    package as ``name/``): their file, or ``<frozen name>`` where Python freezes them
    (``os``, ``posixpath``, ``genericpath`` from 3.11)."""
    out: list[str] = []
    for m in modules:
        if m.endswith("/"):
            out.append(os.path.join(_STDLIB, m[:-1], ""))
        else:
            out += [os.path.join(_STDLIB, f"{m}.py"), f"<frozen {m}>"]
    return tuple(out)


def _is_finder(filename: str) -> bool:
    """Code that looks up modules, distributions or resources (``_FINDERS``)."""
    return filename.startswith(_FINDERS) or any(p in filename for p in _FINDER_PACKAGES)


def _is_library(filename: str) -> bool:
    """The standard library's code, or an installed package's (FlowyML's too)."""
    return (filename.startswith(_STDLIB) or filename.startswith("<frozen")
            or filename.startswith(_skip_prefixes))


def _listed(rec: _Recording, args: tuple[object, ...]) -> None:
    """A folder listed (``glob``, ``iterdir``, ``os.walk``): its names are an input.
    Not when code that looks up modules lists a folder of ``sys.path`` (``_FINDERS``)."""
    path = args[0] if args else "."
    if isinstance(path, int):
        return
    if _is_finder(sys._getframe(2).f_code.co_filename):  # _listed <- _hook <- (C) <- who
        return
    _list_folder(rec, path)


def _list_folder(rec: _Recording, path: Any) -> None:
    """The folder ``path`` (``None``: the working directory) is listed by the step."""
    name = os.path.abspath(os.fsdecode(path if path is not None else "."))
    folder = os.path.join(name, "")
    if ("/.flowyml/" in name or name.endswith("/.flowyml")
            or (folder.startswith(rec.skip) and not _linked_out(folder, rec.skip))):
        return
    _attribute(rec, os.path.join(name, ""))
    _note_relative(rec, path)
    if name in rec.listed:
        return
    times = rec.listed[name] = _dir_mtime(name)
    if times is None and not os.path.lexists(name):
        rec.listed[name] = _ABSENT[:2]  # ``glob("inbox/*")`` found no folder: [] until one
    elif times is not None and just_changed(times[1]):
        rec.early[name] = _names_digest(name)  # racy (see ``_read``)


# What reads a Python file as code: the import system, and the standard library's tools
# that show or run code (``inspect``: the code fingerprint counts the text a step asks it
# for; tracebacks and warnings, through ``linecache``; ``runpy``: counted as a loader;
# debuggers). joblib.Memory reads a function's text (not through ``inspect``).
_IMPORT_SYSTEM = ("<frozen importlib", os.path.join(_STDLIB, "importlib", "_bootstrap"))
_SOURCE_USERS = _stdlib_frames("inspect", "traceback", "warnings", "runpy", "zipimport",
                               "pyclbr", "modulefinder", "pdb", "bdb", "pydoc", "doctest",
                               "trace", "profile", "cProfile")
_CODE_READER_FILES = (os.path.join(os.sep + "joblib", "func_inspect.py"),)


def _reads_code(frame: Any) -> bool:
    """Whether a ``.py`` file opened or checked at ``frame`` is read as code, so not the
    step's data: imported code counts by its normalized source (a comment edit is no
    change), and its bytes must not count again. Going up from ``frame``: the import
    system or a tool of ``_SOURCE_USERS`` says code; so does a package's code (a
    traceback renderer, a JIT reading a function's source), and no code of the user's
    above (a thread's bootstrap printing a traceback: not the step's). The user's own
    code reading it, by itself or through the standard library's readers (``pathlib``,
    ``io``, ``linecache``, ``tokenize``, ``importlib.resources``), says data."""
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_IMPORT_SYSTEM):
            if not (frame.f_code.co_name == "get_data" and frame.f_back is not None
                    and not frame.f_back.f_code.co_filename.startswith(_IMPORT_SYSTEM)):
                return True  # (a loader's ``get_data`` called from outside: a resource,
                # ``pkgutil.get_data``, is data)
        elif name.startswith(_SOURCE_USERS) or name.endswith(_CODE_READER_FILES):
            return True
        elif not _is_library(name):
            return False
        elif not (name.startswith(_STDLIB) or name.startswith("<frozen")):
            return True  # a package's code (FlowyML's too)
        frame = frame.f_back
    return True


def _finding_modules(frame: Any) -> bool:
    """Whether code that looks up modules (``_FINDERS``: ``pkgutil.iter_modules`` stats
    every entry of a ``sys.path`` folder) is among the library frames above ``frame``."""
    while frame is not None:
        name = frame.f_code.co_filename
        if _is_finder(name):
            return True
        if not _is_library(name):
            return False  # the user's frame: no finder below it
        frame = frame.f_back
    return False


def _dir_mtime(path: str) -> tuple[int, int] | None:
    """A folder's (mtime, ctime) in ns (see ``_stat``), or None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns) if stat.S_ISDIR(st.st_mode) else None


def _names_digest(path: str) -> tuple[int, str] | None:
    """How many names the folder holds and a hash of them (sorted), or None."""
    from .hashing import hash_text

    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return len(names), hash_text(*names)


def _note_relative(rec: _Recording, path: Any) -> None:
    """``path`` (``None``: the working directory itself, as ``os.listdir()`` lists it)
    may resolve against the working directory: the step then depends on it (``CWD``)."""
    if not rec.relative:
        rec.relative = path is None or not os.path.isabs(os.fsdecode(path))


def _opened(rec: _Recording, args: tuple[object, ...]) -> None:
    path, flags = args[0], args[2]
    if isinstance(path, int) or not isinstance(flags, int):
        return  # a file descriptor: opened before, by path
    name = os.path.abspath(os.fsdecode(path))  # type: ignore[arg-type]
    if name.endswith(_SKIP_SUFFIXES) or "/.flowyml/" in name:
        return
    if name.startswith(rec.skip) and not _linked_out(name, rec.skip):
        return
    if name.endswith(".py") and _reads_code(sys._getframe(2)):  # _opened <- _hook <- (C) <- who
        return
    if not flags & os.O_ACCMODE and any(m in name for m in _METADATA):
        return  # importlib.metadata reading a package's metadata (an editable install of
        # your own package keeps it in the project): the library's version, not data
    _note_relative(rec, path)
    access = flags & os.O_ACCMODE
    if access != os.O_RDONLY:
        rec.written.add(name)
    if access != os.O_WRONLY:
        _read(rec, name)


# functools.lru_cache / functools.cache wrappers (a C type)
_LRU: Any = type(functools.lru_cache()(lambda: None))
_memo_lock = threading.Lock()
# memoized function -> {path: the record of what it read when it computed}, this process
# (weak: a notebook cell redefining the function drops the old one's); made on first
# use (``weakref`` is a module to load: a run that executes no step does not need it)
_memo_records: Any = None


def _attribute(rec: _Recording, key: str) -> None:
    """``key`` (a path read, listed or checked) counts for each memoized function
    (``@functools.lru_cache`` / ``@functools.cache``, at module or class level) computing
    on the stack: a later step that gets its cached result without computing reads
    nothing, yet depends on what it read (``Recording.files``). The stack is walked from
    the first frame outside FlowyML (this module's, that saw the read) to the next one
    of FlowyML's (that called the step)."""
    frame: Any = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_FLOWYML):
        frame = frame.f_back
    while frame is not None:
        code = frame.f_code
        if code.co_filename.startswith(_FLOWYML):
            return  # the step's caller: nothing of the user's below
        fn: Any = frame.f_globals
        for part in getattr(code, "co_qualname", code.co_name).split("."):  # ("<locals>": none)
            fn = fn.get(part) if type(fn) is dict else getattr(fn, "__dict__", {}).get(part)
            if fn is None:
                break
        if type(fn) is _LRU and getattr(fn.__wrapped__, "__code__", None) is code:
            rec.memo.setdefault(fn, set()).add(key)
        frame = frame.f_back


def _read(rec: _Recording, name: str) -> None:
    """``name`` is read by the step (opened, a database, a file a command names): its
    stat now, before the read; and for any memoized function computing (``_attribute``)."""
    _attribute(rec, name)
    if name not in rec.opened:
        # A file changed within a timestamp tick of the read is racy (git's word): a
        # same-size write after the read, in that tick, keeps its size and times
        # (``hashing.just_changed``), so no later stat can show it, and a hash taken
        # once the step returns may not be of what it read. Its content is taken now,
        # before the step reads, and the record keeps no ctime: a reuse compares content.
        # (Too big to hash: recorded as never matching; a folder: its names as listed.)
        before = rec.opened[name] = _stat(name)
        if before is None and not os.path.lexists(name):
            # ``try: open(p) except FileNotFoundError: default``: the result depends on
            # the file being absent, so a file there later re-executes the step
            rec.opened[name] = _ABSENT
        elif before is not None and name not in rec.written and just_changed(before[2]):
            rec.early[name] = content_hash(name) if before[0] <= HASH_LIMIT else None


def note_native_source(source: object, globs: bool) -> None:
    """What a reader that opens its files outside Python (``native_reads``: polars,
    pyarrow) was given, for the step running in this thread: a path is read like an
    ``open`` (a folder, a partitioned dataset, by its names and every file in it, links
    followed); for a reader that expands them (``globs``: polars), a glob pattern that
    names no file by its folders' names and each match; a list of paths each. A
    ``file://`` URL is its path; a file object, bytes or another URL is not a path:
    nothing is recorded for it. A source is noted once per step."""
    rec = _current()
    if rec is None:
        return
    try:  # never fail the user's call
        items = source if isinstance(source, (list, tuple)) else (source,)
        with paused():  # (its own listings and checks: recorded here, by name)
            for item in items:
                if isinstance(item, (str, os.PathLike)):
                    key = (os.fsdecode(item), globs, os.getcwd())
                    if key not in rec.native:
                        rec.native.add(key)
                        _native_path(rec, key[0], globs)
    except Exception:
        pass


native_reads.note = note_native_source


def note_native_target(target: object) -> None:
    """A file a writer that writes outside Python (``native_reads``: polars, pyarrow)
    wrote, for the step running in this thread: its output, as a file opened for
    writing is (not an input when the step reads it back; warned about when another
    step reads it with no asset between them)."""
    rec = _current()
    if rec is None or not isinstance(target, (str, os.PathLike)):
        return
    try:  # never fail the user's call
        text = _local_path(os.fsdecode(target))
        if text is not None:
            rec.written.add(os.path.abspath(text))
    except Exception:
        pass


native_reads.note_write = note_native_target
_GLOB_CHARS = ("*", "?", "[")


def _local_path(text: str) -> str | None:
    """A path a native reader or writer was given, as a local path (``file:///data/x``:
    ``/data/x``, ``~`` expanded); None for another URL (``s3://``: not a file here)."""
    if text.startswith("file://"):
        text = text[len("file://"):]
    elif "://" in text:
        return None
    return os.path.expanduser(text)


def _native_path(rec: _Recording, given: str, globs: bool) -> None:
    text = _local_path(given)
    if text is None:
        return
    name = os.path.abspath(text)
    if ("/.flowyml/" in name or name.endswith(_SKIP_SUFFIXES)
            or (name.startswith(rec.skip) and not _linked_out(name, rec.skip))):
        return
    _note_relative(rec, text)
    if os.path.isdir(name):
        _walk(rec, name)
    elif globs and not os.path.lexists(name) and any(c in text for c in _GLOB_CHARS):
        import glob

        # the pattern as the user wrote it, against the working folder as it is (a
        # ``[`` in the project's own path is no pattern)
        pattern = text if os.path.isabs(text) else os.path.join(glob.escape(os.getcwd()), text)
        outer, _local.rec = getattr(_local, "rec", None), rec
        try:  # glob's own listings count (``_listed``): a new match re-executes
            found = glob.glob(pattern, recursive=True)
        finally:
            _local.rec = outer
        for match in sorted(found):
            if os.path.isdir(match):
                _walk(rec, match)
            elif match not in rec.written:
                _read(rec, match)
    elif name not in rec.written:
        _read(rec, name)


def _walk(rec: _Recording, top: str) -> None:
    """Every folder under ``top`` by its names, every file by its content: a dataset's
    partitions (links to folders followed, each real folder once)."""
    seen: set[str] = set()
    for folder, subfolders, files in os.walk(top, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            subfolders[:] = []
            continue
        seen.add(real)
        subfolders.sort()
        _list_folder(rec, folder)
        for file in sorted(files):
            path = os.path.join(folder, file)
            if path not in rec.written:
                _read(rec, path)


def _spawned(rec: _Recording, command: object, cwd: object) -> None:
    """A command the step's own code runs (``subprocess``, ``os.system``): what it reads
    is not seen, but the files named on its command line (a script, a data file, the
    value of ``--opt=FILE``) count as the step's reads, by content, Python scripts too
    (no fingerprint covers a script another interpreter runs). The command is kept for
    a warning (``warn_commands``). A command that library code runs for its own needs
    (``platform``, ``ctypes.util``, a package's helper) is not the step's."""
    if not _by_user_code(sys._getframe(2)):  # _spawned <- _hook <- (C) <- who runs it
        return
    if isinstance(command, (str, bytes, os.PathLike)):
        argv = [os.fsdecode(command)]  # a shell command line
    elif isinstance(command, (list, tuple)):
        argv = [os.fsdecode(a) for a in command if isinstance(a, (str, bytes, os.PathLike))]
    else:
        return
    base = os.fsdecode(cwd) if isinstance(cwd, (str, bytes, os.PathLike)) else os.getcwd()
    named: list[str] = []
    for i, arg in enumerate(argv):
        for token in _tokens(arg):
            if i == 0 and token == arg and (os.path.isabs(token) or os.sep not in token):
                continue  # the program, found on PATH (or a system binary): not data
            path = os.path.abspath(os.path.join(base, os.path.expanduser(token)))
            if (path not in named and not path.startswith(rec.skip) and "/.flowyml/" not in path
                    and os.path.isfile(path)):
                named.append(path)
                rec.unseen_writes.add(path)
                _read(rec, path)
    rec.commands.setdefault(_display(argv), named)


def _connected(rec: _Recording, address: object) -> None:
    """A network connection (``socket.connect``): what comes back is an input nobody
    sees, warned about (``task.warn_connections``). A local socket is not the
    network (a Unix socket path, ``AF_UNIX``), nor is a connection FlowyML makes."""
    if (isinstance(address, tuple) and len(address) >= 2 and isinstance(address[0], str)
            and _by_user_code(sys._getframe(2), through_libraries=True)):
        host = f"[{address[0]}]" if ":" in address[0] else address[0]
        rec.peers.setdefault(f"{host}:{address[1]}", None)


def _database(rec: _Recording, database: object) -> None:
    """``sqlite3.connect(path)`` for the user's code, itself or through a library
    (SQLAlchemy's ``create_engine("sqlite:///data.db")``, ``pd.read_sql``): SQLite
    reads the file in C, unseen by ``open``; the database counts as a read, with its
    write-ahead log (committed rows may be there only). One the step changed is its
    output (an export, a library's store such as Optuna's), not an input: as before,
    a reuse does not check it. Not a connection FlowyML makes, nor one in a thread
    no user code runs in (IPython's history)."""
    if not isinstance(database, (str, bytes, os.PathLike)) or not _by_user_code(
            sys._getframe(2), through_libraries=True):  # _database <- _hook <- (C) <- who
        return
    name = os.fsdecode(database)
    if name.startswith("file:"):  # a URI: its path, without the query
        name = name[5:].split("?", 1)[0]
    if not name or name == ":memory:" or name.startswith(":"):
        return
    path = os.path.abspath(name)
    if not path.startswith(rec.skip) and "/.flowyml/" not in path:
        for file in (path, path + "-wal"):
            if file == path or os.path.lexists(file):
                rec.unseen_writes.add(file)
                _read(rec, file)


# the standard library's ways to check a path: frames skipped to find whose check it is
_CHECKERS = _stdlib_frames("os", "genericpath", "posixpath", "ntpath", "pathlib", "glob")


def _stat_watcher(original: Any) -> Any:
    """``os.stat`` / ``os.lstat`` as they are (same signature), telling ``_checked``
    what a step's code checked. While no recording is active anywhere (``_active``):
    one more Python call and a global's test."""
    return _in_place_of(
        _lstat_wrapper(original) if original is _real_lstat else _stat_wrapper(original),
        original)


def _in_place_of(watched: Any, original: Any) -> Any:
    """``watched``, named as ``os``'s function ``original`` it stands in for: pickled by
    reference as ``os.stat`` (what that name is now), ``__wrapped__`` the original."""
    watched.__module__ = "os"
    watched.__name__ = original.__name__
    watched.__qualname__ = original.__qualname__
    watched.__doc__ = original.__doc__
    watched.__wrapped__ = original
    return watched


def _stat_wrapper(original: Any) -> Any:
    def watched(path: Any, *, dir_fd: Any = None, follow_symlinks: Any = True) -> Any:
        if not _active:
            if dir_fd is None and follow_symlinks is True:
                return original(path)
            return original(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
        return _watched_call(original, path, dir_fd, follow_symlinks)

    return watched


def _lstat_wrapper(original: Any) -> Any:
    def watched(path: Any, *, dir_fd: Any = None) -> Any:
        if not _active:
            return original(path) if dir_fd is None else original(path, dir_fd=dir_fd)
        return _watched_call(original, path, dir_fd, True)

    return watched


def _watched_call(original: Any, path: Any, dir_fd: Any, follow: Any) -> Any:
    """``original(path)`` called while some recording is active, and ``_checked``
    told (``follow``: the ``follow_symlinks`` given to ``os.stat``; True for
    ``os.lstat``, which takes none and never follows a link)."""
    lstat = original is _real_lstat or not follow
    kwargs: dict[str, Any] = {} if dir_fd is None else {"dir_fd": dir_fd}
    if original is not _real_lstat and follow is not True:
        kwargs["follow_symlinks"] = follow
    try:
        result = original(path, **kwargs)
    except (FileNotFoundError, NotADirectoryError):
        _checked(path, None, lstat, dir_fd)
        raise
    _checked(path, result, lstat, dir_fd)
    return result


def _checked(path: Any, st: Any, lstat: bool, dir_fd: Any) -> None:
    """A step's code may have checked ``path`` (``st``: its stat, None: not there)."""
    rec = _current()
    if rec is None or dir_fd is not None or not isinstance(path, (str, bytes, os.PathLike)):
        return
    try:  # never fail the user's call
        # _checked <- _watched_call <- watched <- who checks
        _record_check(rec, sys._getframe(3), path, st, lstat)
    except Exception:
        pass


def _record_check(rec: _Recording, frame: Any, path: Any, st: Any, lstat: bool) -> None:
    name = os.path.abspath(os.fsdecode(path))
    direct = _by_user_code(frame, skip=_CHECKERS)
    if not direct and not (
            # a library checking, for the user's code, a path in the working folder:
            # the data file it then reads in C (``pd.read_parquet`` asks ``isdir``
            # first, pyarrow reads); not its own probes (``~/.netrc``, config folders)
            _by_user_code(frame, through_libraries=True)
            and name.startswith(os.path.join(os.getcwd(), ""))
            and not _finding_modules(frame)):
        return
    py = name.endswith(".py")
    if (name.endswith(_SKIP_SUFFIXES) or "/.flowyml/" in name or name.endswith("/.flowyml")
            or (name.startswith(rec.skip) and not _linked_out(name, rec.skip))
            or (py and _reads_code(frame))):
        return
    _note_relative(rec, path)
    _attribute(rec, name)
    if name in rec.opened or name in rec.checked or name in rec.written:
        return
    if st is None:
        try:
            _real_lstat(name)
        except OSError:  # not there (not a dangling link): counts by its absence
            rec.opened[name] = _ABSENT
        return
    if stat.S_ISREG(st.st_mode) and not (py and (lstat or not direct)):
        # (a ``.py`` that ``Path(__file__).resolve()`` or a library's ``exists`` looks at
        # counts by its presence: its code counts by source, and a comment is no change)
        before = _stat(name)  # (as ``_read`` takes it: the times it compares at the end)
        if before is None:
            return  # replaced meanwhile
        rec.checked[name] = before
        if just_changed(before[2]):
            # racy (see ``_read``): a same-size write in this tick would keep its times,
            # so it counts by its content as checked (FlowyML's read, not the step's)
            with paused():
                rec.early[name] = content_hash(name) if before[0] <= HASH_LIMIT else None
    else:
        rec.checked[name] = FOLDER if stat.S_ISDIR(st.st_mode) and not lstat else PRESENT


_real_stat, _real_lstat = os.stat, os.lstat


def _watch_stats() -> None:
    """Put ``_stat_watcher`` in place of ``os.stat`` and ``os.lstat`` (once a process),
    also in the ``os.supports_*`` sets that hold them (``shutil`` asks them)."""
    for attr, original in (("stat", _real_stat), ("lstat", _real_lstat)):
        if getattr(os, attr) is not original:
            continue  # someone else's in place already: leave it
        watched = _stat_watcher(original)
        for group in (os.supports_dir_fd, os.supports_fd, os.supports_follow_symlinks):
            if original in group:
                group.add(watched)
        setattr(os, attr, watched)


_real_getcwd, _real_getcwdb = os.getcwd, os.getcwdb


def _watch_cwd() -> None:
    """Put ``_cwd_watcher`` in place of ``os.getcwd`` and ``os.getcwdb`` (once a
    process). The working directory a step's code asks for (``os.getcwd()``,
    ``Path.cwd()``, ``os.path.abspath("out")``, which call it) is an input, as that of a
    relative path it opens is (``rec.relative``): no audit event says it was asked."""
    for attr, original in (("getcwd", _real_getcwd), ("getcwdb", _real_getcwdb)):
        if getattr(os, attr) is not original:
            continue  # someone else's in place already: leave it
        watched = _cwd_watcher(original)
        wrappers.register(watched, original)  # (the fingerprint's key: the library's)
        setattr(os, attr, watched)


def _cwd_watcher(original: Any) -> Any:
    def watched() -> Any:
        if _active:
            rec = _current()
            if (rec is not None and not rec.relative
                    and _by_user_code(sys._getframe(1), through_libraries=True)):
                rec.relative = True  # (not FlowyML's own asking, nor a library thread's)
        return original()

    return _in_place_of(watched, original)


def _worker_started(rec: _Recording, frame: Any) -> None:
    """A process started for the step's code (``multiprocessing``, a process pool,
    joblib, a data loader's workers): what it reads is not seen (its opens are in
    another process), warned about (``task.warn_workers``). Not FlowyML's own."""
    if _by_user_code(frame, through_libraries=True):
        rec.workers = True


def _watch_processes() -> None:
    """Wrap ``multiprocessing``'s ``BaseProcess.start`` (once ``multiprocessing`` is
    imported: it is not imported for this): a process started by ``spawn`` or
    ``forkserver``, or by joblib's loky, raises no audit event (``fork`` raises
    ``os.fork``, seen by the hook). Checked as each recording begins."""
    global _processes_watched
    mod = sys.modules.get("multiprocessing.process")
    if mod is None or _processes_watched:
        return
    _processes_watched = True
    base = mod.BaseProcess
    original = base.start

    def start(self: Any) -> None:
        rec = _current()
        if rec is not None:
            try:
                _worker_started(rec, sys._getframe(1))
            except Exception:
                pass
        original(self)

    start.__wrapped__ = original  # type: ignore[attr-defined]
    base.start = start


_processes_watched = False
_active = 0  # recordings entered and not yet exited, in any thread (``Recording``)
_active_lock = threading.Lock()


def _tokens(arg: str) -> list[str]:
    """The words of one argument that may name a file: itself, the value of
    ``--opt=FILE``, and the words of a shell command line (``sh -c "python x.py"``)."""
    out = [arg]
    if arg.startswith("-") and "=" in arg:
        out.append(arg.split("=", 1)[1])
    if any(c.isspace() for c in arg):
        import shlex

        try:
            words = shlex.split(arg)
        except ValueError:
            words = arg.split()
        out += [w.split("=", 1)[1] if w.startswith("-") and "=" in w else w for w in words]
    return [t for t in out if t and not t.startswith("-")]


_FLOWYML = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")
# the standard library's ways to start a command: frames skipped to find whose it is
_SPAWNERS = _stdlib_frames("subprocess", "os", "asyncio/")


def _by_user_code(frame: Any, through_libraries: bool = False,
                  skip: tuple[str, ...] = _SPAWNERS) -> bool:
    """Whether the code that runs the command (the first frame above ``subprocess``'s,
    ``os``'s and ``asyncio``'s own) is the user's, not the standard library's
    (``platform``, ``ctypes.util``), an installed package's or FlowyML's.
    ``through_libraries``: a network connection, which user code makes through
    libraries (``requests``, ``urllib``): the first frame that is neither the standard
    library's nor a package's must be the user's (not FlowyML's; none: a library's
    own thread). ``skip``: the frames of the standard library's own ways to do it."""
    if through_libraries:
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(_FLOWYML):
                return False
            if not _is_library(name):
                return True
            frame = frame.f_back
        return False
    while frame is not None and frame.f_code.co_filename.startswith(skip):
        frame = frame.f_back
    return frame is not None and not _is_library(frame.f_code.co_filename)


def _display(argv: list[str]) -> str:
    import shlex

    text = shlex.join(argv) if len(argv) > 1 else (argv[0] if argv else "")
    return text if len(text) <= 120 else text[:117] + "..."


def _stat(path: str) -> tuple[int, int, int] | None:
    """(size, mtime, ctime) in ns of a regular file, or None. The ctime counts because
    the mtime can be put back (``cp -p``, ``touch -r``, ``rsync -t``, tar) over other
    bytes of the same size; the ctime cannot: any write or ``utime`` sets it to now."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None  # a folder, a pipe, a device: no content to key by
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _library_dirs() -> set[str]:
    """The folders of the interpreter's and installed packages' files: those of
    ``ownership.library_dirs`` (the standard library, site-packages, each prefix's
    ``lib``), and each prefix's headers, scripts and ``lib64``, every site folder
    (``site``'s, and any such folder on ``sys.path``); as given and resolved. Not the
    prefixes themselves: a project can sit under one (``/usr/src/app`` with the system's
    Python in ``/usr``, a venv made in the project folder), and what it reads there is
    the step's data."""
    import site
    import sysconfig  # here: only once a step executes

    dirs: set[str] = set(library_dirs())
    for base in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        if not base:
            continue
        where = {"base": base, "platbase": base, "installed_base": base,
                 "installed_platbase": base}
        for key in ("include", "platinclude", "scripts"):
            try:
                dirs.add(sysconfig.get_path(key, vars=where))
            except (KeyError, TypeError, ValueError):
                continue
        if os.name != "nt":
            dirs.add(os.path.join(base, "lib64"))
    try:
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    except AttributeError:  # an old virtualenv's site module
        pass
    dirs.update(p for p in sys.path if isinstance(p, str)
                and os.path.basename(p) in ("site-packages", "dist-packages"))
    if sys.executable:  # (None or "" in an embedded interpreter)
        dirs.add(os.path.dirname(sys.executable))
    return {os.path.abspath(d) for d in dirs if d} | {os.path.realpath(d) for d in dirs if d}


def _linked_out(name: str, skip: tuple[str, ...]) -> bool:
    """Whether ``name``, under a folder not recorded (``skip``), is a file of another
    folder through a symlink: a package of the user's linked into site-packages
    (``flit install --symlink``) reads the project's files by such paths. Its folder is
    resolved once per process (imports inside a step open thousands of files there),
    the file itself checked with one ``lstat``, by the functions as they were."""
    folder, _, base = name.rstrip(os.sep).rpartition(os.sep)
    real = _resolved.get(folder)
    if real is None:
        if len(_resolved) > 10_000:
            _resolved.clear()
        real = _resolved[folder] = _realpath(folder or os.sep)
    full = os.path.join(real, base)
    try:
        if stat.S_ISLNK(_real_lstat(full).st_mode):
            full = _realpath(full)
    except OSError:
        pass
    return not os.path.join(full, "").startswith(skip)


def _realpath(path: str) -> str:
    """``os.path.realpath``, its ``lstat`` calls not seen as the step's checks."""
    with paused():
        return os.path.realpath(path)


_resolved: dict[str, str] = {}  # folder -> its real path (``_linked_out``)


def _install() -> bool:
    global _hooked, _skip_prefixes
    if _hooked:
        return True
    with _hook_lock:
        if not _hooked:
            prefixes = {*_library_dirs(), _FLOWYML}
            _skip_prefixes = (*sorted(os.path.join(p, "") for p in prefixes if p), *_SKIP_DIRS)
            try:
                sys.addaudithook(_hook)
            except Exception:  # another hook refused ours: nothing is recorded
                return False
            _watch_stats()
            _watch_cwd()
            _hooked = True
    return True


class Recording:
    """The files one thread opens while it is entered (``recording``), and with
    ``whole_process`` those of every thread without a recording of its own (threads
    the step starts); ``files()`` once the step has returned. A plain class, not a
    generator: it wraps every step."""

    __slots__ = ("_outer", "_outer_process", "_rec", "_whole")

    def __init__(self, skip: tuple[str, ...], whole_process: bool = False) -> None:
        self._rec: _Recording | None = None
        self._outer: Any = None
        self._outer_process: _Recording | None = None
        self._whole = whole_process
        if _install():
            if not _processes_watched:
                _watch_processes()
            native_reads.instrument()  # (a library imported since: its readers now)
            prefixes = _prefixes.get(skip)
            if prefixes is None:
                prefixes = _prefixes[skip] = _skip_prefixes + tuple(dict.fromkeys(
                    os.path.join(f(s), "") for s in skip for f in (str, os.path.realpath)))
            self._rec = _Recording(prefixes)

    def __enter__(self) -> Recording:
        global _process, _active
        self._outer = getattr(_local, "rec", None)
        if self._rec is not None:
            if _memo_records:  # memoized functions known to read files: hits now
                with _memo_lock:
                    self._rec.hits = {fn: fn.cache_info().hits for fn in list(_memo_records)}
            with _active_lock:
                _active += 1
            _local.rec = self._rec
            if self._whole:
                self._outer_process, _process = _process, self._rec
        return self

    def __exit__(self, *exc: object) -> None:
        global _process, _active
        _local.rec = self._outer
        if self._rec is not None:
            if self._whole:
                _process = self._outer_process
            with _active_lock:
                _active -= 1

    def written_files(self) -> list[str]:
        """The files the step wrote (opened for writing, or made by a rename or a link)
        that are there once it returns, outside FlowyML's own folders: for the run's
        check that no step read a file another one wrote without an asset between them."""
        rec = self._rec
        if rec is None:
            return []
        return sorted(p for p in rec.written if not p.startswith(rec.skip)
                      and "/.flowyml/" not in p and os.path.isfile(p))

    def workers(self) -> bool:
        """Whether the step's code started processes, whose reads are not seen."""
        return self._rec is not None and self._rec.workers

    def connections(self) -> list[str]:
        """The network addresses (``host:port``) the step connected to."""
        return list(self._rec.peers) if self._rec is not None else []

    def commands(self) -> dict[str, list[str]]:
        """The commands the step's own code ran (``subprocess``, ``os.system``), each
        with the files named on its command line, which count as reads (``_spawned``)."""
        return dict(self._rec.commands) if self._rec is not None else {}

    def files(self) -> list[FileRead]:
        """The files read and not written, each with its stat and content hash, and the
        folders listed (a path ending in ``/``: name count, mtime, hash of the names)
        that the step did not write into; sorted by path."""
        rec = self._rec
        if rec is None or not (rec.opened or rec.listed or rec.checked or rec.hits
                               or rec.classes or rec.relative):
            return []
        out: list[FileRead] = _unpickled(rec)
        if rec.relative:
            out.append((CWD_PATH, -1, -1, os.getcwd(), CWD))
        for path, before in rec.opened.items():
            if before is None or path in rec.written:
                continue
            size, mtime, ctime = before
            if before == _ABSENT:  # still absent; there now: appeared meanwhile, never matches
                there = os.path.lexists(path)
                if there and path in rec.unseen_writes:
                    continue  # made by SQLite or a command for the step: its output
                out.append((path, -1, -1, None if there else MISSING, -1))
            elif _stat(path) != before:  # changed while the step ran: never matches
                if path in rec.unseen_writes:
                    continue  # changed by a command or by SQLite: the step's output
                out.append((path, size, -1, None, -1))
            elif path in rec.early:  # racy: its content as the step opened it
                early = rec.early[path]
                out.append((path, size, mtime, early, None) if early is not None
                           else (path, size, -1, None, -1))
            elif size > HASH_LIMIT:
                out.append((path, size, mtime, None, ctime))
            else:
                out.append((path, size, mtime, content_hash(path), ctime))
        for path, then in rec.checked.items():
            if path in rec.opened or path in rec.written or path in rec.listed:
                continue  # read or listed (its content counts), or written (an output)
            if isinstance(then, str):  # a folder, a link...: by its being there
                out.append((path, -1, -1, then, -1))
            elif _stat(path) != then:  # changed while the step ran: never matches
                out.append((path, then[0], -1, STAT, -1))
            elif path in rec.early:  # racy: by its content as checked, at every reuse
                early = rec.early[path]
                out.append((path, then[0], then[1], early, None) if early is not None
                           else (path, then[0], -1, STAT, -1))
            else:
                out.append((path, then[0], then[1], STAT, then[2]))
        into = {os.path.dirname(p) for p in rec.written}
        for folder, listed_at in rec.listed.items():
            if listed_at is None or folder in into or folder in rec.written:
                continue
            if listed_at == _ABSENT[:2]:  # still absent; there now: made meanwhile, never matches
                out.append((os.path.join(folder, ""), -1, -1,
                            None if os.path.lexists(folder) else MISSING, -1))
                continue
            names = rec.early[folder] if folder in rec.early else _names_digest(folder)
            if names is not None:
                moved = _dir_mtime(folder) != listed_at  # changed while the step ran
                racy = folder in rec.early  # its names as listed, no ctime (racy)
                out.append((os.path.join(folder, ""), names[0], -1 if moved else listed_at[0],
                            None if moved else names[1],
                            -1 if moved else None if racy else listed_at[1]))
        return _memoized(rec, sorted(out))


def _unpickled(rec: _Recording) -> list[FileRead]:
    """The code the pickles the step loaded name, but for Python's own: entries whose
    digest the driver fills in (``portable``), as the fingerprint sees that code."""
    from .coderefs import is_python_own

    return [(f"{module}:{name}", -1, -1, None, CODE)
            for module, name in sorted(rec.classes) if not is_python_own(module)]


def _memoized(rec: _Recording, out: list[FileRead]) -> list[FileRead]:
    """``out`` with what memoized functions read: remembered from the records of a step
    that computed them (``rec.memo``), added to those of a step that got a cached result
    (its hits grew: ``rec.hits``). Another thread's hit meanwhile (a Dask worker) adds
    reads to this step too: more to check, never less."""
    if not (rec.memo or rec.hits):
        return out
    global _memo_records
    by_path = {r[0]: r for r in out}
    with _memo_lock:
        if _memo_records is None:
            import weakref

            _memo_records = weakref.WeakKeyDictionary()
        for fn, keys in rec.memo.items():
            known = _memo_records.setdefault(fn, {})
            known.update((k, by_path[k]) for k in keys if k in by_path)
        for fn, before in rec.hits.items():
            if fn.cache_info().hits > before:
                for k, r in _memo_records.get(fn, {}).items():
                    by_path.setdefault(k, r)
    return sorted(by_path.values())


_prefixes: dict[tuple[str, ...], tuple[str, ...]] = {}  # recording's skip -> all prefixes


def recording(skip: tuple[str, ...] = (), whole_process: bool = False) -> Recording:
    """``with recording() as r:`` records the files this thread opens meanwhile
    (``skip``: more folder prefixes, such as the store's). ``whole_process``: the step
    runs alone in the process (the inline executor, a worker process), so the opens of
    threads it starts count too; not on a Dask worker, whose threads run other steps.
    Nested recordings (a step run inside a step) keep their own."""
    return Recording(skip, whole_process)


@contextmanager
def paused() -> Iterator[None]:
    """FlowyML's own reads on a step's behalf (a lazy input's load): not the step's."""
    outer = getattr(_local, "rec", None)
    _local.rec = _PAUSED
    try:
        yield
    finally:
        _local.rec = outer


def never_a_step() -> None:
    """This thread runs no step, ever (Dask's event loop in the driver): what it opens or
    unpickles is not the read of a step that records the whole process beside it."""
    _local.rec = _PAUSED


def content_hash(path: str) -> str:
    """BLAKE3 of the file (``missing`` if gone), kept per process while it is unchanged."""
    from .hashing import file_content_hash

    return file_content_hash(path)


def portable(files: Iterable[Sequence[Any]], root: str | None) -> list[list[Any]]:
    """``files`` as the catalog keeps them: paths under the project root relative to it
    (a moved or re-cloned project still matches), others absolute."""
    if not files:
        return []
    base = os.path.join(os.path.abspath(root), "") if root else None
    out: list[list[Any]] = []
    for path, *rest in files:
        if _is_code(rest):  # what the code a pickle named is now, as the fingerprint sees it
            out.append([path, -1, -1, rest[2] or code_digest(path, root), CODE])
            continue
        if len(rest) > 3 and rest[3] == CWD:
            out.append([path, -1, -1, _portable_dir(str(rest[2]), base), CWD])
            continue
        if base is not None and (path + "/").startswith(base):
            folder = path.endswith("/")
            path = os.path.relpath(path, base)
            if folder:  # a listing keeps its trailing separator
                path = os.path.join(path, "")
        out.append([path, *rest])
    return out


def _portable_dir(folder: str, base: str | None) -> str:
    """``folder`` relative to the project root (``base``, ending in a separator) when
    under it, else absolute."""
    if base is not None and os.path.join(folder, "").startswith(base):
        return os.path.relpath(folder, base)
    return folder


def _is_code(rest: Sequence[Any]) -> bool:
    return len(rest) > 3 and rest[3] == CODE


def code_digest(ref: str, root: str | None) -> str:
    """A digest of the code ``module:qualname`` as a step's fingerprint would count it
    (your code by its normalized source and what it reaches, a library's by version)."""
    from .fingerprint import code_ref_parts
    from .hashing import hash_text

    parts, _ = code_ref_parts([ref], root or ".", "unpickled")
    return hash_text(*sorted(f"{k}={v}" for k, v in parts.items()))


def _listing_changed(path: str, full: str, times: tuple[object, object],
                     digest: object) -> str | None:
    now = _dir_mtime(full)
    if now is None:
        return f"folder {path} it listed is gone"
    if now == times:
        return None
    names = _names_digest(full)
    if digest is None or names is None or names[1] != digest:
        return f"folder {path} it listed changed (files added, removed or renamed)"
    return None


def unchanged(files: Sequence[Sequence[Any]] | None) -> str:
    """What a reuse found unchanged, for its reason: ``code, inputs and parameters``,
    and ``the 1 file`` / ``the 3 files and 1 folder it read`` when it recorded any
    (``... it read or looked for`` when one was missing, and still is), and ``the code
    of the 2 objects it unpickled``."""
    if not files:
        return "code, inputs and parameters"
    code = sum(1 for f in files if _is_code(f[1:]))
    folders = sum(1 for f in files if str(f[0]).endswith("/") or f[3] == FOLDER)
    n = len(files) - folders - code - sum(1 for f in files if len(f) > 4 and f[4] == CWD)
    said = [f"{n} file{'' if n == 1 else 's'}"] if n else []
    if folders:
        said.append(f"{folders} folder{'' if folders == 1 else 's'}")
    parts = []
    if said:
        looked = (" or looked for" if any(f[3] in (MISSING, STAT, FOLDER, PRESENT)
                                          for f in files) else "")
        parts.append(f"the {' and '.join(said)} it read{looked}")
    if code:
        parts.append(f"the code of the {code} object{'' if code == 1 else 's'} it unpickled")
    if not parts:  # only its working directory
        return "code, inputs, parameters and working directory"
    return f"code, inputs, parameters and {' and '.join(parts)}"


def changed(files: Sequence[Sequence[Any]] | None, root: str | None) -> str | None:
    """Why a cache entry's recorded reads no longer hold (None: they all do): the first
    file that is gone or whose content differs."""
    if not files:
        return None
    for entry in files:
        path, size, mtime, digest = entry[:4]
        # recorded before ctimes were: its stat proves nothing, its content decides
        ctime = entry[4] if len(entry) > 4 else None
        assert isinstance(path, str)
        if ctime == CODE:  # code a pickle the step loaded names: as it is now
            if code_digest(path, root) != digest:
                return f"code {path}, which a pickle the step loaded names, changed"
            continue
        if ctime == CWD:  # it named paths relative to the working directory
            base = os.path.join(os.path.abspath(root), "") if root else None
            now_dir = _portable_dir(os.getcwd(), base)
            if now_dir != digest:
                return (f"the working directory is {now_dir}, not {digest}: the step opened "
                        "paths relative to it, or asked for it")
            continue
        full = os.path.join(root or ".", path)
        if digest == MISSING:
            if os.path.lexists(full):
                what = "folder" if path.endswith("/") or os.path.isdir(full) else "file"
                return f"{what} {path}, missing when the step ran, now exists"
            continue
        if digest in (FOLDER, PRESENT):  # checked, not read: only its being there counts
            if digest == FOLDER and not os.path.isdir(full):
                return f"folder {path} it checked is gone"
            if digest == PRESENT and not os.path.lexists(full):
                return f"path {path} it checked is gone"
            continue
        if digest == STAT:  # a file checked, not read (``os.path.getsize``): by its stat
            now = _stat(full)
            if now is None:
                return f"file {path} it checked is gone"
            if ctime is None or now != (size, mtime, ctime):
                return f"file {path} it checked changed (its size or times)"
            continue
        if path.endswith("/"):
            why = _listing_changed(path, full, (mtime, ctime), digest)
            if why is not None:
                return why
            continue
        now = _stat(full)
        if now is None:
            return f"file {path} it read is gone"
        if ctime is not None and now == (size, mtime, ctime):
            continue
        if digest is None:
            return f"file {path} it read changed (its size or times; too big to hash)"
        new = content_hash(full)
        if new != digest:
            return f"file {path} it read changed (content {str(digest)[:12]} -> {new[:12]})"
    return None
