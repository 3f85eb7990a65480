"""The read-only web page (`flowyml ui`) without a browser: the server as a user starts
it (a real `flowyml ui` process), what it refuses, that it never writes, and the pure
parts (graph layout, the run graph derived from catalog records, previews).

The browser tests in test_ui_browser.py reuse the session fixtures defined here.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import json
import os
import queue
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import child_env, flowyml_cli, run_py, write

# ---------------------------------------------------------------------------- fixtures
CHURN = '''
"""A small churn model: two sources joined, cleaned, featurized, trained, evaluated."""
import numpy as np
import pandas as pd

import flowyml as fm


class LogisticModel:
    def __init__(self, weights, bias):
        self.weights = weights
        self.bias = bias

    def predict(self, x):
        return (x @ self.weights + self.bias > 0).astype(int)


@fm.step(outputs="customers")
def load_customers(n_customers: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "customer_id": np.arange(n_customers),
        "plan": rng.choice(["free", "pro", "team"], n_customers),
        "tenure_months": rng.integers(1, 60, n_customers),
        "churned": rng.integers(0, 2, n_customers),
    })


@fm.step(outputs="events")
def load_events(n_events: int = 5000) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame({
        "customer_id": rng.integers(0, 300, n_events),
        "minutes": rng.exponential(12.0, n_events).round(2),
    })


@fm.step(outputs="raw_data")
def join(customers: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    usage = events.groupby("customer_id", as_index=False)["minutes"].sum()
    return customers.merge(usage, on="customer_id", how="left")


@fm.step(outputs="clean_data")
def clean(raw_data: pd.DataFrame) -> pd.DataFrame:
    df = raw_data.fillna({"minutes": 0.0})
    return df[df["tenure_months"] >= 3].reset_index(drop=True)


@fm.step(outputs=("features", "labels"))
def featurize(clean_data: pd.DataFrame):
    x = clean_data[["tenure_months", "minutes"]].to_numpy(dtype=np.float64)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x, clean_data["churned"].to_numpy()


@fm.step(outputs="model")
def train(features, labels, lr: float = 0.1, epochs: int = 50) -> LogisticModel:
    if lr <= 0:
        raise ValueError(f"learning rate must be positive, got {lr}")
    w = np.zeros(features.shape[1])
    b = 0.0
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(features @ w + b)))
        w -= lr * features.T @ (p - labels) / len(labels)
        b -= lr * float((p - labels).mean())
    return LogisticModel(w, b)


@fm.step(outputs="metrics")
def evaluate(model: LogisticModel, features, labels) -> dict:
    acc = float((model.predict(features) == labels).mean())
    return {"accuracy": round(acc, 4), "n": int(len(labels)),
            "weights": [round(float(v), 6) for v in model.weights]}


pipeline = fm.Pipeline("churn", [evaluate, train, featurize, clean, join, load_events,
                                 load_customers])
'''

# A pickled artifact that would create a file if anything ever unpickled it.
TRAP = '''
import pathlib

import flowyml as fm

MARKER = str(pathlib.Path(__file__).with_name("UNPICKLED"))


class Trap:
    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(MARKER),))


@fm.step(outputs="trap")
def make_trap() -> Trap:
    return Trap()


@fm.step(outputs="big_json")
def make_big_json() -> dict:
    return {f"key_{i:05d}": list(range(20)) for i in range(3000)}


pipeline = fm.Pipeline("trap", [make_trap, make_big_json])
'''

STEPS = ["load_customers", "load_events", "join", "clean", "featurize", "train", "evaluate"]
EDGES = {
    ("load_customers", "join"), ("load_events", "join"), ("join", "clean"),
    ("clean", "featurize"), ("featurize", "train"), ("featurize", "evaluate"),
    ("train", "evaluate"),
}

INFO = '''
import json
import flowyml as fm
from flowyml.lineage import get_lineage

cat = fm.Catalog()
runs = [r.id for r in reversed(cat.runs(pipeline="churn"))]
arts = {}
for name, _, _ in cat.names():
    arts[name] = [{"id": a.id, "version": a.version, "hash": a.content_hash}
                  for a in cat.versions(name)]
metrics = cat.get("metrics")
ancestors = [n.artifact.id for n in get_lineage(metrics.id).walk()[1:]]
print(json.dumps({"runs": runs, "artifacts": arts, "metrics_ancestors": ancestors,
                  "trap_run": cat.runs(pipeline="trap")[0].id}))
'''


def clean_env(**extra: str) -> dict[str, str]:
    env = child_env()
    env.update(extra)
    return env


def _cli(root: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = flowyml_cli(root, *args)
    if ok and proc.returncode != 0:
        raise AssertionError(f"flowyml {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


# test_ui_browser.py needs the same project and servers. Its fixtures call the shared_*
# helpers below, which build each thing once per session and keep it here.
_shared: dict[str, Any] = {}


def shared_project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A project whose catalog three real runs of the churn pipeline filled: all steps
    executed; lr=-1 (train fails, evaluate not reached, the rest reused); lr=0.3 (train
    and evaluate executed). model@1 is tagged prod. Plus a run of the trap pipeline."""
    if "project" not in _shared:
        _shared["project"] = _build_project(tmp_path_factory)
    return _shared["project"]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def ui_project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return shared_project(tmp_path_factory)


def _build_project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("ui") / "proj"
    root.mkdir()
    (root / "flowyml.toml").write_text("")
    write(root / "churn.py", CHURN)
    write(root / "trap.py", TRAP)
    _cli(root, "run", "-q", "churn.py")
    failed = _cli(root, "run", "-q", "churn.py", "-p", "lr=-1", ok=False)
    assert failed.returncode != 0 and "learning rate must be positive" in failed.stderr
    _cli(root, "run", "-q", "churn.py", "-p", "lr=0.3")
    _cli(root, "tag", "model", "1", "prod")
    _cli(root, "run", "-q", "trap.py")
    info = json.loads(run_py(root, INFO, env=clean_env()))
    ok1, failed_run, ok3 = info["runs"]
    return {"root": root, "ok1": ok1, "failed": failed_run, "ok3": ok3, **info}


class UiServer:
    """`flowyml ui` as a user runs it, in a project folder; stopped with Ctrl-C."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
        exe = Path(sys.executable).parent / "flowyml"
        self.proc = subprocess.Popen(
            [str(exe), "ui", *args], cwd=root, env=env or clean_env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append),
                         daemon=True).start()
        self.url = ""

    @staticmethod
    def _pump(stream: Any, put: Any) -> None:
        for line in stream:
            put(line)

    def wait_url(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            seen.append(line)
            m = re.search(r"open (http://\S+)", line)
            if m:
                self.url = m.group(1)
                return self.url
        raise AssertionError(f"flowyml ui did not print its address: {seen} {self.stderr}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def shared_server(key: str, root: Path) -> Iterator[str]:
    """One `flowyml ui` per session for ``key``; whichever fixture ends first stops it."""
    server: UiServer | None = _shared.get(key)
    if server is None or server.proc.poll() is not None:
        server = UiServer(root, "--port", "0")
        _shared[key] = server
        server.wait_url()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ui_server(ui_project: dict[str, Any]) -> Iterator[str]:
    yield from shared_server("server", ui_project["root"])


def get(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode()


# ---------------------------------------------------------------------------- layout
def _check_layout(layout: Any, nodes: list[Any], edges: list[tuple[Any, Any]]) -> None:
    boxes = layout.boxes
    assert set(boxes) == set(nodes)
    by_layer: dict[int, list[Any]] = {}
    for b in boxes.values():
        by_layer.setdefault(b.layer, []).append(b)
        assert b.x >= 0 and b.x + b.w <= layout.width + 0.01
        assert b.y >= 0 and b.y + b.h <= layout.height + 0.01
    for col in by_layer.values():  # nodes of a layer never overlap
        key = (lambda b: b.x) if layout.vertical else (lambda b: b.y)
        col.sort(key=key)
        for a, b in itertools.pairwise(col):
            if layout.vertical:
                assert a.x + a.w <= b.x + 0.01
            else:
                assert a.y + a.h <= b.y + 0.01
    for u, v in edges:  # every edge points forward
        assert boxes[u].layer < boxes[v].layer
    assert len(layout.edges) == len(set(edges))


def test_layout_small_dag_both_orientations() -> None:
    from flowyml.ui.layout import layered_layout

    nodes = list(STEPS)
    edges = sorted(EDGES)
    for vertical in (False, True):
        lay = layered_layout(nodes, edges, vertical=vertical)
        _check_layout(lay, nodes, edges)
        assert lay.crossings == 0
        assert lay.boxes["load_customers"].layer == lay.boxes["load_events"].layer == 0
        assert lay.boxes["evaluate"].layer == 5
        assert all(e.d.startswith("M") for e in lay.edges)
    assert layered_layout(nodes, edges) .width > layered_layout(nodes, edges, vertical=True).width


def test_layout_is_deterministic_and_ignores_junk() -> None:
    from flowyml.ui.layout import layered_layout

    a = layered_layout(["a", "b", "c"], [("a", "b"), ("a", "b"), ("b", "b"), ("x", "a")])
    b = layered_layout(["a", "b", "c"], [("a", "b")])
    assert [(k, v.x, v.y) for k, v in a.boxes.items()] == [(k, v.x, v.y) for k, v in b.boxes.items()]
    cyc = layered_layout(["a", "b"], [("a", "b"), ("b", "a")])  # never raises on a cycle
    assert set(cyc.boxes) == {"a", "b"}
    empty = layered_layout([], [])
    assert empty.boxes == {} and empty.width > 0


def test_layout_500_nodes_is_fast_and_valid() -> None:
    from flowyml.ui.layout import layered_layout

    rng = random.Random(5)
    nodes = [f"n{i}" for i in range(500)]
    edges = [(nodes[rng.randrange(max(0, i - 80), i)], nodes[i]) for i in range(1, 500) for _ in range(2)]
    t0 = time.perf_counter()
    lay = layered_layout(nodes, edges)
    assert time.perf_counter() - t0 < 5
    _check_layout(lay, nodes, list(dict.fromkeys((u, v) for u, v in edges if u != v)))


def test_spaced_fit_keeps_order_and_spacing() -> None:
    from flowyml.ui.layout import _inversions, _spaced_fit

    ys = _spaced_fit([10.0, 10.0, 10.0], [0.0, 5.0, 5.0])
    assert ys == pytest.approx([5.0, 10.0, 15.0])
    ys = _spaced_fit([0.0, 100.0], [0.0, 5.0])
    assert ys == pytest.approx([0.0, 100.0])
    assert _inversions([2, 0, 1]) == 2 and _inversions([]) == 0


# ---------------------------------------------------------------------------- model
def _stack(root: Path) -> Any:
    from flowyml.stack import Stack

    store = str(root / ".flowyml")
    return Stack(name="default", root=str(root), store=store,
                 catalog="sqlite:///" + str(root / ".flowyml" / "catalog.db")).resolve()


def test_run_graph_comes_from_catalog_records(ui_project: dict[str, Any]) -> None:
    from flowyml.ui.model import run_view

    db = _stack(ui_project["root"]).open_catalog()
    first = run_view(db, db.get_run(ui_project["ok1"]))
    assert {s.name: s.state for s in first.steps} == dict.fromkeys(STEPS, "executed")
    assert {(u, v) for u, v, _ in first.edges} == EDGES
    labels = {(u, v): a for u, v, a in first.edges}
    assert sorted(labels[("featurize", "train")]) == ["features", "labels"]
    assert labels[("train", "evaluate")] == ["model"]

    failed = run_view(db, db.get_run(ui_project["failed"]))
    states = {s.name: s.state for s in failed.steps}
    assert states == {**dict.fromkeys(STEPS[:5], "reused"), "train": "failed",
                      "evaluate": "not-reached"}
    assert {(u, v) for u, v, _ in failed.edges} == EDGES
    train = next(s for s in failed.steps if s.name == "train")
    assert "learning rate must be positive, got -1" in (train.error or "")
    assert failed.summary.failing[0].name == "train"

    third = run_view(db, db.get_run(ui_project["ok3"]))
    states = {s.name: s.state for s in third.steps}
    assert states == {**dict.fromkeys(STEPS[:5], "reused"), "train": "executed",
                      "evaluate": "executed"}
    train = next(s for s in third.steps if s.name == "train")
    assert "parameter lr 0.1 -> 0.3" in train.reason


# ---------------------------------------------------------------------------- server
def test_pages_answer_and_unknown_ids_are_404_pages(ui_server: str, ui_project: dict[str, Any]) -> None:
    model1 = ui_project["artifacts"]["model"][0]["id"]
    for path in ("", "assets", f"runs/{ui_project['failed']}", f"artifacts/{model1}",
                 f"artifacts/{model1}/lineage", f"artifacts/{model1}/preview",
                 "search?q=model", "assets/model/prod", "static/app.js", "static/style.css"):
        status, _, _ = get(ui_server + path)
        assert status == 200, path
    for path in ("artifacts/0123456789abcdef01234567", "artifacts/nope/lineage",
                 "artifacts/nope/preview", "runs/20990101-000000-ffffff", "assets/no_such_asset",
                 "assets/model/99", "no/such/page"):
        status, headers, body = get(ui_server + path)
        assert status == 404, path
        assert headers["content-type"].startswith("text/html")
        assert 'id="error-page"' in body and "Not found" in body, path


def test_only_get_is_served(ui_server: str, ui_project: dict[str, Any]) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in ("", f"runs/{ui_project['ok1']}", "search?q=x"):
            status, headers, _ = get(ui_server + path, method=method)
            assert status == 405, (method, path)
            assert headers.get("allow") == "GET, HEAD"
    assert get(ui_server, method="HEAD")[0] == 200


def test_rejects_foreign_host_header_and_sets_strict_headers(ui_server: str) -> None:
    status, _, _ = get(ui_server, headers={"Host": "attacker.example"})
    assert status == 400  # DNS rebinding cannot read the page
    status, headers, _ = get(ui_server)
    assert status == 200
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert headers["x-frame-options"] == "DENY"
    for path in ("static/app.js", "static/style.css"):  # nothing from another origin
        text = get(ui_server + path)[2]
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


def test_preview_is_capped_and_never_unpickles(ui_server: str, ui_project: dict[str, Any]) -> None:
    root = ui_project["root"]
    trap = ui_project["artifacts"]["trap"][0]["id"]
    for path in (f"artifacts/{trap}", f"artifacts/{trap}/preview"):
        status, _, body = get(ui_server + path)
        assert status == 200
    assert "stored with pickle" in body and "Trap" in body
    assert not (root / "UNPICKLED").exists()
    big = ui_project["artifacts"]["big_json"][0]["id"]
    status, _, body = get(ui_server + f"artifacts/{big}/preview")
    from flowyml.ui.preview import MAX_TEXT

    assert status == 200 and "3,000 keys" in body and "truncated" in body
    assert len(body) < MAX_TEXT * 2
    clean = ui_project["artifacts"]["clean_data"][0]["id"]
    body = get(ui_server + f"artifacts/{clean}/preview")[2]
    assert body.count("<tr>") == 1 + 20  # header + the first 20 rows


def _catalog_dump(db: Path) -> list[Any]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table' order by name")]
        return [(t, sorted(map(repr, con.execute(f"select * from {t}")))) for t in tables]
    finally:
        con.close()


def test_browsing_writes_nothing(ui_server: str, ui_project: dict[str, Any]) -> None:
    root = ui_project["root"]
    db = root / ".flowyml" / "catalog.db"
    objects = root / ".flowyml" / "objects"
    before = _catalog_dump(db)
    files_before = sorted((p.name, p.stat().st_size, p.stat().st_mtime) for p in objects.rglob("*"))
    for name, versions in ui_project["artifacts"].items():
        for v in versions:
            for suffix in ("", "/preview", "/lineage"):
                assert get(ui_server + f"artifacts/{v['id']}{suffix}")[0] == 200
        assert get(ui_server + f"search?q={name}")[0] == 200
    for run_id in ui_project["runs"]:
        assert get(ui_server + f"runs/{run_id}")[0] == 200
    assert _catalog_dump(db) == before
    assert sorted((p.name, p.stat().st_size, p.stat().st_mtime) for p in objects.rglob("*")) == files_before


def test_no_catalog_yet_is_an_empty_page_and_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    (root / "flowyml.toml").write_text("")
    server = UiServer(root, "--port", "0")
    try:
        url = server.wait_url()
        status, _, body = get(url)
        assert status == 200 and "No runs yet" in body
        assert get(url + "assets")[0] == 200
        assert get(url + "search?q=model")[0] == 200
        assert get(url + "artifacts/abc")[0] == 404
    finally:
        assert server.stop() == 0
    assert not (root / ".flowyml").exists()


# ---------------------------------------------------------------------------- binding
def _non_loopback_ipv4() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent for UDP connect
            addr = str(s.getsockname()[0])
    except OSError:
        return None
    return None if ipaddress.ip_address(addr).is_loopback or addr == "0.0.0.0" else addr


def test_serves_on_loopback_only_by_default(ui_project: dict[str, Any]) -> None:
    import psutil

    server = UiServer(ui_project["root"], "--port", "0")
    try:
        url = server.wait_url()
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        proc = psutil.Process(server.proc.pid)
        conns = proc.net_connections(kind="inet") if hasattr(proc, "net_connections") else proc.connections(kind="inet")
        listening = [c.laddr for c in conns if c.status == psutil.CONN_LISTEN]
        assert listening and all(ipaddress.ip_address(a.ip).is_loopback for a in listening)
        other = _non_loopback_ipv4()
        if other is not None:  # the machine's own address does not answer
            with pytest.raises(OSError), socket.create_connection((other, port), timeout=3):
                pass
        assert "warning" not in "".join(server.stderr).lower()
    finally:
        assert server.stop() == 0  # Ctrl-C stops it cleanly


def test_refuses_non_loopback_interface_without_host_flag(ui_project: dict[str, Any]) -> None:
    exe = Path(sys.executable).parent / "flowyml"
    proc = subprocess.run([str(exe), "ui", "--port", "0"], cwd=ui_project["root"],
                          env=clean_env(FLOWYML_UI_HOST="0.0.0.0"), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert "refusing" in proc.stderr and "--host 0.0.0.0" in proc.stderr and "no login" in proc.stderr
    assert "open http" not in proc.stdout
    # a loopback address from the environment is fine
    server = UiServer(ui_project["root"], "--port", "0", env=clean_env(FLOWYML_UI_HOST="127.0.0.1"))
    try:
        assert server.wait_url().startswith("http://127.0.0.1:")
    finally:
        server.stop()


def test_host_flag_exposes_with_a_warning(ui_project: dict[str, Any]) -> None:
    server = UiServer(ui_project["root"], "--host", "0.0.0.0", "--port", "0")
    try:
        url = server.wait_url()
        assert get(url)[0] == 200
        deadline = time.monotonic() + 5
        while "no login" not in "".join(server.stderr) and time.monotonic() < deadline:
            time.sleep(0.05)
        err = "".join(server.stderr)
        assert "warning" in err and "no login" in err
    finally:
        server.stop()


def test_busy_port_is_a_one_line_error(ui_project: dict[str, Any]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = flowyml_cli(ui_project["root"], "ui", "--port", str(port), timeout=60)
    assert proc.returncode != 0
    assert "cannot listen on 127.0.0.1" in proc.stderr and "--port" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = flowyml_cli(ui_project["root"], "ui", "--port", "99999", timeout=60)
    assert proc.returncode == 2 and "99999 is not in the range" in proc.stderr  # not a random one


# ---------------------------------------------------------------------------- 500 nodes
def build_wide_lineage(root: Path, layers: int = 10, width: int = 50) -> str:
    """A catalog with ``layers * width`` artifacts recorded through the catalog API,
    each made from 2-3 artifacts of the layer before, plus one final ``report``
    artifact made from the whole last layer. Returns the report's artifact id."""
    from flowyml.catalog.records import NewOutput, StepRecord, Write
    from flowyml.catalog.sql import SqlCatalog, artifact_id

    root.mkdir(parents=True, exist_ok=True)
    (root / "flowyml.toml").write_text("")
    db = SqlCatalog("sqlite:///" + str(root / ".flowyml" / "catalog.db"))
    rng = random.Random(3)
    run_id = "20260101-000000-wide00"
    db.start_run(run_id, "wide", {}, time.time())
    prev: list[str] = []
    for layer in range(layers + 1):
        names = [f"shard_{layer:02d}_{i:03d}" for i in range(width)] if layer < layers else ["report"]
        cur: list[str] = []
        for i, name in enumerate(names):
            h = hashlib.blake2b(name.encode(), digest_size=32).hexdigest()
            if layer == layers:
                parents = prev
            elif prev:
                parents = sorted({prev[i], *rng.sample(prev, rng.randint(1, 2))})
            else:
                parents = []
            rec = StepRecord(run_id=run_id, pipeline="wide", step=f"s{layer}", status="executed",
                             cache_key=h, reason="executed: synthetic", code_version="c0de",
                             started_at=time.time())
            db.record_batch([Write("exec", rec, [NewOutput(name, h, 10, "json", "builtins.dict")],
                                   {f"in{k}": p for k, p in enumerate(parents)}, cache=False)])
            cur.append(artifact_id(name, h))
        prev = cur
    db.finish_run(run_id, "succeeded", None, {"io": {}})
    db.close()
    return prev[0]


def shared_wide_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`flowyml ui` over a catalog with a 500-artifact lineage (see build_wide_lineage)."""
    if "wide" not in _shared:
        root = tmp_path_factory.mktemp("wide") / "proj"
        _shared["wide"] = (root, build_wide_lineage(root))
    root, report = _shared["wide"]
    for url in shared_server("wide_server", root):
        yield url, report


@pytest.fixture(scope="session")
def wide_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    yield from shared_wide_server(tmp_path_factory)


def test_lineage_of_500_ancestors_is_served_quickly(wide_server: tuple[str, str]) -> None:
    url, report = wide_server
    t0 = time.perf_counter()
    status, _, body = get(url + f"artifacts/{report}/lineage")
    elapsed = time.perf_counter() - t0
    assert status == 200
    assert body.count('class="node-link"') == 501
    assert elapsed < 10, f"lineage page of 500 ancestors took {elapsed:.1f} s"


# ---------------------------------------------------------------------------- PostgreSQL
def test_same_pages_on_a_postgresql_catalog(postgres_server: Any, tmp_path: Path) -> None:
    url = postgres_server.create_database(f"ui_{os.getpid()}_{int(time.time() * 1000) % 10**8}")
    root = tmp_path / "pg"
    root.mkdir()
    (root / "flowyml.toml").write_text("")
    write(root / "churn.py", CHURN)
    env = {"FLOWYML_CATALOG": url}
    assert flowyml_cli(root, "run", "-q", "churn.py", env=env).returncode == 0
    assert flowyml_cli(root, "run", "-q", "churn.py", "-p", "lr=-1", env=env).returncode != 0
    server = UiServer(root, "--port", "0", env=clean_env(**env))
    try:
        base = server.wait_url()
        status, _, body = get(base)
        assert status == 200 and "postgresql" in body and "***" in body  # password masked
        runs = re.findall(r'data-run="([^"]+)"', body)
        assert len(runs) == 2 and "learning rate must be positive" in body
        body = get(base + f"runs/{runs[0]}")[2]
        states = dict(re.findall(r'data-step="([^"]+)" data-state="([^"]+)"', body))
        assert states == {**dict.fromkeys(STEPS[:5], "reused"), "train": "failed",
                          "evaluate": "not-reached"}
        body = get(base + "search?q=metrics")[2]
        metrics = re.search(r'href="/artifacts/([0-9a-f]+)">metrics<', body)
        assert metrics
        body = get(base + f"artifacts/{metrics.group(1)}/lineage")[2]
        assert body.count('class="node-link"') == 8  # metrics and its 7 ancestors
        assert get(base + f"artifacts/{metrics.group(1)}/preview")[0] == 200
        assert not (root / ".flowyml" / "catalog.db").exists()
    finally:
        assert server.stop() == 0
