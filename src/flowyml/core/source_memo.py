"""What a function's source says, remembered across processes.

Fingerprinting parses each step's source and walks its tree (~0.1 ms a function): the
same work in every process, for source that rarely changes. This memo keeps what the
walk found (the normalized-AST digest, the names the code reads, its imports, ...)
keyed by the source text itself, together with the Python version and a digest of the
code that does the walk. A changed function has another key, and no entry is found by
name or path (the file's path only says which group file holds it): the memo cannot be
stale, at worst it misses and the work is done again. What depends on more than the text (the globals the bytecode reads, values,
closures) is never memoized.

Entries are grouped in one small JSON file per source file (by its path: after an edit,
the functions of the file that did not change still hit; the group is only where
entries are kept, never part of what they say), under the user's cache folder
(``~/.cache/flowyml/fingerprints`` on Linux); ``FLOWYML_FINGERPRINT_MEMO`` names another
folder, or ``off``. Files are written atomically, a corrupt one counts as empty, a group
keeps the entries its last writer used plus at most ``KEEP_UNUSED`` others (the newest),
and files unused for ``KEEP_DAYS`` days are removed when new ones are written (at most
once a day). A group is rewritten whole, so a big one (over ``WRITE_ALWAYS`` entries) is
written once its new entries are a tenth of it, and what is left at the process's exit:
a process building many pipelines from one big module, each adding a few functions, does
not rewrite it at every build (runs x module size).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .hashing import hash_text

KEEP_DAYS = 30
KEEP_UNUSED = 256  # entries of a group the writing process did not use (older versions)
WRITE_ALWAYS = 256  # a group up to this size is written at every flush that changed it
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
        self._used: dict[str, set[str]] = {}  # group -> keys this process read or wrote
        self._dirty: set[str] = set()
        self._new: dict[str, int] = {}  # group -> entries changed since it was written
        self._at_exit = False
        self._names: dict[str, str] = {}  # file name -> group
        self._pruned = False

    def _folder(self) -> Path | None:
        where = os.environ.get(_ENV, "")
        if where.lower() == "off":
            return None
        return Path(where) if where else _default_dir()

    def group(self, filename: str) -> str:
        """The group of a source file (by its name: entries are keyed by text)."""
        hit = self._names.get(filename)
        if hit is None:
            hit = self._names[filename] = hash_text(self._salt, filename)[:40]
        return hit

    def entry_key(self, variant: str, text: str) -> str:
        return hash_text(variant, text)[:32]

    def get(self, group: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            entries = self._groups.get(group)
            if entries is None:
                entries = self._groups[group] = self._read(group)
            facts = entries.get(key)
            if facts is not None:
                self._used.setdefault(group, set()).add(key)
            return facts

    def put(self, group: str, key: str, facts: dict[str, Any]) -> None:
        with self._lock:
            entries = self._groups.setdefault(group, {})
            self._used.setdefault(group, set()).add(key)
            if entries.get(key) != facts:
                entries.pop(key, None)  # (re)inserted last: the newest
                entries[key] = facts
                self._dirty.add(group)
                self._new[group] = self._new.get(group, 0) + 1

    def flush(self, final: bool = False) -> None:
        """Write the groups that gained entries (best effort: a read-only or full disk
        only means the work is done again next time). A big group with few new entries
        waits (``WRITE_ALWAYS``), for a later flush or the process's exit (``final``)."""
        with self._lock:
            dirty = {g for g in self._dirty if final or self._due(g)}
            self._dirty -= dirty
            if self._dirty and not self._at_exit:
                self._at_exit = True
                atexit.register(self.flush, True)
            folder = self._folder()
            if folder is None or not dirty:
                return
            for group in dirty:
                self._new.pop(group, None)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                for group in dirty:
                    tmp = folder / f".{group}.{os.getpid()}.{threading.get_ident()}.tmp"
                    kept = self._bounded(group)
                    # (facts are trees of fresh lists and dicts: no cycle to look for)
                    tmp.write_text(json.dumps(kept, separators=(",", ":"), check_circular=False))
                    os.replace(tmp, folder / f"{group}.json")
                if not self._pruned:
                    self._pruned = True
                    _prune(folder)
            except OSError:
                return

    def _due(self, group: str) -> bool:
        size = len(self._groups.get(group, ()))
        return size <= WRITE_ALWAYS or self._new.get(group, 0) * 10 >= size

    def _bounded(self, group: str) -> dict[str, Any]:
        """What to write of ``group``: the entries this process used, and the newest
        ``KEEP_UNUSED`` others (the versions of functions edited since)."""
        entries = self._groups[group]
        used = self._used.get(group, set())
        if len(used) >= len(entries):  # every entry used (a first run): all of them, as they are
            return entries
        others = [k for k in entries if k not in used][-KEEP_UNUSED:] if KEEP_UNUSED else []
        keep = used.union(others)
        return {k: v for k, v in entries.items() if k in keep}

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
