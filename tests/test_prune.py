"""Retention (`flowyml prune`): what a policy deletes and what it never deletes, that the
lineage of everything kept stays whole (``get_lineage``, ``lineage_gaps`` and
``flowyml verify`` prove it), that ``gc`` then frees the bytes it announced, and that a
prune racing runs loses nothing they recorded. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

import flowyml as fm
from flowyml.catalog.base import CatalogSnapshot, Deletion
from flowyml.catalog.records import NewOutput, StepRecord, Write
from flowyml.cli.maintenance import collect_garbage, verify_store
from flowyml.core.errors import CatalogError
from flowyml.retention import Policy, parse_duration, prune
from tests.conftest import flowyml_cli, write

from .stack_fixtures import pg_url  # noqa: F401  (a fixture)


@pytest.fixture(params=["sqlite", "postgres"])
def stack(request: pytest.FixtureRequest, project: Path) -> fm.Stack:
    if request.param == "sqlite":
        return fm.Stack(root=str(project)).resolve()
    return fm.Stack(catalog=request.getfixturevalue("pg_url"), root=str(project)).resolve()


def _pipe(name: str = "shop", delay: float = 0.0) -> fm.Pipeline:
    @fm.step(outputs="raw")
    def load(n: int = 200) -> list[int]:
        return list(range(n))

    @fm.step(outputs="clean")
    def clean(raw: list[int]) -> list[int]:
        return [x * 2 for x in raw]

    @fm.step(outputs="model")
    def train(clean: list[int], lr: float = 0.1) -> dict[str, float]:
        time.sleep(delay)
        return {"w": sum(clean) * lr}

    return fm.Pipeline(name, [load, clean, train])


def _age_objects(stack: fm.Stack) -> None:
    """Make every stored object an hour old: gc keeps objects younger than its clock
    margin, whatever the grace period."""
    old = time.time() - 3600
    for path in (Path(str(stack.store)) / "objects").rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))


def _assert_whole(stack: fm.Stack) -> None:
    """Every kept artifact's lineage reaches its sources; nothing references a missing
    row; every stored object the catalog names is there (after gc)."""
    cat = stack.open_catalog()
    assert cat.lineage_gaps() == []
    for name, _, _ in cat.asset_names():
        for rec in cat.versions(name):
            for node in fm.get_lineage(rec.id, stack=stack).walk():
                edges = cat.parents_of([node.artifact.id])[node.artifact.id]
                assert len(node.parents) == len(edges), f"{node.artifact.label} lost a parent"
                cat.get_run(node.run_id)  # the run its lineage names still exists
    _age_objects(stack)
    collect_garbage(stack, grace_seconds=0)
    report = verify_store(stack)
    assert report.ok, (report.corrupt, report.missing, report.broken)


def test_the_bytes_gc_will_reclaim_leave_out_objects_kept_in_the_catalog(
    stack: fm.Stack,
) -> None:
    """Small objects live in their catalog row (``inline_max``): deleting the row frees
    them, so prune does not promise them to ``gc``, which finds nothing of them."""
    pipe = _pipe()
    for lr in (0.1, 0.2, 0.3):
        pipe.run(params={"lr": lr}, stack=stack)
    done = prune(stack, Policy(keep_last=1, pipeline="shop"))
    assert [f"{a.name}@{a.version}" for a in done.artifacts] == ["model@2"]
    assert (done.reclaim_objects, done.reclaim_bytes) == (0, 0)
    _age_objects(stack)
    gc = collect_garbage(stack, grace_seconds=0)
    assert (len(gc.deleted), gc.bytes) == (0, 0)


@pytest.mark.usefixtures("objects_in_store")
def test_keep_last_deletes_the_rest_but_never_what_lineage_or_an_alias_needs(
    stack: fm.Stack,
) -> None:
    pipe = _pipe()
    runs = [pipe.run(params={"lr": lr}, stack=stack) for lr in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)]
    models = [r.artifacts["model"] for r in runs]
    fm.Catalog(stack).tag("model", models[1].version, "prod")

    @fm.step(outputs="score", inputs={"m": f"model@{models[2].version}"})
    def evaluate(m: dict[str, float]) -> float:
        return m["w"]

    scored = fm.Pipeline("scoring", [evaluate]).run(stack=stack)  # another pipeline uses model@3

    dry = prune(stack, Policy(keep_last=1, pipeline="shop"), dry_run=True)
    assert {r.id for r in dry.runs} == {runs[3].id, runs[4].id}
    assert [f"{a.name}@{a.version}" for a in dry.artifacts] == ["model@4", "model@5"]
    why = dry.kept_for_lineage  # outside the policy, kept for what their lineage names
    assert set(why) == {runs[0].id, runs[1].id, runs[2].id}
    assert "@1, which is kept" in why[runs[0].id] and "model@2" in why[runs[1].id]
    assert "model@3" in why[runs[2].id]
    assert len(fm.Catalog(stack).versions("model")) == 6, "a dry run deletes nothing"
    assert dry.reclaim_objects == 2 and dry.reclaim_bytes == models[3].size + models[4].size

    done = prune(stack, Policy(keep_last=1, pipeline="shop"))
    assert [f"{a.name}@{a.version}" for a in done.artifacts] == ["model@4", "model@5"]
    cat = stack.open_catalog()
    kept = {r.id for r in cat.list_runs(limit=100)}
    assert kept == {runs[0].id, runs[1].id, runs[2].id, runs[5].id, scored.id}
    assert {a.version for a in cat.versions("model")} == {1, 2, 3, 6}
    _age_objects(stack)
    gc = collect_garbage(stack, grace_seconds=0)
    assert (len(gc.deleted), gc.bytes) == (done.reclaim_objects, done.reclaim_bytes)
    _assert_whole(stack)
    tree = fm.get_lineage(scored.artifacts["score"].id, stack=stack)
    assert [n.artifact.label for n in tree.walk()] == ["score@1", "model@3", "clean@1", "raw@1"]

    again = pipe.run(params={"lr": 0.4}, stack=stack)  # its cache entry went with model@4
    assert again.steps["train"].executed and again.artifacts["model"].version == 7


def test_keep_last_counts_results_a_failed_run_never_pushes_one_out(stack: fm.Stack) -> None:
    @fm.step(outputs="model")
    def fit(lr: float = 0.1) -> dict[str, float]:
        if lr < 0:
            raise ValueError("a negative learning rate")
        return {"w": lr}

    pipe = fm.Pipeline("fit", [fit])
    good = [pipe.run(params={"lr": lr}, stack=stack) for lr in (0.1, 0.2)]
    failed = []
    for _ in range(2):  # two crashes after the last good run
        with pytest.raises(fm.StepFailed) as err:
            pipe.run(params={"lr": -1.0}, stack=stack)
        failed.append(err.value.run.id)  # type: ignore[attr-defined]
    dry = prune(stack, Policy(keep_last=1), dry_run=True)
    assert [r.id for r in dry.runs] == [good[0].id]  # the failed runs are newer: kept
    assert [f"{a.name}@{a.version}" for a in dry.artifacts] == ["model@1"]
    prune(stack, Policy(keep_last=1))
    assert fm.Catalog(stack).get("model").version == 2, "the last good model stays @latest"
    assert {r.id for r in stack.open_catalog().list_runs(limit=10)} == {good[1].id, *failed}
    _assert_whole(stack)


def test_a_version_number_prune_freed_is_never_given_to_other_bytes(stack: fm.Stack) -> None:
    """Prune deletes a name's newest versions (the last run went back to an old result):
    the next new content is numbered above them, so ``model@3`` never names other bytes
    than it did, in a report, a notebook or a pipeline's ``inputs``."""
    @fm.step(outputs="model")
    def fit(lr: float = 0.1) -> dict[str, float]:
        return {"w": lr}

    pipe = fm.Pipeline("fit", [fit])
    for lr in (0.1, 0.2, 0.3, 0.1):  # model@1, @2, @3, then @1 again (reused)
        pipe.run(params={"lr": lr}, stack=stack)
    done = prune(stack, Policy(keep_last=1))
    assert [f"{a.name}@{a.version}" for a in done.artifacts] == ["model@2", "model@3"]
    new = pipe.run(params={"lr": 0.9}, stack=stack).artifacts["model"]
    assert new.version == 4
    assert {a.version: a.load() for a in fm.Catalog(stack).versions("model")} == {
        1: {"w": 0.1}, 4: {"w": 0.9}}
    prune(stack, Policy(keep_last=1))  # a later prune of lower versions keeps the mark
    assert pipe.run(params={"lr": 0.8}, stack=stack).artifacts["model"].version == 5


def test_older_than_and_both_limits(stack: fm.Stack) -> None:
    pipe = _pipe()
    runs = [pipe.run(params={"lr": lr}, stack=stack) for lr in (0.1, 0.2, 0.3)]
    later = time.time() + 3600
    assert prune(stack, Policy(older_than=7200), dry_run=True, now=later).runs == []
    old = prune(stack, Policy(older_than=1800), dry_run=True, now=later)
    assert [r.id for r in old.runs] == [r.id for r in runs] and old.kept_artifacts == 0
    both = prune(stack, Policy(keep_last=2, older_than=1800), dry_run=True, now=later)
    assert both.runs == [], "outside the policy means outside every limit; run 1 made raw@1"
    one = prune(stack, Policy(keep_last=1, older_than=1800), dry_run=True, now=later)
    assert [r.id for r in one.runs] == [runs[1].id]
    assert [f"{a.name}@{a.version}" for a in one.artifacts] == ["model@2"]


def test_policy_and_duration_parsing() -> None:
    assert parse_duration("90") == 90 and parse_duration("15m") == 900
    assert parse_duration("1d12h") == 36 * 3600 and parse_duration("2w") == 14 * 86400
    for bad in ("", "3x", "1d x", "h"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError, match="--keep-last"):
        Policy()
    with pytest.raises(ValueError):
        Policy(keep_last=-1)


def test_the_catalog_refuses_a_deletion_that_breaks_lineage(stack: fm.Stack) -> None:
    run = _pipe().run(stack=stack)
    cat = stack.open_catalog()
    raw = run.artifacts["raw"].id

    def reckless(snap: CatalogSnapshot) -> Deletion:
        return Deletion(frozenset(), frozenset({raw}))  # clean@1 was made from it

    with pytest.raises(CatalogError, match="breaks lineage"):
        cat.prune(reckless)
    assert cat.artifacts_by_id([raw]), "nothing was deleted"


def test_a_write_naming_a_deleted_artifact_fails_loudly(stack: fm.Stack) -> None:
    cat = stack.open_catalog()
    rec = StepRecord(run_id="r", pipeline="p", step="s", status="executed", cache_key="k",
                     reason="executed", code_version="c", started_at=time.time())
    out = NewOutput("x", "0" * 64, 1, "json", "builtins.int", {})
    with pytest.raises(CatalogError, match="deleted"):
        cat.record_batch([Write("exec", rec, [out], {"a": "no-such-artifact"})])
    assert cat.versions("x") == []


def test_prune_waits_for_a_run_in_progress(stack: fm.Stack) -> None:
    fast = _pipe()
    old = [fast.run(params={"lr": lr}, stack=stack) for lr in (0.1, 0.2, 0.3)]
    slow = _pipe(delay=1.5)
    box: dict[str, fm.Run] = {}
    runner = threading.Thread(target=lambda: box.update(run=slow.run(stack=stack)))
    runner.start()
    deadline = time.time() + 30
    while not any(r.status == "running" for r in stack.open_catalog().list_runs()):
        assert time.time() < deadline
        time.sleep(0.02)
    with pytest.raises(CatalogError, match="in progress"):
        prune(stack, Policy(keep_last=1), wait=0)
    assert len(stack.open_catalog().list_runs()) == 4, "nothing was deleted"
    t0 = time.monotonic()
    report = prune(stack, Policy(keep_last=1), wait=60)
    runner.join()
    assert time.monotonic() - t0 > 0.3, "it waited for the run"
    run = box["run"]
    assert {r.id for r in report.runs} == {old[1].id, old[2].id}
    kept = {r.id for r in stack.open_catalog().list_runs()}
    assert kept == {old[0].id, run.id}
    assert [s.step for s in stack.open_catalog().step_runs(run.id)] == ["load", "clean", "train"]
    _assert_whole(stack)


def test_prune_racing_runs_loses_nothing_they_recorded(
    stack: fm.Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowyml.catalog import sql

    monkeypatch.setattr(sql, "PRUNE_POLL_SECONDS", 0.02)
    pipe = _pipe(delay=0.05)
    finished: list[fm.Run] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    pruned: list[int] = []

    def runner() -> None:
        try:
            for i in range(8):  # new models and reuses of old ones
                finished.append(pipe.run(params={"lr": (0.1, 0.2, 0.3)[i % 3] + (i // 4)},
                                         stack=stack))
                time.sleep(0.2)  # a window for the pruner
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    def pruner() -> None:
        try:
            while not stop.is_set():
                pruned.append(len(prune(stack, Policy(keep_last=1), wait=60).runs))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=runner), threading.Thread(target=pruner)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(pruned) > 0, "the pruner deleted runs while runs went on"
    cat = stack.open_catalog()
    last = finished[-1]
    assert cat.get_run(last.id).status == "succeeded"
    for run in cat.list_runs(limit=100):  # every run left is whole
        for step in cat.step_runs(run.id):
            assert set(cat.artifacts_by_id(step.outputs.values())) == set(step.outputs.values())
    for asset, art in last.artifacts.items():
        assert cat.get_artifact(art.id).name == asset
        assert art.load() is not None
    _assert_whole(stack)


@pytest.mark.usefixtures("objects_in_store")
def test_prune_on_the_command_line(project: Path) -> None:
    write(project / "pipe.py", """
        import flowyml as fm

        @fm.step(outputs="raw")
        def load(n: int = 200):
            return list(range(n))

        @fm.step(outputs="model")
        def train(raw, lr: float = 0.1):
            return {"w": sum(raw) * lr}

        pipe = fm.Pipeline("cli", [load, train])
    """)
    for lr in ("0.1", "0.2", "0.3"):
        assert flowyml_cli(project, "run", "pipe.py", "-q", "-p", f"lr={lr}").returncode == 0
    res = flowyml_cli(project, "prune")
    assert res.returncode == 2 and "--keep-last" in res.stderr
    assert flowyml_cli(project, "prune", "--older-than", "soon").returncode == 2
    dry = flowyml_cli(project, "prune", "--keep-last", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete run" in dry.stdout and "would delete model@2" in dry.stdout
    assert "gc` will then reclaim 1 object(s)" in dry.stdout
    assert "kept run" in dry.stdout and "raw@1" in dry.stdout
    done = flowyml_cli(project, "prune", "--keep-last", "1", "--pipeline", "cli")
    assert done.returncode == 0 and "deleted 1 run(s) and 1 artifact version(s)" in done.stdout
    assert "model@2" not in flowyml_cli(project, "artifacts", "model").stdout
    _age_objects(fm.Stack(root=str(project)).resolve())
    assert "deleted 1 object" in flowyml_cli(project, "gc", "--grace", "0").stdout
    check = flowyml_cli(project, "verify")
    assert check.returncode == 0 and "lineage: 0 broken" in check.stdout
