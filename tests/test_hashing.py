"""Content hashing (``core/hashing.py``): BLAKE3 of bytes, files and streams."""

from __future__ import annotations

import os
from pathlib import Path

import blake3
import pytest

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
