"""OpenLineage: run events for every step of a run, sent with the official client.

Enabled by a stack's ``openlineage_url`` (or ``FLOWYML_OPENLINEAGE_URL``):
``http(s)://SERVER`` (events are POSTed to ``SERVER/api/v1/lineage``, as the client
does for ``OPENLINEAGE_URL``) or ``file://PATH.jsonl`` (one event per line, appended; a
relative PATH is under the project root). Needs ``pip install 'flowyml-core[openlineage]'``.

What is sent (see README, "OpenLineage"):

- the pipeline run is a run of job ``PIPELINE`` in namespace ``flowyml/PIPELINE``: START
  when it starts, COMPLETE or FAIL when it ends;
- each step is job ``STEP`` in the same namespace, with the pipeline run as its
  ``parent``: an executed step sends START when it starts and COMPLETE (or FAIL, with
  an ``errorMessage`` facet) when it ends; a reused step sends START and COMPLETE when it
  is reused. Its ``flowyml`` run facet says ``executed`` / ``reused`` / ``failed`` and why;
- inputs and outputs are datasets named by asset, in the namespace of the store that
  holds their bytes, with the ``version`` facet and a ``flowyml_artifact`` facet
  (version, content hash, artifact id, size, materializer, type);
- run ids are UUIDs derived from the FlowyML run id (and step name), so the events of a
  past run sent again (``export_run``, ``flowyml lineage export --openlineage RUN_ID``)
  name the same runs.

Sending never fails or slows a run: one background thread per run imports the client,
builds the events (reading artifact versions from the catalog) and sends them in order,
while the run goes on (from ``STREAM_AFTER_SECONDS`` into it: a short run sends after it
ends); ``run()`` returns without waiting for it. The first failure is
logged once (WARNING on ``flowyml.openlineage``) and the rest of that run's events are
dropped; each request times out after ``TIMEOUT_SECONDS``. ``flush()`` waits for what
is left, and so does the interpreter at exit, for at most ``FLUSH_SECONDS``.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .runtime.reporting import Reporter

if TYPE_CHECKING:
    from .catalog.records import ArtifactRecord, StepRecord
    from .catalog.sql import SqlCatalog
    from .core.errors import FlowymlError
    from .core.graph import Graph
    from .run import Run, StepResult
    from .stack import Stack

log = logging.getLogger("flowyml.openlineage")

TIMEOUT_SECONDS = 2.0  # one HTTP request
FLUSH_SECONDS = 10.0  # at the end of a run, for events not sent yet (0 when sending failed)
RECORD_WAIT_SECONDS = 2.0  # for a step's artifacts to be written (group commit)
STREAM_AFTER_SECONDS = 5.0  # a run still going then has its events sent as they come
_NS = uuid.UUID("0e6f8c1e-5a5d-4c55-9a43-6f6c6f77796d")  # uuid5 namespace of run ids
_warned: set[str] = set()  # targets whose failure was logged (once per process)
_senders: set[Sender] = set()  # threads with events still to send
_lock = threading.Lock()


def run_uuid(run_id: str, step: str | None = None) -> str:
    """The OpenLineage run id of FlowyML run ``run_id`` (or of its step ``step``)."""
    return str(uuid.uuid5(_NS, run_id if step is None else f"{run_id}/{step}"))


def datasets_namespace(stack: Stack) -> str:
    """Where the stack's artifacts live, as a URI (secrets masked): a dataset is an asset
    of this store (``file:///abs/path`` for a local folder)."""
    from .core.secrets import mask_uri

    store = str(stack.store or "")
    return mask_uri(store if "://" in store else "file://" + os.path.abspath(store))


def check_target(url: str) -> None:
    """Refuse a setting that is neither ``http(s)://`` nor ``file://`` (at run start)."""
    if not url.startswith(("http://", "https://", "file://")):
        from .core.errors import ConfigError

        raise ConfigError(
            f"openlineage_url {url!r} is not supported: use http(s)://SERVER (an OpenLineage "
            "endpoint such as Marquez) or file://PATH.jsonl"
        )


# ------------------------------------------------------------------ what an event says
@dataclass
class StepView:
    """One step of one run, as events describe it (from a live run or the catalog)."""

    name: str
    status: str  # "executed" | "reused" | "failed" | "interrupted" (Ctrl-C: ABORT)
    reason: str
    code_version: str
    cache_key: str
    attempts: int
    error: str | None
    started: float
    ended: float
    inputs: list[ArtifactRecord] = field(default_factory=list)
    outputs: list[ArtifactRecord] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)  # output assets, named at START


@dataclass(frozen=True)
class Context:
    """Names shared by the events of one run."""

    pipeline: str
    run_id: str  # the FlowyML run id
    datasets: str  # dataset namespace: the store's URI (secrets masked)

    @property
    def namespace(self) -> str:
        return f"flowyml/{self.pipeline}"


@lru_cache(maxsize=1)
def _ol() -> SimpleNamespace:
    """The client's classes and FlowyML's two facets, imported on first use."""
    import attr
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent
    from openlineage.client.event_v2 import RunState as State
    from openlineage.client.facet_v2 import (
        DatasetFacet,
        RunFacet,
        dataset_version_dataset,
        error_message_run,
        job_type_job,
        parent_run,
    )

    schema = f"https://pypi.org/project/flowyml-core/{_version()}/#/$defs/"

    @attr.define
    class FlowymlArtifactDatasetFacet(DatasetFacet):
        version: int
        contentHash: str
        artifactId: str
        size: int
        materializer: str
        type: str

        @staticmethod
        def _get_schema() -> str:
            return schema + "FlowymlArtifactDatasetFacet"

    @attr.define
    class FlowymlRunFacet(RunFacet):
        flowymlRunId: str
        status: str
        reason: str
        codeVersion: str = ""
        cacheKey: str = ""
        attempts: int = 0

        @staticmethod
        def _get_schema() -> str:
            return schema + "FlowymlRunFacet"

    return SimpleNamespace(
        InputDataset=InputDataset, OutputDataset=OutputDataset, Job=Job, Run=Run,
        RunEvent=RunEvent, State=State, version=dataset_version_dataset, error=error_message_run,
        job_type=job_type_job, parent=parent_run, Artifact=FlowymlArtifactDatasetFacet,
        RunFacet=FlowymlRunFacet, producer=f"https://pypi.org/project/flowyml-core/{_version()}/",
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowyml-core")
    except PackageNotFoundError:  # running from a source tree
        return "0"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


def _dataset(ctx: Context, rec: ArtifactRecord | str, output: bool) -> Any:
    ol = _ol()
    cls = ol.OutputDataset if output else ol.InputDataset
    if isinstance(rec, str):  # a declared output, before it exists
        return cls(namespace=ctx.datasets, name=rec)
    facets = {
        "version": ol.version.DatasetVersionDatasetFacet(datasetVersion=str(rec.version)),
        "flowyml_artifact": ol.Artifact(
            version=rec.version, contentHash=rec.content_hash, artifactId=rec.id,
            size=rec.size, materializer=rec.materializer, type=rec.type_name,
        ),
    }
    return cls(namespace=ctx.datasets, name=rec.name, facets=facets)


def _event(ctx: Context, state: str, when: float, job: str, run_id: str,
           facets: dict[str, Any], inputs: list[Any], outputs: list[Any], kind: str = "STEP") -> Any:
    ol = _ol()
    job_facets = {"jobType": ol.job_type.JobTypeJobFacet(
        processingType="BATCH", integration="FLOWYML", jobType=kind)}
    return ol.RunEvent(
        eventType=getattr(ol.State, state), eventTime=_iso(when), producer=ol.producer,
        run=ol.Run(runId=run_id, facets=facets),
        job=ol.Job(namespace=ctx.namespace, name=job, facets=job_facets),
        inputs=inputs, outputs=outputs,
    )


def pipeline_event(ctx: Context, state: str, when: float, status: str, error: str | None) -> Any:
    """START, COMPLETE, FAIL or ABORT of the pipeline run (the parent of its steps' runs)."""
    ol = _ol()
    facets: dict[str, Any] = {"flowyml": ol.RunFacet(
        flowymlRunId=ctx.run_id, status=status, reason=error or status)}
    if error:
        facets["errorMessage"] = ol.error.ErrorMessageRunFacet(
            message=error, programmingLanguage="python")
    return _event(ctx, state, when, ctx.pipeline, run_uuid(ctx.run_id), facets, [], [], "PIPELINE")


def step_events(ctx: Context, view: StepView, phases: tuple[str, ...]) -> list[Any]:
    """The events of one step: ``"start"`` and/or ``"end"`` (COMPLETE or FAIL)."""
    ol = _ol()
    parent = ol.parent.ParentRunFacet(
        run=ol.parent.Run(runId=run_uuid(ctx.run_id)),
        job=ol.parent.Job(namespace=ctx.namespace, name=ctx.pipeline),
    )
    facets: dict[str, Any] = {"parent": parent, "flowyml": ol.RunFacet(
        flowymlRunId=ctx.run_id, status=view.status, reason=view.reason,
        codeVersion=view.code_version, cacheKey=view.cache_key, attempts=view.attempts)}
    inputs = [_dataset(ctx, r, False) for r in view.inputs]
    out: list[Any] = []
    rid = run_uuid(ctx.run_id, view.name)
    if "start" in phases:
        declared = [_dataset(ctx, n, True) for n in view.declared]
        out.append(_event(ctx, "START", view.started, view.name, rid, facets, inputs, declared))
    if "end" in phases:
        end = dict(facets)
        if view.status == "failed":
            end["errorMessage"] = ol.error.ErrorMessageRunFacet(
                message=view.error or view.reason, programmingLanguage="python")
        outputs = [_dataset(ctx, r, True) for r in view.outputs]
        state = {"failed": "FAIL", "interrupted": "ABORT"}.get(view.status, "COMPLETE")
        out.append(_event(ctx, state, view.ended, view.name, rid, end, inputs, outputs))
    return out


# ------------------------------------------------------------------ sending
def make_client(url: str, root: str | None) -> Any:
    """An ``OpenLineageClient`` for ``url``: HTTP with a short timeout and no retry of
    failed connections, or a file that each event is appended to as one line."""
    from openlineage.client import OpenLineageClient

    check_target(url)
    if url.startswith("file://"):
        from openlineage.client.transport.file import FileConfig, FileTransport

        path = url[len("file://"):]
        if not os.path.isabs(path):
            path = os.path.join(root or os.getcwd(), path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=path, append=True)))
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    retry = {"total": 1, "connect": 0, "read": 0, "status": 1, "backoff_factor": 0.1,
             "status_forcelist": [500, 502, 503, 504], "allowed_methods": ["POST"]}
    config = HttpConfig(url=url, timeout=TIMEOUT_SECONDS, retry=retry)
    return OpenLineageClient(transport=HttpTransport(config))


def _where(url: str) -> str:
    from .core.secrets import mask_uri

    return mask_uri(url)


class Sender:
    """One daemon thread that builds and sends a run's events in order. It sends once
    the run id is known (``ready``); the first failure stops it; ``close`` lets it end
    after the queued events, without waiting for it (see ``flush``)."""

    def __init__(self, url: str, root: str | None) -> None:
        # the client imports this, which registers an exit hook: that is refused once the
        # interpreter is exiting (when a short run's events may still be sent), not now
        import concurrent.futures.thread  # noqa: F401

        self.url, self.root = url, root
        self.jobs: queue.Queue[Callable[[], list[Any]] | None] = queue.Queue()
        self.ready = threading.Event()  # the run id is known
        self.done = threading.Event()  # the run has ended: no more events
        self.failed = False
        self.sent = 0
        self.thread = threading.Thread(target=self._loop, name="flowyml-openlineage", daemon=True)
        with _lock:
            _senders.add(self)
        self.thread.start()

    def put(self, build: Callable[[], list[Any]]) -> None:
        self.jobs.put(build)

    def close(self, drop: bool = False) -> None:
        """No more events (``drop``: and none of those queued); returns at once."""
        self.failed = self.failed or drop
        self.jobs.put(None)
        self.done.set()
        self.ready.set()

    def _loop(self) -> None:
        try:
            self.ready.wait()
            # importing the client takes a second of CPU: a short run ends first, so it
            # is not slowed; a long one streams its events after STREAM_AFTER_SECONDS
            self.done.wait(STREAM_AFTER_SECONDS)
            client: Any = None
            try:
                client = make_client(self.url, self.root)
            except Exception as exc:  # not installed, a bad path: never the run's problem
                self._fail(exc)
            while (build := self.jobs.get()) is not None:
                if self.failed:
                    continue
                try:
                    for event in build():
                        client.emit(event)
                        self.sent += 1
                except Exception as exc:
                    self._fail(exc)
        finally:
            with _lock:
                _senders.discard(self)

    def _fail(self, exc: BaseException) -> None:
        self.failed = True
        if self.url in _warned:
            log.debug("OpenLineage: %s", exc)
            return
        _warned.add(self.url)
        hint = " (pip install 'flowyml-core[openlineage]')" if isinstance(exc, ImportError) else ""
        log.warning("OpenLineage events to %s are not sent: %s: %s%s; the run goes on without "
                    "them", _where(self.url), type(exc).__name__, exc, hint)


def flush(timeout: float = FLUSH_SECONDS) -> bool:
    """Wait until the events of every finished run are sent (or dropped), at most
    ``timeout`` seconds; True when nothing is left. Runs that never finished (the
    process is exiting) have their events dropped."""
    deadline = time.monotonic() + timeout
    with _lock:
        pending = list(_senders)
    for sender in pending:
        if not sender.done.is_set():
            sender.close(drop=True)
        sender.thread.join(max(0.0, deadline - time.monotonic()))
    return not any(s.thread.is_alive() for s in pending)


atexit.register(flush)  # cheap: no thread, nothing to wait for unless a run sent events


# ------------------------------------------------------------------ a live run
class OpenLineageReporter(Reporter):
    """Sends a run's events as its steps start and finish; every callback is passed on
    to ``inner`` (the progress printer) first."""

    def __init__(self, url: str, stack: Stack, pipeline: str, graph: Graph,
                 refs: Mapping[tuple[str, str], ArtifactRecord], inner: Reporter | None = None) -> None:
        self.inner = inner or Reporter()
        self.stack, self.pipeline, self.graph, self.refs = stack, pipeline, graph, dict(refs)
        self.datasets = datasets_namespace(stack)
        self.run_id: str | None = None
        self.began = time.time()
        self.outputs: dict[str, dict[str, str]] = {}  # step -> {asset: artifact id} (sender)
        self.started: dict[str, float] = {}
        self.sender = Sender(url, stack.root)
        self.sender.put(lambda: [pipeline_event(self._ctx(), "START", self.began, "running", None)])

    def run_started(self, run_id: str, pipeline: str) -> None:
        """Called by the runtime when it has the run id (events then flow at once)."""
        self.run_id = run_id
        self.sender.ready.set()

    def _ctx(self) -> Context:
        assert self.run_id is not None
        return Context(self.pipeline, self.run_id, self.datasets)

    def step_started(self, name: str) -> None:
        self.inner.step_started(name)
        self.started[name] = now = time.time()
        declared = list(self.graph.steps[name].outputs)

        def build() -> list[Any]:  # in the sender, in order: its producers are known
            view = StepView(name, "executed", "started", "", "", 0, None, now, now,
                            self._records(self._input_ids(name)), [], declared)
            return step_events(self._ctx(), view, ("start",))

        self.sender.put(build)

    def step_finished(self, result: StepResult) -> None:
        self.inner.step_finished(result)
        if result.status not in ("executed", "cached", "failed"):
            return
        now = time.time()
        started = self.started.get(result.name, now)
        phases = ("end",) if result.name in self.started else ("start", "end")
        status = {"cached": "reused"}.get(result.status, result.status)

        def build() -> list[Any]:
            outputs = self._outputs(result)
            view = StepView(result.name, status, result.reason, result.code_version,
                            result.cache_key, result.attempts, result.error, started, now,
                            self._records(self._input_ids(result.name)), outputs,
                            list(self.graph.steps[result.name].outputs))
            return step_events(self._ctx(), view, phases)

        self.sender.put(build)

    def run_finished(self, run: Run) -> None:
        self.inner.run_finished(run)
        self.run_id = run.id
        state = "COMPLETE" if run.status == "succeeded" else "FAIL"
        when = time.time()
        self.sender.put(lambda: [pipeline_event(self._ctx(), state, when, run.status, run.error)])
        self.sender.close()

    def run_interrupted(self, run_id: str, pipeline: str, seconds: float,
                        stopped: list[str], executed: int, reused: int) -> None:
        """Ctrl-C: the pipeline's run is ABORTed (OpenLineage's state for a run stopped
        from outside), as ``flowyml runs`` records it interrupted."""
        self.inner.run_interrupted(run_id, pipeline, seconds, stopped, executed, reused)
        self.run_id = run_id
        when = time.time()
        why = "run interrupted (KeyboardInterrupt)"

        def build() -> list[Any]:  # the steps that were running, then the pipeline's run
            out = []
            for name in stopped:
                view = StepView(name, "interrupted", why, "", "", 1, None,
                                self.started.get(name, when), when,
                                self._records(self._input_ids(name)), [],
                                list(self.graph.steps[name].outputs))
                out += step_events(self._ctx(), view, ("end",))
            return [*out, pipeline_event(self._ctx(), "ABORT", when, "failed", why)]

        self.sender.put(build)
        self.sender.close()

    def _outputs(self, result: StepResult) -> list[ArtifactRecord]:
        """A step's output records; a reused step's from its cache entry (its result
        may not list them)."""
        if result.outputs or result.status != "cached":
            recs = self._records(list(result.outputs.values()))
        else:
            hit = self.stack.open_catalog().lookup_cache_many([result.cache_key])
            recs = list(hit.get(result.cache_key, {}).values())
        self.outputs[result.name] = {r.name: r.id for r in recs}
        return recs

    def _input_ids(self, name: str) -> list[str]:
        ids = []
        for b in self.graph.bindings[name].values():
            if b.kind == "asset" and b.producer and b.asset:
                ids.append(self.outputs.get(b.producer, {}).get(b.asset, ""))
            elif b.kind == "catalog" and b.asset and b.selector:
                rec = self.refs.get((b.asset, b.selector))
                ids.append(rec.id if rec else "")
        return [i for i in ids if i]

    def _records(self, ids: list[str]) -> list[ArtifactRecord]:
        """The artifacts ``ids``, waiting briefly for the ones not written yet."""
        catalog: SqlCatalog = self.stack.open_catalog()
        got: dict[str, ArtifactRecord] = {}
        deadline = time.monotonic() + RECORD_WAIT_SECONDS
        while True:
            got.update(catalog.artifacts_by_id([i for i in ids if i not in got]))
            if len(got) == len(set(ids)) or time.monotonic() > deadline:
                return [got[i] for i in dict.fromkeys(ids) if i in got]
            time.sleep(0.05)


def reporter_for(stack: Stack, pipeline: str, graph: Graph,
                 refs: Mapping[tuple[str, str], ArtifactRecord],
                 inner: Reporter | None) -> Reporter | None:
    """An ``OpenLineageReporter`` around ``inner`` when ``stack`` has an
    ``openlineage_url`` (else ``inner``, unchanged: nothing is imported)."""
    url = getattr(stack, "openlineage_url", None)
    if not url:
        return inner
    check_target(url)
    return OpenLineageReporter(url, stack, pipeline, graph, refs, inner)


# ------------------------------------------------------------------ a past run
def export_run(stack: Stack, run_id: str, url: str | None = None) -> tuple[int, str]:
    """Send the events of past run ``run_id`` from the catalog to ``url`` (default: the
    stack's ``openlineage_url``); returns (events sent, where). Raises on failure."""
    from .core.errors import ConfigError, FlowymlError
    from .core.secrets import mask_uri

    target = url or stack.openlineage_url
    if not target:
        raise ConfigError("no OpenLineage endpoint: pass --url, set FLOWYML_OPENLINEAGE_URL, or "
                          "openlineage_url in the stack")
    check_target(target)
    try:  # the events are the client's classes too
        events = run_events(stack, run_id)
        client = make_client(target, stack.root)
    except ImportError as exc:
        raise _no_client(exc) from exc
    try:
        for event in events:
            client.emit(event)
    except ImportError as exc:
        raise _no_client(exc) from exc
    except Exception as exc:
        raise FlowymlError(f"sending OpenLineage events to {_where(target)} failed: "
                           f"{type(exc).__name__}: {exc}") from exc
    return len(events), mask_uri(target)


def _no_client(exc: ImportError) -> FlowymlError:
    from .core.errors import ConfigError

    return ConfigError(f"OpenLineage needs its client: pip install "
                       f"'flowyml-core[openlineage]' ({exc})")


def run_events(stack: Stack, run_id: str) -> list[Any]:
    """The events of past run ``run_id``, rebuilt from the catalog, in order."""

    catalog: SqlCatalog = stack.open_catalog()
    run = catalog.get_run(run_id)
    ctx = Context(run.pipeline, run.id, datasets_namespace(stack))
    events = [pipeline_event(ctx, "START", run.started_at, "running", None)]
    rows = [s for s in catalog.step_runs(run_id) if not s.step.endswith("]")]  # no map elements
    views = _views(catalog, run_id, rows)
    for view in sorted(views, key=lambda v: v.started):
        events += step_events(ctx, view, ("start", "end"))
    if run.status != "running":
        state = "COMPLETE" if run.status == "succeeded" else "FAIL"
        events.append(pipeline_event(ctx, state, run.finished_at or run.started_at, run.status,
                                     run.error))
    return events


def _views(catalog: SqlCatalog, run_id: str, rows: list[StepRecord]) -> list[StepView]:
    """Each step record as a ``StepView``; inputs from the derivation the run made (a
    reused step: the first production's), a failed step's by content hash."""
    out_ids = [i for s in rows for i in s.outputs.values()]
    derivs = catalog.derivations_of(out_ids)
    used = {a.content_hash: a for a in catalog.search(run_id=run_id, limit=100_000)}
    parents: dict[str, list[str]] = {}
    for s in rows:
        ids: list[str] = []
        for oid in s.outputs.values():
            ways = derivs.get(oid, [])
            made = next((d for d in ways if run_id in d.runs), ways[0] if ways else None)
            ids += [pid for _, pid in (made.parents if made else ())]
        parents[s.step] = list(dict.fromkeys(ids))
    records = catalog.artifacts_by_id(out_ids + [i for v in parents.values() for i in v])
    views = []
    for s in rows:
        inputs = [records[i] for i in parents[s.step] if i in records]
        if s.status == "failed":
            inputs = [used[h] for h in s.inputs.values() if h in used]
        status = {"cached": "reused"}.get(s.status, s.status)
        views.append(StepView(
            s.step, status, s.reason, s.code_version, s.cache_key, s.attempts, s.error,
            s.started_at, s.started_at + s.duration, inputs,
            [records[i] for i in s.outputs.values() if i in records], list(s.outputs)))
    return views


__all__ = ["OpenLineageReporter", "export_run", "reporter_for", "run_events", "run_uuid"]
