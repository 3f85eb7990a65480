"""Catalog backends. SQLAlchemy is imported only when a catalog is opened.

``base.py`` holds the two interfaces the rest of FlowyML uses (``RuntimeCatalog`` for
running and planning, ``CatalogReader`` for lineage, the CLI and the web page);
``sql.py`` implements both on SQLite and PostgreSQL; ``liveness.py`` decides whether a
run still marked running has a live driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import CatalogReader, RuntimeCatalog
from .records import ArtifactRecord, NewOutput, RunRecord, StepRecord

if TYPE_CHECKING:
    from .sql import SqlCatalog


def open_catalog(url: str, stack_name: str = "default") -> SqlCatalog:
    from .sql import SqlCatalog

    return SqlCatalog(url, stack_name=stack_name)


__all__ = [
    "ArtifactRecord",
    "CatalogReader",
    "NewOutput",
    "RunRecord",
    "RuntimeCatalog",
    "StepRecord",
    "open_catalog",
]
