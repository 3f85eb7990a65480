"""Failures keep finished work; lineage is recorded from the graph and queried recursively."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import flowyml as fm
from tests.conftest import run_py, write

FLAKY = '''
import flowyml as fm

@fm.step(outputs="raw")
def load():
    return [1, 2, 3]

@fm.step(outputs="clean")
def clean(raw):
    return [x * 2 for x in raw]

@fm.step(outputs="model")
def train(clean):
    raise ValueError("bad learning rate")

@fm.step(outputs="report")
def report(model):
    return {"ok": True}

pipe = fm.Pipeline("flaky", [load, clean, train, report])
'''


def test_step_failure_keeps_finished_artifacts_and_resumes(project: Path) -> None:
    write(project / "flaky.py", FLAKY)
    out = run_py(project, '''
        import flowyml as fm
        from flaky import pipe
        try:
            pipe.run()
        except fm.StepFailed as exc:
            print(exc.step, exc.run_id, type(exc.__cause__).__name__, exc.__cause__)
            run = fm.Catalog().run(exc.run_id)
            print(run.status, "|", run.error)
            print(sorted(exc.run.steps[n].status for n in exc.run.steps))
    ''')
    lines = out.strip().splitlines()
    step, _run_id, cause, *msg = lines[0].split()
    assert (step, cause, " ".join(msg)) == ("train", "ValueError", "bad learning rate")
    assert lines[1] == "failed | step train: ValueError: bad learning rate"
    assert lines[2] == "['executed', 'executed', 'failed', 'not reached']"
    # the user fixes the bug: only the failed step and what follows execute
    text = (project / "flaky.py").read_text()
    (project / "flaky.py").write_text(text.replace('raise ValueError("bad learning rate")', "return sum(clean)"))
    out = run_py(project, '''
        from flaky import pipe
        run = pipe.run()
        print(run.status, sorted(run.executed), sorted(run.cached))
    ''')
    assert out.strip() == "succeeded ['report', 'train'] ['clean', 'load']"


def test_step_failed_in_process_has_cause_and_run_id(project: Path) -> None:
    @fm.step(outputs="x")
    def boom() -> int:
        return 1 // 0

    with pytest.raises(fm.StepFailed) as err:
        fm.Pipeline("boom", [boom]).run()
    assert err.value.step == "boom"
    assert isinstance(err.value.__cause__, ZeroDivisionError)
    assert fm.Catalog().run(err.value.run_id).status == "failed"


def test_wrong_number_of_outputs_is_a_step_failure(project: Path) -> None:
    @fm.step(outputs=("a", "b"))
    def pair() -> int:
        return 1

    with pytest.raises(fm.StepFailed, match="declares 2 outputs"):
        fm.Pipeline("pair", [pair]).run()


def _fails_then_fixed(fixed: bool) -> fm.Pipeline:
    @fm.step(outputs="a")
    def make_a() -> list[int]:
        return [1, 2]

    if fixed:
        @fm.step(outputs="c")
        def make_c(a: list[int]) -> int:
            return sum(a)
    else:
        @fm.step(outputs="c")
        def make_c(a: list[int]) -> int:
            raise ValueError("boom")

    @fm.step(outputs="d")
    def make_d(c: int) -> int:
        return c + 1

    return fm.Pipeline("refail", [make_a, make_c, make_d])


def test_after_a_failure_the_reason_is_not_a_first_run(project: Path) -> None:
    """make_c ran (and failed) in the previous run: its reason, and plan's, must not say
    it never ran; with no successful run to compare with, they say that."""
    with pytest.raises(fm.StepFailed):
        _fails_then_fixed(fixed=False).run()
    pipe = _fails_then_fixed(fixed=True)
    plan = {name: (action, reason) for name, action, reason in pipe.plan()}
    assert plan["make_a"][0] == "reuse"
    assert plan["make_c"] == ("run", "no successful run of this step in this pipeline yet: "
                                     "nothing cached under its key")
    assert plan["make_d"] == ("run", "no successful run of this step yet: nothing cached "
                                     "under its key (no d in the catalog)")
    run = pipe.run()
    reasons = {n: run.steps[n].reason for n in ("make_c", "make_d")}
    assert reasons == {n: "executed: no successful run of this step in this pipeline yet: "
                          "nothing cached under its key" for n in reasons}
    assert "first run" not in str(pipe.plan()) + "".join(reasons.values())


def _diamond() -> fm.Pipeline:
    @fm.step(outputs="raw")
    def load(seed: int = 1) -> list[int]:
        return [seed, 2, 3]

    @fm.step(outputs="left")
    def left(raw: list[int]) -> int:
        return sum(raw)

    @fm.step(outputs="right")
    def right(raw: list[int]) -> int:
        return max(raw)

    @fm.step(outputs=("model", "metrics"))
    def train(left: int, right: int) -> tuple[int, dict]:
        return left * right, {"score": 1}

    return fm.Pipeline("lin", [train, right, left, load])


def test_lineage_tree_down_to_the_sources(project: Path) -> None:
    run = _diamond().run()
    model = run.artifacts["model"]
    node = fm.get_lineage(model.id)
    assert node.artifact.id == model.id and node.step == "train" and node.run_id == run.id
    assert node.code_version == model.code_version
    assert sorted(p.artifact.name for p in node.parents) == ["left", "right"]
    for p in node.parents:
        assert [g.artifact.name for g in p.parents] == ["raw"]
        assert p.parents[0].parents == []
    assert sorted(model.parents) == sorted([run.artifacts["left"].id, run.artifacts["right"].id])
    d = node.to_dict()
    assert d["name"] == "model" and {p["name"] for p in d["parents"]} == {"left", "right"}
    mermaid = node.to_mermaid()
    assert mermaid.startswith("graph BT") and mermaid.count("-->") == 4
    text = str(node)
    assert text.splitlines()[0].startswith("model@1") and "raw@1" in text


def test_descendants_for_impact_analysis(project: Path) -> None:
    run = _diamond().run()
    raw = run.artifacts["raw"]
    names = sorted(a.name for a in fm.get_descendants(raw.id))
    assert names == ["left", "metrics", "model", "right"]
    assert fm.get_descendants(run.artifacts["metrics"].id) == []
    # named as get_lineage takes it: NAME@VERSION, NAME (@latest), the Artifact
    for spec in ("raw@1", "raw", raw):
        assert sorted(a.name for a in fm.get_descendants(spec)) == names


def test_lineage_of_reused_artifact_stays_first_production(project: Path) -> None:
    first = _diamond().run()
    second = _diamond().run(params={"seed": 1}, force=["train"])
    assert second.artifacts["model"].id == first.artifacts["model"].id
    assert fm.get_lineage(second.artifacts["model"].id).run_id == first.id
    uses = fm.Stack().resolve().open_catalog().runs_using(first.artifacts["model"].id)
    assert {(r, role) for r, _, role in uses} == {(first.id, "produced"), (second.id, "produced")}


@pytest.mark.filterwarnings("ignore::flowyml.core.fingerprint.FingerprintWarning")
def test_lineage_survives_a_deep_chain(project: Path) -> None:
    steps = []
    for i in range(60):
        src = "def s{i}({arg}):\n    return {expr}\n".format(
            i=i, arg="" if i == 0 else f"a{i-1}", expr="0" if i == 0 else f"a{i-1} + 1"
        )
        ns: dict = {}
        exec(src, ns)
        steps.append(fm.step(outputs=f"a{i}")(ns[f"s{i}"]))
    run = fm.Pipeline("chain", steps).run()
    node = fm.get_lineage(run.artifacts["a59"].id)
    assert len(node.walk()) == 60


def _exec_steps(defs: list[tuple[str, str, str]]) -> list[fm.Step]:
    """Steps from (output, parameters, expression) triples, one function each."""
    steps = []
    for i, (out, args, expr) in enumerate(defs):
        ns: dict = {}
        exec(f"def f{i}({args}):\n    return {expr}\n", ns)
        steps.append(fm.step(outputs=out, name=f"make_{out}")(ns[f"f{i}"]))
    return steps


@pytest.mark.filterwarnings("ignore::flowyml.core.fingerprint.FingerprintWarning")
def test_a_shared_ancestor_is_expanded_once_in_the_json_lineage(project: Path) -> None:
    """A ladder of diamonds: every a_i is reached through b_i and through c_i, so the
    paths to a0 double at each rung. Each artifact is expanded where it first appears
    (as the text tree prints it); where it appears again it says so."""
    defs = [("a0", "", "1")]
    for i in range(1, 25):
        defs += [(f"b{i}", f"a{i - 1}", f"a{i - 1} + 1"), (f"c{i}", f"a{i - 1}", f"a{i - 1} + 2"),
                 (f"a{i}", f"b{i}, c{i}", f"b{i} + c{i}")]
    run = fm.Pipeline("ladder", _exec_steps(defs)).run()
    node = fm.get_lineage(run.artifacts["a24"].id)
    tree = node.to_dict()
    text = node.to_json()  # 2**24 paths: expanded at each, this never finished
    assert len(text) < 2_000_000 and json.loads(text) == tree
    b, c = tree["parents"]  # a24's: b24 then c24, each made from a23
    assert (b["name"], c["name"]) == ("b24", "c24")
    assert b["parents"][0]["name"] == "a23" and "step" in b["parents"][0]
    assert c["parents"] == [{"id": b["parents"][0]["id"], "name": "a23", "version": 1,
                             "see_above": True, "param": "a23"}]
    names = []
    todo = [tree]
    while todo:
        d = todo.pop()
        names.append(d["name"])
        todo += d.get("parents", [])
    # a0 (a source) repeats whole under b1 and c1; each other a_i is expanded once and
    # stands for itself once more: linear in the ladder, not in its paths
    assert names.count("a0") == 2 and len(set(names)) == len(defs)
    assert len(names) == 1 + 2 * 24 + 2 * 23 + 2


@pytest.mark.filterwarnings("ignore::flowyml.core.fingerprint.FingerprintWarning")
def test_the_json_lineage_of_a_chain_thousands_deep(project: Path) -> None:
    """Deeper than the interpreter's recursion limit: built without recursion, and
    written compact (indenting each level made a 4,000-step chain half a gigabyte)."""
    defs = [("a0", "", "0")] + [(f"a{i}", f"a{i - 1}", f"a{i - 1} + 1") for i in range(1, 1500)]
    run = fm.Pipeline("deep", _exec_steps(defs)).run()
    node = fm.get_lineage(run.artifacts["a1499"].id)
    text = node.to_json()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # Python's own json.loads recurses per level too
    try:
        data = json.loads(text)
        down = json.loads(fm.get_descendant_tree(run.artifacts["a0"].id).to_json())
    finally:
        sys.setrecursionlimit(limit)
    depth = 0
    while data["parents"]:
        (data,) = data["parents"]
        depth += 1
    assert depth == 1499 and data["name"] == "a0"
    assert down["name"] == "a0" and down["children"][0]["name"] == "a1"


def test_lineage_keeps_ancestors_fed_under_different_parameter_names(project: Path) -> None:
    @fm.step(outputs="src")
    def source() -> int:
        return 1

    @fm.step(outputs="mid", inputs={"x": "src"})
    def middle(x: int) -> int:
        return x + 1

    @fm.step(outputs="top", inputs={"a": "src", "b": "mid"})
    def top(a: int, b: int) -> int:
        return a + b

    run = fm.Pipeline("aliases", [source, middle, top]).run()
    node = fm.get_lineage(run.artifacts["top"].id)
    assert sorted(n.artifact.name for n in node.walk()) == ["mid", "src", "top"]
    mid = next(p for p in node.parents if p.artifact.name == "mid")
    assert [p.artifact.name for p in mid.parents] == ["src"]
