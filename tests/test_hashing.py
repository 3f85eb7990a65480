"""Content hashing (``core/hashing.py``): BLAKE3 of bytes, files and streams."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import blake3
import pytest

from flowyml.core import hashing
from flowyml.core.hashing import THREADED_FROM, hash_bytes, hash_chunks, hash_file, is_digest


@pytest.mark.parametrize("size", [0, 1, THREADED_FROM - 1, THREADED_FROM, 3 * THREADED_FROM + 7])
def test_every_way_of_hashing_gives_the_one_digest(size: int, tmp_path: Path) -> None:
    """Big inputs are hashed on every core: the digest is BLAKE3's single-threaded one,
    so a stored object's name never depends on the machine that hashed it."""
    data = os.urandom(size)
    want = blake3.blake3(data).hexdigest()
    path = tmp_path / "object"
    path.write_bytes(data)
    assert hash_bytes(data) == hash_bytes(bytearray(data)) == hash_bytes(memoryview(data)) == want
    assert hash_file(path) == want
    assert hash_chunks(data[i : i + 65536] for i in range(0, size, 65536)) == want
    assert is_digest(want)


def test_keys_hashed_by_kept_hashers_are_blake3s_from_any_thread() -> None:
    """Small digests reuse their hashers: one left holding bytes from a call before, or
    shared by two threads, would give a key another run never gives again."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [("step", str(i) * (i % 50)) for i in range(2000)]

    def want(parts: tuple[str, ...]) -> str:
        joined = b"".join(len(p.encode()).to_bytes(8, "little") + p.encode() for p in parts)
        return blake3.blake3(joined).hexdigest()

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda parts: hashing.hash_text(*parts), texts))
    assert got == [want(t) for t in texts]
    assert hashing.digest(b"") == blake3.blake3(b"").digest()
    assert hash_bytes(b"abc") == blake3.blake3(b"abc").hexdigest()


def _npy_cases() -> list[Any]:
    import numpy as np

    wide = np.dtype([(f"field_{i:04d}", "<f4") for i in range(3000)])  # a 2.0 header
    return [
        np.arange(300_000, dtype=np.float64).reshape(600, 500),
        np.arange(200_000, dtype=">i4"),
        np.array(["2024-01-01", "2025-06-30"] * 50_000, dtype="datetime64[D]"),
        np.zeros(700, dtype=np.dtype([("a", "<i8"), ("b", "<f4", (3,))])),
        np.zeros(200, dtype=wide),
    ]


@pytest.mark.parametrize("case", range(5))
def test_an_array_hashed_while_written_is_the_file_np_save_writes(
    case: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big arrays are hashed in a thread while written: the file must be byte for byte
    what ``np.save`` writes, and the digest the file's."""
    import numpy as np

    from flowyml.materializers import builtin

    monkeypatch.setattr(builtin, "HASH_WHILE_WRITING_FROM", 1)
    arr = _npy_cases()[case]
    got = builtin.NumpyMaterializer().save_hashed(arr, tmp_path / "a.npy")
    assert got is not None
    meta, digest = got
    with warnings.catch_warnings():  # the wide dtype's header needs format 2.0: numpy says so
        warnings.simplefilter("ignore", UserWarning)
        np.save(tmp_path / "ref.npy", arr, allow_pickle=False)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "ref.npy").read_bytes()
    assert digest == hash_file(tmp_path / "a.npy")
    assert meta == {"shape": list(arr.shape), "dtype": arr.dtype.str}


def test_small_or_strided_arrays_are_saved_then_hashed(tmp_path: Path) -> None:
    import numpy as np

    from flowyml.materializers.builtin import NumpyMaterializer

    mat = NumpyMaterializer()
    assert mat.save_hashed(np.arange(10.0), tmp_path / "small.npy") is None
    assert mat.save_hashed(np.zeros((4096, 4096))[:, ::2], tmp_path / "strided.npy") is None


def test_a_file_changed_within_a_tick_is_hashed_again_each_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-process memo of file hashes keys by the stat: not for a file changed
    within a timestamp tick of now, whose next same-size write may keep that stat."""
    path = tmp_path / "f.txt"
    path.write_text("a")
    held = lambda: [k for k in hashing._file_hashes if k[0] == str(path)]  # noqa: E731
    monkeypatch.setattr(hashing, "RACY_NS", 10**18)  # every file: just changed
    assert hashing.file_content_hash(str(path)) == hash_bytes(b"a") and held() == []
    monkeypatch.setattr(hashing, "RACY_NS", 0)
    assert hashing.file_content_hash(str(path)) == hash_bytes(b"a") and len(held()) == 1
