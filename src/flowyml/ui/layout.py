"""A small layered (Sugiyama-style) layout for DAGs, computed server-side. Pure Python.

Left to right (or top to bottom): each node gets a column (its layer: the longest path from a source,
with sources pulled next to their first consumer), edges that skip columns get
invisible "dummy" points so they route between nodes, the order inside each column is
improved by barycenter sweeps (keeping the order with the fewest crossings), and the
vertical positions are the closest to the average of each node's neighbours that keep
the column's order and spacing (isotonic regression, pool-adjacent-violators).

Everything is O((nodes + dummies) * log) per sweep, so 500-node lineage graphs lay out
in well under a second. The result is coordinates and SVG path strings; drawing is the
template's job.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeAlias, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass
class Box(Generic[K]):
    """A placed node: top-left corner ``x, y`` and size ``w, h``."""

    key: K
    x: float
    y: float
    w: float
    h: float
    layer: int

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class EdgePath(Generic[K]):
    """A drawn edge: SVG path data ``d`` from ``src`` to ``dst`` and a label point."""

    src: K
    dst: K
    d: str
    mid_x: float
    mid_y: float


@dataclass
class Layout(Generic[K]):
    boxes: dict[K, Box[K]] = field(default_factory=dict)
    edges: list[EdgePath[K]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0
    crossings: int = 0
    vertical: bool = False


_Node: TypeAlias = object  # a K or a _Dummy
_Columns: TypeAlias = list[list[_Node]]  # the layers, each in its order along the cross axis


class _Dummy:
    """A bend point of an edge that spans several layers."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n


@dataclass(frozen=True)
class _Geometry:
    """The sizes of a layout. "main" runs along the layers (x when left to right), "cross"
    along a layer."""

    node_w: float
    node_h: float
    gap_layer: float
    gap_node: float
    margin: float
    vertical: bool

    @property
    def main_size(self) -> float:
        return self.node_h if self.vertical else self.node_w

    @property
    def cross_size(self) -> float:
        return self.node_w if self.vertical else self.node_h

    def extent(self, m: _Node) -> float:
        """The room ``m`` takes along its layer: none for a dummy."""
        return 0.0 if isinstance(m, _Dummy) else self.cross_size

    def xy(self, main: float, cross: float) -> tuple[float, float]:
        return (cross, main) if self.vertical else (main, cross)


@dataclass
class _Ranked(Generic[K]):
    """The acyclic skeleton: a topological order, the edges that agree with it, layers."""

    topo: list[K]
    pos: dict[K, int]  # index in ``topo``; an edge with pos[u] >= pos[v] closes a cycle
    fwd: list[tuple[K, K]]
    pred: dict[K, list[K]]
    succ: dict[K, list[K]]
    layer: dict[K, int]

    @property
    def n_layers(self) -> int:
        return max(self.layer.values()) + 1


@dataclass
class _Proper(Generic[K]):
    """The forward edges with long ones cut by dummies, so (unless there were too many
    dummies to insert) every edge joins consecutive layers."""

    up: dict[_Node, list[_Node]]
    down: dict[_Node, list[_Node]]
    lay: dict[_Node, int]  # the layer of every node, dummies included
    chains: dict[tuple[K, K], list[_Dummy]]


def layered_layout(
    nodes: Sequence[K],
    edges: Sequence[tuple[K, K]],
    *,
    node_w: float = 220,
    node_h: float = 60,
    gap_layer: float = 80,
    gap_node: float = 18,
    vertical: bool = False,
    margin: float = 24,
    sweeps: int = 10,
    max_dummies: int = 20000,
) -> Layout[K]:
    """Lay out the DAG ``nodes``/``edges`` left to right (``vertical``: top to bottom).

    ``gap_layer`` separates consecutive layers, ``gap_node`` the nodes of one layer.
    Unknown endpoints, duplicate edges and self-loops are ignored; a cycle (which a
    FlowyML graph never has) is broken at the edges that point backwards in the
    input order."""
    index = {n: i for i, n in enumerate(dict.fromkeys(nodes))}
    order = list(index)
    if not order:
        return Layout(width=2 * margin, height=2 * margin, vertical=vertical)
    es = list(dict.fromkeys((u, v) for u, v in edges if u in index and v in index and u != v))
    geo = _Geometry(node_w, node_h, gap_layer, gap_node, margin, vertical)
    ranked = _rank(order, es)
    proper = _insert_dummies(order, ranked, max_dummies)
    columns, n_cross = _order_columns(ranked.topo, proper, ranked.n_layers, sweeps)
    centres = _cross_centres(columns, proper, geo)
    out = _assemble(order, es, ranked, proper, columns, centres, geo)
    out.crossings = n_cross
    return out


# ---------------------------------------------------------------------- layers
def _topological_order(order: list[K], es: list[tuple[K, K]]) -> list[K]:
    """Kahn's algorithm with a stack (so a node's successors follow it closely), ties in
    input order; the nodes of a cycle are appended in input order."""
    succ: dict[K, list[K]] = {n: [] for n in order}
    indeg = dict.fromkeys(order, 0)
    for u, v in es:
        succ[u].append(v)
        indeg[v] += 1
    topo: list[K] = []
    ready = [n for n in order if indeg[n] == 0]
    ready.reverse()
    while ready:
        n = ready.pop()
        topo.append(n)
        for nxt in reversed(succ[n]):
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                ready.append(nxt)
    if len(topo) < len(order):  # a cycle: keep the input order for the rest
        done = set(topo)
        topo.extend(n for n in order if n not in done)
    return topo


def _rank(order: list[K], es: list[tuple[K, K]]) -> _Ranked[K]:
    """Layer = longest path from a source, then sources pulled next to their nearest
    consumer (so an input does not sit far left of the step that reads it)."""
    topo = _topological_order(order, es)
    pos = {n: i for i, n in enumerate(topo)}
    fwd = [(u, v) for u, v in es if pos[u] < pos[v]]
    succ: dict[K, list[K]] = {n: [] for n in order}
    pred: dict[K, list[K]] = {n: [] for n in order}
    for u, v in fwd:
        succ[u].append(v)
        pred[v].append(u)
    layer: dict[K, int] = {}
    for n in topo:
        layer[n] = max((layer[p] + 1 for p in pred[n]), default=0)
    for n in topo:
        if not pred[n] and succ[n]:
            layer[n] = min(layer[s] for s in succ[n]) - 1
    return _Ranked(topo, pos, fwd, pred, succ, layer)


def _insert_dummies(order: list[K], r: _Ranked[K], max_dummies: int) -> _Proper[K]:
    """Replace each edge spanning several layers by a chain through one dummy per skipped
    layer; past ``max_dummies`` in total, none at all (long edges then cut across)."""
    up: dict[_Node, list[_Node]] = {n: list(r.pred[n]) for n in order}
    down: dict[_Node, list[_Node]] = {n: list(r.succ[n]) for n in order}
    lay: dict[_Node, int] = {n: r.layer[n] for n in order}
    chains: dict[tuple[K, K], list[_Dummy]] = {}
    total = sum(max(0, r.layer[v] - r.layer[u] - 1) for u, v in r.fwd)
    if total > max_dummies:
        return _Proper(up, down, lay, chains)
    counter = 0
    for u, v in r.fwd:
        if r.layer[v] - r.layer[u] <= 1:
            continue
        down[u].remove(v)
        up[v].remove(u)
        prev: _Node = u
        chain: list[_Dummy] = []
        for k in range(r.layer[u] + 1, r.layer[v]):
            d = _Dummy(counter)
            counter += 1
            lay[d] = k
            up[d] = [prev]
            down[d] = []
            down[prev].append(d)
            chain.append(d)
            prev = d
        down[prev].append(v)
        up[v].append(prev)
        chains[(u, v)] = chain
    return _Proper(up, down, lay, chains)


# -------------------------------------------------------------------- ordering
def _order_columns(
    topo: list[K], g: _Proper[K], n_layers: int, sweeps: int
) -> tuple[_Columns, int]:
    """Barycenter sweeps, alternately downward and upward, stopping early at zero
    crossings. Returns the order with the fewest crossings seen, and that number."""
    layers = _initial_columns(topo, g, n_layers)
    rank = {m: i for col in layers for i, m in enumerate(col)}
    best = [list(c) for c in layers]
    best_x = _crossings(layers, g.down, rank)
    for sweep in range(sweeps):
        if best_x == 0:
            break
        _sweep(layers, rank, g, downward=sweep % 2 == 0)
        n_cross = _crossings(layers, g.down, rank)
        if n_cross < best_x:
            best_x = n_cross
            best = [list(c) for c in layers]
    return best, best_x


def _initial_columns(topo: list[K], g: _Proper[K], n_layers: int) -> _Columns:
    """Fill the columns depth-first from each source, then from every node not reached
    yet, so that related nodes start close together."""
    layers: _Columns = [[] for _ in range(n_layers)]
    seen: set[_Node] = set()
    starts: list[_Node] = [n for n in topo if not g.up[n]]
    starts.extend(topo)
    for start in starts:
        stack = [start]
        while stack:
            m = stack.pop()
            if m in seen:
                continue
            seen.add(m)
            layers[g.lay[m]].append(m)
            stack.extend(reversed(g.down[m]))
    return layers


def _sweep(layers: _Columns, rank: dict[_Node, int], g: _Proper[K], *, downward: bool) -> None:
    """Sort each column (after the first, in the sweep's direction) by the mean rank of its
    neighbours in the column just done; a node without any keeps its place as key.
    Updates ``layers`` and ``rank`` in place, column by column."""
    n_layers = len(layers)
    rng = range(1, n_layers) if downward else range(n_layers - 2, -1, -1)
    for i in rng:
        col = layers[i]
        keys: dict[_Node, float] = {}
        for j, m in enumerate(col):
            nb = g.up[m] if downward else g.down[m]
            keys[m] = sum(rank[x] for x in nb) / len(nb) if nb else float(j)
        col.sort(key=keys.__getitem__)
        for j, m in enumerate(col):
            rank[m] = j


def _crossings(layers: _Columns, down: dict[_Node, list[_Node]], rank: dict[_Node, int]) -> int:
    """Edge crossings between consecutive columns (inversions of the targets' ranks)."""
    total = 0
    for i in range(len(layers) - 1):
        pairs = sorted((rank[m], rank[t]) for m in layers[i] for t in down[m])
        total += _inversions([b for _, b in pairs])
    return total


# ----------------------------------------------------------------- coordinates
def _cross_centres(layers: _Columns, g: _Proper[K], geo: _Geometry) -> dict[_Node, float]:
    """Each node's centre along its layer: packed, then 8 rounds of pulling the columns
    towards their neighbours (downward, upward, ...; the last two rounds both sides)."""
    cc: dict[_Node, float] = {}
    for col in layers:
        c = 0.0
        for j, m in enumerate(col):
            if j:
                c += (geo.extent(col[j - 1]) + geo.extent(m)) / 2 + geo.gap_node
            cc[m] = c
    n_layers = len(layers)
    for it in range(8):
        downward = it % 2 == 0
        rng = range(1, n_layers) if downward else range(n_layers - 2, -1, -1)
        if it >= 6:  # last rounds: balance both sides
            rng = range(n_layers)
        for i in rng:
            _align_column(layers[i], cc, g, geo, downward=downward, both=it >= 6)
    return cc


def _align_column(
    col: list[_Node],
    cc: dict[_Node, float],
    g: _Proper[K],
    geo: _Geometry,
    *,
    downward: bool,
    both: bool,
) -> None:
    """Move ``col`` (in ``cc``) as close as its order and spacing allow to the mean of each
    node's neighbours: above if ``downward``, below if not, all of them if ``both``."""
    want: list[float] = []
    for m in col:
        nb = (g.up[m] + g.down[m]) if both else (g.up[m] if downward else g.down[m])
        want.append(sum(cc[x] for x in nb) / len(nb) if nb else cc[m])
    seps = [0.0] + [
        (geo.extent(col[j - 1]) + geo.extent(col[j])) / 2 + geo.gap_node for j in range(1, len(col))
    ]
    for m, c in zip(col, _spaced_fit(want, seps), strict=True):
        cc[m] = c


def _assemble(
    order: list[K],
    es: list[tuple[K, K]],
    r: _Ranked[K],
    g: _Proper[K],
    layers: _Columns,
    cc: dict[_Node, float],
    geo: _Geometry,
) -> Layout[K]:
    """Boxes, edge paths and the overall size, with everything shifted so the topmost
    (leftmost, if vertical) node sits at the margin."""
    low = min(cc[m] - geo.extent(m) / 2 for col in layers for m in col)
    shift = geo.margin - low
    at = {m: c + shift for m, c in cc.items()}  # final cross-axis centres
    main_at = [geo.margin + i * (geo.main_size + geo.gap_layer) for i in range(len(layers))]
    out: Layout[K] = Layout(vertical=geo.vertical)
    far = 0.0  # largest cross coordinate used
    for n in order:
        c0 = at[n] - geo.cross_size / 2
        bx, by = geo.xy(main_at[r.layer[n]], c0)
        out.boxes[n] = Box(n, bx, by, geo.node_w, geo.node_h, r.layer[n])
        far = max(far, c0 + geo.cross_size)
    for u, v in es:
        pts = [(main_at[r.layer[u]] + geo.main_size, at[u])]
        for d in g.chains.get((u, v), []):  # none for a broken cycle edge: drawn straight
            pts.append((main_at[g.lay[d]], at[d]))
            pts.append((main_at[g.lay[d]] + geo.main_size, at[d]))
            far = max(far, at[d])
        pts.append((main_at[r.layer[v]], at[v]))
        out.edges.append(_path(u, v, pts, geo.vertical, straight=r.pos[u] >= r.pos[v]))
    main_total = main_at[-1] + geo.main_size + geo.margin
    cross_total = far + geo.margin
    out.width, out.height = geo.xy(main_total, cross_total)
    return out


def fit_scale(layout: Layout[K], view_w: float, view_h: float) -> float:
    """The zoom at which ``layout`` fits a ``view_w`` x ``view_h`` view (at most 1)."""
    return min(1.0, view_w / max(layout.width, 1.0), view_h / max(layout.height, 1.0))


def _path(
    u: K, v: K, pts: list[tuple[float, float]], vertical: bool, straight: bool = False
) -> EdgePath[K]:
    """Cubic segments with tangents along the layers between them, straight through a
    layer (at a dummy's place). ``pts`` are (main, cross) pairs."""

    def p(main: float, cross: float) -> str:
        x, y = (cross, main) if vertical else (main, cross)
        return f"{x:.1f},{y:.1f}"

    parts = ["M" + p(*pts[0])]
    for i in range(1, len(pts)):
        (pm, pc), (qm, qc) = pts[i - 1], pts[i]
        if straight or i % 2 == 0:  # through a layer
            parts.append("L" + p(qm, qc))
        else:  # across the gap between two layers
            dm = (qm - pm) / 2
            parts.append(f"C{p(pm + dm, pc)} {p(qm - dm, qc)} {p(qm, qc)}")
    (am, ac), (bm, bc) = pts[-2], pts[-1]
    mx, my = ((ac + bc) / 2, (am + bm) / 2) if vertical else ((am + bm) / 2, (ac + bc) / 2)
    return EdgePath(u, v, " ".join(parts), mx, my)


def _spaced_fit(want: list[float], seps: list[float]) -> list[float]:
    """Positions y minimizing sum (y_i - want_i)^2 with y_i - y_{i-1} >= seps[i]."""
    offs: list[float] = []
    acc = 0.0
    for s in seps:
        acc += s
        offs.append(acc)
    # z_i = y_i - offs_i must be non-decreasing: isotonic regression of want_i - offs_i
    blocks: list[list[float]] = []  # [sum, count]
    for w, o in zip(want, offs, strict=True):
        blocks.append([w - o, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    z: list[float] = []
    for s, c in blocks:
        z.extend([s / c] * int(c))
    return [zi + o for zi, o in zip(z, offs, strict=True)]


def _inversions(seq: list[int]) -> int:
    """Pairs i < j with seq[i] > seq[j] (a Fenwick tree; values are small ranks)."""
    if not seq:
        return 0
    size = max(seq) + 2
    tree = [0] * (size + 1)
    inv = 0
    for k, v in enumerate(seq):
        i = v + 1
        le = 0
        while i > 0:  # how many earlier values are <= v
            le += tree[i]
            i -= i & -i
        inv += k - le
        i = v + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return inv
