"""``Pipeline``: a named set of steps; the graph is inferred from asset names."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.errors import ArtifactNotFoundError, MissingInputError, ParameterError
from .core.graph import Graph, build_graph
from .core.names import check_name
from .core.step import Step, warn_redefined

if TYPE_CHECKING:
    from .catalog.records import ArtifactRecord
    from .executors.base import Executor
    from .run import Run
    from .runtime import Reporter
    from .runtime.planning import Plan
    from .stack import Stack


class Pipeline:
    """``Pipeline(name, steps)``; order of ``steps`` does not matter."""

    def __init__(self, name: str, steps: Iterable[Step]) -> None:
        from .core.project import defining_file

        self.name = check_name(name, "pipeline name")
        if not isinstance(steps, Iterable):  # (one step, not a list of them)
            what = getattr(steps, "name", None) or getattr(steps, "__name__", None) or "..."
            raise ParameterError(f"pipeline {self.name!r}: pass a list of steps, "
                                 f"fm.Pipeline({self.name!r}, [{what}])")
        self.steps = list(steps)
        if not self.steps:
            raise ParameterError(f"pipeline {self.name!r} has no steps: pass the steps to "
                                 f"run, fm.Pipeline({self.name!r}, [load, train])")
        #: the file that defined this pipeline (else its first step's file), None when
        #: there is none (a notebook, ``python -c``): it decides the project root
        self.file: Path | None = defining_file(sys._getframe(1).f_globals.get("__file__"), self.steps)

    @property
    def root(self) -> Path:
        """The project root: the nearest folder at or above ``file`` holding
        ``pyproject.toml`` or ``flowyml.toml`` (the current directory's project when
        there is no file). Its config file picks the stack, and code under it counts as
        the user's own for the cache."""
        from .core.project import pipeline_root

        return pipeline_root(self.file)

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}: {len(self.steps)} steps>"

    def build(
        self, params: Mapping[str, Any] | None = None, stack: Stack | str | None = None
    ) -> Graph:
        """Validate the pipeline and return its graph. Runs no user code; raises a
        ``BuildError`` subclass naming the step, the asset and the fix."""
        graph, _ = self._build(params, stack)
        return graph

    def _build(
        self, params: Mapping[str, Any] | None, stack: Stack | str | None, running: bool = False
    ) -> tuple[Graph, dict[tuple[str, str], ArtifactRecord]]:
        refs: dict[tuple[str, str], ArtifactRecord] = {}
        needs_catalog = any(s.from_catalog for st in self.steps if isinstance(st, Step)
                            for s in st.input_map.values())

        def resolve(asset: str, selector: str) -> ArtifactRecord:
            from .stack import as_stack

            st = as_stack(stack, root=self.root)
            try:  # one probe of the catalog a run opens anyway
                refs[(asset, selector)] = st.open_runtime_catalog().find(asset, selector)
            except ArtifactNotFoundError as exc:
                raise MissingInputError(  # (the catalog's message names a close asset)
                    f"pipeline {self.name!r}: catalog reference {asset}@{selector} does not "
                    f"resolve: {exc}"
                ) from None
            return refs[(asset, selector)]  # its recorded schema is checked (contracts.py)

        from .core.gcpause import cyclic_gc_paused

        with cyclic_gc_paused(len(self.steps)):  # see gcpause: it would scan, free nothing
            graph = build_graph(self.steps, params, resolve if needs_catalog else None)
        warn_redefined(self.steps, self.name)
        # every key is taken now, before any step runs; what the fingerprint cannot see
        # through is warned about here, at build
        from .core.fingerprint import fingerprint_graph
        from .stack import Stack

        root = stack.root if isinstance(stack, Stack) and stack.root else self.root
        fingerprint_graph(graph, root, flush=not running)  # a run writes the memo at its end
        return graph, refs

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        force: bool | Iterable[str] = False,
        *,
        stack: Stack | str | None = None,
        executor: str | None = None,
        progress: bool | Reporter = False,
    ) -> Run:
        """Build, then execute what is not cached. ``force=True`` (or a list of step
        names) re-executes regardless of cache. Prints nothing unless ``progress``."""
        from .core.gcpause import paused_until_user_code

        if _IMPORTING:
            _refuse_run_at_import(self.name, _IMPORTING[-1])
        with paused_until_user_code():  # (see gcpause: ends before any step body runs)
            return self._run(dict(params or {}), force, stack, executor, progress)

    def _run(self, params: dict[str, Any], force: bool | Iterable[str], stack: Stack | str | None,
             executor: str | None, progress: bool | Reporter) -> Run:
        from .core.struct import replace
        from .runtime.reporting import reporter_from
        from .stack import as_stack

        graph, refs = self._build(params, stack, running=True)
        st = as_stack(stack, root=self.root)
        if executor is not None:
            st = replace(st, executor=executor)
        reporter = reporter_from(progress)
        if st.openlineage_url:  # events only when the stack asks for them
            from .openlineage import reporter_for

            reporter = reporter_for(st, self.name, graph, refs, reporter)
        return run_graph(self.name, graph, st, params, force=force,
                         reporter=reporter, catalog_refs=refs)

    def plan(
        self, params: Mapping[str, Any] | None = None, stack: Stack | str | None = None
    ) -> Plan:
        """What a run would do now, without running: ``[(step, "run"|"reuse"|"run?",
        reason)]``, shown (``print``, a notebook) as ``flowyml plan`` prints it."""
        from .runtime.planning import plan
        from .stack import as_stack

        params = dict(params or {})
        graph, refs = self._build(params, stack)
        return plan(self.name, graph, as_stack(stack, root=self.root), params, refs)


# the pipeline files the CLI is importing now, to find their pipeline (see cli.commands)
_IMPORTING: list[Path] = []


def _refuse_run_at_import(name: str, file: Path) -> None:
    """A file that runs a pipeline when imported: ``flowyml run``/``plan`` import it to
    find its pipeline, so that run would come before (or instead of) the one asked for,
    and ``plan`` would execute steps. Refused before anything runs, naming the line."""
    from .core.errors import ConfigError

    frame = sys._getframe(2)
    while frame is not None and Path(frame.f_code.co_filename) != file:
        frame = frame.f_back  # type: ignore[assignment]
    where = f"{file.name}:{frame.f_lineno}" if frame is not None else file.name
    raise ConfigError(
        f"{where} runs pipeline {name!r} when the file is imported, and the flowyml command "
        "imports it to find its pipeline: put the run under `if __name__ == \"__main__\":` "
        "(nothing ran)"
    )


def run_graph(
    name: str,
    graph: Graph,
    stack: Stack,
    params: dict[str, Any],
    *,
    force: bool | Iterable[str] = False,
    reporter: Reporter | None = None,
    executor: Executor | None = None,
    catalog_refs: dict[tuple[str, str], ArtifactRecord] | None = None,
) -> Run:
    """Execute a built graph on ``stack`` and hand back the ``Run``: its artifacts load
    lazily from the stack's store. A failed run raises (``StepFailed``, with the run as
    ``.run`` and the user's exception as ``__cause__``) after it was recorded."""
    from .artifact import Artifact
    from .run import Run
    from .runtime import execute
    from .runtime.reporting import Reporter

    reporter = reporter or Reporter()
    out = execute(name, graph, stack, params, force=force, reporter=reporter,
                  executor=executor, catalog_refs=catalog_refs)
    artifacts = {}
    for asset, rec in out.produced.items():
        art = Artifact(rec, stack)
        if asset in out.values:
            art._set_value(out.values[asset])
        artifacts[asset] = art
    run = Run(out.run_id, out.pipeline, out.status, out.steps, artifacts, stack, io=out.io,
              error=out.error, duration=out.duration)
    reporter.run_finished(run)
    failed = out.failure_error()
    if failed is None:
        return run
    err, cause = failed
    if err is (out.failure[1] if out.failure else None):
        raise err  # a framework error, raised as it came
    err.run = run  # type: ignore[attr-defined]
    raise err from cause
