"""``flowyml stack`` (list / show / check) and ``flowyml cache`` (status / prune).

Thin faces over ``flowyml.stack`` and ``flowyml.stores.cache``; secrets are masked by
``Stack.describe`` before anything is printed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..core.units import format_size as _fmt_size


def _current_name() -> str | None:
    import os

    from ..core.project import project_root
    from ..stack import load_config

    return os.environ.get("FLOWYML_STACK") or load_config(project_root()).get("stack")


@click.group("stack")
def stack_group() -> None:
    """List, show and check the stacks of this project (flowyml.toml)."""


@stack_group.command("list")
def stack_list() -> None:
    """The stacks defined in flowyml.toml / pyproject.toml; * marks the current one."""
    from ..core.project import project_root
    from ..stack import Stack, load_config

    root = project_root()
    config = load_config(root)
    names = sorted(config.get("stacks", {}))
    try:
        current = Stack().resolve().name
    except Exception:  # the current stack is broken: still list them all
        current = _current_name()
    if not names:
        click.echo(f"no stacks defined in {root / 'flowyml.toml'}; using the built-in local stack")
    rows = names if names else ["default"]
    for name in rows:
        mark = "*" if name == current else " "
        try:
            d = Stack(name=name).describe()
            click.echo(f"{mark} {name:16} store {d['store']}  catalog {d['catalog']}")
        except Exception as exc:  # a broken stack is listed, with why
            click.echo(f"{mark} {name:16} (invalid: {exc})")


@stack_group.command("show")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stack_show(name: str | None, as_json: bool) -> None:
    """The settings of stack NAME (default: the current stack), secrets masked, each with
    where it came from: argument, a FLOWYML_* variable, a config file and table, or the
    built-in default."""
    from ..stack import Stack, stack_sources

    st = Stack(name=name).resolve()
    d = st.describe()
    sources = stack_sources(Stack(name=name))
    if as_json:
        click.echo(json.dumps({**d, "root": st.root, "sources": sources}, indent=2, default=str))
        return
    for k, v in d.items():
        source = f"from {sources.get(k, 'built-in default')}"
        if k in ("cache_dir", "cache_max_size") and v is None:
            source = f"not used by a local store; {source}"
        if k == "cache_max_size":
            v = _fmt_size(v)
        elif isinstance(v, dict):
            v = json.dumps(v, default=str) if v else "{}"
        click.echo(f"{k:17} {'-' if v is None else v}  ({source})")
    click.echo(f"{'root':17} {st.root}  (from {sources['root']})")
    click.echo(f"{'config':17} {sources['config']}")


@stack_group.command("check")
@click.argument("name", required=False)
def stack_check(name: str | None) -> None:
    """Connect to the store and the catalog of stack NAME and say what works.

    Writes, reads back and deletes a small object in the store, opens the catalog
    (creating or upgrading its schema) and uses the local cache. Exits 1 if any fails.
    """
    from ..stack import Stack, check_stack

    label = name or _current_name() or "default"
    results = check_stack(Stack(name=name))
    click.echo(f"stack {label!r}:")
    for r in results:
        mark = click.style("ok  ", fg="green") if r.ok else click.style("FAIL", fg="red")
        click.echo(f"  {mark} {r.part:8} {r.message}")
    failed = [r for r in results if not r.ok]
    if failed:
        click.echo(f"{len(failed)} check(s) failed", err=True)
        sys.exit(1)
    click.echo("all checks passed")


# ---------------------------------------------------------------- cache
def _cache(stack_name: str | None, cache_dir: str | None) -> Any:
    from ..core.units import parse_size
    from ..stack import Stack
    from ..stores.cache import get_cache

    st = Stack(name=stack_name, cache_dir=cache_dir).resolve()
    return get_cache(st.cache_dir, parse_size(st.cache_max_size))


@click.group("cache")
def cache_group() -> None:
    """The machine's local cache of remote objects."""


def _cache_options(f: Any) -> Any:
    f = click.option("--dir", "cache_dir", default=None,
                     help="Cache folder (default: the stack's cache_dir / FLOWYML_CACHE_DIR).")(f)
    return click.option("--stack", "stack_name", default=None, envvar="FLOWYML_STACK",
                        help="Named stack from flowyml.toml.")(f)


@cache_group.command("status")
@_cache_options
def cache_status(stack_name: str | None, cache_dir: str | None) -> None:
    """Where the cache is, how much it holds and its size cap."""
    cache = _cache(stack_name, cache_dir)
    n, size = cache.usage()
    click.echo(f"cache     {cache.root}")
    click.echo(f"objects   {n}")
    click.echo(f"size      {_fmt_size(size)} of {_fmt_size(cache.max_bytes)} "
               f"({100.0 * size / cache.max_bytes if cache.max_bytes else 0:.1f}%)")


@cache_group.command("prune")
@click.option("--max-size", default=None,
              help="Shrink to this size, e.g. 5GB or 0 to empty (default: the cap).")
@_cache_options
def cache_prune(max_size: str | None, stack_name: str | None, cache_dir: str | None) -> None:
    """Delete least recently used objects until the cache fits its cap (or --max-size).

    Only local copies are deleted: every object stays in its store and is fetched
    again when needed.
    """
    from ..core.units import parse_size

    cache = _cache(stack_name, cache_dir)
    limit = parse_size(max_size, "--max-size")
    report = cache.prune(limit)
    click.echo(
        f"removed {len(report.removed)} object(s), {_fmt_size(report.bytes_freed)}; "
        f"{report.objects_left} object(s), {_fmt_size(report.bytes_left)} left in {cache.root}"
    )
