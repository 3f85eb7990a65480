"""Stacks: where bytes live, where metadata lives, what runs steps. Chosen by name.

Precedence for each setting: an argument to ``Stack(...)``, then the environment
(``FLOWYML_STORE``, ``FLOWYML_CATALOG``, ``FLOWYML_EXECUTOR``, ``FLOWYML_CACHE_DIR``,
``FLOWYML_CACHE_MAX_SIZE``, ``FLOWYML_STORAGE_OPTIONS`` as JSON, ``FLOWYML_OPENLINEAGE_URL``,
``FLOWYML_INLINE_MAX``),
then the named stack in ``flowyml.toml`` (or ``[tool.flowyml]`` in ``pyproject.toml``) at
the project root, then the built-in local defaults: ``<root>/.flowyml`` for objects and
``<root>/.flowyml/catalog.db`` for the catalog. The stack's name comes from
``Stack(name=...)``, ``FLOWYML_STACK`` (``--stack`` on the CLI), ``stack = "..."`` at the
top of the config file, else ``default`` / ``local`` when such a table exists.
``stack_sources`` says which of these each setting came from. ``${VAR}`` in a configured
value is read from the environment, so secrets stay out of files; settings are shown
only through ``describe()``, which masks secrets.

The project root is ``Stack(root=...)``; a pipeline passes the root of its own file
(``Pipeline.root``), other callers get the current directory's (``project.py``). The
settings live in ONE file there: ``flowyml.toml`` or ``[tool.flowyml]`` in
``pyproject.toml``, whichever has any; an empty ``flowyml.toml`` only marks the root.
Settings in both is a ``ConfigError`` (``load_config``), never a silent pick.

A remote store (``s3://``, ``gs://``, ``az://``...) reads through the machine's local
cache (``cache_dir``, default ``<user cache dir>/flowyml/objects``, capped at
``cache_max_size``, default 20GB).
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.errors import ConfigError
from .core.project import MARKERS, in_a_project, project_root
from .core.struct import field, field_names, replace, struct
from .core.units import format_size as _fmt_size

if TYPE_CHECKING:
    from .catalog.runtime_sql import RuntimeSqlCatalog
    from .catalog.sql import SqlCatalog
    from .stores import StoreSpec
    from .stores.base import ArtifactStore

ENV = {
    "store": "FLOWYML_STORE",
    "catalog": "FLOWYML_CATALOG",
    "executor": "FLOWYML_EXECUTOR",
    "cache_dir": "FLOWYML_CACHE_DIR",
    "cache_max_size": "FLOWYML_CACHE_MAX_SIZE",
    "storage_options": "FLOWYML_STORAGE_OPTIONS",
    "openlineage_url": "FLOWYML_OPENLINEAGE_URL",
    "inline_max": "FLOWYML_INLINE_MAX",
}
KEYS = (
    "store", "catalog", "executor", "cache_dir", "cache_max_size", "storage_options",
    "allow_pickle", "gc_grace_seconds", "openlineage_url", "inline_max",
)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@struct(frozen=True)
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
    cache_max_size: int | str | None = None
    openlineage_url: str | None = None  # http(s)://SERVER or file://PATH.jsonl (openlineage.py)
    # objects of at most this many bytes are kept in the catalog row, not the store
    # (0: every object goes to the store); see objects.py
    inline_max: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        """The usual repr with secrets masked: a Stack gets printed, logged and shown
        in tracebacks, and its storage options and catalog URL may hold credentials."""
        from .core.secrets import mask_options, mask_uri

        parts = []
        for name in field_names(self):
            v = getattr(self, name)
            if isinstance(v, dict):
                v = mask_options(v)
            elif isinstance(v, str):
                v = mask_uri(v)
            parts.append(f"{name}={v!r}")
        return f"Stack({', '.join(parts)})"

    # ------------------------------------------------------------ resolution
    def resolve(self) -> Stack:
        """A copy with every setting filled in (arguments > env > config file > defaults)."""
        return self._resolve()[0]

    def _resolve(self) -> tuple[Stack, dict[str, str]]:
        """``resolve()`` and, for each setting, where its value came from (see
        ``stack_sources``). One code path, so the sources shown never drift from the
        values used."""
        root = Path(self.root) if self.root else project_root()
        config = load_config(root)
        sources: dict[str, str] = {
            "root": "argument" if self.root else (
                "environment FLOWYML_ROOT" if os.environ.get("FLOWYML_ROOT")
                else "the current directory's project"),
            "config": _where(config) if config else "none (no settings at the root)",
        }
        name, table, table_where = self._named_table(config, root, sources)
        values = self._layered_values(table, table_where, sources)
        store, catalog, cache_dir = _locations(values, root)
        options = self._storage_options(table, table_where, name, sources)
        max_size = values.get("cache_max_size")
        if max_size is not None:
            from .core.units import parse_size

            max_size = parse_size(max_size, f"cache_max_size of stack {name or 'default'!r}")
        allow = self.allow_pickle
        sources["allow_pickle"] = "argument" if allow is not None else DEFAULT
        if allow is None and "allow_pickle" in table:
            allow = bool(table["allow_pickle"])
            sources["allow_pickle"] = table_where
        grace = self.gc_grace_seconds
        sources["gc_grace_seconds"] = "argument" if grace is not None else DEFAULT
        if grace is None and "gc_grace_seconds" in table:
            grace = float(table["gc_grace_seconds"])
            sources["gc_grace_seconds"] = table_where
        resolved = replace(
            self, store=store, catalog=catalog, executor=values.get("executor") or "inline",
            cache_dir=cache_dir, cache_max_size=max_size, storage_options=dict(options),
            allow_pickle=allow, name=name or "default", root=str(root),
            gc_grace_seconds=24 * 3600.0 if grace is None else grace,
            openlineage_url=values.get("openlineage_url") or None,
            inline_max=_inline_max(values.get("inline_max"), name or "default"),
        )
        return resolved, sources

    def _named_table(
        self, config: dict[str, Any], root: Path, sources: dict[str, str]
    ) -> tuple[str | None, dict[str, Any], str]:
        """The stack's name, its table (``${VAR}`` expanded) and where the table is."""
        stacks = config.get("stacks", {})
        name = self.name or os.environ.get("FLOWYML_STACK") or config.get("stack")
        if self.name:
            sources["name"] = "argument"
        elif os.environ.get("FLOWYML_STACK"):
            sources["name"] = "environment FLOWYML_STACK"
        elif config.get("stack"):
            sources["name"] = _where(config, "stack")
        else:
            sources["name"] = DEFAULT
        if name is None:
            name = "default" if "default" in stacks else ("local" if "local" in stacks else None)
        if name is None:
            return None, {}, DEFAULT
        if name in stacks:
            raw = stacks[name]
            if not isinstance(raw, dict):
                raise ConfigError(
                    f"stacks.{name} in {config.get('__file__')} must be a table "
                    f"([stacks.{name}]) with keys {', '.join(KEYS)}"
                )
            _check_keys(name, raw, config.get("__file__"))
            return name, {k: _expand(v, name) for k, v in raw.items()}, _where(
                config, f"[stacks.{name}]")
        if name != "default" and (self.store is None or self.catalog is None):
            known = ", ".join(sorted(stacks)) or "none defined"
            raise ConfigError(
                f"no stack named {name!r} in {config.get('__file__', root / 'flowyml.toml')} "
                f"(stacks: {known}); add a [stacks.{name}] table or pick another with "
                "FLOWYML_STACK / --stack"
            )
        return name, {}, DEFAULT

    def _layered_values(
        self, table: dict[str, Any], table_where: str, sources: dict[str, str]
    ) -> dict[str, Any]:
        """Plain settings: argument > FLOWYML_* > the stack's table (> default later)."""
        values: dict[str, Any] = {}
        for key in ("store", "catalog", "executor", "cache_dir", "cache_max_size",
                    "openlineage_url", "inline_max"):
            explicit = getattr(self, key)
            if explicit is not None:
                values[key] = explicit
                sources[key] = "argument"
            elif os.environ.get(ENV[key]):
                values[key] = os.environ[ENV[key]]
                sources[key] = f"environment {ENV[key]}"
            elif key in table:
                values[key] = table[key] if key == "cache_max_size" else str(table[key])
                sources[key] = table_where
            if values.get(key) in (None, "") and key != "cache_max_size":
                sources[key] = DEFAULT
        sources.setdefault("cache_max_size", DEFAULT)
        return values

    def _storage_options(
        self, table: dict[str, Any], table_where: str, name: str | None,
        sources: dict[str, str],
    ) -> dict[str, Any]:
        options = self.storage_options
        sources["storage_options"] = "argument"
        if options is None and os.environ.get(ENV["storage_options"]):
            sources["storage_options"] = f"environment {ENV['storage_options']}"
            try:
                options = json.loads(os.environ[ENV["storage_options"]])
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{ENV['storage_options']} is not valid JSON ({exc.msg}); write e.g. "
                    '{"endpoint_url": "http://localhost:9000"}'
                ) from None
        if options is None:
            options = table.get("storage_options") or {}
            sources["storage_options"] = table_where if "storage_options" in table else DEFAULT
        if not isinstance(options, dict):
            raise ConfigError(
                f"storage_options of stack {name or 'default'!r} must be a table / dict, "
                f"got {type(options).__name__}"
            )
        return options

    # ------------------------------------------------------------ opening
    def store_spec(self) -> StoreSpec:
        """What it takes to open this stack's store (what executors ship to workers)."""
        from .core.units import parse_size
        from .stores import StoreSpec

        s = self if self.store is not None and self.root else self.resolve()
        assert s.store is not None
        return StoreSpec(s.store, dict(s.storage_options or {}), s.allow_pickle, s.cache_dir,
                         s.name or "default", parse_size(s.cache_max_size), s.inline_max)

    def open_store(self) -> ArtifactStore:
        return self.store_spec().open()

    def open_catalog(self) -> SqlCatalog:
        """The full catalog: what a run writes and what lineage, the CLI and the web
        page read. It shares the connections of the runtime catalog when that is open
        already (a run, then a reader: one connection per thread, not two)."""
        from .catalog import open_catalog

        s = self._for_catalog()
        runtime = s._opened_catalog("runtime-catalog")
        return s._catalog("catalog", functools.partial(open_catalog, share=runtime))

    def open_runtime_catalog(self) -> RuntimeSqlCatalog:
        """What a run and ``plan`` need of the catalog, on the database driver alone
        (``catalog/runtime_sql.py``): the full catalog when it is already open."""
        from .catalog import open_runtime_catalog

        s = self._for_catalog()
        full = s._opened_catalog("catalog")
        return full if full is not None else s._catalog("runtime-catalog", open_runtime_catalog)

    def _for_catalog(self) -> Stack:
        """This stack, resolved if its catalog or root is not set yet."""
        return self if self.catalog is not None and self.root else self.resolve()

    def _opened_catalog(self, kind: str) -> Any:
        """The ``kind`` of catalog of this (resolved) stack if this process opened it."""
        with _lock:
            return _opened.get((kind, self.catalog, self.name))

    def _catalog(self, kind: str, opener: Callable[..., Any]) -> Any:
        """The ``kind`` of catalog of this (resolved) stack, opened once per process."""
        key = (kind, self.catalog, self.name)
        with _lock:
            hit = _opened.get(key)
            if hit is None:
                assert self.catalog is not None
                hit = _opened[key] = opener(self.catalog, stack_name=self.name or "default")
        return hit

    def check(self) -> list[CheckResult]:
        """Try the store and the catalog (see ``check_stack``)."""
        return check_stack(self)

    def describe(self) -> dict[str, Any]:
        """The settings with secrets masked (for display)."""
        from .core.secrets import mask_options, mask_uri
        from .core.units import parse_size
        from .stores.cache import DEFAULT_MAX_BYTES, default_cache_dir

        s = self if self.store is not None and self.root else self.resolve()
        remote = "://" in (s.store or "") and not (s.store or "").startswith("file://")
        cap = parse_size(s.cache_max_size)
        return {
            "name": s.name,
            "store": mask_uri(s.store or ""),
            "catalog": _mask_catalog(s.catalog or ""),
            "executor": s.executor,
            "cache_dir": (s.cache_dir or str(default_cache_dir())) if remote else None,
            "cache_max_size": (DEFAULT_MAX_BYTES if cap is None else cap) if remote else None,
            "storage_options": mask_options(s.storage_options or {}),
            "allow_pickle": s.allow_pickle,
            "gc_grace_seconds": s.gc_grace_seconds,
            "openlineage_url": mask_uri(s.openlineage_url) if s.openlineage_url else None,
            "inline_max": s.inline_max,
        }


_lock = threading.Lock()
_opened: dict[tuple[Any, ...], Any] = {}


def clear_opened() -> None:
    """Forget opened stores and catalogs (tests, and after a fork)."""
    from .stores import forget_opened

    forget_opened()
    with _lock:
        for v in _opened.values():
            try:
                v.close()
            except Exception:  # closing is best effort: the object is forgotten anyway
                continue
        _opened.clear()


def _mask_catalog(url: str) -> str:
    from .core.secrets import mask_uri

    return mask_uri(url)


def _check_keys(name: str, table: dict[str, Any], where: Any) -> None:
    for key in table:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"stack {name!r} in {where} has an unknown setting {key!r}; {hint}"
                f"settings are {', '.join(KEYS)}"
            )


def _locations(values: dict[str, Any], root: Path) -> tuple[str, str, str | None]:
    """The store, catalog and cache folder, relative paths taken from the project root."""
    store = values.get("store") or str(root / ".flowyml")
    if "://" not in store:
        store = os.path.expanduser(store)
        store = str((root / store).resolve()) if not os.path.isabs(store) else store
    catalog = values.get("catalog") or _default_catalog(store, root)
    if catalog.startswith("sqlite:///") and not catalog.startswith("sqlite:////"):
        rel = catalog[len("sqlite:///") :]
        if rel and rel != ":memory:" and not os.path.isabs(rel):
            catalog = "sqlite:///" + str((root / rel).resolve())
    cache_dir = values.get("cache_dir")
    if cache_dir:
        cache_dir = os.path.expanduser(str(cache_dir))
        if not os.path.isabs(cache_dir):
            cache_dir = str((root / cache_dir).resolve())
    return store, catalog, cache_dir


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


DEFAULT = "built-in default"


def _where(config: dict[str, Any], what: str = "") -> str:
    """``/p/flowyml.toml [stacks.dev]`` or ``/p/pyproject.toml [tool.flowyml.stacks.dev]``
    (``what`` a ``[table]`` or a top-level key), for messages and ``stack_sources``."""
    table = config.get("__table__", "")
    if what.startswith("["):
        inner = what[1:-1]
        return f"{config['__file__']} [{table + '.' if table else ''}{inner}]"
    head = f" [{table}]" if table else ""
    return f"{config['__file__']}{head}" + (f", key {what}" if what else "")


def _inline_max(value: Any, stack: str) -> int:
    """``inline_max`` as a number of bytes (default ``stores.base.INLINE_MAX``)."""
    if value in (None, ""):
        from .stores.base import INLINE_MAX

        return INLINE_MAX
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = -1
    if n < 0:
        raise ConfigError(
            f"inline_max of stack {stack!r} must be a number of bytes (0 or more), got "
            f"{value!r}: objects up to that size are kept in the catalog (0: none)"
        )
    return n


def _may_hold_settings(text: str, table: tuple[str, ...]) -> bool:
    """Whether parsing ``text`` can find settings at all (the TOML parser is a few
    milliseconds of imports every run): an empty ``flowyml.toml`` cannot, nor a
    ``pyproject.toml`` that never spells ``flowyml`` (nor a unicode escape that could)."""
    if not table:
        return bool(text.strip())
    return "flowyml" in text or "\\u" in text or "\\U" in text


def load_config(root: Path) -> dict[str, Any]:
    """The FlowyML settings at ``root``: ``flowyml.toml`` or the ``[tool.flowyml]`` table
    of ``pyproject.toml``, whichever holds any (an empty ``flowyml.toml`` only marks the
    project root). When both hold settings this refuses with a ``ConfigError`` naming
    both: picking one silently would send results to a store nobody chose. Adds
    ``__file__`` (the file) and ``__table__`` (``""`` or ``"tool.flowyml"``)."""
    found: list[tuple[Path, str, dict[str, Any]]] = []
    for fname, sub in (("flowyml.toml", ()), ("pyproject.toml", ("tool", "flowyml"))):
        path = root / fname
        if not path.is_file():
            continue
        text = path.read_text()
        if not _may_hold_settings(text, sub):
            continue
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            data: Any = tomllib.loads(text)
        except Exception as exc:
            raise ConfigError(f"cannot parse {path}: {exc}") from exc
        for k in sub:
            data = data.get(k, {}) if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            raise ConfigError(f"[{'.'.join(sub)}] in {path} must be a table")
        if data:
            found.append((path, ".".join(sub), data))
    if len(found) > 1:
        (a, _, _), (b, _, _) = found
        raise ConfigError(
            f"FlowyML settings are in both {a} and the [tool.flowyml] table of {b}; keep "
            f"them in one of the two files (an empty {a.name} just marks the project root)"
        )
    if not found:
        return {}
    path, table, data = found[0]
    _check_root_keys(data, path, table)
    out = dict(data)
    out["__file__"] = str(path)
    out["__table__"] = table
    return out


ROOT_KEYS = ("stack", "stacks")


def _check_root_keys(data: dict[str, Any], path: Path, table: str) -> None:
    """Only ``stack`` (the one to use) and ``stacks`` (their tables) belong at the top:
    a stack's setting written there would be ignored, and results would go where
    nobody chose."""
    where = f"[{table}] of {path}" if table else str(path)
    for key in data:
        if key in ROOT_KEYS:
            continue
        if key in KEYS:
            hint = (f"{key!r} is a stack's setting: put it in a stack's table, e.g. "
                    f"[{table + '.' if table else ''}stacks.default]")
        else:
            close = difflib.get_close_matches(key, ROOT_KEYS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "remove it"
        raise ConfigError(
            f"{where} has an unknown top-level key {key!r}: {hint}. Top-level keys are "
            f"{', '.join(ROOT_KEYS)}; a stack's settings ({', '.join(KEYS)}) go in "
            "[stacks.NAME]"
        )


def stack_names(root: Path | None = None) -> list[str]:
    return sorted(load_config(root or project_root()).get("stacks", {}))


def as_stack(stack: Stack | str | None, root: str | Path | None = None) -> Stack:
    """Accept a Stack, a stack name or None (the current stack); return it resolved.
    ``root`` is the project root to resolve in when the stack does not set its own (a
    pipeline passes ``Pipeline.root``); default: the current directory's project."""
    at = str(root) if root is not None else None
    if stack is None:
        return Stack(root=at).resolve()
    if isinstance(stack, str):
        return Stack(name=stack, root=at).resolve()
    if isinstance(stack, Stack):
        if stack.store is not None and stack.catalog is not None and stack.root:
            return stack
        if not stack.root and at is not None:
            stack = replace(stack, root=at)
        return stack.resolve()
    raise ConfigError(f"stack must be a flowyml.Stack or a stack name, got {stack!r}")


def reading_stack(stack: Stack | str | None) -> Stack:
    """``as_stack`` for a reader that has no pipeline file to find its project from
    (``fm.Catalog()``, ``get_lineage``): with no stack given, the current directory
    must be in a project, else there is no catalog to read, and opening one would
    create it, empty, in whatever folder a notebook or shell happened to start in."""
    if stack is None and not os.environ.get("FLOWYML_STACK") and not in_a_project():
        raise ConfigError(
            f"no FlowyML project in {Path.cwd()}: no {' or '.join(MARKERS)} there or above "
            "it, and no .flowyml folder, so there is no catalog to read. Run this from your "
            "project's folder (os.chdir), or pass the stack: stack=fm.Stack(root='path/to/"
            "project')")
    return as_stack(stack)


def stack_sources(stack: Stack | str | None = None, root: str | Path | None = None) -> dict[str, str]:
    """Where each setting of ``stack`` (as ``as_stack`` takes it) comes from: ``argument``,
    ``environment FLOWYML_...``, the config file and table (``/p/flowyml.toml
    [stacks.dev]``) or ``built-in default``; also ``root`` and ``config`` (the file the
    settings were read from). Labels only, never values, so nothing secret is shown."""
    if stack is None or isinstance(stack, str):
        stack = Stack(name=stack)
    if not isinstance(stack, Stack):
        raise ConfigError(f"stack must be a flowyml.Stack or a stack name, got {stack!r}")
    if not stack.root and root is not None:
        stack = replace(stack, root=str(root))
    return stack._resolve()[1]


@struct(frozen=True)
class CheckResult:
    """One line of ``flowyml stack check``: what was tried, whether it worked, and why."""

    part: str  # "config" | "store" | "catalog" | "cache"
    ok: bool
    message: str


def check_stack(stack: Stack | str | None = None) -> list[CheckResult]:
    """Connect to the stack's store and catalog and try what a run does: resolve the
    settings, write, read back (verified) and delete a small object, open the catalog
    (creating or upgrading its schema), and use the local cache. Never raises for a
    failure of the stack itself: each failure is a ``CheckResult`` with ``ok=False``."""
    import uuid

    from .core.errors import FlowymlError
    from .core.hashing import hash_bytes
    from .core.secrets import mask_uri

    out: list[CheckResult] = []
    try:
        st = as_stack(stack)
    except FlowymlError as exc:
        return [CheckResult("config", False, str(exc))]
    info = st.describe()
    out.append(CheckResult("config", True, f"stack {st.name!r} resolved (executor {st.executor})"))

    store_uri = mask_uri(st.store or "")
    try:
        store = st.open_store()
        data = f"flowyml stack check {uuid.uuid4().hex}\n".encode()
        digest = hash_bytes(data)
        done = []
        store.exists(digest)
        done.append("reachable, credentials accepted")
        staged = store.staging_dir() / f"check-{digest[:16]}.part"
        staged.write_bytes(data)
        store.put_file(digest, staged)
        done.append("write")
        store.evict_local(digest)
        path = store.local_path(digest)
        if Path(path).read_bytes() != data:
            raise ConfigError(f"store {store_uri} returned other bytes than were written")
        done.append("read back")
        store.delete(digest)
        done.append("delete")
        out.append(CheckResult("store", True, f"{store_uri}: {', '.join(done)} work"))
    except FlowymlError as exc:
        out.append(CheckResult("store", False, f"{store_uri}: {type(exc).__name__}: {exc}"))
    except Exception as exc:  # an unexpected failure is still an answer, not a traceback
        out.append(CheckResult("store", False, f"{store_uri}: {type(exc).__name__}: {exc}"))

    try:
        cat = st.open_catalog()
        out.append(
            CheckResult(
                "catalog", True,
                f"{cat.display_url}: connected, schema version {cat.schema_version()}",
            )
        )
    except FlowymlError as exc:
        out.append(CheckResult("catalog", False, f"{info['catalog']}: {type(exc).__name__}: {exc}"))
    except Exception as exc:
        out.append(CheckResult("catalog", False, f"{info['catalog']}: {type(exc).__name__}: {exc}"))

    if info.get("cache_dir"):
        from .stores.cache import get_cache

        cache = get_cache(info["cache_dir"], info["cache_max_size"])
        try:
            cache.tmp_dir()
            n, size = cache.usage()
            out.append(
                CheckResult(
                    "cache", True,
                    f"{cache.root}: writable, {n} objects, {_fmt_size(size)} of "
                    f"{_fmt_size(cache.max_bytes)}",
                )
            )
        except OSError as exc:
            out.append(
                CheckResult(
                    "cache", False,
                    f"{cache.root}: not writable ({exc}); set cache_dir or FLOWYML_CACHE_DIR "
                    "to a writable folder",
                )
            )
    return out


