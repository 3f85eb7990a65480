"""Executors by spec: ``inline`` (default), ``processes[:N]``, ``dask[:N]``, ``dask://HOST:PORT``.

Each executor is one module, imported only when its spec is used (``dask`` and
``distributed`` are never imported by ``import flowyml``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import ConfigError
from .base import Executor, StepTimedOut, WorkerDied

if TYPE_CHECKING:
    from ..stores import StoreSpec

SPECS = "'inline', 'processes', 'processes:N', 'dask', 'dask:N' or 'dask://HOST:PORT'"


def make_executor(spec: str | None, store: StoreSpec) -> Executor:
    """The executor for ``spec`` (see the module docstring); ``ConfigError`` if unknown."""
    kind, value = check_spec(spec)
    if kind == "inline":
        from .inline import InlineExecutor

        return InlineExecutor(store)
    if kind == "processes":
        from .processes import ProcessesExecutor

        return ProcessesExecutor(store, value if isinstance(value, int) else None)
    from .dask import DaskExecutor

    if isinstance(value, str):
        return DaskExecutor(store, address=value)
    return DaskExecutor(store, n_workers=value if value is not None else 2)


def check_spec(spec: str | None) -> tuple[str, int | str | None]:
    """``(kind, workers or scheduler address)`` of ``spec``, without making anything (a
    run checks its executor's spec before it starts, and makes the executor only when a
    step has to execute); ``ConfigError`` if it is not one of ``SPECS``."""
    raw = spec
    spec = (spec or "inline").strip()
    kind, _, arg = spec.partition(":")
    kind = kind.lower()
    if kind == "inline" and not arg:
        return "inline", None
    if kind == "processes":
        return "processes", _count(arg, raw) if arg else None
    if kind == "dask":
        _check_dask_installed(raw)
    if kind == "dask" and arg.startswith("//"):
        address = arg[2:].strip("/")
        if not address:
            raise ConfigError(f"executor {raw!r} names no scheduler; use 'dask://HOST:PORT'")
        return "dask", address if "://" in address else f"tcp://{address}"
    if kind == "dask":
        return "dask", _count(arg, raw) if arg else None
    raise ConfigError(f"unknown executor {raw!r}; use {SPECS}")


def _check_dask_installed(raw: str | None) -> None:
    """Before the run starts (so no failed run is recorded for it): dask.distributed
    must be importable, which ``find_spec`` tells without importing it."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        raise ConfigError(f"executor {raw!r} needs dask.distributed, which is not installed: "
                          "pip install 'flowyml-core[dask]'")


def _count(arg: str, raw: str | None) -> int:
    try:
        n = int(arg)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(
            f"executor {raw!r}: the number of workers must be a positive integer, got {arg!r}"
        )
    return n


__all__ = ["Executor", "StepTimedOut", "WorkerDied", "check_spec", "make_executor"]
