"""Smoke tests: each loopback server works through the client libraries FlowyML uses."""

from __future__ import annotations

import socket
import uuid

import pytest

from .servers import SeaweedFSServer, start_fake_gcs

# Redundant once tests/conftest.py registers the plugin; lets this file run alone.
pytest_plugins = ["tests.fixtures_servers"]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------- S3 (SeaweedFS)


def test_s3_write_read_list(s3_server: SeaweedFSServer) -> None:
    import s3fs

    bucket = _name("bkt")
    s3_server.make_bucket(bucket)
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3_server.storage_options())
    fs.pipe(f"{bucket}/dir/hello.txt", b"hello s3")
    assert fs.cat(f"{bucket}/dir/hello.txt") == b"hello s3"
    assert fs.ls(f"{bucket}/dir", detail=False) == [f"{bucket}/dir/hello.txt"]
    assert bucket in fs.ls("", detail=False)


def test_s3_wrong_credentials_rejected(s3_server: SeaweedFSServer) -> None:
    import s3fs

    bucket = _name("bkt")
    s3_server.make_bucket(bucket)
    opts = s3_server.storage_options()
    bad = s3fs.S3FileSystem(skip_instance_cache=True, **{**opts, "secret": "wrong-secret"})
    with pytest.raises(PermissionError):
        bad.pipe(f"{bucket}/x.txt", b"nope")
    unknown = s3fs.S3FileSystem(skip_instance_cache=True, **{**opts, "key": "unknown-key"})
    with pytest.raises(PermissionError):
        unknown.ls(bucket)
    anon = s3fs.S3FileSystem(
        skip_instance_cache=True, anon=True, client_kwargs=opts["client_kwargs"]
    )
    with pytest.raises(PermissionError):
        anon.pipe(f"{bucket}/x.txt", b"nope")


def test_s3_missing_bucket_is_error(s3_server: SeaweedFSServer) -> None:
    import s3fs

    missing = _name("missing")
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3_server.storage_options())
    with pytest.raises(FileNotFoundError):
        fs.pipe(f"{missing}/key.txt", b"data")
    assert missing not in fs.ls("", detail=False, refresh=True)


# ------------------------------------------------------------ GCS (fake-gcs-server)


def test_gcs_write_read(gcs_server) -> None:
    import gcsfs

    bucket = _name("bkt")
    gcs_server.make_bucket(bucket)
    fs = gcsfs.GCSFileSystem(skip_instance_cache=True, **gcs_server.storage_options())
    fs.pipe(f"{bucket}/dir/hello.txt", b"hello gcs")
    assert fs.cat(f"{bucket}/dir/hello.txt") == b"hello gcs"
    assert fs.ls(f"{bucket}/dir", detail=False) == [f"{bucket}/dir/hello.txt"]


# ---------------------------------------------------------------- Azure (Azurite)


def test_azure_write_read(azure_server) -> None:
    import adlfs

    container = _name("ctr")
    azure_server.make_container(container)
    fs = adlfs.AzureBlobFileSystem(skip_instance_cache=True, **azure_server.storage_options())
    fs.pipe(f"{container}/dir/hello.txt", b"hello azure")
    assert fs.cat(f"{container}/dir/hello.txt") == b"hello azure"
    assert fs.ls(f"{container}/dir", detail=False) == [f"{container}/dir/hello.txt"]


# ------------------------------------------------------------------- PostgreSQL


def test_postgres_sqlalchemy_psycopg(postgres_server) -> None:
    import sqlalchemy as sa

    url = postgres_server.create_database(_name("db").replace("-", "_"))
    assert url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        runs = sa.Table(
            "runs",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(50), nullable=False),
        )
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(runs.insert().values(name="smoke"))
        with engine.connect() as conn:
            assert conn.execute(sa.select(runs.c.name)).scalars().all() == ["smoke"]
            assert conn.dialect.driver == "psycopg"
    finally:
        engine.dispose()
    # The default database from the handle's .url works too.
    engine = sa.create_engine(postgres_server.url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_user")).scalar() == "flowyml"
    finally:
        engine.dispose()


# --------------------------------------------------------------------- lifecycle


def test_stop_leaves_nothing_running(tmp_path) -> None:
    server = start_fake_gcs(tmp_path)
    port = int(server.endpoint_url.rsplit(":", 1)[1])
    pid = server.pid
    server.stop()
    assert not server.alive()
    with pytest.raises(ProcessLookupError):
        import os

        os.killpg(pid, 0)
    with socket.socket() as s, pytest.raises(OSError):
        s.connect(("127.0.0.1", port))
