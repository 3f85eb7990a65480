"""Helpers and fixtures for the stack, store and catalog tests (real servers).

``StoreHarness`` wraps one store of each kind with raw access to its objects (to plant,
alter and delete bytes behind FlowyML's back), so one contract test class runs
unchanged against a local folder, ``memory://``, S3 (SeaweedFS), GCS
(fake-gcs-server) and Azure (Azurite).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flowyml.stores import open_store
from flowyml.stores.base import object_key


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class StoreHarness:
    kind: str
    uri: str
    options: dict[str, Any]
    cache_dir: Path
    raw_write: Callable[[str, bytes], None]  # (object key below the root, bytes)
    raw_read: Callable[[str], bytes]
    raw_delete: Callable[[str], None]
    raw_keys: Callable[[], list[str]]
    stack_name: str = "contract"

    def open(self, cache_dir: Path | None = None) -> Any:
        return open_store(
            self.uri,
            self.options,
            allow_pickle=True,
            cache_dir=str(cache_dir or self.cache_dir),
            stack_name=self.stack_name,
        )

    def key(self, digest: str) -> str:
        return object_key(digest)


def _fsspec_harness(kind: str, uri: str, options: dict[str, Any], cache_dir: Path) -> StoreHarness:
    import fsspec

    fs, root = fsspec.core.url_to_fs(uri, skip_instance_cache=True, **options)
    root = root.rstrip("/")

    def keys() -> list[str]:
        try:
            return [p[len(root) + 1 :] for p in fs.find(root)]
        except FileNotFoundError:
            return []

    return StoreHarness(
        kind, uri, options, cache_dir,
        raw_write=lambda k, b: fs.pipe_file(f"{root}/{k}", b),
        raw_read=lambda k: fs.cat_file(f"{root}/{k}"),
        raw_delete=lambda k: fs.rm_file(f"{root}/{k}"),
        raw_keys=keys,
    )


def make_harness(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreHarness:
    cache_dir = tmp_path / "cache"
    if kind == "local":
        root = tmp_path / "store"

        def write(k: str, b: bytes) -> None:
            p = root / k
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b)

        return StoreHarness(
            kind, str(root), {}, cache_dir,
            raw_write=write,
            raw_read=lambda k: (root / k).read_bytes(),
            raw_delete=lambda k: (root / k).unlink(),
            raw_keys=lambda: sorted(
                str(p.relative_to(root)) for p in (root / "objects").rglob("*") if p.is_file()
            ) if (root / "objects").exists() else [],
        )
    if kind == "memory":
        return _fsspec_harness(kind, f"memory://{uniq('mem')}/prefix", {}, cache_dir)
    if kind == "s3":
        server = request.getfixturevalue("s3_server")
        bucket = uniq("bkt")
        server.make_bucket(bucket)
        return _fsspec_harness(kind, f"s3://{bucket}/team/prefix", server.storage_options(), cache_dir)
    if kind == "gcs":
        server = request.getfixturevalue("gcs_server")
        bucket = uniq("bkt")
        server.make_bucket(bucket)
        return _fsspec_harness(kind, f"gs://{bucket}/prefix", server.storage_options(), cache_dir)
    if kind == "azure":
        server = request.getfixturevalue("azure_server")
        container = uniq("ctr")
        server.make_container(container)
        return _fsspec_harness(kind, f"az://{container}/prefix", server.storage_options(), cache_dir)
    raise AssertionError(kind)


@pytest.fixture
def s3_bucket(s3_server: Any) -> str:
    """A fresh, empty bucket on the SeaweedFS server."""
    name = uniq("bkt")
    s3_server.make_bucket(name)
    return name


@pytest.fixture
def pg_url(postgres_server: Any) -> str:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL with psycopg 3)."""
    return str(postgres_server.create_database(uniq("db").replace("-", "_")))


def all_catalog_text(url: str) -> str:
    """Every value of every table of the catalog at ``url``, as one string."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        md = sa.MetaData()
        md.reflect(engine)
        parts: list[str] = []
        with engine.connect() as conn:
            for table in md.sorted_tables:
                for row in conn.execute(sa.select(table)):
                    parts.extend(str(v) for v in row)
        return "\n".join(parts)
    finally:
        engine.dispose()


def catalog_at_version(url: str, target: int) -> None:
    """Create the catalog at ``url`` at schema version ``target`` (as an older FlowyML
    left it), through the migrations themselves."""
    from flowyml.catalog import dbapi, migrations

    parsed = dbapi.parse_url(url)
    assert parsed is not None, url
    db = dbapi.Db(parsed[0], parsed[1], url, "old", set())
    try:
        db.write(lambda cur: migrations.upgrade(cur, url, target=target))
    finally:
        db.close()
