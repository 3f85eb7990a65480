"""Built-in materializers. Heavy libraries are imported only when a value of theirs shows up."""

from __future__ import annotations

import json
import math
import os
import pickle
from pathlib import Path
from typing import Any


def _module_root(value: Any) -> str:
    return type(value).__module__.split(".")[0]


_JSON_SCALARS = (str, int, bool, type(None))
# JSON is for small, plain values; a larger document is refused on load (hostile input
# must fail within bounded memory). Big data belongs in .npy / Arrow.
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
            if not math.isfinite(v):
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


class JsonMaterializer:
    name = "json"
    version = 1
    uses_pickle = False

    def handles(self, value: Any) -> bool:
        return _json_safe(value)

    def dumps(self, value: Any) -> tuple[bytes, dict[str, Any]]:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
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


class NumpyMaterializer:
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

        with open(path, "wb") as f:
            np.save(f, value, allow_pickle=False)
        return {"shape": list(value.shape), "dtype": value.dtype.str}

    def load(self, path: Path) -> Any:
        import numpy as np

        if path.stat().st_size == 0:
            raise ValueError("empty .npy file")
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        # a read-only view over the shared pages; a plain ndarray for the user
        return np.asarray(arr)


class PandasMaterializer:
    """pandas DataFrame/Series as an uncompressed Arrow IPC file (memory-mappable)."""

    name = "pandas-arrow"
    version = 1
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
        table = pa.Table.from_pandas(frame, preserve_index=True)
        meta = dict(table.schema.metadata or {})
        meta[b"flowyml.series"] = b"1" if is_series else b"0"
        table = table.replace_schema_metadata(meta)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
        return {
            "rows": len(value),
            "columns": [str(c) for c in frame.columns][:50],
            "kind": "Series" if is_series else "DataFrame",
        }

    def load(self, path: Path) -> Any:
        table = _open_uncompressed_ipc(path)
        series = (table.schema.metadata or {}).get(b"flowyml.series") == b"1"
        df = table.to_pandas()
        if series:
            s = df.iloc[:, 0]
            if s.name == "__series__":
                s.name = None
            return s
        return df


class ArrowMaterializer:
    name = "arrow"
    version = 1
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
        return {"rows": value.num_rows, "columns": value.column_names[:50]}

    def load(self, path: Path) -> Any:
        return _open_uncompressed_ipc(path)


class PolarsMaterializer:
    name = "polars-arrow"
    version = 1
    uses_pickle = False

    def handles(self, value: Any) -> bool:
        if _module_root(value) != "polars":
            return False
        import polars as pl

        return isinstance(value, pl.DataFrame)

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        import pyarrow as pa

        table = value.to_arrow()
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
        return {"rows": value.height, "columns": value.columns[:50]}

    def load(self, path: Path) -> Any:
        import polars as pl

        return pl.from_arrow(_open_uncompressed_ipc(path))


class PickleMaterializer:
    """The fallback for everything else. Loading runs code: trusted stores only."""

    name = "pickle"
    version = 1
    uses_pickle = True

    def handles(self, value: Any) -> bool:
        return True

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        with open(path, "wb") as f:
            pickle.dump(value, f, protocol=5)
        return {}

    def load(self, path: Path) -> Any:
        with open(path, "rb") as f:
            return pickle.load(f)
