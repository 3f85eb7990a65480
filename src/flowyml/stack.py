"""Stacks: where bytes live, where metadata lives, what runs steps. Chosen by name.

Precedence for each setting: an argument to ``Stack(...)``, then the environment
(``FLOWYML_STORE``, ``FLOWYML_CATALOG``, ``FLOWYML_EXECUTOR``, ``FLOWYML_CACHE_DIR``),
then the named stack in ``flowyml.toml`` (or ``[tool.flowyml]`` in ``pyproject.toml``)
at the project root, then the built-in local defaults: ``<root>/.flowyml`` for objects
and ``<root>/.flowyml/catalog.db`` for the catalog. ``${VAR}`` in a configured value is
read from the environment, so secrets stay out of files.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .project import project_root

if TYPE_CHECKING:
    from .catalog.sql import SqlCatalog
    from .stores.base import ArtifactStore

ENV = {
    "store": "FLOWYML_STORE",
    "catalog": "FLOWYML_CATALOG",
    "executor": "FLOWYML_EXECUTOR",
    "cache_dir": "FLOWYML_CACHE_DIR",
}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Stack:
    """A store URI, a catalog URL, an executor spec and options. Unset fields are
    filled from the environment, the project's config file and the defaults."""

    store: str | None = None
    catalog: str | None = None
    executor: str | None = None
    cache_dir: str | None = None
    storage_options: dict[str, Any] | None = None
    allow_pickle: bool | None = None
    name: str | None = None
    root: str | None = None
    gc_grace_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    # ------------------------------------------------------------ resolution
    def resolve(self) -> Stack:
        """A copy with every setting filled in (arguments > env > config file > defaults)."""
        root = Path(self.root) if self.root else project_root()
        config = load_config(root)
        stacks = config.get("stacks", {})
        name = self.name or os.environ.get("FLOWYML_STACK") or config.get("stack")
        if name is None:
            name = "default" if "default" in stacks else ("local" if "local" in stacks else None)
        table: dict[str, Any] = {}
        if name is not None:
            if name in stacks:
                table = {k: _expand(v, name) for k, v in stacks[name].items()}
            elif name != "default":
                known = ", ".join(sorted(stacks)) or "none defined"
                raise ConfigError(
                    f"no stack named {name!r} in {config.get('__file__', root / 'flowyml.toml')} "
                    f"(stacks: {known}); add a [stacks.{name}] table or pick another with "
                    "FLOWYML_STACK / --stack"
                )
        values: dict[str, Any] = {}
        for key in ("store", "catalog", "executor", "cache_dir"):
            explicit = getattr(self, key)
            if explicit is not None:
                values[key] = explicit
            elif os.environ.get(ENV[key]):
                values[key] = os.environ[ENV[key]]
            elif key in table:
                values[key] = str(table[key])
        store = values.get("store") or str(root / ".flowyml")
        if "://" not in store:
            store = str((root / store).resolve()) if not os.path.isabs(store) else store
        catalog = values.get("catalog") or _default_catalog(store, root)
        if catalog.startswith("sqlite:///") and not catalog.startswith("sqlite:////"):
            rel = catalog[len("sqlite:///") :]
            if rel and rel != ":memory:" and not os.path.isabs(rel):
                catalog = "sqlite:///" + str((root / rel).resolve())
        options = self.storage_options
        if options is None:
            options = table.get("storage_options") or {}
        allow = self.allow_pickle
        if allow is None and "allow_pickle" in table:
            allow = bool(table["allow_pickle"])
        grace = self.gc_grace_seconds
        if grace is None and "gc_grace_seconds" in table:
            grace = float(table["gc_grace_seconds"])
        return replace(
            self,
            store=store,
            catalog=catalog,
            executor=values.get("executor") or "inline",
            cache_dir=values.get("cache_dir"),
            storage_options=dict(options),
            allow_pickle=allow,
            name=name or "default",
            root=str(root),
            gc_grace_seconds=24 * 3600.0 if grace is None else grace,
        )

    # ------------------------------------------------------------ opening
    def open_store(self) -> ArtifactStore:
        s = self if self.store is not None else self.resolve()
        key = ("store", s.store, repr(sorted((s.storage_options or {}).items())), s.allow_pickle, s.cache_dir)
        with _lock:
            hit = _opened.get(key)
            if hit is None:
                from .stores import open_store

                assert s.store is not None
                hit = open_store(s.store, s.storage_options, s.allow_pickle, s.cache_dir)
                _opened[key] = hit
        return hit  # type: ignore[no-any-return]

    def open_catalog(self) -> SqlCatalog:
        s = self if self.catalog is not None else self.resolve()
        key = ("catalog", s.catalog)
        with _lock:
            hit = _opened.get(key)
            if hit is None:
                from .catalog import open_catalog

                assert s.catalog is not None
                hit = open_catalog(s.catalog, stack_name=s.name or "default")
                _opened[key] = hit
        return hit  # type: ignore[no-any-return]

    def describe(self) -> dict[str, Any]:
        """The settings with secrets masked (for display)."""
        from .secrets import mask_options, mask_uri

        s = self if self.store is not None else self.resolve()
        return {
            "name": s.name,
            "store": mask_uri(s.store or ""),
            "catalog": mask_uri(s.catalog or ""),
            "executor": s.executor,
            "cache_dir": s.cache_dir,
            "storage_options": mask_options(s.storage_options or {}),
            "allow_pickle": s.allow_pickle,
        }


_lock = threading.Lock()
_opened: dict[tuple[Any, ...], Any] = {}


def clear_opened() -> None:
    """Forget opened stores and catalogs (tests, and after a fork)."""
    with _lock:
        for v in _opened.values():
            close = getattr(v, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    pass
        _opened.clear()


def _default_catalog(store: str, root: Path) -> str:
    if "://" not in store:
        return "sqlite:///" + str(Path(store) / "catalog.db")
    return "sqlite:///" + str(root / ".flowyml" / "catalog.db")


def _expand(value: Any, stack: str) -> Any:
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            var = m.group(1)
            if var not in os.environ:
                raise ConfigError(
                    f"stack {stack!r} uses ${{{var}}}, but the environment variable {var} "
                    "is not set; export it before running"
                )
            return os.environ[var]

        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, stack) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, stack) for v in value]
    return value


def load_config(root: Path) -> dict[str, Any]:
    """The ``flowyml.toml`` (or ``[tool.flowyml]`` of ``pyproject.toml``) at ``root``."""
    for fname, sub in (("flowyml.toml", None), ("pyproject.toml", ("tool", "flowyml"))):
        path = root / fname
        if not path.is_file():
            continue
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            data = tomllib.loads(path.read_text())
        except Exception as exc:
            raise ConfigError(f"cannot parse {path}: {exc}") from exc
        if sub is not None:
            for k in sub:
                data = data.get(k, {})
            if not data:
                continue
        data = dict(data)
        data["__file__"] = str(path)
        return data
    return {}


def stack_names(root: Path | None = None) -> list[str]:
    return sorted(load_config(root or project_root()).get("stacks", {}))


def as_stack(stack: Stack | str | None) -> Stack:
    """Accept a Stack, a stack name or None (the current stack); return it resolved."""
    if stack is None:
        return Stack().resolve()
    if isinstance(stack, str):
        return Stack(name=stack).resolve()
    if isinstance(stack, Stack):
        return stack if stack.store is not None and stack.catalog is not None and stack.root else stack.resolve()
    raise ConfigError(f"stack must be a flowyml.Stack or a stack name, got {stack!r}")
