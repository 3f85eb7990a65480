"""Names cannot escape (``core/names.py``): asset names, aliases and catalog
references are validated before they reach a path, a key or a query."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowyml as fm


@pytest.mark.parametrize(
    "bad",
    [
        "../escape",
        "/abs/path",
        "a/b",
        "name#frag",
        "name%2e%2e",
        "nul\x00byte",
        "",
        ".hidden",
        "white space",
        "a..b",
        "x" * 300,
    ],
)
def test_names_cannot_escape(project: Path, bad: str) -> None:
    with pytest.raises(fm.ParameterError):
        fm.step(outputs=bad)(lambda: 1)
    fm.Pipeline("p", [fm.step(outputs="ok")(lambda: 1)]).run()
    with pytest.raises(fm.ParameterError):
        fm.Catalog().tag("ok", 1, bad)
    with pytest.raises(fm.ParameterError):
        fm.Catalog().get(bad)


def test_a_non_ascii_name_says_ascii_and_how_to_keep_the_function() -> None:
    """Names become store prefixes: ASCII only; ``é`` is a letter, so the message says
    which letters, and for a function's own name, how to name the step instead."""
    namespace: dict[str, object] = {}
    exec("def entraîner():\n    return 1\n", namespace)
    with pytest.raises(fm.ParameterError, match=r"ASCII letters \(A-Z, a-z\)") as err:
        fm.step(namespace["entraîner"])
    assert "@fm.step(name=...)" in str(err.value)
    assert fm.step(name="entrainer")(namespace["entraîner"]).name == "entrainer"
    for bad in (lambda: fm.step(outputs="données")(lambda: 1),
                lambda: fm.Pipeline("pipeline_é", [])):
        with pytest.raises(fm.ParameterError, match="ASCII letters") as err:
            bad()
        assert "@fm.step(name=" not in str(err.value)  # not a function's name
