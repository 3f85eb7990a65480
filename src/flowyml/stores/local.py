"""A store in a local folder: objects are hard-linked into place (never replaced)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..errors import StoreError
from ..hashing import is_digest
from ..iostats import IOStats
from .base import ObjectInfo, object_key

STALE_TMP_SECONDS = 3600.0


class LocalStore:
    """``<root>/objects/ab/<digest>``, staged in ``<root>/tmp``.

    ``put_file`` links the staged file to its final name: ``link`` fails if the name
    exists, so an object is created once and never replaced, and a reader never sees a
    partial file (the staged file is complete before it gets its name).
    """

    def __init__(self, root: str | os.PathLike[str], allow_pickle: bool = True) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)
        self.allow_pickle = allow_pickle
        self._made: set[str] = set()
        self.stats = IOStats()

    def __repr__(self) -> str:
        return f"LocalStore({self.uri!r})"

    def _path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise StoreError(f"invalid object digest {digest!r} for store {self.uri}")
        return self.root / object_key(digest)

    def staging_dir(self) -> Path:
        tmp = self.root / "tmp"
        if "tmp" not in self._made:
            tmp.mkdir(parents=True, exist_ok=True)
            self._made.add("tmp")
        return tmp

    def new_staging_file(self) -> Path:
        return self.staging_dir() / f"{uuid.uuid4().hex}.part"

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def put_file(self, digest: str, src: Path) -> bool:
        dest = self._path(digest)
        shard = dest.parent.name
        if shard not in self._made:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(shard)
        try:
            os.link(src, dest)
            created = True
            self.stats.add(store_bytes_written=dest.stat().st_size, store_objects_written=1)
        except FileExistsError:
            created = False
            _touch(dest)  # a writer that finds its object refreshes its age (gc grace)
        except OSError as exc:
            if not dest.exists():
                raise StoreError(f"cannot write object {digest} to {self.uri}: {exc}") from exc
            created = False
        finally:
            try:
                os.unlink(src)
            except FileNotFoundError:
                pass
        return created

    def local_path(self, digest: str) -> Path:
        path = self._path(digest)
        if not path.is_file():
            from ..errors import ArtifactNotFoundError

            raise ArtifactNotFoundError(
                f"object {digest} is missing from store {self.uri}; it was deleted outside "
                "FlowyML. Re-run the producing step with force=True (or `flowyml run "
                "--force`) to recreate it"
            )
        self.stats.add(store_bytes_read=path.stat().st_size, store_objects_read=1)
        return path

    def evict_local(self, digest: str) -> None:
        return None

    def delete(self, digest: str) -> None:
        try:
            self._path(digest).unlink()
        except FileNotFoundError:
            pass

    def iter_objects(self) -> Iterator[ObjectInfo]:
        base = self.root / "objects"
        if not base.is_dir():
            return
        for shard in sorted(base.iterdir()):
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard):
                if is_digest(entry.name):
                    st = entry.stat()
                    yield ObjectInfo(entry.name, st.st_size, st.st_mtime)

    def sweep_staging(self, older_than: float = STALE_TMP_SECONDS) -> int:
        """Remove staged files left by killed writers; returns how many."""
        tmp = self.root / "tmp"
        if not tmp.is_dir():
            return 0
        now = time.time()
        n = 0
        for entry in os.scandir(tmp):
            try:
                if now - entry.stat().st_mtime > older_than:
                    os.unlink(entry.path)
                    n += 1
            except FileNotFoundError:
                continue
        return n


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass
