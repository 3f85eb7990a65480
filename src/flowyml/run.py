"""The result of a pipeline run: step outcomes, artifacts and lazily loaded values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .core.struct import field, struct

if TYPE_CHECKING:
    from .artifact import Artifact
    from .stack import Stack


@struct
class StepResult:
    """What happened to one step in one run."""

    name: str
    status: str  # "executed" | "cached" | "failed" | "not reached"
    reason: str
    duration: float = 0.0
    code_version: str = ""
    cache_key: str = ""
    attempts: int = 0
    error: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # asset -> artifact id
    # map_over: (elements executed, elements reused); None for a step that maps nothing
    elements: tuple[int, int] | None = None

    @property
    def cached(self) -> bool:
        return self.status == "cached"

    @property
    def executed(self) -> bool:
        return self.status == "executed"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython shows one line (``run.steps`` in a notebook), not every field."""
        took = f" in {self.duration:.3g} s" if self.status == "executed" else ""
        p.text(f"<step {self.name}: {self.status}{took}: {self.reason}>")


_V = TypeVar("_V")


class _NamedMap(Mapping[str, _V]):
    """A run's assets or steps by name; a missing name's error lists the others."""

    def __init__(self, items: dict[str, _V], what: str) -> None:
        self._items = items
        self._what = what

    def __getitem__(self, key: str) -> _V:
        try:
            return self._items[key]
        except KeyError:
            raise KeyError(
                f"this run has no {self._what} {key!r}; its {self._what}s are "
                f"{sorted(self._items)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(self._items)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.pretty(self._items)  # (each step as its one line: ``StepResult._repr_pretty_``)


class Run:
    """One execution of a pipeline.

    ``run[asset]`` is the value (loaded on first access), ``run.artifacts[asset]`` the
    catalog record, ``run.steps[name]`` what happened to each step and why.
    """

    def __init__(
        self,
        id: str,
        pipeline: str,
        status: str,
        steps: dict[str, StepResult],
        artifacts: dict[str, Artifact],
        stack: Stack,
        io: dict[str, int] | None = None,
        error: str | None = None,
        duration: float = 0.0,
    ) -> None:
        self.id = id
        self.pipeline = pipeline
        self.status = status
        self.steps: Mapping[str, StepResult] = _NamedMap(steps, "step")
        self.artifacts: Mapping[str, Artifact] = _NamedMap(artifacts, "asset")
        self.stack = stack
        self.io = io or {}
        self.error = error
        self.duration = duration

    def __getitem__(self, asset: str) -> Any:
        return self.artifacts[asset].load()

    @property
    def executed(self) -> list[str]:
        return [n for n, s in self.steps.items() if s.status == "executed"]

    @property
    def cached(self) -> list[str]:
        return [n for n, s in self.steps.items() if s.status == "cached"]

    def summary(self) -> str:
        return (
            f"run {self.id} of {self.pipeline}: {self.status}, {len(self.executed)} executed, "
            f"{len(self.cached)} reused, {self.duration:.2f} s"
        )

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.pipeline} {self.status}>"

    def _repr_html_(self) -> str:
        from .display import run_html

        return run_html(self)
