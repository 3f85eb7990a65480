"""What made two runs, or two artifacts, differ: the code, run values and inputs.

Everything is read through ``flowyml.Catalog`` and its ``reader`` (step records,
artifact records, lineage edges and the recorded code of every code version), so it
works on every catalog the CLI works on, and it never writes.

- ``artifact_code(spec)``: the code of the step version that produced an artifact,
  each part (the step, every helper, method, class, constant it reached) under its
  own heading (``flowyml show SPEC --code``).
- ``diff_runs(a, b)``: for each step, executed or reused in each run, what differs: run
  values (``lr 0.1 -> 0.2``), code (a unified diff of the normalized source of each
  changed part), input versions; and each asset's version and hash in both runs.
- ``diff_artifacts(a, b)``: walking up from two artifacts, the places where their
  lineages diverge (an upstream artifact, step code or run value), with recorded table
  schemas compared (added, removed, retyped columns).
- ``compare(first, second)``: either, by what the two arguments name (``flowyml diff``).

Every result has ``to_dict()`` (the JSON form) and ``str()`` (the text form).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .catalog_api import Catalog
from .core.errors import ArtifactNotFoundError, ParameterError
from .core.parts import env_not_set, part_label
from .core.reads import CODE, CWD, CWD_PATH, STAT
from .core.userframe import shown_as_text

if TYPE_CHECKING:
    from .artifact import Artifact
    from .catalog.base import CatalogReader
    from .catalog.records import ArtifactRecord, CodeVersion, RunRecord, StepRecord
    from .stack import Stack

__all__ = [
    "ArtifactCode",
    "ArtifactDiff",
    "RunDiff",
    "artifact_code",
    "code_changes",
    "compare",
    "diff_artifacts",
    "diff_runs",
    "record_code",
]

_ELEMENT = re.compile(r"\[\d+\]$")  # map_over element rows: ``<step>[i]``
_STATE = {"executed": "executed", "cached": "reused", "failed": "failed"}
_KIND_ORDER = {"helper": 1, "class": 2, "method": 3, "attribute": 4, "constant": 5,
               "closure": 6, "defaults": 7, "module": 8}
_STEP_PARTS = ("declaration", "decorator", "code")


# ------------------------------------------------------------------ small records
@dataclass(frozen=True)
class ArtRef:
    """An artifact as a diff names it (``name@version`` and its hash)."""

    id: str
    name: str
    version: int
    content_hash: str

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}" if self.id else f"? ({self.content_hash[:12]})"

    @classmethod
    def of(cls, r: ArtifactRecord | Artifact) -> ArtRef:
        return cls(r.id, r.name, r.version, r.content_hash)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id or None, "name": self.name, "version": self.version,
                "content_hash": self.content_hash}


@dataclass(frozen=True)
class CodeChange:
    """One fingerprint part that differs: ``change`` is changed, added, removed or
    moved; ``diff`` a unified diff of its normalized source (or ``old -> new``)."""

    part: str
    label: str
    change: str
    diff: str

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "label": self.label, "change": self.change,
                "diff": self.diff}


@dataclass(frozen=True)
class ValueChange:
    param: str
    a: str | None
    b: str | None

    def text(self) -> str:
        return f"run value {self.param}: {self.a or '(unset)'} -> {self.b or '(unset)'}"


@dataclass(frozen=True)
class FileChange:
    """A file (or a listed folder, ``path/``) that a step read in one run or the other,
    with different content: each side's short content hash, or None when not read."""

    path: str
    a: str | None
    b: str | None
    code: bool = False  # code a pickle the step loaded names (``core.reads.CODE``)

    def text(self) -> str:
        if self.path == CWD_PATH:
            return f"working directory its relative paths resolved in: {self.a} -> {self.b}"
        what = "code" if self.code else "folder" if self.path.endswith("/") else "file"
        verb = "unpickled" if self.code else "read"
        if self.a is None:
            return f"{what} {self.path}: {verb} in B only ({self.b})"
        if self.b is None:
            return f"{what} {self.path}: {verb} in A only ({self.a})"
        return f"{what} {self.path} it {verb}: {self.a} -> {self.b}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "a": self.a, "b": self.b}
        if self.code:
            out["code"] = True
        return out


def _read_state(r: list[Any] | None) -> str | None:
    if r is None:
        return None
    if len(r) > 4 and r[4] == CWD:  # the working directory relative paths resolved in
        return str(r[3])
    if r[3] is not None and r[3] != STAT:  # a file checked, not read: by size and times
        return str(r[3])[:12]
    return "changed while read" if r[2] == -1 else f"size {r[1]}, mtime_ns {r[2]}"


def file_changes(a: StepRecord | None, b: StepRecord | None) -> list[FileChange]:
    """The files the two executions read that differ (by content; by size and mtime
    for a file recorded without a hash), or that only one of them read."""
    if a is None or b is None:
        return []
    ra, rb = {r[0]: r for r in a.reads}, {r[0]: r for r in b.reads}
    out = []
    for path in sorted(set(ra) | set(rb)):
        x, y = _read_state(ra.get(path)), _read_state(rb.get(path))
        if x != y or x == "changed while read":
            r = ra.get(path) or rb.get(path)
            out.append(FileChange(path, x, y, code=r is not None and len(r) > 4
                                  and r[4] == CODE))  # (the working directory: its path)
    return out


@dataclass(frozen=True)
class InputChange:
    param: str
    a: ArtRef | None
    b: ArtRef | None

    def text(self) -> str:
        a = self.a.label if self.a else "(none)"
        b = self.b.label if self.b else "(none)"
        return f"input {self.param}: {a} -> {b}"

    def to_dict(self) -> dict[str, Any]:
        return {"param": self.param, "a": self.a.to_dict() if self.a else None,
                "b": self.b.to_dict() if self.b else None}


@dataclass(frozen=True)
class SchemaDiff:
    """Recorded table schemas compared (``meta["schema"]``)."""

    added: list[tuple[str, str]]
    removed: list[tuple[str, str]]
    retyped: list[tuple[str, str, str]]
    rows: tuple[Any, Any]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.retyped or self.rows[0] != self.rows[1])

    def lines(self) -> list[str]:
        out = [f"+ column {c} ({t})" for c, t in self.added]
        out += [f"- column {c} ({t})" for c, t in self.removed]
        out += [f"~ column {c}: {a} -> {b}" for c, a, b in self.retyped]
        if self.rows[0] != self.rows[1]:
            out.append(f"rows: {self.rows[0]} -> {self.rows[1]}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"added": [list(x) for x in self.added], "removed": [list(x) for x in self.removed],
                "retyped": [list(x) for x in self.retyped], "rows": list(self.rows)}


def schema_diff(meta_a: dict[str, Any], meta_b: dict[str, Any]) -> SchemaDiff | None:
    """Added, removed and retyped columns between two recorded schemas (None unless
    both artifacts carry one)."""
    sa_, sb = meta_a.get("schema"), meta_b.get("schema")
    if not (isinstance(sa_, dict) and isinstance(sb, dict)):
        return None
    ca = {str(c): str(t) for c, t in sa_.get("columns") or []}
    cb = {str(c): str(t) for c, t in sb.get("columns") or []}
    return SchemaDiff(
        added=[(c, t) for c, t in cb.items() if c not in ca],
        removed=[(c, t) for c, t in ca.items() if c not in cb],
        retyped=[(c, t, cb[c]) for c, t in ca.items() if c in cb and cb[c] != t],
        rows=(sa_.get("rows"), sb.get("rows")),
    )


# ------------------------------------------------------------------ code
def _split(key: str) -> tuple[str, str, str]:
    """``helper a.py:f`` -> (``helper``, ``a.py``, ``f``); ``closure x`` -> (closure, '', x)."""
    kind, _, rest = key.partition(" ")
    where, sep, qual = rest.rpartition(":")
    return (kind, where, qual) if sep else (kind, "", rest)


def _heading(key: str, defined: str | None = None) -> str:
    """``helper f (a.py)``; a constant read through a module attribute is headed with
    the file ``defined`` of that module (its key names the file of the code that reads
    it: ``constant util.TOKEN (lib/util.py)``, not ``(pipe.py)``)."""
    kind, where, qual = _split(key)
    if kind == "env":  # its value as the key counted it (``VAR = '2'``)
        return f"environment variable {qual}"
    where = defined or where
    return f"{kind} {qual} ({where})" if where else f"{kind} {qual}".strip()


def _order(key: str) -> tuple[int, str]:
    return _KIND_ORDER.get(_split(key)[0], 9), key


def code_sections(code: CodeVersion, step: str,
                  parts: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(heading, text) for the code of one code version: the step first (its
    ``@step`` declaration, other decorators and body together), then each helper,
    class, method and value under its own heading, then what counts by version or
    token only (libraries, instance state) when the fingerprint ``parts`` are known."""
    src = code.sources
    own = [k for k in src if k.split(" ")[0] in _STEP_PARTS]
    own.sort(key=lambda k: (_STEP_PARTS.index(k.split(" ")[0]), k))
    out = [(f"step {step}", "\n".join(src[k] for k in own))] if own else []
    out += [(_heading(k, code.files.get(k)), src[k])
            for k in sorted((k for k in src if k not in own), key=_order)]
    rest = sorted(k for k in (parts or {}) if k not in src and k.split(" ")[0] not in _STEP_PARTS)
    libs = [f"{_split(k)[2]} {parts[k]}" for k in rest if k.startswith("library ")]  # type: ignore[index]
    if libs:
        out.append(("libraries (by installed version)", "\n".join(libs)))
    other = [part_label(k) for k in rest if not k.startswith("library ")]
    if other:
        out.append(("also counted (by value token, no source)", "\n".join(other)))
    return out


@shown_as_text
@dataclass
class ArtifactCode:
    """The code of the step version that produced an artifact."""

    artifact: ArtRef
    step: str
    run_id: str
    code: CodeVersion
    parts: dict[str, str] = field(default_factory=dict)  # the fingerprint, when recorded

    def sections(self) -> list[tuple[str, str]]:
        return code_sections(self.code, self.step, self.parts)

    def __str__(self) -> str:
        head = (f"{self.artifact.label} was made by step {self.step}, code version "
                f"{self.code.version}, in run {self.run_id}")
        if not self.code.recorded:
            return (f"{head}\nits code was not recorded: that code version last executed "
                    "before FlowyML recorded code (re-run the step with --force to record it)")
        blocks = [head]
        for title, text in self.sections():
            blocks.append(f"=== {title} ===\n{text}")
        return "\n\n".join(blocks)

    def to_dict(self) -> dict[str, Any]:
        return {"artifact": self.artifact.to_dict(), "step": self.step, "run_id": self.run_id,
                "code_version": self.code.version, "recorded": self.code.recorded,
                "sources": dict(self.code.sources), "digests": dict(self.code.digests)}


def artifact_code(spec: str | Artifact, stack: Stack | str | None = None) -> ArtifactCode:
    """The code that produced ``spec`` (``NAME``, ``NAME@VERSION``, ``NAME@ALIAS``, an
    id or an ``Artifact``)."""
    cat = Catalog(stack)
    art = cat.resolve(spec) if isinstance(spec, str) else spec
    return record_code(cat.reader, cat.reader.get_artifact(art.id))


def record_code(reader: CatalogReader, rec: ArtifactRecord) -> ArtifactCode:
    """``artifact_code`` for an artifact record, read through ``reader``."""
    producer = _producer(reader, rec, {})
    code = reader.code_versions([rec.code_version])[rec.code_version]
    return ArtifactCode(ArtRef.of(rec), rec.step, rec.run_id, code,
                        dict(producer.fingerprint) if producer else {})


def _unified(a: str | None, b: str | None, part: str) -> str:
    """A unified diff of a part's text in A and B; None: the part is not in that side
    (added or removed: ``/dev/null``), never a text that was not recorded."""
    lines = difflib.unified_diff(
        (a or "").splitlines(), (b or "").splitlines(),
        fromfile=f"a/{part}" if a is not None else "/dev/null",
        tofile=f"b/{part}" if b is not None else "/dev/null", lineterm="",
    )
    return "\n".join(lines)


def _unrecorded(code: CodeVersion, status: str | None) -> str:
    """Why code version ``code`` has no text of a part it has."""
    if not code.recorded:
        if status == "failed":
            return (f"code version {code.version} failed, and was not recorded: FlowyML "
                    "did not keep the code of failed steps then")
        return (f"code version {code.version} was not recorded: it last executed before "
                "FlowyML recorded code")
    return "FlowyML keeps a digest of this part, not a text"


_UNREAD = "(not read)"  # an environment variable the code of one side did not read
_NOT_RECORDED = "(value not recorded)"


def _env_change(var: str, ta: str | None, tb: str | None) -> str:
    """``'1' -> '2'`` for environment variable ``var``, from the texts its code versions
    recorded (``runtime.decisions.with_env_values``; masked under a secret-looking name, as
    they were stored); a side recorded before FlowyML kept them says so."""
    def value(text: str | None) -> str:
        if text is None:
            return _NOT_RECORDED
        if text == env_not_set(var):
            return "(not set)"
        return text.removeprefix(f"{var} = ")

    a, b = value(ta), value(tb)
    if a == b == _NOT_RECORDED:
        return ("(values not recorded: only a digest of each was kept when these ran; "
                "the value each run read is recorded since)")
    if a == b:  # both masked
        return f"{a} -> {b} (the value of a secret-looking name is never stored)"
    return f"{a} -> {b}"


def _one_side(ta: str | None, tb: str | None, why: str) -> str:
    """A part both sides have, whose text only one side recorded: that text whole,
    and why the other is missing (not a diff with an empty file)."""
    side, text = ("B", tb) if ta is None else ("A", ta)
    other = "A" if side == "B" else "B"
    body = _indent(text or "", 2)
    return f"{other}: (no recorded source: {why})\n{side}:\n{body}"


def code_changes(parts_a: dict[str, str], parts_b: dict[str, str],
                 code_a: CodeVersion, code_b: CodeVersion,
                 statuses: tuple[str | None, str | None] = (None, None)) -> list[CodeChange]:
    """Each part that differs between two code versions, with a unified diff of its
    recorded source. Without fingerprint parts, the source digests are compared.
    ``statuses``: the step records' (``"failed"``...), to say why a text is missing."""
    pa = parts_a or code_a.digests
    pb = parts_b or code_b.digests
    gone = {k: v for k, v in pa.items() if k not in pb}
    moved: dict[str, str] = {}
    for k, v in pb.items():  # the same code under the same name in another file
        if k not in pa:
            kind, _, qual = _split(k)
            old = next((g for g, gv in gone.items() if gv == v and g not in moved.values()
                        and _split(g)[0] == kind and _split(g)[2] == qual), None)
            if old is not None:
                moved[k] = old
    out: list[CodeChange] = []
    for k in sorted(set(pa) | set(pb), key=lambda k: (k.split(" ")[0] not in _STEP_PARTS, k)):
        if pa.get(k) == pb.get(k) or k in moved.values():
            continue
        label = part_label(k)
        if k in moved:
            where = f"{_split(moved[k])[1]} -> {_split(k)[1]}"
            out.append(CodeChange(k, label, "moved", f"moved {where}"))
            continue
        change = "added" if k not in pa else "removed" if k not in pb else "changed"
        ta = code_a.sources.get(k) if k in pa else None
        tb = code_b.sources.get(k) if k in pb else None
        lost = [_unrecorded(c, st) for c, st, parts, t in ((code_a, statuses[0], pa, ta),
                                                           (code_b, statuses[1], pb, tb))
                if k in parts and t is None]
        if k.startswith("env "):  # a value, not code: old -> new
            text = _env_change(k[4:], ta if k in pa else _UNREAD, tb if k in pb else _UNREAD)
        elif ta is None and tb is None:
            text = f"{pa.get(k, '(none)')} -> {pb.get(k, '(none)')}" \
                if k.startswith(("library ", "decorator ")) else \
                f"(no recorded source: {'; '.join(dict.fromkeys(lost))})"
        elif lost:  # in both, one text missing
            text = _one_side(ta, tb, lost[0])
        else:
            text = _unified(ta, tb, k)
        out.append(CodeChange(k, label, change, text))
    return out


# ------------------------------------------------------------------ shared reads
def _producer(reader: CatalogReader, rec: ArtifactRecord,
              runs: dict[str, dict[str, list[StepRecord]]]) -> StepRecord | None:
    """The step record that first produced ``rec`` (its run's row for its step); each
    run's rows are read once into ``runs``, by step (a walk down a long lineage asks
    once per artifact, not once per row of the run)."""
    if rec.run_id not in runs:
        try:
            rows = reader.step_runs(rec.run_id)
        except ArtifactNotFoundError:
            rows = []
        by_step: dict[str, list[StepRecord]] = {}
        for s in rows:
            by_step.setdefault(s.step, []).append(s)
        runs[rec.run_id] = by_step
    found = [s for s in runs[rec.run_id].get(rec.step, ()) if rec.id in s.outputs.values()]
    return next((s for s in found if s.status == "executed"), found[0] if found else None)


def _value_changes(a: StepRecord | None, b: StepRecord | None) -> list[ValueChange]:
    if a is None or b is None:
        return []
    out = []
    for p in sorted(set(a.values) | set(b.values)):
        va, vb = a.values.get(p), b.values.get(p)
        if (va[0] if va else None) != (vb[0] if vb else None):
            out.append(ValueChange(p, va[1] if va else None, vb[1] if vb else None))
    return out


def _code_between(reader: CatalogReader, pairs: Iterable[tuple[StepRecord | None,
                  StepRecord | None, str, str]]) -> dict[tuple[str, str], list[CodeChange]]:
    """Code changes for each (version a, version b) that differ, one catalog read."""
    todo = [(ra, rb, va, vb) for ra, rb, va, vb in pairs if va and vb and va != vb]
    codes = reader.code_versions({v for _, _, va, vb in todo for v in (va, vb)}) if todo else {}
    return {(va, vb): code_changes(ra.fingerprint if ra else {}, rb.fingerprint if rb else {},
                                   codes[va], codes[vb],
                                   (ra.status if ra else None, rb.status if rb else None))
            for ra, rb, va, vb in todo}


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line if line else line for line in text.splitlines())


def _code_lines(changes: list[CodeChange], n: int) -> list[str]:
    out = []
    for c in changes:
        out.append(f"{' ' * n}{c.label} {c.change}" + (":" if c.diff else ""))
        if c.diff:
            out.append(_indent(c.diff, n + 2))
    return out


# ------------------------------------------------------------------ runs
@dataclass
class StepDiff:
    """One step in two runs: its state in each (None: not in that run) and what differs."""

    name: str
    a: StepRecord | None
    b: StepRecord | None
    values: list[ValueChange] = field(default_factory=list)
    inputs: list[InputChange] = field(default_factory=list)
    code: list[CodeChange] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return self.a is not None and self.b is not None and not (
            self.values or self.inputs or self.code or self.files)

    def state(self, side: str) -> str:
        rec = self.a if side == "a" else self.b
        return "-" if rec is None else _STATE.get(rec.status, rec.status)

    def to_dict(self) -> dict[str, Any]:
        def side(r: StepRecord | None) -> dict[str, Any] | None:
            return None if r is None else {"status": _STATE.get(r.status, r.status),
                                           "reason": r.reason, "code_version": r.code_version}

        return {"step": self.name, "a": side(self.a), "b": side(self.b), "same": self.same,
                "values": [{"param": v.param, "a": v.a, "b": v.b} for v in self.values],
                "inputs": [i.to_dict() for i in self.inputs],
                "code": [c.to_dict() for c in self.code],
                "files": [f.to_dict() for f in self.files]}


@dataclass
class AssetDiff:
    name: str
    a: ArtRef | None
    b: ArtRef | None
    schema: SchemaDiff | None = None

    @property
    def same(self) -> bool:
        return self.a is not None and self.b is not None and self.a.id == self.b.id

    def to_dict(self) -> dict[str, Any]:
        return {"asset": self.name, "a": self.a.to_dict() if self.a else None,
                "b": self.b.to_dict() if self.b else None, "same": self.same,
                "schema": self.schema.to_dict() if self.schema and self.schema.changed else None}


@shown_as_text
@dataclass
class RunDiff:
    """Two runs compared step by step and asset by asset (``diff_runs``)."""

    a: RunRecord
    b: RunRecord
    steps: list[StepDiff]
    assets: list[AssetDiff]

    @property
    def differs(self) -> bool:
        return not (all(s.same for s in self.steps) and all(x.same for x in self.assets))

    def to_dict(self) -> dict[str, Any]:
        def run(r: RunRecord) -> dict[str, Any]:
            return {"run": r.id, "pipeline": r.pipeline, "status": r.status}

        return {"kind": "runs", "a": run(self.a), "b": run(self.b), "differs": self.differs,
                "steps": [s.to_dict() for s in self.steps],
                "assets": [x.to_dict() for x in self.assets]}

    def __str__(self) -> str:
        a, b = self.a, self.b
        out = [f"A: run {a.id} ({a.pipeline}, {a.status})",
               f"B: run {b.id} ({b.pipeline}, {b.status})", "", "steps (A / B):"]
        width = max((len(s.name) for s in self.steps), default=4)
        for s in self.steps:
            mark = "=" if s.same else "+" if s.a is None else "-" if s.b is None else "~"
            out.append(f"  {mark} {s.name:<{width}}  {s.state('a')} / {s.state('b')}")
            out += [f"      {v.text()}" for v in s.values]
            out += [f"      {i.text()}" for i in s.inputs]
            out += [f"      {f.text()}" for f in s.files]
            out += _code_lines(s.code, 6)
        out += ["", "assets (A / B):"]
        width = max((len(x.name) for x in self.assets), default=4)
        for x in self.assets:
            mark = "=" if x.same else "+" if x.a is None else "-" if x.b is None else "~"
            va = f"v{x.a.version} {x.a.content_hash[:12]}" if x.a else "-"
            vb = f"v{x.b.version} {x.b.content_hash[:12]}" if x.b else "-"
            out.append(f"  {mark} {x.name:<{width}}  {va:<18} {vb}")
            if x.schema is not None and x.schema.changed:
                out += [f"      {line}" for line in x.schema.lines()]
        out += ["", "the runs differ" if self.differs else "the runs made the same artifacts "
                "with the same code, run values and inputs"]
        return "\n".join(out)


class _Inputs:
    """Input content hashes of step records -> the artifacts they are (an output of
    either run, a lineage parent of one, else a catalog search by hash)."""

    def __init__(self, reader: CatalogReader, recs: list[StepRecord]) -> None:
        self.reader = reader
        out_ids = [aid for s in recs for aid in s.outputs.values()]
        self.arts = reader.artifacts_by_id(out_ids)
        parents = reader.parents_of(out_ids) if out_ids else {}
        self.hints: dict[tuple[str, str], str] = {}
        for s in recs:
            for aid in s.outputs.values():
                for param, pid in parents.get(aid, []):
                    self.hints.setdefault((s.step, param), pid)
        self.arts.update(reader.artifacts_by_id(set(self.hints.values()) - set(self.arts)))
        self.by_hash: dict[str, list[ArtifactRecord]] = {}
        for r in self.arts.values():
            self.by_hash.setdefault(r.content_hash, []).append(r)

    def ref(self, step: str, param: str, h: str | None) -> ArtRef | None:
        if h is None:
            return None
        hint = self.arts.get(self.hints.get((step, param), ""))
        if hint is not None and hint.content_hash == h:
            return ArtRef.of(hint)
        if h not in self.by_hash:
            self.by_hash[h] = [r for r in self.reader.search(hash_prefix=h, limit=20)
                               if r.content_hash == h]
        cands = self.by_hash[h]
        pick = next((c for c in cands if c.name == param), cands[0] if cands else None)
        return ArtRef.of(pick) if pick else ArtRef("", "?", 0, h)


def _rows(reader: CatalogReader, run_id: str) -> dict[str, StepRecord]:
    """A run's step records by step (the last row per step; map elements left out)."""
    return {s.step: s for s in reader.step_runs(run_id) if not _ELEMENT.search(s.step)}


def diff_runs(run_a: str | Any, run_b: str | Any, stack: Stack | str | None = None) -> RunDiff:
    """Compare two runs (ids or ``Run`` objects): each step's state, run values, input
    versions and code, and each asset's version and hash."""
    reader = Catalog(stack).reader
    ra = reader.get_run(getattr(run_a, "id", run_a))
    rb = reader.get_run(getattr(run_b, "id", run_b))
    a, b = _rows(reader, ra.id), _rows(reader, rb.id)
    names = list(dict.fromkeys([*a, *b]))
    inputs = _Inputs(reader, [*a.values(), *b.values()])
    code = _code_between(reader, [(a.get(n), b.get(n), a[n].code_version if n in a else "",
                                   b[n].code_version if n in b else "") for n in names])
    steps = []
    for n in names:
        sa_, sb = a.get(n), b.get(n)
        d = StepDiff(n, sa_, sb, _value_changes(sa_, sb))
        if sa_ is not None and sb is not None:
            for p in sorted(set(sa_.inputs) | set(sb.inputs)):
                ha, hb = sa_.inputs.get(p), sb.inputs.get(p)
                if ha != hb:
                    d.inputs.append(InputChange(p, inputs.ref(n, p, ha), inputs.ref(n, p, hb)))
            d.code = code.get((sa_.code_version, sb.code_version), [])
            d.files = file_changes(sa_, sb)
        steps.append(d)
    return RunDiff(ra, rb, steps, _asset_diffs(inputs, a, b))


def _asset_diffs(inputs: _Inputs, a: dict[str, StepRecord],
                 b: dict[str, StepRecord]) -> list[AssetDiff]:
    def outputs(rows: dict[str, StepRecord]) -> dict[str, ArtifactRecord]:
        return {asset: inputs.arts[aid] for s in rows.values()
                for asset, aid in s.outputs.items() if aid in inputs.arts}

    oa, ob = outputs(a), outputs(b)
    out = []
    for name in sorted(set(oa) | set(ob)):
        x, y = oa.get(name), ob.get(name)
        schema = schema_diff(x.meta, y.meta) if x is not None and y is not None else None
        out.append(AssetDiff(name, ArtRef.of(x) if x else None, ArtRef.of(y) if y else None,
                             schema))
    return out


# ------------------------------------------------------------------ artifacts
@dataclass
class PairDiff:
    """Two artifacts at one level of the upward walk, and what differs in how each was
    made. ``why`` lists the differences that start here (not inherited from inputs)."""

    a: ArtifactRecord
    b: ArtifactRecord
    depth: int
    values: list[ValueChange] = field(default_factory=list)
    code: list[CodeChange] = field(default_factory=list)
    inputs: list[InputChange] = field(default_factory=list)
    schema: SchemaDiff | None = None
    why: list[str] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)

    @property
    def origin(self) -> bool:
        """True when the lineages diverge here (something other than an input differs)."""
        return bool(self.why)

    @property
    def title(self) -> str:
        step = self.a.step if self.a.step == self.b.step else f"{self.a.step} / {self.b.step}"
        return f"{ArtRef.of(self.a).label} / {ArtRef.of(self.b).label} (step {step})"

    def to_dict(self) -> dict[str, Any]:
        def side(r: ArtifactRecord) -> dict[str, Any]:
            return {**ArtRef.of(r).to_dict(), "step": r.step, "run_id": r.run_id,
                    "code_version": r.code_version}

        return {"a": side(self.a), "b": side(self.b), "depth": self.depth,
                "diverges_here": self.origin, "why": list(self.why),
                "values": [{"param": v.param, "a": v.a, "b": v.b} for v in self.values],
                "inputs": [i.to_dict() for i in self.inputs],
                "code": [c.to_dict() for c in self.code],
                "files": [f.to_dict() for f in self.files],
                "schema": self.schema.to_dict() if self.schema and self.schema.changed else None}


@shown_as_text
@dataclass
class ArtifactDiff:
    """Two artifacts' lineages compared, walking up from them (``diff_artifacts``)."""

    a: ArtifactRecord
    b: ArtifactRecord
    walk: list[PairDiff]  # each differing pair, nearest first

    @property
    def same(self) -> bool:
        return self.a.id == self.b.id

    @property
    def differs(self) -> bool:
        return not self.same

    @property
    def divergence(self) -> list[PairDiff]:
        """Where the lineages first diverge: the pairs whose own production differs."""
        return [p for p in self.walk if p.origin]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "artifacts", "a": ArtRef.of(self.a).to_dict(),
                "b": ArtRef.of(self.b).to_dict(), "differs": self.differs,
                "diverges_at": [{"a": ArtRef.of(p.a).label, "b": ArtRef.of(p.b).label,
                                 "step": p.b.step, "why": list(p.why)} for p in self.divergence],
                "walk": [p.to_dict() for p in self.walk]}

    def __str__(self) -> str:
        out = []
        for side, r in (("A", self.a), ("B", self.b)):
            out.append(f"{side}: {ArtRef.of(r).label} ({r.content_hash[:12]}), made by step "
                       f"{r.step} in run {r.run_id}")
        if self.same:
            return "\n".join([*out, "", "the same artifact: nothing differs"])
        out += ["", "the lineages diverge at:"]
        for p in self.divergence:
            out.append(f"  {p.title}")
            out += [f"      {w}" for w in p.why]
        out += ["", "walking up from the artifacts:"]
        for p in self.walk:
            out.append(f"  {'  ' * p.depth}{p.title}")
            pad = 6 + 2 * p.depth
            out += [f"{' ' * pad}{v.text()}" for v in p.values]
            out += [f"{' ' * pad}{i.text()}" for i in p.inputs]
            out += [f"{' ' * pad}{f.text()}" for f in p.files]
            out += _code_lines(p.code, pad)
            if p.schema is not None and p.schema.changed:
                out.append(f"{' ' * pad}schema:")
                out += [f"{' ' * (pad + 2)}{line}" for line in p.schema.lines()]
        return "\n".join(out)


def _pair(x: ArtifactRecord, y: ArtifactRecord, depth: int,
          parents: dict[str, list[tuple[str, str]]], prods: dict[str, StepRecord | None],
          code: dict[tuple[str, str], list[CodeChange]],
          recs: dict[str, ArtifactRecord]) -> PairDiff:
    pa, pb = prods.get(x.id), prods.get(y.id)
    d = PairDiff(x, y, depth, _value_changes(pa, pb),
                 code.get((x.code_version, y.code_version), []),
                 schema=schema_diff(x.meta, y.meta), files=file_changes(pa, pb))
    up_a, up_b = dict(parents.get(x.id, [])), dict(parents.get(y.id, []))
    for param in sorted(set(up_a) | set(up_b)):
        ia, ib = up_a.get(param), up_b.get(param)
        if ia != ib:
            ra, rb = recs.get(ia or ""), recs.get(ib or "")
            d.inputs.append(InputChange(param, ArtRef.of(ra) if ra else None,
                                        ArtRef.of(rb) if rb else None))
    if x.step != y.step:
        d.why.append(f"made by different steps: {x.step} / {y.step}")
    d.why += [v.text() for v in d.values]
    d.why += [f"{c.label} {c.change}" for c in d.code]
    d.why += [f.text() for f in d.files]
    d.why += [i.text() for i in d.inputs if i.a is None or i.b is None]
    if (not d.why and x.content_hash != y.content_hash
            and not any(i.a and i.b for i in d.inputs)):
        d.why.append(f"same code, run values, inputs and files read but different content: "
                     f"step {y.step} is not deterministic, or reads data FlowyML does not see")
    return d


def diff_artifacts(spec_a: str | Artifact, spec_b: str | Artifact,
                   stack: Stack | str | None = None) -> ArtifactDiff:
    """Walk up from two artifacts (``NAME@V``, an alias, an id or ``Artifact``s) level by
    level, pairing their inputs by parameter, and report each differing pair: run
    values, step code, inputs, schema. The pairs whose own production differs are
    where the lineages diverge; identical upstream artifacts end the walk."""
    cat = Catalog(stack)
    reader = cat.reader
    a, b = (reader.get_artifact(cat.resolve(s).id if isinstance(s, str) else s.id)
            for s in (spec_a, spec_b))
    walk: list[PairDiff] = []
    runs: dict[str, dict[str, list[StepRecord]]] = {}
    seen: set[tuple[str, str]] = set()
    frontier = [(a, b)]
    depth = 0
    while frontier:
        frontier = [(x, y) for x, y in frontier if x.id != y.id and (x.id, y.id) not in seen]
        seen.update((x.id, y.id) for x, y in frontier)
        if not frontier:
            break
        parents = reader.parents_of({r.id for pair in frontier for r in pair})
        recs = reader.artifacts_by_id({p for lst in parents.values() for _, p in lst})
        prods = {r.id: _producer(reader, r, runs) for pair in frontier for r in pair}
        code = _code_between(reader, [(prods[x.id], prods[y.id], x.code_version,
                                       y.code_version) for x, y in frontier])
        level = [_pair(x, y, depth, parents, prods, code, recs) for x, y in frontier]
        walk += level
        frontier = [(recs[i.a.id], recs[i.b.id]) for p in level for i in p.inputs
                    if i.a is not None and i.b is not None]
        depth += 1
    return ArtifactDiff(a, b, walk)


# ------------------------------------------------------------------ either
def _is_run(reader: CatalogReader, spec: str) -> bool:
    if "@" in spec:
        return False
    try:
        reader.get_run(spec)
    except ArtifactNotFoundError:
        return False
    return True


def compare(first: str, second: str, stack: Stack | str | None = None) -> RunDiff | ArtifactDiff:
    """``flowyml diff``: two run ids compare runs; anything else names two artifacts
    (``NAME@VERSION``, ``NAME@ALIAS``, ``NAME`` for the latest, or ids)."""
    cat = Catalog(stack)
    runs = [_is_run(cat.reader, s) for s in (first, second)]
    if all(runs):
        return diff_runs(first, second, stack=cat.stack)
    if any(runs):
        run, other = (first, second) if runs[0] else (second, first)
        raise ParameterError(
            f"{run!r} is a run but {other!r} is not: diff compares two runs (RUN_A RUN_B) "
            "or two artifacts (NAME@V1 NAME@V2)"
        )
    return diff_artifacts(first, second, stack=cat.stack)
