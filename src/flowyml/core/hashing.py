"""BLAKE3 content hashing of bytes, files and streams.

Files are hashed through a memory map so a large artifact is never copied into
Python memory just to be hashed. Inputs of ``THREADED_FROM`` bytes or more are hashed
on every core (BLAKE3's tree hashing: the digest is the same as single-threaded);
below that, starting threads costs more than it saves.

Hex digests are ``digest().hex()``: the same text as the binding's ``hexdigest()``,
which takes about 0.1 us longer per call (fingerprints make several per step).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import blake3

DIGEST_LEN = 64  # hex characters of a 32-byte BLAKE3 digest
THREADED_FROM = 4 << 20  # bytes
_HEX_CHARS = "0123456789abcdef"


_IDLE: list[Any] = []  # hashers between uses (``list.pop``/``append`` are atomic)


def digest(data: bytes | bytearray | memoryview) -> bytes:
    """BLAKE3 digest of small ``data`` (a key, a token's bytes), by a hasher kept for
    reuse: making one costs twice as much as hashing a few hundred bytes with it, and a
    build makes several per step. Each call takes a hasher no other thread holds."""
    try:
        h = _IDLE.pop()
    except IndexError:
        h = blake3.blake3()
    h.update(data)
    out: bytes = h.digest()
    h.reset()
    _IDLE.append(h)
    return out


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hex BLAKE3 digest of ``data``."""
    if memoryview(data).nbytes >= THREADED_FROM:
        return blake3.blake3(data, max_threads=blake3.blake3.AUTO).digest().hex()
    return digest(data).hex()


def hash_file(path: str | os.PathLike[str]) -> str:
    """Hex BLAKE3 digest of the file at ``path`` (memory-mapped, never loaded whole)."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return blake3.blake3().digest().hex()
    h = blake3.blake3(max_threads=blake3.blake3.AUTO if size >= THREADED_FROM else 1)
    h.update_mmap(str(path))
    return h.digest().hex()


# A file's times show a change only once the clock that stamps them has moved on: on a
# file system whose timestamps come from a coarse clock (a kernel tick, up to 10 ms on
# Linux without multigrain timestamps; whole seconds on FAT, HFS+, ext3 and some network
# shares), two same-size writes within one tick leave the same (size, mtime, ctime). So
# a stat proves a file unchanged only if its ctime was a tick old when the stat was
# taken (git's "racy clean" rule); a file changed more recently is checked by content.
RACY_NS = 10_000_000
RACY_COARSE_NS = 2_000_000_000  # timestamps in whole seconds (ns part 0): FAT's 2 s


def just_changed(ctime_ns: int) -> bool:
    """Whether a file whose ctime is ``ctime_ns`` changed within a timestamp tick of
    now (or, by a skewed clock, seems to change in the future): a same-size write now
    may keep its times."""
    window = RACY_COARSE_NS if ctime_ns % 1_000_000_000 == 0 else RACY_NS
    return abs(time.time_ns() - ctime_ns) < window


MISSING = "missing"  # the content hash of a file that is not there
_file_hashes: dict[tuple[str, int, int, int, int], str] = {}  # (path, size, mtime, ctime, inode)


def file_content_hash(path: str) -> str:
    """``hash_file`` of ``path``, kept per process by (path, size, mtime, ctime, inode):
    a file read by many steps, or checked by every run of a notebook, is hashed once
    while it is unchanged (the ctime: an mtime put back over new bytes, ``cp -p``, does
    not hide the change); not a file changed within a timestamp tick of now
    (``just_changed``), whose next same-size write may keep its times. ``missing`` when
    there is no file (or it vanished meanwhile)."""
    try:
        st = os.stat(path)
        if just_changed(st.st_ctime_ns):  # a write now may keep its times: not kept
            return hash_file(path)
        key = (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        hit = _file_hashes.get(key)
        if hit is None:
            if len(_file_hashes) > 100_000:
                _file_hashes.clear()
            hit = _file_hashes[key] = hash_file(path)
    except OSError:
        return MISSING
    return hit


def hash_buffers(*buffers: bytes | bytearray | memoryview) -> str:
    """Hex BLAKE3 digest of the concatenation of ``buffers``, on one thread (for a
    caller that hashes in a thread of its own while another does the writing)."""
    h = blake3.blake3()
    for b in buffers:
        h.update(b)
    return h.digest().hex()


def hash_chunks(chunks: Iterable[bytes]) -> str:
    """Hex BLAKE3 digest of a stream given as chunks."""
    h = blake3.blake3()
    for chunk in chunks:
        h.update(chunk)
    return h.digest().hex()


def hash_text(*parts: str) -> str:
    """Digest of text parts, separated unambiguously (for keys, not for content): each
    part's UTF-8 bytes after their length (8 bytes, little-endian). Called several times
    per step fingerprint, so built in one loop (about a third faster than two list
    comprehensions and ``hexdigest``, the same digest)."""
    out = []
    for p in parts:
        b = p.encode("utf-8", "surrogatepass")
        out.append(len(b).to_bytes(8, "little"))
        out.append(b)
    return digest(b"".join(out)).hex()


def is_digest(value: str) -> bool:
    """True when ``value`` is a full lowercase hex BLAKE3 digest (safe in a path)."""
    return len(value) == DIGEST_LEN and not value.strip(_HEX_CHARS)
