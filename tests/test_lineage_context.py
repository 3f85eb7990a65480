"""Lineage in context: every derivation of the same bytes is kept and can be shown as a
given run made it; the downward tree; what ``@latest`` means, the same in the API, the
CLI, the web page and catalog references. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from flowyml.catalog import migrations
from flowyml.core.errors import ArtifactNotFoundError, StepFailed
from flowyml.lineage import get_descendant_tree
from flowyml.stack import clear_opened
from tests.conftest import flowyml_cli

from .stack_fixtures import catalog_at_version, pg_url  # noqa: F401  (pg_url: a fixture)

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(params=["sqlite", "postgres"])
def stack(request: pytest.FixtureRequest, project: Path) -> fm.Stack:
    """The project's stack, with its catalog on SQLite or on a real PostgreSQL."""
    if request.param == "sqlite":
        return fm.Stack(root=str(project)).resolve()
    url = request.getfixturevalue("pg_url")
    return fm.Stack(catalog=url, root=str(project)).resolve()


def _pipeline() -> fm.Pipeline:
    """``size`` has the same bytes for n=3 and n=4 (two derivations from two ``raw``s);
    ``summary`` has the same bytes whatever ``tag`` is (derivations by run value)."""

    @fm.step(outputs="raw")
    def load(n: int = 3) -> list[int]:
        return list(range(n))

    @fm.step(outputs="size")
    def classify(raw: list[int]) -> str:
        return "small" if len(raw) < 10 else "large"

    @fm.step(outputs="summary")
    def summarize(size: str, tag: str = "a") -> dict[str, str]:
        return {"size": size}

    return fm.Pipeline("ctx", [load, classify, summarize])


def test_every_derivation_is_kept_and_shown_per_run(stack: fm.Stack) -> None:
    pipe = _pipeline()
    r1 = pipe.run(stack=stack)
    r2 = pipe.run(params={"n": 4}, stack=stack)  # raw@2 -> the same size: a 2nd derivation
    r3 = pipe.run(params={"n": 4, "tag": "b"}, stack=stack)  # same summary, other value
    r4 = pipe.run(stack=stack, force=True)  # the first derivation again
    size, summary = r1.artifacts["size"], r1.artifacts["summary"]
    assert r2.artifacts["size"].id == size.id and r3.artifacts["summary"].id == summary.id
    raw1, raw2 = r1.artifacts["raw"], r2.artifacts["raw"]
    assert (raw1.version, raw2.version) == (1, 2)

    # as the README says: ``fm.Catalog().reader.derivations_of(ids)``
    assert "`fm.Catalog().reader.derivations_of(ids)`" in README.read_text()
    ways = fm.Catalog(stack).reader.derivations_of([size.id, summary.id, raw1.id])
    assert [(d.parents, d.runs) for d in ways[size.id]] == [
        ((("raw", raw1.id),), (r1.id, r4.id)), ((("raw", raw2.id),), (r2.id,)),
    ], "a forced rerun with the same inputs adds a run to the first derivation"
    assert [dict(d.values)["tag"] for d in ways[summary.id]] == ["'a'", "'b'"]
    assert [d.runs for d in ways[raw1.id]] == [(r1.id, r4.id)]

    first = fm.get_lineage(summary.id, stack=stack)  # the default: the first production
    assert (first.run_id, first.derivations) == (r1.id, 2)
    (sz,) = first.parents
    assert (sz.artifact.id, sz.derivations, sz.run_id) == (size.id, 2, r1.id)
    assert [p.artifact.id for p in sz.parents] == [raw1.id] and sz.parents[0].derivations == 1
    assert first.to_dict()["derivations"] == 2 and "2 derivations" in str(first)
    assert "2 derivations" in first.to_mermaid()

    as_r3 = fm.get_lineage(summary.id, stack=stack, run=r3.id)
    assert (as_r3.run_id, as_r3.step) == (r3.id, "summarize")
    (sz3,) = as_r3.parents  # r3 reused size: as made from the raw r3 had (by r2)
    assert (sz3.run_id, [p.artifact.id for p in sz3.parents]) == (r2.id, [raw2.id])

    as_r2 = fm.get_lineage(size.id, stack=stack, run=r2.id)
    assert as_r2.run_id == r2.id and [p.artifact.id for p in as_r2.parents] == [raw2.id]
    assert fm.get_lineage(size.id, stack=stack, run=r4.id).parents[0].artifact.id == raw1.id
    with pytest.raises(ArtifactNotFoundError, match="did not produce or reuse"):
        fm.get_lineage(raw2.id, stack=stack, run=r1.id)
    with pytest.raises(ArtifactNotFoundError, match="no run 'nope'"):  # not "did not produce"
        fm.get_lineage(raw2.id, stack=stack, run="nope")


def _edited(changed: str, edit: bool) -> fm.Pipeline:
    """``load`` -> ``raw`` -> ``tot`` -> ``total``, with step ``changed`` in its first
    form or, with ``edit``, in a second that makes the same bytes."""
    if changed == "load" and edit:
        @fm.step(outputs="raw")
        def load() -> list[int]:
            return list(range(1, 4))
    else:
        @fm.step(outputs="raw")
        def load() -> list[int]:
            return [1, 2, 3]

    if changed == "tot" and edit:
        @fm.step(outputs="total")
        def tot(raw: list[int]) -> int:
            return sum(x for x in raw)
    else:
        @fm.step(outputs="total")
        def tot(raw: list[int]) -> int:
            return sum(raw)

    return fm.Pipeline("edited", [load, tot])


def _three_runs(stack: fm.Stack, changed: str) -> list[fm.Run]:
    """r1 runs code A of step ``changed``; r2 runs B (the same bytes: a 2nd derivation);
    r3 reuses B's cache entry, which r2 wrote."""
    runs = [_edited(changed, edit=n > 0).run(stack=stack) for n in range(3)]
    asset = "raw" if changed == "load" else "total"
    assert len({r.artifacts[asset].id for r in runs}) == 1
    assert runs[1].steps[changed].status == "executed" and runs[2].steps[changed].cached
    return runs


@pytest.mark.parametrize("changed", ["load", "tot"])
def test_a_reuse_names_the_run_whose_cache_entry_it_took(stack: fm.Stack, changed: str) -> None:
    """Not the run that first made the bytes (with code A): following "outputs from run
    X" to ``flowyml diff`` or ``show --code`` must land on the code that was reused."""
    r1, r2, r3 = _three_runs(stack, changed)
    assert r3.steps[changed].reason.endswith(f"(outputs from run {r2.id})")
    other = "tot" if changed == "load" else "load"  # reused in r2 and r3: r1's entry
    assert r3.steps[other].reason.endswith(f"(outputs from run {r1.id})")


@pytest.mark.parametrize("changed", ["load", "tot"])
def test_a_run_shows_the_code_and_run_of_the_cache_entry_it_reused(
    stack: fm.Stack, changed: str
) -> None:
    """As r3 had it, the artifact was made by code B in r2 (r3's own record of the step
    says B), not by A in r1, the first production."""
    r1, r2, r3 = _three_runs(stack, changed)
    asset = "raw" if changed == "load" else "total"
    art = r3.artifacts[asset]
    a, b = r1.steps[changed].code_version, r3.steps[changed].code_version
    assert a != b == r2.steps[changed].code_version
    top = fm.get_lineage("total", stack=stack, run=r3.id)
    node = top if changed == "tot" else top.parents[0]
    assert (node.artifact.id, node.step, node.code_version, node.run_id) == (
        art.id, changed, b, r2.id)
    assert node.derivations == 2 and node.code.version == b
    assert fm.get_lineage(art.id, stack=stack, run=r1.id).code_version == a
    assert fm.get_lineage(art.id, stack=stack).run_id == r1.id  # the first production
    if (stack.catalog or "").startswith("sqlite"):  # the CLI, on the project's own catalog
        out = flowyml_cli(Path(str(stack.root)), "lineage", "total", "--run", r3.id,
                          "--format", "json")
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        got = data if changed == "tot" else data["parents"][0]
        assert (got["code_version"], got["run_id"]) == (b, r2.id)


def test_a_catalog_from_before_derivations_upgrades(project: Path) -> None:
    """Schema 5 adds the table; productions recorded before it (inputs, no edges) are
    not counted as other derivations."""
    url = f"sqlite:///{project / 'old.db'}"
    catalog_at_version(url, 2)
    st = fm.Stack(catalog=url, root=str(project)).resolve()
    assert st.open_catalog().schema_version() == migrations.LATEST
    pipe = _pipeline()
    r1 = pipe.run(stack=st)
    pipe.run(params={"n": 4}, stack=st)
    cat = st.open_catalog()
    # as an older FlowyML would have left it
    cat.db.write(lambda cur: cur.run("DELETE FROM derivation_edges"))
    assert len(cat.derivations_of([r1.artifacts["size"].id])[r1.artifacts["size"].id]) == 1


def test_downward_tree_in_every_format(project: Path) -> None:
    pipe = _pipeline()
    r1 = pipe.run()
    r2 = pipe.run(params={"n": 4})
    raw2 = r2.artifacts["raw"]
    tree = get_descendant_tree(raw2.id)
    (size,) = tree.children  # made from raw@2 by r2's derivation, first made from raw@1
    assert size.artifact.id == r1.artifacts["size"].id and size.derivations == 2
    assert size.param == "raw" and [c.artifact.name for c in size.children] == ["summary"]

    res = flowyml_cli(project, "lineage", "raw@1", "--down", "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert (data["name"], data["version"]) == ("raw", 1)
    assert data["children"][0]["name"] == "size" and data["children"][0]["derivations"] == 2
    assert data["children"][0]["children"][0]["name"] == "summary"
    mermaid = flowyml_cli(project, "lineage", "raw@2", "--down", "--format", "mermaid").stdout
    assert mermaid.startswith("graph TD")
    labels = [line for line in mermaid.splitlines() if '["' in line]
    assert [lbl.split('["')[1].split("<br/>")[0] for lbl in labels] == ["raw@2", "size@1", "summary@1"]
    assert "-->" in mermaid
    text = flowyml_cli(project, "lineage", "raw@2", "--down").stdout
    assert "size@1" in text and "summary@1" in text and "2 derivations" in text
    as_run = flowyml_cli(project, "lineage", "size", "--run", r2.id, "--format", "json").stdout
    assert json.loads(as_run)["parents"][0]["id"] == raw2.id


def test_the_downward_tree_lists_every_parameter_reading_the_artifact(project: Path) -> None:
    """A step reading ``x`` through two parameters: ``--down`` lists both edges, as the
    upward tree does (the second, whose node is expanded above, with its param too)."""

    @fm.step(outputs="x")
    def make() -> list[int]:
        return [0, 1]

    @fm.step(outputs="w", inputs={"p": "x", "q": "x"})
    def same_twice(p: list[int], q: list[int]) -> int:
        return len(p) + len(q)

    @fm.step(outputs="z")
    def after(w: int) -> int:
        return w + 1

    run = fm.Pipeline("twice", [make, same_twice, after]).run()
    up = fm.get_lineage(run.artifacts["w"].id)
    assert [p.param for p in up.parents] == ["p", "q"]
    tree = get_descendant_tree(run.artifacts["x"].id)
    assert [(c.artifact.name, c.param) for c in tree.children] == [("w", "p"), ("w", "q")]
    text = str(tree)
    assert "-> w@1 (as p)" in text and "-> w@1 (as q)" in text
    data = json.loads(tree.to_json())
    first, again = data["children"]
    assert (first["param"], first["children"][0]["name"]) == ("p", "z")
    assert again == {"id": first["id"], "name": "w", "version": 1, "see_above": True,
                     "param": "q"}
    res = flowyml_cli(project, "lineage", "x", "--down", "--format", "json")
    assert res.returncode == 0, res.stderr
    assert [c["param"] for c in json.loads(res.stdout)["children"]] == ["p", "q"]


def test_a_name_with_a_run_is_the_version_that_run_had(project: Path) -> None:
    """``lineage raw --run R``: the version R made, not raw@latest (which R never saw)."""
    pipe = _pipeline()
    r1 = pipe.run()
    r2 = pipe.run(params={"n": 4})  # raw@2, the latest
    node = fm.get_lineage("raw", run=r1.id)
    assert node.artifact.id == r1.artifacts["raw"].id and (node.name, node.version) == ("raw", 1)
    assert fm.get_lineage("raw", run=r2.id).artifact.id == r2.artifacts["raw"].id
    res = flowyml_cli(project, "lineage", "raw", "--run", r1.id, "--format", "json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["version"] == 1
    other = flowyml_cli(project, "lineage", "raw@2", "--run", r1.id)  # a version it did not have
    assert other.returncode == 1 and f"run {r1.id!r} did not produce or reuse raw@2" in other.stderr


# ---------------------------------------------------------------------------- @latest
def _report(pipeline: str, text: str, fail_after: bool = False) -> fm.Pipeline:
    @fm.step(outputs="report")
    def make_report(label: str = text) -> str:
        return label

    steps = [make_report]
    if fail_after:
        @fm.step(outputs="after")
        def after(report: str) -> str:
            raise RuntimeError("boom")

        steps.append(after)
    return fm.Pipeline(pipeline, steps)


def _latest_everywhere(project: Path, stack: fm.Stack) -> set[int]:
    """``report@latest`` as the API, the catalog, the CLI and the web page answer it."""
    from starlette.testclient import TestClient

    from flowyml.ui.app import create_app

    cat = fm.Catalog(stack)
    seen = {cat.get("report").version, cat.get("report", "latest").version,
            cat.resolve("report@latest").version, stack.open_catalog().find("report").version}
    if stack.catalog and stack.catalog.startswith("sqlite"):
        out = flowyml_cli(project, "show", "report@latest").stdout
        seen.add(int(next(ln.split()[1] for ln in out.splitlines() if ln.startswith("version"))))
        listing = flowyml_cli(project, "artifacts", "report").stdout
        seen |= {int(ln.split("@")[1].split()[0]) for ln in listing.splitlines() if "latest" in ln}
    page = TestClient(create_app(stack), base_url="http://127.0.0.1", follow_redirects=False)
    location = page.get("/assets/report").headers["location"]
    seen.add(cat.get_by_id(location.rsplit("/", 1)[1]).version)
    return seen


def test_latest_is_what_the_last_successful_run_output(stack: fm.Stack, project: Path) -> None:
    alpha, beta = _report("alpha", "from alpha"), _report("beta", "from beta")
    assert alpha.run(stack=stack).artifacts["report"].version == 1
    assert beta.run(stack=stack).artifacts["report"].version == 2
    assert _latest_everywhere(project, stack) == {2}
    again = alpha.run(stack=stack)  # alpha after beta, reused from cache: its report
    assert again.steps["make_report"].cached
    assert _latest_everywhere(project, stack) == {1}, "alpha ran last: report@latest is alpha's"
    with pytest.raises(StepFailed):  # a failed run does not move latest, even if it made one
        _report("gamma", "from gamma", fail_after=True).run(stack=stack)
    assert fm.Catalog(stack).versions("report")[-1].version == 3
    assert _latest_everywhere(project, stack) == {1}

    @fm.step(outputs="echo", inputs={"r": "report@latest"})
    def echo(r: str) -> str:
        return r

    assert fm.Pipeline("reader", [echo]).run(stack=stack)["echo"] == "from alpha"


def test_latest_without_a_successful_run_is_the_newest_version(stack: fm.Stack) -> None:
    for text in ("one", "two"):
        with pytest.raises(StepFailed):
            _report("gamma", text, fail_after=True).run(stack=stack)
    assert fm.Catalog(stack).get("report").version == 2


def _three_reports(stack: fm.Stack) -> None:
    """report@1 by alpha, @2 by beta (both succeeded), @3 by gamma (failed): @latest is 2."""
    _report("alpha", "from alpha").run(stack=stack)
    _report("beta", "from beta").run(stack=stack)
    with pytest.raises(StepFailed):
        _report("gamma", "from gamma", fail_after=True).run(stack=stack)


def test_prune_gives_latest_back_to_the_last_successful_run_left(
    stack: fm.Stack, project: Path
) -> None:
    from flowyml.retention import Policy, prune

    _three_reports(stack)
    assert _latest_everywhere(project, stack) == {2}
    prune(stack, Policy(keep_last=0, pipeline="beta"))  # beta's run and report@2 go
    assert [a.version for a in fm.Catalog(stack).versions("report")] == [1, 3]
    assert _latest_everywhere(project, stack) == {1}, "alpha's is the last success left"


def test_an_upgraded_catalog_knows_each_names_latest(project: Path) -> None:
    """Schema 6 keeps each name's @latest in a table; upgrading fills it from the runs."""
    stack = fm.Stack(root=str(project)).resolve()
    _three_reports(stack)
    cat = stack.open_catalog()
    def downgrade(cur: Any) -> None:  # as FlowyML before schema 6 left it
        cur.run("DROP TABLE latest_outputs")
        cur.run("ALTER TABLE artifacts DROP COLUMN data")  # schema 7
        cur.run("ALTER TABLE cache_entries DROP COLUMN reads")  # schema 8
        cur.run("ALTER TABLE step_runs DROP COLUMN reads")  # schema 9
        cur.run("ALTER TABLE cache_entries DROP COLUMN effects")  # schema 10
        cur.run("UPDATE flowyml_meta SET value = '5' WHERE key = 'schema_version'")

    cat.db.write(downgrade)
    cat.close()
    clear_opened()  # the next open is a new process's
    assert stack.open_catalog().schema_version() == migrations.LATEST
    assert _latest_everywhere(project, stack) == {2}
