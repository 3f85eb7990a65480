"""Catalog backends, on the database drivers alone (no SQLAlchemy anywhere).

``base.py`` holds the two interfaces the rest of FlowyML uses (``RuntimeCatalog`` for
running and planning, ``CatalogReader`` for lineage, the CLI and the web page);
``sql.py`` implements both on SQLite and PostgreSQL, and inherits the writes of a
run from ``runtime_sql.py``; both speak plain SQL through ``dbapi.py`` (connections,
write transactions, conflict retries) and create or upgrade the schema with
``migrations.py``; ``liveness.py`` decides whether a run still marked running has a
live driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .records import ArtifactRecord, NewOutput, RunRecord, StepRecord

if TYPE_CHECKING:
    from .base import CatalogReader, RuntimeCatalog
    from .runtime_sql import RuntimeSqlCatalog
    from .sql import SqlCatalog


def __getattr__(name: str) -> Any:
    """The interfaces (``base.py``) load on first use: a run needs none of them."""
    if name in ("CatalogReader", "RuntimeCatalog"):
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_catalog(
    url: str, stack_name: str = "default", *, share: RuntimeSqlCatalog | None = None
) -> SqlCatalog:
    """The full catalog (``sql.py``). ``share``: a catalog already open on ``url``
    whose connections the full one uses too (one connection per thread, not two)."""
    from .sql import SqlCatalog

    return SqlCatalog(url, stack_name=stack_name, db=None if share is None else share.db)


def open_runtime_catalog(url: str, stack_name: str = "default") -> RuntimeSqlCatalog:
    """What a run needs of the catalog, on the database driver (``runtime_sql.py``)."""
    from .runtime_sql import RuntimeSqlCatalog

    return RuntimeSqlCatalog(url, stack_name=stack_name,
                             open_full=lambda: open_catalog(url, stack_name))


__all__ = [
    "ArtifactRecord",
    "CatalogReader",
    "NewOutput",
    "RunRecord",
    "RuntimeCatalog",
    "StepRecord",
    "open_catalog",
    "open_runtime_catalog",
]
