"""Plain records the catalog reads and writes (no SQL here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.stored import NewOutput as NewOutput
from ..core.stored import artifact_id as artifact_id  # re-exported: the catalog's ids
from ..core.struct import field, struct


@struct(frozen=True)
class ArtifactRecord:
    id: str
    name: str
    version: int
    content_hash: str
    size: int
    materializer: str
    type_name: str
    run_id: str
    step: str
    code_version: str
    created_at: float
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    # a tiny object kept in the catalog row instead of the store (``objects.INLINE_MAX``)
    data: bytes | None = field(default=None, compare=False, repr=False)


@struct
class StepRecord:
    """One step of one run: executed, reused from cache, or failed."""

    run_id: str
    pipeline: str
    step: str
    status: str  # "executed" | "cached" | "failed"
    cache_key: str
    reason: str
    code_version: str
    started_at: float
    duration: float = 0.0
    fingerprint: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # param -> content hash
    values: dict[str, list[str]] = field(default_factory=dict)  # param -> [token, display]
    error: str | None = None
    attempts: int = 1
    outputs: dict[str, str] = field(default_factory=dict)  # asset -> artifact id
    # fingerprint part -> its normalized source (``Fingerprint.sources``): written,
    # content-addressed, for executed and failed steps; read back with
    # ``CodeReader.code_versions``
    sources: Mapping[str, str] = field(default_factory=dict, repr=False)
    # the files the execution read (``core.reads.portable``: [path, size, mtime_ns,
    # blake3]; a folder it listed ends in "/"); a reused step's are those of the
    # execution it reused
    reads: list[list[Any]] = field(default_factory=list)


@struct(frozen=True)
class CodeVersion:
    """The code of one code version (a step's fingerprint): each recorded part's
    normalized source, and the content address (BLAKE3 of the text) it is stored under."""

    version: str
    sources: dict[str, str] = field(default_factory=dict)  # part -> source text
    digests: dict[str, str] = field(default_factory=dict)  # part -> digest of the text
    # part -> the file defining the module a constant read through a module attribute
    # lives in (``constant pipe.py:util.TOKEN`` -> ``lib/util.py``), when recorded
    files: dict[str, str] = field(default_factory=dict)

    @property
    def recorded(self) -> bool:
        """False for a code version executed before FlowyML recorded code."""
        return bool(self.digests)


@struct(frozen=True)
class RunRecord:
    id: str
    pipeline: str
    status: str  # "running" | "succeeded" | "failed"
    started_at: float
    finished_at: float | None
    error: str | None
    params: dict[str, Any]
    stats: dict[str, Any]
    host: str
    pid: int
    stack: str = ""  # the stack's name (never its settings)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython shows one line (``Catalog().runs()`` in a notebook), not every field."""
        import time

        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started_at))
        took = (f", {self.finished_at - self.started_at:.3g} s"
                if self.finished_at is not None else "")
        p.text(f"<run {self.id} of {self.pipeline}: {self.status}, started {started}{took}>")


@struct
class Write:
    """One step's records for ``record_batch``: ``"exec"``, ``"reuse"`` or ``"fail"``."""

    kind: str
    rec: StepRecord
    outputs: list[NewOutput] = field(default_factory=list)
    parents: dict[str, str] = field(default_factory=dict)
    cache: bool = True
    artifacts: dict[str, ArtifactRecord] | None = None
    # the end states of the hidden random generators the execution seeded or drew from
    # (``core.rng.end_states``): kept with its cache entry, put back by a reuse
    effects: dict[str, str] | None = None


class CacheHit(dict[str, ArtifactRecord]):
    """A cache entry's outputs (asset -> record), the files its execution read
    (``core.reads.portable``), which must still hold for the entry to be reused, what
    a reuse puts back (``Write.effects``), and the run whose execution wrote the entry
    (``run_id``: not always the run that first made its artifacts, whose id their
    records carry; None when not known)."""

    __slots__ = ("effects", "reads", "run_id")

    def __init__(self, outputs: Mapping[str, ArtifactRecord],
                 reads: list[list[Any]] | None = None,
                 effects: dict[str, str] | None = None,
                 run_id: str | None = None) -> None:
        super().__init__(outputs)
        self.reads = reads
        self.effects = effects
        self.run_id = run_id


