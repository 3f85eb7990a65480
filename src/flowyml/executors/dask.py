"""``dask`` and ``dask://HOST:PORT``: steps as Dask tasks on a cluster's workers.

``dask`` starts a ``distributed.LocalCluster`` (2 worker processes, one thread each;
``dask:N`` for N) that lives as long as the run; ``dask://HOST:PORT`` connects to an
existing scheduler. Each attempt of a step is one ``client.submit`` of
``worker.run_dask_task`` on the pickled job (``pure=False``): the job holds hashes, and
the worker opens the store itself, so no artifact bytes go through the
scheduler. The workers must be able to reach the store (a shared folder or an object
store) and import ``flowyml``; the store's settings (a ``StoreSpec``), storage options included, travel
with each job.

A step with a timeout runs in a child process of the Dask worker, killed at the
deadline (a Dask task itself cannot be stopped). A Dask worker that dies is reported
by the scheduler as ``KilledWorker`` and becomes ``WorkerDied``. ``dask`` and
``distributed`` are imported only when this executor is created.

A step is handed to Dask at once (the scheduling loop keeps two per worker), so it
may wait at a worker before it starts. When the loop asks (``notify_starts``), each
task says it started: the worker logs an event under ``STARTED_TOPIC`` (sent on the
stream that carries its results to the scheduler, which passes it on to the client,
on the stream that tells it results are ready), with the task's key, which only this
client knows. One topic for every run (a scheduler keeps each topic's recent
events): the other clients of a shared scheduler ignore the keys they do not know.
The step's future stays pending until that event comes, so when a step fails the
loop cancels the steps still waiting for a worker, and their Dask tasks with them
(a worker drops a task cancelled before it runs): they are "not reached", as on
``processes``. A task whose start had not reached the driver yet when the failure
came (a few milliseconds) runs to its end on its worker; its result is dropped.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError
from .base import Cancelled, StepTimedOut, WorkerDied, drive, mark_running
from .worker import STARTED_TOPIC, decode_reply, encode_job, run_dask_task, warm_up_dask_worker

if TYPE_CHECKING:
    from ..stores import StoreSpec
    from .task import StepOutcome, StepTask

INSTALL_HINT = "install it with: pip install 'flowyml-core[dask]'"
CONNECT_TIMEOUT = "10s"  # to reach an existing scheduler


def _unguarded_main_line(method: str) -> str | None:
    """``FILE:LINE`` of the main script's top-level statement that is running now (the
    one that got here), unless it is under ``if __name__ == "__main__":``. ``None``
    when there is no main script file (a notebook, ``python -c``), when this is not
    called from its top level (a function, the CLI), or with ``fork`` workers, which do
    not re-import it."""
    import sys

    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    if method == "fork" or not file or main is None:
        return None
    frame = sys._getframe(1)
    while frame is not None and not (
            frame.f_code.co_name == "<module>" and frame.f_globals is vars(main)):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return None
    line = frame.f_lineno
    try:
        import ast

        with open(file, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return None
    for stmt in tree.body:
        if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
            return None if _is_main_guard(stmt) else f"{file}:{line}"
    return None


def _is_main_guard(stmt: Any) -> bool:
    """``if __name__ == "__main__":`` (either way round)."""
    import ast

    test = getattr(stmt, "test", None)
    if not isinstance(stmt, ast.If) or not isinstance(test, ast.Compare):
        return False
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [x for x in sides if isinstance(x, ast.Name) and x.id == "__name__"]
    values = [x for x in sides if isinstance(x, ast.Constant) and x.value == "__main__"]
    return len(names) == 1 and len(values) == 1


class DaskExecutor:
    name = "dask"
    in_process = False

    def __init__(self, store: StoreSpec, address: str | None = None, n_workers: int = 2) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ConfigError(f"the dask executor needs dask.distributed ({exc}); {INSTALL_HINT}") from None
        self._spec = store
        self._stats = store.open().stats
        self._cluster: Any = None
        if address is None:
            unguarded = _unguarded_main_line(dask.config.get(
                "distributed.worker.multiprocessing-method", "spawn"))
            if unguarded is not None:  # say so now: Dask's workers would fail noisily
                raise ConfigError(
                    f"executor='dask' starts a local Dask cluster from {unguarded}, which "
                    "runs whenever that script is imported; Dask starts its workers with "
                    "multiprocessing 'spawn', which re-imports the main script in each of "
                    "them. Put the code that runs the pipeline under "
                    "`if __name__ == \"__main__\":`, or use executor='processes'"
                )
            # Our own cluster: a task whose worker dies fails at once (our retries,
            # not the scheduler's, decide whether to try again).
            try:
                with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                    self._cluster = LocalCluster(
                        n_workers=n_workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",  # any free port: never clashes
                        silence_logs=logging.ERROR,
                    )
            except Exception as exc:
                raise ConfigError(
                    f"the local Dask cluster did not start ({type(exc).__name__}: {exc}). "
                    "Dask starts its workers with multiprocessing 'spawn', which re-imports "
                    "your main script: put the code that runs the pipeline under "
                    "`if __name__ == \"__main__\":`, or use executor='processes'"
                ) from exc
            target: Any = self._cluster
            self.address = self._cluster.scheduler_address
        else:
            target = self.address = address
        try:
            self._client = Client(target, set_as_default=False, timeout=CONNECT_TIMEOUT)
        except Exception as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise ConfigError(
                f"cannot reach the Dask scheduler at {address}: {exc}; start one with "
                "`dask scheduler` (and `dask worker ADDRESS`), or use executor='dask' "
                "for a local cluster"
            ) from None
        try:  # the workers import FlowyML now, in parallel, not in their first step
            self._client.run(warm_up_dask_worker)
        except Exception:  # best effort: the first step imports what it needs anyway
            pass
        from ..core.reads import never_a_step

        # (their event loops, the scheduler's of our own cluster too, unpickle tasks beside
        # a step running in the driver, which records the whole process's reads)
        for loop in (self._client.loop, getattr(self._cluster, "loop", None)):
            if loop is not None:
                loop.add_callback(never_a_step)
        nthreads = self._client.nthreads()
        self.max_workers = max(1, sum(nthreads.values()))
        # one step queued at each worker beyond the one it runs: the next starts when
        # the last ends, not a scheduler round trip later (~17 ms a step on 2 workers)
        self.in_flight = 2 * self.max_workers
        self._active: set[Any] = set()  # dask futures in flight, cancelled at shutdown
        self._on_start: Callable[[str], None] | None = None
        # task key -> (step, its future), until the task starts
        self._starting: dict[str, tuple[str, Future[StepOutcome]]] = {}
        self._threads = ThreadPoolExecutor(
            max(2 * self.in_flight, 8), thread_name_prefix="flowyml-dask"
        )

    def __repr__(self) -> str:
        return f"DaskExecutor({self.address!r}, max_workers={self.max_workers})"

    def notify_starts(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(step name)``, from the client's thread, when a worker starts
        one of this executor's tasks (see the module docstring)."""
        self._on_start = callback
        self._client.subscribe_topic(STARTED_TOPIC, self._started)

    def _started(self, event: tuple[float, Any]) -> None:
        got = self._starting.pop(event[1], None) if isinstance(event[1], str) else None
        if got is None:
            return
        name, fut = got
        if mark_running(fut) and self._on_start is not None:
            self._on_start(name)

    def submit(self, task: StepTask) -> Future[StepOutcome]:
        """The step's future: pending until its task starts on a worker (when the loop
        asked to be told, ``notify_starts``; else at once), so a failure elsewhere can
        cancel it, and its Dask task with it, before it starts."""
        fut: Future[StepOutcome] = Future()
        self._threads.submit(drive, task, fut, self._attempt)
        return fut

    def _attempt(self, task: StepTask, timeout: float | None, *,
                 fut: Future[StepOutcome]) -> StepOutcome:
        from distributed import KilledWorker

        if fut.cancelled():  # (before a retry, too)
            raise Cancelled
        payload = encode_job(self._spec, task, timeout)
        key = f"flowyml-{task.step.name}-{uuid.uuid4().hex[:12]}"
        said = key if self._on_start is not None else None  # what the task logs as it starts
        if said is None:  # not told when it starts: running (not cancellable) from now
            if not mark_running(fut):
                raise Cancelled
        elif not fut.running():
            self._starting[key] = (task.step.name, fut)
        dask_fut = self._client.submit(run_dask_task, payload, said, pure=False, key=key)
        self._active.add(dask_fut)
        # a failure elsewhere cancels the step while it waits for a worker: its task too
        fut.add_done_callback(lambda f: dask_fut.cancel() if f.cancelled() else None)
        try:
            reply = dask_fut.result()
        except KilledWorker as exc:
            raise WorkerDied(
                f"worker process died while running step {task.step.name!r} "
                f"(Dask scheduler: {exc})"
            ) from None
        except CancelledError:
            raise Cancelled from None
        finally:
            self._active.discard(dask_fut)
            self._starting.pop(key, None)
            dask_fut.release()
        return decode_reply(reply, self._stats)

    def shutdown(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        try:
            if self._active:  # an interrupted run: drop what has not started
                self._client.cancel(list(self._active))
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


__all__ = ["DaskExecutor", "StepTimedOut", "WorkerDied"]
