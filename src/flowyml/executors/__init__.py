"""Executors by spec: ``inline`` (default), ``processes[:N]``, ``dask``, ``dask://HOST:PORT``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError
from .base import Executor

if TYPE_CHECKING:
    from ..stack import Stack


def make_executor(spec: str | None, stack: Stack) -> Executor:
    spec = (spec or "inline").strip()
    if spec == "inline":
        from .inline import InlineExecutor

        return InlineExecutor(stack)
    raise ConfigError(
        f"unknown executor {spec!r}; use 'inline', 'processes', 'processes:N', 'dask' "
        "or 'dask://HOST:PORT'"
    )


__all__ = ["Executor", "make_executor"]
