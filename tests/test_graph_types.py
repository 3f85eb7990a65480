"""Annotation checks across edges at build: PEP 484's numeric tower, and ``Lazy[T]``
checked by its ``T``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import flowyml as fm
from flowyml import Lazy
from flowyml import Lazy as Deferred


def _producer(kind: str) -> fm.Step:
    if kind == "int":
        def produce() -> int:
            return 2
    elif kind == "bool":
        def produce() -> bool:  # type: ignore[misc]
            return True
    elif kind == "float":
        def produce() -> float:  # type: ignore[misc]
            return 2.5
    elif kind == "complex":
        def produce() -> complex:  # type: ignore[misc]
            return 1j
    elif kind == "int64":
        def produce() -> np.int64:  # type: ignore[misc]
            return np.int64(2)
    elif kind == "ndarray":
        def produce() -> np.ndarray:  # type: ignore[misc]
            return np.arange(3)
    elif kind == "frame":
        def produce() -> pd.DataFrame:  # type: ignore[misc]
            return pd.DataFrame({"a": [1]})
    return fm.step(outputs="x", name="produce")(produce)


def _consumer(kind: str) -> fm.Step:
    if kind == "int":
        def consume(x: int) -> str:
            return repr(x)
    elif kind == "float":
        def consume(x: float) -> str:  # type: ignore[misc]
            return repr(x)
    elif kind == "complex":
        def consume(x: complex) -> str:  # type: ignore[misc]
            return repr(x)
    elif kind == "str":
        def consume(x: str) -> str:  # type: ignore[misc]
            return x
    return fm.step(outputs="y", name="consume")(consume)


@pytest.mark.parametrize(
    ("have", "want"),
    [("int", "float"), ("int", "complex"), ("float", "complex"), ("bool", "int"),
     ("bool", "float"), ("int64", "float"), ("int", "int"), ("float", "float")],
)
def test_the_numeric_tower_is_not_a_mismatch(project: Path, have: str, want: str) -> None:
    graph = fm.Pipeline("tower", [_producer(have), _consumer(want)]).build()
    assert graph.order == ["produce", "consume"]


@pytest.mark.parametrize(
    ("have", "want"),
    [("float", "int"), ("complex", "float"), ("complex", "int"), ("int", "str"),
     ("ndarray", "float")],
)
def test_narrowing_or_unrelated_is_a_mismatch(project: Path, have: str, want: str) -> None:
    with pytest.raises(fm.TypeMismatchError, match="consume"):
        fm.Pipeline("narrow", [_producer(have), _consumer(want)]).build()


def test_an_int_feeds_a_float_parameter_at_run_time(project: Path) -> None:
    run = fm.Pipeline("tower", [_producer("int"), _consumer("float")]).run()
    assert run["y"] == "2"


def test_lazy_inner_type_is_checked_like_a_plain_annotation(project: Path) -> None:
    @fm.step(outputs="y", name="consume")
    def consume(x: fm.Lazy[pd.DataFrame]) -> int:
        return 1

    with pytest.raises(fm.TypeMismatchError) as err:
        fm.Pipeline("lazy", [_producer("ndarray"), consume]).build()
    text = str(err.value)
    assert "Lazy[DataFrame]" in text and "ndarray" in text and "'x'" in text


def test_lazy_spelled_as_a_bare_name(project: Path) -> None:
    @fm.step(outputs="y", name="consume")
    def consume(x: Lazy[pd.DataFrame]) -> int:
        return 1

    with pytest.raises(fm.TypeMismatchError, match=r"Lazy\[DataFrame\]"):
        fm.Pipeline("lazy", [_producer("ndarray"), consume]).build()


def test_lazy_under_another_name_is_checked_too(project: Path) -> None:
    # the annotation is text (``from __future__ import annotations``) that does not say
    # "Lazy": the build still finds it by what the name holds
    @fm.step(outputs="y", name="consume")
    def consume(x: Deferred[pd.DataFrame]) -> int:
        return 1

    with pytest.raises(fm.TypeMismatchError, match=r"Lazy\[DataFrame\]"):
        fm.Pipeline("lazy", [_producer("ndarray"), consume]).build()


def test_matching_lazy_builds_and_receives_a_reference(project: Path) -> None:
    seen: list[Any] = []

    @fm.step(outputs="y", name="consume")
    def consume(x: fm.Lazy[np.ndarray]) -> int:
        ref: Any = x  # an ArtifactRef at run time
        seen.append(ref)
        return int(ref.load().sum())

    run = fm.Pipeline("lazy", [_producer("ndarray"), consume]).run()
    assert run["y"] == 3
    assert isinstance(seen[0], fm.ArtifactRef)


def test_lazy_numeric_tower_and_any(project: Path) -> None:
    @fm.step(outputs="y", name="consume")
    def consume(x: fm.Lazy[float]) -> int:
        return 1

    @fm.step(outputs="z", name="other")
    def other(x: fm.Lazy[Any]) -> int:
        return 2

    assert fm.Pipeline("lazy", [_producer("int"), consume, other]).build().order[0] == "produce"
    with pytest.raises(fm.TypeMismatchError, match=r"Lazy\[float\]"):
        fm.Pipeline("lazy", [_producer("complex"), consume]).build()
