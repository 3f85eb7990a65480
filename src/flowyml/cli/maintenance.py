"""Store maintenance: garbage collection of unreferenced objects, verification of the
store and of the catalog's lineage, and the lines ``flowyml prune`` prints."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..retention import PruneReport
    from ..stack import Stack
    from ..stores.base import ArtifactStore


@dataclass
class GcReport:
    deleted: list[str] = field(default_factory=list)
    bytes: int = 0
    kept_young: int = 0


def collect_garbage(stack: Stack, dry_run: bool = False, grace_seconds: float | None = None) -> GcReport:
    """Delete objects that no artifact references, safely while writers run.

    A writer stores its objects first and records them afterwards, so an object can be
    unreferenced only because its writer has not recorded it *yet*. gc therefore keeps
    every object newer than the cutoff ``min(now - grace, start of the oldest live run)``:

    1. read the live runs (heartbeating drivers) -> cutoff;
    2. list the objects; 3. read the references; 4. delete unreferenced objects older
       than the cutoff, re-checking each one's age right before deleting it.

    An object older than the cutoff was written before every live run started, so its
    writer has finished (its references, if any, were committed before step 1) or died
    (the object is garbage). A writer that reuses an existing object refreshes its age
    first, which puts it past the cutoff. This holds with a zero grace period.
    """
    store = stack.open_store()
    catalog = stack.open_catalog()
    grace = stack.gc_grace_seconds if grace_seconds is None else grace_seconds
    grace = 0.0 if grace is None else grace
    if grace < 0:  # a cutoff in the future would take objects a run is writing right now
        from ..core.errors import ConfigError

        raise ConfigError(f"the gc grace period must be 0 seconds or more, got {grace:g}: "
                          "objects younger than it are kept (pass --grace 0 to keep none)")
    now = time.time()
    cutoff = min([now - grace, *catalog.live_run_starts()]) - CLOCK_MARGIN_SECONDS
    objects = list(store.iter_objects())
    referenced = catalog.referenced_hashes()
    report = GcReport()
    for obj in objects:
        if obj.digest in referenced:
            continue
        if obj.mtime >= cutoff or _age_now(store, obj.digest, obj.mtime) >= cutoff:
            report.kept_young += 1
            continue
        if not dry_run and not store.delete_if_older(obj.digest, cutoff):
            report.kept_young += 1  # refreshed by a writer just now
            continue
        report.deleted.append(obj.digest)
        report.bytes += obj.size
    return report


# Object ages come from the store's clock, run starts from the drivers': a small margin
# keeps a writer whose clock runs a little ahead safe.
CLOCK_MARGIN_SECONDS = 2.0


def _age_now(store: ArtifactStore, digest: str, listed_mtime: float) -> float:
    """The object's modification time now (a writer may have refreshed it since listing)."""
    try:
        return float(store.mtime(digest))
    except OSError:  # gone since listing (FileNotFoundError) or unreadable: the listed age
        return listed_mtime


@dataclass
class VerifyReport:
    checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # referenced by the catalog, not stored
    broken: list[str] = field(default_factory=list)  # lineage references to missing rows

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.missing and not self.broken


def verify_store(stack: Stack) -> VerifyReport:
    """Rehash every object of the store (a remote object is fetched anew, never trusted
    from the local cache) and every tiny object the catalog keeps in its rows, check
    that every object the catalog references exists, and that lineage is whole: every edge and use names an artifact and a run that exist
    (``RetentionCatalog.lineage_gaps``)."""
    from ..core.errors import ArtifactNotFoundError, CorruptArtifactError
    from ..core.hashing import hash_bytes, hash_file

    store = stack.open_store()
    catalog = stack.open_catalog()
    report = VerifyReport()
    present = set()  # objects whose bytes were read: a referenced one that is not, is missing
    for obj in store.iter_objects():
        store.evict_local(obj.digest)  # remote: force a fresh copy; local: no-op
        try:
            actual = hash_file(store.local_path(obj.digest))
        except (FileNotFoundError, ArtifactNotFoundError):
            continue  # gone since listing, or no object file to read (a folder, a link to nothing)
        except (CorruptArtifactError, OSError):  # a remote store verifies as it fetches;
            actual = ""  # a file that cannot be read (permissions) gives no bytes either
        present.add(obj.digest)
        report.checked += 1
        if actual != obj.digest:
            report.corrupt.append(obj.digest)
            store.evict_local(obj.digest)  # never leave a bad copy in the local cache
    for _aid, digest, data in catalog.inline_objects():
        report.checked += 1
        if hash_bytes(data) != digest:
            report.corrupt.append(digest)
    report.missing = sorted(catalog.referenced_hashes() - present)
    report.broken = catalog.lineage_gaps()
    return report


def prune_lines(report: PruneReport, size: Callable[[int], str], when: Callable[[float], str]) -> list[str]:
    """What ``flowyml prune`` prints: each run and artifact version it deletes (or would),
    the runs kept outside the policy for lineage, and what ``gc`` can then free."""
    verb = "would delete" if report.dry_run else "deleted"
    lines = [f"  {verb} run {r.id}  {r.pipeline}  {r.status}  started {when(r.started_at)}"
             for r in report.runs]
    lines += [f"  {verb} {a.name}@{a.version}  {a.id}  {size(a.size)}" for a in report.artifacts]
    lines += [f"  kept run {r}: {why}" for r, why in sorted(report.kept_for_lineage.items())]
    if report.in_progress and report.dry_run:
        lines.append(f"  note: run(s) {', '.join(report.in_progress)} in progress: prune will "
                     "wait for them before deleting")
    lines.append(
        f"{verb} {len(report.runs)} run(s) and {len(report.artifacts)} artifact version(s); "
        f"kept {report.kept_runs} run(s) and {report.kept_artifacts} artifact version(s). "
        f"`flowyml gc` will then reclaim {report.reclaim_objects} object(s), "
        f"{size(report.reclaim_bytes)} (objects younger than the grace period wait for a "
        "later gc)"
    )
    return lines
