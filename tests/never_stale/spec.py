"""What an idiom of the never-stale corpus is: a small project, then a list of phases.

Each phase applies its edits to the project's files (cumulatively), then runs the
pipeline in a fresh process and says what each target step must do:

- ``baseline``: the first run; the target steps execute.
- ``unchanged``: no edit, only a fresh process (with another ``PYTHONHASHSEED``); reused.
- ``nonsemantic``: comments, docstrings, blank lines, formatting; reused. The harness
  checks that every edited Python file keeps the same AST (docstrings aside) and every
  edited JSON file the same data, so a "non-semantic" edit really is one.
- ``effective``: an edit that changes what the step computes (or may compute); the
  target steps execute. The harness checks that the AST (or the data) did change.

After every phase the values of the checked assets must equal the plain-Python
expressions of ``check``, evaluated in another fresh process that imports the edited
project and calls the undecorated functions.
"""

from __future__ import annotations

import ast
import json
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("baseline", "unchanged", "nonsemantic", "effective")
# a file's text while it does not exist: ``E(path, ABSENT, text)`` creates the file,
# ``E(path, text, ABSENT)`` deletes it, and a project starts without a file given as ABSENT
ABSENT = "\0<absent>\0"


def src(text: str) -> str:
    """Dedented source, as the user's file holds it."""
    return textwrap.dedent(text).lstrip("\n")


@dataclass(frozen=True)
class Edit:
    file: str
    old: str
    new: str


def E(file: str, old: str, new: str) -> Edit:
    """An edit: replace ``old`` (which must occur once) by ``new`` in ``file``."""
    return Edit(file, old, new)


@dataclass(frozen=True)
class Phase:
    kind: str
    edits: tuple[Edit, ...] = ()
    note: str = ""
    expect: Mapping[str, str] | None = None  # step -> "executed" | "cached"; None: by kind
    reason: Mapping[str, str] = field(default_factory=dict)  # step -> substring of .reason
    check: Mapping[str, str] | None = None  # asset -> oracle expression; None: the idiom's


def unchanged(note: str = "nothing edited; a fresh process with another hash seed") -> Phase:
    return Phase("unchanged", (), note)


def same(*edits: Edit, note: str = "non-semantic edit") -> Phase:
    return Phase("nonsemantic", edits, note)


def change(
    *edits: Edit,
    note: str = "effective edit",
    expect: Mapping[str, str] | None = None,
    reason: Mapping[str, str] | None = None,
    check: Mapping[str, str] | None = None,
) -> Phase:
    return Phase("effective", edits, note, expect, dict(reason or {}), check)


@dataclass(frozen=True)
class Idiom:
    id: str
    files: Mapping[str, str]  # path relative to the project root ("../x" is outside it)
    phases: tuple[Phase, ...]
    steps: tuple[str, ...] = ("f",)  # the steps whose status each phase checks
    check: Mapping[str, str] = field(default_factory=lambda: {"y": "f()"})
    oracle_module: str = "pipe"  # where the oracle expressions are evaluated
    build_error_ok: bool = False  # refusing the pipeline with fm.BuildError is allowed
    warns_at_build: tuple[str, ...] = ()  # a FingerprintWarning before running names each
    warns_anywhere: tuple[str, ...] = ()  # some warning, build or run, names each
    no_fingerprint_warning: bool = False
    requires: tuple[str, ...] = ()  # importable modules the idiom needs
    reads_docstrings: bool = False  # its code reads docstrings: they are part of the meaning
    reads_source: tuple[str, ...] = ()  # files whose exact text (comments too) its code reads

    def expected(self, phase: Phase) -> dict[str, str]:
        if phase.expect is not None:
            return dict(phase.expect)
        status = "cached" if phase.kind in ("unchanged", "nonsemantic") else "executed"
        return dict.fromkeys(self.steps, status)

    def checks(self, phase: Phase) -> dict[str, str]:
        return dict(self.check if phase.check is None else phase.check)


def idiom(id: str, files: Mapping[str, str], *phases: Phase, **options: Any) -> Idiom:
    """An idiom whose first phase is the baseline run."""
    return Idiom(id, dict(files), (Phase("baseline", (), "first run"), *phases), **options)


# --------------------------------------------------------------------------- self-checks


def apply_edit(text: str, edit: Edit) -> str:
    count = text.count(edit.old)
    if count != 1:
        raise ValueError(f"{edit.file}: {edit.old!r} occurs {count} times (want exactly 1)")
    return text.replace(edit.old, edit.new)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
    return tree


class _Unannotate(ast.NodeTransformer):
    """``x: T = v`` inside a function is ``x = v`` (a local's annotation is neither
    evaluated nor kept); in a class or module body it declares, and stays."""

    def __init__(self) -> None:
        self.depth = 0  # functions we are in, since the last class

    def visit_FunctionDef(self, node: ast.AST) -> ast.AST:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.AST) -> ast.AST:
        depth, self.depth = self.depth, 0
        self.generic_visit(node)
        self.depth = depth
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if self.depth and node.value is not None:
            return ast.Assign(targets=[node.target], value=node.value)
        return node


def _locals_unannotated(tree: ast.AST) -> None:
    _Unannotate().visit(tree)


def meaning(path: str, text: str, docstrings: bool = False, source: bool = False) -> str:
    """What an edit may not change to be non-semantic: the AST without docstrings (with
    them for code that reads them), or the data of a JSON file, or the text itself (of
    any other file, and of a source file that code reads as text)."""
    if text == ABSENT or source:
        return text
    if path.endswith(".py"):
        tree = ast.parse(text)
        for node in ast.walk(tree):  # ``u"x"`` is ``"x"``: only the prefix's flag differs
            if isinstance(node, ast.Constant) and node.kind == "u":
                node.kind = None
        _locals_unannotated(tree)
        return ast.dump(tree if docstrings else _strip_docstrings(tree), include_attributes=False)
    if path.endswith(".json"):
        return json.dumps(json.loads(text), sort_keys=True)
    return text


def validate(item: Idiom) -> list[str]:
    """Problems with the idiom itself: edits that do not apply, "non-semantic" edits
    that change the AST, "effective" edits that do not."""
    problems: list[str] = []
    files = dict(item.files)
    if not item.phases or item.phases[0].kind != "baseline":
        problems.append("the first phase must be the baseline")
    kinds = {p.kind for p in item.phases}
    if not item.build_error_ok and not {"nonsemantic", "effective"} <= kinds:
        problems.append("needs a non-semantic and an effective edit")
    for number, phase in enumerate(item.phases):
        if phase.kind not in KINDS:
            problems.append(f"phase {number}: unknown kind {phase.kind!r}")
        before = dict(files)
        for edit in phase.edits:
            if edit.file not in files:
                problems.append(f"phase {number}: edits unknown file {edit.file}")
                continue
            try:
                files[edit.file] = apply_edit(files[edit.file], edit)
            except ValueError as exc:
                problems.append(f"phase {number}: {exc}")
        touched = sorted({e.file for e in phase.edits if e.file in files})
        docs = item.reads_docstrings
        text = item.reads_source
        changed = [f for f in touched if meaning(f, before[f], docs, f in text)
                   != meaning(f, files[f], docs, f in text)]
        if phase.kind == "nonsemantic" and changed:
            problems.append(f"phase {number} ({phase.note}): not non-semantic, changes {changed}")
        if phase.kind == "nonsemantic" and not touched:
            problems.append(f"phase {number}: a non-semantic phase without edits")
        if phase.kind == "effective" and not changed:
            problems.append(f"phase {number} ({phase.note}): the edit changes nothing")
        if phase.kind in ("baseline", "unchanged") and phase.edits:
            problems.append(f"phase {number}: a {phase.kind} phase edits files")
    return problems
