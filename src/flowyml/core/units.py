"""Sizes as people read them (one formatter for the CLI, the stack check and the web page)."""

from __future__ import annotations


def format_size(n: int | float | None) -> str:
    """``532 B``, ``1.5 KB``, ``2.0 GB`` (binary multiples); ``-`` when unknown."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
