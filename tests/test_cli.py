"""The `flowyml` command, run as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import child_env, ctrl_c_in_flowyml_run, flowyml_cli, interrupted, write

PIPE = '''
import flowyml as fm

@fm.step(outputs="raw_data")
def load(n_rows: int = 4):
    return list(range(n_rows))

@fm.step(outputs="clean_data")
def clean(raw_data):
    return [x * 2 for x in raw_data]

@fm.step(outputs=("model", "metrics"))
def train(clean_data, lr: float = 0.1):
    return {"w": sum(clean_data) * lr}, {"n": len(clean_data)}

pipe = fm.Pipeline("clitest", [train, clean, load])
'''


@pytest.fixture
def proj(project: Path) -> Path:
    write(project / "pipe.py", PIPE)
    return project


def ok(proj: Path, *args: str) -> str:
    res = flowyml_cli(proj, *args)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout + res.stderr


def test_run_shows_progress_then_reuse(proj: Path) -> None:
    out = ok(proj, "run", "pipe.py", "-p", "lr=0.2")
    assert "load: running" in out and "train: done in" in out and "succeeded" in out
    out = ok(proj, "run", "pipe.py:clitest", "-p", "lr=0.2")
    assert out.count("reused from cache") == 3
    out = ok(proj, "run", "pipe.py", "--quiet", "-p", "lr=0.2")
    assert "reused" not in out and len(out.strip().split()) == 1  # just the run id
    out = ok(proj, "run", "pipe.py", "--force", "-p", "lr=0.2")
    assert out.count("done in") == 3


def test_plan_without_running(proj: Path) -> None:
    out = ok(proj, "plan", "pipe.py")
    # nothing ran yet: every step runs, the ones after load too (no cache entry of theirs
    # can be a hit, whatever load makes)
    assert ("+ load: run - no successful run of this step in this pipeline yet: nothing "
            "cached") in out
    assert ("+ clean: run - no successful run of this step yet: nothing cached under its key "
            "(no clean_data in the catalog)") in out
    assert "+ train: run - no successful run of this step yet: nothing cached under its key " \
        "(no model or metrics in the catalog)" in out
    assert "run?" not in out
    assert "no runs yet" in ok(proj, "runs")  # planning runs nothing and records nothing
    ok(proj, "run", "pipe.py")
    out = ok(proj, "plan", "pipe.py", "-p", "lr=0.5")
    assert "= load: reuse" in out and "= clean: reuse" in out
    assert "+ train: run - parameter lr 0.1 -> 0.5" in out
    assert ok(proj, "runs").count("clitest") == 1
    # upstream will run: a step's own changes are named with the condition
    out = ok(proj, "plan", "pipe.py", "-p", "n_rows=5", "-p", "lr=0.5")
    assert ("? train: run? - parameter lr 0.1 -> 0.5; and after clean runs: reused only "
            "if clean_data comes out byte-identical") in out


def test_plan_says_run_for_what_cannot_be_reused_after_a_step_that_runs(
        proj: Path) -> None:
    """After a step that runs, a step is "run?" only when it may be reused: if what that
    step makes comes out as before (or, for a step that never ran in this pipeline, as
    another pipeline's run of it had it). A step added since the last run, and one with
    caching off, run whatever it makes."""
    ok(proj, "run", "pipe.py")
    write(proj / "pipe.py", PIPE.replace('pipe = fm.Pipeline("clitest", [train, clean, load])', '''
@fm.step(outputs="score")
def score(model):
    return model["w"]

@fm.step(outputs="note", cache=False)
def note(metrics):
    return str(metrics)

pipe = fm.Pipeline("clitest", [train, clean, load, score, note])
other = fm.Pipeline("other", [clean, load])
'''))
    out = ok(proj, "plan", "pipe.py:clitest", "-p", "n_rows=5")
    assert "+ load: run - parameter n_rows 4 -> 5" in out
    assert ("? clean: run? - after load runs: reused only if raw_data comes out "
            "byte-identical") in out
    assert "? train: run? - after clean runs" in out
    assert ("+ score: run - no successful run of this step yet: nothing cached under its key "
            "(no score in the catalog)") in out
    assert "+ note: run - caching is off (cache=False)" in out
    out = ok(proj, "plan", "pipe.py:other", "-p", "n_rows=5")
    assert ("? clean: run? - no successful run of this step in this pipeline yet; after load "
            "runs: reused only if another pipeline ran it on the inputs it gets") in out


def test_catalog_commands(proj: Path) -> None:
    ok(proj, "run", "pipe.py")
    ok(proj, "run", "pipe.py", "-p", "lr=0.3")
    out = ok(proj, "runs")
    assert out.count("clitest") == 2 and "succeeded" in out
    assert "model" in ok(proj, "artifacts")
    out = ok(proj, "artifacts", "model")
    assert "model@1" in out and "model@2" in out
    first = next(line for line in out.splitlines() if line.startswith("model@1 "))
    short = first.split(" hash ")[1][:10]  # the lineage tree shows 10 hex digits too
    assert "version        1" in ok(proj, "show", short)
    typo = flowyml_cli(proj, "artifacts", "modell")  # as show and lineage: an error, exit 1
    assert typo.returncode == 1 and "no artifact named 'modell'" in typo.stderr
    ok(proj, "tag", "model", "1", "prod")
    out = ok(proj, "show", "model@prod")
    assert "version        1" in out and "prod" in out
    tree = ok(proj, "lineage", "model")
    assert tree.startswith("model@2") and "clean_data@1" in tree and "raw_data@1" in tree
    data = json.loads(ok(proj, "lineage", "model@1", "--format", "json"))
    assert data["parents"][0]["name"] == "clean_data"
    assert ok(proj, "lineage", "model", "--format", "mermaid").startswith("graph BT")
    down = ok(proj, "lineage", "raw_data", "--down")
    assert "model@1" in down and "model@2" in down and "metrics@1" in down


def test_gc_dry_run_and_delete(proj: Path) -> None:
    ok(proj, "run", "pipe.py")
    stray_dir = proj / ".flowyml" / "objects" / "ab"
    stray_dir.mkdir(parents=True, exist_ok=True)
    stray = stray_dir / ("ab" + "0" * 62)
    stray.write_bytes(b"x")
    os.utime(stray, (time.time() - 3600, time.time() - 3600))
    assert "kept 1 young" in ok(proj, "gc", "--dry-run")
    assert "would delete 1 object" in ok(proj, "gc", "--dry-run", "--grace", "0")
    assert "deleted 1 object" in ok(proj, "gc", "--grace", "0")
    assert "deleted 0 object" in ok(proj, "gc", "--grace", "0")


def test_build_error_exits_nonzero_without_traceback(proj: Path) -> None:
    write(proj / "broken.py", PIPE.replace("def clean(raw_data)", "def clean(raw_dat)"))
    res = flowyml_cli(proj, "run", "broken.py")
    assert res.returncode == 2
    assert "MissingInputError" in res.stderr and "raw_dat" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert not (proj / ".flowyml" / "objects").exists()


def test_step_failure_exits_nonzero_with_cause(proj: Path) -> None:
    write(proj / "fails.py", PIPE.replace("return [x * 2 for x in raw_data]", "raise KeyError('col')"))
    res = flowyml_cli(proj, "run", "fails.py")
    assert res.returncode == 1
    assert "step 'clean' failed" in res.stderr and "KeyError" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_file_that_fails_to_import_shows_its_own_frames(proj: Path) -> None:
    write(proj / "syntax.py", "import flowyml as fm\n\ndef load(:\n    return 1\n")
    write(proj / "missing.py", "import flowyml as fm\nimport not_a_module_anywhere\n")
    for name, error, line in (("syntax.py", "SyntaxError", "def load(:"),
                              ("missing.py", "ModuleNotFoundError", "import not_a_module")):
        res = flowyml_cli(proj, "plan", name)
        assert res.returncode == 1, res.stderr
        assert f"error: cannot import {name}: {error}" in res.stderr and line in res.stderr
        assert "click" not in res.stderr and "importlib" not in res.stderr, res.stderr


def test_a_run_at_import_is_refused_by_the_cli(proj: Path) -> None:
    """`flowyml plan` must not execute steps, nor `flowyml run` run twice: a file whose
    pipeline runs when imported (no ``__main__`` guard) is refused, naming the line."""
    write(proj / "unguarded.py", PIPE + "run = pipe.run()\n")
    for command in ("plan", "run"):
        res = flowyml_cli(proj, command, "unguarded.py")
        assert res.returncode == 1
        line = (proj / "unguarded.py").read_text().splitlines().index("run = pipe.run()") + 1
        assert f"unguarded.py:{line} runs pipeline 'clitest' when the file is imported" in res.stderr
        assert 'if __name__ == "__main__":' in res.stderr
    assert not (proj / ".flowyml" / "objects").exists()  # nothing ran


def test_a_notebook_given_as_the_pipeline_file_is_refused_clearly(proj: Path) -> None:
    write(proj / "nb.ipynb", '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    for command in ("plan", "run"):
        res = flowyml_cli(proj, command, "nb.ipynb")
        assert res.returncode == 2, res.stderr
        assert "nb.ipynb is not a Python file" in res.stderr and "pipe.plan()" in res.stderr
        assert "Traceback" not in res.stderr


def test_a_file_importing_another_files_pipeline_runs_its_own(proj: Path) -> None:
    write(proj / "importer.py", "import flowyml as fm\nfrom pipe import pipe as upstream\n\n"
          "@fm.step(outputs='z')\ndef c(n: int = 1):\n    return n\n\n"
          "pipe = fm.Pipeline('importer', [c])\n")
    out = ok(proj, "plan", "importer.py")
    assert "c: run" in out and "load" not in out
    assert "load: run" in ok(proj, "plan", "importer.py:clitest")  # the other, by name


def test_a_pipeline_file_in_a_package_runs_with_its_relative_imports(proj: Path) -> None:
    """`flowyml run app/pipe.py` imports the file as `python -m app.pipe` would, so its
    relative imports resolve (they failed: "no known parent package"); a sibling imported
    by its plain name, as a script run allows, still resolves too."""
    write(proj / "app" / "__init__.py", "")
    write(proj / "app" / "helpers.py", "def scale(x):\n    return x * 3\n")
    write(proj / "app" / "consts.py", "K = 1\n")
    write(proj / "app" / "pipe.py", "import flowyml as fm\nfrom .helpers import scale\n"
          "from consts import K\n\n@fm.step(outputs='y')\ndef f(n: int = 3):\n"
          "    return [scale(i) + K for i in range(n)]\n\npipe = fm.Pipeline('pkg', [f])\n")
    assert "1 executed" in ok(proj, "run", "app/pipe.py")
    assert "f: reuse" in ok(proj, "plan", "app/pipe.py")
    write(proj / "app" / "helpers.py", "def scale(x):\n    return x * 4\n")
    assert "f: run" in ok(proj, "plan", "app/pipe.py")
    # a module of the project named like a standard one does not shadow it for FlowyML
    write(proj / "queue.py", "raise ImportError('the project queue.py, imported by mistake')\n")
    assert "1 executed" in ok(proj, "run", "app/pipe.py", "--executor", "processes:2")


def test_a_class_of_the_script_loads_when_the_cli_runs_the_same_file(proj: Path) -> None:
    """`python model_pipe.py` pickles its outputs' class as `__main__.Model`; `flowyml run
    model_pipe.py` imports the file under its own name, and finds that class there (it
    said "MissingCodeError: ... __main__.Model, which this process does not define")."""
    source = ("import flowyml as fm\n\nclass Model:\n    def __init__(self, w):\n"
              "        self.w = w\n\n    def predict(self, x):\n        return x * self.w\n\n"
              "@fm.step(outputs='model')\ndef train():\n    return Model(2)\n\n"
              "@fm.step(outputs='scores')\ndef score(model, n: int = 3):\n"
              "    return [model.predict(i) for i in range(n)]\n\n"
              "pipe = fm.Pipeline('mainclass', [train, score])\n\n"
              "if __name__ == '__main__':\n    print(pipe.run()['scores'])\n")
    write(proj / "model_pipe.py", source)
    proc = subprocess.run([sys.executable, "model_pipe.py"], cwd=proj, env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "[0, 2, 4]" in proc.stdout, proc.stderr
    assert "2 reused" in ok(proj, "run", "model_pipe.py")  # one cache for both ways
    write(proj / "model_pipe.py", source.replace("n: int = 3", "n: int = 4"))
    out = ok(proj, "run", "model_pipe.py")  # score runs: it loads train's __main__.Model
    assert "1 executed, 1 reused" in out
    assert "[0, 2, 4, 6]" in ok(proj, "show", "scores")


def test_a_step_logging_through_its_module_logger_is_reused_by_the_cli(proj: Path) -> None:
    """``getLogger(__name__)`` is ``__main__``'s logger under ``python pipe.py`` and
    ``pipe``'s under ``flowyml run pipe.py``: a logger counts by its level, not its name,
    so running the file either way reuses what the other made."""
    write(proj / "logpipe.py", (
        "import logging\n\nimport flowyml as fm\n\nlog = logging.getLogger(__name__)\n\n"
        "@fm.step(outputs='y')\ndef f(n: int = 3):\n    log.info('n=%s', n)\n"
        "    return n * 2\n\npipe = fm.Pipeline('logs', [f])\n\n"
        "if __name__ == '__main__':\n    print(pipe.run()['y'])\n"))
    proc = subprocess.run([sys.executable, "logpipe.py"], cwd=proj, env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "6" in proc.stdout, proc.stderr
    assert "1 reused" in ok(proj, "run", "logpipe.py")


def test_a_dataclass_of_the_script_is_reused_by_the_cli(proj: Path) -> None:
    """A dataclass's ``__init__`` is code made by ``exec`` in the script's module: under
    ``python pipe.py`` (``__main__``) it was taken for a notebook's, under ``flowyml run
    pipe.py`` for the file's, so the CLI re-executed the step ("moved from <notebook>")."""
    write(proj / "dcpipe.py", (
        "from dataclasses import dataclass\n\nimport flowyml as fm\n\n\n@dataclass\n"
        "class Cfg:\n    w: float = 2.0\n\n\n@fm.step(outputs='out')\n"
        "def train(x: int = 3):\n    return Cfg().w * x\n\n\n"
        "pipe = fm.Pipeline('dc', [train])\n\n"
        "if __name__ == '__main__':\n    print(pipe.run()['out'])\n"))
    proc = subprocess.run([sys.executable, "dcpipe.py"], cwd=proj, env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "6.0" in proc.stdout, proc.stderr
    out = ok(proj, "run", "dcpipe.py")
    assert "1 reused" in out, out


def test_catalog_commands_outside_any_project_create_nothing(tmp_path: Path) -> None:
    """`flowyml runs` in a folder of no project (the home folder, by mistake) says so,
    instead of creating an empty catalog there; a folder with a .flowyml is one."""
    lost = tmp_path / "nowhere"
    lost.mkdir()
    for args in (("runs",), ("artifacts",), ("show", "model"), ("verify",)):
        res = flowyml_cli(lost, *args)
        assert res.returncode == 1 and "no FlowyML project here" in res.stderr, res.stderr
    assert list(lost.iterdir()) == []
    (lost / ".flowyml").mkdir()
    assert "no runs yet" in ok(lost, "runs")


def test_unknown_artifact_is_a_clear_error(proj: Path) -> None:
    res = flowyml_cli(proj, "show", "nothing@3")
    assert res.returncode == 1 and "no artifact named 'nothing'" in res.stderr


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    res = flowyml_cli(tmp_path, "demo", "--dir", str(tmp_path / "demo"), timeout=600)
    assert res.returncode == 0, res.stderr
    out = res.stdout + res.stderr
    assert "accuracy=" in out
    assert "5 of 5 steps reused" in out
    assert "model@1" in out and "dataset@1" in out


@pytest.mark.usefixtures("objects_in_store")
def test_verify_finds_corrupt_and_missing_objects(proj: Path) -> None:
    ok(proj, "run", "pipe.py")
    assert "0 corrupt, 0 missing" in ok(proj, "verify")
    objects = sorted(p for p in (proj / ".flowyml" / "objects").rglob("*") if p.is_file())
    damaged, gone = objects[0], objects[1]
    data = bytearray(damaged.read_bytes())
    data[0] ^= 0xFF
    damaged.write_bytes(bytes(data))
    gone.unlink()
    res = flowyml_cli(proj, "verify")
    assert res.returncode == 1
    assert f"corrupt  {damaged.name}  (" in res.stdout and f"missing  {gone.name}  (" in res.stdout
    labels = {line.split("(")[1].rstrip(")") for line in res.stdout.splitlines()
              if line.startswith(("  corrupt", "  missing"))}
    assert labels <= {"raw_data@1", "clean_data@1", "model@1", "metrics@1"}, labels  # which
    assert "--force" in res.stdout  # and how to store them again


@pytest.mark.usefixtures("objects_in_store")
def test_verify_finds_an_object_no_load_can_read_as_missing(proj: Path) -> None:
    """An object's name with no object file behind it (a folder in its place, its file
    moved to another shard by a careless copy) is missing: every load fails. verify took
    the name it listed for the object and reported nothing."""
    ok(proj, "run", "pipe.py")
    objects = sorted(p for p in (proj / ".flowyml" / "objects").rglob("*") if p.is_file())
    folder, moved = objects[0], objects[1]
    folder.unlink()
    folder.mkdir()
    other = proj / ".flowyml" / "objects" / ("00" if moved.parent.name != "00" else "01")
    other.mkdir(exist_ok=True)
    moved.rename(other / moved.name)
    res = flowyml_cli(proj, "verify")
    assert res.returncode == 1, res.stdout
    assert f"missing  {folder.name}  (" in res.stdout and f"missing  {moved.name}  (" in res.stdout
    assert "0 corrupt, 2 missing" in res.stdout
    assert "deleted 0 object(s)" in ok(proj, "gc", "--grace", "0")  # neither is an object


def test_python_lookups_take_name_at_version_as_the_cli_does(proj: Path) -> None:
    import flowyml as fm

    ok(proj, "run", "pipe.py")
    ok(proj, "run", "pipe.py", "-p", "lr=0.3")
    stack = fm.Stack(root=str(proj))
    cat = fm.Catalog(stack)
    assert cat.get("model@1").version == 1 and cat.get("model@latest").version == 2
    assert cat.get("model@1").id == cat.get("model", 1).id
    tree = fm.get_lineage("model@1", stack=stack)
    assert tree.artifact.id == cat.get("model", 1).id and tree.parents
    from IPython.lib.pretty import pretty

    assert pretty(tree) == str(tree) and "model@1" in pretty(tree)  # IPython: the tree
    # a bare name is its @latest, as everywhere; an id is an id
    assert fm.get_lineage("model", stack=stack).artifact.version == 2
    assert fm.get_descendant_tree("model", stack=stack).artifact.version == 2
    latest = cat.get("model").id
    assert fm.get_lineage(latest, stack=stack).artifact.id == latest
    prefix = cat.get("model", 1).content_hash[:10]  # as the tree prints it, and show takes it
    assert fm.get_lineage(prefix, stack=stack).artifact.version == 1
    with pytest.raises(fm.ArtifactNotFoundError, match="modle"):
        fm.get_lineage("modle", stack=stack)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("executor", ["processes:1", "inline", "inline map_over"])
def test_an_interrupted_run_is_listed_as_interrupted(project: Path, executor: str) -> None:
    """Ctrl-C while a step runs (in a worker, or in this process): the run is recorded
    as failed, `flowyml runs` says it was interrupted (it named a step ``<runtime>``
    before), and the script gets the KeyboardInterrupt on every executor (inline, it
    got a StepFailed, an Exception: a sweep's ``except Exception`` went on)."""
    import sys


    write(project / "slow.py", """
        import sys, time
        import flowyml as fm

        @fm.step(outputs="x")
        def slow(n: int = 1):
            time.sleep(60)
            return n

        @fm.step(outputs="items")
        def items():
            return [1, 2]

        @fm.step(outputs="x", map_over="items", name="slow")
        def slow_each(items: int):
            time.sleep(60)
            return items

        if __name__ == "__main__":
            print("started", flush=True)
            executor, *mapped = sys.argv[1].split()
            steps = [items, slow_each] if mapped else [slow]
            try:
                fm.Pipeline("slow", steps).run(executor=executor, progress=True)
            except Exception as exc:
                print("caught", type(exc).__name__, flush=True)
    """)
    # (the progress line of the step: the worker runs it)
    returncode, stdout, stderr = interrupted([sys.executable, "slow.py", executor], project,
                                             "slow")
    assert returncode != 0 and "caught" not in stdout, stdout
    assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr
    # the progress says which step was stopped, and that what finished is kept
    assert "x slow: interrupted" in stderr, stderr
    assert re.search(r"run \S+ of slow: interrupted, \d executed, \d reused, .* what "
                     r"finished is recorded", stderr), stderr
    out = ok(project, "runs")
    assert "failed" in out and "run interrupted (KeyboardInterrupt)" in out, out
    assert "<runtime>" not in out
    # the step that was stopped has its record: failed, interrupted
    import flowyml as fm

    cat = fm.Catalog(fm.Stack(root=str(project)))
    steps = {r.step: r for r in cat.steps(cat.runs(limit=1)[0].id)}
    assert steps["slow"].status == "failed", steps
    assert steps["slow"].reason == "failed: interrupted (KeyboardInterrupt)", steps["slow"]


@pytest.mark.timeout(120)
def test_ctrl_c_on_flowyml_run_says_what_stopped_and_exits_130(project: Path) -> None:
    """`flowyml run` stopped by Ctrl-C ends with the run's line (which steps were
    stopped, what is recorded) and the shell's status for it, 130, not click's bare
    "Aborted!"."""
    returncode, stderr = ctrl_c_in_flowyml_run(project, "slow")
    assert returncode == 130, stderr
    assert "Aborted!" not in stderr and "Traceback" not in stderr, stderr
    assert "x slow: interrupted" in stderr, stderr
    assert re.search(r"run \S+ of slow: interrupted, 1 executed, 0 reused", stderr), stderr


def test_plan_names_only_a_steps_own_changes_while_its_inputs_are_not_known(
        project: Path) -> None:
    """A step given a pickled model that a step before it will make again: the code the
    model refers to (sklearn, numpy) is part of its key by that input; not known yet, it
    is not "no longer used" (it was said so): the step's own changes only."""
    write(project / "pipe.py", '''
import flowyml as fm
from sklearn.linear_model import LinearRegression

@fm.step(outputs="X")
def make(n: int = 5):
    return [[float(i)] for i in range(n)]

@fm.step(outputs="model")
def fit(X):
    return LinearRegression().fit(X, [r[0] * 2 for r in X])

@fm.step(outputs="pred")
def predict(model, X):
    return model.predict(X).tolist()

pipe = fm.Pipeline("planlib", [make, fit, predict])
''')
    ok(project, "run", "pipe.py")
    out = ok(project, "plan", "pipe.py", "-p", "n=6")
    assert ("? predict: run? - after make runs: reused only if X comes out "
            "byte-identical") in out, out
    assert "no longer used" not in out
    text = (project / "pipe.py").read_text()
    write(project / "pipe.py", text.replace("return model.predict(X).tolist()",
                                            "return [v + 1 for v in model.predict(X).tolist()]"))
    out = ok(project, "plan", "pipe.py", "-p", "n=6")
    assert "? predict: run? - code changed; and after make runs" in out, out
