"""The code of every version: each fingerprint part's normalized source is kept
(content-addressed) for every code version the catalog has seen, printed by
`flowyml show SPEC --code`, and referenced from lineage.

The fingerprint's ``sources`` never enter its digest (test_never_stale.py pins the
digest itself); these tests pin what is recorded and shown.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import blake3
import pytest

from flowyml.catalog.records import NewOutput, StepRecord, Write
from flowyml.catalog.sql import SqlCatalog
from flowyml.core.fingerprint import Fingerprint, fingerprint_function
from flowyml.core.hashing import hash_bytes
from tests.conftest import flowyml_cli, write
from tests.stack_fixtures import pg_url  # noqa: F401  (a fixture)

HELPERS = '''
SCALE = 3
API_TOKEN = "tok-do-not-store-me-1234"


def double(x):
    """Doubles x."""
    # a comment that is not part of the code
    return 2 * x * SCALE
'''

STEP_MODULE = '''
import functools

from helpers_{n} import API_TOKEN, double


def loud(f):
    @functools.wraps(f)
    def wrapper(*a, **k):
        return f(*a, **k)
    return wrapper


class Scaler:
    """A scaler."""
    factor = 4

    def apply(self, v):
        return v * self.factor


@loud
def step_fn(a: int = 1):
    """The step's docstring."""
    header = API_TOKEN[:0]   # reads a secret-looking constant
    return double(a) + Scaler().apply(a)
'''


def _import(path: Path, name: str) -> Any:
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(path.parent))


def _step_module(tmp_path: Path, n: int, helpers: str = HELPERS) -> Any:
    write(tmp_path / f"helpers_{n}.py", helpers)
    write(tmp_path / f"steps_{n}.py", STEP_MODULE.format(n=n))
    return _import(tmp_path / f"steps_{n}.py", f"steps_{n}")


# ---------------------------------------------------------------- the fingerprint
def test_sources_are_the_normalized_code_of_every_part(tmp_path: Path) -> None:
    mod = _step_module(tmp_path, 1)
    fp = fingerprint_function(mod.step_fn, root=tmp_path)
    src = dict(fp.sources)
    assert src["code"] == (
        "def step_fn(a: int=1):\n    header = API_TOKEN[:0]\n"
        "    return double(a) + Scaler().apply(a)"
    )  # no docstring, no comment, no decorator (decorators are parts of their own)
    assert src["helper helpers_1.py:double"] == "def double(x):\n    return 2 * x * SCALE"
    assert src["constant helpers_1.py:SCALE"] == "SCALE = 3"
    assert src["method steps_1.py:Scaler.apply"] == "def apply(self, v):\n    return v * self.factor"
    assert src["class steps_1.py:Scaler"] == \
        "class Scaler:\n    factor = 4\n\n    def apply(self, v):\n        ..."
    assert src["decorator 0"] == "@loud"
    # a value under a secret-looking name is never kept
    assert src["constant steps_1.py:API_TOKEN"] == "API_TOKEN = ***"
    assert "tok-do-not-store-me" not in json.dumps(src)
    # only parts with a source have one; libraries count by version
    assert set(src) <= set(fp.parts)


def test_sources_never_enter_the_digest(tmp_path: Path) -> None:
    mod = _step_module(tmp_path, 2)
    fp = fingerprint_function(mod.step_fn, root=tmp_path)
    bare = Fingerprint(fp.digest, fp.parts)
    assert bare == fp  # sources do not take part in equality either
    from flowyml.core.parts import make_fingerprint

    assert make_fingerprint(fp.parts).digest == fp.digest
    # a docstring-only edit: same digest, same normalized source
    edited = HELPERS.replace('"""Doubles x."""', '"""Twice x, documented at length."""')
    mod3 = _step_module(tmp_path, 3, edited)
    fp3 = fingerprint_function(mod3.step_fn, root=tmp_path)
    assert fp3.sources["helper helpers_3.py:double"] == fp.sources["helper helpers_2.py:double"]


def test_rendering_never_fails_on_deep_or_generated_code(tmp_path: Path) -> None:
    terms = " + ".join(f"x{i % 7}" for i in range(1000))
    write(tmp_path / "deep.py", f"def deep(x0=0, x1=1, x2=2, x3=3, x4=4, x5=5, x6=6):\n"
                                f"    return {terms}\n")
    mod = _import(tmp_path / "deep.py", "deep_mod")
    fp = fingerprint_function(mod.deep, root=tmp_path)
    text = fp.sources["code"]
    assert isinstance(text, str) and text  # the unparsed code, or a note that it is too deep


def test_rendering_leaves_the_shared_tree_as_it_was_under_concurrent_readers() -> None:
    """A function's tree is shared by every fingerprint that reaches it (a helper of
    many steps) and cut down in place to render it: renders from many threads (runs
    recording at once) all see the whole tree, and leave it whole."""
    import ast
    import threading

    from flowyml.core.code_analysis import render_tree

    tree = ast.parse(textwrap.dedent('''
        @decorate(1)
        def helper(x):
            """Docs."""
            class Inner:
                """More docs."""
                def m(self):
                    """Even more."""
                    return x
            return Inner().m() + 1
    ''')).body[0]
    before = ast.dump(tree, include_attributes=True)
    want = {v: render_tree(tree, *v) for v in ((False, False), (True, False), (True, True))}
    assert "Docs" not in want[(True, False)] and "@decorate(1)" in want[(True, False)]
    assert "@decorate" not in want[(False, False)]
    seen: list[bool] = []

    def render() -> None:
        seen.extend(render_tree(tree, *v) == text for _ in range(100) for v, text in want.items())

    threads = [threading.Thread(target=render) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 1200 and all(seen)
    assert ast.dump(tree, include_attributes=True) == before


def test_sources_are_rendered_only_when_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ast

    _step_module(tmp_path, 4)
    helpers = sys.modules["helpers_4"]
    calls: list[int] = []
    real = ast.unparse

    def counting(node: ast.AST) -> str:
        calls.append(1)
        return real(node)

    monkeypatch.setattr(ast, "unparse", counting)
    fp = fingerprint_function(helpers.double, root=tmp_path)
    assert calls == []  # fingerprinting (every step, every run) renders nothing
    assert fp.sources["code"] == "def double(x):\n    return 2 * x * SCALE"
    n = len(calls)  # 0 when the fingerprint memo already holds this text rendered
    assert n <= 1 and fp.sources["code"] and len(calls) == n  # rendered once, then kept


# ---------------------------------------------------------------- the catalog
def _exec(run: str, version: str, sources: Mapping[str, str], content: str) -> Write:
    rec = StepRecord(run_id=run, pipeline="p", step="train", status="executed",
                     cache_key=f"k-{run}", reason="executed: test", code_version=version,
                     started_at=0.0, fingerprint={k: "d" for k in sources}, sources=sources)
    out = NewOutput("model", hash_bytes(content.encode()), 1, "json", "builtins.dict", {})
    return Write("exec", rec, [out])


def _rows(cat: SqlCatalog) -> tuple[int, int]:
    with cat.db.read() as cur:
        return (cur.one("SELECT COUNT(*) FROM code_sources")[0],
                cur.one("SELECT COUNT(*) FROM code_versions")[0])


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_catalog_keeps_each_text_once(kind: str, tmp_path: Path,
                                      request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}" if kind == "sqlite" else request.getfixturevalue("pg_url")
    cat = SqlCatalog(url)
    try:
        code = {"code": "def train(x):\n    return g(x)", "helper a.py:g": "def g(x):\n    return x"}
        cat.record_batch([_exec("r1", "v1", code, "a")])
        assert _rows(cat) == (2, 1)
        # the same code again, in the same batch and in later ones: no new row, and a
        # version already recorded is not even rendered
        from flowyml.core.parts import LazySources

        rendered: list[str] = []

        def renderer(text: str) -> Callable[[], str]:
            def render() -> str:
                rendered.append(text)
                return text

            return render

        lazy = LazySources({k: {"d": renderer(t)} for k, t in code.items()})
        cat.record_batch([_exec("r2", "v1", code, "b"), _exec("r3", "v1", lazy, "c")])
        assert _rows(cat) == (2, 1) and rendered == []
        # a new code version sharing one text: one new text, one new version
        changed = {**code, "helper a.py:g": "def g(x):\n    return 2 * x"}
        cat.record_batch([_exec("r4", "v2", changed, "d")])
        assert _rows(cat) == (3, 2)
        got = cat.code_versions(["v1", "v2", "never"])
        assert got["v1"].sources == code and got["v2"].sources == changed
        assert got["v1"].digests["code"] == got["v2"].digests["code"]
        assert got["v1"].digests["code"] == blake3.blake3(code["code"].encode()).hexdigest()
        assert not got["never"].recorded and got["never"].sources == {}
        refs = cat.code_versions(["v2"], text=False)["v2"]
        assert refs.digests == got["v2"].digests and refs.sources == {}
        # a step that did not execute (reused) writes no code; one that executed
        # without sources, its version with no code (``known_code_versions``)
        reuse = _exec("r5", "v3", {"code": "def t(): pass"}, "a")
        reuse.kind = "reuse"
        cat.record_batch([reuse, _exec("r6", "v4", {}, "e")])
        assert _rows(cat) == (3, 3)
        assert not cat.code_versions(["v4"])["v4"].recorded
        # one batch, one version with and without sources: the code is kept
        cat.record_batch([_exec("r7", "v6", code, "f"), _exec("r8", "v6", {}, "g")])
        assert cat.code_versions(["v6"])["v6"].sources == code and _rows(cat) == (3, 4)
        # writers racing to store the same new code: each text and version lands once
        import threading

        new = {"code": "def train(x):\n    return x + 1", "helper a.py:h": "def h(): pass"}
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def writer(i: int) -> None:
            other = SqlCatalog(url)
            try:
                barrier.wait()
                other.record_batch([_exec(f"race{i}", "v5", new, f"race{i}")])
            except BaseException as exc:
                errors.append(exc)
            finally:
                other.close()

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and _rows(cat) == (5, 5)
        assert cat.code_versions(["v5"])["v5"].sources == new
    finally:
        cat.close()


# ---------------------------------------------------------------- end to end
PIPE = '''
import flowyml as fm
from helpers import double, SCALE


def _offset(v):
    return v + 1


@fm.step(outputs="raw")
def load(n: int = 5) -> list:
    """Load some numbers."""
    return list(range(n))


@fm.step(outputs="model")
def train(raw: list, lr: float = 0.1) -> dict:
    # a comment
    return {"w": _offset(sum(double(v) for v in raw)) * lr}


pipeline = fm.Pipeline("codev", [load, train])
'''


def ok(root: Path, *args: str) -> str:
    res = flowyml_cli(root, *args)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def _counts(root: Path) -> tuple[int, int]:
    with sqlite3.connect(root / ".flowyml" / "catalog.db") as db:
        return (db.execute("SELECT COUNT(*) FROM code_sources").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM code_versions").fetchone()[0])


@pytest.fixture
def codev(project: Path) -> Path:
    write(project / "helpers.py", HELPERS)
    write(project / "pipe.py", PIPE)
    return project


def test_code_is_stored_once_per_text_and_per_code_version(codev: Path) -> None:
    ok(codev, "run", "-q", "pipe.py")
    texts, versions = _counts(codev)
    assert versions == 2  # load and train
    ok(codev, "run", "-q", "pipe.py", "-p", "lr=0.2")  # train executes again, same code
    ok(codev, "run", "-q", "pipe.py", "--force")  # every step executes again, same code
    assert _counts(codev) == (texts, versions)  # unchanged code costs nothing
    # one helper changes: one new text (the helper), one new code version (train's)
    (codev / "helpers.py").write_text(HELPERS.replace("2 * x", "3 * x"))
    ok(codev, "run", "-q", "pipe.py")
    assert _counts(codev) == (texts + 1, versions + 1)
    with sqlite3.connect(codev / ".flowyml" / "catalog.db") as db:
        for digest, text in db.execute("SELECT digest, text FROM code_sources"):
            assert blake3.blake3(text.encode()).hexdigest() == digest  # content-addressed
            assert "tok-do-not-store-me" not in text


def test_show_code_prints_the_step_and_each_helper_under_a_heading(codev: Path) -> None:
    ok(codev, "run", "-q", "pipe.py")
    out = ok(codev, "show", "model", "--code")
    head, *blocks = out.strip().split("\n\n=== ")
    assert head.startswith("model@1 was made by step train, code version ")
    titles = [b.split(" ===\n", 1)[0] for b in blocks]
    assert titles[0] == "step train"
    assert "helper _offset (pipe.py)" in titles and "helper double (helpers.py)" in titles
    assert "constant SCALE (helpers.py)" in titles
    body = dict(b.split(" ===\n", 1) for b in blocks)
    assert body["step train"].startswith("@step(name='train', outputs=['model']")
    assert "def train(raw: list, lr: float=0.1) -> dict:" in body["step train"]
    assert "# a comment" not in out and "Load some numbers" not in out
    assert body["helper double (helpers.py)"].strip() == "def double(x):\n    return 2 * x * SCALE"
    assert body["constant SCALE (helpers.py)"].strip() == "SCALE = 3"
    # the same through an id and a version, and after the code changed
    (codev / "helpers.py").write_text(HELPERS.replace("2 * x", "3 * x"))
    ok(codev, "run", "-q", "pipe.py")
    assert "return 3 * x * SCALE" in ok(codev, "show", "model@2", "--code")
    assert "return 2 * x * SCALE" in ok(codev, "show", "model@1", "--code")


def test_a_constant_read_through_a_module_attribute_is_headed_with_its_file(
    project: Path,
) -> None:
    """``util.LIMIT`` is read in pipe.py but defined in lib/util.py: the heading names
    lib/util.py; ``FACTOR`` (``from lib.util import FACTOR``) is a name of pipe.py."""
    write(project / "lib" / "__init__.py", "")
    write(project / "lib" / "util.py", 'API_TOKEN = "tok-do-not-store-me-5678"\nLIMIT = 7\n'
                                       "FACTOR = 2\n")
    write(project / "pipe.py", """
        import flowyml as fm
        from lib import util
        from lib.util import FACTOR

        @fm.step(outputs="x")
        def make():
            return [len(util.API_TOKEN), FACTOR, util.LIMIT]

        pipe = fm.Pipeline("attrs", [make])
    """)
    ok(project, "run", "-q", "pipe.py")
    out = ok(project, "show", "x", "--code")
    titles = [b.split(" ===\n", 1)[0] for b in out.strip().split("\n\n=== ")[1:]]
    assert titles[:4] == ["step make", "constant FACTOR (pipe.py)",
                          "constant util.API_TOKEN (lib/util.py)",
                          "constant util.LIMIT (lib/util.py)"], titles
    assert "util.API_TOKEN = ***" in out and "tok-do-not-store-me" not in out
    tree = json.loads(ok(project, "lineage", "x", "--format", "json"))
    assert not [p for p in tree["code"]["parts"] if p.startswith("@")]  # not a part


def test_code_executed_before_recording_says_so(codev: Path) -> None:
    ok(codev, "run", "-q", "pipe.py")
    with sqlite3.connect(codev / ".flowyml" / "catalog.db") as db:  # as an older FlowyML left it
        db.execute("DELETE FROM code_versions")
    out = ok(codev, "show", "model", "--code")
    assert "its code was not recorded" in out and "--force" in out
    ok(codev, "run", "-q", "pipe.py", "--force")  # executing the same code records it
    assert "=== step train ===" in ok(codev, "show", "model", "--code")


def test_lineage_nodes_carry_their_code(codev: Path) -> None:
    from flowyml.lineage import get_lineage
    from flowyml.stack import Stack

    ok(codev, "run", "-q", "pipe.py")
    st = Stack(name="default", root=str(codev), store=str(codev / ".flowyml"),
               catalog="sqlite:///" + str(codev / ".flowyml" / "catalog.db")).resolve()
    import flowyml as fm

    model = fm.Catalog(st).get("model")
    node = get_lineage(model.id, stack=st)
    assert node.code.version == node.code_version
    assert "def train(" in node.code.sources["code"]
    assert "def load(" in node.parents[0].code.sources["code"]
    tree = json.loads(ok(codev, "lineage", "model", "--format", "json"))
    code = tree["code"]
    assert code["version"] == tree["code_version"]
    assert code["parts"]["code"] == blake3.blake3(node.code.sources["code"].encode()).hexdigest()
    assert "helper helpers.py:double" in code["parts"]
    assert tree["parents"][0]["code"]["version"] == tree["parents"][0]["code_version"]
