"""``memory://``: fsspec's in-process filesystem, for tests and throw-away runs.

Its objects live in one dict shared by every ``MemoryFileSystem`` of the process, and
its ``put_file`` is not atomic against a concurrent existence check, so writes take one
process-wide lock. It raises only Python's own exceptions (``FileNotFoundError``), which
``adapter.classify_error`` maps already: ``classify`` adds nothing.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from .adapter import Adapter

_WRITE_LOCK = threading.Lock()  # module level: adapters are pickled, locks cannot be


class MemoryAdapter(Adapter):
    name = "memory"
    noun = None  # no buckets: any path is fine
    default_options: ClassVar[dict[str, Any]] = {"skip_instance_cache": True}

    def root(self, uri: str, fs_class: Any) -> str:
        return "/" + uri.split("://", 1)[1].strip("/")

    def upload(self, fs: Any, src: Path, key: str, *, create: bool) -> bool:
        with _WRITE_LOCK:
            if create and fs.exists(key):
                return False
            fs.put_file(str(src), key)
            return True

    def touch(self, fs: Any, key: str) -> None:
        entry = fs.store.get(fs._strip_protocol(key))
        if entry is None:
            raise FileNotFoundError(key)
        entry.created = datetime.now(tz=timezone.utc)

    def stored_md5(self, fs: Any, key: str, info: dict[str, Any]) -> str | None:
        """Computed from the bytes, which are in this process anyway."""
        try:
            data = fs.cat_file(key)
        except FileNotFoundError:
            return None
        return hashlib.md5(data, usedforsecurity=False).hexdigest()
