"""Find the project root: the nearest folder up from the cwd with pyproject.toml or flowyml.toml."""

from __future__ import annotations

from pathlib import Path

MARKERS = ("flowyml.toml", "pyproject.toml")


def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding a marker file;
    the start folder itself when none does."""
    here = Path(start) if start is not None else Path.cwd()
    here = here.resolve()
    for folder in (here, *here.parents):
        if any((folder / m).is_file() for m in MARKERS):
            return folder
    return here
