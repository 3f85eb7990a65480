"""Built-in materializers. Heavy libraries are imported only when a value of theirs shows up.

Each one stores only what it gives back exactly; otherwise ``save`` / ``dumps`` raises
``UnsupportedValue`` (with the reason) and the next materializer is tried, ultimately
pickle. How each one checks, without decoding big data twice:

- JSON: ``handles`` accepts only types that JSON keeps (``_json_safe``); text that cannot
  be encoded (lone surrogates) or integers beyond Python's digit limit are refused.
- numpy: no Python objects in the dtype, no dtype metadata, and a dtype that the
  ``.npy`` header describes exactly (a structural check of the dtype, never the data).
- pandas: Arrow cannot hold every frame (mixed-type object columns, duplicate column
  names, sparse or complex columns), and some it holds come back different (a
  categorical column index does not load at all). FlowyML keeps what pyarrow's pandas
  metadata drops (``freq`` of a datetime / timedelta index, object dtype of string
  columns), registers pandas' Arrow extension types (``PeriodIndex``, intervals) before
  reading, then decodes what it wrote and compares with ``pandas.testing`` (every
  check strict: index and column types, dtypes, names, ``freq``, flags): the whole
  frame when it is small (``FULL_CHECK_BYTES``), else its first ``HEAD_CHECK_ROWS`` rows,
  which decide every type, dtype and name, plus a check that no object column holds
  nested values (lists, dicts), whose Python types Arrow does not keep.
- polars: the schema decoded from the Arrow schema must equal the frame's (a polars
  ``Object`` column would come back as binary); small frames are compared in full.
- pyarrow: IPC keeps a table exactly; an extension type that the loading process has
  not registered is an error on load, never a silently different table.
"""

from __future__ import annotations

import io
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from ..core.hashing import hash_buffers
from .base import UnsupportedValue

# arrays this big are hashed while they are written (NumpyMaterializer.save_hashed)
HASH_WHILE_WRITING_FROM = 16 << 20  # bytes

# Frames up to this size (pandas ``memory_usage``, polars ``estimated_size``) are decoded
# in full and compared after encoding; larger ones by their head and their types.
FULL_CHECK_BYTES = 4 * 2**20
HEAD_CHECK_ROWS = 1000


def schema_meta(schema: Any, rows: int, count: int | None = None) -> dict[str, Any]:
    """``contracts.schema_meta``, imported with the first table stored."""
    from ..core.contracts import schema_meta as meta

    return meta(schema, rows, count=count)


def _module_root(value: Any) -> str:
    return type(value).__module__.split(".")[0]


def _why(exc: BaseException, limit: int = 300) -> str:
    """A one-line reason from an exception (pandas' assertion texts span lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


_JSON_SCALARS = (str, int, bool, type(None))
# JSON is for small, plain values; a larger document is refused on load (hostile input
# must fail within bounded memory). Big data belongs in .npy / Arrow.
_INF = float("inf")
MAX_JSON_BYTES = int(os.environ.get("FLOWYML_MAX_JSON_BYTES", str(256 * 1024 * 1024)))


def _json_safe(value: Any, depth: int = 0) -> bool:
    """True when JSON gives back exactly this value (types included)."""
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        t = type(v)
        if t in _JSON_SCALARS:
            continue
        if t is float:
            if v != v or abs(v) == _INF:  # (nan, inf: no ``math``, a library to load)
                return False
            continue
        if d > 100:
            return False
        if t is list:
            stack.extend((x, d + 1) for x in v)
        elif t is dict:
            for k, x in v.items():
                if type(k) is not str:
                    return False
                stack.append((x, d + 1))
        else:
            return False
    return True


def _open_uncompressed_ipc(path: Path) -> Any:
    """Read an Arrow IPC file that FlowyML wrote: uncompressed, so it maps without
    allocating. Compressed record batches are refused before anything is decoded: a
    planted file could otherwise declare gigabytes behind a few compressed bytes."""
    import pyarrow as pa

    with pa.memory_map(str(path), "r") as src:
        src.seek(8)  # after the "ARROW1\0\0" magic the file is an IPC stream
        for message in pa.ipc.MessageReader.open_stream(src):
            if message.type in ("record batch", "dictionary batch") and _is_compressed(
                message.metadata.to_pybytes()
            ):
                raise ValueError(
                    "compressed Arrow record batches are refused (FlowyML writes them "
                    "uncompressed; a compressed one can hide a decompression bomb)"
                )
    with pa.memory_map(str(path), "r") as src:
        return pa.ipc.open_file(src).read_all()


def _is_compressed(meta: bytes) -> bool:
    """Whether an IPC ``Message`` flatbuffer's record batch carries ``compression``.

    A few fixed offsets of the Arrow format (Message.header_type = field 1, header =
    field 2; RecordBatch.compression = field 3; DictionaryBatch.data = field 1)."""
    import struct

    def u16(p: int) -> int:
        return int(struct.unpack_from("<H", meta, p)[0])

    def u32(p: int) -> int:
        return int(struct.unpack_from("<I", meta, p)[0])

    def field(table: int, i: int) -> int | None:
        vt = table - int(struct.unpack_from("<i", meta, table)[0])
        pos = vt + 4 + 2 * i
        if pos >= vt + u16(vt) or u16(pos) == 0:
            return None
        return table + u16(pos)

    def table_at(p: int | None) -> int | None:
        return None if p is None else p + u32(p)

    root = u32(0)
    kind_pos = field(root, 1)
    kind = meta[kind_pos] if kind_pos is not None else 0
    header = table_at(field(root, 2))
    if header is None:
        return False
    if kind == 2:  # DictionaryBatch: its data is a RecordBatch
        header = table_at(field(header, 1))
        if header is None:
            return False
    return kind in (2, 3) and field(header, 3) is not None


_EXT_NAME = b"ARROW:extension:name"


def _unregistered_extensions(schema: Any) -> list[str]:
    """Names of the Arrow extension types in ``schema`` that this process has not
    registered: pyarrow then reads the storage type (a ``PeriodIndex`` as integer
    ordinals) and keeps the name in the field's metadata."""
    import pyarrow as pa

    names: list[str] = []
    fields = list(schema)
    while fields:
        f = fields.pop()
        meta = f.metadata or {}
        if _EXT_NAME in meta:
            names.append(meta[_EXT_NAME].decode(errors="replace"))
        t = f.type
        if isinstance(t, pa.ExtensionType):
            t = t.storage_type
        fields.extend(t.field(i) for i in range(t.num_fields))
    return sorted(set(names))


def _register_pandas_arrow_types() -> bool:
    """Register pandas' Arrow extension types (period, interval): pandas does it only
    when it first converts such an array, so a fresh process reading one would see
    integer ordinals. True when they are registered."""
    import importlib

    for module in ("pandas.core.arrays.arrow.extension_types", "pandas.core.arrays._arrow_utils"):
        try:  # pandas >= 2, then pandas 1.x
            importlib.import_module(module)
            return True
        except ImportError:
            continue
    return False


def _read_ipc(path: Path) -> Any:
    """``_open_uncompressed_ipc``, refusing to return a table whose extension types
    this process cannot rebuild (pandas' own are registered on demand)."""
    table = _open_uncompressed_ipc(path)
    missing = _unregistered_extensions(table.schema)
    if any(n.startswith("pandas.") for n in missing) and _register_pandas_arrow_types():
        table = _open_uncompressed_ipc(path)
        missing = _unregistered_extensions(table.schema)
    if missing:
        raise ValueError(
            f"the Arrow extension type(s) {', '.join(missing)} are not registered in this "
            "process, so the table would load with different types; import the library "
            "that defines them before loading"
        )
    return table


class JsonMaterializer:
    name = "json"
    version = 1
    uses_pickle = False

    def handles(self, value: Any) -> bool:
        return _json_safe(value)

    def dumps(self, value: Any) -> tuple[bytes, dict[str, Any]]:
        try:
            data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError as exc:  # a lone surrogate: not UTF-8 text
            raise UnsupportedValue(f"it holds text that is not valid UTF-8 ({_why(exc)})") from None
        except ValueError as exc:  # an int beyond sys.get_int_max_str_digits()
            raise UnsupportedValue(f"JSON cannot write it ({_why(exc)})") from None
        if len(data) > MAX_JSON_BYTES:  # stored, no load would read it back (``load``)
            raise UnsupportedValue(
                f"as JSON it is {len(data):,} bytes, over the {MAX_JSON_BYTES:,} a JSON "
                "artifact may have when it is loaded (FLOWYML_MAX_JSON_BYTES); a numpy "
                "array or a table stores large data without that limit")
        return data, {"type": type(value).__name__}

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        data, meta = self.dumps(value)
        path.write_bytes(data)
        return meta

    def load(self, path: Path) -> Any:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise ValueError(
                f"JSON document of {size} bytes exceeds the limit of {MAX_JSON_BYTES} "
                "(FLOWYML_MAX_JSON_BYTES)"
            )
        return json.loads(path.read_bytes())  # nesting too deep -> RecursionError

    def loads(self, data: bytes) -> Any:
        if len(data) > MAX_JSON_BYTES:
            raise ValueError(f"JSON document of {len(data)} bytes exceeds the limit of "
                             f"{MAX_JSON_BYTES} (FLOWYML_MAX_JSON_BYTES)")
        return json.loads(data)


class NumpyMaterializer:
    """A plain ``ndarray`` as ``.npy``. Object arrays are not claimed (pickle); a dtype
    the ``.npy`` header cannot describe exactly is refused on save."""

    name = "numpy"
    version = 1
    uses_pickle = False

    def handles(self, value: Any) -> bool:
        if _module_root(value) != "numpy":
            return False
        import numpy as np

        return type(value) is np.ndarray and value.dtype != object

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        import numpy as np

        _check_npy_dtype(value.dtype)
        with open(path, "wb") as f:
            try:
                np.save(f, value, allow_pickle=False)
            except ValueError as exc:  # e.g. object fields inside a structured dtype
                raise UnsupportedValue(f".npy cannot hold it ({_why(exc)})") from None
        return {"shape": list(value.shape), "dtype": value.dtype.str}

    def save_hashed(self, value: Any, path: Path) -> tuple[dict[str, Any], str] | None:
        """``save`` and the digest of what it wrote, in one pass over the array's memory
        overlapped with the write: a thread hashes the header and the array's bytes
        while this one writes the same bytes (``tofile``, as ``np.save`` does for a
        C-contiguous array). ``None`` for a small or non-contiguous array, or a header
        ``np.save`` would write in another format version: the caller saves, then
        hashes the file."""
        import numpy as np

        if not value.flags.c_contiguous or value.nbytes < HASH_WHILE_WRITING_FROM:
            return None
        _check_npy_dtype(value.dtype)
        head = _npy_header(value)
        if head is None:
            return None
        body = memoryview(value.reshape(-1).view(np.uint8))
        digest: list[str] = []
        hasher = threading.Thread(target=lambda: digest.append(hash_buffers(head, body)),
                                  name="flowyml-hash")
        hasher.start()
        try:
            with open(path, "wb") as f:
                f.write(head)
                value.tofile(f)
        finally:
            hasher.join()
        return {"shape": list(value.shape), "dtype": value.dtype.str}, digest[0]

    def load(self, path: Path) -> Any:
        import numpy as np

        if path.stat().st_size == 0:
            raise ValueError("empty .npy file")
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        # a read-only view over the shared pages; a plain ndarray for the user
        return np.asarray(arr)


def _npy_header(arr: Any) -> bytes | None:
    """The header ``np.save`` writes before ``arr``'s data: format 1.0, or 2.0 when the
    header is too long for 1.0; ``None`` when it needs 3.0 (non-Latin-1 field names)."""
    import numpy as np

    fmt = np.lib.format
    data = fmt.header_data_from_array_1_0(arr)
    for write in (fmt.write_array_header_1_0, fmt.write_array_header_2_0):
        buf = io.BytesIO()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                write(buf, data)
        except ValueError:  # too long for 1.0; not Latin-1 (UnicodeEncodeError)
            continue
        return buf.getvalue()
    return None


def _check_npy_dtype(dtype: Any) -> None:
    import numpy as np

    if dtype.hasobject:
        raise UnsupportedValue(f"its dtype {dtype} holds Python objects")
    if dtype.metadata:
        raise UnsupportedValue(f"its dtype {dtype} carries metadata, which .npy drops")
    fmt = np.lib.format
    try:
        same = fmt.descr_to_dtype(fmt.dtype_to_descr(dtype)) == dtype
    except Exception as exc:
        raise UnsupportedValue(f".npy cannot describe its dtype {dtype} ({_why(exc)})") from None
    if not same:
        raise UnsupportedValue(f".npy cannot describe its dtype {dtype} exactly")


class PandasMaterializer:
    """pandas DataFrame/Series as an uncompressed Arrow IPC file (memory-mappable).

    Version 2: ``freq`` of a datetime / timedelta index and the object dtype of string
    columns are kept, ``PeriodIndex`` loads as such in a fresh process, and a frame
    that would load back different is refused (it falls back to pickle). Version 3:
    "different" includes what ``==`` calls equal in object columns (None for nan,
    ``Decimal("1.50")`` for ``"1.5"``, a dict's key order, ``np.str_`` for ``str``)."""

    name = "pandas-arrow"
    version = 3
    uses_pickle = False

    def handles(self, value: Any) -> bool:
        if _module_root(value) != "pandas":
            return False
        import pandas as pd

        return isinstance(value, (pd.DataFrame, pd.Series))

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        import pandas as pd
        import pyarrow as pa

        is_series = isinstance(value, pd.Series)
        frame = value.to_frame(name=value.name if value.name is not None else "__series__") if is_series else value
        table = _pandas_to_arrow(frame, is_series)
        _check_pandas_roundtrip(value, frame, table)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
        return {
            "rows": len(value),
            "columns": [str(c) for c in frame.columns][:50],
            "kind": "Series" if is_series else "DataFrame",
            # columns come first in the table, the index after them
            "schema": schema_meta(table.schema, len(value), count=frame.shape[1]),
        }

    def load(self, path: Path) -> Any:
        _register_pandas_arrow_types()
        return _arrow_to_pandas(_read_ipc(path))


_SERIES = b"flowyml.series"
_EXTRA = b"flowyml.pandas"  # what pyarrow's pandas metadata drops (JSON)


def _pandas_to_arrow(frame: Any, is_series: bool) -> Any:
    import pandas as pd
    import pyarrow as pa

    dup = frame.columns[frame.columns.duplicated()].unique()
    if len(dup):
        raise UnsupportedValue(f"duplicate column names {list(dup)[:5]} (Arrow needs unique names)")
    try:
        # preserve_index=None: a RangeIndex is kept as metadata (True would turn it
        # into an int64 column that loads as a plain Index); any other index is a column
        table = pa.Table.from_pandas(frame, preserve_index=None)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # ArrowInvalid / ArrowTypeError / TypeError / OverflowError
        raise UnsupportedValue(f"Arrow cannot hold it ({_why(exc)})") from None
    meta = dict(table.schema.metadata or {})
    meta[_SERIES] = b"1" if is_series else b"0"
    extra: dict[str, Any] = {}
    for where, index in (("index", frame.index), ("columns", frame.columns)):
        if isinstance(index, (pd.DatetimeIndex, pd.TimedeltaIndex)) and index.freq is not None:
            extra[f"{where}_freq"] = index.freq.freqstr
    if isinstance(frame.columns, pd.RangeIndex):  # e.g. a frame made from a 2-d array
        c = frame.columns
        extra["columns_range"] = [int(c.start), int(c.stop), int(c.step)]
    if extra:
        meta[_EXTRA] = json.dumps(extra, sort_keys=True).encode()
    return table.replace_schema_metadata(meta)


def _arrow_to_pandas(table: Any) -> Any:
    """The value ``PandasMaterializer`` wrote: ``to_pandas`` plus what pyarrow's pandas
    metadata does not restore."""
    import pandas as pd

    meta = table.schema.metadata or {}
    df = table.to_pandas()
    _restore_object_strings(df, meta)
    extra = json.loads(meta.get(_EXTRA, b"{}"))
    if "index_freq" in extra and isinstance(df.index, (pd.DatetimeIndex, pd.TimedeltaIndex)):
        df.index = type(df.index)(df.index, freq=extra["index_freq"])
    if "columns_freq" in extra and isinstance(df.columns, (pd.DatetimeIndex, pd.TimedeltaIndex)):
        df.columns = type(df.columns)(df.columns, freq=extra["columns_freq"])
    if "columns_range" in extra:
        cols = pd.RangeIndex(*extra["columns_range"], name=df.columns.name)
        if len(cols) == df.shape[1] and (df.shape[1] == 0 or cols.equals(df.columns)):
            df.columns = cols
    if meta.get(_SERIES) == b"1":
        s = df.iloc[:, 0]
        if s.name == "__series__":
            s.name = None
        return s
    return df


def _restore_object_strings(df: Any, meta: dict[bytes, bytes]) -> None:
    """Columns (and a flat index or column index) of strings in an ``object`` column
    come back as pandas' string dtype when pandas infers strings (pandas >= 3); the
    pandas metadata still says ``object``: give them their dtype back."""
    import pandas as pd

    raw = meta.get(b"pandas")
    if raw is None:
        return
    info = json.loads(raw)
    columns = info.get("columns") or []

    def was_object(entry: dict[str, Any] | None, now: Any) -> bool:
        if not entry or entry.get("numpy_type") != "object":
            return False
        return isinstance(now, pd.StringDtype)

    n = df.shape[1]
    if len(columns) >= n:
        for i, entry in enumerate(columns[:n]):
            if was_object(entry, df.dtypes.iloc[i]):
                df.isetitem(i, df.iloc[:, i].astype(object))
    index_cols = info.get("index_columns") or []
    if len(index_cols) == 1 and isinstance(index_cols[0], str) and df.index.nlevels == 1:
        entry = next((c for c in columns if c.get("field_name") == index_cols[0]), None)
        if was_object(entry, df.index.dtype):
            df.index = df.index.astype(object)
    col_indexes = info.get("column_indexes") or []
    if len(col_indexes) == 1 and df.columns.nlevels == 1 and was_object(col_indexes[0], df.columns.dtype):
        df.columns = df.columns.astype(object)


_STRICT = {
    "check_dtype": True,
    "check_index_type": True,
    "check_names": True,
    "check_exact": True,
    "check_categorical": True,
    "check_freq": True,
    "check_flags": True,
}


def _check_pandas_roundtrip(value: Any, frame: Any, table: Any) -> None:
    """Raise ``UnsupportedValue`` unless ``_arrow_to_pandas(table)`` equals ``value``.

    A small value is decoded and compared whole. A big one is compared by its first
    ``HEAD_CHECK_ROWS`` rows: they decode to the same index type, column index, dtypes,
    names and ``freq`` as the whole table (these are decided by the schema), and Arrow's
    conversion of the rest is exact except for nested Python objects, refused here."""
    import pandas as pd
    import pyarrow as pa

    is_series = isinstance(value, pd.Series)
    size = int(value.memory_usage(index=True, deep=False).sum()) if not is_series else int(
        value.memory_usage(index=True, deep=False)
    )
    objects = _object_columns(value)
    # past the head, only columns of plain str (and gaps) round-trip exactly by their
    # schema: a column of other objects is compared whole
    whole = size <= FULL_CHECK_BYTES or any(
        not set(map(type, values)) <= _STRINGS_AND_GAPS for _, values in objects)
    if whole:
        part, expected = table, value
    else:
        for i, dtype in enumerate(frame.dtypes):
            if str(dtype) == "object" and pa.types.is_nested(table.schema.field(i).type):
                raise UnsupportedValue(
                    f"column {frame.columns[i]!r} holds nested Python objects (lists, "
                    "dicts), which Arrow gives back as arrays / dicts of other types"
                )
        part, expected = table.slice(0, HEAD_CHECK_ROWS), value.iloc[:HEAD_CHECK_ROWS]
    try:
        got = _arrow_to_pandas(part)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # e.g. a categorical column index: written, never readable
        raise UnsupportedValue(f"it would not load back ({_why(exc)})") from None
    if not whole and isinstance(expected.index, pd.RangeIndex) and got.index.equals(expected.index):
        got.index = expected.index  # the whole table keeps its RangeIndex (metadata)
    try:
        if is_series:
            pd.testing.assert_series_equal(got, expected, check_series_type=True, **_STRICT)
        else:
            pd.testing.assert_frame_equal(got, expected, check_column_type=True, **_STRICT)
        same_attrs = bool(got.attrs == expected.attrs)
    except (MemoryError, KeyboardInterrupt):
        raise
    except AssertionError as exc:
        raise UnsupportedValue(
            f"it would load back different ({_why(exc)}; left: loaded, right: returned)"
        ) from None
    except Exception as exc:
        raise UnsupportedValue(f"its round trip cannot be verified ({_why(exc)})") from None
    if not same_attrs:
        raise UnsupportedValue("its .attrs would load back different")
    if whole:
        _exact_objects(dict(_object_columns(got)), objects)


def _object_columns(value: Any) -> list[tuple[Any, Any]]:
    """(name, values as an object array) of each object-dtype column (or the series)."""
    import pandas as pd

    if isinstance(value, pd.Series):
        return [(value.name, value.to_numpy())] if str(value.dtype) == "object" else []
    return [(name, value.iloc[:, i].to_numpy()) for i, (name, dtype) in
            enumerate(value.dtypes.items()) if str(dtype) == "object"]


_EXACT_KINDS = frozenset({str, bytes, int, float, bool})  # equal values: the same value
_STRINGS_AND_GAPS = frozenset({str, float, type(None)})  # (a float with str fails Arrow)


def _exact_objects(got: dict[Any, Any], objects: list[tuple[Any, Any]]) -> None:
    """Python objects in object columns come back as they went, not only equal:
    ``assert_frame_equal`` takes None for nan, ``Decimal("1.50")`` for ``"1.5"``, a
    dict for one with its keys in another order, ``np.str_`` for ``str``. The types
    must match row by row, and values of other types than plain scalars, by repr."""
    for name, want in objects:
        have = got.get(name)
        kinds = list(map(type, want))
        if have is None or (kinds != list(map(type, have)) and _beyond_nulls(want, have)):
            row = next((i for i, (a, b) in enumerate(zip(want, have, strict=False))
                        if type(a) is not type(b) and not (_null(a) and _null(b))),
                       0) if have is not None else 0
            came = type(have[row]).__name__ if have is not None and len(have) > row else "?"
            raise UnsupportedValue(
                f"it would load back different (column {name!r}, row {row}: a "
                f"{kinds[row].__name__ if kinds else '?'} would come back as a {came})")
        if set(kinds) <= _EXACT_KINDS:
            continue
        for row, kind in enumerate(kinds):
            if kind not in _EXACT_KINDS and want[row] is not None and repr(want[row]) != repr(
                    have[row]):
                raise UnsupportedValue(
                    f"it would load back different (column {name!r}, row {row}: "
                    f"{_short(want[row])} would come back as {_short(have[row])})")


def _beyond_nulls(want: Any, have: Any) -> bool:
    """Whether two columns' values differ in type other than one missing value for
    another (None and nan: Arrow keeps one null, given back as the pandas version
    decides; refusing those would send every string column with a gap to pickle)."""
    return any(type(a) is not type(b) and not (_null(a) and _null(b))
               for a, b in zip(want, have, strict=True))


def _null(v: Any) -> bool:
    return v is None or (type(v) is float and v != v)


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


class ArrowMaterializer:
    """A ``pyarrow.Table`` as Arrow IPC (exact). Version 2: extension types that the
    loading process has not registered are an error, pandas' own are registered."""

    name = "arrow"
    version = 2
    uses_pickle = False

    def handles(self, value: Any) -> bool:
        if _module_root(value) != "pyarrow":
            return False
        import pyarrow as pa

        return isinstance(value, pa.Table)

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        import pyarrow as pa

        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, value.schema) as w:
            w.write_table(value)
        return {"rows": value.num_rows, "columns": value.column_names[:50],
                "schema": schema_meta(value.schema, value.num_rows)}

    def load(self, path: Path) -> Any:
        return _read_ipc(path)


class PolarsMaterializer:
    """A polars DataFrame as Arrow IPC. Version 2: refused (pickle) when its schema would
    not come back the same (an ``Object`` column, ``Int128``). Version 3: the schema
    says it is a polars frame (``_POLARS``), so its bytes are never those of a
    ``pyarrow.Table`` of the same data (an artifact is its name and its bytes' hash: a
    consumer was handed the table stored first, and its result reused)."""

    name = "polars-arrow"
    version = 3
    uses_pickle = False

    def handles(self, value: Any) -> bool:
        if _module_root(value) != "polars":
            return False
        import polars as pl

        return isinstance(value, pl.DataFrame)

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        import pyarrow as pa

        table = _polars_to_arrow(value)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _POLARS: b"1"})
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
        return {"rows": value.height, "columns": value.columns[:50],
                "schema": schema_meta(table.schema, value.height)}

    def load(self, path: Path) -> Any:
        import polars as pl

        return pl.from_arrow(_read_ipc(path))


_POLARS = b"flowyml.polars"


def _polars_to_arrow(value: Any) -> Any:
    """``value.to_arrow()``, verified: the schema decoded from it (no rows) must be the
    frame's; a small frame is decoded and compared whole."""
    import polars as pl

    try:
        table = value.to_arrow()
        schema = pl.from_arrow(table.slice(0, 0)).schema  # type: ignore[union-attr]
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise UnsupportedValue(f"Arrow cannot hold it ({_why(exc)})") from None
    if schema != value.schema:
        changed = [
            f"{c}: {value.schema[c]} -> {schema.get(c)}"
            for c in value.schema
            if schema.get(c) != value.schema[c]
        ]
        raise UnsupportedValue(f"column types would change ({', '.join(changed[:5])})")
    if value.estimated_size() <= FULL_CHECK_BYTES:
        try:
            same = bool(pl.from_arrow(table).equals(value))
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise UnsupportedValue(f"its round trip cannot be verified ({_why(exc)})") from None
        if not same:
            raise UnsupportedValue("it would load back with different values")
    return table


class PickleMaterializer:
    """The fallback for everything else. Loading runs code: trusted stores only."""

    name = "pickle"
    version = 1
    uses_pickle = True

    def handles(self, value: Any) -> bool:
        return True

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        """Pickle ``value``; a value holding sets is written again with their elements
        sorted (``pickling``): the same value, the same bytes, whatever the process's
        hash seed. (The format is unchanged: older objects load as they did.)"""
        import pickle

        from ..core.coderefs import scan_pickle

        with open(path, "wb") as f:
            pickle.dump(value, f, protocol=5)
        # the code that unpickling will import: the cache folds the user's part of it
        # into the keys of downstream steps
        with open(path, "rb") as f:
            refs, sets = scan_pickle(f)
        if sets:  # (the same globals, in another order: scanned once)
            from .pickling import dump_canonical

            with open(path, "wb") as f:
                dump_canonical(value, f)
        return {"code_refs": refs}

    def load(self, path: Path) -> Any:
        import pickle

        from ..core.ownership import MAIN_STANDINS

        with open(path, "rb") as f:
            if MAIN_STANDINS:  # (a CLI run: a class a script run made as ``__main__``'s)
                return _standin_unpickler(f).load()
            return pickle.load(f)


def _standin_unpickler(f: Any) -> Any:
    """An unpickler that finds a class of another process's ``__main__`` (the script
    ``python pipe.py`` ran) in the module this process imported from that file
    (``core.ownership.MAIN_STANDINS``: ``flowyml run pipe.py``)."""
    import pickle

    from ..core.ownership import main_standin

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            try:
                return super().find_class(module, name)
            except AttributeError:
                found = main_standin(name) if module == "__main__" else None
                if found is None:
                    raise
                return found

    return Unpickler(f)
