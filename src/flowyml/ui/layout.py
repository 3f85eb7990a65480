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


class _Dummy:
    """A bend point of an edge that spans several layers."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n


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
    main_size, cross_size = (node_h, node_w) if vertical else (node_w, node_h)

    # ---------------------------------------------------------------- layers
    succ: dict[K, list[K]] = {n: [] for n in order}
    pred: dict[K, list[K]] = {n: [] for n in order}
    indeg = dict.fromkeys(order, 0)
    for u, v in es:
        succ[u].append(v)
        pred[v].append(u)
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
    pos = {n: i for i, n in enumerate(topo)}
    fwd = [(u, v) for u, v in es if pos[u] < pos[v]]
    succ = {n: [] for n in order}
    pred = {n: [] for n in order}
    for u, v in fwd:
        succ[u].append(v)
        pred[v].append(u)
    layer: dict[K, int] = {}
    for n in topo:
        layer[n] = max((layer[p] + 1 for p in pred[n]), default=0)
    for n in topo:  # pull a source next to its nearest consumer
        if not pred[n] and succ[n]:
            layer[n] = min(layer[s] for s in succ[n]) - 1
    n_layers = max(layer.values()) + 1

    # ------------------------------------------------------- dummies for long edges
    up: dict[_Node, list[_Node]] = {n: list(pred[n]) for n in order}
    down: dict[_Node, list[_Node]] = {n: list(succ[n]) for n in order}
    lay: dict[_Node, int] = {n: layer[n] for n in order}
    chains: dict[tuple[K, K], list[_Dummy]] = {}
    total = sum(max(0, layer[v] - layer[u] - 1) for u, v in fwd)
    use_dummies = total <= max_dummies
    counter = 0
    for u, v in fwd:
        span = layer[v] - layer[u]
        if span <= 1 or not use_dummies:
            continue
        down[u].remove(v)
        up[v].remove(u)
        prev: _Node = u
        chain: list[_Dummy] = []
        for k in range(layer[u] + 1, layer[v]):
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

    # ------------------------------------------------------------- ordering
    layers: list[list[_Node]] = [[] for _ in range(n_layers)]
    seen: set[_Node] = set()

    def place(n: _Node) -> None:  # depth-first from each source: related nodes stay close
        stack = [n]
        while stack:
            m = stack.pop()
            if m in seen:
                continue
            seen.add(m)
            layers[lay[m]].append(m)
            stack.extend(reversed(down[m]))

    for n in topo:
        if not up[n]:
            place(n)
    for n in topo:
        place(n)
    rank: dict[_Node, int] = {}

    def renumber() -> None:
        for col in layers:
            for i, m in enumerate(col):
                rank[m] = i

    def crossings() -> int:
        total = 0
        for i in range(n_layers - 1):
            pairs = sorted((rank[m], rank[t]) for m in layers[i] for t in down[m])
            total += _inversions([b for _, b in pairs])
        return total

    renumber()
    best = [list(c) for c in layers]
    best_x = crossings()
    for sweep in range(sweeps):
        if best_x == 0:
            break
        downward = sweep % 2 == 0
        rng = range(1, n_layers) if downward else range(n_layers - 2, -1, -1)
        for i in rng:
            col = layers[i]
            keys: dict[_Node, float] = {}
            for j, m in enumerate(col):
                nb = up[m] if downward else down[m]
                keys[m] = sum(rank[x] for x in nb) / len(nb) if nb else float(j)
            col.sort(key=lambda m: keys[m])
            for j, m in enumerate(col):
                rank[m] = j
        n_cross = crossings()
        if n_cross < best_x:
            best_x = n_cross
            best = [list(c) for c in layers]
    layers = best
    renumber()

    # ------------------------------------------------------------ coordinates
    # "main" runs along the layers (x when left to right), "cross" along a layer.
    def extent(m: _Node) -> float:
        return 0.0 if isinstance(m, _Dummy) else cross_size

    cc: dict[_Node, float] = {}  # cross-axis centre
    for col in layers:
        c = 0.0
        for j, m in enumerate(col):
            if j:
                c += (extent(col[j - 1]) + extent(m)) / 2 + gap_node
            cc[m] = c
    for it in range(8):
        downward = it % 2 == 0
        rng = range(1, n_layers) if downward else range(n_layers - 2, -1, -1)
        if it >= 6:  # last rounds: balance both sides
            rng = range(n_layers)
        for i in rng:
            col = layers[i]
            want: list[float] = []
            for m in col:
                nb = (up[m] + down[m]) if it >= 6 else (up[m] if downward else down[m])
                want.append(sum(cc[x] for x in nb) / len(nb) if nb else cc[m])
            seps = [0.0] + [
                (extent(col[j - 1]) + extent(col[j])) / 2 + gap_node for j in range(1, len(col))
            ]
            for m, c in zip(col, _spaced_fit(want, seps), strict=True):
                cc[m] = c
    low = min(cc[m] - extent(m) / 2 for col in layers for m in col)
    shift = margin - low
    main_at = [margin + i * (main_size + gap_layer) for i in range(n_layers)]

    def xy(main: float, cross: float) -> tuple[float, float]:
        return (cross, main) if vertical else (main, cross)

    out: Layout[K] = Layout(vertical=vertical)
    far = 0.0  # largest cross coordinate used
    for n in order:
        c0 = cc[n] + shift - cross_size / 2
        bx, by = xy(main_at[layer[n]], c0)
        out.boxes[n] = Box(n, bx, by, node_w, node_h, layer[n])
        far = max(far, c0 + cross_size)
    for u, v in es:
        cu, cv = cc[u] + shift, cc[v] + shift
        if pos[u] >= pos[v]:  # a broken cycle edge: draw it straight
            pts = [(main_at[layer[u]] + main_size, cu), (main_at[layer[v]], cv)]
            out.edges.append(_path(u, v, pts, vertical, straight=True))
            continue
        pts = [(main_at[layer[u]] + main_size, cu)]
        for d in chains.get((u, v), []):
            c = cc[d] + shift
            pts.append((main_at[lay[d]], c))
            pts.append((main_at[lay[d]] + main_size, c))
            far = max(far, c)
        pts.append((main_at[layer[v]], cv))
        out.edges.append(_path(u, v, pts, vertical))
    main_total = main_at[-1] + main_size + margin
    cross_total = far + margin
    out.width, out.height = (cross_total, main_total) if vertical else (main_total, cross_total)
    out.crossings = best_x
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
