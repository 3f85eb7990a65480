"""Which catalogs write objects to a store: one small marker per catalog.

gc deletes the objects its catalog does not reference. That is only safe when its
catalog is the only one whose artifacts live in the store: two projects that name the
same bucket and each keep a SQLite catalog of their own would otherwise delete each
other's objects. So a store names the catalogs that write to it, at
``<store>/catalogs/<catalog id>`` (the id lives in the catalog's ``flowyml_meta``), and
gc refuses to delete anything while the store names a catalog other than its own.

A run registers its catalog before the first step it executes (so before any object of
it is written), with a create-if-absent put, once per process and store; a run that
reuses everything sends nothing. The marker holds where the catalog is (its URL with
any password masked, the host and project that registered it, when), for the message
that names it. Markers are never rewritten: the first registration of a catalog in a
store stays. ``flowyml gc --forget-catalog ID`` deletes one whose catalog is gone.

Nothing here knows a backend: the stores implement ``register_catalog``,
``registered_catalogs`` and ``forget_catalog`` (``base.ArtifactStore``) on bytes, and
this module says what the bytes mean.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import TYPE_CHECKING, Any

from ..core.struct import struct

if TYPE_CHECKING:
    from .base import ArtifactStore

CATALOGS_DIR = "catalogs"  # below the store root, beside ``objects``
_ID = re.compile(r"[0-9a-f]{16,64}")


def is_catalog_id(text: str) -> bool:
    """A catalog id: 16 to 64 lowercase hex digits (checked before it names a key)."""
    return bool(_ID.fullmatch(text))


def staged_name(catalog_id: str) -> str:
    """The name of a marker's staged copy: this thread's own (two runs of one catalog at
    once, in two processes or two threads of one, each stage, put and remove their own:
    one must not take the other's away, or truncate it, before it is put)."""
    import threading

    return f"catalog-{catalog_id}-{os.getpid()}-{threading.get_ident()}.part"


def marker_key(catalog_id: str) -> str:
    """The marker's path below the store root."""
    return f"{CATALOGS_DIR}/{catalog_id}"


@struct(frozen=True)
class Registration:
    """One catalog a store names: its id and where it was when it registered."""

    id: str
    catalog: str  # its URL, password masked ("" when the marker could not be read)
    host: str
    project: str
    since: float  # when it registered (0: unknown)

    def where(self) -> str:
        """``ID  URL (host H, project P, since T)`` for messages."""
        if not self.catalog:
            return f"{self.id}  (its marker cannot be read)"
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.since)) if self.since else "?"
        return (f"{self.id}  {self.catalog} (host {self.host or '?'}, project "
                f"{self.project or '?'}, since {when})")


def marker_bytes(catalog_url: str, project: str | None) -> bytes:
    """What a catalog's marker holds (``catalog_url`` is already masked)."""
    # (an encoder of its own: a user's script may have patched ``json.dumps``, and a
    # run must not call their function)
    return json.JSONEncoder(sort_keys=True).encode({
        "catalog": catalog_url, "host": _hostname(), "project": project or "",
        "since": time.time(),
    }).encode()


def _hostname() -> str:
    uname = getattr(os, "uname", None)  # (not ``socket``: a run does not load it)
    return str(uname().nodename) if uname is not None else os.environ.get("COMPUTERNAME", "")


def parse_marker(catalog_id: str, data: bytes) -> Registration:
    """The registration a marker describes; an unreadable one still names its id (it
    counts: gc cannot tell whose objects it protects)."""
    try:
        doc: Any = json.JSONDecoder().decode(data.decode())
        return Registration(catalog_id, str(doc["catalog"]), str(doc.get("host", "")),
                            str(doc.get("project", "")), float(doc.get("since") or 0))
    except (ValueError, TypeError, KeyError, AttributeError):
        return Registration(catalog_id, "", "", "", 0.0)


def register(store: ArtifactStore, catalog_id: str, catalog_url: str, project: str | None) -> bool:
    """Name the catalog in the store unless this process did already (the store keeps
    the memo); True when this call created the marker."""
    return store.register_catalog(catalog_id, marker_bytes(catalog_url, project))


def registered(store: ArtifactStore) -> list[Registration]:
    """The catalogs the store names, by id."""
    found = store.registered_catalogs()
    return [parse_marker(i, found[i]) for i in sorted(found)]
