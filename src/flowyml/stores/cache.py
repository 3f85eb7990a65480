"""The local cache: one content-addressed folder per machine, shared by every project.

Remote objects are fetched into it once and read (or memory-mapped) from there:

```
<cache dir>/ab/<digest>        a verified object (the name is its BLAKE3 hash)
<cache dir>/.tmp/w-<id>/        downloads and staged writes of one live process
<cache dir>/.locks/<digest>    one lock file per object being fetched
```

The default folder is ``<user cache dir>/flowyml/objects`` (platformdirs), overridden by
a stack's ``cache_dir`` or ``FLOWYML_CACHE_DIR``. A fetch downloads to ``.tmp``, checks
the hash, then links the file to its final name, so a reader never sees a partial or
unverified object; a lock per digest makes concurrent processes that need the same
object fetch it once (the lock only saves work: two fetches of one object would still
be safe). Each use touches the file, and when the folder grows past its size cap the
least recently used objects are deleted (never one used in the last two minutes).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..core.hashing import hash_file, is_digest
from .staging import StagingArea

DEFAULT_MAX_BYTES = 20 * 2**30
RECENT_SECONDS = 120.0  # automatic eviction never removes an object used this recently
SCAN_INTERVAL = 600.0  # seconds between automatic size checks (shared by all processes)
STALE_LOCK_SECONDS = 3600.0
LOCK_TIMEOUT = 3600.0



def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("flowyml", appauthor=False)) / "objects"


@dataclass
class PruneReport:
    removed: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    objects_left: int = 0
    bytes_left: int = 0
    stale_tmp: int = 0


@dataclass(frozen=True)
class CacheEntry:
    digest: str
    path: Path
    size: int
    last_used: float


class LocalCache:
    """A content-addressed folder of verified objects with a size cap."""

    def __init__(self, root: str | os.PathLike[str] | None = None, max_bytes: int | None = None) -> None:
        self.root = Path(root).expanduser().resolve() if root else default_cache_dir()
        self.max_bytes = DEFAULT_MAX_BYTES if max_bytes is None else int(max_bytes)
        self._made: set[str] = set()
        self._added = 0
        self._lock = threading.Lock()
        self._staging = StagingArea(self.root / ".tmp")

    def __repr__(self) -> str:
        return f"LocalCache({str(self.root)!r}, max_bytes={self.max_bytes})"

    # ------------------------------------------------------------ layout
    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def _dir(self, name: str) -> Path:
        d = self.root / name
        if name not in self._made:
            d.mkdir(parents=True, exist_ok=True)
            self._made.add(name)
        return d

    def tmp_dir(self) -> Path:
        """This process's staging folder (swept once its process is dead)."""
        return self._staging.folder()

    def new_tmp(self, suffix: str = ".part") -> Path:
        return self.tmp_dir() / f"{os.urandom(16).hex()}{suffix}"

    # ------------------------------------------------------------ reading
    def lookup(self, digest: str) -> Path | None:
        """The cached file for ``digest`` (touched as recently used), or None."""
        p = self.path(digest)
        try:
            os.utime(p)
        except FileNotFoundError:
            return None
        except OSError:
            if not p.is_file():
                return None
        return p

    def fetch(
        self,
        digest: str,
        download: Callable[[Path], None],
        on_mismatch: Callable[[str], Exception],
    ) -> tuple[Path, bool]:
        """The cached file for ``digest``, downloading it first when absent.

        ``download(tmp)`` writes the object's bytes to ``tmp``; they are hashed and
        ``on_mismatch(actual_hash)`` is raised when they are not ``digest``. Returns
        ``(path, fetched)``; ``fetched`` is False when the object was already here
        (perhaps fetched meanwhile by another process holding the lock).
        """
        hit = self.lookup(digest)
        if hit is not None:
            return hit, False
        from filelock import FileLock

        lock = FileLock(str(self._dir(".locks") / f"{digest}.lock"), timeout=LOCK_TIMEOUT)
        with lock:
            hit = self.lookup(digest)
            if hit is not None:
                return hit, False
            tmp = self.new_tmp()
            try:
                download(tmp)
                actual = hash_file(tmp)
                if actual != digest:
                    raise on_mismatch(actual)
                self._install(digest, tmp)
            finally:
                _unlink(tmp)
        self._grew(self.path(digest).stat().st_size)
        return self.path(digest), True

    # ------------------------------------------------------------ writing
    def adopt(self, digest: str, src: Path) -> Path:
        """Move ``src`` (whose bytes hash to ``digest``) into the cache; consumes it."""
        try:
            size = src.stat().st_size
            if self._install(digest, src):
                self._grew(size)
        finally:
            _unlink(src)
        return self.path(digest)

    def _install(self, digest: str, src: Path) -> bool:
        """Link ``src`` to the object's name; False when it was already there."""
        dest = self.path(digest)
        self._dir(digest[:2])
        try:
            os.link(src, dest)
        except FileExistsError:
            os.utime(dest)
            return False
        except OSError:  # a filesystem without hard links: rename (same bytes anyway)
            if dest.exists():
                return False
            os.replace(src, dest)
        return True

    def evict(self, digest: str) -> None:
        """Remove the local copy of ``digest`` (e.g. one that failed verification)."""
        _unlink(self.path(digest))

    # ------------------------------------------------------------ size
    def entries(self) -> Iterator[CacheEntry]:
        if not self.root.is_dir():
            return
        for shard in os.scandir(self.root):
            if len(shard.name) != 2 or not shard.is_dir():
                continue
            for e in os.scandir(shard.path):
                if not is_digest(e.name):
                    continue
                try:
                    st = e.stat()
                except FileNotFoundError:
                    continue
                yield CacheEntry(e.name, Path(e.path), st.st_size, max(st.st_atime, st.st_mtime))

    def usage(self) -> tuple[int, int]:
        """(objects, bytes) in the cache."""
        n = size = 0
        for e in self.entries():
            n += 1
            size += e.size
        return n, size

    def prune(self, max_bytes: int | None = None, keep_recent: float = 0.0) -> PruneReport:
        """Delete least recently used objects until the cache holds at most ``max_bytes``
        (default: its cap); objects used within ``keep_recent`` seconds are kept."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        report = PruneReport(stale_tmp=self.sweep_tmp())
        entries = sorted(self.entries(), key=lambda e: e.last_used)
        total = sum(e.size for e in entries)
        now = time.time()
        for e in entries:
            if total <= limit:
                break
            if now - e.last_used < keep_recent:
                continue
            _unlink(e.path)
            total -= e.size
            report.removed.append(e.digest)
            report.bytes_freed += e.size
        report.bytes_left = total
        report.objects_left = len(entries) - len(report.removed)
        return report

    def sweep_tmp(self) -> int:
        """Remove downloads and staged files of dead processes (and old lock files);
        returns how many staging folders were removed."""
        n = self._staging.sweep()
        locks = self.root / ".locks"
        if locks.is_dir():
            now = time.time()
            for e in os.scandir(locks):
                try:
                    if now - e.stat().st_mtime > STALE_LOCK_SECONDS:
                        os.unlink(e.path)
                except OSError:
                    continue
        return n

    def _grew(self, size: int) -> None:
        """Note ``size`` new bytes; now and then check the cap and evict (LRU)."""
        with self._lock:
            self._added += size
            due = self._added >= max(self.max_bytes // 20, 1)
            if not due:
                marker = self.root / ".last-size-check"
                try:
                    due = time.time() - marker.stat().st_mtime > SCAN_INTERVAL
                except FileNotFoundError:
                    due = True
            if not due:
                return
            self._added = 0
        marker = self.root / ".last-size-check"
        try:
            marker.touch()
        except OSError:
            pass  # only spaces out the scans: a read-only marker means scanning more often
        _, total = self.usage()
        if total > self.max_bytes:
            self.prune(int(self.max_bytes * 0.9), keep_recent=RECENT_SECONDS)


def _unlink(p: Path) -> None:
    try:
        os.unlink(p)
    except FileNotFoundError:
        pass  # already gone is what we wanted


_caches: dict[tuple[str, int], LocalCache] = {}
_caches_lock = threading.Lock()


def get_cache(root: str | os.PathLike[str] | None, max_bytes: int | None = None) -> LocalCache:
    """The process-wide ``LocalCache`` for ``root`` (shared by every store using it)."""
    path = Path(root).expanduser().resolve() if root else default_cache_dir()
    cap = DEFAULT_MAX_BYTES if max_bytes is None else int(max_bytes)
    with _caches_lock:
        hit = _caches.get((str(path), cap))
        if hit is None:
            hit = _caches[(str(path), cap)] = LocalCache(path, cap)
        return hit
