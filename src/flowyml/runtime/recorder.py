"""Group commit: step records are buffered and written to the catalog in batches.

Writing one catalog transaction per step made per-step overhead several milliseconds.
The recorder buffers finished steps' records and writes them in order, one transaction
per batch: every ``FLUSH_EVERY`` records, when the oldest buffered record is
``FLUSH_SECONDS`` old (a background thread checks, so a long step never hides the
records before it; it starts when the first step executes, or once a run that only
reuses has lasted half that), before a failure is recorded, and at the end of the run. Each
step's rows stay all-or-nothing, and objects are always stored before the batch that
references them. A crash before a flush costs only re-executing those steps. The same
thread beats the run's heartbeat, so a killed run reads as failed, not running forever.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from ..catalog import liveness

if TYPE_CHECKING:
    from ..catalog.base import RuntimeCatalog
    from ..catalog.records import ArtifactRecord, Write

# records per group commit: a batch rewrites the index pages its keys touch, so bigger
# batches write less (a 1000-step fan-out: 2.9 MB of WAL in one batch, 4.2 MB in four)
FLUSH_EVERY = 1024
FLUSH_SECONDS = 0.2  # ...or this long after the first buffered one


class Recorder:
    """Buffers the records of one run and writes them in order, in batches."""

    def __init__(self, catalog: RuntimeCatalog, run_id: str) -> None:
        self._catalog = catalog
        self._run_id = run_id
        self._writes: list[Write] = []
        # id -> the record as written, with its version (a run's outputs are provisional,
        # version 0, until their batch is written)
        self.written: dict[str, ArtifactRecord] = {}
        self._oldest = 0.0
        self._lock = threading.Lock()  # guards the buffer
        self._flush_lock = threading.Lock()  # one batch at a time, in order
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._born = time.perf_counter()

    def start(self) -> None:
        """Start the background thread (the run calls this before a step executes: a
        long step must not hold back the records before it, nor the heartbeat). A run
        that only reuses starts it once it has lasted ``FLUSH_SECONDS / 2``; one that
        ends sooner never pays for a thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"flowyml-recorder-{self._run_id}", daemon=True
            )
            self._thread.start()

    def add(self, w: Write) -> None:
        with self._lock:
            if not self._writes:
                self._oldest = time.perf_counter()
            self._writes.append(w)
            full = len(self._writes) >= FLUSH_EVERY
        self.lasted()
        if full:
            self.flush()

    def lasted(self) -> None:
        """Start the thread if the run has lasted ``FLUSH_SECONDS / 2`` (the run calls
        this after each phase that may take long before anything is recorded)."""
        if self._thread is None and time.perf_counter() - self._born > FLUSH_SECONDS / 2:
            self.start()

    def flush(self) -> None:
        """Write what is buffered now; re-raise an error of the background thread."""
        with self._flush_lock:
            with self._lock:
                batch, self._writes = self._writes, []
            if batch:
                for arts in self._catalog.record_batch(batch):
                    self.written.update((a.id, a) for a in arts.values())
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def _loop(self) -> None:
        last_beat = time.perf_counter()
        while not self._stop.wait(FLUSH_SECONDS / 2):
            try:
                with self._lock:
                    due = bool(self._writes) and time.perf_counter() - self._oldest > FLUSH_SECONDS
                if due:
                    self.flush()
                if time.perf_counter() - last_beat > liveness.HEARTBEAT_SECONDS:
                    last_beat = time.perf_counter()
                    self._catalog.heartbeat(self._run_id)
            except BaseException as exc:  # surfaced by the next flush in the driver
                self._error = exc

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
