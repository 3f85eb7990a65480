"""Catalog backends. SQLAlchemy is imported only when a catalog is opened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .records import ArtifactRecord, NewOutput, RunRecord, StepRecord

if TYPE_CHECKING:
    from .sql import SqlCatalog


def open_catalog(url: str, stack_name: str = "default") -> SqlCatalog:
    from .sql import SqlCatalog

    return SqlCatalog(url, stack_name=stack_name)


__all__ = ["ArtifactRecord", "NewOutput", "RunRecord", "StepRecord", "open_catalog"]
