"""The scheduling loop: decide run-or-reuse per step as input hashes become known,
hand steps to the executor, record what came back.

Like Dask's ``local.py``, the loop is a small state object with four moves: steps
become *ready* when their producers are done; ready steps are decided together (one
catalog query for all their keys) and reused or queued; queued steps are *submitted*
to the executor up to its size; a finished future is *completed* (recorded, its
outputs known) and *releases* its consumers.

Order of effects for each executed step: the executor puts every output object in the
store; only then does the driver record artifacts, lineage edges, the cache entry and
the step row (through the group-commit ``Recorder``). A catalog row therefore never
points at an object that is not (yet) stored.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..catalog.records import ArtifactRecord, CacheHit, StepRecord, Write, artifact_id
from ..core import gcpause
from ..core import reads as file_reads
from ..core.errors import FlowymlError, StepFailed
from ..core.fingerprint import fingerprint_graph, flush_memo, reads_main_whole, short_repr
from ..core.graph import consumers_by_asset
from ..core.iostats import IOStats
from ..core.refs import ArtifactRef
from ..core.struct import struct
from ..run import StepResult
from ..stores.base import is_stored, object_uri
from .decisions import Decider, Decision, explain, forced_set
from .recorded import recorded_sources
from .recorder import Recorder
from .reporting import Reporter

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ..catalog.base import RuntimeCatalog
    from ..core.graph import Graph
    from ..core.statecheck import DriverState
    from ..executors.base import Executor, StepFuture
    from ..executors.driver import DriverThread
    from ..executors.task import StepTask
    from ..stores import StoreSpec
    from ..stores.base import ArtifactStore


class RunContext(Protocol):
    """What a run needs of its caller's stack: where the project is, which executor,
    and the store and catalog to open. ``flowyml.Stack`` is one; the runtime never
    imports it."""

    @property
    def root(self) -> str | None: ...

    @property
    def executor(self) -> str | None: ...

    def open_store(self) -> ArtifactStore: ...

    def open_runtime_catalog(self) -> RuntimeCatalog: ...

    def store_spec(self) -> StoreSpec: ...


def new_run_id() -> str:
    """``YYYYMMDD-HHMMSS-<12 hex>`` (UTC): sortable, readable, unique enough for busy
    concurrent writers (48 random bits)."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + os.urandom(6).hex()


def execute(
    pipeline: str,
    graph: Graph,
    stack: RunContext,
    params: dict[str, Any],
    force: bool | Iterable[str] = False,
    reporter: Reporter | None = None,
    executor: Executor | None = None,
    catalog_refs: dict[tuple[str, str], ArtifactRecord] | None = None,
) -> RunOutcome:
    """Run ``graph``: reuse what is cached, execute the rest, record everything. The
    stack's executor is made when the first step has to execute: a run that reuses
    everything starts no worker, no cluster, connects to no scheduler (its spec is
    checked before the run starts all the same)."""
    make: Callable[[], tuple[Executor, dict[str, str]]] | None = None
    if executor is None:
        spec, store = stack.executor, stack.store_spec()
        inline = spec in (None, "inline")  # (the default: a run that reuses every step
        if not inline:  # loads nothing of the executors)
            from ..executors import check_spec

            inline = check_spec(spec)[0] == "inline"

        def make() -> tuple[Executor, dict[str, str]]:
            """The executor, and the states of the hidden random generators before it
            was made (making one that runs steps elsewhere may draw: Dask's client)."""
            from ..executors import make_executor

            before = {} if inline else _generator_states()
            return make_executor(spec, store), before

    state = _RunState(pipeline, graph, stack, params, forced_set(force, graph),
                      reporter or Reporter(), executor, dict(catalog_refs or {}), make)
    return state.run()


_RUNTIME = "<runtime>"  # the failure of no step: an interrupt, or FlowyML's own error


def _passes_state(d: Decision) -> bool:
    """Whether the step changes or reads module-level state, or process-wide settings,
    that another step of the run changes or reads (its key has a part for it that
    differs every run: ``fingerprint._couple_shared_state``). It runs in the driver,
    on any executor: there the steps see each other's changes, in the pipeline's
    order, as they do inline and as the plain functions called in order do; in
    separate workers each would see its own process's."""
    return any(p.startswith(("state ", "changed ")) for p in d.fingerprint.parts)


def _queries_main(func: Any) -> bool:
    """Whether a step function of ``__main__`` calls ``.query``/``.eval`` with an
    ``@name`` in a string (``df.query("a > @THRESH")``): pandas looks ``THRESH`` up in
    the caller's globals, which its key counts, and which the function a worker gets by
    value does not carry (only the names its code names). It runs in the driver."""
    code = getattr(func, "__code__", None)
    if getattr(func, "__module__", None) != "__main__" or code is None:
        return False
    todo = [code]
    while todo:
        c = todo.pop()
        if {"query", "eval"} & set(c.co_names) and any(
                isinstance(k, str) and "@" in k for k in c.co_consts):
            return True
        todo.extend(k for k in c.co_consts if hasattr(k, "co_names"))
    return False


class _Starts:
    """When the steps handed to an executor that keeps more of them in flight than it
    has workers start on a worker: the executor says so (``notify_starts``), from its
    own threads, and the loop says it to the reporter, from its own. No more steps are
    said to be running than there are workers: a worker that finishes a step takes its
    next one before the driver has the first one's result, so the next one is said to
    start when the first is said to finish."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.handed: dict[str, Decision] = {}  # handed over, not yet said to start
        # of those, the steps run by the driver's thread (``DriverThread``): said when
        # they start, whatever the workers do (they take none)
        self.aside: set[str] = set()
        self._reported: deque[tuple[str, float]] = deque()  # (step, when): the executor's
        self._held: dict[str, float] = {}  # started, not said yet (every worker is said busy)
        self._busy: set[str] = set()  # said to be running on a worker
        self._wake: Future[None] | None = None  # done when a start is reported

    def report(self, name: str) -> None:
        """Step ``name`` started on a worker (the executor calls it, from any thread)."""
        self._reported.append((name, time.time()))
        wake = self._wake
        if wake is not None and not wake.done():
            from concurrent.futures import InvalidStateError

            try:
                wake.set_result(None)
            except InvalidStateError:  # (another report set it meanwhile)
                pass

    def arm(self) -> Future[None] | None:
        """A future for the loop to wait on with the steps' own, done when a start is
        reported; None when one is reported already."""
        if self._reported:
            return None
        if self._wake is None or self._wake.done():
            from concurrent.futures import Future

            self._wake = Future()
            if self._reported:  # (reported as it was replaced: it may have seen the old)
                return None
        return self._wake

    def _collect(self) -> None:
        while self._reported:
            name, when = self._reported.popleft()
            if name in self.handed and name not in self._held:  # (not a retry's, nor an
                self._held[name] = when  # element's of a mapped step: said already)

    def due(self) -> list[tuple[str, Decision, float]]:
        """The steps that started, to say now, while there are workers to have them."""
        self._collect()
        out = [(n, self.handed.pop(n), self._held.pop(n)) for n in list(self._held)
               if n in self.aside]
        while self._held and len(self._busy) < self.workers:
            name = next(iter(self._held))
            self._busy.add(name)
            out.append((name, self.handed.pop(name), self._held.pop(name)))
        return out

    def finished(self, name: str) -> tuple[Decision, float] | None:
        """Step ``name`` finished: its decision and when it started, if that is still to
        say (None if said, or never reported: it failed before a worker took it)."""
        self._collect()
        self._busy.discard(name)
        self.aside.discard(name)
        d, when = self.handed.pop(name, None), self._held.pop(name, None)
        return None if d is None or when is None else (d, when)

    def stopped(self) -> list[tuple[str, Decision, float]]:
        """The steps that started and were not said to: the run stops (Ctrl-C)."""
        self._collect()
        out = [(n, self.handed.pop(n), when) for n, when in self._held.items()]
        self._held.clear()
        return out


class _RunState:
    """Everything one run knows while it runs."""

    def __init__(
        self, pipeline: str, graph: Graph, stack: RunContext, params: dict[str, Any],
        forced: set[str], reporter: Reporter, executor: Executor | None,
        refs: dict[tuple[str, str], ArtifactRecord],
        make_executor: Callable[[], tuple[Executor, dict[str, str]]] | None = None,
    ) -> None:
        self.pipeline, self.graph, self.stack, self.params = pipeline, graph, stack, params
        self.forced, self.reporter, self.refs = forced, reporter, refs
        self._executor, self._make_executor = executor, make_executor
        self._memo_shared = False
        self.store = stack.open_store()
        self.catalog = stack.open_runtime_catalog()
        self.run_id = new_run_id()
        fingerprint_graph(graph, stack.root or ".", flush=False)  # no-op after a build; the
        # memo is written once, at the end (_finish)
        self.decider = Decider(graph, stack.root)
        self.produced: dict[str, ArtifactRecord] = {}  # asset -> record, as steps finish
        # Consumers never get the producer's object: every step decodes its inputs from
        # the stored objects, on every executor, so no step changes what another sees.
        self.values: dict[str, Any] = {}  # sink asset -> the producer's object (for Run)
        self.own: set[str] = set()  # digests of objects this process wrote in this run
        self.consumers = consumers_by_asset(graph)  # asset -> the steps that read it
        self.sinks = set(graph.producers) - set(self.consumers)
        self.results: dict[str, StepResult] = {}
        self.pending = set(graph.order)
        self.waiting = {n: len(graph.upstream[n]) for n in graph.order}
        self.ready = deque(n for n in graph.order if self.waiting[n] == 0)
        self.queued: deque[tuple[str, Decision]] = deque()  # decided, waiting for a worker
        self.running: dict[StepFuture, tuple[str, Decision]] = {}  # handed to the executor
        # said to be running (``step_started``), with its decision: when it is handed to
        # the executor, or on one that says when a step starts on a worker, then (_Starts)
        self.started: dict[str, Decision] = {}
        self._starts: _Starts | None = None
        self._driver: DriverThread | None = None  # see _in_driver
        self._here: set[StepFuture] = set()  # of ``running``, those the driver's thread runs
        self._named = False  # see _name_catalog
        self.failure: tuple[str, BaseException] | None = None
        self._previous: dict[str, StepRecord] | None = None
        self._expected: dict[str, CacheHit] = {}  # see _prefetch
        self._new_code: set[str] | None = None  # see _new_code_steps
        self.recorder: Recorder | None = None
        # for _warn_file_edges: file -> the step that wrote it in this run, and each
        # step's recorded reads (its execution's, or those of the execution it reused)
        self.writers: dict[str, str] = {}
        self.step_reads: dict[str, Sequence[Sequence[Any]]] = {}
        # library -> its settings, read once per run for the tasks of worker processes
        self._settings: dict[str, dict[str, Any] | None] = {}
        # (place in the pipeline's order, generator states) a reused step, or one that
        # ran in another process, left behind: put in place in this process when the
        # steps before it have run (``_put_back``)
        self._effects: list[tuple[int, dict[str, str]]] = []
        # step -> the hidden generators its code reaches (``_drawing``; None: not yet
        # known); the steps among them that are ready, waiting for their turn to be
        # decided (``_decide_parked``)
        self._drawers: dict[str, frozenset[str]] | None = None
        self._parked: set[str] = set()
        # generator -> the steps that reach it, in the pipeline's order, and the place
        # among them of the first not finished (``_whose_turn``)
        self._turns: dict[str, list[str]] = {}
        self._turn: dict[str, int] = {}
        # the states of the hidden generators as the steps run so far have left them, on
        # an executor whose steps all run elsewhere: this process's own may move meanwhile
        # (Dask's client draws from ``random`` as it gathers results); taken before the
        # executor is made, kept by ``_put_back``, put in place when it has stopped
        self._logical: dict[str, str] = {}

    @property
    def executor(self) -> Executor:
        """The executor, made on first use (the first step to execute)."""
        if self._executor is None:
            assert self._make_executor is not None
            self._executor, before = self._make_executor()
            if not self._executor.in_process:
                self._logical = before
        if not self._memo_shared:
            self._memo_shared = True
            notify = getattr(self._executor, "notify_starts", None)
            if notify is not None and not self._executor.in_process:
                self._starts = _Starts(self._executor.max_workers)
                notify(self._starts.report)
            if not self._executor.in_process:
                # the fingerprint memo, written now rather than at the run's end: the
                # workers that take their steps' fingerprints again read it, instead of
                # parsing every function anew
                flush_memo()
        return self._executor

    # ------------------------------------------------------------------ the run
    def run(self) -> RunOutcome:
        t0 = time.perf_counter()
        io_before = self.store.stats.snapshot()
        self.catalog.start_run(self.run_id, self.pipeline,
                               {k: short_repr(v) for k, v in self.params.items()}, time.time())
        self.reporter.run_started(self.run_id, self.pipeline)
        self.recorder = Recorder(self.catalog, self.run_id)
        status = "failed"
        try:
            self._prefetch()
            if self._executor is not None and not self._executor.in_process:  # (given)
                self._logical = _generator_states()
            self.recorder.lasted()  # a long prefetch (a huge graph): beat from now on
            with file_reads.paused():  # (what this thread opens is no step's read, though
                self._loop()  # a step runs beside it on the driver's thread: _in_driver)
            if self._effects:  # (for the code after the run)
                self._put_back(len(self.graph.order))
            status = "failed" if self.failure is not None or self.pending else "succeeded"
        except BaseException as exc:
            if self._driver is not None:  # (first: it starts no other step from now)
                self._driver.interrupt()
            if self.failure is None:
                self.failure = (_RUNTIME, exc)
            raise
        finally:
            io = IOStats.delta(io_before, self.store.stats.snapshot())
            error = self._finish(status, io)
            if self._logical and self._executor is not None and not self._executor.in_process:
                from ..core import rng

                rng.restore(self._logical)  # (its threads have stopped drawing)
            if self._interrupted():  # said once the records are in
                self.reporter.run_interrupted(
                    self.run_id, self.pipeline, time.perf_counter() - t0, self._stopped(),
                    sum(r.status == "executed" for r in self.results.values()),
                    sum(r.status == "cached" for r in self.results.values()))
        self._final_versions()
        ordered = {n: self.results[n] for n in self.graph.order if n in self.results}
        return RunOutcome(self.run_id, self.pipeline, status, ordered, dict(self.produced),
                          self.values, io, error, time.perf_counter() - t0, self.failure)

    def _loop(self) -> None:
        while True:
            while self.failure is None and (self.ready or self._parked):
                if self.ready:
                    self._decide_ready()
                elif not self._decide_parked():
                    break
            while self.queued and self.failure is None and self._room():
                self.submit(*self.queued.popleft())
            if not self.running:
                return  # nothing left to run, or a failure stopped new submissions
            for fut in self._finished_first(self._wait_any()):
                name, d = self.running.pop(fut)
                self._here.discard(fut)
                if self._starts is not None:
                    self._on_worker_finished(name)
                self.complete(fut, name, d)
                if self.results[name].status == "executed":
                    self.release(name)
            if self._starts is not None:
                for name, d, when in self._starts.due():
                    self._begin(name, d, when)
            if self.failure is not None:  # what waits in the executor's queue never starts
                for fut in [f for f in self.running if f.cancel()]:
                    name, _ = self.running.pop(fut)
                    self._here.discard(fut)
                    if self._starts is not None:
                        self._starts.handed.pop(name, None)
                        self._starts.aside.discard(name)
                    self.pending.add(name)  # (not reached, as what was not submitted)
                    self.reporter.step_finished(StepResult(
                        name, "not reached", _NOT_REACHED))

    def _room(self) -> bool:
        """Whether the first queued step can be handed over now: the executor has fewer
        than ``in_flight`` of the run's steps, or the step runs in the driver (on its
        own thread, ``_in_driver``: it takes no worker)."""
        if len(self.running) - len(self._here) < self.executor.in_flight:
            return True
        return self._runs_here(*self.queued[0])

    def _begin(self, name: str, d: Decision, when: float) -> None:
        """Say that step ``name`` started (at ``when``: what its record says)."""
        d.started = when
        self.started[name] = d
        self.reporter.step_started(name)

    def _finished_first(self, done: list[StepFuture]) -> list[StepFuture]:
        """The done steps, those said to be running first: a step that started on the
        worker another finished on is said to start after that one is said to finish."""
        if self._starts is None or len(done) < 2:
            return done
        handed = self._starts.handed
        return sorted(done, key=lambda f: self.running[f][0] in handed)

    def _on_worker_finished(self, name: str) -> None:
        """Before a step's end is said: its start, if a worker started it and that was
        not said yet (it ran while the steps said to be running filled every worker)."""
        assert self._starts is not None
        started = self._starts.finished(name)
        if started is not None:
            self._begin(name, *started)

    def _drawing(self) -> dict[str, frozenset[str]]:
        """Step -> the hidden random generators its code reaches (``Fingerprint.states``)."""
        if self._drawers is None:
            fps = self.graph.fingerprints
            self._drawers = {n: frozenset(fps[n].states) for n in self.graph.order
                             if fps[n].states}
            for n, gens in self._drawers.items():  # (in the pipeline's order)
                for g in gens:
                    self._turns.setdefault(g, []).append(n)
        return self._drawers

    def _whose_turn(self) -> dict[str, str]:
        """Generator -> the first step in the pipeline's order that reaches it and has
        not finished."""
        out = {}
        for g, names in self._turns.items():
            i = self._turn.get(g, 0)
            while i < len(names) and names[i] in self.results:
                i += 1
            self._turn[g] = i
            if i < len(names):
                out[g] = names[i]
        return out

    def _decide_parked(self) -> bool:
        """Decide the parked steps (those whose code reaches a hidden random generator)
        whose turn it is, one at a time in the pipeline's order: each after every step
        before it that reaches one of the same has finished, and the states those left
        are in place, so that its key counts the state it starts from (not the one at
        build: a step before it may have drawn, or a reuse put back what its execution
        left), and on every executor they draw in that order. Whether any was decided."""
        drawers, order = self._drawing(), self.graph.order
        decided = False
        while self._parked and self.failure is None:
            turn = self._whose_turn()
            free = [n for n in set(turn.values()) & self._parked
                    if all(turn[g] == n for g in drawers[n])]
            if not free:
                break
            name = min(free, key=order.index)
            self._parked.discard(name)
            self._decide_drawer(name)
            decided = True
        return decided

    def _decide_drawer(self, name: str) -> None:
        """Decide one parked step, from the generators' states as they are now."""
        if self._effects:
            self._put_back(self.graph.order.index(name))
        from ..core import rng

        states = {n: rng.digest_of(n, text)
                  for n, text in self._state_texts(sorted(self._drawing()[name])).items()}
        self._settle([(name, self.decider.decide(name, self._input_records(name), states))])

    def _state_texts(self, names: Iterable[str]) -> dict[str, str]:
        """The states (``rng.end_states``) of the hidden generators ``names`` for a step
        about to start: this process's, or on an executor whose steps all run elsewhere,
        as the steps so far left them (``_logical``: this process's own may have moved)."""
        from ..core import rng

        ex = self._executor
        kept = self._logical if ex is not None and not ex.in_process else {}
        here = tuple(n for n in names if n not in kept)
        return {**(rng.end_states(here) if here else {}),
                **{n: kept[n] for n in names if n in kept}}

    def _wait_any(self) -> list[StepFuture]:
        """The running steps that are done, after waiting for one if none is (an
        in-process executor's steps are done on submit: no waiting, no threads), or,
        on an executor that says when a step starts on a worker, for that."""
        done = [f for f in self.running if f.done()]
        if done:
            return done
        from concurrent.futures import FIRST_COMPLETED, wait

        pending = cast("list[Future[Any]]", list(self.running))
        if self._starts is not None:
            wake = self._starts.arm()
            if wake is None:  # a start to say
                return []
            pending.append(wake)
            return [f for f in wait(pending, return_when=FIRST_COMPLETED)[0] if f is not wake]
        return list(wait(pending, return_when=FIRST_COMPLETED)[0])

    # ------------------------------------------------------------------ ready
    def _prefetch(self) -> None:
        """The cache entries of the keys each step had last time, read once (two
        queries for the whole run) after the run is registered, so no prune can delete
        them from under it. A step whose key is unchanged is then decided without a
        query of its own; any other key is looked up as it comes."""
        steps = [n for n in self.graph.order if n not in self.forced and self.graph.steps[n].cache]
        if steps:
            versions = {n: self.graph.fingerprints[n].code_version for n in steps}
            self._expected = self.catalog.expected_hits(self.pipeline, steps, versions)

    def _decide_ready(self) -> None:
        """Decide every ready step at once: at most one catalog query for all their keys.
        A step whose code reaches a hidden random generator is parked, to be decided in
        its turn (``_decide_parked``)."""
        batch = [self.ready.popleft() for _ in range(len(self.ready))]
        drawers = self._drawing()
        if drawers:
            self._parked.update(n for n in batch if n in drawers)
            batch = [n for n in batch if n not in drawers]
        self._settle([(n, self.decider.decide(n, self._input_records(n))) for n in batch])

    def _settle(self, decided: list[tuple[str, Decision]]) -> None:
        """Reuse or queue each decided step: at most one catalog query for their keys."""
        keys = [k for n, d in decided if n not in self.forced and self.graph.steps[n].cache
                for k in d.all_keys()]
        hits = {k: self._expected[k] for k in keys if k in self._expected}
        unknown = [k for k in keys if k not in hits]
        if unknown:
            # a key made by code that never executed cannot be in the cache (a chain of
            # new code: one query for the run, not one per step); a merged fingerprint
            # (code an input carries, see ``decide``) is not the one checked
            new = {k for n, d in decided if n in self._new_code_steps()
                   and d.fingerprint is self.graph.fingerprints[n] for k in d.all_keys()}
            unknown = [k for k in unknown if k not in new]
        if unknown:
            hits.update(self.catalog.lookup_cache_many(unknown))
        for name, d in decided:
            self.pending.remove(name)
            if self._try_reuse(name, d, _found(d, hits)):
                self.release(name)  # may make more steps ready: the loop goes on
            else:
                self.queued.append((name, d))

    def _new_code_steps(self) -> set[str]:
        """The steps whose code version no execution recorded (asked once, when a key
        is first not among the expected hits). Skipping their lookups can only cost an
        execution (another process may record that code meanwhile), never a stale
        result."""
        if self._new_code is None:
            versions = {n: self.graph.fingerprints[n].code_version for n in self.graph.order
                        if n not in self.forced and self.graph.steps[n].cache}
            known = self.catalog.known_code_versions(versions.values())
            self._new_code = {n for n, v in versions.items() if v not in known}
        return self._new_code

    def _input_records(self, name: str) -> dict[str, ArtifactRecord]:
        recs: dict[str, ArtifactRecord] = {}
        for param, b in self.graph.bindings[name].items():
            if b.kind == "asset":
                assert b.asset is not None
                recs[param] = self.produced[b.asset]
            elif b.kind == "catalog":
                assert b.asset is not None and b.selector is not None
                key = (b.asset, b.selector)
                rec = self.refs.get(key) or self.catalog.find(b.asset, b.selector)
                self.refs[key] = recs[param] = rec
        return recs

    def _try_reuse(self, name: str, d: Decision, hit: CacheHit | None) -> bool:
        step = self.graph.steps[name]
        if name in self.forced or not step.cache:
            return False
        if hit is None or set(hit) != set(step.outputs):
            return False
        missing = [a for a, r in hit.items() if not is_stored(self.store, r)]
        if missing:
            d.note = f"cached output {', '.join(sorted(missing))} is missing from the store"
            return False
        stale = file_reads.changed(hit.reads, self.stack.root)
        if stale is not None:  # a file the cached execution opened is not as it read it
            d.note = stale
            return False
        if hit.effects:  # the generators it seeded or drew from, as its execution left them
            self._effects.append((self.graph.order.index(name), hit.effects))
        # the run whose execution wrote this entry (its outputs' records name the run
        # that first made those bytes, maybe with other code)
        made_in = hit.run_id or next(iter(hit.values())).run_id
        reason = (f"reused: {file_reads.unchanged(hit.reads)} unchanged "
                  f"(outputs from run {made_in})")
        rec = self._step_record(name, d, "cached", reason)
        rec.reads = list(hit.reads or [])  # what the execution it reuses read
        if rec.reads:
            self.step_reads[name] = rec.reads
        self._record(Write("reuse", rec, artifacts=hit))
        self._finished(StepResult(name, "cached", reason, 0.0, rec.code_version, d.key, 0,
                                  None, {a: r.id for a, r in hit.items()}))
        self.produced.update(hit)
        return True

    # ------------------------------------------------------------------ submit
    def submit(self, name: str, d: Decision) -> None:
        from ..executors.task import StepTask, want_ref  # (a run reusing all: not loaded)

        if not self._named:  # before any object of this run is written
            self._name_catalog()
        step = self.graph.steps[name]
        here = self._runs_here(name, d)
        # a step with a timeout runs in a killable process even on an in-process executor
        local = (self.executor.in_process or here) and step.timeout is None
        values: dict[str, Any] = {}
        refs = {}
        own: set[str] = set()
        handles = want_ref(step)
        for param, b in self.graph.bindings[name].items():
            if b.kind in ("value", "default"):
                values[param] = b.value
                continue
            # stored inputs travel as refs on every executor, never as the producer's
            # object: the step decodes a view of its own, as a worker does; in this
            # process, objects it wrote during the run are not hashed again
            rec = d.refs[param]
            if rec.version == 0 and param in handles:  # the step sees the handle's
                rec = d.refs[param] = self._versioned(rec)  # version (a mapped step's
                # elements too: ``submit_map`` reads the list's record from ``d``)
            refs[param] = ArtifactRef(
                name=rec.name, content_hash=rec.content_hash, size=rec.size,
                materializer=rec.materializer, type_name=rec.type_name,
                uri=object_uri(self.store.uri, rec.content_hash,
                               rec.id if rec.data is not None else None),
                artifact_id=rec.id, version=rec.version, meta=dict(rec.meta), data=rec.data)
            if local and rec.content_hash in self.own:
                own.add(param)
        if self._effects:  # (it may draw from them)
            self._put_back(self.graph.order.index(name))
        task = StepTask(step=step, run_id=self.run_id, values=values, refs=refs,
                        want_ref=handles, keep_values=local, own=frozenset(own),
                        copy_values=local,  # the plain values are the driver's objects
                        consumers={a: self.consumers.get(a, ()) for a in step.outputs},
                        generators=tuple(d.fingerprint.states) if d.variants else (),
                        # (in this process too when it may be retried: each attempt
                        # starts from them)
                        # (and on the driver's thread beside workers: from the states the
                        # steps so far left, ``_logical``, and it says what it left)
                        start_states=None if local and not step.retries and not here
                        else self._start_states(d, local),
                        state=None if local else self._state_check(name, d),
                        check_inputs=self.graph.input_checks.get(name, frozenset()))
        self._hand_over(name, d, task, here)

    def _runs_here(self, name: str, d: Decision) -> bool:
        """Whether step ``name`` runs in the driver though the executor's steps run
        elsewhere: it passes state to others through this process (``_passes_state``),
        or reads ``__main__``'s globals by names its code does not show."""
        return not self.executor.in_process and (
            _passes_state(d) or reads_main_whole(d.fingerprint)
            or _queries_main(self.graph.steps[name].func))

    def _hand_over(self, name: str, d: Decision, task: StepTask, here: bool) -> None:
        """Submit ``task`` to the executor, or (``here``) to the driver's thread."""
        step = task.step
        if self._starts is not None and step.map_over is None and (
                not here or step.timeout is None):
            self._starts.handed[name] = d  # said when a worker (or the driver's thread)
            if here:  # starts it
                self._starts.aside.add(name)
        else:  # (a mapped step starts here: it stores its elements, then hands them over)
            self._begin(name, d, time.time())
        assert self.recorder is not None
        self.recorder.start()  # from here the driver may wait on user code
        gcpause.resume()  # which runs under the user's collector settings
        if step.map_over is not None:
            from .mapping import submit_map

            # (elements of a step passing state to others run where it would: here)
            fut: StepFuture = submit_map(task, d, self._in_driver() if here else self.executor,
                                         self.store, self.catalog, name in self.forced,
                                         self.stack.root, self.decider.materializers,
                                         beside=here)
        elif here:
            fut = self._in_driver().submit(task)
        else:
            fut = self.executor.submit(task)
        self.running[fut] = (name, d)
        if here:
            self._here.add(fut)

    def _name_catalog(self) -> None:
        """Register the run's catalog in its store before the first step executes (once
        per process and store: ``stores/catalogs.py``), so gc run with another catalog
        knows these objects are someone's. A run that reuses everything sends nothing."""
        from ..stores.catalogs import register

        catalog_id = self.catalog.catalog_id()
        assert catalog_id is not None
        register(self.store, catalog_id, self.catalog.display_url, self.stack.root)
        self._named = True

    def _in_driver(self) -> DriverThread:
        """The driver's thread, which runs the steps that pass state to others through
        this process (``_runs_here``), one at a time in the order submitted, on an
        executor whose steps run elsewhere, while this thread goes on handing steps to
        the workers and collecting them (``executors.driver``)."""
        if self._driver is None:
            from ..executors.driver import DriverThread

            self._driver = DriverThread(self.stack.store_spec())
            if self._starts is not None:
                self._driver.notify_starts(self._starts.report)
        return self._driver

    def _put_back(self, before: int) -> None:
        """Put the generator states reused steps (and steps run in other processes)
        left in place, for those placed before ``before`` in the pipeline's order, in
        that order: a step about to run here draws where it would have, had they all
        executed here in order. On an executor whose steps run elsewhere, in
        ``_logical`` only: every step is given its states there (``start_states``), a
        step of the driver's thread too, which this thread must not move under it. (A reuse is decided with the steps ready with it; a
        step before it in the order may still be queued.)"""
        due = sorted((e for e in self._effects if e[0] < before), key=lambda e: e[0])
        if not due:
            return
        from ..core import rng

        self._effects = [e for e in self._effects if e[0] >= before]
        beside = self._executor is not None and not self._executor.in_process
        for _, states in due:
            if not beside:  # (else steps start from ``_logical``, given to them: this
                rng.restore(states)  # thread must not move a generator a step of the
            self._logical.update(states)  # driver's thread is drawing from)

    def _start_states(self, d: Decision, local: bool) -> dict[str, str] | None:
        """The states of the hidden random generators a step's code reaches that it
        starts from (``StepTask.start_states``): this process's, or on an executor whose
        steps all run elsewhere, as the steps so far left them (``_logical``). One whose
        state cannot be given to another process (numpy's global generator on a bit
        generator of the user's) makes an execution there unrepeatable."""
        names = tuple(sorted(d.fingerprint.states))
        if not names:
            return None
        from ..core import rng

        shipped = rng.restorable(names)
        if not local and len(shipped) < len(names):
            d.unrepeatable = (
                "numpy's global generator runs on a bit generator of your own, whose state "
                "cannot be given to another process: there it draws from that process's "
                "own; run the step on the inline executor, or make a "
                "np.random.default_rng(seed) in it")
        return self._state_texts(shipped) or None

    def _versioned(self, rec: ArtifactRecord) -> ArtifactRecord:
        """An output of this run as recorded, with its version: until its batch is
        written it has none (0), so a step given its handle (``ArtifactRef``,
        ``Lazy``) has the batch written first."""
        assert self.recorder is not None
        if rec.id not in self.recorder.written:
            self.recorder.flush()
        return self.recorder.written.get(rec.id, rec)

    def _state_check(self, name: str, d: Decision) -> DriverState:
        """What a worker checks before running step ``name``: that it would compute
        with the state the step's key was taken with (``core.statecheck``)."""
        from ..core.statecheck import driver_state

        return driver_state(self.graph.fingerprints[name], d.fingerprint,
                            str(self.stack.root or "."), self._settings)

    # ------------------------------------------------------------------ complete

    def complete(self, fut: StepFuture, name: str, d: Decision) -> None:
        step = self.graph.steps[name]
        try:
            outcome = fut.result()
        except KeyboardInterrupt:  # raised by its code in a worker: the run stops, as
            raise  # Ctrl-C (or the same code inline, where the two look alike) stops it
        except BaseException as exc:  # user code or framework: recorded, then re-raised
            self._failed(name, d, exc)
            return
        prev = self._previous_record(name) if name not in self.forced and step.cache else None
        reason = "executed: " + explain(d, step, name in self.forced, prev)
        unrepeatable = d.unrepeatable or outcome.unrepeatable
        if unrepeatable:
            from ..executors.task import UnseenInputWarning, warn_at_step

            reason += f"; not cached: {unrepeatable}"
            warn_at_step(step, UnseenInputWarning(
                f"step {name!r} is not cached: {unrepeatable}"))
        if getattr(outcome, "map_elements", None) is not None:  # map_over: the elements
            reason += self._record_elements(name, d, outcome)
        if outcome.independent:  # stored under the key that says so (``rng``)
            d.for_independent(outcome.independent)
        rec = self._step_record(name, d, "executed", reason)
        rec.duration, rec.attempts = outcome.duration, outcome.attempts
        now = time.time()
        recs = {  # provisional (version 0) until the batch is written
            o.name: ArtifactRecord(
                artifact_id(o.name, o.content_hash), o.name, 0, o.content_hash, o.size,
                o.materializer, o.type_name, self.run_id, name, rec.code_version, now, o.meta,
                o.data,
            )
            for o in outcome.outputs
        }
        rec.outputs = {k: v.id for k, v in recs.items()}
        rec.reads = file_reads.portable(self._with_shared_reads(name, outcome.reads),
                                        self.stack.root)
        if outcome.reads:
            self.step_reads[name] = outcome.reads
        for path in outcome.writes:
            self.writers.setdefault(path, name)
        self._record(Write("exec", rec, outputs=outcome.outputs, parents=d.parents,
                           cache=step.cache and not unrepeatable, effects=outcome.effects))
        if outcome.left:  # ran elsewhere from the states it was given (only those: another
            # it drew from there was that process's own), or elements that were reused
            # (here, the states are where it left them already: putting them back is a no-op)
            self._effects.append((self.graph.order.index(name), outcome.left))
        if outcome.values is not None:  # ran in this process: it wrote these objects
            self.own.update(o.content_hash for o in outcome.outputs)
            self.values.update((a, v) for a, v in outcome.values.items() if a in self.sinks)
        elements = getattr(outcome, "map_elements", None)
        counts = None if elements is None else (
            sum(e.status == "executed" for e in elements),
            sum(e.status == "cached" for e in elements))
        self._finished(StepResult(name, "executed", reason, outcome.duration,
                                  rec.code_version, d.key, outcome.attempts, None, rec.outputs,
                                  elements=counts))
        self.produced.update(recs)

    def _failed(self, name: str, d: Decision, exc: BaseException) -> None:
        text = error_text(exc)
        rec = self._step_record(name, d, "failed", f"failed: {text}")
        rec.duration = time.time() - d.started
        rec.error = text
        rec.attempts = getattr(exc, "attempts", 1)
        try:
            if getattr(exc, "map_elements", None):  # keep the elements that finished
                self._record_elements(name, d, exc)
            self._record(Write("fail", rec))
            assert self.recorder is not None
            self.recorder.flush()
        finally:
            self._finished(StepResult(name, "failed", rec.reason, rec.duration,
                                      rec.code_version, d.key, rec.attempts, rec.error))
            if self.failure is None:
                self.failure = (name, exc)

    def _record_elements(self, name: str, d: Decision, source: object) -> str:
        from .mapping import element_writes

        writes, summary = element_writes(self._step_record(name, d, "executed", ""), source)
        for w in writes:
            self._record(w)
        return summary

    def release(self, name: str) -> None:
        for down in self.graph.downstream[name]:
            self.waiting[down] -= 1
            if self.waiting[down] == 0:
                self.ready.append(down)

    # ------------------------------------------------------------------ records
    def _step_record(self, name: str, d: Decision, status: str, reason: str) -> StepRecord:
        fp = d.fingerprint  # (a reuse's code is recorded: its sources are never read)
        return StepRecord(
            run_id=self.run_id, pipeline=self.pipeline, step=name, status=status,
            cache_key=d.key, reason=reason, code_version=fp.code_version,
            started_at=d.started, fingerprint=fp.parts, inputs=d.inputs,
            values=d.values, sources=fp.sources if status == "cached" else recorded_sources(
                fp, self.stack.root),
        )

    def _record(self, w: Write) -> None:
        assert self.recorder is not None
        self.recorder.add(w)

    def _previous_record(self, name: str) -> StepRecord | None:
        return self._previous_steps().get(name)

    def _previous_steps(self) -> dict[str, StepRecord]:
        """Each step's latest record that did not fail (one query, once per run)."""
        if self._previous is None:
            self._previous = self.catalog.previous_steps(self.pipeline, list(self.graph.order))
        return self._previous

    def _finished(self, result: StepResult) -> None:
        self.results[result.name] = result
        self.reporter.step_finished(result)

    # ------------------------------------------------------------------ the end
    def _interrupted(self) -> bool:
        """Whether Ctrl-C stopped the run (a ``KeyboardInterrupt`` in this process)."""
        return self.failure is not None and self.failure[0] == _RUNTIME and isinstance(
            self.failure[1], KeyboardInterrupt)

    def _stopped(self) -> list[str]:
        """The steps that started and did not finish (Ctrl-C stopped them)."""
        return [n for n in self.graph.order if n in self.started and n not in self.results]

    def _finish(self, status: str, io: dict[str, Any]) -> str | None:
        """Mark unreached steps, flush the records, close the run; the run's error."""
        if self._starts is not None:  # (an interrupt, or an error of FlowyML's own)
            for name, d, when in self._starts.stopped():  # started: stopped with the run
                d.started = when
                self.started[name] = d
            self.pending.update(self._starts.handed)  # handed over, never started
        if self._interrupted() and self.recorder is not None:
            for name in self._stopped():  # recorded as failed, as the run is: interrupted
                d = self.started[name]
                rec = self._step_record(name, d, "failed", f"failed: {_INTERRUPTED}")
                rec.duration, rec.error = time.time() - d.started, _INTERRUPTED
                self._record(Write("fail", rec))
        for name, _ in self.queued:
            self.pending.add(name)
        for name in self.graph.order:
            if name in self.pending:
                self.results[name] = StepResult(name, "not reached", _NOT_REACHED)
        error = None
        if self.failure is not None and self.failure[0] == _RUNTIME:  # no step's error
            exc = self.failure[1]
            error = (f"run {_INTERRUPTED}" if isinstance(exc, KeyboardInterrupt)
                     else f"the run stopped: {error_text(exc)}")
        elif self.failure is not None:
            error = f"step {self.failure[0]}: {error_text(self.failure[1])}"
        elif status != "succeeded":
            error = "run interrupted"
        try:
            if self.recorder is not None:
                self.recorder.close()
            flush_memo()  # the code the records rendered, kept for the next process
            shape = {n: sorted(self.graph.upstream[n]) for n in self.graph.order}
            self.catalog.finish_run(self.run_id, status, error, {"io": io, "graph": shape})
        finally:
            if self._executor is not None:  # made only if a step had to execute
                self._executor.shutdown()
            if self._driver is not None:
                self._driver.shutdown()
        if self.writers:  # after the records: a warning turned into an error loses nothing
            self._warn_file_edges()
        return error

    def _with_shared_reads(self, name: str, reads: Sequence[Sequence[Any]]
                           ) -> Sequence[Sequence[Any]]:
        """``reads`` and those of the steps before it in this run that set one global
        whole with it (``Graph.sharing``: ``config()`` loading a file into ``_CFG`` once):
        its result may hold what they read, though it found the value set and read
        nothing, so a reuse checks their files too (more to check, never less). Not a
        memo filled by key (a loader per path): each step's own file is its own."""
        others = self.graph.sharing.get(name)
        if not others:
            return reads
        merged = {str(r[0]): r for o in sorted(others) for r in self.step_reads.get(o, ())}
        merged.update((str(r[0]), r) for r in reads)
        return list(merged.values())

    def _warn_file_edges(self) -> None:
        """A step that read a file another step wrote in this run, with no asset between
        them, may have run (or been reused) before the file was written: the order of
        the two is the graph's, and the graph does not know the file. Warned, once per
        pair, naming the fix."""
        root = os.path.abspath(self.stack.root or ".")
        upstream = self.graph.upstream
        said: set[tuple[str, str]] = set()
        for reader, files in self.step_reads.items():
            above: set[str] | None = None
            for entry in files:
                full = os.path.abspath(os.path.join(root, str(entry[0])))
                writer = self.writers.get(full)
                path = os.path.relpath(full, root) if full.startswith(
                    os.path.join(root, "")) else full
                if writer is None or writer == reader or (writer, reader) in said:
                    continue
                if above is None:  # the steps the reader comes after (by assets)
                    above, todo = set(), list(upstream[reader])
                    while todo:
                        n = todo.pop()
                        if n not in above:
                            above.add(n)
                            todo.extend(upstream[n])
                if writer in above:
                    continue
                said.add((writer, reader))
                from ..executors.task import UnseenInputWarning, warn_at_step

                warn_at_step(self.graph.steps[reader], UnseenInputWarning(
                    f"step {reader!r} read {path}, which step {writer!r} wrote in this run, "
                    f"and no asset leads from {writer} to {reader}: {reader} may have run, "
                    f"or been reused, before {path} was written. Make what {writer} writes "
                    f"an output it returns and {reader} takes as an input, so that "
                    f"{reader} runs after it"))

    def _final_versions(self) -> None:
        provisional = [r.id for r in self.produced.values() if r.version == 0]
        if provisional:  # versions are assigned when the records are written
            written = self.recorder.written if self.recorder is not None else {}
            real = {i: written[i] for i in provisional if i in written}
            if len(real) < len(provisional):  # not in a batch the recorder wrote: ask
                real.update(self.catalog.artifacts_by_id([i for i in provisional
                                                          if i not in real]))
            self.produced.update({a: real[r.id] for a, r in self.produced.items()
                                  if r.id in real})


@struct
class RunOutcome:
    """What a run did; the API hands it back as a ``Run`` (with lazy artifacts)."""

    run_id: str
    pipeline: str
    status: str
    steps: dict[str, StepResult]
    produced: dict[str, ArtifactRecord]  # asset -> record, final versions
    values: dict[str, Any]  # sink asset -> the producer's object
    io: dict[str, Any]
    error: str | None
    duration: float
    failure: tuple[str, BaseException] | None

    def failure_error(self) -> tuple[BaseException, BaseException | None] | None:
        """The error to raise for a failed run, and its cause (the user's exception)."""
        if self.failure is None:
            return None
        name, failed = self.failure
        if isinstance(failed, FlowymlError):
            return failed, failed.__cause__
        from ..executors.task import UserCodeError

        cause = failed.__cause__ if isinstance(failed, UserCodeError) and failed.__cause__ else failed
        err = StepFailed(name, self.run_id,
                         f"step {name!r} failed in run {self.run_id}: {error_text(failed)}")
        return err, cause


_INTERRUPTED = "interrupted (KeyboardInterrupt)"  # a step, or the run, Ctrl-C stopped
_NOT_REACHED = "not reached: the run stopped at a failure"


def error_text(exc: BaseException) -> str:
    """What the catalog records of a failure. A NUL character (a message quoting binary
    data) is written ``\\x00``: PostgreSQL's text cannot hold one, and recording the
    failure failed, with an error that blamed the server and left the run ``running``."""
    from ..executors.task import UserCodeError  # (a step ran: imported already)

    text = str(exc) if isinstance(exc, UserCodeError) else f"{type(exc).__name__}: {exc}"
    return text.replace("\x00", "\\x00")


def _generator_states() -> dict[str, str]:
    """The states now of this process's hidden random generators (those
    ``rng.restore`` can put back)."""
    from ..core import rng

    return rng.end_states(rng.restorable(tuple(sorted(rng.loaded()))))


def _found(d: Decision, hits: Mapping[str, CacheHit]) -> CacheHit | None:
    """The cache entry under one of ``d``'s keys (``Decision.all_keys``), which ``d`` then
    carries."""
    for key in d.all_keys():
        hit = hits.get(key)
        if hit is not None:
            d.key = key
            return hit
    return None
