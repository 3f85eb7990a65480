"""The FlowyML exception tree.

```
FlowymlError
 +-- BuildError                  the pipeline is wrong; raised before anything runs
 |    +-- MissingInputError      a parameter resolves to nothing / a catalog ref does not resolve
 |    +-- DuplicateOutputError   two steps produce one asset
 |    +-- CycleError             the graph has a cycle
 |    +-- ParameterError         a run value no step takes, or a bad step declaration
 |    +-- TypeMismatchError      an input annotation contradicts the producer's return annotation
 |    +-- SchemaError            a column a consumer's schema reads is missing or of another dtype
 +-- StepFailed                  user code raised; the original exception is ``__cause__``
 +-- WorkerStateError            a step cannot run in a worker as in the driver (state, a value)
 +-- ArtifactNotFoundError       no such artifact / version / alias in the catalog
 +-- CorruptArtifactError        bytes read do not hash to the recorded content hash
 +-- MissingCodeError            intact bytes need a class or module this process lacks
 +-- StoreError                  the artifact store failed (I/O, credentials, missing object)
 +-- CatalogError                the catalog failed (connection, schema)
 +-- ConfigError                 a stack or setting is wrong
```

Every message names the thing (step, asset, URI) and, where there is one, the fix.
"""

from __future__ import annotations

from typing import Any


class FlowymlError(Exception):
    """Base class of every error FlowyML raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        """What IPython (a notebook) shows for this error instead of its traceback: the
        message says what is wrong and the fix, so FlowyML's own frames (30 lines of
        them for a typo'd input) are left out; the user's lines stay, and a failed
        step's own traceback (its ``__cause__``) too."""
        import traceback

        from .userframe import is_flowyml_file

        shown = traceback.TracebackException.from_exception(self)
        todo: list[Any] = [shown]
        while todo:
            te = todo.pop()
            te.stack = traceback.StackSummary.from_list(
                [f for f in te.stack if not is_flowyml_file(f.filename)])
            todo.extend(x for x in (te.__cause__, te.__context__) if x is not None)
        return "".join(shown.format()).rstrip("\n").split("\n")


class BuildError(FlowymlError):
    """The pipeline cannot be built; nothing has run and nothing was written."""


class MissingInputError(BuildError):
    """A step parameter resolves to no asset, run value or default."""


class DuplicateOutputError(BuildError):
    """Two steps of one pipeline produce the same asset."""


class CycleError(BuildError):
    """The inferred graph has a cycle."""


class ParameterError(BuildError):
    """A run value that no step takes, or an invalid step declaration."""


class TypeMismatchError(BuildError):
    """A consumer's annotation contradicts the producer's return annotation."""


class SchemaError(BuildError):
    """A consumer's declared schema reads a column that its producer's schema (or the
    schema recorded for a catalog input) does not have, or has with a dtype that cannot
    be read as the consumer's."""


class StepFailed(FlowymlError):
    """A step's own code raised. The user's exception is ``__cause__``."""

    def __init__(self, step: str, run_id: str, message: str | None = None) -> None:
        self.step = step
        self.run_id = run_id
        super().__init__(message or f"step {step!r} failed in run {run_id}")


class WorkerStateError(FlowymlError):
    """A step cannot run in a worker process as it would in the driver: the worker would
    run it with other state than the driver's, where the step's cache key was taken
    (``core.statecheck``), or a value of one of its parameters cannot be sent there
    (it does not pickle: a connection, a lock). The step did not run."""


class ArtifactNotFoundError(FlowymlError, LookupError):
    """No artifact matches the name, version, alias or id asked for."""


class CorruptArtifactError(FlowymlError):
    """Stored bytes do not match their content hash; no data is returned."""


class MissingCodeError(FlowymlError):
    """An artifact's bytes are intact, but loading it needs a class or module this
    process does not have (a notebook cell's class after a restart)."""


class StoreError(FlowymlError):
    """The artifact store could not complete an operation."""


class CatalogError(FlowymlError):
    """The catalog database could not complete an operation."""


class ConfigError(FlowymlError):
    """A stack or configuration value is invalid."""


__all__ = [
    "ArtifactNotFoundError",
    "BuildError",
    "CatalogError",
    "ConfigError",
    "CorruptArtifactError",
    "CycleError",
    "DuplicateOutputError",
    "FlowymlError",
    "MissingCodeError",
    "MissingInputError",
    "ParameterError",
    "SchemaError",
    "StepFailed",
    "StoreError",
    "TypeMismatchError",
]
