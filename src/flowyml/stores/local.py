"""A store in a local folder: objects are hard-linked into place (never replaced)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.errors import StoreError
from ..core.hashing import hash_file, is_digest
from ..core.iostats import IOStats
from .base import INLINE_MAX, ObjectInfo, object_key
from .staging import StagingArea


class LocalStore:
    """``<root>/objects/ab/<digest>``, staged in ``<root>/tmp``.

    ``put_file`` links the staged file to its final name: ``link`` fails if the name
    exists, so an object is created once and never replaced, and a reader never sees a
    partial file (the staged file is complete before it gets its name).
    """

    def __init__(
        self, root: str | os.PathLike[str], allow_pickle: bool = True, stack_name: str = "default"
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)
        self.stack_name = stack_name
        self.allow_pickle = allow_pickle
        self.inline_max = INLINE_MAX
        self._made: set[str] = set()
        self._registered: set[str] = set()  # catalog ids this process named in the store
        self.stats = IOStats()
        self._staging = StagingArea(self.root / "tmp")

    def __repr__(self) -> str:
        return f"LocalStore({self.uri!r})"

    def _path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise StoreError(f"invalid object digest {digest!r} for store {self.uri}")
        return self.root / object_key(digest)

    def staging_dir(self) -> Path:
        """This process's locked staging folder; leftovers of killed writers are swept
        the first time a process stages anything."""
        return self._staging.folder()

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def put_file(self, digest: str, src: Path) -> bool:
        dest = self._path(digest)
        shard = dest.parent.name
        if shard not in self._made:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(shard)
        try:
            for _ in range(100):
                try:
                    os.link(src, dest)
                except FileExistsError:
                    if hash_file(dest) != digest and hash_file(src) == digest:
                        # the stored copy was damaged behind our back and ``src`` holds
                        # the right bytes: putting them in place repairs the object.
                        # Wrong bytes never replace anything.
                        os.replace(src, dest)
                        return False
                    if self._touch(dest):  # refresh its age, so gc keeps it for us
                        return False
                    continue  # gc deleted it between our link and our touch: link again
                self.stats.add(store_bytes_written=dest.stat().st_size, store_objects_written=1)
                return True
            raise StoreError(f"cannot write object {digest} to {self.uri}: it keeps vanishing")
        except OSError as exc:
            if not dest.exists():
                raise StoreError(f"cannot write object {digest} to {self.uri}: {exc}") from exc
            return False
        finally:
            try:
                os.unlink(src)
            except FileNotFoundError:
                pass  # the repair moved it into place: nothing is left to clean up

    def refresh(self, digest: str) -> bool:
        """True when the object exists intact; its age is refreshed (gc grace) as a write
        would. Meant for small objects: the existing copy is rehashed."""
        path = self._path(digest)
        try:
            if hash_file(path) != digest:
                return False  # damaged: let the caller write (and so repair) it
        except FileNotFoundError:
            return False
        return self._touch(path)

    def local_path(self, digest: str) -> Path:
        path = self._path(digest)
        if not path.is_file():
            from ..core.errors import ArtifactNotFoundError

            raise ArtifactNotFoundError(
                f"object {digest} is missing from store {self.uri} of stack "
                f"{self.stack_name!r}; it was deleted outside "
                "FlowyML. Re-run the producing step with force=True (or `flowyml run "
                "--force`) to recreate it"
            )
        self.stats.add(store_bytes_read=path.stat().st_size, store_objects_read=1)
        return path

    def mtime(self, digest: str) -> float:
        """The object's modification time; ``FileNotFoundError`` when it is not stored."""
        return self._path(digest).stat().st_mtime

    # gc and writers that re-adopt an existing object meet on one lock file: a writer
    # refreshes an object's age under a shared lock, gc re-checks the age and deletes
    # under an exclusive one, so a refresh can never fall between gc's check and delete.
    def _gc_lock(self, exclusive: bool) -> _FileLock:
        self.root.mkdir(parents=True, exist_ok=True)  # a store never written to has none
        return _FileLock(self.root / "gc.lock", exclusive)

    def _touch(self, path: Path) -> bool:
        """Refresh the object's age; False when it is gone."""
        with self._gc_lock(exclusive=False):
            try:
                os.utime(path)
            except FileNotFoundError:
                return False
            except OSError:
                return path.is_file()
        return True

    def delete_if_older(self, digest: str, cutoff: float) -> bool:
        """Delete the object if its age is still before ``cutoff`` (gc's safe delete,
        under the exclusive lock a refreshing writer waits for). True when it is gone."""
        path = self._path(digest)
        with self._gc_lock(exclusive=True):
            try:
                if path.stat().st_mtime >= cutoff:
                    return False
                path.unlink()
            except FileNotFoundError:
                return True  # deleted meanwhile (by another gc): gone all the same
        return True

    def evict_local(self, digest: str) -> None:
        self._path(digest)  # validates the digest, as every method does
        return None  # the store is the only copy: nothing to forget

    def delete(self, digest: str) -> None:
        try:
            self._path(digest).unlink()
        except FileNotFoundError:
            pass  # deleting an absent object is a no-op by contract

    def iter_objects(self) -> Iterator[ObjectInfo]:
        base = self.root / "objects"
        if not base.is_dir():
            return
        for shard in sorted(base.iterdir()):
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard):
                # an object is a file in its own shard: a folder or a stray copy under
                # its name is not one (verify reports the object missing; gc leaves it)
                if is_digest(entry.name) and entry.name[:2] == shard.name and entry.is_file():
                    st = entry.stat()
                    yield ObjectInfo(entry.name, st.st_size, st.st_mtime)

    # catalogs that write here (``stores/catalogs.py``)
    def _marker(self, catalog_id: str) -> Path:
        from .catalogs import is_catalog_id, marker_key

        if not is_catalog_id(catalog_id):
            raise StoreError(f"invalid catalog id {catalog_id!r} for store {self.uri}")
        return self.root / marker_key(catalog_id)

    def register_catalog(self, catalog_id: str, marker: bytes) -> bool:
        """Link a staged copy of ``marker`` into place: whole or absent, never replaced."""
        dest = self._marker(catalog_id)
        if catalog_id in self._registered:
            return False
        from .catalogs import staged_name

        staged = self.staging_dir() / staged_name(catalog_id)
        try:
            staged.write_bytes(marker)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(staged, dest)
            created = True
        except FileExistsError:
            created = False
        except OSError as exc:
            raise StoreError(f"cannot name catalog {catalog_id} in store {self.uri}: {exc}") from exc
        finally:
            staged.unlink(missing_ok=True)
        self._registered.add(catalog_id)
        return created

    def registered_catalogs(self) -> dict[str, bytes]:
        from .catalogs import CATALOGS_DIR, is_catalog_id

        found: dict[str, bytes] = {}
        folder = self.root / CATALOGS_DIR
        if not folder.is_dir():
            return found
        for entry in os.scandir(folder):
            if is_catalog_id(entry.name) and entry.is_file():
                try:
                    found[entry.name] = Path(entry.path).read_bytes()
                except FileNotFoundError:
                    continue  # forgotten since listing
                except OSError:
                    found[entry.name] = b""  # unreadable: it still names a catalog
        return found

    def forget_catalog(self, catalog_id: str) -> bool:
        path = self._marker(catalog_id)
        self._registered.discard(catalog_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "local",
            "uri": self.uri,
            "endpoint": None,
            "storage_options": {},
            "cache_dir": None,  # the store is its own local copy
        }


class _FileLock:
    """``flock`` on a file for the duration of a ``with`` block (released on death too)."""

    def __init__(self, path: Path, exclusive: bool) -> None:
        self.path = path
        self.exclusive = exclusive
        self.fd = -1

    def __enter__(self) -> _FileLock:
        import fcntl  # here: a run that writes nothing to the store never needs it

        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing releases the lock
