"""Store maintenance: garbage collection of unreferenced objects, verification of the
store and of the catalog's lineage, and the lines ``flowyml prune`` prints."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.errors import ConfigError

if TYPE_CHECKING:
    from ..retention import PruneReport
    from ..stack import Stack
    from ..stores.base import ArtifactStore
    from ..stores.catalogs import Registration


@dataclass
class GcReport:
    deleted: list[str] = field(default_factory=list)  # (with dry_run or others: would be)
    bytes: int = 0
    kept_young: int = 0
    others: list[Registration] = field(default_factory=list)  # other catalogs writing here
    forgotten: list[str] = field(default_factory=list)  # markers --forget-catalog removed
    first: bool = False  # this gc named the first catalog the store knows of


def collect_garbage(stack: Stack, dry_run: bool = False, grace_seconds: float | None = None,
                    forget: Sequence[str] = ()) -> GcReport:
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

    It holds for one catalog. A store other catalogs write to holds objects only they
    reference, so gc reads which catalogs the store names (``stores/catalogs.py``)
    after step 2 (a writer names its catalog before it writes) and, when it names any
    other than this one, deletes nothing: ``ConfigError`` naming them, or with
    ``dry_run`` the report's ``others``. ``forget`` drops the markers of catalogs gone
    for good first (their objects are then garbage like any other).
    """
    store = stack.open_store()
    catalog = stack.open_catalog()
    grace = _grace(stack, grace_seconds)
    report = GcReport()
    own = catalog.catalog_id()
    assert own is not None
    report.first = _name_own(store, own, catalog.display_url, stack.root)
    now = time.time()
    cutoff = min([now - grace, *catalog.live_run_starts()]) - CLOCK_MARGIN_SECONDS
    objects = list(store.iter_objects())
    referenced = catalog.referenced_hashes()
    report.others = _other_catalogs(store, own, forget)
    if report.others and not dry_run:
        raise ConfigError(shared_store_error(store.uri, stack.name, catalog.display_url, own,
                                             report.others))
    if not dry_run:
        report.forgotten = [i for i in forget if store.forget_catalog(i)]
    keep_all = dry_run or bool(report.others)
    for obj in objects:
        if obj.digest in referenced:
            continue
        if obj.mtime >= cutoff or _age_now(store, obj.digest, obj.mtime) >= cutoff:
            report.kept_young += 1
            continue
        if not keep_all and not store.delete_if_older(obj.digest, cutoff):
            report.kept_young += 1  # refreshed by a writer just now
            continue
        report.deleted.append(obj.digest)
        report.bytes += obj.size
    return report


def _grace(stack: Stack, grace_seconds: float | None) -> float:
    grace = stack.gc_grace_seconds if grace_seconds is None else grace_seconds
    grace = 0.0 if grace is None else grace
    if grace < 0:  # a cutoff in the future would take objects a run is writing right now
        raise ConfigError(f"the gc grace period must be 0 seconds or more, got {grace:g}: "
                          "objects younger than it are kept (pass --grace 0 to keep none)")
    return grace


def _name_own(store: ArtifactStore, own: str, url: str, root: str | None) -> bool:
    """Register gc's own catalog (a catalog that wrote here only before stores named
    their catalogs becomes known); True when the store named no catalog before."""
    from ..stores.catalogs import register

    return register(store, own, url, root) and set(store.registered_catalogs()) == {own}


def _other_catalogs(store: ArtifactStore, own: str, forget: Sequence[str]) -> list[Registration]:
    """The catalogs other than ``own`` the store names, less those to ``forget`` (each
    of which must be one of them: a mistyped id forgets nothing)."""
    from ..stores.catalogs import is_catalog_id, registered

    named = registered(store)
    ids = {r.id for r in named}
    for i in forget:
        if i == own:
            raise ConfigError(f"catalog {i} is the one gc runs with: it cannot forget itself")
        if not is_catalog_id(i) or i not in ids:
            listed = ", ".join(sorted(ids - {own})) or "none"
            raise ConfigError(f"store {store.uri} names no catalog {i!r} (other catalogs "
                              f"it names: {listed}); nothing was forgotten or deleted")
    return [r for r in named if r.id != own and r.id not in forget]


def shared_store_error(store_uri: str, stack_name: str | None, catalog_url: str, own: str,
                       others: Sequence[Registration]) -> str:
    """Why gc deletes nothing from a store other catalogs write to, and the fixes."""
    lines = "".join(f"\n  {r.where()}" for r in others)
    return (
        f"store {store_uri} of stack {stack_name or 'default'!r} is shared: besides this "
        f"catalog ({catalog_url}, id {own}), {len(others)} other catalog(s) write objects "
        f"to it:{lines}\n"
        "gc can only see what this catalog references, so it would delete the objects "
        "only they reference; it deleted nothing. Give every project that writes to this "
        "store one shared catalog (e.g. catalog = \"postgresql+psycopg://USER:${PGPASSWORD}"
        "@HOST/DB\" in each one's stack, or FLOWYML_CATALOG) and run gc with it, or give "
        "each project a store of its own (another prefix). If a catalog listed is gone for good (its "
        "project and database deleted, or replaced by the shared one), `flowyml gc "
        "--forget-catalog ID` forgets it: the objects only it referenced are then garbage"
    )


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
    others: list[Registration] = field(default_factory=list)  # other catalogs writing here

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.missing and not self.broken


def verify_store(stack: Stack) -> VerifyReport:
    """Rehash every object of the store (a remote object is fetched anew, never trusted
    from the local cache) and every tiny object the catalog keeps in its rows, check
    that every object the catalog references exists, and that lineage is whole: every
    edge and use names an artifact and a run that exist (``RetentionCatalog.lineage_gaps``).
    The other catalogs the store names are reported (``others``): whether the objects
    they reference exist, only they can tell."""
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
    report.others = _other_catalogs(store, catalog.catalog_id(create=False) or "", ())
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
