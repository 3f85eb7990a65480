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
