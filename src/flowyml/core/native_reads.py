"""Files that libraries open outside Python's ``open``, recorded from the reader's call.

polars, pyarrow, numpy's ``fromfile``, and pandas' parquet, feather, ORC and HDF5 readers
(which hand the path to pyarrow or PyTables) open their files in Rust or C, where the
audit hook that records a step's reads (``reads``) sees nothing: editing such a file
reused the old result. So their public readers (``pl.read_csv``, ``pl.scan_parquet``,
``pq.read_table``...) are called through a thin wrapper that tells ``reads`` the source
it was given (``reads.note_native_source``, set as ``note``: a file by its content, a
folder by its names and every file in it, a glob pattern by the files it matches) when
a step is running in the thread, and does nothing else.

The wrappers are put in place (``instrument``) in the modules of a library that is
already imported, when a pipeline is built and when a step starts: the library is never
imported for it. A reader bound before that (``from polars import read_csv`` at the top
of a module imported before any build) is the library's own function: in the modules
of the pipeline's steps, such names are pointed at the wrapper at build (``rebind``);
elsewhere (a helper module's, a dict of readers made at import) a step that reaches one
re-executes on every run, with a warning (``unwatched``), unless that function's calls
are seen anyway (``SEEN_UNWRAPPED``). The fingerprint sees through a
wrapper to the library's function (``wrappers.original``), so keys are what they were.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from . import wrappers

# module -> (attribute, the keyword of the source argument when not given first); an
# attribute ``Class.__init__`` is patched on the class (every reference to it sees it),
# its source the argument after ``self``. polars' readers expand glob patterns.
_READERS: dict[str, tuple[tuple[str, str], ...]] = {
    "polars": tuple((n, "source") for n in (
        "read_csv", "read_csv_batched", "scan_csv", "read_parquet", "scan_parquet",
        "read_parquet_schema", "read_parquet_metadata", "read_ipc", "read_ipc_stream",
        "read_ipc_schema", "scan_ipc", "read_ndjson", "scan_ndjson", "read_json",
        "read_avro", "read_excel", "read_ods", "read_delta", "scan_delta",
        "scan_iceberg", "scan_pyarrow_dataset")),
    "pyarrow.parquet": (("read_table", "source"), ("read_pandas", "source"),
                        ("read_schema", "where"), ("read_metadata", "where"),
                        ("ParquetFile.__init__", "source"),
                        ("ParquetDataset.__init__", "path_or_paths")),
    "pyarrow.feather": (("read_table", "source"), ("read_feather", "source")),
    "pyarrow.dataset": (("dataset", "source"), ("parquet_dataset", "metadata_path")),
    "pyarrow.csv": (("read_csv", "input_file"), ("open_csv", "input_file")),
    "pyarrow.json": (("read_json", "input_file"),),
    "pyarrow.orc": (("read_table", "source"), ("ORCFile.__init__", "source")),
    "pyarrow.ipc": (("open_file", "source"), ("open_stream", "source")),
    "pyarrow": (("memory_map", "path"), ("input_stream", "source")),
    "numpy": (("fromfile", "file"),),
    # pandas' readers that hand their path to pyarrow or PyTables (C): pyarrow.parquet
    # is imported by the first call, too late for its own wrapper in that step
    "pandas": (("read_parquet", "path"), ("read_feather", "path"), ("read_orc", "path"),
               ("read_hdf", "path_or_buf")),
}
_GLOBBING = frozenset({"polars"})
# The writers of the same libraries (the target is the argument after the frame or
# table): what they write is the step's output, as a file opened for writing is. Another
# step reading it with no asset between them is warned about (``runtime.loop``), and
# the step's own reads of it are not inputs.
_WRITERS: dict[str, tuple[tuple[str, str], ...]] = {
    "polars": tuple((f"DataFrame.{n}", "file") for n in (
        "write_csv", "write_parquet", "write_ipc", "write_ipc_stream", "write_ndjson",
        "write_json", "write_avro", "write_excel")) + tuple(
        (f"LazyFrame.{n}", "path") for n in ("sink_parquet", "sink_csv", "sink_ipc",
                                             "sink_ndjson")),
    "pyarrow.parquet": (("write_table", "where"),),
    "pyarrow.feather": (("write_feather", "dest"),),
    "pyarrow.csv": (("write_csv", "output_file"),),
    "pyarrow.orc": (("write_table", "where"),),
}
# Readers whose own function, called unwrapped (bound before it was wrapped), is still
# seen, whatever its arguments and wherever the file is: ``pq.read_table`` goes through
# ``ParquetDataset`` (patched on the class), pandas' feather and ORC readers and
# ``np.fromfile`` through Python's ``open``. Not the others: polars' ``read_*`` with
# ``use_pyarrow=True`` and ``pd.read_parquet`` call a pyarrow module they import
# themselves, unwrapped in that first call, and pyarrow's feather and IPC readers open
# in C; a step reaching one of those re-executes every run. ``test_file_reads`` runs
# each of these in a fresh process, on a file outside the working folder.
SEEN_UNWRAPPED = frozenset({
    "pyarrow.parquet.read_table", "pyarrow.parquet.read_pandas", "pandas.read_feather",
    "pandas.read_orc", "numpy.fromfile"})

# Queries, not data: such a value keeps the paths it scans, and the code that collects
# it reads them, in Rust or C, unseen (the readers above see the scan, where it is made)
QUERY_TYPES = frozenset({
    "polars.lazyframe.frame.LazyFrame", "pyarrow._dataset.FileSystemDataset",
    "pyarrow._dataset.Dataset", "pyarrow._dataset.UnionDataset",
    "pyarrow.parquet.core.ParquetDataset", "pyarrow._dataset.FileFragment",
    "pyarrow._dataset_parquet.ParquetFileFragment"})

# the globals a pickle of one names (``coderefs.pickle_globals``): an artifact holding a
# query, however deep (a dict of LazyFrames, a list of dataset fragments)
QUERY_REFS = frozenset({
    "polars.lazyframe.frame:LazyFrame", "pyarrow._dataset:FileSystemDataset",
    "pyarrow._dataset:UnionDataset", "pyarrow.parquet.core:ParquetDataset",
    "pyarrow._dataset_parquet:ParquetFileFormat", "pyarrow._fs:FileSystem._from_uri",
    "pyarrow._fs:LocalFileSystem"})

_lock = threading.Lock()
_done: set[str] = set()  # modules whose readers are wrapped
_originals: dict[int, tuple[str, Any]] = {}  # id(library's function) -> name, wrapper


def instrument() -> None:
    """Wrap the readers of every library of ``_READERS`` imported by now (once each)."""
    if len(_done) == len(_READERS):
        return
    for module, readers in _READERS.items():
        mod = sys.modules.get(module) if module not in _done else None
        if mod is None:
            continue
        with _lock:  # (two threads' steps starting: one wraps, neither runs unwrapped)
            if module not in _done:
                for attr, keyword in readers:
                    _instrument(mod, module, attr, keyword, module in _GLOBBING)
                for attr, keyword in _WRITERS.get(module, ()):
                    _instrument(mod, module, attr, keyword, False, writes=True)
                _done.add(module)


def _instrument(mod: Any, module: str, attr: str, keyword: str, globs: bool,
                writes: bool = False) -> None:
    owner_name, _, attr = attr.rpartition(".")
    owner = getattr(mod, owner_name, None) if owner_name else mod
    fn = getattr(owner, attr, None) if owner is not None else None
    if fn is None or wrappers.is_wrapper(fn) or not callable(fn):
        return
    wrapper = (_wrap_writer(fn, keyword) if writes
               else _wrap(fn, keyword, globs, method=bool(owner_name)))
    wrappers.register(wrapper, fn)
    setattr(owner, attr, wrapper)
    if owner_name or writes:
        return  # a class's: every reference to the class sees it (a writer bound early
        # only misses the warning about a file shared without an asset)
    _originals[id(fn)] = (f"{module}.{attr}", wrapper)
    home = sys.modules.get(getattr(fn, "__module__", None) or "")
    if home is not None and home is not mod and getattr(home, attr, None) is fn:
        setattr(home, attr, wrapper)  # where it is defined (polars.io.csv...) too


def _ignore(source: object, globs: bool) -> None:
    """What a wrapper tells before ``reads`` is loaded (no step has run: nothing)."""


# set by ``reads`` when it is imported (``reads.note_native_source``): this module is
# imported by the fingerprint, which a build needs without the read recorder
note: Callable[[object, bool], None] = _ignore


def _ignore_write(target: object) -> None:
    """What a writer tells before ``reads`` is loaded (no step has run: nothing)."""


# set by ``reads`` (``reads.note_native_target``), as ``note`` is
note_write: Callable[[object], None] = _ignore_write


def _wrap_writer(fn: Any, keyword: str) -> Any:
    @functools.wraps(fn)
    def writer(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:  # (after: the file exists, or the call failed and it may not)
            note_write(args[1] if len(args) > 1 else kwargs.get(keyword))

    return writer


def _wrap(fn: Any, keyword: str, globs: bool, method: bool) -> Any:
    first = 1 if method else 0  # (``self``)

    @functools.wraps(fn)
    def reader(*args: Any, **kwargs: Any) -> Any:
        note(args[first] if len(args) > first else kwargs.get(keyword), globs)
        return fn(*args, **kwargs)

    return reader


def unwatched(obj: Any) -> str | None:
    """The dotted name of a library reader whose calls are not seen (the library's own
    function, bound before it was wrapped), or None."""
    hit = _originals.get(id(obj)) if _originals else None
    return hit[0] if hit is not None and hit[0] not in SEEN_UNWRAPPED else None


def rebind(namespaces: Iterable[dict[str, Any]]) -> None:
    """Point the names of these module namespaces (the modules of a pipeline's steps)
    that hold a library's reader bound before it was wrapped (``from polars import
    read_csv``) to the wrapper, which calls the same function."""
    if not _originals:
        return
    for namespace in namespaces:
        module = namespace.get("__name__")
        for key, value in list(namespace.items()):
            hit = _originals.get(id(value))
            if hit is not None and callable(value):
                namespace[key] = hit[1]
            elif issubclass(type(value), type) and value.__module__ == module:
                _rebind_class(value)


def _rebind_class(cls: type) -> None:
    """The class attributes of ``cls`` (one of the steps' module's) holding a reader
    bound before it was wrapped (``reader = pq.read_table``, a ``staticmethod`` of one)."""
    for key, value in list(vars(cls).items()):
        inner = value.__func__ if isinstance(value, staticmethod) else value
        hit = _originals.get(id(inner))
        if hit is not None and callable(inner):
            try:
                setattr(cls, key, staticmethod(hit[1]) if inner is not value else hit[1])
            except (AttributeError, TypeError):  # a class that refuses: left as it is
                pass


_rebound: set[int] = set()  # namespaces ``rebind_once`` went through


def rebind_once(func: Any) -> None:
    """``rebind`` the module of ``func`` (a step about to run), once per process: a
    worker process imported it itself, after no build of its own."""
    namespace = getattr(func, "__globals__", None)
    if _originals and type(namespace) is dict and id(namespace) not in _rebound:
        _rebound.add(id(namespace))
        rebind([namespace])
