"""Content-addressed store, materializers, catalog versions, integrity and lazy loading."""

from __future__ import annotations

import os
import sqlite3
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import flowyml as fm
from flowyml.core.hashing import hash_file

# about objects in the store, tiny ones too (conftest.objects_in_store)
pytestmark = pytest.mark.usefixtures("objects_in_store")


def objects(root: Path) -> list[Path]:
    return sorted(p for p in (root / ".flowyml" / "objects").rglob("*") if p.is_file())


def one_step(value: Any, name: str = "thing") -> fm.Step:
    @fm.step(outputs=name)
    def make() -> Any:
        return value

    return make


def test_layout_is_content_addressed_and_atomic(project: Path) -> None:
    run = fm.Pipeline("p", [one_step([1, 2, 3])]).run()
    art = run.artifacts["thing"]
    path = project / ".flowyml" / "objects" / art.content_hash[:2] / art.content_hash
    assert path.is_file() and hash_file(path) == art.content_hash
    assert (project / ".flowyml" / "catalog.db").is_file()
    staged = [p for p in (project / ".flowyml" / "tmp").rglob("*") if p.is_file()]
    assert [p.name for p in staged] == [".lock"]  # no staged leftovers, only our lock
    con = sqlite3.connect(project / ".flowyml" / "catalog.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_project_root_is_found_from_a_subfolder(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = project / "notebooks" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    fm.Pipeline("p", [one_step(1)]).run()
    assert (project / ".flowyml" / "catalog.db").is_file()
    assert not (sub / ".flowyml").exists()


def test_same_content_is_stored_once(project: Path) -> None:
    fm.Pipeline("p", [one_step({"a": 1}, "x")]).run()
    fm.Pipeline("q", [one_step({"a": 1}, "y")]).run()
    assert len(objects(project)) == 1
    assert fm.Catalog().get("x").content_hash == fm.Catalog().get("y").content_hash


@pytest.mark.parametrize(
    ("value", "materializer"),
    [
        (np.arange(12, dtype=np.float32).reshape(3, 4), "numpy"),
        (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=[5, 6]), "pandas-arrow"),
        (pd.Series([1.5, 2.5], name="s"), "pandas-arrow"),
        (pa.table({"a": [1, 2, 3]}), "arrow"),
        (pl.DataFrame({"a": [1, 2], "b": [0.5, 1.5]}), "polars-arrow"),
        ({"k": [1, 2.5, "s", None, True]}, "json"),
        ((1, 2), "pickle"),
        ({1, 2}, "pickle"),
    ],
)
def test_materializers_roundtrip_with_canonical_formats(project: Path, value: Any, materializer: str) -> None:
    run = fm.Pipeline("p", [one_step(value)]).run()
    art = run.artifacts["thing"]
    assert art.materializer == materializer
    loaded = fm.Catalog().get("thing").load()  # a fresh load from the store
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(loaded, value)
        assert not loaded.flags.writeable  # memory-mapped, shared read-only
    elif isinstance(value, pd.DataFrame):
        pd.testing.assert_frame_equal(loaded, value)
    elif isinstance(value, pd.Series):
        pd.testing.assert_series_equal(loaded, value)
    elif isinstance(value, (pa.Table, pl.DataFrame)):
        assert loaded.equals(value)
    else:
        assert loaded == value and type(loaded) is type(value)


def test_a_polars_frame_and_an_arrow_table_of_the_same_data_are_two_artifacts(
        project: Path) -> None:
    """Both are Arrow IPC: the frame's schema says it is one, so a consumer of an asset
    two producers make (two pipelines, or a step moved from pyarrow to polars) is handed
    the type its producer returned, and its cached result is not the other's."""
    data = {"t": [31, 4], "rain": [0.5, 2.5]}

    @fm.step(outputs="weather")
    def load_pa():
        return pa.table(data)

    @fm.step(outputs="weather")
    def load_pl():
        return pl.DataFrame(data)

    @fm.step(outputs="kind")
    def kind(weather):
        return type(weather).__module__.partition(".")[0]

    first = fm.Pipeline("a", [load_pa, kind]).run()
    second = fm.Pipeline("b", [load_pl, kind]).run()
    assert (first["kind"], second["kind"]) == ("pyarrow", "polars")
    assert second.steps["kind"].status == "executed"
    assert first.artifacts["weather"].id != second.artifacts["weather"].id


def _reprs(frame: pd.DataFrame) -> list[list[str]]:
    return [[f"{type(v).__name__}:{v!r}" for v in frame[c]] for c in frame.columns]


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"p": [Decimal("1.5"), Decimal("2.25")]}),  # Arrow: one scale
    pd.DataFrame({"payload": [{"id": 1, "kind": "a"}, {"kind": "b", "id": 2}]}),  # key order
    pd.DataFrame({"s": pd.Series([np.str_("a"), np.str_("b")], dtype=object)}),  # str
], ids=["decimal-scale", "dict-key-order", "numpy-strings"])
def test_a_frame_arrow_would_change_loads_back_exactly(project: Path, frame: pd.DataFrame) -> None:
    """Python objects in object columns that Arrow would give back merely equal (by
    ``==``) are not stored as Arrow: the frame loads back as the step returned it,
    object by object (it falls back to pickle, with a warning saying why)."""
    with pytest.warns(UserWarning, match="would come back as"):
        fm.Pipeline("p", [one_step(frame)]).run()
    loaded = fm.Catalog().get("thing").load()
    assert _reprs(loaded) == _reprs(frame)


def test_npy_bytes_are_canonical(project: Path) -> None:
    fm.Pipeline("p", [one_step(np.arange(5))]).run()
    (path,) = objects(project)
    assert path.read_bytes().startswith(b"\x93NUMPY")
    assert np.array_equal(np.load(path), np.arange(5))


def test_equal_values_hash_equal_across_runs(project: Path) -> None:
    df = pd.DataFrame({"a": range(100), "b": [str(i) for i in range(100)]})
    h1 = fm.Pipeline("p", [one_step(df)]).run(force=True).artifacts["thing"].content_hash
    h2 = fm.Pipeline("p", [one_step(df.copy())]).run(force=True).artifacts["thing"].content_hash
    assert h1 == h2


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


class CelsiusMaterializer:
    name = "celsius"
    version = 1
    uses_pickle = False

    def handles(self, value: Any) -> bool:
        return isinstance(value, Celsius)

    def save(self, value: Celsius, path: Path) -> dict:
        path.write_text(f"{value.degrees}C")
        return {"unit": "C"}

    def load(self, path: Path) -> Celsius:
        return Celsius(float(path.read_text()[:-1]))


def test_user_materializer_registry(project: Path) -> None:
    fm.register_materializer(CelsiusMaterializer())
    run = fm.Pipeline("p", [one_step(Celsius(21.5), "temp")]).run()
    art = run.artifacts["temp"]
    assert art.materializer == "celsius" and art.meta == {"unit": "C"}
    assert fm.Catalog().get("temp").load().degrees == 21.5


def test_a_materializer_name_the_catalog_cannot_hold_is_refused_when_registered() -> None:
    """The catalog keeps a materializer's name in 64 characters: a longer one was
    accepted, and PostgreSQL refused the records of every step that used it."""
    long = CelsiusMaterializer()
    long.name = "celsius-" + "x" * 60
    with pytest.raises(fm.FlowymlError, match="1 to 64 characters"):
        fm.register_materializer(long)


def test_versions_follow_content(project: Path) -> None:
    @fm.step(outputs="data")
    def make(n: int = 1) -> list[int]:
        return [n]

    pipe = fm.Pipeline("v", [make])
    assert pipe.run(params={"n": 1}).artifacts["data"].version == 1
    assert pipe.run(params={"n": 2}).artifacts["data"].version == 2
    # the same bytes again: the same artifact and version
    again = pipe.run(params={"n": 1}, force=True).artifacts["data"]
    assert again.version == 1
    cat = fm.Catalog()
    assert [a.version for a in cat.versions("data")] == [1, 2]
    # @latest is what the last successful run output (data@1 again), not the highest number
    assert cat.get("data").version == 1 and cat.get("data", "latest").version == 1
    assert cat.get("data", 1).load() == [1]
    cat.tag("data", 1, "prod")
    assert cat.get("data", "prod").version == 1
    cat.tag("data", 2, "prod")
    assert cat.get("data", "prod").version == 2
    with pytest.raises(fm.ArtifactNotFoundError, match="version 9"):
        cat.get("data", 9)
    with pytest.raises(fm.ArtifactNotFoundError, match="nothing"):
        cat.get("nothing")
    assert {a.name for a in cat.search("dat")} == {"data"}
    assert cat.search(hash_prefix=again.content_hash[:8])[0].id == again.id


def test_each_run_and_reuse_is_recorded(project: Path) -> None:
    pipe = fm.Pipeline("r", [one_step(1)])
    r1 = pipe.run()
    r2 = pipe.run()
    cat = fm.Catalog()
    runs = {r.id: r for r in cat.runs()}
    assert runs[r1.id].status == runs[r2.id].status == "succeeded"
    assert [s.status for s in cat.steps(r2.id)] == ["cached"]
    uses = fm.Stack().resolve().open_catalog().runs_using(r1.artifacts["thing"].id)
    assert (r1.id, "make", "produced") in uses and (r2.id, "make", "reused") in uses


def test_corrupt_object_raises_and_never_returns_data(project: Path) -> None:
    run = fm.Pipeline("p", [one_step({"secret": "value"})]).run()
    art = run.artifacts["thing"]
    path = project / ".flowyml" / "objects" / art.content_hash[:2] / art.content_hash
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    with pytest.raises(fm.CorruptArtifactError) as err:
        fm.Catalog().get("thing").load()
    assert "thing@1" in str(err.value) and art.content_hash in str(err.value)


def test_fully_cached_run_reads_no_bytes(project: Path) -> None:
    big = np.ones((256, 256))

    @fm.step(outputs="arr")
    def make() -> np.ndarray:
        return big

    @fm.step(outputs="total")
    def total(arr: np.ndarray) -> float:
        return float(arr.sum())

    pipe = fm.Pipeline("lazy", [make, total])
    pipe.run()
    from flowyml.stack import clear_opened

    clear_opened()
    again = pipe.run()
    assert again.cached == ["make", "total"]
    assert again.io["store_objects_read"] == 0 and again.io["store_bytes_read"] == 0
    assert again["total"] == 65536.0  # loads on first access
    assert fm.Stack().resolve().open_store().stats.store_objects_read == 1


def test_artifact_ref_loads_on_demand(project: Path) -> None:
    seen: dict[str, Any] = {}

    @fm.step(outputs="arr")
    def make() -> np.ndarray:
        return np.arange(10)

    @fm.step(outputs="meta")
    def inspect_it(arr: fm.ArtifactRef) -> dict:
        seen["ref"] = arr
        return {"size": arr.size, "hash": arr.content_hash[:8]}

    @fm.step(outputs="head")
    def head(arr: fm.Lazy[np.ndarray]) -> list:
        return arr.load()[:3].tolist()

    run = fm.Pipeline("refs", [make, inspect_it, head]).run()
    assert isinstance(seen["ref"], fm.ArtifactRef)
    assert run["meta"]["size"] == run.artifacts["arr"].size
    assert run["head"] == [0, 1, 2]


def test_gc_deletes_only_unreferenced_objects(project: Path) -> None:
    from flowyml.cli.maintenance import collect_garbage

    fm.Pipeline("p", [one_step([1])]).run()
    store = fm.Stack().resolve().open_store()
    stray = project / "stray.part"
    stray.write_bytes(b"orphan")
    digest = hash_file(stray)
    store.put_file(digest, stray)
    assert len(objects(project)) == 2
    old = time.time() - 3600
    os.utime(project / ".flowyml" / "objects" / digest[:2] / digest, (old, old))
    st = fm.Stack().resolve()
    young = collect_garbage(st, dry_run=True)
    assert young.deleted == [] and young.kept_young == 1
    report = collect_garbage(st, grace_seconds=0)
    assert len(report.deleted) == 1
    assert len(objects(project)) == 1
    assert fm.Catalog().get("thing").load() == [1]
