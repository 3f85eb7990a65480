"""Store maintenance: garbage collection of unreferenced objects."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .stack import Stack


@dataclass
class GcReport:
    deleted: list[str] = field(default_factory=list)
    bytes: int = 0
    kept_young: int = 0


def collect_garbage(stack: Stack, dry_run: bool = False, grace_seconds: float | None = None) -> GcReport:
    """Delete objects no artifact references and older than the grace period, so a
    writer that stored an object but has not recorded it yet never loses it."""
    store = stack.open_store()
    catalog = stack.open_catalog()
    grace = stack.gc_grace_seconds if grace_seconds is None else grace_seconds
    grace = 0.0 if grace is None else grace
    # list first, then read references: an object written after the listing is not
    # considered, and one referenced after the listing is young (grace protects it)
    objects = list(store.iter_objects())
    referenced = catalog.referenced_hashes()
    now = time.time()
    report = GcReport()
    for obj in objects:
        if obj.digest in referenced:
            continue
        if now - obj.mtime < grace:
            report.kept_young += 1
            continue
        report.deleted.append(obj.digest)
        report.bytes += obj.size
        if not dry_run:
            store.delete(obj.digest)
    return report


@dataclass
class VerifyReport:
    checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # referenced by the catalog, not stored

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.missing


def verify_store(stack: Stack) -> VerifyReport:
    """Rehash every object of the store (a remote object is fetched anew, never trusted
    from the local cache) and check that every object the catalog references exists."""
    from .hashing import hash_file

    store = stack.open_store()
    catalog = stack.open_catalog()
    report = VerifyReport()
    present = set()
    for obj in store.iter_objects():
        present.add(obj.digest)
        store.evict_local(obj.digest)  # remote: force a fresh copy; local: no-op
        try:
            actual = hash_file(store.local_path(obj.digest))
        except FileNotFoundError:
            continue  # deleted while we listed
        report.checked += 1
        if actual != obj.digest:
            report.corrupt.append(obj.digest)
            store.evict_local(obj.digest)  # never leave a bad copy in the local cache
    report.missing = sorted(catalog.referenced_hashes() - present)
    return report
