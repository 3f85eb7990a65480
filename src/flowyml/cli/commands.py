"""The ``flowyml`` command: a thin face over the Python API.

Subcommands live here; each stays a few lines over the API so the CLI, the web page
and user code see the same behaviour. Build errors print their message and exit 2,
without a traceback.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..core.errors import BuildError, FlowymlError, StepFailed
from ..core.project import MARKERS, in_a_project
from ..core.units import format_size as _fmt_size

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 1) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Turns FlowymlError into a one-line message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BuildError as exc:
            _fail(f"{type(exc).__name__}: {exc}", 2)
        except StepFailed as exc:
            cause = exc.__cause__
            detail = f"\n  caused by {type(cause).__name__}: {cause}" if cause else ""
            _fail(f"{exc}{detail}", 1)
        except FlowymlError as exc:
            _fail(f"{type(exc).__name__}: {exc}", 1)


def stack_option(f: F) -> F:
    return click.option(
        "--stack", "stack_name", default=None, envvar="FLOWYML_STACK",
        help="Named stack from flowyml.toml (default: FLOWYML_STACK or the built-in local stack).",
    )(f)


def _stack(stack_name: str | None, root: Path | None = None) -> Any:
    """The stack, resolved in ``root`` (a pipeline file's project), else in the current
    directory's project (commands that take no pipeline file). Those refuse a folder in
    no project (``in_a_project``)."""
    from ..stack import as_stack

    if root is None and stack_name is None and not in_a_project():
        _fail(f"no FlowyML project here: no {' or '.join(MARKERS)} in {Path.cwd()} or above "
              "it, and no .flowyml folder. Run this in your project's folder (or name the "
              "store with FLOWYML_STORE / FLOWYML_CATALOG)")
    return as_stack(stack_name, root=root)


@click.group(cls=_Group)
@click.version_option(package_name="flowyml-core", prog_name="flowyml")
def main() -> None:
    """FlowyML: artifact-centric ML pipelines."""
    import warnings

    shown = warnings.showwarning

    def show(message: Any, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        # FlowyML's warnings are about the user's code as a whole; the line they would
        # name is click's (the frame that called into FlowyML), so only the text counts
        if category.__module__.partition(".")[0] == "flowyml":
            click.echo(f"{category.__name__}: {message}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


# ---------------------------------------------------------------- loading pipelines
def load_pipeline(target: str) -> Any:
    """``FILE[:PIPELINE]`` -> the Pipeline object defined in that file. Its ``root`` is
    the project of the file (or of the file that defined it, when imported there), never
    the current directory's: `flowyml run /abs/pipe.py` from anywhere uses that project's
    stack, and its code counts as the user's own."""
    from ..pipeline import Pipeline

    path_s, _, wanted = target.partition(":")
    if len(path_s) == 1 and wanted:  # a Windows drive letter, unlikely here
        path_s, wanted = target, ""
    path = Path(path_s).resolve()
    if not path.is_file():
        raise click.UsageError(f"no such pipeline file: {path_s}")
    from ..core.ownership import SCRIPT_MODULE, package_of

    module_name = path.stem if path.stem.isidentifier() else SCRIPT_MODULE
    sys.path.insert(0, str(path.parent))
    package = package_of(path)
    if package and module_name == path.stem:
        # a file of a package (``app/pipe.py`` beside ``app/__init__.py``): imported as
        # ``python -m app.pipe`` would, so its relative imports resolve; its folder
        # stays on the path too, for the sibling imports a script run makes work. The
        # package's parent goes last: a ``queue.py`` there must not shadow the
        # standard module for FlowyML's own imports
        sys.path.append(str(path.parents[package.count(".") + 1]))
        try:
            importlib.import_module(package)
        except Exception as exc:
            _import_failed(path_s, exc)
        module_name = f"{package}.{module_name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # not Python source: a notebook, say
        hint = (" (from a notebook, call pipe.plan() or pipe.run() in the notebook, or "
                "move the steps into a .py file)" if path.suffix == ".ipynb" else "")
        raise click.UsageError(f"{path_s} is not a Python file: FILE must be a .py file "
                               f"that defines a Pipeline{hint}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    from ..core.ownership import MAIN_STANDINS

    MAIN_STANDINS.append(module_name)  # what ``python FILE`` ran as ``__main__``
    from .. import pipeline as pipeline_module

    pipeline_module._IMPORTING.append(path)  # a run at import is refused
    try:
        spec.loader.exec_module(module)
    except FlowymlError:
        raise  # a build or run the file starts at import: said as such errors are
    except Exception as exc:  # (SystemExit and KeyboardInterrupt go on as they are)
        _import_failed(path_s, exc)
    finally:
        pipeline_module._IMPORTING.remove(path)
    found = {k: v for k, v in vars(module).items() if isinstance(v, Pipeline)}
    for p in found.values():
        if p.file is None:  # made by library code: the file it was loaded from decides
            p.file = path
    own = {k: v for k, v in found.items() if v.file == path}
    if not wanted and len(found) > 1 and len(own) == 1:
        found = own  # the file's own pipeline, not one it imported from another file
    if wanted:
        for var, p in found.items():
            if wanted in (var, p.name):
                return p
        raise click.UsageError(
            f"{path_s} has no pipeline {wanted!r}; it defines {sorted(p.name for p in found.values())}"
        )
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise click.UsageError(f"{path_s} defines no flowyml.Pipeline")
    names = sorted(p.name for p in found.values())
    raise click.UsageError(f"{path_s} defines several pipelines {names}; pick one with {path_s}:NAME")


def _import_failed(path_s: str, exc: BaseException) -> None:
    """The file raised at import (a syntax error, a missing module): its own frames and
    the error, without the importer's (click, importlib, FlowyML); exit 1."""
    import traceback

    from ..display import _flowyml_frame

    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not (f.filename.startswith("<frozen ") or _flowyml_frame(f.filename)
                      or "/click/" in f.filename.replace("\\", "/"))]
    text = ("your code raised (most recent call last):\n"
            + "".join(traceback.format_list(frames)) if frames else "")
    click.echo(text + "".join(traceback.format_exception_only(type(exc), exc)), err=True,
               nl=False)
    _fail(f"cannot import {path_s}: {type(exc).__name__} (above)", 1)


def _parse_params(items: tuple[str, ...]) -> dict[str, Any]:
    """``-p KEY=VALUE`` -> run values as text: build converts each by the annotation of
    the parameter it fills (``core.graph.RawValue``), or refuses it (``ParameterError``)."""
    from ..core.graph import RawValue

    out: dict[str, Any] = {}
    for item in items:
        key, eq, raw = item.partition("=")
        if not eq or not key:
            raise click.UsageError(f"-p expects KEY=VALUE, got {item!r}")
        out[key] = RawValue(raw)
    return out


def _step_failed(exc: StepFailed, full: bool) -> None:
    """A failing step: the user's own traceback (from the step's frame down) once, or
    with ``--traceback`` all of it, then the one-line error; exit 1."""
    import traceback

    from ..display import user_traceback

    if full:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    else:
        cause = exc.__cause__
        text = user_traceback(cause, exc.step) if cause is not None else ""
        if text:
            text += "(FlowyML's frames are hidden: --traceback shows them)\n"
    click.echo(text, err=True, nl=False)
    _fail(str(exc), 1)


# ---------------------------------------------------------------- run / plan
@main.command()
@click.argument("target")
@click.option("-p", "--param", "params", multiple=True,
              help="KEY=VALUE, converted by the parameter's annotation (lists and dicts as JSON).")
@click.option("--force", is_flag=True, help="Re-execute every step regardless of cache.")
@click.option("--executor", default=None, help="inline | processes[:N] | dask | dask://HOST:PORT")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@click.option("--traceback", "full_traceback", is_flag=True,
              help="On an error, show the whole traceback, FlowyML's frames included.")
@stack_option
def run(target: str, params: tuple[str, ...], force: bool, executor: str | None,
        quiet: bool, full_traceback: bool, stack_name: str | None) -> None:
    """Run the pipeline in FILE[:PIPELINE]."""
    from ..runtime.reporting import PrintReporter, Reporter

    pipe = load_pipeline(target)
    reporter: Reporter = Reporter() if quiet else PrintReporter()
    try:
        result = pipe.run(params=_parse_params(params), force=force,
                          stack=_stack(stack_name, pipe.root), executor=executor,
                          progress=reporter)
    except StepFailed as exc:
        _step_failed(exc, full_traceback)
        return
    except KeyboardInterrupt:  # the progress said it; not click's bare "Aborted!"
        if quiet:
            click.echo("run interrupted", err=True)
        sys.exit(130)  # as a shell reports a command stopped by Ctrl-C (128 + SIGINT)
    except Exception:
        if full_traceback:
            import traceback

            traceback.print_exc()
        raise
    if quiet:
        click.echo(result.id)


@main.command()
@click.argument("target")
@click.option("-p", "--param", "params", multiple=True,
              help="KEY=VALUE, converted by the parameter's annotation (lists and dicts as JSON).")
@stack_option
def plan(target: str, params: tuple[str, ...], stack_name: str | None) -> None:
    """Show what a run would execute and reuse, with reasons, without running."""
    pipe = load_pipeline(target)
    click.echo(str(pipe.plan(_parse_params(params), stack=_stack(stack_name, pipe.root))))


# ---------------------------------------------------------------- catalog views
def _fmt_time(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))




@main.command()
@click.option("-n", "--limit", default=20, show_default=True)
@stack_option
def runs(limit: int, stack_name: str | None) -> None:
    """List recent runs, newest first."""
    from ..catalog_api import Catalog

    cat = Catalog(_stack(stack_name))
    rows = cat.runs(limit=limit)
    if not rows:  # say where it looked: a pipeline elsewhere keeps its runs elsewhere
        click.echo(f"no runs yet in catalog {cat.display_url}")
        return
    # (bytes moved to and from the store; values small enough to stay in the catalog's
    # rows, ``inline_max``, move none)
    click.echo(f"{'RUN':28} {'PIPELINE':16} {'STATUS':10} {'STARTED':19} {'SECS':>7} "
               f"{'EXEC':>4} {'REUSE':>5} {'STORE READ':>10} {'STORE WRITTEN':>13}")
    counts = cat.step_counts([r.id for r in rows])
    for r in rows:
        n_exec = counts[r.id].get("executed", 0)
        n_reuse = counts[r.id].get("cached", 0)
        dur = "-" if r.finished_at is None else f"{r.finished_at - r.started_at:.2f}"
        io = r.stats.get("io", {})
        click.echo(
            f"{r.id:28} {r.pipeline[:16]:16} {r.status:10} {_fmt_time(r.started_at):19} {dur:>7} "
            f"{n_exec:>4} {n_reuse:>5} {_fmt_size(io.get('store_bytes_read', 0)):>10} "
            f"{_fmt_size(io.get('store_bytes_written', 0)):>13}"
        )
        if r.status == "failed" and r.error:
            click.echo(f"    {r.error}")


@main.command()
@click.argument("name", required=False)
@stack_option
def artifacts(name: str | None, stack_name: str | None) -> None:
    """List assets, or the versions of asset NAME."""
    from ..catalog_api import Catalog

    cat = Catalog(_stack(stack_name))
    if name is None:
        rows = cat.names()
        if not rows:
            click.echo(f"no artifacts yet in catalog {cat.display_url}")
        for n, count, latest in rows:
            click.echo(f"{n:30} {count:>4} version{'s' if count != 1 else ' '}  latest {_fmt_time(latest)}")
        return
    aliases = cat.aliases(name)
    by_version: dict[int, list[str]] = {}
    for alias, v in aliases.items():
        by_version.setdefault(v, []).append(alias)
    versions = cat.versions(name)
    # NAME@latest: what the last successful run output (see Catalog.get); for a name
    # with no version, get raises the error ``show`` and ``lineage`` give (exit 1)
    by_version.setdefault(cat.get(name).version, []).append("latest")
    for a in versions:
        tags = f"  [{', '.join(sorted(by_version[a.version]))}]" if a.version in by_version else ""
        click.echo(f"{a.name}@{a.version:<4} id {a.id}  hash {a.content_hash[:12]}  "
                   f"{_fmt_size(a.size):>9}  step {a.step}  run {a.run_id}{tags}")


@main.command()
@click.argument("spec")
@click.option("--code", "code", is_flag=True,
              help="Print the code of the step version that produced it (each helper under "
                   "its own heading).")
@stack_option
def show(spec: str, code: bool, stack_name: str | None) -> None:
    """Show one artifact: NAME, NAME@VERSION, NAME@ALIAS or an artifact id."""
    from ..catalog_api import Catalog

    cat = Catalog(_stack(stack_name))
    a = cat.resolve(spec)
    if code:
        from ..diff import artifact_code

        click.echo(str(artifact_code(a, stack=cat.stack)))
        return
    d = a.to_dict()
    d["parents"] = a.parents
    d["aliases"] = [k for k, v in cat.aliases(a.name).items() if v == a.version]
    d["created_at"] = _fmt_time(a.created_at)
    d["meta"] = {k: v for k, v in a.meta.items() if k != "schema"}
    for k, v in d.items():
        click.echo(f"{k:14} {v}")
    recorded = a.meta.get("schema")
    if isinstance(recorded, dict):  # a table's columns, dtypes and row count
        from ..core.contracts import describe_schema

        head, *columns = describe_schema(recorded)
        click.echo(f"{'schema':14} {head}")
        for line in columns:
            click.echo(f"{'':14}   {line}")
    _show_preview(a, cat)


def _show_preview(a: Any, cat: Any) -> None:
    """A small preview of the value (as the web page shows it; never unpickles)."""
    from ..display import make_preview, preview_lines

    for i, line in enumerate(preview_lines(make_preview(a, cat.stack.open_store()))):
        click.echo(f"{'preview' if i == 0 else '':14} {line}")


@main.command()
@click.argument("spec")
@click.option("--format", "fmt", type=click.Choice(["tree", "json", "mermaid"]), default="tree")
@click.option("--down", is_flag=True, help="Show what was derived from it instead.")
@click.option("--run", "run_id", default=None, metavar="RUN_ID",
              help="The tree as RUN_ID made it (default: as first produced).")
@click.option("--openlineage", "ol_run", default=None, metavar="RUN_ID",
              help="`lineage export --openlineage RUN_ID`: send a past run's OpenLineage events.")
@click.option("--url", "ol_url", default=None,
              help="With export: the endpoint (default: the stack's openlineage_url).")
@stack_option
def lineage(spec: str, fmt: str, down: bool, run_id: str | None, ol_run: str | None,
            ol_url: str | None, stack_name: str | None) -> None:
    """Lineage of NAME[@VERSION|@ALIAS] or an artifact id: its sources (or, --down, what
    was made from it). `flowyml lineage export --openlineage RUN_ID [--url URL]` sends
    the OpenLineage events of a past run (http(s)://... or file://PATH.jsonl)."""
    from ..catalog_api import Catalog
    from ..lineage import get_descendant_tree, get_lineage

    st = _stack(stack_name)
    if ol_run is not None or ol_url is not None:
        if spec != "export" or ol_run is None:
            raise click.UsageError("export with: flowyml lineage export --openlineage RUN_ID")
        from ..openlineage import export_run

        sent, where = export_run(st, ol_run, url=ol_url)
        click.echo(f"sent {sent} OpenLineage event(s) of run {ol_run} to {where}")
        return
    if down and run_id:
        raise click.UsageError("--run applies to the upward lineage, not to --down")
    if down:
        tree: Any = get_descendant_tree(Catalog(st).resolve(spec).id, stack=st)
    else:  # (with --run, a bare NAME is the version that run produced or reused)
        tree = get_lineage(spec if run_id else Catalog(st).resolve(spec), stack=st, run=run_id)
    if fmt == "json":
        try:
            click.echo(tree.to_json())
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    else:
        click.echo(tree.to_mermaid() if fmt == "mermaid" else str(tree))


@main.command()
@click.argument("first")
@click.argument("second")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@stack_option
def diff(first: str, second: str, fmt: str, stack_name: str | None) -> None:
    """Compare two runs (RUN_A RUN_B) or two artifacts (NAME@V1 NAME@V2).

    Runs: each step, executed or reused, with its differing run values, code (a unified
    diff of each changed part) and input versions; each asset's version and hash.
    Artifacts: where their lineages first diverge, walking up. Exits 0 either way."""
    from ..diff import compare

    result = compare(first, second, stack=_stack(stack_name))
    click.echo(json.dumps(result.to_dict(), indent=2) if fmt == "json" else str(result))


@main.command()
@click.argument("name")
@click.argument("version", type=int)
@click.argument("alias")
@stack_option
def tag(name: str, version: int, alias: str, stack_name: str | None) -> None:
    """Point ALIAS of NAME at VERSION (e.g. `flowyml tag model 3 prod`)."""
    from ..catalog_api import Catalog

    Catalog(_stack(stack_name)).tag(name, version, alias)
    click.echo(f"{name}@{alias} -> version {version}")


@main.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted.")
@click.option("--grace", type=click.FloatRange(min=0), default=None,
              help="Keep unreferenced objects younger than this many seconds (default: the stack's).")
@click.option("--forget-catalog", "forget", multiple=True, metavar="ID",
              help="First forget a catalog, gone for good, that the store says writes to it "
                   "(its objects are then garbage). Repeatable.")
@stack_option
def gc(dry_run: bool, grace: float | None, forget: tuple[str, ...], stack_name: str | None) -> None:
    """Delete store objects that no catalog entry references. Refuses, deleting
    nothing, while the store says other catalogs write to it."""
    from .maintenance import collect_garbage, shared_store_error

    st = _stack(stack_name)
    report = collect_garbage(st, dry_run=dry_run, grace_seconds=grace, forget=forget)
    verb = "would delete" if dry_run else "deleted"
    for i in forget if dry_run else report.forgotten:
        click.echo(f"  {'would forget' if dry_run else 'forgot'} catalog {i}")
    for d in report.deleted:
        click.echo(f"  {verb} {d}")
    click.echo(f"{verb} {len(report.deleted)} object(s), {_fmt_size(report.bytes)}; "
               f"kept {report.kept_young} young unreferenced object(s)")
    if report.first:
        click.echo(f"note: store {st.open_store().uri} named no catalog before this gc. A "
                   "project sharing it that wrote to it only with an older FlowyML (before "
                   "stores named the catalogs writing to them) is not known to it: run "
                   "`flowyml gc --dry-run` there, which names its catalog in the store, and "
                   "gc from any other catalog then refuses to delete its objects")
    if report.others:
        cat = st.open_catalog()
        _fail("gc would refuse: " + shared_store_error(
            st.open_store().uri, st.name, cat.display_url, cat.catalog_id() or "?", report.others))


@main.command()
@click.option("--keep-last", type=int, default=None, metavar="N",
              help="Keep the N most recent runs of each pipeline.")
@click.option("--older-than", default=None, metavar="DURATION",
              help="Delete only runs started longer ago: 30d, 12h, 90m, 2w or seconds.")
@click.option("--pipeline", default=None, help="Only consider runs of this pipeline.")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@click.option("--wait", type=float, default=300.0, show_default=True,
              help="Seconds to wait for runs in progress before deleting.")
@stack_option
def prune(keep_last: int | None, older_than: str | None, pipeline: str | None, dry_run: bool,
          wait: float, stack_name: str | None) -> None:
    """Delete runs and artifact versions outside a retention policy (then `gc` frees the
    bytes). Never deletes an artifact with an alias, one a kept run used, or one in the
    lineage of a kept artifact; keeps the run that first made a kept artifact."""
    from ..retention import Policy, parse_duration
    from ..retention import prune as run_prune
    from .maintenance import prune_lines

    try:
        seconds = None if older_than is None else parse_duration(older_than)
        policy = Policy(keep_last, seconds, pipeline)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    report = run_prune(_stack(stack_name), policy, dry_run=dry_run, wait=wait)
    for line in prune_lines(report, _fmt_size, _fmt_time):
        click.echo(line)


@main.command()
@stack_option
def verify(stack_name: str | None) -> None:
    """Rehash every stored object; list corrupt and missing ones and broken lineage
    references (exit 1 if any)."""
    from .maintenance import verify_store

    st = _stack(stack_name)
    report = verify_store(st)
    reader = st.open_catalog() if report.corrupt or report.missing else None

    def which(digest: str) -> str:  # the artifact versions whose bytes these are
        assert reader is not None
        found = reader.search(hash_prefix=digest, limit=20)
        return f"  ({', '.join(f'{a.name}@{a.version}' for a in found)})" if found else ""

    for d in report.corrupt:
        click.echo(f"  corrupt  {d}{which(d)}")
    for d in report.missing:
        click.echo(f"  missing  {d}{which(d)}")
    for line in report.broken:
        click.echo(f"  lineage  {line}")
    click.echo(f"checked {report.checked} object(s): {len(report.corrupt)} corrupt, "
               f"{len(report.missing)} missing; lineage: {len(report.broken)} broken reference(s)")
    if report.corrupt or report.missing:
        click.echo("to store them again, run the pipelines that made them with --force "
                   "(`flowyml run FILE --force`)")
    if report.others:
        click.echo(f"note: {len(report.others)} other catalog(s) write to this store; run "
                   "verify with each to check that what it references is stored:")
        for r in report.others:
            click.echo(f"  {r.where()}")
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option("--dir", "workdir", type=click.Path(file_okay=False), default=None,
              help="Project folder for the demo's store and catalog (default: current project).")
def demo(workdir: str | None) -> None:
    """Run the demo ML pipeline twice, then print the model's lineage."""
    from .demo import main as demo_main

    demo_main(workdir)


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port (0 picks a free one).")
@click.option("--host", default=None, envvar="FLOWYML_UI_HOST",
              help="Interface to listen on (default 127.0.0.1). The page has no login: a "
                   "non-loopback address must be given here, on the command line.")
@stack_option
def ui(port: int, host: str | None, stack_name: str | None) -> None:
    """Serve a read-only web page of runs, artifacts and lineage until Ctrl-C."""
    try:
        from ..ui.server import serve
    except ModuleNotFoundError as exc:
        _fail(f"the web page needs {exc.name}: pip install 'flowyml-core[ui]'")
    source = click.get_current_context().get_parameter_source("host")
    serve(_stack(stack_name), host, port, expose=source == click.core.ParameterSource.COMMANDLINE,
          echo=click.echo, warn=lambda m: click.secho(m, fg="yellow", err=True))


from .stack import cache_group, stack_group  # noqa: E402  (stack and cache commands)

main.add_command(stack_group)
main.add_command(cache_group)

if __name__ == "__main__":  # pragma: no cover
    main()
