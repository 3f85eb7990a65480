"""The scheduling loop: decide run-or-reuse per step as input hashes become known,
hand steps to the executor, record what came back.

Order of effects for each executed step: the executor puts every output object in the
store; only then does the driver record artifacts, lineage edges, the cache entry and
the step row, in one catalog transaction. A catalog row therefore never points at an
object that is not (yet) stored.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .artifact import Artifact, make_ref
from .catalog.records import ArtifactRecord, StepRecord, Write, artifact_id
from .errors import FlowymlError, ParameterError, StepFailed
from .execution import StepOutcome, StepTask, UserCodeError
from .fingerprint import (
    OPAQUE,
    Fingerprint,
    code_ref_parts,
    explain_parts,
    fingerprint_graph,
    short_repr,
)
from .hashing import hash_text
from .iostats import IOStats
from .materializers import registry_versions
from .run import Run, StepResult

if TYPE_CHECKING:
    from .executors.base import Executor
    from .graph import Graph
    from .stack import Stack

CACHE_KEY_VERSION = "1"
FLUSH_EVERY = 256  # records per group commit
FLUSH_SECONDS = 0.2  # ...or this long after the first buffered one


class Reporter:
    """Progress callbacks; the default prints nothing."""

    def step_started(self, name: str) -> None: ...

    def step_finished(self, result: StepResult) -> None: ...

    def run_finished(self, run: Run) -> None: ...


@dataclass
class _Decision:
    key: str
    fingerprint: Fingerprint
    inputs: dict[str, str]  # param -> content hash
    values: dict[str, list[str]]  # param -> [token, display]
    parents: dict[str, str]  # param -> artifact id
    refs: dict[str, ArtifactRecord]  # param -> input record
    started: float
    note: str | None = None  # why a cache entry that exists could not be used


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:12]


def cache_key(
    fingerprint: str, inputs: dict[str, str], values: dict[str, list[str]], outputs: Iterable[str]
) -> str:
    """H(code fingerprint, {param: input hash}, {param: value token}, outputs, materializers)."""
    return hash_text(
        CACHE_KEY_VERSION,
        fingerprint,
        json.dumps(sorted(inputs.items())),
        json.dumps(sorted((k, v[0]) for k, v in values.items())),
        json.dumps(list(outputs)),
        registry_versions(),
    )


def make_decision(
    graph: Graph,
    name: str,
    in_recs: dict[str, ArtifactRecord],
    root: str | None,
    code_memo: dict[tuple[str, ...], dict[str, str]],
) -> _Decision:
    """The cache key of step ``name`` given the records of its inputs.

    The key is H(code fingerprint, {param: input hash}, {param: value token}, outputs,
    materializers). The fingerprint and value tokens were taken at build; the code that
    an input artifact references (a pickled instance of the user's class) joins the
    fingerprint here, as if the step called it.
    """
    step = graph.steps[name]
    fp: Fingerprint = graph.fingerprints[name]
    tokens = graph.tokens[name]
    vals = {p: [tokens[p], short_repr(b.value)] for p, b in graph.bindings[name].items()
            if b.kind in ("value", "default")}
    refs = tuple(sorted({r for rec in in_recs.values() for r in (rec.meta or {}).get("code_refs", ())}))
    if refs:
        extra = code_memo.get(refs)
        if extra is None:
            extra = code_memo[refs] = code_ref_parts(refs, root or ".", name)
        fp = fp.merged(extra)
    inputs = {p: r.content_hash for p, r in in_recs.items()}
    parents = {p: r.id for p, r in in_recs.items()}
    key = cache_key(fp.digest, inputs, vals, step.outputs)
    return _Decision(key, fp, inputs, vals, parents, in_recs, time.time())


def execute(
    pipeline: str,
    graph: Graph,
    stack: Stack,
    params: dict[str, Any],
    force: bool | Iterable[str] = False,
    reporter: Reporter | None = None,
    executor: Executor | None = None,
    catalog_refs: dict[tuple[str, str], ArtifactRecord] | None = None,
) -> Run:
    reporter = reporter or Reporter()
    forced = _forced_set(force, graph)
    store = stack.open_store()
    catalog = stack.open_catalog()
    if executor is None:
        from .executors import make_executor

        executor = make_executor(stack.executor, stack)
    root = stack.root
    run_id = new_run_id()
    t0 = time.perf_counter()
    io_before = store.stats.snapshot()
    catalog.start_run(run_id, pipeline, {k: short_repr(v) for k, v in params.items()}, time.time())

    produced: dict[str, ArtifactRecord] = {}  # asset -> record, as steps finish
    # Consumers never get the producer's object: every step decodes its inputs from the
    # stored objects, on every executor, so no step can change what another one sees.
    values: dict[str, Any] = {}  # sink asset -> the producer's object (handed back by Run)
    own: set[str] = set()  # digests of objects this process wrote during this run
    consumers_left: dict[str, int] = {}
    for name in graph.order:
        for b in graph.bindings[name].values():
            if b.kind == "asset" and b.asset is not None:
                consumers_left[b.asset] = consumers_left.get(b.asset, 0) + 1
    refs = dict(catalog_refs or {})
    results: dict[str, StepResult] = {}
    pending = set(graph.order)
    running: dict[Future[StepOutcome], tuple[str, _Decision]] = {}
    failure: tuple[str, BaseException] | None = None
    fingerprint_graph(graph, root or ".")  # no-op when build took them: keys are taken before any step runs
    code_memo: dict[tuple[str, ...], dict[str, str]] = {}
    # Group commit: the records of finished steps are buffered and written together, in
    # order, one transaction per batch (each step's rows stay all-or-nothing, and its
    # objects are stored before). Later steps of this run decide from the in-memory
    # records; a crash before a flush only costs re-executing those steps.
    recorder = _Recorder(catalog, run_id)
    buffer = recorder.add
    flush = recorder.flush

    prev_cache: dict[str, StepRecord] | None = None

    def previous(name: str) -> StepRecord | None:
        nonlocal prev_cache
        if prev_cache is None:  # one query, only when some step executes
            prev_cache = catalog.previous_steps(pipeline, list(graph.order))
        return prev_cache.get(name)

    def decide(name: str) -> _Decision:
        in_recs: dict[str, ArtifactRecord] = {}
        for param, b in graph.bindings[name].items():
            if b.kind == "asset":
                assert b.asset is not None
                in_recs[param] = produced[b.asset]
            elif b.kind == "catalog":
                assert b.asset is not None and b.selector is not None
                rec = refs.get((b.asset, b.selector)) or catalog.find(b.asset, b.selector)
                refs[(b.asset, b.selector)] = in_recs[param] = rec
        return make_decision(graph, name, in_recs, root, code_memo)

    def step_record(name: str, d: _Decision, status: str, reason: str) -> StepRecord:
        return StepRecord(
            run_id=run_id,
            pipeline=pipeline,
            step=name,
            status=status,
            cache_key=d.key,
            reason=reason,
            code_version=d.fingerprint.digest[:12],
            started_at=d.started,
            fingerprint=d.fingerprint.parts,
            inputs=d.inputs,
            values=d.values,
        )

    def finish(name: str, recs: dict[str, ArtifactRecord]) -> None:
        produced.update(recs)

    _sinks = {a for a in graph.producers if consumers_left.get(a, 0) == 0}  # no consumer

    def try_reuse(name: str, d: _Decision, hit: dict[str, ArtifactRecord] | None) -> bool:
        step = graph.steps[name]
        if name in forced or not step.cache:
            return False
        if hit is None or set(hit) != set(step.outputs):
            return False
        missing = [a for a, r in hit.items() if not store.exists(r.content_hash)]
        if missing:
            d.note = f"cached output {', '.join(sorted(missing))} is missing from the store"
            return False
        first_run = next(iter(hit.values())).run_id
        reason = f"reused: code, inputs and parameters unchanged (outputs from run {first_run})"
        rec = step_record(name, d, "cached", reason)
        buffer(Write("reuse", rec, artifacts=hit))
        res = StepResult(name, "cached", reason, 0.0, rec.code_version, d.key, 0, None, rec.outputs)
        results[name] = res
        reporter.step_finished(res)
        finish(name, hit)
        return True

    def submit(name: str, d: _Decision) -> None:
        step = graph.steps[name]
        task_values: dict[str, Any] = {}
        task_refs = {}
        # a step with a timeout runs in a killable process even on an in-process executor
        local = executor.in_process and step.timeout is None
        task_own: set[str] = set()
        for param, b in graph.bindings[name].items():
            if b.kind in ("value", "default"):
                task_values[param] = b.value
                continue
            # stored inputs travel as refs on every executor, never as the producer's
            # object: the step decodes a view of its own, as a worker does; in this
            # process, objects it wrote during the run are not hashed again
            rec = d.refs[param]
            task_refs[param] = make_ref(rec, stack)
            if local and rec.content_hash in own:
                task_own.add(param)
        task = StepTask(
            step=step,
            run_id=run_id,
            values=task_values,
            refs=task_refs,
            want_ref=_want_ref(step),
            keep_values=local,
            own=frozenset(task_own),
            copy_values=local,  # the plain values are the driver's objects
        )
        reporter.step_started(name)
        if step.map_over is not None:
            from .mapping import submit_map

            running[submit_map(task, d, executor, store, catalog, name in forced)] = (name, d)
            return
        running[executor.submit(task)] = (name, d)

    def complete(fut: Future[StepOutcome], name: str, d: _Decision) -> None:
        nonlocal failure
        step = graph.steps[name]
        try:
            outcome = fut.result()
        except BaseException as exc:  # user code or framework; recorded, then re-raised
            reason = f"failed: {_error_text(exc)}"
            rec = step_record(name, d, "failed", reason)
            rec.duration = time.time() - d.started
            rec.error = _error_text(exc)
            rec.attempts = getattr(exc, "attempts", 1)
            try:
                if getattr(exc, "map_elements", None):  # keep the elements that finished
                    from .mapping import record_elements

                    record_elements(catalog, step_record(name, d, "executed", ""), exc)
                buffer(Write("fail", rec))
                flush()
            finally:
                res = StepResult(name, "failed", reason, rec.duration, rec.code_version, d.key,
                                 rec.attempts, rec.error)
                results[name] = res
                reporter.step_finished(res)
                if failure is None:
                    failure = (name, exc)
            return
        reason = "executed: " + _explain(name, d, step, forced, previous)
        if getattr(outcome, "map_elements", None) is not None:  # map_over: record elements
            from .mapping import record_elements

            reason += record_elements(catalog, step_record(name, d, "executed", ""), outcome)
        rec = step_record(name, d, "executed", reason)
        rec.duration = outcome.duration
        rec.attempts = outcome.attempts
        now = time.time()
        recs = {
            o.name: ArtifactRecord(
                artifact_id(o.name, o.content_hash), o.name, 0, o.content_hash, o.size,
                o.materializer, o.type_name, run_id, name, rec.code_version, now, o.meta,
            )
            for o in outcome.outputs
        }  # provisional (version 0) until the batch is written
        rec.outputs = {k: v.id for k, v in recs.items()}
        buffer(Write("exec", rec, outputs=outcome.outputs, parents=d.parents, cache=step.cache))
        if outcome.values is not None:  # ran in this process: it wrote these objects
            own.update(o.content_hash for o in outcome.outputs)
            values.update((a, v) for a, v in outcome.values.items() if a in _sinks)
        res = StepResult(name, "executed", reason, outcome.duration, rec.code_version, d.key,
                         outcome.attempts, None, rec.outputs)
        results[name] = res
        reporter.step_finished(res)
        finish(name, recs)

    status = "failed"
    waiting = {n: len(graph.upstream[n]) for n in graph.order}
    ready = deque(n for n in graph.order if waiting[n] == 0)

    def release(name: str) -> None:
        for down in graph.downstream[name]:
            waiting[down] -= 1
            if waiting[down] == 0:
                ready.append(down)

    to_run: deque[tuple[str, _Decision]] = deque()  # decided, waiting for a worker
    try:
        while True:
            while ready and failure is None:
                # decide every ready step at once: one catalog query for all their keys
                batch = [ready.popleft() for _ in range(len(ready))]
                decided = [(n, decide(n)) for n in batch]
                hits = catalog.lookup_cache_many(
                    [d.key for n, d in decided if n not in forced and graph.steps[n].cache]
                )
                for name, d in decided:
                    pending.remove(name)
                    if try_reuse(name, d, hits.get(d.key)):
                        release(name)  # may make more steps ready: the loop goes on
                    else:
                        to_run.append((name, d))
            while to_run and failure is None and len(running) < executor.max_workers:
                name, d = to_run.popleft()
                submit(name, d)
            if not running:
                break  # nothing left to run, or a failure stopped new submissions
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                name, d = running.pop(fut)
                complete(fut, name, d)
                if results[name].status == "executed":
                    release(name)
        status = "failed" if failure is not None or pending else "succeeded"
    except BaseException as exc:
        if failure is None:
            failure = ("<runtime>", exc)
        raise
    finally:
        for name, _ in to_run:
            pending.add(name)
        for name in graph.order:
            if name in pending:
                results[name] = StepResult(name, "not reached", "not reached: the run stopped at a failure")
        io = IOStats.delta(io_before, store.stats.snapshot())
        error = None if failure is None else f"step {failure[0]}: {_error_text(failure[1])}"
        if status != "succeeded" and error is None:
            error = "run interrupted"
        try:
            recorder.close()
            graph_shape = {n: sorted(graph.upstream[n]) for n in graph.order}
            catalog.finish_run(run_id, status, error, {"io": io, "graph": graph_shape})
        finally:
            executor.shutdown()

    provisional = [r.id for r in produced.values() if r.version == 0]
    if provisional:  # versions are assigned when the records are written
        real = catalog.artifacts_by_id(provisional)
        produced.update({a: real[r.id] for a, r in produced.items() if r.id in real})
    artifacts: dict[str, Artifact] = {}
    for asset, rec in produced.items():
        art = Artifact(rec, stack)
        if asset in values:
            art._set_value(values[asset])
        artifacts[asset] = art
    ordered = {n: results[n] for n in graph.order if n in results}
    run = Run(run_id, pipeline, status, ordered, artifacts, stack, io=io,
              error=error, duration=time.perf_counter() - t0)
    reporter.run_finished(run)
    if failure is not None:
        name, failed = failure
        cause = failed.__cause__ if isinstance(failed, UserCodeError) and failed.__cause__ else failed
        if isinstance(failed, FlowymlError):
            raise failed
        err = StepFailed(name, run_id, f"step {name!r} failed in run {run_id}: {_error_text(failed)}")
        err.run = run  # type: ignore[attr-defined]
        raise err from cause
    return run


class _Recorder:
    """Buffers step records and writes them in batches; beats the run's heartbeat.

    One background thread writes a batch once its oldest record is ``FLUSH_SECONDS``
    old (so a long step does not hide the records before it) and tells the catalog
    every ``HEARTBEAT_SECONDS`` that the driver is alive (so a killed run is shown as
    failed, not running forever). Batches are written one at a time, in order.
    """

    def __init__(self, catalog: Any, run_id: str) -> None:
        import threading

        from .catalog.sql import HEARTBEAT_SECONDS

        self._catalog = catalog
        self._run_id = run_id
        self._writes: list[Write] = []
        self._oldest = 0.0
        self._lock = threading.Lock()  # guards the buffer
        self._flush_lock = threading.Lock()  # one batch at a time, in order
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._beat_every = HEARTBEAT_SECONDS
        self._thread = threading.Thread(
            target=self._loop, name=f"flowyml-recorder-{run_id}", daemon=True
        )
        self._thread.start()

    def add(self, w: Write) -> None:
        with self._lock:
            if not self._writes:
                self._oldest = time.perf_counter()
            self._writes.append(w)
            full = len(self._writes) >= FLUSH_EVERY
        if full:
            self.flush()

    def flush(self) -> None:
        with self._flush_lock:
            with self._lock:
                batch, self._writes = self._writes, []
            if batch:
                self._catalog.record_batch(batch)
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def _loop(self) -> None:
        last_beat = time.perf_counter()
        while not self._stop.wait(FLUSH_SECONDS / 2):
            try:
                with self._lock:
                    due = bool(self._writes) and time.perf_counter() - self._oldest > FLUSH_SECONDS
                if due:
                    self.flush()
                if time.perf_counter() - last_beat > self._beat_every:
                    last_beat = time.perf_counter()
                    self._catalog.heartbeat(self._run_id)
            except BaseException as exc:  # surfaced by the next flush in the driver
                self._error = exc

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, UserCodeError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _want_ref(step: Any) -> frozenset[str]:
    cached = getattr(step, "_want_ref", None)
    if cached is not None:
        return cached
    import typing

    from .refs import ArtifactRef

    try:
        hints = typing.get_type_hints(step.func)
    except Exception:
        hints = {p.name: p.annotation for p in step.params}
    want = frozenset(p for p, t in hints.items() if t is ArtifactRef and p != "return")
    step._want_ref = want
    return want


def _forced_set(force: bool | Iterable[str], graph: Graph) -> set[str]:
    if force is True:
        return set(graph.order)
    if not force:
        return set()
    names = {force} if isinstance(force, str) else set(force)
    unknown = names - set(graph.order)
    if unknown:
        raise ParameterError(
            f"force names unknown step(s) {sorted(unknown)}; steps are {graph.order}"
        )
    return names


def _explain(
    name: str, d: _Decision, step: Any, forced: set[str],
    previous: Callable[[str], StepRecord | None],
) -> str:
    if name in forced:
        return "forced"
    if not step.cache:
        return "caching is off for this step (cache=False)"
    if d.note:
        return d.note
    return explain_miss(previous(name), d)


def explain_miss(prev: StepRecord | None, d: _Decision) -> str:
    """Why the cache key differs from the previous execution of this step."""
    if prev is None:
        return "first run of this step: nothing cached for it"
    phrases = explain_parts(prev.fingerprint, d.fingerprint.parts)
    for param in sorted(set(prev.inputs) | set(d.inputs)):
        if prev.inputs.get(param) != d.inputs.get(param):
            asset = d.refs[param].name if param in d.refs else param
            label = asset if asset == param else f"{param} ({asset})"
            phrases.append(f"input {label} changed" if param in prev.inputs else f"input {label} is new")
    for param in sorted(set(prev.values) | set(d.values)):
        old, new = prev.values.get(param), d.values.get(param)
        if new and new[0].startswith(OPAQUE):
            phrases.append(f"parameter {param} cannot be fingerprinted ({new[0].split(':', 2)[-1]})")
        elif (old[0] if old else None) != (new[0] if new else None):
            phrases.append(
                f"parameter {param} {old[1] if old else '(unset)'} -> {new[1] if new else '(unset)'}"
            )
    if not phrases:
        if prev.cache_key == d.key:
            return "its cached outputs are missing from the store"
        return "no cached result for this code, these inputs and parameters"
    return "; ".join(phrases)


def _reporter_from(progress: bool | Reporter | Callable[..., Any] | None) -> Reporter | None:
    if progress is True:
        from .progress import PrintReporter

        return PrintReporter()
    if isinstance(progress, Reporter):
        return progress
    return None
