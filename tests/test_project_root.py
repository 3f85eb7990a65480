"""The project root comes from the pipeline's own file, not the current directory
(issue "Never stale"), and a project has one config file.

Runs happen in fresh processes started from another folder: `python /proj/pipe.py` and
`flowyml run /proj/pipe.py` must use /proj's store and config and treat /proj's helper
modules as the user's own code (an edit re-executes the step that calls it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import flowyml as fm
from flowyml.core.errors import ConfigError
from flowyml.stack import Stack, load_config, stack_sources
from tests.conftest import child_env, flowyml_cli, write

PIPE = '''
import json
import flowyml as fm
import helpers

@fm.step(outputs="raw")
def load():
    return [1, 2, 3]

@fm.step(outputs="scaled")
def scale(raw):
    return [helpers.scale(x) for x in raw]

pipe = fm.Pipeline("rooted", [scale, load])

if __name__ == "__main__":
    run = pipe.run()
    print(json.dumps({"executed": sorted(run.executed), "cached": sorted(run.cached),
                      "scaled": run["scaled"], "root": str(pipe.root)}))
'''

HELPERS = "def scale(x):\n    return x * {k}\n"

# no stale bytecode when a helper is edited twice within a second
ENV = {"PYTHONDONTWRITEBYTECODE": "1"}


def _env() -> dict[str, str]:
    env = child_env()
    env.update(ENV)
    return env


def run_script(cwd: Path, script: Path) -> dict[str, object]:
    """`cd cwd && python script` in a fresh process; the JSON line the script prints."""
    proc = subprocess.run([sys.executable, str(script)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def statuses(output: str) -> dict[str, str]:
    """Step -> "run" | "reuse" from the progress lines of `flowyml run`."""
    out: dict[str, str] = {}
    for line in output.splitlines():
        for step in ("load", "scale"):
            if f" {step}: reused from cache" in line:
                out[step] = "reuse"
            elif f" {step}: done in" in line:
                out[step] = "run"
    return out


@pytest.fixture
def proj(project: Path) -> Path:
    """The pipeline's project (an empty flowyml.toml marks it) with a helper module."""
    write(project / "pipe.py", PIPE)
    write(project / "helpers.py", HELPERS.format(k=2))
    return project


@pytest.fixture(params=["plain folder", "another project"])
def elsewhere(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the user stands: a plain folder, or another project with its own stack."""
    where = tmp_path / "elsewhere"
    where.mkdir()
    if request.param == "another project":
        write(where / "flowyml.toml", '[stacks.default]\nstore = "other-store"\n')
    return where


def _nothing_written_in(where: Path) -> None:
    assert not (where / ".flowyml").exists(), "a second store appeared in the current directory"
    assert not (where / "other-store").exists(), "the current directory's stack was used"


# ---------------------------------------------------------------- (a) python /proj/pipe.py
def test_script_run_from_another_folder_uses_its_own_project(proj: Path, elsewhere: Path) -> None:
    first = run_script(elsewhere, proj / "pipe.py")
    assert first["executed"] == ["load", "scale"] and first["scaled"] == [2, 4, 6]
    assert first["root"] == str(proj)
    _nothing_written_in(elsewhere)
    assert (proj / ".flowyml" / "catalog.db").is_file(), "the project's own store is used"

    again = run_script(elsewhere, proj / "pipe.py")
    assert again["cached"] == ["load", "scale"], "an unchanged rerun reuses every step"

    write(proj / "helpers.py", HELPERS.format(k=30))  # the helper is the user's own code
    edited = run_script(elsewhere, proj / "pipe.py")
    assert edited["executed"] == ["scale"] and edited["cached"] == ["load"]
    assert edited["scaled"] == [30, 60, 90], "never stale"
    # and from the project itself: the same store, the same decisions
    assert run_script(proj, proj / "pipe.py")["cached"] == ["load", "scale"]
    _nothing_written_in(elsewhere)


# ---------------------------------------------------------------- (b) flowyml run /abs/pipe.py
def test_cli_run_and_plan_of_an_absolute_path_use_that_files_project(
    proj: Path, elsewhere: Path
) -> None:
    target = str(proj / "pipe.py")

    def cli(*args: str) -> str:
        res = flowyml_cli(elsewhere, *args, env=ENV)
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout + res.stderr

    assert statuses(cli("run", target)) == {"load": "run", "scale": "run"}
    _nothing_written_in(elsewhere)
    assert (proj / ".flowyml" / "catalog.db").is_file()
    assert statuses(cli("run", target + ":rooted")) == {"load": "reuse", "scale": "reuse"}
    assert "= scale: reuse" in cli("plan", target)

    write(proj / "helpers.py", HELPERS.format(k=30))
    assert "+ scale: run" in cli("plan", target) and "= load: reuse" in cli("plan", target)
    assert statuses(cli("run", target)) == {"load": "reuse", "scale": "run"}
    assert statuses(cli("run", target)) == {"load": "reuse", "scale": "reuse"}
    _nothing_written_in(elsewhere)

    # a command without a pipeline file keeps using the current directory's project
    res = flowyml_cli(proj, "runs")
    assert res.returncode == 0 and res.stdout.count("rooted") == 4, res.stdout + res.stderr


# ---------------------------------------------------------------- (c) one config file
PYPROJECT = '''
[project]
name = "churn"
version = "0.1"

[tool.flowyml]
stack = "dev"

[tool.flowyml.stacks.dev]
store = "dev-store"
'''


def test_empty_flowyml_toml_only_marks_the_root(proj: Path, tmp_path: Path) -> None:
    write(proj / "pyproject.toml", PYPROJECT)
    (proj / "flowyml.toml").write_text("# marks the project root\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = run_script(elsewhere, proj / "pipe.py")
    assert out["executed"] == ["load", "scale"]
    assert (proj / "dev-store" / "catalog.db").is_file(), "the [tool.flowyml] settings are used"
    assert not (proj / ".flowyml").exists() and not (elsewhere / ".flowyml").exists()


def test_settings_in_both_files_are_refused(proj: Path, tmp_path: Path) -> None:
    write(proj / "pyproject.toml", PYPROJECT)
    write(proj / "flowyml.toml", '[stacks.default]\nstore = "other"\n')
    with pytest.raises(ConfigError) as err:
        load_config(proj)
    msg = str(err.value)
    assert str(proj / "flowyml.toml") in msg and str(proj / "pyproject.toml") in msg
    assert "one of the two files" in msg
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, str(proj / "pipe.py")], cwd=elsewhere, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "ConfigError" in proc.stderr
    assert "flowyml.toml" in proc.stderr and "pyproject.toml" in proc.stderr
    res = flowyml_cli(elsewhere, "run", str(proj / "pipe.py"))
    assert res.returncode == 1 and "ConfigError" in res.stderr and "pyproject.toml" in res.stderr
    assert not (proj / "other").exists() and not (proj / "dev-store").exists()


def test_which_file_holds_the_settings(project: Path) -> None:
    (project / "flowyml.toml").write_text("")
    assert load_config(project) == {}
    write(project / "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 99\n')
    assert load_config(project) == {}, "a pyproject.toml without [tool.flowyml] has no settings"
    write(project / "flowyml.toml", 'stack = "a"\n[stacks.a]\nstore = "s"\n')
    cfg = load_config(project)
    assert cfg["stack"] == "a" and cfg["__file__"] == str(project / "flowyml.toml")
    (project / "flowyml.toml").write_text("")
    write(project / "pyproject.toml", PYPROJECT)
    cfg = load_config(project)
    assert cfg["stack"] == "dev" and cfg["__file__"] == str(project / "pyproject.toml")
    assert Stack().resolve().store == str(project / "dev-store")


# ---------------------------------------------------------------- (d) stack show: sources
def test_stack_show_says_where_each_setting_comes_from(project: Path, tmp_path: Path) -> None:
    (project / "flowyml.toml").write_text("")
    write(project / "pyproject.toml", PYPROJECT + 'executor = "processes:2"\n[tool.flowyml.stacks.other]\n')
    env = {"FLOWYML_CATALOG": f"sqlite:///{tmp_path / 'env.db'}"}
    res = flowyml_cli(project, "stack", "show", env=env)
    assert res.returncode == 0, res.stderr
    lines = {line.split()[0]: line for line in res.stdout.splitlines()}
    pyproject = str(project / "pyproject.toml")
    assert lines["name"].endswith(f"(from {pyproject} [tool.flowyml], key stack)")
    assert lines["store"].endswith(f"(from {pyproject} [tool.flowyml.stacks.dev])")
    assert lines["executor"].endswith(f"(from {pyproject} [tool.flowyml.stacks.dev])")
    assert lines["catalog"].endswith("(from environment FLOWYML_CATALOG)")
    assert lines["gc_grace_seconds"].endswith("(from built-in default)")
    assert lines["storage_options"].endswith("(from built-in default)")
    assert lines["config"].split(None, 1)[1] == f"{pyproject} [tool.flowyml]"
    assert str(project) in lines["root"]

    res = flowyml_cli(project, "stack", "show", "other", "--json",
                      env={"FLOWYML_STACK": "dev", "FLOWYML_EXECUTOR": "inline"})
    assert res.returncode == 0, res.stderr
    shown = json.loads(res.stdout)
    assert shown["name"] == "other" and shown["root"] == str(project)
    src = shown["sources"]
    assert src["name"] == "argument" and src["executor"] == "environment FLOWYML_EXECUTOR"
    assert src["store"] == "built-in default"

    res = flowyml_cli(project, "stack", "show", env={"FLOWYML_STACK": "other"})
    assert "name              other  (from environment FLOWYML_STACK)" in res.stdout


def test_stack_sources_api(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project / "flowyml.toml", "[stacks.default]\nstore = 's'\nallow_pickle = true\n")
    monkeypatch.setenv("FLOWYML_CACHE_MAX_SIZE", "1GB")
    src = stack_sources(Stack(executor="inline"))
    table = f"{project / 'flowyml.toml'} [stacks.default]"
    assert src["store"] == src["allow_pickle"] == table
    assert src["executor"] == "argument"
    assert src["cache_max_size"] == "environment FLOWYML_CACHE_MAX_SIZE"
    assert src["name"] == src["catalog"] == "built-in default"
    assert src["config"] == str(project / "flowyml.toml")
    assert stack_sources(None, root=project)["root"] == "argument"
    secret = Stack(catalog="postgresql+psycopg://u:pw-123@h/db")
    assert "pw-123" not in json.dumps(stack_sources(secret)), "labels only, never values"


# ---------------------------------------------------------------- Pipeline.file / root
@fm.step(outputs="n")
def one() -> int:
    return 1


def test_pipeline_records_the_file_that_defined_it(project: Path) -> None:
    pipe = fm.Pipeline("here", [one])
    assert pipe.file == Path(__file__).resolve()
    # made where there is no file (a notebook, python -c): its first step's file
    mod = types.ModuleType("flowyml_nofile_test")
    exec("import flowyml as fm\ndef make(steps):\n    return fm.Pipeline('p', steps)\n",
         mod.__dict__)
    assert mod.make([one]).file == Path(__file__).resolve()
    # no file anywhere: None, and the root is the current directory's project
    exec("@fm.step(outputs='m')\ndef two():\n    return 2\n", mod.__dict__)
    sys.modules[mod.__name__] = mod
    try:
        nofile = mod.make([mod.two])
    finally:
        del sys.modules[mod.__name__]
    assert nofile.file is None and nofile.root == project


def test_flowyml_root_sets_the_root_explicitly(project: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """FLOWYML_ROOT wins over the pipeline's file (the `project` fixture relies on it:
    pipelines defined in test modules would otherwise belong to this repository)."""
    pipe = fm.Pipeline("here", [one])
    assert pipe.file is not None and not pipe.file.is_relative_to(project)
    assert pipe.root == project
    assert pipe.run()["n"] == 1 and (project / ".flowyml" / "catalog.db").is_file()
    other = tmp_path / "elsewhere-root"
    other.mkdir()
    monkeypatch.setenv("FLOWYML_ROOT", str(other))
    assert pipe.root == other.resolve()


def test_flowyml_root_is_the_root_of_commands_without_a_pipeline_file(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FLOWYML_ROOT names the project of ``fm.Catalog()`` and of the CLI's commands
    that take no pipeline file too, wherever the current directory is: another project
    (whose catalog it is not), or a folder of none (where nothing is created)."""
    assert fm.Pipeline("here", [one]).run()["n"] == 1
    other = tmp_path / "other"
    write(other / "flowyml.toml", "")
    plain = tmp_path / "plain"
    plain.mkdir()
    env = {"FLOWYML_ROOT": str(project)}
    for where in (other, plain):
        monkeypatch.chdir(where)
        assert [r.pipeline for r in fm.Catalog().runs()] == ["here"]
        assert fm.Catalog().get("n").load() == 1
        res = flowyml_cli(where, "runs", env=env)
        assert res.returncode == 0 and "here" in res.stdout, res.stdout + res.stderr
        res = flowyml_cli(where, "stack", "show", "--json", env=env)
        shown = json.loads(res.stdout)
        assert shown["root"] == str(project) and shown["sources"]["root"] == (
            "environment FLOWYML_ROOT")
    assert not (other / ".flowyml").exists() and list(plain.iterdir()) == []


def test_a_stack_with_its_own_root_keeps_it(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    write(other / "flowyml.toml", "[stacks.default]\nstore = 'kept'\n")
    run = fm.Pipeline("here", [one]).run(stack=Stack(root=str(other)))
    assert run["n"] == 1 and (other / "kept" / "catalog.db").is_file()
    assert not (project / ".flowyml").exists()


def test_catalog_outside_any_project_says_so_and_creates_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``fm.Catalog()`` in a folder of no project (a notebook started in the wrong
    folder) says so, as the CLI does, instead of creating an empty catalog there; a
    folder where a pipeline ran (its .flowyml) is a project, and a stack given says
    where the catalog is."""
    lost = tmp_path / "nowhere"
    lost.mkdir()
    monkeypatch.chdir(lost)
    for var in list(__import__("os").environ):
        if var.startswith("FLOWYML_"):
            monkeypatch.delenv(var)
    with pytest.raises(ConfigError, match=r"no FlowyML project in .*nowhere.*fm\.Stack\(root="):
        fm.Catalog()
    with pytest.raises(ConfigError, match="no FlowyML project"):
        fm.get_lineage("model")
    assert list(lost.iterdir()) == []
    elsewhere = tmp_path / "proj"
    elsewhere.mkdir()
    assert fm.Catalog(fm.Stack(root=str(elsewhere))).runs() == []
    (lost / ".flowyml").mkdir()
    assert fm.Catalog().runs() == []
