"""Small, capped previews of artifact values for the web page.

The logic is ``flowyml.display``'s (shared with ``flowyml show`` and Jupyter), so the
page, the terminal and a notebook preview a value the same way and none of them ever
unpickles. This module keeps the names the page uses.
"""

from __future__ import annotations

from ..display import (
    MAX_BYTES,
    MAX_CELL,
    MAX_COLS,
    MAX_JSON_BYTES,
    MAX_ROWS,
    MAX_TEXT,
    STATS_VALUES,
    Preview,
    make_preview,
    preview_kind,
)

__all__ = [
    "MAX_BYTES",
    "MAX_CELL",
    "MAX_COLS",
    "MAX_JSON_BYTES",
    "MAX_ROWS",
    "MAX_TEXT",
    "STATS_VALUES",
    "Preview",
    "make_preview",
    "preview_kind",
]
