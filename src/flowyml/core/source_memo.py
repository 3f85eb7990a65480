"""What a function's source says, remembered across processes.

Fingerprinting parses each step's source and walks its tree (~0.1 ms a function): the
same work in every process, for source that rarely changes. This memo keeps what the
walk found (the normalized-AST digest, the names the code reads, its imports, ...)
keyed by the source text itself, together with the Python version and a digest of the
code that does the walk. A changed function has another key, and nothing is looked up
by name or path: the memo cannot be stale, at worst it misses and the work is done
again. What depends on more than the text (the globals the bytecode reads, values,
closures) is never memoized.

Entries are grouped in one small JSON file per source file's content, under the user's
cache folder (``~/.cache/flowyml/fingerprints`` on Linux); ``FLOWYML_FINGERPRINT_MEMO``
names another folder, or ``off``. Files are written atomically, a corrupt one counts
as empty, and files unused for ``KEEP_DAYS`` days are removed when new ones are
written (at most once a day).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .hashing import hash_text

KEEP_DAYS = 30
_ENV = "FLOWYML_FINGERPRINT_MEMO"


def _default_dir() -> Path:
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "flowyml" / "fingerprints"


class SourceMemo:
    """One process's view of the memo folder: groups are read on first use and
    written back by ``flush`` when they gained entries."""

    def __init__(self, salt: str) -> None:
        self._salt = salt
        self._lock = threading.Lock()
        self._groups: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()
        self._line_digests: dict[str, tuple[list[str], str]] = {}
        self._pruned = False

    def _folder(self) -> Path | None:
        where = os.environ.get(_ENV, "")
        if where.lower() == "off":
            return None
        return Path(where) if where else _default_dir()

    def group(self, filename: str, lines: list[str]) -> str:
        """The group of a source file's current lines (by content; cached per list)."""
        hit = self._line_digests.get(filename)
        if hit is not None and hit[0] is lines:
            return hit[1]
        digest = hash_text(self._salt, "".join(lines))[:40]
        self._line_digests[filename] = (lines, digest)  # keeps ``lines`` alive: ids stay
        return digest

    def entry_key(self, variant: str, text: str) -> str:
        return hash_text(variant, text)[:32]

    def get(self, group: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            entries = self._groups.get(group)
            if entries is None:
                entries = self._groups[group] = self._read(group)
            return entries.get(key)

    def put(self, group: str, key: str, facts: dict[str, Any]) -> None:
        with self._lock:
            entries = self._groups.setdefault(group, {})
            if entries.get(key) != facts:
                entries[key] = facts
                self._dirty.add(group)

    def flush(self) -> None:
        """Write the groups that gained entries (best effort: a read-only or full disk
        only means the work is done again next time)."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            folder = self._folder()
            if folder is None or not dirty:
                return
            try:
                folder.mkdir(parents=True, exist_ok=True)
                for group in dirty:
                    tmp = folder / f".{group}.{os.getpid()}.{threading.get_ident()}.tmp"
                    tmp.write_text(json.dumps(self._groups[group], separators=(",", ":")))
                    os.replace(tmp, folder / f"{group}.json")
                if not self._pruned:
                    self._pruned = True
                    _prune(folder)
            except OSError:
                return

    def _read(self, group: str) -> dict[str, Any]:
        folder = self._folder()
        if folder is None:
            return {}
        path = folder / f"{group}.json"
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return {}
        try:
            os.utime(path)  # in use: not pruned
        except OSError:
            pass
        return data if isinstance(data, dict) else {}


def _prune(folder: Path) -> None:
    """Remove groups unused for ``KEEP_DAYS`` days, and temporary files a killed
    process left (older than a day): at most once a day (the folder can hold thousands
    of groups, and listing them is the costliest part of a run's first write)."""
    now = time.time()
    mark = folder / ".pruned"
    try:
        if mark.stat().st_mtime > now - 86400:
            return
    except OSError:
        pass
    try:
        mark.touch()
    except OSError:
        return
    for pattern, age in (("*.json", KEEP_DAYS * 86400), (".*.tmp", 86400)):
        for path in folder.glob(pattern):
            try:
                if path.stat().st_mtime < now - age:
                    path.unlink()
            except OSError:
                continue
