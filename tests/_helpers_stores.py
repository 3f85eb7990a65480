"""Helpers shared by the store, object-path, catalog and materializer tests: the files
under a folder, an S3 stack over the loopback server, a whole-project integrity check,
and bytes planted in a store with a catalog row naming them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flowyml.core.hashing import hash_bytes, hash_file
from flowyml.stack import Stack


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _s3_stack(project: Path, s3_server: Any, bucket: str, cache: str, **kw: Any) -> Stack:
    return Stack(
        name="team",
        store=f"s3://{bucket}/p",
        catalog=f"sqlite:///{project / '.flowyml' / 'catalog.db'}",
        storage_options=s3_server.storage_options(),
        cache_dir=str(project.parent / cache),
        **kw,
    ).resolve()


def _check_store_and_catalog(root: Path) -> tuple[int, int]:
    """Every object hashes to its name; every artifact row points at a whole object (in
    the store, or, for a tiny one, in the row itself)."""
    objects = {p.name: p for p in (root / ".flowyml" / "objects").rglob("*") if p.is_file()}
    for name, path in objects.items():
        assert hash_file(path) == name, f"object {name} is damaged"
    con = sqlite3.connect(root / ".flowyml" / "catalog.db")
    rows = con.execute("SELECT name, version, content_hash, data FROM artifacts").fetchall()
    for name, version, digest, data in rows:
        if data is not None:
            assert hash_bytes(data) == digest, f"{name}@{version}: its inline bytes are damaged"
            continue
        assert digest in objects, f"{name}@{version} points at missing object {digest}"
    versions = con.execute(
        "SELECT name, COUNT(*), MAX(version) FROM artifacts GROUP BY name"
    ).fetchall()
    for name, count, top in versions:
        assert count == top, f"versions of {name} are not 1..{count}"
    return len(objects), len(rows)


def plant(st: Stack, data: bytes, name: str, materializer: str, type_name: str = "x") -> str:
    """Bytes (hostile ones, for the tests) under their valid hash in ``st``'s store, and
    a catalog row naming them as artifact ``name`` of ``materializer``; their digest."""
    from flowyml.catalog.records import NewOutput, StepRecord, Write

    store = st.open_store()
    staged = store.staging_dir() / "planted.part"
    staged.write_bytes(data)
    digest = hash_bytes(data)
    store.put_file(digest, staged)
    rec = StepRecord(run_id="r-planted", pipeline="evil", step="evil", status="executed",
                     cache_key="0" * 64, reason="planted", code_version="x", started_at=0.0)
    out = NewOutput(name, digest, len(data), materializer, type_name)
    st.open_catalog().record_batch([Write("exec", rec, [out], {}, cache=False)])
    return digest
