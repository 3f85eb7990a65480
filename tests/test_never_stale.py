"""Never stale: a mutation corpus of everyday Python a step can depend on.

For every idiom of ``tests/never_stale/corpus.py`` (a small project of its own) the
pipeline runs once, then after each edit in a fresh process:

- a non-semantic edit (comment, docstring, blank lines, formatting) must be reused;
- an effective edit must execute the step, and the value must equal what the plain
  function gives when the edited project is imported in another fresh process.

Every phase of every idiom is its own process: one driver per phase forks a child per
idiom (``tests/never_stale/driver.py``), so the whole corpus costs a few interpreter
start-ups, not hundreds. Each phase uses another ``PYTHONHASHSEED``. Only the idioms
selected on the command line are run::

    .venv/bin/pytest tests/test_never_stale.py -k closure_helper
    .venv/bin/pytest "tests/test_never_stale.py::test_idiom[closure_helper]"

The notebook (a real ipykernel through nbclient) and the run from another working
directory are tests of their own at the end.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import child_env as clean_env
from tests.never_stale.corpus import IDIOMS
from tests.never_stale.spec import ABSENT, Idiom, Phase, apply_edit, validate

DRIVER = Path(__file__).resolve().parent / "never_stale" / "driver.py"
BY_ID = {item.id: item for item in IDIOMS}
PHASE_TIMEOUT = 600  # seconds for one phase of the whole corpus
CPUS = os.cpu_count() or 2


def seed(phase: int) -> str:
    """Another hash seed for every phase: set and dict orders differ between them."""
    return str(101 + 7919 * phase)


def child_env(phase: int) -> dict[str, str]:
    env = clean_env()
    env.pop("PYTHONPATH", None)
    # an edit within the second of the last run must not be hidden by a stale .pyc
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = seed(phase)
    return env


def missing_modules(item: Idiom) -> list[str]:
    return [m for m in item.requires if importlib.util.find_spec(m) is None]


# --------------------------------------------------------------------------- the harness


def write_project(base: Path, item: Idiom) -> Path:
    proj = base / item.id / "proj"
    proj.mkdir(parents=True)
    (proj / "flowyml.toml").write_text("")
    for rel, text in item.files.items():
        if text == ABSENT:
            continue
        path = (proj / rel).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return proj


def apply_phase(proj: Path, phase: Phase) -> None:
    for edit in phase.edits:
        path = (proj / edit.file).resolve()
        text = apply_edit(path.read_text() if path.exists() else ABSENT, edit)
        if text == ABSENT:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def run_driver(mode: str, jobs: list[dict[str, Any]], spec_path: Path, phase: int,
               parallel: int) -> subprocess.Popen[str]:
    spec_path.write_text(json.dumps({"mode": mode, "parallel": parallel, "jobs": jobs,
                                     "timeout": 120}))
    return subprocess.Popen([sys.executable, str(DRIVER), str(spec_path)], env=child_env(phase),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {"error": {"stage": "driver", "type": "NoResult", "mro": [],
                          "message": f"no result in {path}: {exc}", "traceback": ""}}


def describe_error(err: dict[str, Any]) -> str:
    tail = [ln for ln in err.get("traceback", "").strip().splitlines() if ln.strip()][-3:]
    where = " | ".join(ln.strip() for ln in tail)
    return f"{err['stage']} raised {err['type']}: {err['message'][:300]}" + (
        f" [{where[:400]}]" if where else "")


def refused(res: dict[str, Any]) -> bool:
    err = res.get("error")
    return bool(err) and err["stage"] in ("import", "build") and "BuildError" in err["mro"]


def fp_warnings(texts: list[list[str]]) -> list[str]:
    return [msg for cat, msg in texts if cat == "FingerprintWarning"]


def judge(item: Idiom, number: int, res: dict[str, Any], oracle: dict[str, Any] | None,
          stderr: str, refused_at_baseline: bool) -> list[str]:
    phase = item.phases[number]
    label = f"phase {number} {phase.kind} ({phase.note})"
    if item.build_error_ok and (refused_at_baseline or number == 0) and refused(res):
        return []
    if item.build_error_ok and refused_at_baseline:
        return [f"{label}: refused at baseline with BuildError, but not now: "
                + (describe_error(res["error"]) if "error" in res else "it ran")]
    problems: list[str] = []
    warn = res.get("warnings", {"build": [], "run": []})
    if number == 0:
        built = fp_warnings(warn["build"])
        for word in item.warns_at_build:
            if not any(word in msg for msg in built):
                problems.append(f"{label}: no FingerprintWarning naming {word!r} at build "
                                f"(build warnings: {built or 'none'})")
        every = [msg for _, msg in warn["build"] + warn["run"]]
        for word in item.warns_anywhere:
            if not any(word in msg for msg in every) and word not in stderr:
                problems.append(f"{label}: no warning naming {word!r} "
                                f"(warnings: {every or 'none'})")
    # every phase is a fresh process: the text on disk is what runs, so the check that a
    # function's text compiles to its code must never fail (methods, closures, lambdas...)
    stale = [m for m in fp_warnings(warn["build"] + warn["run"]) if "changed after its" in m]
    if stale:
        problems.append(f"{label}: the text of code that runs was taken for stale: {stale}")
    if item.no_fingerprint_warning:
        found = fp_warnings(warn["build"] + warn["run"])
        if found or "FingerprintWarning" in stderr:
            problems.append(f"{label}: unexpected FingerprintWarning: {found or stderr[-300:]}")
    if "error" in res and "steps" not in res:
        return [*problems, f"{label}: {describe_error(res['error'])}"]
    steps = res.get("steps", {})
    for step, want in item.expected(phase).items():
        got = steps.get(step)
        if got is None:
            problems.append(f"{label}: step {step} missing from the run (steps: {sorted(steps)})")
        elif got[0] != want:
            stale = " STALE HIT" if got[0] == "cached" else ""
            problems.append(f"{label}: step {step} {got[0]}, want {want}{stale}; "
                            f"reason: {got[1]!r}")
    for step, word in phase.reason.items():
        got = steps.get(step)
        if got is not None and word not in got[1]:
            problems.append(f"{label}: reason of {step} does not mention {word!r}: {got[1]!r}")
    if "error" in res:
        problems.append(f"{label}: {describe_error(res['error'])}")
        return problems
    checks = item.checks(phase)
    if checks:
        assert oracle is not None
        if "error" in oracle:
            problems.append(f"{label}: the plain-Python oracle failed: "
                            f"{describe_error(oracle['error'])}")
        else:
            for asset in checks:
                got, want = res["values"].get(asset), oracle["values"].get(asset)
                if got != want:
                    problems.append(f"{label}: {asset} = {json.dumps(got)}, but the plain "
                                    f"function gives {json.dumps(want)}")
    return problems


def run_corpus(base: Path, items: list[Idiom]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {item.id: [] for item in items}
    projects = {item.id: write_project(base, item) for item in items}
    baseline_refused: dict[str, bool] = {}
    for number in range(max(len(item.phases) for item in items)):
        active = [item for item in items if number < len(item.phases)]
        for item in active:
            apply_phase(projects[item.id], item.phases[number])
        work = base / f"_phase{number}"
        work.mkdir()
        run_jobs, oracle_jobs = [], []
        for item in active:
            proj = str(projects[item.id])
            checks = item.checks(item.phases[number])
            run_jobs.append({"proj": proj, "module": "pipe", "pipeline": "pipe",
                             "assets": sorted(checks), "out": str(work / f"{item.id}.run.json"),
                             "stderr": str(work / f"{item.id}.run.txt")})
            if checks:
                oracle_jobs.append({"proj": proj, "module": item.oracle_module, "oracle": checks,
                                    "out": str(work / f"{item.id}.oracle.json"),
                                    "stderr": str(work / f"{item.id}.oracle.txt")})
        drivers = [run_driver("run", run_jobs, work / "run.json", number, max(4, 3 * CPUS))]
        if oracle_jobs:
            drivers.append(run_driver("oracle", oracle_jobs, work / "oracle.json", number,
                                      max(1, CPUS // 2)))
        for proc in drivers:
            out, _ = proc.communicate(timeout=PHASE_TIMEOUT)
            assert proc.returncode == 0, f"the driver failed:\n{out}"
        for item in active:
            res = read_json(work / f"{item.id}.run.json")
            oracle = (read_json(work / f"{item.id}.oracle.json")
                      if item.checks(item.phases[number]) else None)
            stderr_path = work / f"{item.id}.run.txt"
            stderr = stderr_path.read_text() if stderr_path.exists() else ""
            if number == 0:
                baseline_refused[item.id] = refused(res)
            problems[item.id] += judge(item, number, res, oracle, stderr,
                                       baseline_refused[item.id])
    return problems


# --------------------------------------------------------------------------- the corpus


def test_corpus_is_well_formed() -> None:
    assert len(IDIOMS) >= 60
    assert len(BY_ID) == len(IDIOMS), "idiom ids must be unique"
    bad = {item.id: p for item in IDIOMS if (p := validate(item))}
    assert not bad, json.dumps(bad, indent=1)


def _selected(request: pytest.FixtureRequest) -> list[Idiom]:
    names: set[str] = set()
    for test in request.session.items:
        spec = getattr(test, "callspec", None)
        if (spec is not None and getattr(test, "originalname", "") == "test_idiom"
                and getattr(test, "module", None) is request.module):
            names.add(spec.params["name"])
    return [item for item in IDIOMS
            if (not names or item.id in names) and not missing_modules(item)]


@pytest.fixture(scope="module")
def corpus(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    if not hasattr(os, "fork"):
        pytest.skip("the corpus driver forks a fresh process per idiom (POSIX only)")
    items = _selected(request)
    if not items:
        return {}
    return run_corpus(tmp_path_factory.mktemp("never_stale"), items)


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("name", list(BY_ID))
def test_idiom(name: str, corpus: dict[str, list[str]]) -> None:
    item = BY_ID[name]
    missing = missing_modules(item)
    if missing:
        pytest.skip(f"idiom {name} needs {', '.join(missing)}, which is not installed")
    problems = corpus[name]
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------- a notebook


NB_HELPER = "def helper(x):\n    return x * 2\n"
NB_STEP = textwrap.dedent('''
    @fm.step(outputs="y")
    def f(n: int = 4):
        return [helper(i) for i in range(n)]


    pipe = fm.Pipeline("nb", [f])
''').lstrip()
NB_RUN = textwrap.dedent('''
    import json as _json

    _run = pipe.run()
    print("RESULT " + _json.dumps({"status": _run.steps["f"].status,
                                   "reason": _run.steps["f"].reason, "y": _run["y"]}))
''').lstrip()


def _notebook_project(tmp_path: Path) -> Path:
    """A project folder for a notebook (a ``flowyml.toml`` marks its root)."""
    proj = tmp_path / "nbproj"
    proj.mkdir()
    (proj / "flowyml.toml").write_text("")
    return proj


def _notebook(*cells: str) -> Any:
    """A notebook of these code cells."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def _cell_result(cell: Any) -> dict[str, Any]:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return {"error": f"{out.get('ename')}: {out.get('evalue')}"}
        if out.get("output_type") == "stream":
            for line in out.get("text", "").splitlines():
                if line.startswith("RESULT "):
                    return json.loads(line[len("RESULT "):])
    raise AssertionError(f"the run cell printed no result: {cell.get('outputs')}")


def _plain_notebook_value(proj: Path, nb: Any) -> Any:
    """What the plain function gives: the notebook's code cells (without the run cell)
    executed in a fresh interpreter, then ``f`` called directly."""
    code = "\n\n".join(c.source for c in nb.cells[:-1])
    code += "\n\nimport json\nprint(json.dumps(f()))\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=proj, capture_output=True,
                         text=True, timeout=120, env=child_env(0))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(600)
def test_notebook_cells_in_a_real_kernel(tmp_path: Path, kernel_env: str) -> None:
    from nbclient import NotebookClient

    proj = _notebook_project(tmp_path)
    nb = _notebook("import flowyml as fm", NB_HELPER, NB_STEP, NB_RUN)
    problems: list[str] = []

    def expect(what: str, cell: Any, status: str) -> None:
        got = _cell_result(cell)
        if "error" in got:
            problems.append(f"{what}: the run cell raised {got['error']}")
            return
        if got["status"] != status:
            problems.append(f"{what}: f {got['status']}, want {status}; reason {got['reason']!r}")
        want = _plain_notebook_value(proj, nb)
        if got["y"] != want:
            problems.append(f"{what}: y = {got['y']}, the plain function gives {want}")

    def run_cells(client: NotebookClient, indexes: list[int]) -> Any:
        for i in indexes:
            client.execute_cell(nb.cells[i], i)
            errors = [o for o in nb.cells[i].outputs if o.get("output_type") == "error"]
            assert i == len(nb.cells) - 1 or not errors, f"cell {i} raised {errors}"
        return nb.cells[-1]

    client = NotebookClient(nb, timeout=120, kernel_name=kernel_env, allow_errors=True,
                            resources={"metadata": {"path": str(proj)}})
    with client.setup_kernel():
        expect("first run", run_cells(client, [0, 1, 2, 3]), "executed")
        nb.cells[1].source = "def helper(x):\n    # doubles x\n    return x * 2  # twice\n"
        expect("comment-only edit of the helper cell, re-executed in the same kernel",
               run_cells(client, [1, 3]), "cached")
        nb.cells[1].source = "def helper(x):\n    # doubles x\n    return x * 2 + 1  # twice\n"
        expect("helper cell edited, re-executed in the same kernel",
               run_cells(client, [1, 3]), "executed")
    client = NotebookClient(nb, timeout=120, kernel_name=kernel_env, allow_errors=True,
                            resources={"metadata": {"path": str(proj)}})
    with client.setup_kernel():
        expect("kernel restarted, notebook unchanged, run all",
               run_cells(client, [0, 1, 2, 3]), "cached")
        nb.cells[1].source = "def helper(x):\n    # doubles x\n    return x * 3  # thrice\n"
        expect("after the restart, helper cell edited", run_cells(client, [1, 3]), "executed")
    if not (proj / ".flowyml").is_dir():
        problems.append("the store is not in the notebook's project folder (the kernel's cwd)")
    assert not problems, "\n".join(problems)


NB_MOD_STEP = textwrap.dedent('''
    @fm.step(outputs="y")
    def f(n: int = 4):
        return [helpers_mod.helper(i) for i in range(n)]


    pipe = fm.Pipeline("nbmod", [f])
''').lstrip()
NB_MOD_RUN = textwrap.dedent('''
    import json as _json

    _run = pipe.run()
    print("RESULT " + _json.dumps({"status": _run.steps["f"].status, "y": _run["y"],
                                   "plain": f.func(), "reason": _run.steps["f"].reason}))
''').lstrip()


def _run_cell_problems(what: str, got: dict[str, Any], status: str, want: Any) -> list[str]:
    """What is wrong with a run cell's result (``NB_MOD_RUN``): its error, or a status
    or value other than wanted, or a plain function that disagrees."""
    if "error" in got:
        return [f"{what}: the run cell raised {got['error']}"]
    if (got["status"], got["y"], got["plain"]) != (status, want, want):
        return [f"{what}: f {got['status']} (want {status}), y = {got['y']}, the plain "
                f"function gives {got['plain']} (want {want}); reason {got['reason']!r}"]
    return []


@pytest.mark.timeout(600)
def test_a_module_edited_under_a_running_kernel(tmp_path: Path, kernel_env: str) -> None:
    """A notebook that imports the user's own module, which the user edits in an
    editor while the kernel runs. With ``%autoreload 2`` the kernel runs the new text
    (IPython swaps the functions' code): an edit re-executes, a comment does not.
    Without it the kernel keeps running the old code, and the run must give what that
    old code gives, while a restarted kernel runs the new text and must not be handed
    the old code's result. Each value is checked against the step's plain function
    called in the same kernel."""
    from nbclient import NotebookClient

    proj = _notebook_project(tmp_path)
    helpers = proj / "helpers_mod.py"
    helpers.write_text("def helper(x):\n    return x * 2\n")
    problems: list[str] = []

    def notebook(first: str) -> Any:
        return _notebook(first, NB_MOD_STEP, NB_MOD_RUN)

    def run(client: NotebookClient, nb: Any, indexes: list[int], what: str, status: str,
            want: list[int]) -> None:
        for i in indexes:
            client.execute_cell(nb.cells[i], i)
        got = _cell_result(nb.cells[-1])
        said = " ".join(o.get("text", "") for i in indexes for o in nb.cells[i].outputs)
        if "changed after its" in said:  # the text is what runs in every phase here
            problems.append(f"{what}: the text was taken for stale: {said[-300:]}")
        problems.extend(_run_cell_problems(what, got, status, want))

    def edit(old: str, new: str) -> None:
        helpers.write_text(helpers.read_text().replace(old, new))

    def kernel(nb: Any) -> NotebookClient:
        return NotebookClient(nb, timeout=120, kernel_name=kernel_env, allow_errors=True,
                              resources={"metadata": {"path": str(proj)}})

    nb = notebook("%load_ext autoreload\n%autoreload 2\nimport flowyml as fm\nimport helpers_mod")
    client = kernel(nb)
    with client.setup_kernel():
        run(client, nb, [0, 1, 2], "autoreload: first run", "executed", [0, 2, 4, 6])
        edit("x * 2", "x * 2 + 1")
        run(client, nb, [2], "autoreload: helper edited", "executed", [1, 3, 5, 7])
        edit("x * 2 + 1", "x * 2 + 1  # odd")
        run(client, nb, [2], "autoreload: comment added", "cached", [1, 3, 5, 7])
    nb = notebook("import flowyml as fm\nimport helpers_mod")
    client = kernel(nb)
    with client.setup_kernel():
        run(client, nb, [0, 1, 2], "no autoreload: a new kernel", "cached", [1, 3, 5, 7])
        edit("x * 2 + 1", "x * 2 + 3")
        run(client, nb, [2], "no autoreload: helper edited, old code still runs", "cached",
            [1, 3, 5, 7])
    client = kernel(nb)
    with client.setup_kernel():
        run(client, nb, [0, 1, 2], "kernel restarted after the edit", "executed", [3, 5, 7, 9])
    assert not problems, "\n".join(problems)


NB_ROW = "class Row(typing.NamedTuple):\n    a: int\n    b: float\n"
NB_ROW_STEP = textwrap.dedent('''
    def coerce(d):
        hints = typing.get_type_hints(Row)
        return Row(**{k: hints[k](v) for k, v in d.items()})


    @fm.step(outputs="y")
    def f(n: int = 2):
        return repr(coerce({"a": str(n), "b": "2"}))


    pipe = fm.Pipeline("nbrow", [f])
''').lstrip()


@pytest.mark.timeout(600)
def test_a_notebook_class_without_methods_counts_by_its_annotations(
        tmp_path: Path, kernel_env: str) -> None:
    """A ``NamedTuple`` of a cell has no file for ``inspect``, and no method whose code
    says which cell holds it: its field types, which ``get_type_hints`` reads, count by
    value. Edited in its cell, in the same kernel or a new one, the step re-executes."""
    from nbclient import NotebookClient

    proj = _notebook_project(tmp_path)
    nb = _notebook("import typing\nimport flowyml as fm", NB_ROW, NB_ROW_STEP, NB_MOD_RUN)
    problems: list[str] = []

    def run(client: NotebookClient, indexes: list[int], what: str, status: str,
            want: str) -> None:
        for i in indexes:
            client.execute_cell(nb.cells[i], i)
        problems.extend(_run_cell_problems(what, _cell_result(nb.cells[-1]), status, want))

    def kernel() -> NotebookClient:
        return NotebookClient(nb, timeout=120, kernel_name=kernel_env, allow_errors=True,
                              resources={"metadata": {"path": str(proj)}})

    client = kernel()
    with client.setup_kernel():
        run(client, [0, 1, 2, 3], "first run", "executed", "Row(a=2, b=2.0)")
        nb.cells[1].source = NB_ROW.replace("b: float", "b: str")
        run(client, [1, 2, 3], "a field's type edited", "executed", "Row(a=2, b='2')")
        nb.cells[1].source = NB_ROW.replace("b: float", "b: str  # text")
        run(client, [1, 2, 3], "a comment added", "cached", "Row(a=2, b='2')")
    client = kernel()
    with client.setup_kernel():
        nb.cells[1].source = NB_ROW.replace("b: float", "b: complex")
        run(client, [0, 1, 2, 3], "a new kernel, the type edited", "executed",
            "Row(a=2, b=(2+0j))")
    assert not problems, "\n".join(problems)


NB_CHECK_STEP = textwrap.dedent('''
    import os


    @fm.step(outputs="y")
    def f(n: int = 3):
        k = 3 if os.path.exists("override.json") else 2  # checked, never opened
        return [k * i for i in range(n)]


    pipe = fm.Pipeline("nbcheck", [f])
''').lstrip()


@pytest.mark.timeout(600)
def test_a_path_a_notebook_step_checks_counts(tmp_path: Path, kernel_env: str) -> None:
    """A step defined in a cell that checks a path (``os.path.exists``, a ``stat``):
    the cell's code is the user's, so the check counts; the file appearing while the
    kernel runs re-executes the step, and the next run reuses it."""
    from nbclient import NotebookClient

    proj = _notebook_project(tmp_path)
    nb = _notebook("import flowyml as fm", NB_CHECK_STEP, NB_MOD_RUN)
    problems: list[str] = []

    def run(client: NotebookClient, indexes: list[int], what: str, status: str,
            want: list[int]) -> None:
        for i in indexes:
            client.execute_cell(nb.cells[i], i)
        problems.extend(_run_cell_problems(what, _cell_result(nb.cells[2]), status, want))

    client = NotebookClient(nb, timeout=120, kernel_name=kernel_env, allow_errors=True,
                            resources={"metadata": {"path": str(proj)}})
    with client.setup_kernel():
        run(client, [0, 1, 2], "first run", "executed", [0, 2, 4])
        run(client, [2], "run again", "cached", [0, 2, 4])
        (proj / "override.json").write_text("{}")
        run(client, [2], "the file it checked for appears", "executed", [0, 3, 6])
        run(client, [2], "run again with the file there", "cached", [0, 3, 6])
    assert not problems, "\n".join(problems)


NB_EVAL_STEP = textwrap.dedent('''
    @fm.step(outputs="y")
    def f(n: int = 4):
        return eval("[i * SCALE + CONFIG['offset'] for i in range(n)]", globals(), {"n": n})


    pipe = fm.Pipeline("nbeval", [f])
''').lstrip()


@pytest.mark.timeout(600)
def test_an_eval_step_in_a_notebook_counts_the_kernels_state(
        tmp_path: Path, kernel_env: str) -> None:
    """A step whose code the fingerprint cannot follow (``eval``) counts everything in
    the notebook's namespace as it is now: a cell that rebinds or mutates a global
    re-executes the step, while IPython's own history names (``In``, ``Out``, ``_i3``),
    which change with every cell, and the ``Run`` a cell keeps do not."""
    from nbclient import NotebookClient

    proj = _notebook_project(tmp_path)
    nb = _notebook("import flowyml as fm",
                   "SCALE = 2\nCONFIG = {'offset': 0}",
                   NB_EVAL_STEP,
                   NB_MOD_RUN,
                   "CONFIG['offset'] = 1",
                   "SCALE")  # an output: IPython binds _6
    problems: list[str] = []

    def run(client: NotebookClient, indexes: list[int], what: str, status: str,
            want: list[int]) -> None:
        for i in indexes:
            client.execute_cell(nb.cells[i], i)
        got = _cell_result(nb.cells[3])
        problems.extend(_run_cell_problems(what, got, status, want))

    client = NotebookClient(nb, timeout=120, kernel_name=kernel_env, allow_errors=True,
                            resources={"metadata": {"path": str(proj)}})
    with client.setup_kernel():
        run(client, [0, 1, 2, 3], "first run", "executed", [0, 2, 4, 6])
        run(client, [5, 3], "run cell again, after a cell with an output", "cached",
            [0, 2, 4, 6])
        nb.cells[1].source = "SCALE = 3\nCONFIG = {'offset': 0}"
        run(client, [1, 3], "SCALE rebound by its cell", "executed", [0, 3, 6, 9])
        run(client, [4, 3], "CONFIG mutated by another cell", "executed", [1, 4, 7, 10])
        run(client, [3], "nothing changed", "cached", [1, 4, 7, 10])
    assert not problems, "\n".join(problems)


NB_FILE_STEP = textwrap.dedent('''
    @fm.step(outputs="y")
    def f():
        with open("data.csv") as fh:  # a plain path, relative to the notebook's folder
            return [int(x) * 2 for x in fh.read().split()]


    pipe = fm.Pipeline("nbfile", [f])
''').lstrip()


@pytest.mark.timeout(300)
def test_a_notebook_step_that_reads_a_file(tmp_path: Path, kernel_env: str) -> None:
    """A step defined in a cell opens a file by a plain path: editing the file between
    two runs in the same kernel re-executes it; a touch does not."""
    import os

    from nbclient import NotebookClient

    proj = _notebook_project(tmp_path)
    data = proj / "data.csv"
    data.write_text("1 2")
    nb = _notebook("import flowyml as fm", NB_FILE_STEP, NB_MOD_RUN)
    problems: list[str] = []

    def run(client: NotebookClient, what: str, status: str, want: list[int]) -> None:
        client.execute_cell(nb.cells[2], 2)
        problems.extend(_run_cell_problems(what, _cell_result(nb.cells[2]), status, want))

    client = NotebookClient(nb, timeout=120, kernel_name=kernel_env, allow_errors=True,
                            resources={"metadata": {"path": str(proj)}})
    with client.setup_kernel():
        for i in (0, 1):
            client.execute_cell(nb.cells[i], i)
        run(client, "first run", "executed", [2, 4])
        run(client, "nothing changed", "cached", [2, 4])
        os.utime(data, (1, 1))
        run(client, "the file touched", "cached", [2, 4])
        data.write_text("1 2 3")
        run(client, "the file edited", "executed", [2, 4, 6])
        run(client, "nothing changed since", "cached", [2, 4, 6])
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- another cwd


CWD_PIPE = textwrap.dedent('''
    import json

    import flowyml as fm
    from helpers import scale


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [scale(i) for i in range(n)]


    pipe = fm.Pipeline("cwd", [f])

    if __name__ == "__main__":
        run = pipe.run()
        print(json.dumps({"status": run.steps["f"].status, "reason": run.steps["f"].reason,
                          "y": run["y"]}))
''').lstrip()


@pytest.mark.timeout(300)
def test_run_from_another_working_directory(tmp_path: Path) -> None:
    proj, elsewhere = tmp_path / "proj", tmp_path / "elsewhere"
    proj.mkdir()
    elsewhere.mkdir()
    (proj / "flowyml.toml").write_text("")
    (proj / "pipe.py").write_text(CWD_PIPE)
    (proj / "helpers.py").write_text("def scale(x):\n    return x * 2\n")
    problems: list[str] = []

    def run(what: str, phase: int, status: str) -> None:
        out = subprocess.run([sys.executable, str(proj / "pipe.py")], cwd=elsewhere,
                             capture_output=True, text=True, timeout=120, env=child_env(phase))
        if out.returncode != 0:
            problems.append(f"{what}: the script failed: {out.stderr[-800:]}")
            return
        got = json.loads(out.stdout.strip().splitlines()[-1])
        if got["status"] != status:
            problems.append(f"{what}: f {got['status']}, want {status}; reason {got['reason']!r}")
        plain = subprocess.run([sys.executable, "-c", "import json, pipe; print(json.dumps(pipe.f()))"],
                               cwd=proj, capture_output=True, text=True, timeout=120,
                               env=child_env(phase))
        want = json.loads(plain.stdout.strip().splitlines()[-1])
        if got["y"] != want:
            problems.append(f"{what}: y = {got['y']}, the plain function gives {want}")
        if (elsewhere / ".flowyml").exists():
            problems.append(f"{what}: a .flowyml folder appeared in the working directory")

    run("first run from another directory", 0, "executed")
    (proj / "helpers.py").write_text("def scale(x):\n    # doubled\n    return x * 2\n")
    run("comment in the helper", 1, "cached")
    (proj / "helpers.py").write_text("def scale(x):\n    # doubled\n    return x * 2 + 5\n")
    run("helper edited", 2, "executed")
    assert not problems, "\n".join(problems)


def test_docs_name_every_idiom() -> None:
    """docs/cache-idioms.md tells users what is tracked: it must list the whole corpus."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "cache-idioms.md").read_text()
    missing = [item.id for item in IDIOMS if f"`{item.id}`" not in doc]
    assert not missing, f"add these idioms to docs/cache-idioms.md: {missing}"
