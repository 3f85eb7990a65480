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


def test_a_version_is_ascii_digits_everywhere_a_name_is_read(project: Path) -> None:
    """``str.isdigit`` takes ``²`` for a digit and ``int`` then refuses it: ``model@²``
    was a ValueError traceback from the catalog; it is a selector that is no version and
    no valid alias, refused as such, and ``model@01`` is still version 1."""
    run = fm.Pipeline("p", [fm.step(outputs="model")(lambda: [1])]).run()
    cat = fm.Catalog()
    for spec in ("model@²", "model@٣"):
        with pytest.raises(fm.FlowymlError, match="invalid alias"):
            cat.resolve(spec)
        with pytest.raises(fm.FlowymlError, match="invalid alias"):
            cat.get(spec)
    with pytest.raises(fm.ArtifactNotFoundError, match="no alias"):
        cat.reader.find("model", "²")  # the catalog itself answers, without a traceback
    assert cat.get("model@01").id == run.artifacts["model"].id
