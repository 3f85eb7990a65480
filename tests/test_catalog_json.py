"""The catalog's JSON columns and the cache key's lists are written and read by fast
paths (a pool of C encoders, the decoder's scanner, hand-written lists): each must give
exactly what the ``json`` module gives, since keys and stored records depend on it."""

from __future__ import annotations

import json
import math
from pathlib import PurePosixPath
from typing import Any

import pytest

from flowyml.catalog.runtime_sql import dumps, loads
from flowyml.runtime.decisions import _json_list

VALUES: list[Any] = [
    {}, [], "", "héllo", "\ud800 lone surrogate", {"b": 1, "a": [1, 2.5, None, True]},
    {"nested": {"z": {"y": ["x"]}}, "n": -0.0}, [("a", "b"), ("c", "d")],
    {"path": PurePosixPath("a/b")}, {3: "int key"}, {"set": {1}}, 1e300, float("inf"),
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_dumps_is_json_dumps_with_sorted_keys_and_str_default(value: Any) -> None:
    assert dumps(value) == json.dumps(value, sort_keys=True, default=str)
    assert dumps(value) == dumps(value)  # a pooled encoder is reused as new


def test_a_value_that_fails_to_encode_leaves_no_state_behind() -> None:
    loop: list[Any] = []
    loop.append(loop)
    for _ in range(3):
        with pytest.raises(ValueError, match="Circular"):
            dumps({"a": loop})
    shared = ["x"]
    assert dumps({"a": shared, "b": shared}) == '{"a": ["x"], "b": ["x"]}'


@pytest.mark.parametrize("text", [
    '{"a": 1}', "[1, 2]", '"s"', "NaN", "  {}  ", '{"a": 1} ', " 3", "\ufeff{}", "{", "",
    '{"a": }', '{"a": 1} x', '["\\ud800"]',
])
def test_loads_is_json_loads(text: str) -> None:
    try:
        want: Any = json.loads(text)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            loads(text)
        return
    got = loads(text)
    if isinstance(want, float) and math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == want and type(got) is type(want)


@pytest.mark.parametrize("items", [
    [], ["out"], ["a", "é", "\u2028", 'q"uote'], [("x", "h1"), ("y", "h2")],
    [("p", "tok")], [1, "a"], [("a", 1)], [("a", "b", "c")], [["a", "b"]],
])
def test_the_keys_lists_are_json_dumps(items: list[Any]) -> None:
    assert _json_list(items) == json.dumps(items)
