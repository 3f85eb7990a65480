"""Display helpers shared by the templates (Jinja filters)."""

from __future__ import annotations

import time
from typing import Any

from ..core.units import format_size


def size(n: Any) -> str:
    return format_size(n)


def when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def iso(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = float(seconds)
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.2f} s"
    m, s = divmod(round(s), 60)
    if m < 60:
        return f"{m} min {s} s"
    h, m = divmod(m, 60)
    return f"{h} h {m} min"


def clip(text: Any, n: int) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= n else s[: max(1, n - 1)] + "\u2026"


def why(reason: str | None) -> str:
    """The reason sentence without its leading state word (``"reused: ..."`` -> ``"..."``)."""
    s = reason or ""
    for prefix in ("executed: ", "reused: ", "failed: ", "not reached: ", "not reached yet: "):
        if s.startswith(prefix):
            return s[len(prefix) :]
    return s


FILTERS = {"size": size, "when": when, "iso": iso, "duration": duration, "clip": clip, "why": why}
