"""Pytest plugin: session-scoped real servers on loopback (see tests/servers.py).

Enable it from the top-level ``tests/conftest.py`` with::

    pytest_plugins = ["tests.fixtures_servers"]

Each fixture starts its server lazily, once per test session, and stops it at
session end. A missing binary makes the fixture FAIL (never skip) with a
message saying what to install.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

# gcsfs reads this once at import time; it must be "false" before any test
# module imports gcsfs, or every fake-gcs bucket access stalls for ~60s.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

from .servers import (
    AzuriteServer,
    GCSServer,
    PostgresServer,
    SeaweedFSServer,
    ServerNotInstalled,
    start_azurite,
    start_fake_gcs,
    start_postgres,
    start_seaweedfs,
)

H = TypeVar("H", SeaweedFSServer, GCSServer, AzuriteServer, PostgresServer)


def _serve(
    tmp_path_factory: pytest.TempPathFactory, name: str, start: Callable[..., H]
) -> Iterator[H]:
    tmpdir = tmp_path_factory.mktemp(name)
    try:
        handle = start(tmpdir)
    except ServerNotInstalled as exc:
        missing = str(exc)
    else:
        missing = None
    if missing is not None:  # outside `except`: no chained traceback noise
        pytest.fail(f"{name} server unavailable: {missing}", pytrace=False)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFSServer]:
    """SeaweedFS S3 gateway: ``.endpoint_url``, ``.storage_options()``, ``.make_bucket()``."""
    yield from _serve(tmp_path_factory, "s3", start_seaweedfs)


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GCSServer]:
    """fake-gcs-server: ``.endpoint_url``, ``.storage_options()``, ``.make_bucket()``."""
    yield from _serve(tmp_path_factory, "gcs", start_fake_gcs)


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """Azurite blob: ``.connection_string``, ``.storage_options()``, ``.make_container()``."""
    yield from _serve(tmp_path_factory, "azure", start_azurite)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """PostgreSQL: ``.url`` (SQLAlchemy, psycopg 3), ``.create_database(name) -> url``."""
    yield from _serve(tmp_path_factory, "postgres", start_postgres)
