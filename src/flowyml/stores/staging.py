"""Per-process staging folders whose leftovers are swept once their owner is dead.

A writer stages new objects in ``<tmp>/w-<id>/`` and holds an exclusive ``flock`` on
``<tmp>/w-<id>/.lock`` for as long as its process lives. The kernel releases that lock
when the process dies, however it dies (SIGKILL included), so a later ``sweep`` can tell
an abandoned folder (lock free) from one in use (lock held) without timeouts or pids.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

_lock = threading.Lock()


class StagingArea:
    def __init__(self, tmp_root: Path) -> None:
        self.tmp_root = tmp_root
        self._dir: Path | None = None
        self._fd: int | None = None
        self._pid = 0

    def folder(self) -> Path:
        """This process's staging folder (created, locked and the area swept on first use)."""
        if self._dir is not None and self._pid == os.getpid():
            return self._dir
        with _lock:
            if self._dir is None or self._pid != os.getpid():
                self.tmp_root.mkdir(parents=True, exist_ok=True)
                self.sweep()
                name = os.urandom(8).hex()
                # lock first, under a name sweepers leave alone, then publish the folder:
                # a sweeper can never take the lock of a folder that is being set up
                init = self.tmp_root / f"{_INIT}{name}"
                init.mkdir()
                fd = os.open(init / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
                import fcntl  # here: a run that writes nothing never needs it

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                d = self.tmp_root / f"w-{name}"
                os.rename(init, d)
                self._dir, self._fd, self._pid = d, fd, os.getpid()
        return self._dir

    def sweep(self) -> int:
        """Remove staging folders (and stray files) of dead writers; returns how many."""
        removed = 0
        try:
            entries = list(os.scandir(self.tmp_root))
        except FileNotFoundError:
            return 0
        for entry in entries:
            path = Path(entry.path)
            if self._dir is not None and path == self._dir:
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name.startswith(_INIT):
                    if _young(path):
                        continue  # being set up right now
                elif _owner_alive(path):
                    continue
                import shutil

                shutil.rmtree(path, ignore_errors=True)
                removed += 1
            else:  # a loose staged file from an older layout or a crashed tool
                try:
                    os.unlink(path)
                    removed += 1
                except FileNotFoundError:  # another sweeper took it first
                    pass
        return removed


_INIT = ".init-"


def _young(folder: Path) -> bool:
    try:
        return time.time() - folder.stat().st_mtime < 60
    except FileNotFoundError:
        return True


def _owner_alive(folder: Path) -> bool:
    try:
        fd = os.open(folder / ".lock", os.O_RDWR)
    except FileNotFoundError:
        return _young(folder)  # abandoned before it was locked: only an old one goes
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the probe's lock, if it got it
    return False
