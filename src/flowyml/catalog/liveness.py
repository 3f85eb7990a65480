"""Run liveness: whether a run still marked ``running`` has a driver behind it.

Only the driver of a run writes its status, so a driver that dies (killed, machine
lost) leaves its run ``running`` forever. Readers therefore show such a run as
failed: its process is gone (the driver ran on this host), or its heartbeat stopped
(any host). The driver beats every ``HEARTBEAT_SECONDS``; a run whose last beat is
older than ``STALE_AFTER_SECONDS`` (four missed beats) has no live driver.

This is policy, not storage: every catalog implementation applies it to the rows it
reads, and the runtime takes its heartbeat period from here. No SQL, no I/O beyond
``os.kill(pid, 0)``.
"""

from __future__ import annotations

import os
import time
from typing import Protocol

HEARTBEAT_SECONDS = 15.0
STALE_AFTER_SECONDS = 4 * HEARTBEAT_SECONDS


class RunRow(Protocol):
    """What the policy reads of a stored run (a database row or a record)."""

    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def host(self) -> str: ...
    @property
    def pid(self) -> int: ...
    @property
    def heartbeat(self) -> float | None: ...
    @property
    def started_at(self) -> float: ...


def hostname() -> str:
    """This machine's name, as runs record it (``os.uname`` where there is one: the
    same as ``socket.gethostname()`` without importing ``socket``)."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)
    import socket

    return socket.gethostname()


def status_of(
    row: RunRow, *, stale_after: float | None = None, now: float | None = None
) -> tuple[str, str | None]:
    """``(status, error)`` as readers show the run: a ``running`` run whose driver is
    gone reads as ``failed``, with the reason as its error."""
    if row.status != "running":
        return row.status, row.error
    if row.host == hostname() and row.pid and not pid_alive(int(row.pid)):
        return "failed", f"the driver process (pid {row.pid}) died while the run was in progress"
    bound = STALE_AFTER_SECONDS if stale_after is None else stale_after
    beat = row.heartbeat if row.heartbeat is not None else row.started_at
    if (time.time() if now is None else now) - float(beat) > bound:
        return "failed", f"no heartbeat from the driver on {row.host} for over {bound:.0f} s"
    return row.status, row.error


def is_live(row: RunRow, *, stale_after: float | None = None) -> bool:
    """True while the run is ``running`` and its driver is alive (gc keeps what it may
    still reference)."""
    return status_of(row, stale_after=stale_after)[0] == "running"


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists on this host (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
