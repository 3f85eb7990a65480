"""Find the project root: the nearest folder at or above the pipeline's own file (else
the current directory) holding ``pyproject.toml`` or ``flowyml.toml``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MARKERS = ("flowyml.toml", "pyproject.toml")
_PACKAGE = Path(__file__).resolve().parents[1]  # flowyml itself: never a user's project


def in_a_project(start: str | Path | None = None) -> bool:
    """Whether ``start`` (default: cwd) is in a FlowyML project: a marker file at or
    above it, a ``.flowyml`` folder in it, or a store or catalog named in the
    environment. The readers that take no pipeline file (the CLI's commands,
    ``fm.Catalog()``) refuse a folder in none, where they would only create an empty
    catalog (``flowyml runs`` in the home folder by mistake)."""
    if any(os.environ.get(v) for v in ("FLOWYML_STORE", "FLOWYML_CATALOG", "FLOWYML_ROOT")):
        return True
    here = Path(start) if start is not None else Path.cwd()
    return (here / ".flowyml").is_dir() or any(
        (folder / m).is_file() for folder in (here, *here.parents) for m in MARKERS)


def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding a marker file; the start folder
    itself when none does. With no ``start`` (a notebook, a command that takes no
    pipeline file), ``FLOWYML_ROOT`` when set, else from the current directory."""
    if start is None:
        explicit = os.environ.get("FLOWYML_ROOT")
        if explicit:
            return Path(explicit).resolve()
    here = Path(start) if start is not None else Path.cwd()
    here = here.resolve()
    for folder in (here, *here.parents):
        if any((folder / m).is_file() for m in MARKERS):
            return folder
    return here


def user_file(file: Any) -> Path | None:
    """``file`` as an absolute path when it is a real source file of the user's own code:
    it exists, and lies neither in ``site-packages`` / ``dist-packages`` (an installed
    package is nobody's project) nor inside flowyml. Else None (``<stdin>``, a notebook
    cell, ``python -c``, a library)."""
    if not isinstance(file, (str, os.PathLike)):
        return None
    try:
        path = Path(file).resolve()
        if not path.is_file():
            return None
    except (OSError, ValueError):
        return None
    if any(part in ("site-packages", "dist-packages") for part in path.parts):
        return None
    if path.is_relative_to(_PACKAGE):
        return None
    return path


def defining_file(module_file: Any, steps: Iterable[Any] = ()) -> Path | None:
    """Where a pipeline was defined: ``module_file`` (the ``__file__`` of the module that
    created it), else the file of the first step whose function's module has one, else
    None."""
    found = user_file(module_file)
    if found is not None:
        return found
    for st in steps:
        func = getattr(st, "func", None)
        module = sys.modules.get(getattr(func, "__module__", None) or "")
        found = user_file(getattr(module, "__file__", None))
        if found is not None:
            return found
    return None


def pipeline_root(file: Path | None) -> Path:
    """The project root of a pipeline defined in ``file``: ``FLOWYML_ROOT`` when set (an
    explicit choice: a CI job, a test giving each case its own project), else the nearest
    folder at or above the file holding a marker, whatever the current directory; with
    no file (a notebook, ``python -c``), the current directory's project root."""
    explicit = os.environ.get("FLOWYML_ROOT")
    if explicit:
        return Path(explicit).resolve()
    return project_root(file.parent if file is not None else None)
