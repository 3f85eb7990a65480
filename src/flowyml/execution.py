"""Running one step: load inputs, call the user's function, store its outputs.

This is the only code that touches user values, and it runs wherever the executor
puts it (the driver, a worker process, a Dask worker). It returns hashes, never
catalog rows: only the driver writes to the catalog.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .catalog.records import NewOutput
from .hashing import hash_bytes, hash_file
from .loading import load_object
from .materializers import materializer_for
from .refs import ArtifactRef

if TYPE_CHECKING:
    from .step import Step
    from .stores.base import ArtifactStore


class UserCodeError(Exception):
    """Wraps an exception raised by user code (``__cause__``), so executors can tell it
    apart from a framework failure."""

    def __init__(self, step: str, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.step = step
        self.attempts = attempts


@dataclass
class StepTask:
    step: Step
    run_id: str
    values: dict[str, Any] = field(default_factory=dict)  # param -> value
    refs: dict[str, ArtifactRef] = field(default_factory=dict)  # param -> stored input
    want_ref: frozenset[str] = frozenset()
    keep_values: bool = False


@dataclass
class StepOutcome:
    outputs: list[NewOutput]
    duration: float
    attempts: int = 1
    values: dict[str, Any] | None = None


def run_task(task: StepTask, store: ArtifactStore) -> StepOutcome:
    """Execute ``task`` against ``store``; raises ``UserCodeError`` when user code fails."""
    step = task.step
    kwargs = dict(task.values)
    for param, ref in task.refs.items():
        if param in task.want_ref:
            kwargs[param] = dataclasses.replace(ref, _loader=_loader_for(store))
        else:
            kwargs[param] = load_object(
                store, ref.content_hash, ref.materializer, f"{ref.name}@{ref.version}"
            )
    attempts = 0
    start = time.perf_counter()
    while True:
        attempts += 1
        try:
            result = step.func(**kwargs)
            break
        except Exception as exc:
            if attempts <= step.retries:
                time.sleep(min(0.1 * 2 ** (attempts - 1), 5.0))
                continue
            err = UserCodeError(step.name, f"{type(exc).__name__}: {exc}", attempts)
            raise err from exc
    duration = time.perf_counter() - start
    values = split_outputs(step, result)
    outputs = [store_value(store, name, value) for name, value in values.items()]
    return StepOutcome(
        outputs=outputs,
        duration=duration,
        attempts=attempts,
        values=values if task.keep_values else None,
    )


def split_outputs(step: Step, result: Any) -> dict[str, Any]:
    if len(step.outputs) == 1:
        return {step.outputs[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(step.outputs):
        got = f"a {type(result).__name__}" + (
            f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        )
        exc = TypeError(
            f"step {step.name!r} declares {len(step.outputs)} outputs {step.outputs} but "
            f"returned {got}; return a tuple with one value per output"
        )
        raise UserCodeError(step.name, str(exc)) from exc
    return dict(zip(step.outputs, result, strict=False))


def store_value(store: ArtifactStore, name: str, value: Any) -> NewOutput:
    """Materialize ``value`` to a staged file, hash it, put it in the store.

    Small values whose materializer can ``dumps`` are hashed in memory first: when the
    store already holds those bytes (a rerun that produced the same result), nothing is
    written, only the object's age is refreshed (so gc's grace period protects it).
    """
    mat = materializer_for(value)
    dumps = getattr(mat, "dumps", None)
    data: bytes | None = None
    if dumps is not None:
        data, meta = dumps(value)
        digest = hash_bytes(data)
        size = len(data)
        refresh = getattr(store, "refresh", None)
        if refresh is not None and refresh(digest):
            data = None  # already stored
    staged = store.staging_dir() / f"{time.time_ns()}-{id(value):x}-{name}.part"
    try:
        if dumps is None:
            meta = mat.save(value, staged)
            digest = hash_file(staged)
            size = staged.stat().st_size
            store.put_file(digest, staged)
        elif data is not None:
            staged.write_bytes(data)
            store.put_file(digest, staged)
    finally:
        try:
            staged.unlink()
        except FileNotFoundError:
            pass
    t = type(value)
    return NewOutput(
        name=name,
        content_hash=digest,
        size=size,
        materializer=mat.name,
        type_name=f"{t.__module__}.{t.__qualname__}",
        meta=meta or {},
    )


def _loader_for(store: ArtifactStore) -> Any:
    def loader(ref: ArtifactRef) -> Any:
        return load_object(store, ref.content_hash, ref.materializer, f"{ref.name}@{ref.version}")

    return loader
