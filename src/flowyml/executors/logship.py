"""A step's log records, from a worker to the driver's handlers.

Inline, a step's ``log.info(...)`` reaches the handlers the script configured
(``logging.basicConfig(level=logging.INFO, format=...)`` before ``run()``). A worker
process has none of them: it is started afresh, and what the script configured at run
time is not there. So, while a step runs in a worker, the worker's root logger has a
``Shipper``: each record that reaches it and that no handler of the worker handles
(a record that a module configured at import is printed by that handler there, as in
the driver) is made portable (its message formatted, its traceback as text) and sent to
the driver, which hands it to its own logger of that name (``log_again``): filtered,
formatted and written as the script configured, as inline. A worker takes the driver's
root level and ``logging.disable`` first (``Job.log_level``), so the same records are
made.

How they travel: a ``processes`` worker sends each record to the driver as it is made
(``LIVE``: a message on the job's connection, before the reply), so a long step's
progress shows while it runs; a Dask task, which has no such channel, sends its records
with its reply (at most ``MAX_RECORDS``, then says how many it left out), and only those
of its own thread (a Dask worker runs other tasks, and its own loops, beside it).
Standard output is never captured: a worker writes to the driver's terminal itself.
"""

from __future__ import annotations

import logging
import pickle
import threading
from collections.abc import Callable
from typing import Any

LIVE = b"log:"  # the prefix of a record sent on a worker's connection
MAX_RECORDS = 10_000  # records of one Dask task sent back with its reply
# a record's own attributes: its ``extra=`` fields are kept only when they pickle
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def levels() -> tuple[int, int]:
    """The driver's root level and ``logging.disable`` level, for its workers."""
    return logging.getLogger().level, logging.root.manager.disable


def take_levels(wanted: tuple[int, int]) -> None:
    """Make this worker's root level and ``logging.disable`` the driver's."""
    level, disabled = wanted
    root = logging.getLogger()
    if root.level != level:
        root.setLevel(level)
    if logging.root.manager.disable != disabled:
        logging.disable(disabled)


class Shipper(logging.Handler):
    """Sends the records that reach the root logger, and that no other handler of this
    process handles, to the driver: through ``send`` (``LIVE``) or into ``kept``
    (with the reply). ``thread``: only that thread's records (a Dask task's)."""

    def __init__(self, send: Callable[[bytes], None] | None, thread: int | None) -> None:
        super().__init__(logging.NOTSET)
        self.send, self.thread = send, thread
        self.kept: list[dict[str, Any]] = []
        self.left_out = 0
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        if self.thread is not None and record.thread != self.thread:
            return
        if _handled_here(record):
            return
        try:
            fields = self._portable(record)
            if self.send is not None:
                self.send(LIVE + pickle.dumps(fields, protocol=5))
            elif len(self.kept) < MAX_RECORDS:
                self.kept.append(fields)
            else:
                self.left_out += 1
        except Exception:
            self.handleError(record)

    def _portable(self, record: logging.LogRecord) -> dict[str, Any]:
        fields = dict(record.__dict__)
        fields["msg"], fields["args"] = record.getMessage(), None
        if record.exc_info:
            fields["exc_text"] = record.exc_text or self._formatter.formatException(
                record.exc_info)
        fields["exc_info"] = None
        fields.pop("message", None)
        for name in [k for k in fields if k not in _STANDARD]:  # ``extra=`` fields
            try:
                pickle.dumps(fields[name], protocol=5)
            except Exception:
                del fields[name]
        return fields

    def records(self, step: str) -> list[dict[str, Any]]:
        """What was kept for the reply, and a last record saying how many were not."""
        if not self.left_out:
            return self.kept
        note = logging.makeLogRecord({
            "name": "flowyml", "levelno": logging.WARNING, "levelname": "WARNING",
            "msg": f"{self.left_out} more log records of step {step!r} were left out "
                   f"(a Dask task sends its first {MAX_RECORDS})"})
        return [*self.kept, note.__dict__]


def _handled_here(record: logging.LogRecord) -> bool:
    """Whether a handler of this process handles ``record``, other than the shippers
    (this task's, or another's beside it in a Dask worker): one a module added at
    import, as it did in the driver. It is shown from here."""
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None:
        for handler in logger.handlers:
            if not isinstance(handler, Shipper) and record.levelno >= handler.level:
                return True
        if not logger.propagate:
            break
        logger = logger.parent
    return False


class shipping:
    """``with shipping(send, thread) as shipper:`` the root logger has ``shipper`` (a
    ``Shipper``) meanwhile."""

    def __init__(self, send: Callable[[bytes], None] | None, thread: int | None) -> None:
        self.shipper = Shipper(send, thread)

    def __enter__(self) -> Shipper:
        logging.getLogger().addHandler(self.shipper)
        return self.shipper

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self.shipper)


def locked_sender(send: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """``send``, one message at a time (the step's own threads log too)."""
    lock = threading.Lock()

    def locked(message: bytes) -> None:
        with lock:
            send(message)

    return locked


def log_again(fields: dict[str, Any]) -> None:
    """Hand a worker's record to this process's logger of its name (its level, filters
    and handlers: what the script configured). A filter of the script's that raises
    drops the record (it would have failed the step inline, where it ran in the step:
    here it would fail the driver's wait for the step instead)."""
    record = logging.makeLogRecord(fields)
    logger = logging.getLogger(record.name)
    try:
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
    except Exception:
        pass


def log_message_again(message: bytes) -> None:
    """``log_again`` for a ``LIVE`` message."""
    log_again(pickle.loads(message[len(LIVE):]))


__all__ = ["LIVE", "Shipper", "levels", "locked_sender", "log_again", "log_message_again",
           "shipping", "take_levels"]
