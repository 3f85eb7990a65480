"""The cache key across separate processes: a user edits files and runs again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_py, write

PIPE = '''
import flowyml as fm
from helpers import scale

THRESHOLD = 3

def _normalize(xs):
    return [x - min(xs) for x in xs]

@fm.step(outputs="raw_data")
def load(n_rows: int = 6):
    return list(range(10, 10 + n_rows))

@fm.step(outputs="clean_data")
def clean(raw_data):
    # keep the big ones
    return [x for x in _normalize(raw_data) if x >= THRESHOLD]

@fm.step(outputs="features")
def featurize(clean_data, factor=2):
    return scale(clean_data, factor)

@fm.step(outputs=("model", "metrics"))
def train(features, lr: float = 0.1):
    return {"w": sum(features) * lr}, {"n": len(features)}

pipe = fm.Pipeline("cachetest", [train, featurize, clean, load])
'''

HELPERS = '''
def scale(xs, k):
    return [x * k for x in xs]
'''

RUN = '''
import json, sys
from pipe import pipe
params = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
run = pipe.run(params=params)
print(json.dumps({
    "steps": {n: [s.status, s.reason] for n, s in run.steps.items()},
    "model": run["model"],
    "io": run.io,
}))
'''


@pytest.fixture
def proj(project: Path) -> Path:
    write(project / "pipe.py", PIPE)
    write(project / "helpers.py", HELPERS)
    return project


def run(proj: Path, params: dict | None = None) -> dict:
    code = RUN.replace("sys.argv[1]) if len(sys.argv) > 1 else {}", repr(json.dumps(params or {})) + ")")
    return json.loads(run_py(proj, code).strip().splitlines()[-1])


def executed(result: dict) -> set[str]:
    return {n for n, (status, _) in result["steps"].items() if status == "executed"}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_unchanged_rerun_executes_nothing_and_reads_nothing(proj: Path) -> None:
    first = run(proj)
    assert executed(first) == {"load", "clean", "featurize", "train"}
    again = run(proj)
    assert executed(again) == set()
    assert again["model"] == first["model"]
    # the decisions came from hashes in the catalog: the run itself read no object
    # (``run.io`` is taken when the run ends, before the script loads the model)
    assert again["io"]["store_objects_read"] == 0 and again["io"]["store_bytes_read"] == 0


def test_comment_docstring_and_formatting_changes_are_hits(proj: Path) -> None:
    run(proj)
    edit(proj / "pipe.py", "# keep the big ones", "# keep only the large values, see ticket 12")
    edit(proj / "pipe.py", "def clean(raw_data):\n", 'def clean(raw_data):\n    """Drop small values."""\n\n')
    edit(proj / "pipe.py", "return {\"w\": sum(features) * lr}, {\"n\": len(features)}",
         "return (\n        {'w': sum(features)*lr},\n        {'n': len(features)},\n    )")
    edit(proj / "helpers.py", "def scale(xs, k):", "def scale(xs, k):  # multiply\n    \"\"\"Scale.\"\"\"")
    assert executed(run(proj)) == set()


def test_real_change_reexecutes_step_and_changed_downstream(proj: Path) -> None:
    first = run(proj)
    edit(proj / "pipe.py", "if x >= THRESHOLD]", "if x >= THRESHOLD + 1]")
    second = run(proj)
    assert executed(second) == {"clean", "featurize", "train"}
    assert second["steps"]["clean"][1] == "executed: code changed"
    assert "input features changed" in second["steps"]["train"][1]
    assert second["model"] != first["model"]


def test_early_cutoff_when_output_bytes_are_identical(proj: Path) -> None:
    run(proj)
    # a refactor that changes code but not the result
    edit(proj / "pipe.py", "return [x for x in _normalize(raw_data) if x >= THRESHOLD]",
         "kept = [x for x in _normalize(raw_data) if not x < THRESHOLD]\n    return kept")
    result = run(proj)
    assert executed(result) == {"clean"}
    assert result["steps"]["featurize"][0] == "cached"


def test_helper_change_in_same_module(proj: Path) -> None:
    run(proj)
    edit(proj / "pipe.py", "return [x - min(xs) for x in xs]", "return [x - min(xs) + 1 for x in xs]")
    result = run(proj)
    assert "clean" in executed(result)
    assert "code of helper _normalize changed" in result["steps"]["clean"][1]


def test_helper_change_in_another_module(proj: Path) -> None:
    first = run(proj)
    edit(proj / "helpers.py", "return [x * k for x in xs]", "return [x * k * 10 for x in xs]")
    result = run(proj)
    assert executed(result) == {"featurize", "train"}
    assert "code of helper scale changed" in result["steps"]["featurize"][1]
    assert result["model"]["w"] == pytest.approx(first["model"]["w"] * 10)


def test_module_constant_change(proj: Path) -> None:
    run(proj)
    edit(proj / "pipe.py", "THRESHOLD = 3", "THRESHOLD = 4")
    result = run(proj)
    assert "clean" in executed(result)
    assert "constant THRESHOLD changed" in result["steps"]["clean"][1]


def test_default_argument_change(proj: Path) -> None:
    run(proj)
    edit(proj / "pipe.py", "def featurize(clean_data, factor=2):", "def featurize(clean_data, factor=3):")
    result = run(proj)
    assert executed(result) == {"featurize", "train"}
    assert "parameter factor 2 -> 3" in result["steps"]["featurize"][1]


def test_parameter_change_reexecutes_only_its_users(proj: Path) -> None:
    run(proj, {"lr": 0.1})
    result = run(proj, {"lr": 0.2})
    assert executed(result) == {"train"}
    assert result["steps"]["train"][1] == "executed: parameter lr 0.1 -> 0.2"
    # going back hits the older cache entry
    assert executed(run(proj, {"lr": 0.1})) == set()


def test_input_change_propagates(proj: Path) -> None:
    run(proj)
    result = run(proj, {"n_rows": 8})
    assert executed(result) == {"load", "clean", "featurize", "train"}
    assert "parameter n_rows 6 -> 8" in result["steps"]["load"][1]
    assert "input raw_data changed" in result["steps"]["clean"][1]


def test_swapping_two_inputs_is_a_different_key(project: Path) -> None:
    write(project / "swap.py", '''
        import flowyml as fm

        @fm.step(outputs=("a", "b"))
        def src(flip: bool = False):
            return (1, 2) if not flip else (2, 1)

        @fm.step(outputs="diff")
        def sub(a, b):
            return a - b

        pipe = fm.Pipeline("swap", [src, sub])
    ''')
    code = '''
        import sys
        from swap import pipe
        r = pipe.run(params={"flip": %s})
        print(r["diff"], r.steps["sub"].status)
    '''
    assert run_py(project, code % "False").split() == ["-1", "executed"]
    assert run_py(project, code % "True").split() == ["1", "executed"]


def test_force_reexecutes(proj: Path) -> None:
    run(proj)
    out = run_py(proj, "from pipe import pipe\nr = pipe.run(force=['clean'])\n"
                 "print(sorted(r.executed), r.steps['clean'].reason)")
    assert out.strip() == "['clean'] executed: forced"
    out = run_py(proj, "from pipe import pipe\nr = pipe.run(force=True)\nprint(len(r.executed))")
    assert out.strip() == "4"


def test_cache_false_always_executes(project: Path) -> None:
    write(project / "nc.py", '''
        import flowyml as fm

        @fm.step(outputs="now", cache=False)
        def stamp():
            return 1

        pipe = fm.Pipeline("nc", [stamp])
    ''')
    code = "from nc import pipe\nr = pipe.run()\nprint(r.steps['stamp'].status, r.steps['stamp'].reason)"
    run_py(project, code)
    assert run_py(project, code).strip() == "executed executed: caching is off for this step (cache=False)"


def test_third_party_code_counts_by_version_not_source(project: Path) -> None:
    from flowyml.core.fingerprint import fingerprint_function

    def uses_json(x: dict) -> str:
        import json as j

        return j.dumps(x)

    import textwrap as tw

    def uses_textwrap(s: str) -> str:
        return tw.dedent(s)

    fp = fingerprint_function(uses_textwrap, root=project)
    assert "library python" in fp.parts
    assert not any(k.startswith("helper") for k in fp.parts)
    # an import inside the body is followed too: the standard library counts by version
    assert fingerprint_function(uses_json, root=project).parts.keys() == {"code", "library python"}


def test_methods_of_a_user_class_instance_count(project: Path) -> None:
    write(project / "model_cfg.py", '''
        class Scaler:
            def __init__(self, k):
                self.k = k

            def apply(self, xs):
                return [x * self.k for x in xs]
    ''')
    write(project / "inst.py", '''
        import flowyml as fm
        from model_cfg import Scaler

        SCALER = Scaler(2)

        @fm.step(outputs="out")
        def use():
            return SCALER.apply([1, 2])

        pipe = fm.Pipeline("inst", [use])
    ''')
    code = "from inst import pipe\nr = pipe.run()\nprint(r['out'], r.steps['use'].status, r.steps['use'].reason)"
    assert run_py(project, code).startswith("[2, 4] executed")
    edit(project / "model_cfg.py", "return [x * self.k for x in xs]", "return [x * self.k + 1 for x in xs]")
    out = run_py(project, code)
    assert out.startswith("[3, 5] executed") and "code of method Scaler.apply changed" in out


def test_a_stale_bytecode_cache_never_keys_a_result_by_the_new_text(tmp_path: Path) -> None:
    """CPython trusts a ``.pyc`` whose header has the source's mtime in whole seconds and
    its size: an edit of the same size within that second runs the old bytecode. The
    result of that run must not be cached under the new text's key, or the next process
    (which compiles the new text) would be handed it. Fresh processes, bytecode writing
    on, each value checked against the plain function called in the same process."""
    import importlib.util
    import os
    import subprocess
    import sys

    from tests.conftest import child_env

    proj = tmp_path / "proj"
    write(proj / "flowyml.toml", "")
    mod = write(proj / "stepsmod.py", """
        import flowyml as fm

        @fm.step(outputs="v")
        def value():
            return 1
        """)
    env = child_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    code = (
        "import sys, warnings; sys.path.insert(0, '.')\n"
        "import flowyml as fm, stepsmod\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    run = fm.Pipeline('p', [stepsmod.value]).run()\n"
        "stale = any('changed after its module' in str(x.message) for x in w)\n"
        "print(run['v'], stepsmod.value.func(), run.steps['value'].status, stale)\n"
    )

    def run() -> list[str]:
        out = subprocess.run([sys.executable, "-c", code], cwd=proj, env=env,
                             capture_output=True, text=True, check=True)
        return out.stdout.split()

    t = (int(os.stat(mod).st_mtime) - 10) * 10**9 + 100  # a whole second, well past
    os.utime(mod, ns=(t, t))
    assert run() == ["1", "1", "executed", "False"]  # writes the .pyc (header: t's second)
    pyc = importlib.util.cache_from_source(str(mod))
    os.utime(pyc, ns=(t + 1000, t + 1000))
    mod.write_text(mod.read_text().replace("return 1", "return 2"))  # same size
    os.utime(mod, ns=(t + 2000, t + 2000))  # same second: the old .pyc is trusted
    assert run() == ["1", "1", "executed", "True"]  # the old code runs, and is fingerprinted
    os.utime(mod, ns=(t + 5 * 10**9, t + 5 * 10**9))  # another second: recompiled
    assert run() == ["2", "2", "executed", "False"]  # not the stale run's result
    assert run() == ["2", "2", "cached", "False"]


# The driver of the tests below: it imports ``stepsmod``, runs (unless argv[2] says not
# to), then applies the edits of argv[1] to the file one by one, each followed (or not)
# by a reload, and runs again after each, all in ONE process. Every line it prints is the
# run's value, the plain function's value in that same process, the step's status, and
# whether a warning said the file changed after its module was loaded.
SAME_PROCESS = '''
import importlib, json, sys, warnings
sys.path.insert(0, ".")
import flowyml as fm
import stepsmod

def run():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = fm.Pipeline("p", [stepsmod.value]).run()
    stale = any("changed after its module" in str(x.message) for x in w)
    print(json.dumps([r["v"], stepsmod.value.func(), r.steps["value"].status, stale]))

if sys.argv[2] == "run-first":
    run()
for old, new, reload in json.loads(sys.argv[1]):
    with open("stepsmod.py") as f:
        text = f.read()
    with open("stepsmod.py", "w") as f:
        f.write(text.replace(old, new))
    if reload:
        importlib.reload(stepsmod)
    run()
'''

STEPS_MOD = """
    import flowyml as fm

    def helper():
        return 1

    @fm.step(outputs="v")
    def value():
        return helper()
    """


def _same_process(proj: Path, edits: list[tuple[str, str, bool]], bytecode: bool,
                  run_first: bool = True) -> list[list]:
    import subprocess
    import sys

    from tests.conftest import child_env

    env = child_env()
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    out = subprocess.run([sys.executable, "-c", SAME_PROCESS, json.dumps(edits),
                          "run-first" if run_first else "edit-first"], cwd=proj,
                         env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.mark.parametrize("bytecode", [False, True], ids=["no-pyc", "pyc"])
def test_a_reloaded_module_is_fingerprinted_by_its_new_text(tmp_path: Path, bytecode: bool) -> None:
    """``importlib.reload`` (what IPython's autoreload does) runs the file's new text;
    the fingerprint must read that text, not the lines Python's ``linecache`` kept from
    before the edit: a reloaded edit re-executes, a reloaded comment edit does not."""
    proj = tmp_path / "proj"
    write(proj / "flowyml.toml", "")
    write(proj / "stepsmod.py", STEPS_MOD)
    # every edit changes the file's size: a same-size edit within the same second would
    # reload the old .pyc, which CPython trusts (that case is the test below)
    edits = [("return 1", "return 20", True),  # the helper, reloaded
             ("return helper()", "return helper() + 10", True),  # the step itself
             ("return 20", "return 20  # twenty", True),  # a comment: not a code change
             ("return helper() + 10", "return helper() + 200", True)]
    assert _same_process(proj, edits, bytecode) == [
        [1, 1, "executed", False],
        [20, 20, "executed", False],
        [30, 30, "executed", False],
        [30, 30, "cached", False],
        [220, 220, "executed", False],
    ]


@pytest.mark.parametrize("bytecode", [False, True], ids=["no-pyc", "pyc"])
def test_an_edit_without_a_reload_never_keys_the_old_code_by_the_new_text(
    tmp_path: Path, bytecode: bool
) -> None:
    """A file edited under a running process that does not reload it: the old code
    still runs. Its functions were fingerprinted before the edits, from the text that
    made them, and those facts stand (no warning); the next process runs the new text
    and must not be handed the old code's result."""
    proj = tmp_path / "proj"
    write(proj / "flowyml.toml", "")
    write(proj / "stepsmod.py", STEPS_MOD)
    lines = _same_process(proj, [("return 1", "return 2", False),
                                 ("return helper()", "return helper() + 10", False)], bytecode)
    assert [line[:3] for line in lines] == [[1, 1, "executed"], [1, 1, "cached"],
                                           [1, 1, "cached"]]
    fresh = _same_process(proj, [], bytecode)  # a new process runs the edited file
    assert fresh == [[12, 12, "executed", False]]


def test_a_function_first_fingerprinted_after_an_edit_is_keyed_by_its_bytecode(
    tmp_path: Path,
) -> None:
    """The same, when the process had not fingerprinted the function before the edit
    (imported, file edited, then the first run): a warning, the old code's result under
    a bytecode key, and a new process runs the new text."""
    proj = tmp_path / "proj"
    write(proj / "flowyml.toml", "")
    write(proj / "stepsmod.py", STEPS_MOD)
    edit = [("return helper()", "return helper() + 10", False)]
    assert _same_process(proj, edit, False, run_first=False) == [[1, 1, "executed", True]]
    assert _same_process(proj, [], False) == [[11, 11, "executed", False]]
    assert _same_process(proj, [], False) == [[11, 11, "cached", False]]


def test_a_file_saved_broken_under_a_running_process_is_said_so(tmp_path: Path) -> None:
    """An edit saved mid-way (the file no longer compiles) under a running process: the
    old code runs and counts by its bytecode, and the warning says the file does not
    compile, not only that it changed."""
    import subprocess
    import sys

    from tests.conftest import child_env

    proj = tmp_path / "proj"
    write(proj / "flowyml.toml", "")
    write(proj / "stepsmod.py", STEPS_MOD)
    code = (
        "import sys, warnings; sys.path.insert(0, '.')\n"
        "import flowyml as fm, stepsmod\n"
        "text = open('stepsmod.py').read()\n"
        "open('stepsmod.py', 'w').write(text.replace('return helper()',\n"
        "    'return helper() + 10\\n\\ndef half_typed(:\\n    pass'))\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    run = fm.Pipeline('p', [stepsmod.value]).run()\n"
        "said = [str(x.message) for x in w if 'changed after its module' in str(x.message)]\n"
        "print(run['v'], stepsmod.value.func(), run.steps['value'].status, said)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=proj, env=child_env(),
                         capture_output=True, text=True, check=True)
    v, plain, status, said = out.stdout.split(" ", 3)
    assert (v, plain, status) == ("1", "1", "executed")
    assert "does not even compile" in said, said


COUNTED = '''
import json
from flowyml.catalog.runtime_sql import RuntimeSqlCatalog
calls = {"lookups": 0, "versions": 0}
real_lookup, real_known = RuntimeSqlCatalog.lookup_cache_many, RuntimeSqlCatalog.known_code_versions
def lookup(self, keys):
    calls["lookups"] += len(keys)
    return real_lookup(self, keys)
def known(self, versions):
    calls["versions"] += 1
    return real_known(self, versions)
RuntimeSqlCatalog.lookup_cache_many, RuntimeSqlCatalog.known_code_versions = lookup, known
from pipe import pipe
run = pipe.run()
print(json.dumps({"steps": {n: s.status for n, s in run.steps.items()}, "last": run["d"],
                  **calls}))
'''


def test_new_code_is_not_looked_up_key_by_key_and_old_code_still_hits(project: Path) -> None:
    """A key made by code that never executed cannot be in the cache: a run asks once
    which of its steps' code versions executed before, instead of one lookup per step
    of a chain; code that did execute (a revert, an input that changed) is looked up,
    and still hits."""
    write(project / "pipe.py", '''
        import flowyml as fm

        @fm.step(outputs="a")
        def s_a():
            return 1

        @fm.step(outputs="b")
        def s_b(a):
            return a + 1

        @fm.step(outputs="c")
        def s_c(b):
            return b + 1

        @fm.step(outputs="d")
        def s_d(c):
            return c + 1

        pipe = fm.Pipeline("lookups", [s_a, s_b, s_c, s_d])
    ''')

    def go() -> dict:
        return json.loads(run_py(project, COUNTED).strip().splitlines()[-1])

    first = go()
    assert first["last"] == 4 and set(first["steps"].values()) == {"executed"}
    assert (first["lookups"], first["versions"]) == (0, 1)  # all new code: no lookup
    again = go()
    assert set(again["steps"].values()) == {"cached"}
    assert (again["lookups"], again["versions"]) == (0, 0)  # the expected hits, read at once
    edit(project / "pipe.py", "return b + 1", "return b + 100")  # s_c's code: new
    changed = go()
    assert changed["last"] == 103
    assert changed["steps"] == {"s_a": "cached", "s_b": "cached", "s_c": "executed",
                                "s_d": "executed"}
    assert (changed["lookups"], changed["versions"]) == (1, 1)  # s_d's known code only
    edit(project / "pipe.py", "return b + 100", "return b + 1")  # back: executed before
    back = go()
    assert back["last"] == 4 and set(back["steps"].values()) == {"cached"}
    assert back["lookups"] == 2  # s_c and s_d: not their last keys, but in the cache


def test_a_step_reading_the_catalog_in_its_code_is_never_reused(project: Path) -> None:
    """``fm.Catalog().get("m").load()`` in a step finds what ran last, anywhere: another
    pipeline's new ``m`` reused the old result. Such a step re-executes every run, with
    a warning naming the way to declare it (``inputs={"m": "m@latest"}``), which
    counts the artifact's content and is reused."""
    write(project / "pipe.py", '''
        import os

        import flowyml as fm

        K = int(os.environ.get("K", "2"))


        @fm.step(outputs="m")
        def make(n: int = 4):
            return n * K


        @fm.step(outputs="y")
        def reads(n: int = 1):
            return fm.Catalog().get("m").load() + n


        @fm.step(outputs="z", inputs={"m": "m@latest"})
        def declared(m, n: int = 1):
            return m + n


        producer = fm.Pipeline("producer", [make])
        consumer = fm.Pipeline("consumer", [reads, declared])
    ''')
    code = '''
        import warnings
        import pipe
        pipe.producer.run()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = pipe.consumer.run()
        said = [str(w.message) for w in caught if "reads the catalog" in str(w.message)]
        print(run["y"], run["z"], run.steps["reads"].status, run.steps["declared"].status,
              len(said), '"model@latest"' in " ".join(said))
    '''
    assert run_py(project, code).split() == ["9", "9", "executed", "executed", "1", "True"]
    assert run_py(project, code).split() == ["9", "9", "executed", "cached", "1", "True"]
    assert run_py(project, code, env={"K": "3"}).split() == [
        "13", "13", "executed", "executed", "1", "True"]
