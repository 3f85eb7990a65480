"""Sizes as people read them and write them (one formatter for the CLI, the stack check
and the web page; one parser for every size setting)."""

from __future__ import annotations

import re

from .errors import ConfigError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$", re.I)


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


def parse_size(value: str | int | float | None, what: str = "cache size") -> int | None:
    """``20GB``, ``500 MiB``, ``1.5g`` or a number of bytes -> bytes (powers of 1024)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    m = _SIZE.match(str(value))
    if not m:
        raise ConfigError(
            f"{what} {value!r} is not a size; write a number of bytes or e.g. '20GB', '500MB'"
        )
    scale = 1024 ** " kmgtp".index((m.group(2) or " ").lower())
    return int(float(m.group(1)) * scale)
