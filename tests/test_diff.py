"""`flowyml diff`: two runs compared step by step and asset by asset, two artifacts'
lineages walked up to where they diverge, and the web page's diff of two runs.

One project, three real runs through the CLI: A (defaults), B (a helper edited, which
changes the columns of `features`, and lr=0.2), C (B again: everything reused).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import child_env, flowyml_cli, write
from tests.test_ui import UiServer, get

HELPERS = '''
def add_ratio(df):
    """Adds a ratio column."""
    out = df.copy()
    out["ratio"] = out["a"] / out["b"]
    return out
'''

HELPERS_B = '''
def add_ratio(df):
    """Adds a ratio column."""
    out = df.copy()
    out["a"] = out["a"].astype("float64")
    out["half"] = out["a"] / out["b"]
    return out
'''

PIPE = '''
import pandas as pd

import flowyml as fm
from helpers import add_ratio


@fm.step(outputs="raw")
def load(n: int = 20) -> pd.DataFrame:
    return pd.DataFrame({"a": range(1, n + 1), "b": [2] * n})


@fm.step(outputs="features")
def featurize(raw: pd.DataFrame) -> pd.DataFrame:
    return add_ratio(raw)


@fm.step(outputs="model")
def train(features: pd.DataFrame, lr: float = 0.1) -> dict:
    return {"w": float(features.iloc[:, -1].sum() * lr)}


pipeline = fm.Pipeline("toy", [load, featurize, train])
'''


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    res = flowyml_cli(root, *args)
    assert res.returncode == 0, f"flowyml {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("diff") / "proj"
    root.mkdir()
    (root / "flowyml.toml").write_text("")
    write(root / "helpers.py", HELPERS)
    write(root / "pipe.py", PIPE)
    a = cli(root, "run", "-q", "pipe.py").stdout.strip()
    write(root / "helpers.py", HELPERS_B)
    b = cli(root, "run", "-q", "pipe.py", "-p", "lr=0.2").stdout.strip()
    c = cli(root, "run", "-q", "pipe.py", "-p", "lr=0.2").stdout.strip()
    return {"root": root, "a": a, "b": b, "c": c}


def _versions(toy: dict[str, Any], name: str) -> list[dict[str, Any]]:
    out = cli(toy["root"], "artifacts", name).stdout
    rows = re.findall(rf"^{name}@(\d+)\s+id ([0-9a-f]{{24}})\s+hash ([0-9a-f]{{12}})", out, re.M)
    return [{"version": int(v), "id": i, "hash12": h} for v, i, h in rows]


# ---------------------------------------------------------------- runs
def test_run_diff_text_names_values_code_inputs_and_assets(toy: dict[str, Any]) -> None:
    res = cli(toy["root"], "diff", toy["a"], toy["b"])
    assert res.returncode == 0
    out = res.stdout
    assert f"A: run {toy['a']} (toy, succeeded)" in out
    assert f"B: run {toy['b']} (toy, succeeded)" in out
    assert re.search(r"^  = load\s+executed / reused$", out, re.M)
    assert re.search(r"^  ~ featurize\s+executed / executed$", out, re.M)
    assert re.search(r"^  ~ train\s+executed / executed$", out, re.M)
    assert "      run value lr: 0.1 -> 0.2" in out
    assert "      input features: features@1 -> features@2" in out
    # the helper's normalized source as a unified diff (docstring gone, quotes normalized)
    assert "code of helper add_ratio changed:" in out
    assert "--- a/helper helpers.py:add_ratio" in out and "+++ b/helper helpers.py:add_ratio" in out
    assert "-    out['ratio'] = out['a'] / out['b']" in out
    assert "+    out['half'] = out['a'] / out['b']" in out
    assert "+    out['a'] = out['a'].astype('float64')" in out
    assert "Adds a ratio column" not in out
    raw, features, model = (_versions(toy, n) for n in ("raw", "features", "model"))
    assert re.search(rf"^  = raw\s+v1 {raw[0]['hash12']}\s+v1 {raw[0]['hash12']}$", out, re.M)
    assert re.search(rf"^  ~ features\s+v1 {features[0]['hash12']}\s+v2 {features[1]['hash12']}$",
                     out, re.M)
    assert re.search(rf"^  ~ model\s+v1 {model[0]['hash12']}\s+v2 {model[1]['hash12']}$", out, re.M)
    # the recorded schema of features: a column added, one removed, one retyped
    assert "      + column half (float64)" in out
    assert "      - column ratio (float64)" in out
    assert "      ~ column a: int64 -> float64" in out
    assert out.rstrip().endswith("the runs differ")


def test_run_diff_json(toy: dict[str, Any]) -> None:
    res = cli(toy["root"], "diff", toy["a"], toy["b"], "--format", "json")
    d = json.loads(res.stdout)
    assert d["kind"] == "runs" and d["differs"] is True
    assert (d["a"]["run"], d["b"]["run"]) == (toy["a"], toy["b"])
    steps = {s["step"]: s for s in d["steps"]}
    assert steps["load"]["same"] is True
    assert (steps["load"]["a"]["status"], steps["load"]["b"]["status"]) == ("executed", "reused")
    train = steps["train"]
    assert train["values"] == [{"param": "lr", "a": "0.1", "b": "0.2"}]
    assert train["code"] == []
    (inp,) = train["inputs"]
    assert inp["param"] == "features"
    assert (inp["a"]["version"], inp["b"]["version"]) == (1, 2)
    (change,) = steps["featurize"]["code"]
    assert change["part"] == "helper helpers.py:add_ratio" and change["change"] == "changed"
    assert "+    out['half'] = out['a'] / out['b']" in change["diff"].splitlines()
    assets = {x["asset"]: x for x in d["assets"]}
    assert assets["raw"]["same"] and assets["raw"]["a"] == assets["raw"]["b"]
    assert (assets["features"]["a"]["version"], assets["features"]["b"]["version"]) == (1, 2)
    assert assets["features"]["schema"]["added"] == [["half", "float64"]]
    assert assets["features"]["schema"]["retyped"] == [["a", "int64", "float64"]]
    ids = {v["version"]: v["id"] for v in _versions(toy, "model")}
    assert (assets["model"]["a"]["id"], assets["model"]["b"]["id"]) == (ids[1], ids[2])


def test_identical_runs_differ_in_nothing_and_exit_0(toy: dict[str, Any]) -> None:
    res = cli(toy["root"], "diff", toy["b"], toy["c"])
    assert res.returncode == 0
    assert re.search(r"^  = train\s+executed / reused$", res.stdout, re.M)
    assert "~" not in res.stdout and "the runs made the same artifacts" in res.stdout
    d = json.loads(cli(toy["root"], "diff", toy["b"], toy["c"], "--format", "json").stdout)
    assert d["differs"] is False and all(s["same"] for s in d["steps"])


def test_run_diff_api(toy: dict[str, Any]) -> None:
    from flowyml.diff import diff_runs
    from flowyml.stack import Stack

    root = toy["root"]
    st = Stack(name="default", root=str(root), store=str(root / ".flowyml"),
               catalog="sqlite:///" + str(root / ".flowyml" / "catalog.db")).resolve()
    d = diff_runs(toy["a"], toy["b"], stack=st)
    assert [s.name for s in d.steps] == ["load", "featurize", "train"]
    assert [s.name for s in d.steps if not s.same] == ["featurize", "train"]
    assert d.to_dict() == json.loads(json.dumps(d.to_dict()))  # plain JSON data
    from IPython.lib.pretty import pretty

    assert pretty(d) == str(d) and "featurize" in pretty(d)  # a notebook shows the text


SETTINGS_PIPE = """
import sys

import numpy as np

import flowyml as fm

np.set_printoptions(precision=int(sys.argv[1]))


@fm.step(outputs="arr")
def make():
    return np.array([1 / 3])


@fm.step(outputs="text")
def show(arr):  # never names numpy: the array formats itself by numpy's print options
    return f"{arr}"


if __name__ == "__main__":
    print(fm.Pipeline("set", [make, show]).run().id)
"""


def test_run_diff_shows_the_settings_an_inputs_library_brings(tmp_path: Path) -> None:
    """A step keyed by the settings of its input's library (numpy's print options,
    for an array it formats) shows what they were in each run, as the step that names
    numpy does: the records keep the source of every part of the key."""
    import sys

    root = tmp_path / "proj"
    root.mkdir()
    (root / "flowyml.toml").write_text("")
    write(root / "pipe.py", SETTINGS_PIPE)
    runs = []
    for precision in ("3", "6"):
        out = subprocess.run([sys.executable, "pipe.py", precision], cwd=root, text=True,
                             capture_output=True, env=child_env())
        assert out.returncode == 0, out.stderr
        runs.append(out.stdout.split()[-1])
    out = cli(root, "diff", *runs).stdout
    show = out[out.index("~ show"):out.index("assets (A / B)")]
    assert "settings of numpy changed:" in show
    assert "-numpy settings = {'print.precision': 3}" in show
    assert "+numpy settings = {'print.precision': 6}" in show
    assert "no recorded source" not in out


def _failing(fixed: bool) -> Any:
    import flowyml as fm

    @fm.step(outputs="a")
    def make_a(n: int = 3) -> list[int]:
        return list(range(n))

    if fixed:
        @fm.step(outputs="c")
        def make_c(a: list[int]) -> int:
            return sum(a)
    else:
        @fm.step(outputs="c")
        def make_c(a: list[int]) -> int:
            raise ValueError("boom in make_c")

    return fm.Pipeline("fails", [make_a, make_c])


def test_the_diff_of_a_failed_run_and_its_fix_shows_the_code_that_failed(
    project: Path,
) -> None:
    """The code of a failed step is recorded like an executed step's: the diff with the
    run that fixed it shows the line removed, not a step without code."""
    import flowyml as fm
    from flowyml.diff import diff_runs

    with pytest.raises(fm.StepFailed) as err:
        _failing(fixed=False).run()
    failed = err.value.run_id
    fixed = _failing(fixed=True).run().id
    d = diff_runs(failed, fixed)
    (step,) = [s for s in d.steps if s.name == "make_c"]
    assert (step.state("a"), step.state("b")) == ("failed", "executed")
    (change,) = step.code
    assert change.change == "changed" and "/dev/null" not in change.diff
    assert "--- a/code" in change.diff and "+++ b/code" in change.diff
    assert "-    raise ValueError('boom in make_c')" in change.diff
    assert "+    return sum(a)" in change.diff
    code = fm.Catalog().reader.code_versions([step.a.code_version])[step.a.code_version]
    assert "raise ValueError" in code.sources["code"]


def test_a_source_not_recorded_is_never_shown_as_an_empty_file() -> None:
    """A part both sides have whose text one side did not record (a code version that
    failed, or executed, before FlowyML kept it) says so and why; ``/dev/null`` stays
    for a part one side does not have."""
    from flowyml.catalog.records import CodeVersion
    from flowyml.diff import code_changes

    parts_a = {"code": "x1", "helper h.py:f": "h1"}
    parts_b = {"code": "x2", "helper h.py:g": "h2"}
    unrecorded = CodeVersion("aaaa")
    b = CodeVersion("bbbb", {"code": "def s():\n    return 2", "helper h.py:g": "def g(): ..."},
                    {"code": "d1", "helper h.py:g": "d2"})
    got = {c.part: c for c in code_changes(parts_a, parts_b, unrecorded, b, ("failed", None))}
    code = got["code"].diff
    assert "/dev/null" not in code and code.startswith("A: (no recorded source: code "
                                                       "version aaaa failed")
    assert code.endswith("B:\n  def s():\n      return 2")
    assert "/dev/null" in got["helper h.py:g"].diff  # added: not in A at all
    assert got["helper h.py:f"].diff.startswith("(no recorded source: code version aaaa")
    executed = code_changes(parts_a, parts_b, unrecorded, b)
    assert "last executed before FlowyML recorded code" in executed[0].diff
    back = code_changes(parts_b, parts_a, b, unrecorded, (None, "failed"))
    assert back[0].diff.startswith("B: (no recorded source") and "\nA:\n  def s()" in back[0].diff


def test_an_environment_variable_change_shows_its_values_secrets_masked(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The value of each environment variable the key counted is recorded with the
    code, masked under a secret-looking name as every value is: diff says 1 -> 2.
    (``os`` is this module's global: the step's code reads the variables by name.)"""
    import flowyml as fm
    from flowyml.diff import artifact_code, diff_runs

    @fm.step(outputs="cfg")
    def cfg() -> dict[str, int]:
        return {"depth": int(os.getenv("DEPTH", "1")),
                "pw": len(os.environ.get("DB_PASSWORD", ""))}

    runs = []
    for depth, secret in (("1", "hunter2-first-secret"), ("2", "hunter3-other-secret"), (None, None)):
        monkeypatch.delenv("DEPTH", raising=False)
        monkeypatch.delenv("DB_PASSWORD", raising=False)
        if depth is not None:
            monkeypatch.setenv("DEPTH", depth)
            monkeypatch.setenv("DB_PASSWORD", str(secret))
        runs.append(fm.Pipeline("env", [cfg]).run())
    (step,) = diff_runs(runs[0].id, runs[1].id).steps
    got = {c.part: c.diff for c in step.code}
    assert got == {"env DEPTH": "'1' -> '2'", "env DB_PASSWORD":
                   "*** -> *** (the value of a secret-looking name is never stored)"}
    (step,) = diff_runs(runs[1].id, runs[2].id).steps
    assert {c.part: c.diff for c in step.code} == {
        "env DEPTH": "'2' -> (not set)", "env DB_PASSWORD": "*** -> (not set)"}
    assert "=== environment variable DEPTH ===\nDEPTH = '1'" in str(
        artifact_code(runs[0].artifacts["cfg"].id))
    catalog = (project / ".flowyml" / "catalog.db").read_bytes()
    assert b"hunter2" not in catalog and b"hunter3" not in catalog


def test_environment_values_not_recorded_say_so() -> None:
    """Records made before the values were kept: not "(no recorded source)"."""
    from flowyml.catalog.records import CodeVersion
    from flowyml.diff import code_changes

    old = CodeVersion("aaaa", {"code": "def s(): ..."}, {"code": "d"})
    (change,) = code_changes({"env X": "t1"}, {"env X": "t2"}, old, old)
    assert change.label == "environment variable X" and change.change == "changed"
    assert change.diff.startswith("(values not recorded: only a digest of each was kept")
    new = CodeVersion("bbbb", {"env X": "X = 'b'"}, {"env X": "e"})
    (change,) = code_changes({"env X": "t1"}, {"env X": "t2"}, old, new)
    assert change.diff == "(value not recorded) -> 'b'"
    (change,) = code_changes({"code": "c"}, {"code": "c", "env X": "t2"}, old, new)
    assert (change.change, change.diff) == ("added", "(not read) -> 'b'")


def test_bad_arguments_are_clear_errors(toy: dict[str, Any]) -> None:
    res = flowyml_cli(toy["root"], "diff", toy["a"], "model@1")
    assert res.returncode == 2  # a usage mistake, as for other parameter errors
    assert f"'{toy['a']}' is a run but 'model@1' is not" in res.stderr
    res = flowyml_cli(toy["root"], "diff", "model@1", "model@9")
    assert res.returncode == 1 and "no version 9" in res.stderr


# ---------------------------------------------------------------- artifacts
def test_artifact_diff_finds_where_the_lineages_diverge(toy: dict[str, Any]) -> None:
    res = cli(toy["root"], "diff", "model@1", "model@2")
    out = res.stdout
    assert res.returncode == 0
    diverge = out.split("the lineages diverge at:\n", 1)[1].split("\n\n", 1)[0]
    assert diverge.splitlines() == [
        "  model@1 / model@2 (step train)",
        "      run value lr: 0.1 -> 0.2",
        "  features@1 / features@2 (step featurize)",
        "      code of helper add_ratio changed",
    ]
    walk = out.split("walking up from the artifacts:\n", 1)[1]
    assert "      input features: features@1 -> features@2" in walk
    assert "          -    out['ratio'] = out['a'] / out['b']" in walk  # the unified diff
    assert "          + column half (float64)" in walk
    assert "raw@" not in walk  # the same upstream artifact: the walk stops there
    d = json.loads(cli(toy["root"], "diff", "model@1", "model@2", "--format", "json").stdout)
    assert d["kind"] == "artifacts" and d["differs"] is True
    assert [(p["a"], p["b"], p["step"]) for p in d["diverges_at"]] == [
        ("model@1", "model@2", "train"), ("features@1", "features@2", "featurize")]
    assert d["diverges_at"][0]["why"] == ["run value lr: 0.1 -> 0.2"]
    feat = d["walk"][1]
    assert feat["depth"] == 1 and feat["diverges_here"] is True
    assert feat["schema"]["removed"] == [["ratio", "float64"]]
    assert feat["code"][0]["part"] == "helper helpers.py:add_ratio"


def test_artifact_diff_of_one_artifact_and_by_alias(toy: dict[str, Any]) -> None:
    out = cli(toy["root"], "diff", "raw@1", "raw").stdout
    assert "the same artifact: nothing differs" in out
    cli(toy["root"], "tag", "model", "1", "prod")
    out = cli(toy["root"], "diff", "model@prod", "model@latest").stdout
    assert "model@1 / model@2 (step train)" in out


# ---------------------------------------------------------------- the web page
@pytest.fixture(scope="module")
def ui(toy: dict[str, Any]) -> Iterator[str]:
    server = UiServer(toy["root"], "--port", "0")
    try:
        yield server.wait_url()
    finally:
        server.stop()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&gt;", ">")


def test_runs_list_picks_two_runs_and_opens_their_diff(ui: str, toy: dict[str, Any]) -> None:
    status, _, html = get(ui)
    assert status == 200
    assert re.search(r'<form[^>]*id="compare-form"[^>]*action="/diff"[^>]*method="get"', html)
    for run in (toy["a"], toy["b"], toy["c"]):
        assert f'name="run" value="{run}" form="compare-form"' in html
    # what the form sends when A and B are ticked (newest first, as listed)
    status, _, html = get(f"{ui}diff?run={toy['b']}&run={toy['a']}")
    assert status == 200
    assert re.search(rf'id="diff-a" href="/runs/{toy["a"]}"', html)  # the older run is A
    assert re.search(rf'id="diff-b" href="/runs/{toy["b"]}"', html)
    text = _text(html)
    assert "run value lr : 0.1 → 0.2" in text
    assert "input features : features @1 → features @2" in text
    assert re.search(r'<tr class="diff-row changed" data-step="featurize">', html)
    assert re.search(r'<tr class="diff-row same" data-step="load">', html)
    assert '<span class="add">+    out[&#39;half&#39;] = out[&#39;a&#39;] / out[&#39;b&#39;]</span>' in html
    assert '<span class="del">-    out[&#39;ratio&#39;] = out[&#39;a&#39;] / out[&#39;b&#39;]</span>' in html
    assert "+ column half (float64)" in text
    status, _, html = get(f"{ui}diff?run={toy['a']}")
    assert status == 400 and "Tick exactly two runs" in html
    status, _, _ = get(f"{ui}diff?run={toy['a']}&run=20990101-000000-ffffffffffff")
    assert status == 404


def test_artifact_and_step_views_show_the_code(ui: str, toy: dict[str, Any]) -> None:
    features = {v["version"]: v["id"] for v in _versions(toy, "features")}
    status, _, html = get(f"{ui}artifacts/{features[1]}")
    assert status == 200 and 'id="code"' in html
    text = _text(html)
    assert "helper add_ratio (helpers.py)" in text
    assert "out[&#39;ratio&#39;] = out[&#39;a&#39;] / out[&#39;b&#39;]" in html
    status, _, html = get(f"{ui}artifacts/{features[2]}")
    assert "out[&#39;half&#39;]" in html and "out[&#39;ratio&#39;]" not in html
    assert 'id="diff-previous" href="/diff?a=features%401&amp;b=features%402"' in html
    status, _, html = get(f"{ui}runs/{toy['b']}")
    detail = html.split('data-detail="featurize"', 1)[1].split("</section>", 1)[0]
    assert "step featurize" in detail and "def featurize(raw: pd.DataFrame)" in detail
    assert "helper add_ratio (helpers.py)" in detail
    status, _, html = get(f"{ui}diff?a=model@1&b=model@2")
    assert status == 200 and "Where the lineages diverge" in html
    assert "code of helper add_ratio changed" in _text(html)
