"""How runs, artifacts, lineage and failures look to a person: HTML for Jupyter
(``_repr_html_`` of ``Run``, ``Artifact`` and ``LineageNode``), text for the terminal
(``flowyml show``'s preview, a failing step's traceback), and the capped previews of
stored values that the web page shows too.

Previews read only formats that cannot run code: Arrow IPC tables (pandas / pyarrow /
polars), ``.npy`` arrays (``allow_pickle=False``) and JSON. A pickled artifact is never
unpickled here, whatever the stack allows: displaying something must not run code
from the store, so its type is shown instead. Bytes are verified against the content
hash before anything is read; objects over ``MAX_BYTES`` are not read at all. Tables
and arrays are memory-mapped: a preview reads the first rows and the first
``STATS_VALUES`` values, not the whole object.

Everything that reaches HTML goes through ``html.escape``; nothing loads from a CDN
and no script is emitted (the lineage graph is an inline SVG).
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.errors import FlowymlError
from .core.units import format_size

if TYPE_CHECKING:  # never imported at run time: run.py, artifact.py and lineage.py call here
    from .artifact import Artifact
    from .lineage import LineageNode
    from .run import Run, StepResult
    from .stores.base import ArtifactStore

MAX_BYTES = 256 * 2**20  # larger objects: metadata only
MAX_ROWS = 20
MAX_COLS = 40
MAX_CELL = 120
MAX_JSON_BYTES = 2 * 2**20  # larger JSON: the first MAX_TEXT characters, unformatted
MAX_TEXT = 20_000
STATS_VALUES = 1_000_000

_TABLES = {"pandas-arrow", "arrow", "polars-arrow"}


# ====================================================================== previews
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
    """A capped preview of ``art``'s stored value; never raises, never unpickles."""
    kind = preview_kind(art)
    if kind == "none":
        if art.materializer == "pickle":
            why = (f"{art.type_name} is stored with pickle; previews show only its type, "
                   "because loading a pickle can run code")
        else:
            why = f"no preview for materializer {art.materializer!r} ({art.type_name})"
        return Preview("none", why)
    if art.size > MAX_BYTES:
        return Preview(kind, f"not previewed: {art.size:,} bytes is over the "
                             f"{MAX_BYTES // 2**20} MB preview limit")
    from .objects import verified_path

    try:
        data = art._record.data  # a tiny object the catalog keeps: no store involved
        if data is not None:
            return _inline_json(data, art.content_hash) if kind == "json" else Preview(
                kind, f"no preview of a {art.materializer} object kept in the catalog")
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


def _inline_json(data: bytes, digest: str) -> Preview:
    from .core.hashing import hash_bytes

    if hash_bytes(data) != digest:
        return Preview("json", "no preview: the bytes the catalog keeps are corrupt "
                               "(`flowyml verify` finds all damage)")
    return _json_bytes(data)


def _json(path: str) -> Preview:
    with open(path, "rb") as f:
        return _json_bytes(f.read(MAX_JSON_BYTES + 1))


def _json_bytes(raw: bytes) -> Preview:
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


# ====================================================================== text
TEXT_LINES = 24  # a terminal preview shows at most this many lines of a value


def preview_lines(p: Preview) -> list[str]:
    """``flowyml show``'s preview of a value: a few lines, like the web page's."""
    lines = [p.message] if p.message else []
    if p.kind == "table" and p.columns:
        head = f"{p.total_rows:,} rows" if p.total_rows is not None else "rows"
        head += f" x {len(p.columns) + p.hidden_columns} columns"
        if p.truncated:
            head += f", the first {len(p.rows)} shown"
        lines.append(head)
        lines.extend(_text_table([c for c, _ in p.columns], [t for _, t in p.columns], p.rows))
    elif p.kind == "array" and p.dtype:
        lines.append(f"shape ({', '.join(map(str, p.shape))}{',' if len(p.shape) == 1 else ''})"
                     f"  dtype {p.dtype}")
        lines.extend(f"{k}: {v}" for k, v in p.stats)
        lines.extend(_first_lines(p.text))
    elif p.kind == "json" and p.text:
        if p.stats:
            lines.append(", ".join(f"{v} {k}" for k, v in p.stats))
        lines.extend(_first_lines(_compact(p.text) if not p.truncated else p.text,
                                  p.truncated))
    return lines


def _compact(text: str, width: int = 100) -> str:
    """Short JSON on one line (``[0, 2, 4]``), longer JSON as it was indented."""
    one = json.dumps(json.loads(text), ensure_ascii=False)
    return one if len(one) <= width else text


def _first_lines(text: str, truncated: bool = False) -> list[str]:
    lines = text.splitlines()
    if len(lines) > TEXT_LINES:
        return [*lines[:TEXT_LINES], f"... ({len(lines) - TEXT_LINES} more lines)"]
    return [*lines, "..."] if truncated else lines


def _text_table(names: list[str], types: list[str], rows: list[list[str]],
                width: int = 24) -> list[str]:
    def cut(s: str) -> str:
        return s if len(s) <= width else s[: width - 1] + "\u2026"

    cols = [[cut(n), cut(t), *(cut(r[i]) for r in rows)] for i, (n, t) in
            enumerate(zip(names, types, strict=True))]
    widths = [max(len(c) for c in col) for col in cols]
    out = []
    for r in range(len(rows) + 2):
        out.append("  ".join(col[r].ljust(w) for col, w in zip(cols, widths, strict=True)).rstrip())
    return out


_WORKER_NOTE = "traceback in the worker process:\n"
_FRAME = re.compile(r'^  File "(?P<path>[^"]+)", line \d+')
_PACKAGE = str(Path(__file__).resolve().parent)


def _flowyml_frame(path: str) -> bool:
    p = path.replace("\\", "/")
    return path.startswith(_PACKAGE) or "/site-packages/flowyml/" in p


def _machinery_frame(path: str) -> bool:
    """FlowyML's frame, or Python's own (``concurrent.futures`` waiting on a worker):
    above the user's first frame, neither is the user's code."""
    return _flowyml_frame(path) or path.startswith(("<frozen ", _stdlib()))


@functools.cache
def _stdlib() -> str:
    import sysconfig

    return str(Path(sysconfig.get_paths()["stdlib"]).resolve()) + os.sep


def user_traceback(exc: BaseException, step: str | None = None) -> str:
    """The traceback of ``exc`` (a step's own exception) from the user's frame down:
    FlowyML's frames above the user's first are dropped, in each exception of the
    chain. A worker's traceback (carried as a note) is used when the exception was
    raised in another process, and shown once. Empty when no frame is the user's."""
    notes = list(getattr(exc, "__notes__", None) or [])
    remote = next((n for n in notes if n.startswith(_WORKER_NOTE)), None)
    if remote is not None:
        text = remote[len(_WORKER_NOTE):]
    else:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    first = f"step {step!r} raised" if step else "your code raised"
    return _trim_frames(text, first + " (most recent call last):")


def _trim_frames(text: str, first_header: str) -> str:
    """Drop the leading FlowyML (and Python) frames of every ``Traceback`` block of
    ``text``; empty when no block has a frame of the user's (a timeout)."""
    out: list[str] = []
    dropping = False
    user_frames = 0
    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            out.append("(most recent call last):" if out else first_header)
            dropping = True
            continue
        frame = _FRAME.match(line)
        if frame is not None:
            dropping = dropping and _machinery_frame(frame["path"])
            user_frames += 0 if dropping else 1
        elif dropping and line.startswith("    "):
            continue  # the source line and carets of a dropped frame
        else:
            dropping = False
        if not dropping:
            out.append(line)
    if user_frames == 0:
        return ""
    return "\n".join(out) + "\n"


# ====================================================================== HTML
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


_BOX = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;line-height:1.4"
_TABLE = "border-collapse:collapse;margin:4px 0 8px 0"
_TH = "text-align:left;padding:2px 10px 2px 0;border-bottom:1px solid #999;font-weight:600"
_TD = "text-align:left;padding:2px 10px 2px 0;vertical-align:top"
_MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px"
_STATUS_COLOR = {"executed": "#1a7f37", "reused": "#0969da", "failed": "#cf222e",
                 "succeeded": "#1a7f37", "not reached": "#6e7781", "running": "#9a6700"}


def _status(word: str) -> str:
    color = _STATUS_COLOR.get(word, "#6e7781")
    return f'<span style="color:{color};font-weight:600">{_e(word)}</span>'


def _table_html(head: list[str], rows: list[list[str]], mono: set[int] | None = None) -> str:
    """A table; ``rows`` hold HTML that is already escaped."""
    mono = mono or set()
    th = "".join(f'<th style="{_TH}">{_e(h)}</th>' for h in head)
    thead = f"<thead><tr>{th}</tr></thead>" if any(head) else ""
    body = "".join(
        '<tr style="border-bottom:1px solid #ddd">' + "".join(
            f'<td style="{_TD}{";" + _MONO if i in mono else ""}">{c}</td>'
            for i, c in enumerate(r)
        ) + "</tr>"
        for r in rows
    )
    return f'<table style="{_TABLE}">{thead}<tbody>{body}</tbody></table>'



def _step_row(r: StepResult, run: Run) -> list[str]:
    word = {"cached": "reused"}.get(r.status, r.status)
    reason = r.reason
    for prefix in ("executed: ", "reused: ", "failed: "):
        reason = reason.removeprefix(prefix)
    if r.elements is not None and "elements" not in reason:
        reason += f" [elements: {r.elements[0]} executed, {r.elements[1]} reused]"
    assets = list(r.outputs) or [a for a, art in run.artifacts.items() if art.step == r.name]
    outs = []
    for asset in assets:
        art = run.artifacts.get(asset)
        outs.append(_e(art.label if art is not None else asset))
    took = f"{r.duration:.2f} s" if r.status == "executed" else ""
    return [_e(r.name), _status(word), _e(took), _e(reason), "<br>".join(outs)]


def run_html(run: Run) -> str:
    """A run for Jupyter: its outcome, each step executed / reused with the reason, and
    the artifacts it produced or reused."""
    n_exec, n_reuse = len(run.executed), len(run.cached)
    head = (f'<div><b>Run</b> <code>{_e(run.id)}</code> of pipeline <b>{_e(run.pipeline)}</b>: '
            f'{_status(run.status)}, {n_exec} executed, {n_reuse} reused, '
            f'{run.duration:.2f} s</div>')
    error = (f'<div style="color:#cf222e;{_MONO}">{_e(run.error)}</div>' if run.error else "")
    steps = _table_html(["step", "", "time", "reason", "outputs"],
                        [_step_row(r, run) for r in run.steps.values()], mono={4})
    arts = [[_e(asset), _e(a.label), _e(a.id), _e(a.content_hash[:12]), _e(format_size(a.size)),
             _e(a.type_name)] for asset, a in run.artifacts.items()]
    art_table = (_table_html(["asset", "artifact", "id", "hash", "size", "type"], arts,
                             mono={1, 2, 3}) if arts else "")
    return f'<div class="flowyml-run" style="{_BOX}">{head}{error}{steps}{art_table}</div>'


def artifact_html(art: Artifact) -> str:
    """An artifact for Jupyter: its catalog record and a small preview of its value."""
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(art.created_at))
    fields: list[tuple[str, str]] = [
        ("id", art.id), ("content hash", art.content_hash), ("size", format_size(art.size)),
        ("type", art.type_name), ("materializer", art.materializer),
        ("step", art.step), ("run", art.run_id), ("code version", art.code_version),
        ("created", created),
    ]
    try:
        fields.append(("parents", ", ".join(art.parents) or "none (a source)"))
    except Exception as exc:  # the catalog is gone: show the rest
        fields.append(("parents", f"unknown ({type(exc).__name__})"))
    meta = art.meta
    schema = meta.pop("schema", None)
    fields += [(f"meta {k}", json.dumps(v, default=str)[:200]) for k, v in meta.items()]
    if isinstance(schema, dict):
        from .core.contracts import describe_schema

        fields.append(("schema", "; ".join(describe_schema(schema))))
    rows = [[_e(k), _e(v)] for k, v in fields]
    head = f'<div><b>Artifact</b> <code>{_e(art.label)}</code></div>'
    table = _table_html(["", ""], rows, mono={1})
    try:
        store = art._stack.open_store()
        preview = preview_html(make_preview(art, store))
    except Exception as exc:  # no store: metadata only
        preview = f"<div>no preview: {_e(type(exc).__name__)}: {_e(exc)}</div>"
    return (f'<div class="flowyml-artifact" style="{_BOX}">{head}{table}'
            f'<div><b>Preview</b></div>{preview}</div>')


def preview_html(p: Preview) -> str:
    """A ``Preview`` as HTML (escaped): a table, an array's shape and stats, JSON text."""
    parts = [f'<div style="color:#6e7781">{_e(p.message)}</div>'] if p.message else []
    pre = f'<pre style="{_MONO};max-height:24em;overflow:auto;margin:4px 0">'
    if p.kind == "table" and p.columns:
        total = f"{p.total_rows:,} rows" if p.total_rows is not None else ""
        shown = f", the first {len(p.rows)} shown" if p.truncated else ""
        hidden = f", {p.hidden_columns} more columns" if p.hidden_columns else ""
        parts.append(f"<div>{_e(total)} x {len(p.columns) + p.hidden_columns} columns"
                     f"{_e(shown)}{_e(hidden)}</div>")
        head = [f"{c} ({t})" for c, t in p.columns]
        parts.append(_table_html(head, [[_e(c) for c in r] for r in p.rows],
                                 mono=set(range(len(head)))))
    elif p.kind == "array" and p.dtype:
        shape = ", ".join(map(str, p.shape)) + ("," if len(p.shape) == 1 else "")
        stats = "; ".join(f"{k} {v}" for k, v in p.stats)
        parts.append(f"<div>shape ({_e(shape)}), dtype {_e(p.dtype)}; {_e(stats)}</div>")
        parts.append(f"{pre}{_e(p.text)}</pre>")
    elif p.kind == "json" and p.text:
        if p.stats:
            parts.append(f"<div>{_e(', '.join(f'{v} {k}' for k, v in p.stats))}</div>")
        parts.append(f"{pre}{_e(p.text)}{' …' if p.truncated else ''}</pre>")
    return "".join(parts)


# ---------------------------------------------------------------------- lineage graph
_NODE_H, _GAP_X, _GAP_Y, _CHAR_W, _PAD = 40, 48, 14, 7, 10
_MAX_LABEL = 44


def _depths(root: LineageNode) -> tuple[list[LineageNode], dict[str, int]]:
    """Every node once, and its column: the longest path from the root (Kahn's order
    over child -> parent edges, so a shared ancestor sits left of all its children)."""
    nodes = root.walk()
    children: dict[str, int] = {n.artifact.id: 0 for n in nodes}
    for n in nodes:
        for pid in {p.artifact.id for p in n.parents}:
            children[pid] += 1
    depth = {root.artifact.id: 0}
    by_id = {n.artifact.id: n for n in nodes}
    ready = [root.artifact.id]
    while ready:
        nid = ready.pop()
        for pid in {p.artifact.id for p in by_id[nid].parents}:
            depth[pid] = max(depth.get(pid, 0), depth[nid] + 1)
            children[pid] -= 1
            if children[pid] == 0:
                ready.append(pid)
    return nodes, depth


def _clip_label(s: str) -> str:
    return s if len(s) <= _MAX_LABEL else s[: _MAX_LABEL - 1] + "\u2026"


def lineage_html(root: LineageNode) -> str:
    """The lineage tree as an inline SVG graph (sources left, the artifact right; hover
    a node for its id, hash, run and code version), and the text tree under it."""
    nodes, depth = _depths(root)
    top = max(depth.values())
    labels = {n.artifact.id: (_clip_label(n.artifact.label), _clip_label(f"step {n.step}"))
              for n in nodes}
    width = max(len(s) for pair in labels.values() for s in pair) * _CHAR_W + 2 * _PAD
    rows: dict[str, int] = {}
    columns: list[list[LineageNode]] = [[] for _ in range(top + 1)]
    for n in nodes:
        columns[depth[n.artifact.id]].append(n)
    kids: dict[str, list[str]] = {}
    for n in nodes:
        for p in n.parents:
            kids.setdefault(p.artifact.id, []).append(n.artifact.id)
    for d, col in enumerate(columns):  # order each column by its children's rows
        if d:
            col.sort(key=lambda n: sum(rows[k] for k in kids[n.artifact.id])
                     / len(kids[n.artifact.id]))
        rows.update({n.artifact.id: i for i, n in enumerate(col)})
    tallest = max(len(c) for c in columns)

    def pos(nid: str) -> tuple[int, int]:
        x = (top - depth[nid]) * (width + _GAP_X) + 2
        offset = (tallest - len(columns[depth[nid]])) * (_NODE_H + _GAP_Y) // 2
        return x, rows[nid] * (_NODE_H + _GAP_Y) + offset + 2

    svg_w = (top + 1) * (width + _GAP_X) - _GAP_X + 4
    svg_h = tallest * (_NODE_H + _GAP_Y) - _GAP_Y + 4
    edges = _svg_edges(nodes, pos, width)
    boxes = [_svg_node(n, *pos(n.artifact.id), width, labels[n.artifact.id],
                       n is root) for n in nodes]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{svg_w}" height="{svg_h}" '
           f'viewBox="0 0 {svg_w} {svg_h}" role="img" aria-label="lineage of '
           f'{_e(root.artifact.label)}">{"".join(edges)}{"".join(boxes)}</svg>')
    text = (f'<details><summary>as text</summary><pre style="{_MONO}">{_e(str(root))}'
            "</pre></details>")
    head = (f'<div><b>Lineage</b> of <code>{_e(root.artifact.label)}</code>: '
            f'{len(nodes)} artifact{"s" if len(nodes) != 1 else ""}</div>')
    return (f'<div class="flowyml-lineage" style="{_BOX}">{head}'
            f'<div style="overflow:auto">{svg}</div>{text}</div>')


def _svg_node(n: LineageNode, x: int, y: int, width: int, label: tuple[str, str],
              is_root: bool) -> str:
    a = n.artifact
    tip = (f"{a.label}\nid {a.id}\nhash {a.content_hash}\nstep {n.step}\nrun {n.run_id}\n"
           f"code {n.code_version}")
    fill, stroke = ("#ddf4ff", "#0969da") if is_root else ("#f6f8fa", "#8c959f")
    return (f'<g class="node" data-id="{_e(a.id)}"><title>{_e(tip)}</title>'
            f'<rect x="{x}" y="{y}" width="{width}" height="{_NODE_H}" rx="5" fill="{fill}" '
            f'stroke="{stroke}"/>'
            f'<text x="{x + _PAD}" y="{y + 16}" font-family="monospace" font-size="12" '
            f'font-weight="bold" fill="#1f2328">{_e(label[0])}</text>'
            f'<text x="{x + _PAD}" y="{y + 32}" font-family="monospace" font-size="11" '
            f'fill="#57606a">{_e(label[1])}</text></g>')


def _svg_edges(nodes: list[LineageNode], pos: Any, width: int) -> list[str]:
    """One curve per (parent, child) pair, labelled with the parameter when it differs
    from the parent's asset name."""
    out: list[str] = []
    seen: set[tuple[str, str, str | None]] = set()
    for n in nodes:
        for p in n.parents:
            key = (p.artifact.id, n.artifact.id, p.param)
            if key in seen:
                continue
            seen.add(key)
            px, py = pos(p.artifact.id)
            cx, cy = pos(n.artifact.id)
            x1, y1, x2, y2 = px + width, py + _NODE_H // 2, cx, cy + _NODE_H // 2
            mid = (x1 + x2) // 2
            out.append(f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" '
                       f'stroke="#8c959f" stroke-width="1.2"/>'
                       f'<path d="M{x2},{y2} l-6,-4 l0,8 z" fill="#8c959f"/>')
            if p.param and p.param != p.artifact.name:
                out.append(f'<text x="{mid}" y="{(y1 + y2) // 2 - 3}" font-family="monospace" '
                           f'font-size="10" text-anchor="middle" fill="#57606a">'
                           f'{_e(p.param)}</text>')
    return out
