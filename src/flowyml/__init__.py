"""FlowyML: artifact-centric ML pipelines.

Write plain functions, say which named assets each one needs and produces, and FlowyML
infers the graph, stores every result once under its content hash, reuses work whose
inputs and effective code did not change, and records the lineage of every artifact.

Importing this package is cheap: databases, stores and data libraries are imported
only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.errors import (
    ArtifactNotFoundError,
    BuildError,
    CatalogError,
    ConfigError,
    CorruptArtifactError,
    CycleError,
    DuplicateOutputError,
    FlowymlError,
    MissingCodeError,
    MissingInputError,
    ParameterError,
    SchemaError,
    StepFailed,
    StoreError,
    TypeMismatchError,
    WorkerStateError,
)
from .core.refs import ArtifactRef, Lazy
from .core.step import RedefinedStepWarning, Step, step
from .pipeline import Pipeline
from .stack import Stack

if TYPE_CHECKING:
    from .artifact import Artifact
    from .catalog_api import Catalog
    from .core.datafile import DataFile
    from .core.fingerprint import FingerprintWarning
    from .executors.task import NoneOutputWarning, SharedValueWarning, UnseenInputWarning
    from .lineage import LineageNode, get_descendant_tree, get_descendants, get_lineage
    from .materializers import Materializer, register_materializer
    from .run import Run, StepResult

__version__ = "0.1.0"

_LAZY = {
    "Artifact": ("artifact", "Artifact"),
    "Catalog": ("catalog_api", "Catalog"),
    "DataFile": ("core.datafile", "DataFile"),
    "LineageNode": ("lineage", "LineageNode"),
    "get_lineage": ("lineage", "get_lineage"),
    "get_descendants": ("lineage", "get_descendants"),
    "get_descendant_tree": ("lineage", "get_descendant_tree"),
    "FingerprintWarning": ("core.fingerprint", "FingerprintWarning"),
    "NoneOutputWarning": ("executors.task", "NoneOutputWarning"),
    "SharedValueWarning": ("executors.task", "SharedValueWarning"),
    "UnseenInputWarning": ("executors.task", "UnseenInputWarning"),
    "Materializer": ("materializers", "Materializer"),
    "register_materializer": ("materializers", "register_materializer"),
    "Run": ("run", "Run"),
    "StepResult": ("run", "StepResult"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'flowyml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Artifact",
    "ArtifactNotFoundError",
    "ArtifactRef",
    "BuildError",
    "Catalog",
    "CatalogError",
    "ConfigError",
    "CorruptArtifactError",
    "CycleError",
    "DataFile",
    "DuplicateOutputError",
    "FingerprintWarning",
    "FlowymlError",
    "Lazy",
    "LineageNode",
    "Materializer",
    "MissingCodeError",
    "MissingInputError",
    "NoneOutputWarning",
    "ParameterError",
    "Pipeline",
    "RedefinedStepWarning",
    "Run",
    "SchemaError",
    "SharedValueWarning",
    "Stack",
    "Step",
    "StepFailed",
    "StepResult",
    "StoreError",
    "TypeMismatchError",
    "UnseenInputWarning",
    "WorkerStateError",
    "get_descendant_tree",
    "get_descendants",
    "get_lineage",
    "register_materializer",
    "step",
]
