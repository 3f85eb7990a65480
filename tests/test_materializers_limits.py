"""Hostile input is bounded (``materializers/builtin.py``): a lying ``.npy`` header,
deeply nested or oversized JSON, garbage Arrow and a compressed Arrow bomb fail with
``CorruptArtifactError`` in bounded time and memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import flowyml as fm
from tests._helpers_stores import plant


@pytest.mark.parametrize(
    ("data", "materializer"),
    [
        (
            b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000000,), }"
            + b" " * 40
            + b"\n",
            "numpy",
        ),
        (b"\x93NUMPY\x01\x00\xff\xff" + b"{" * 70000, "numpy"),
        (b"[" * 200_000 + b"]" * 200_000, "json"),
        (b"ARROW1\x00\x00garbage" * 10, "pandas-arrow"),
        (b"not a pickle at all", "pickle"),
    ],
)
def test_hostile_objects_fail_cleanly(project: Path, data: bytes, materializer: str) -> None:
    import resource

    plant(fm.Stack().resolve(), data, "hostile", materializer)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(fm.CorruptArtifactError):
        fm.Catalog().get("hostile").load()
    assert time.perf_counter() - t0 < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 512 * 1024  # KiB


def test_oversized_json_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowyml.materializers import builtin

    monkeypatch.setattr(builtin, "MAX_JSON_BYTES", 1000)
    plant(fm.Stack().resolve(), b"[" + b"1," * 1000 + b"1]", "big_json", "json")
    with pytest.raises(fm.CorruptArtifactError, match="exceeds the limit"):
        fm.Catalog().get("big_json").load()


def test_a_value_over_the_json_limit_is_not_stored_as_json(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step's list too long for the JSON reader's limit was written as JSON anyway, and
    every load then refused it (as corrupt, which it was not): it falls back to pickle
    with a warning saying why, and loads back."""
    from flowyml.materializers import PickleFallbackWarning, builtin

    monkeypatch.setattr(builtin, "MAX_JSON_BYTES", 1000)

    @fm.step(outputs="ids")
    def ids() -> list[int]:
        return list(range(1000))

    with pytest.warns(PickleFallbackWarning, match="FLOWYML_MAX_JSON_BYTES"):
        run = fm.Pipeline("big", [ids]).run()
    assert run.artifacts["ids"].materializer == "pickle"
    assert fm.Catalog().get("ids").load() == list(range(1000))


@pytest.mark.parametrize("materializer", ["pandas-arrow", "arrow", "polars-arrow"])
def test_compressed_arrow_bomb_is_refused_before_decoding(project: Path, materializer: str) -> None:
    """A planted Arrow file whose few compressed bytes expand to 800 MB: refused from its
    metadata, without allocating."""
    import resource

    import pyarrow as pa

    chunk = pa.table({"zeros": pa.array([0] * 1_000_000, type=pa.int64())})  # 8 MB
    path = project / "bomb.arrow"
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with (
        pa.OSFile(str(path), "wb") as sink,
        pa.ipc.new_file(sink, chunk.schema, options=options) as w,
    ):
        for _ in range(100):  # 800 MB once decompressed
            w.write_table(chunk)
    data = path.read_bytes()
    assert len(data) < 2_000_000  # a small file...
    plant(fm.Stack().resolve(), data, "bomb", materializer)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(fm.CorruptArtifactError, match="compressed Arrow"):
        fm.Catalog().get("bomb").load()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KiB
