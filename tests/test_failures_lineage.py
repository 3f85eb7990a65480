"""Failures keep finished work; lineage is recorded from the graph and queried recursively."""

from __future__ import annotations

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
