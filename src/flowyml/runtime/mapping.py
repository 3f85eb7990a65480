"""``@step(map_over="items")``: run a step once per element of a list asset, each
element cached on its own; the step's output is the list of results, in order.

How it fits the loop (the runtime calls ``submit_map`` instead of ``executor.submit``):

* The step-level cache key is computed as for any step, with the whole list's hash as
  an input: an unchanged list reuses the step without looking at its elements.
* On a miss, the driver loads the list and stores each element as its own
  content-addressed object (equal elements are one object), which gives its hash.
  An element's cache key is the step's key recipe with the list's hash replaced by the
  element's, plus an ``[element]`` marker, so changing one element misses that
  element only.
* Element hits come from the catalog's cache; each miss becomes one task, all
  submitted to the executor together (they run in parallel up to its size). A task
  carries the element's hash like any stored input, on every executor: each element
  step decodes a view of its own from the element's object (as a worker does), never
  the driver's decoded element, so it cannot change what another step sees.
* A step whose code reaches a hidden random generator draws as a loop would, each
  element from the state the one before it left: element keys are chained, the
  elements are reused all together or executed all, in order (on workers one after the
  other, each given the state the previous one left; see ``submit_map``).
* Each executed element is recorded (``element_writes``, through the run's recorder,
  in element order) as an artifact of asset ``<output>.element`` with lineage to the step's
  inputs, a cache entry under the element key and a step row ``<step>[i]``. The
  step's own outputs are then stored and recorded like any step's; its reason ends
  with ``map over items: 1 of 3 elements executed, 2 reused``.
* If an element fails, the others still finish and are recorded, so a rerun after a
  fix executes only what did not succeed.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, wait
from typing import TYPE_CHECKING, Any, cast

from ..catalog.records import Write
from ..core import reads as file_reads
from ..core.graph import ELEMENT_SUFFIX  # element results: artifacts of "<output>.element"
from ..core.hashing import hash_text
from ..core.refs import ArtifactRef
from ..core.struct import field, replace, struct
from ..executors.task import StepOutcome, StepTask, UserCodeError
from ..objects import is_stored, load_object, store_value
from ..stores.base import object_uri
from .decisions import Decision, cache_key

if TYPE_CHECKING:
    from ..catalog.records import ArtifactRecord, NewOutput, StepRecord
    from ..executors.base import Executor, StepFuture
    from ..stores.base import ArtifactStore

ELEMENT_MARKER = "[element]"


@struct
class Element:
    """One element of a mapped step: how it was served, and what to record."""

    index: int
    param: str
    key: str
    inputs: dict[str, str]  # param -> content hash (the element's for the mapped param)
    parents: dict[str, str]  # param -> artifact id (the whole list for the mapped param)
    cache: bool
    status: str = "pending"  # "executed" | "cached" | "failed"
    outputs: list[NewOutput] = field(default_factory=list)  # executed: stored results
    cached: dict[str, ArtifactRecord] = field(default_factory=dict)  # cached: step output -> record
    values: dict[str, Any] | None = None  # in-process results
    duration: float = 0.0
    attempts: int = 1
    reads: list[list[Any]] = field(default_factory=list)  # files read (``reads.portable``)
    # the states it left the hidden random generators it drew from (``StepOutcome``)
    effects: dict[str, str] | None = None


@struct
class MapOutcome(StepOutcome):
    map_elements: list[Element] = field(default_factory=list)


def submit_map(
    task: StepTask,
    d: Decision,
    executor: Executor,
    store: ArtifactStore,
    catalog: Any,
    forced: bool,
    root: str | None,
    materializers: str,
    beside: bool = False,
) -> Future[StepOutcome]:
    """Submit the missing elements of a mapped step; a future of its ``MapOutcome``.
    ``materializers``: the run's ``registry_versions()`` (the step's key has them).
    ``beside``: ``executor`` is the driver's thread (``executors.driver``).

    A step whose code reaches a hidden random generator (``Fingerprint.states``) draws
    as a loop over the list would: each element from the state the one before it left.
    So each element's key follows the one before it (an element is reused only after
    the elements before it were), the elements are reused all together or not at all,
    and executed in order; on workers, one after the other, each given the state the
    one before it left (``StepTask.start_states``)."""
    step = task.step
    param = step.map_over
    assert param is not None
    result: Future[StepOutcome] = Future()
    # running from now: its elements go to the executor at once, so a failure elsewhere
    # cannot cancel the step as if it had not started (nor its gather then fail to
    # set a cancelled future)
    result.set_running_or_notify_cancel()
    t0 = time.perf_counter()
    drawing = bool(d.fingerprint.states)
    try:
        items = _the_list(task, d, store, param)
        whole = d.refs[param]
        elements: list[Element] = []
        objs: list[NewOutput] = []
        before = ""
        for i, item in enumerate(items):
            obj = store_value(store, f"{whole.name}-{i}", item)
            objs.append(obj)
            key, inputs = _element_key(task, d, i, obj, whole, before, materializers)
            before = key
            e = Element(i, param, key, inputs, dict(d.parents),
                        step.cache and not d.unrepeatable)
            elements.append(e)
            hit = None if forced or not step.cache else _lookup(
                catalog, store, key, step.outputs, root)
            if hit is not None:
                e.status, e.cached, e.reads, e.effects = "cached", *hit
        if drawing and any(e.status != "cached" for e in elements):  # none is reused
            for e in elements:
                e.status, e.cached, e.reads, e.effects = "pending", {}, [], None
        refs = {e.index: _element_ref(store.uri, whole, e.index, objs[e.index]) for e in elements
                if e.status != "cached"}
        in_turn = drawing and task.start_states is not None
        futures: dict[int, StepFuture] = {} if in_turn else {
            i: executor.submit(_element_task(task, param, ref)) for i, ref in refs.items()}
    except BaseException as exc:
        _settle_failed(result, exc, True)
        return result
    # gathered here when the elements ran (inline), or run in turn on the driver's thread
    # (the run waits: no other driver step runs between two); else on a thread of its own
    here = not refs or (executor.in_process and (in_turn or not beside))

    def gather() -> None:
        try:
            left = _in_turn(task, param, refs, executor, futures) if in_turn else None
            outcome = _gather(task, store, elements, futures, t0, root)
            if drawing:  # where the elements left the generators, executed or reused
                outcome.effects = _left_by(elements)
                outcome.left = left if refs else outcome.effects
            result.set_result(outcome)
        except BaseException as exc:
            _settle_failed(result, exc, executor.in_process and here)

    if here:
        gather()
    else:
        threading.Thread(target=gather, name=f"flowyml-map-{step.name}", daemon=True).start()
    return result


def _element_key(task: StepTask, d: Decision, i: int, obj: NewOutput, whole: ArtifactRecord,
                 before: str, materializers: str) -> tuple[str, dict[str, str]]:
    """Element ``i``'s key and inputs: the step's key with the element's content for the
    list's; for a step drawing from a hidden generator, after the element before it
    (``before``: its key); for one taking a handle, its place and the list's hash
    (``items[1]``, ``items@2``: both may show in what it returns)."""
    param = task.step.map_over
    assert param is not None
    inputs = {**d.inputs, param: obj.content_hash}
    if param in task.want_ref:
        inputs[f"{param}[]"] = f"{i} of {whole.content_hash}"
    code = d.fingerprint.with_states
    if d.fingerprint.states and i:  # (what the elements before it drew moves what it gets)
        code = hash_text("after element", code, before)
    return cache_key(code, inputs, d.values, (*task.step.outputs, ELEMENT_MARKER),
                     materializers), inputs


def _settle_failed(result: Future[StepOutcome], exc: BaseException, here: bool) -> None:
    """The map's future fails with ``exc``; but Ctrl-C in this thread (``here``: the
    run's own) stops the run, not the step, as ``InlineExecutor.submit`` says."""
    if isinstance(exc, KeyboardInterrupt) and here:
        raise exc
    result.set_exception(exc)


def _element_ref(store_uri: str, whole: ArtifactRecord, i: int, obj: NewOutput) -> ArtifactRef:
    """Element ``i``'s stored object (``obj``, of the list ``whole``), as a task's input."""
    return ArtifactRef(
        name=f"{whole.name}[{i}]", content_hash=obj.content_hash, size=obj.size,
        materializer=obj.materializer, type_name=obj.type_name,
        uri=object_uri(store_uri, obj.content_hash, whole.id if obj.data is not None else None),
        version=whole.version, meta=dict(obj.meta), data=obj.data,
    )


def _left_by(elements: list[Element]) -> dict[str, str] | None:
    """The states the elements, in order, left the hidden generators in (what a reuse
    of the whole step puts back; with every element reused, what this run puts back)."""
    out: dict[str, str] = {}
    for e in elements:
        out.update(e.effects or {})
    return out or None


def _in_turn(task: StepTask, param: str, refs: dict[int, ArtifactRef], executor: Executor,
             futures: dict[int, StepFuture]) -> dict[str, str] | None:
    """Run the elements ``refs`` one after the other in other processes, each from the
    states of the hidden generators the one before it left (the first from the
    driver's), filling ``futures``; the states the last one left. A failed element
    stops the others (what it left is not known)."""
    states = task.start_states
    for i in sorted(refs):
        fut = futures[i] = executor.submit(
            replace(_element_task(task, param, refs[i]), start_states=states))
        if not fut.done():  # (Ctrl-C meanwhile stops the run: not the element's failure)
            wait([cast("Future[StepOutcome]", fut)])
        try:
            states = fut.result().left or states
        except BaseException:
            return None
    return states


def element_writes(template: StepRecord, source: object) -> tuple[list[Write], str]:
    """The records of the executed elements of ``source.map_elements`` (a
    ``MapOutcome``, or the error of a failed map, which carries those that finished):
    artifacts of ``<output>.element``, lineage, element cache entries and step rows
    ``<step>[i]``, in element order, for the run's recorder. Also the summary for the
    step's reason."""
    elements: list[Element] = getattr(source, "map_elements", None) or []
    writes: list[Write] = []
    for e in elements:
        if e.status != "executed":
            continue
        rec = replace(
            template,
            step=f"{template.step}[{e.index}]",
            status="executed",
            cache_key=e.key,
            reason=f"executed: element {e.index} of {e.param}",
            fingerprint={},
            inputs=e.inputs,
            duration=e.duration,
            attempts=e.attempts,
            outputs={},
            reads=e.reads,
        )
        outs = [replace(o, name=o.name + ELEMENT_SUFFIX) for o in e.outputs]
        writes.append(Write("exec", rec, outputs=outs, parents=e.parents, cache=e.cache,
                            effects=e.effects))
    if not elements:
        return writes, "; map over an empty list: 0 elements"
    reused = sum(1 for e in elements if e.status == "cached")
    return writes, (
        f"; map over {elements[0].param}: {len(writes)} of {len(elements)} elements executed, "
        f"{reused} reused"
    )


def _the_list(task: StepTask, d: Decision, store: ArtifactStore, param: str) -> list[Any]:
    if param in task.values:
        items = task.values[param]
    else:  # decoded here only to be split and stored element by element
        ref = task.refs[param]
        items = load_object(
            store, ref.content_hash, ref.materializer, f"{ref.name}@{ref.version}",
            own=param in task.own, data=ref.data,
        )
    if not isinstance(items, (list, tuple)):
        exc = TypeError(
            f"step {task.step.name!r} maps over {param!r}, but asset {d.refs[param].name!r} is "
            f"a {type(items).__name__}, not a list; return a list from its producer"
        )
        raise UserCodeError(task.step.name, f"TypeError: {exc}") from exc
    return list(items)


def _lookup(
    catalog: Any, store: ArtifactStore, key: str, outputs: tuple[str, ...], root: str | None
) -> tuple[dict[str, ArtifactRecord], list[list[Any]], dict[str, str] | None] | None:
    """An element's cached outputs (step output -> record), the files its execution
    read and the generator states it left, if it can be reused: outputs all stored,
    files as they were read."""
    hit = catalog.lookup_cache_many([key]).get(key)
    if hit is None or set(hit) != {o + ELEMENT_SUFFIX for o in outputs}:
        return None
    if not all(is_stored(store, r) for r in hit.values()):
        return None
    if file_reads.changed(hit.reads, root) is not None:
        return None
    return {o: hit[o + ELEMENT_SUFFIX] for o in outputs}, list(hit.reads or []), hit.effects


def _element_task(task: StepTask, param: str, ref: ArtifactRef) -> StepTask:
    """The task of one element: the element's stored object as the mapped input (an
    in-process step decodes it without hashing again: the driver just stored it)."""
    values = dict(task.values)
    values.pop(param, None)
    own = task.own - {param}
    if task.keep_values:  # in process: this process wrote (or verified) the element
        own |= {param}
    return replace(task, values=values, refs={**task.refs, param: ref}, own=own)


def _gather(
    task: StepTask,
    store: ArtifactStore,
    elements: list[Element],
    futures: dict[int, StepFuture],
    t0: float,
    root: str | None,
) -> MapOutcome:
    step = task.step
    pending = [f for f in futures.values() if not f.done()]  # an in-process one is done
    if pending:
        wait(cast("list[Future[StepOutcome]]", pending))
    failed: tuple[int, BaseException] | None = None
    unrepeatable = None
    for i, fut in futures.items():
        e = elements[i]
        try:
            out = fut.result()
        except BaseException as exc:
            e.status = "failed"
            e.attempts = getattr(exc, "attempts", 1)
            if failed is None:
                failed = (i, exc)
            continue
        e.status, e.outputs, e.values = "executed", out.outputs, out.values
        e.duration, e.attempts = out.duration, out.attempts
        e.effects = out.effects
        if out.unrepeatable:  # (recorded, not cached: see ``StepOutcome``)
            e.cache, unrepeatable = False, out.unrepeatable
        e.reads = file_reads.portable(out.reads, root)
    if failed is not None:
        raise _element_error(step.name, elements, *failed)
    combined: dict[str, list[Any]] = {o: [] for o in step.outputs}
    for e in elements:
        for o in step.outputs:
            combined[o].append(_element_value(store, e, o))
    outputs = [store_value(store, o, combined[o]) for o in step.outputs]
    return MapOutcome(
        outputs=outputs,
        duration=time.perf_counter() - t0,
        attempts=max((e.attempts for e in elements if e.status == "executed"), default=1),
        values=dict(combined) if task.keep_values else None,
        # the whole step's entry holds every element's files: reusing it reuses them all
        reads=sorted({r[0]: r for e in elements for r in e.reads}.values()),
        unrepeatable=unrepeatable,
        map_elements=elements,
    )


def _element_value(store: ArtifactStore, e: Element, output: str) -> Any:
    if e.values is not None:
        return e.values[output]
    if e.status == "cached":
        rec = e.cached[output]
        return load_object(store, rec.content_hash, rec.materializer, f"{rec.name}@{rec.version}",
                           data=rec.data)
    out = next(o for o in e.outputs if o.name == output)
    return load_object(store, out.content_hash, out.materializer, f"{output}[{e.index}]",
                       data=out.data)


def _element_error(step: str, elements: list[Element], index: int, exc: BaseException) -> BaseException:
    """The first failed element's error, naming the element, carrying the finished ones."""
    param = elements[index].param
    new: BaseException = exc
    if isinstance(exc, UserCodeError):
        new = UserCodeError(step, f"element {index} of {param}: {exc}", exc.attempts)
        new.__cause__ = exc.__cause__ or exc
    else:
        try:
            new = type(exc)(f"element {index} of {param}: {exc}")
            new.__cause__ = exc.__cause__
            new.attempts = getattr(exc, "attempts", 1)  # type: ignore[attr-defined]
        except Exception:
            new = exc
    new.map_elements = [e for e in elements if e.status == "executed"]  # type: ignore[attr-defined]
    return new
