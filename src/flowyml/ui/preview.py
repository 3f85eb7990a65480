"""Small, capped previews of artifact values, read straight from the canonical formats.

Only formats that cannot run code are read: Arrow IPC tables (pandas / pyarrow /
polars), ``.npy`` arrays (``allow_pickle=False``) and JSON. A pickled artifact is never
unpickled here, whatever the stack allows: a GET request must not run code from the
store, so the page shows its type only. Bytes are verified against the content hash
before anything is read; objects over ``MAX_BYTES`` are not read at all.

Tables and arrays are memory-mapped: a preview reads the first rows and the first
``STATS_VALUES`` values, not the whole object.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.errors import FlowymlError

if TYPE_CHECKING:
    from ..artifact import Artifact
    from ..stores.base import ArtifactStore

MAX_BYTES = 256 * 2**20  # larger objects: metadata only
MAX_ROWS = 20
MAX_COLS = 40
MAX_CELL = 120
MAX_JSON_BYTES = 2 * 2**20  # larger JSON: the first MAX_TEXT characters, unformatted
MAX_TEXT = 20_000
STATS_VALUES = 1_000_000

_TABLES = {"pandas-arrow", "arrow", "polars-arrow"}


@dataclass
class Preview:
    kind: str  # table | array | json | none
    message: str | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)  # name, type
    rows: list[list[str]] = field(default_factory=list)
    total_rows: int | None = None
    hidden_columns: int = 0
    shape: list[int] = field(default_factory=list)
    dtype: str = ""
    stats: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    truncated: bool = False


def preview_kind(art: Artifact) -> str:
    m = art.materializer
    if m in _TABLES:
        return "table"
    return {"numpy": "array", "json": "json"}.get(m, "none")


def make_preview(art: Artifact, store: ArtifactStore) -> Preview:
    kind = preview_kind(art)
    if kind == "none":
        if art.materializer == "pickle":
            why = (f"{art.type_name} is stored with pickle; the page shows only its type, "
                   "because loading a pickle can run code")
        else:
            why = f"no preview for materializer {art.materializer!r} ({art.type_name})"
        return Preview("none", why)
    if art.size > MAX_BYTES:
        return Preview(kind, f"not previewed: {art.size:,} bytes is over the "
                             f"{MAX_BYTES // 2**20} MB preview limit")
    from ..objects import verified_path

    try:
        path = verified_path(store, art.content_hash, art.label)
        if kind == "table":
            return _table(str(path))
        if kind == "array":
            return _array(str(path))
        return _json(str(path))
    except (FlowymlError, OSError) as exc:
        return Preview(kind, f"no preview: {exc}")
    except ImportError as exc:
        return Preview(kind, f"no preview: {exc.name} is not installed "
                             "(pip install 'flowyml-core[data]')")
    except Exception as exc:  # a malformed object must not break the page
        return Preview(kind, f"no preview: {type(exc).__name__}: {exc}")


def _cell(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    s = str(v)
    return s if len(s) <= MAX_CELL else s[: MAX_CELL - 1] + "\u2026"


def _table(path: str) -> Preview:
    import pyarrow as pa

    with pa.memory_map(path, "r") as src:
        reader = pa.ipc.open_file(src)
        schema = reader.schema
        total = 0
        batches = []
        have = 0
        for i in range(reader.num_record_batches):
            b = reader.get_batch(i)
            total += b.num_rows
            if have < MAX_ROWS:
                batches.append(b.slice(0, MAX_ROWS - have))
                have += min(b.num_rows, MAX_ROWS - have)
        keep = [i for i, f in enumerate(schema) if not f.name.startswith("__index_level_")]
        shown = keep[:MAX_COLS]
        columns = [(_col_name(schema.field(i).name), str(schema.field(i).type)) for i in shown]
        rows: list[list[str]] = [[] for _ in range(have)]
        if batches:
            table = pa.Table.from_batches(batches, schema=schema)
            for i in shown:
                for r, v in enumerate(table.column(i).to_pylist()):
                    rows[r].append(_cell(v))
    return Preview("table", columns=columns, rows=rows, total_rows=total,
                   hidden_columns=len(keep) - len(shown), truncated=total > have)


def _col_name(name: str) -> str:
    return "(value)" if name == "__series__" else name


def _array(path: str) -> Preview:
    import warnings

    import numpy as np

    arr = np.load(path, mmap_mode="r", allow_pickle=False)
    p = Preview("array", shape=[int(d) for d in arr.shape], dtype=str(arr.dtype))
    p.stats.append(("values", f"{arr.size:,}"))
    numeric = arr.dtype.fields is None and (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    )
    if numeric and arr.size:
        flat = np.ravel(arr, order="K")[:STATS_VALUES]
        vals = flat.astype(np.float64) if arr.dtype == np.bool_ else flat
        over = f" (first {STATS_VALUES:,} values)" if arr.size > STATS_VALUES else ""
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if np.iscomplexobj(vals):
                p.stats.append(("mean" + over, _cell(complex(np.mean(vals)))))
            else:
                n_nan = int(np.count_nonzero(np.isnan(vals))) if vals.dtype.kind == "f" else 0
                p.stats += [
                    ("min" + over, _cell(np.nanmin(vals).item())),
                    ("max" + over, _cell(np.nanmax(vals).item())),
                    ("mean" + over, _cell(float(np.nanmean(vals)))),
                    ("std" + over, _cell(float(np.nanstd(vals)))),
                ]
                if n_nan:
                    p.stats.append(("NaN" + over, f"{n_nan:,}"))
    with np.printoptions(threshold=200, edgeitems=4, linewidth=96, precision=5):
        text = np.array2string(arr, separator=", ")
    p.text, p.truncated = _clip(text)
    return p


def _json(path: str) -> Preview:
    with open(path, "rb") as f:
        raw = f.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        text = raw[:MAX_TEXT].decode("utf-8", errors="replace")
        return Preview("json", message="large JSON: its first characters, unformatted",
                       text=text, truncated=True)
    value = json.loads(raw)
    text, cut = _clip(json.dumps(value, indent=2, ensure_ascii=False))
    p = Preview("json", text=text, truncated=cut)
    if isinstance(value, dict):
        p.stats.append(("keys", f"{len(value):,}"))
    elif isinstance(value, list):
        p.stats.append(("items", f"{len(value):,}"))
    return p


def _clip(text: str) -> tuple[str, bool]:
    if len(text) <= MAX_TEXT:
        return text, False
    return text[:MAX_TEXT] + "\n\u2026", True
