"""Materializer registry: picks the canonical format for a value by its type.

User materializers registered with ``register_materializer`` are tried first, then the
built-ins (numpy ``.npy``, Arrow IPC for pandas / pyarrow / polars, JSON), and pickle
last. Nothing heavy is imported until a value of that library is seen.

A materializer claims a value with ``handles`` and stores only what it gives back
exactly: when it cannot (a pandas index type, a dtype or a name would change on load),
its ``save`` / ``dumps`` raises ``UnsupportedValue`` and the next materializer that
handles the value is tried (``materializers_for``), ultimately pickle.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import ConfigError
from .base import Materializer, PickleFallbackWarning, UnsupportedValue
from .builtin import (
    ArrowMaterializer,
    JsonMaterializer,
    NumpyMaterializer,
    PandasMaterializer,
    PickleMaterializer,
    PolarsMaterializer,
)

MATERIALIZER_NAME_MAX = 64  # the catalog's ``artifacts.materializer`` column
_user: list[Materializer] = []
_builtin: list[Materializer] = [
    NumpyMaterializer(),
    PandasMaterializer(),
    ArrowMaterializer(),
    PolarsMaterializer(),
    JsonMaterializer(),
    PickleMaterializer(),
]


def register_materializer(materializer: Materializer) -> None:
    """Add a materializer, tried before the built-ins (last registered first)."""
    for attr in ("name", "version", "uses_pickle", "handles", "save", "load"):
        if not hasattr(materializer, attr):
            raise ConfigError(f"materializer {materializer!r} has no {attr!r}")
    name = materializer.name
    if not isinstance(name, str) or not 0 < len(name) <= MATERIALIZER_NAME_MAX:
        raise ConfigError(  # the catalog keeps it in a VARCHAR(64) column
            f"materializer {materializer!r}: its name must be a string of 1 to "
            f"{MATERIALIZER_NAME_MAX} characters, got {name!r}")
    if any(m.name == materializer.name for m in _builtin):
        raise ConfigError(f"materializer name {materializer.name!r} is taken by a built-in")
    _user[:] = [m for m in _user if m.name != materializer.name]
    _user.insert(0, materializer)


def materializer_for(value: Any) -> Materializer:
    """The first materializer that handles ``value`` (see ``materializers_for``)."""
    for m in (*_user, *_builtin):
        if m.handles(value):
            return m
    raise AssertionError("unreachable: pickle handles everything")  # pragma: no cover


def materializers_for(value: Any) -> list[Materializer]:
    """Every materializer that handles ``value``, in the order to try them; the last is
    always pickle (unless a user materializer named otherwise handles everything)."""
    return [m for m in (*_user, *_builtin) if m.handles(value)]


def get_materializer(name: str) -> Materializer:
    for m in (*_user, *_builtin):
        if m.name == name:
            return m
    raise ConfigError(
        f"no materializer named {name!r} is registered; register it with "
        "flowyml.register_materializer before loading this artifact"
    )


def registry_versions() -> str:
    """Names and versions of every registered materializer (part of each cache key)."""
    return ",".join(f"{m.name}={m.version}" for m in (*_user, *_builtin))


__all__ = [
    "Materializer",
    "PickleFallbackWarning",
    "UnsupportedValue",
    "get_materializer",
    "materializer_for",
    "materializers_for",
    "register_materializer",
]
