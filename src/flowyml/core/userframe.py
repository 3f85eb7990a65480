"""What the user sees of FlowyML's objects: warnings that point at the user's line, not
FlowyML's, and records IPython shows as their text.

A warning FlowyML raises while building or running a pipeline is about the user's
code, and Python shows the location ``stacklevel`` names: with a fixed level that is
FlowyML's own line (``fingerprint.py:622``), which means nothing to the user. The level
is instead counted up to the first frame outside the package: the ``pipe.run()`` line
of a script or notebook cell.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TypeVar

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def outside_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` called by the caller of this function
    that names the first frame outside FlowyML (the caller's own frame is level 1)."""
    frame = sys._getframe(1)
    level = 1
    while is_flowyml_file(frame.f_code.co_filename) and frame.f_back is not None:
        frame = frame.f_back  # (a worker's stack is FlowyML's to the bottom: its first)
        level += 1
    return level


def is_flowyml_file(filename: str) -> bool:
    """Whether code of ``filename`` is FlowyML's own."""
    return filename.startswith(_PACKAGE)



T = TypeVar("T", bound=type)


def shown_as_text(cls: T) -> T:
    """Make IPython show a record by its ``str`` (its human text: a diff, a lineage
    tree), as ``print`` does, not by its fields. Set on the class itself: IPython takes
    a class's own ``__repr__`` (a dataclass's) before an inherited ``_repr_pretty_``."""

    def _repr_pretty_(self: Any, p: Any, cycle: bool) -> None:
        p.text(str(self))

    cls._repr_pretty_ = _repr_pretty_  # type: ignore[attr-defined]
    return cls
