"""Unit tests of the fingerprint's parts, value tokens and explanations (in-process).

The mutation corpus (test_never_stale.py) checks the same rules end to end, in fresh
processes; these tests pin the pieces and the wording of reasons.
"""

from __future__ import annotations

import ast
import enum
import functools
import inspect
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flowyml.core import code_analysis, rng
from flowyml.core.fingerprint import (
    FingerprintWarning,
    explain_parts,
    fingerprint_function,
    value_token,
)
from flowyml.core.hashing import hash_text
from flowyml.core.tokens import Opaque, Tokenizer

ROOT = Path(__file__).resolve().parent


def test_dicts_and_sets_are_canonical() -> None:
    assert value_token({"a": 1, "b": 2}) != value_token({"b": 2, "a": 1})  # list(d) differs
    assert value_token({"a": 1, "b": 2}) == value_token(dict([("a", 1), ("b", 2)]))
    assert value_token({"x", "y", "z"}) == value_token({"z", "x", "y"})
    assert value_token({"a": 1}) != value_token({"a": 2})
    assert value_token([1, 2]) != value_token((1, 2))
    assert value_token({1, 2}) != value_token(frozenset({1, 2}))


def test_the_fast_path_for_plain_values_gives_the_general_walks_digest() -> None:
    """Declarations and most parameters take a shortcut; keys must not depend on it."""
    import blake3

    def general(value: object, ordered: bool = False) -> str:
        h = blake3.blake3()
        Tokenizer(ordered=ordered)._walk(value, h, 0, {})
        return h.hexdigest()

    cyclic: list[object] = [1]
    cyclic.append(cyclic)
    deep: list[object] = []
    cur = deep
    for _ in range(40):
        cur.append([])
        cur = cur[0]  # type: ignore[assignment]
    values = [
        {"name": "s5", "outputs": ["a5"], "inputs": {}, "map_over": None}, 1, True, None,
        -0.0, 0.0, 1.5, "x", "\ud800", b"b", 2j, (1, "a"), [1, [2, [3]]], {}, [], (),
        {"a": {"b": [1, 2.0, None, True]}, 3: (b"x", 1j), True: 1, 2.5: 2},
        list(range(200)), {f"k{i}": i for i in range(100)}, cyclic, deep,
        {"e": [], "t": (), "d": {}, "n": None, "long": "x" * 70, "i": 7, "b": False},
    ]
    for value in values:
        assert Tokenizer().digest(value) == general(value), value
        assert Tokenizer().digest(value) == Tokenizer().digest(value)  # memo of items
        assert Tokenizer(ordered=True).digest(value) == general(value, ordered=True), value


def test_a_dicts_order_counts_in_the_tokens_keys_are_made_with() -> None:
    """``list(FEATURES)`` follows the dict's order: reordering its entries is an edit."""

    class Holder:  # a dict in an object's state, walked the general way
        def __init__(self, d: dict[str, object]) -> None:
            self.d = d

    ab, ba = {"a": 1, "b": [2]}, {"b": [2], "a": 1}
    ordered, unordered = Tokenizer(ordered=True), Tokenizer()
    for wrap in (lambda d: d, lambda d: {"outer": d}, lambda d: [d, 1], Holder):
        assert ordered.digest(wrap(ab)) != ordered.digest(wrap(ba))
        assert ordered.digest(wrap(ab)) == ordered.digest(wrap(dict(ab)))
        assert unordered.digest(wrap(ab)) == unordered.digest(wrap(ba))  # the declaration's
    three = [("x", 1), ("y", 2), ("z", 3)]
    tokens = {ordered.digest(dict(p)) for p in itertools.permutations(three)}
    assert len(tokens) == 6  # every order its own token, the sorted one included
    assert unordered.digest({}) == ordered.digest({}) and unordered.digest({"k": 1}) == ordered.digest({"k": 1})


def test_tokens_of_what_a_value_is_bound_to_and_how_it_is_laid_out() -> None:
    """A built-in method bound to data counts by that data (``"{:.2f}".format``, a
    dict's ``get``); an array in Fortran order is another value for code that iterates
    it in memory order (``np.nditer``), the same array in C order the same token."""
    import re

    import numpy as np

    t = Tokenizer()
    assert t.digest({"f": "{:.2f}".format}) != t.digest({"f": "{:.3f}".format})
    assert t.digest([{"a": 1}.get]) != t.digest([{"a": 2}.get])
    assert t.digest(re.compile("[0-9]+").sub) != t.digest(re.compile("[0-9]").sub)
    assert t.digest([print, len]) == t.digest([print, len])  # a module's: by name
    import threading

    with open(os.devnull, "w") as sink:  # output, and a lock: by name, not by state
        assert t.digest([sink.write, threading.Lock().acquire]) == t.digest(
            [sink.write, threading.Lock().acquire])
    a = np.arange(6).reshape(2, 3)
    assert t.digest(a) == t.digest(a.copy()) != t.digest(np.asfortranarray(a))


def test_tokens_agree_across_hash_seeds() -> None:
    code = (
        "from dataclasses import dataclass\n"
        "from flowyml.core.fingerprint import value_token\n"
        "@dataclass\nclass C:\n    s: set\n    f: frozenset\n"
        "print(value_token(C({'a', 'b', 'c', 'd'}, frozenset({'x', 'y'}))),"
        " value_token({'k%d' % i: i for i in range(20)}))\n"
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin:/bin"}).stdout
        for seed in (1, 2, 3)
    }
    assert len(outs) == 1


def test_object_arrays_count_by_content_not_addresses() -> None:
    a = np.array([{"k": 1}, "s", 3], dtype=object)
    b = np.array([{"k": 1}, "s", 3], dtype=object)
    assert value_token(a) == value_token(b)
    b[0]["k"] = 2  # changed in place
    assert value_token(a) != value_token(b)
    assert value_token(np.arange(3)) != value_token(np.arange(3).astype("int32"))


def test_cycles_terminate() -> None:
    a: list = [1]
    a.append(a)
    b: list = [1]
    b.append(b)
    assert value_token(a) == value_token(b)


def test_a_value_with_no_canonical_form_is_opaque() -> None:
    with pytest.raises(Opaque):
        Tokenizer().digest(threading.Thread())
    # the public token never repeats, so a step using it re-executes
    t = threading.Thread()
    assert value_token(t) != value_token(t)


def helper_one(x: int) -> int:
    return x + 1


def helper_two(x: int) -> int:
    return x + 2


def test_functions_inside_values_are_visited_as_code() -> None:
    seen: list = []
    Tokenizer(on_code=seen.append).digest({"ops": [helper_one], "p": functools.partial(helper_two, 1)})
    assert helper_one in seen and helper_two in seen


class Color(enum.Enum):
    RED = 1


@dataclass
class Cfg:
    k: int = 2

    def scaled(self, x: int) -> int:
        return x * self.k


def test_a_run_value_brings_its_class_code(tmp_path: Path) -> None:
    import flowyml as fm
    from flowyml.core.fingerprint import fingerprint_step

    @fm.step(outputs="y")
    def use(cfg, color):
        return cfg.scaled(color.value)

    fp, tokens = fingerprint_step(use, {"cfg": Cfg(), "color": Color.RED}, ROOT.parent)
    assert any(k.startswith("method") and k.endswith("Cfg.scaled") for k in fp.parts)
    assert any(k.startswith("class") and k.endswith(":Color") for k in fp.parts)
    assert tokens["cfg"] != fingerprint_step(use, {"cfg": Cfg(k=3), "color": Color.RED},
                                             ROOT.parent)[1]["cfg"]


def documented_helper(x: int) -> int:
    """Add one."""
    return x + 1  # the increment


def plain_step() -> int:
    return documented_helper(1)


def getdoc_step() -> str | None:
    return inspect.getdoc(documented_helper)


def doc_attribute_step(fn=documented_helper) -> str | None:
    return fn.__doc__


def getsource_step() -> str:
    return inspect.getsource(documented_helper)


def test_docstrings_and_comments_count_only_where_the_step_can_read_them() -> None:
    import flowyml as fm
    from flowyml.core.fingerprint import fingerprint_step

    plain, by_getdoc, by_source = plain_step, getdoc_step, getsource_step

    def kinds(fn) -> set[str]:
        return {k.partition(" ")[0] for k in fingerprint_function(fn, root=ROOT.parent).parts}

    def helper_doc(parts: dict[str, str]) -> str | None:
        return next((v for k, v in parts.items()
                     if k.startswith("docstring") and k.endswith(":documented_helper")), None)

    # the usual step: a docstring or comment edit keeps its key
    assert not {"docstring", "text"} & kinds(plain)
    assert "text" not in kinds(by_getdoc)
    assert helper_doc(fingerprint_function(by_getdoc, root=ROOT.parent).parts) is not None
    # the docstring of a function passed in as a run value, read off the parameter
    passed, _ = fingerprint_step(fm.step(outputs="doc")(doc_attribute_step),
                                 {"fn": documented_helper}, ROOT.parent)
    assert helper_doc(passed.parts) == value_token("Add one.")
    assert "text" in kinds(by_source)
    parts = fingerprint_function(by_source, root=ROOT.parent).parts
    helper = next(k for k in parts if k.startswith("text") and k.endswith(":documented_helper"))
    assert parts[helper] == hash_text(inspect.getsource(documented_helper))
    assert explain_parts({"docstring x.py:Answer": "1"}, {"docstring x.py:Answer": "2"}) == [
        "docstring of Answer changed"]


def traceback_step() -> list[str]:
    import traceback

    try:
        documented_helper("x")  # type: ignore[arg-type]
    except TypeError:
        return traceback.format_exc().splitlines()
    return []


def frame_line_step() -> int:
    import sys

    return sys._getframe().f_lineno + documented_helper(0)


def printed_traceback_step() -> int:
    import traceback

    try:
        return documented_helper(1)
    except TypeError:
        traceback.print_exc()
        raise


def test_a_traceback_or_frame_line_made_into_a_value_counts_lines_and_text() -> None:
    """A traceback quotes each frame's line number and text: a step making one into a
    value counts where each function it reaches starts, and its exact text; one that
    only prints it (to stderr) keeps comment edits out of its key."""
    for fn in (traceback_step, frame_line_step):
        parts = fingerprint_function(fn, root=ROOT.parent).parts
        line = next(k for k in parts if k.startswith("line") and k.endswith(":documented_helper"))
        assert parts[line] == hash_text(str(documented_helper.__code__.co_firstlineno))
        assert any(k.startswith("text") and k.endswith(":documented_helper") for k in parts)
    kinds = {k.partition(" ")[0]
             for k in fingerprint_function(printed_traceback_step, root=ROOT.parent).parts}
    assert not {"line", "text"} & kinds


def test_reasons_name_the_part_that_changed() -> None:
    old = {"code": "a", "method x.py:Scaler.apply": "1", "decorator 0": "times(2)",
           "instance x.py:Model": "s1", "attribute x.py:Config.SCALE": "v1",
           "helper a.py:norm": "h"}
    new = {"code": "a", "method x.py:Scaler.apply": "2", "decorator 0": "times(3)",
           "instance x.py:Model": "s2", "attribute x.py:Config.SCALE": "v2",
           "helper b.py:norm": "h"}
    text = "; ".join(explain_parts(old, new))
    assert "code of method Scaler.apply changed" in text
    assert "decorator times(2) -> times(3)" in text
    assert "state of Model instance changed" in text
    assert "class attribute Config.SCALE changed" in text
    assert "code of helper norm moved from a.py to b.py" in text


def test_unseeable_code_warns_and_counts_the_whole_module(tmp_path: Path) -> None:
    mod = tmp_path / "dyn_mod.py"
    mod.write_text("def pick(name):\n    return globals()[name]\n\ndef other():\n    return 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import dyn_mod  # type: ignore[import-not-found]

        def step_fn(x):
            return dyn_mod.pick("other")()

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fp = fingerprint_function(step_fn, root=tmp_path, step_name="dyn")
        assert any(issubclass(w.category, FingerprintWarning) and "globals()" in str(w.message)
                   and "dyn" in str(w.message) for w in caught)
        assert any(k.startswith("module dyn_mod.py") for k in fp.parts)
        assert any(k.endswith(":other") for k in fp.parts)  # everything in the module counts
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("dyn_mod", None)


def test_a_module_counted_whole_warns_once_per_step_naming_each_construct(
        tmp_path: Path) -> None:
    """The whole-module fallback meets every function of the module, some with their
    own unseeable constructs: the step hears one warning for the module, naming each,
    not one per construct."""
    mod = tmp_path / "dyn_three.py"
    mod.write_text("QUERY = 'a > 1'\n\ndef pick(name):\n    return globals()[name]\n\n"
                   "def run(code):\n    return eval(code)\n\n"
                   "def select(df):\n    return df.query(QUERY)\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import dyn_three  # type: ignore[import-not-found]

        def step_fn(x):
            return dyn_three.pick("run")

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fp = fingerprint_function(step_fn, root=tmp_path, step_name="three")
        said = [str(w.message) for w in caught if issubclass(w.category, FingerprintWarning)]
        assert len(said) == 1, said
        assert said[0].startswith("step 'three': a .query()/.eval() string made elsewhere "
                                  "than in the call in select; eval() in run; globals() in "
                                  "pick (dyn_three.py) cannot be followed")
        assert "every Python file of the project" in said[0]  # (eval can import)
        assert any(k.startswith("module dyn_three.py") for k in fp.parts)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("dyn_three", None)


def test_the_hidden_generators_state_is_kept_apart_and_seeds_first_are_seen(
        tmp_path: Path) -> None:
    """The hidden generator's state is no part of the code fingerprint: it is kept apart
    (``Fingerprint.states``, in ``with_states``), so every form here re-keys when it
    moves unless the step seeds it first. Which did is observed as each runs
    (``rng.watching``), never read from the text: only ``first`` and ``by_parameter``
    given an int seed before anything read the state. (A static rule was tried in
    session 21 and found stale in many ways: a seed of ``None``, a later
    ``random.seed()``, a draw before the seed.)"""
    mod = tmp_path / "seeds_mod.py"
    mod.write_text(textwrap.dedent("""
        import random
        import time

        def first():
            random.seed(3)
            return random.random()

        def late():
            x = random.random()
            random.seed(3)
            return x + random.random()

        def entropy():
            random.seed(None)
            return random.random()

        def computed():
            random.seed(int(random.random() * 10))
            return random.random()

        def from_the_clock():
            seed = time.time_ns()
            random.seed(seed)
            return random.random()

        KW = {}

        def no_arguments():
            random.seed(**KW)
            return random.random()

        def reseeded_later():
            random.seed(3)
            x = random.random()
            random.seed()
            return x + random.random()

        def by_parameter(seed=None):
            random.seed(seed)
            return random.random()

        def with_entropy_helper():
            random.seed(3)
            return again()

        def again():
            random.seed()
            return random.random()

        class Scaled(random.Random):
            pass

        OWN = Scaled()

        def own_generator():
            OWN.seed(0)
            return OWN.random() + random.random()
    """))
    sys.path.insert(0, str(tmp_path))
    try:
        import seeds_mod  # type: ignore[import-not-found]

        def key(fn: Any) -> str:
            fp = fingerprint_function(fn, root=tmp_path)
            assert fp.states.keys() == {"random"}, fn
            return fp.with_states

        names = ("first", "late", "entropy", "computed", "from_the_clock", "no_arguments",
                 "reseeded_later", "by_parameter", "with_entropy_helper", "own_generator")
        before = {f: key(getattr(seeds_mod, f)) for f in names}
        random_module = __import__("random")
        random_module.random()  # the hidden generator moves
        seeds_mod.OWN.random()  # and the user's own
        after = {f: key(getattr(seeds_mod, f)) for f in before}
        for f in names:
            assert after[f] != before[f], f
        # the user's own generator is a value: its state stays in the parts
        assert "OWN" in " ".join(fingerprint_function(seeds_mod.own_generator,
                                                      root=tmp_path).parts)

        def seeded(fn: Any, *args: Any) -> tuple[str, ...]:
            with rng.watching(("random",)) as watch:
                fn(*args)
            assert watch is not None
            return watch.seeded()

        clock = {"from_the_clock"}  # an int from the clock is an int (README: the clock)
        for f in names:
            want = ("random",) if f in {"first"} | clock else ()
            assert seeded(getattr(seeds_mod, f)) == want, f
        assert seeded(seeds_mod.by_parameter, 7) == ("random",)
        assert seeded(seeds_mod.by_parameter, 7.5) == ()  # a float seeds by its hash
        assert seeded(seeds_mod.by_parameter, "abc") == ("random",)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("seeds_mod", None)


def test_a_value_that_cannot_be_fingerprinted_is_named_by_its_own_type() -> None:
    """The warning names the global's own type, and what inside it has no canonical
    form: not only the innermost object (a dict's connection, not "a Connection")."""
    events = {"db": sqlite3.connect(":memory:")}

    def step_fn():
        return len(events)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fingerprint_function(step_fn, step_name="locked")
    said = [str(w.message) for w in caught if issubclass(w.category, FingerprintWarning)]
    assert any("(a dict holding a Connection) cannot be fingerprinted" in m for m in said), said


def test_a_helper_imported_from_a_zip_counts_by_its_source(tmp_path: Path) -> None:
    """A module imported from a zip on sys.path (zipimport: its file is no file on disk)
    is the user's code, read through its loader; finding whose it was recursed without
    end (RecursionError at build)."""
    import zipfile

    def zipped(body: str) -> Path:
        archive = tmp_path / f"helpers{len(list(tmp_path.glob('*.zip')))}.zip"
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("zhelpers.py", f"def scale(x):\n    return {body}\n")
        return archive

    def key_with(body: str) -> str:
        archive = zipped(body)
        sys.path.insert(0, str(archive))
        try:
            import zhelpers  # type: ignore[import-not-found]

            def step_fn(x):
                return zhelpers.scale(x)

            return fingerprint_function(step_fn, root=tmp_path).digest
        finally:
            sys.path.remove(str(archive))
            sys.modules.pop("zhelpers", None)

    assert key_with("x * 2") == key_with("x * 2  # the same")
    assert key_with("x * 2") != key_with("x * 3")


def test_a_computed_getattr_on_a_library_module_counts_that_library_only_when_plain(
        tmp_path: Path) -> None:
    """``getattr(statistics, NAME)`` counts the library, not the whole module; on
    ``np.random`` (a generator's state) or on a module the user put a function into
    (``math.my_scale = f``), the whole module still counts, with a warning."""
    mod = tmp_path / "lookups_mod.py"
    mod.write_text(textwrap.dedent("""
        import math
        import statistics

        import numpy as np

        def my_scale(x):
            return x * 3

        math.my_scale = my_scale
        AGG = "median"

        def plain(n):
            return getattr(statistics, AGG)(range(n))

        def drawn(dist):
            return getattr(np.random, dist)(size=1)

        def patched(kind):
            return getattr(math, "my_" + kind)(10)

        import functools
        import jinja2.utils
        import string

        string.my_partial = functools.partial(my_scale)

        def partial_put_in(kind):
            return getattr(string, "my_" + kind)(10)

        def drawn_by_a_library(pick):
            return getattr(jinja2.utils, pick)(range(10))  # choice: random's bound method
    """))
    sys.path.insert(0, str(tmp_path))
    try:
        import lookups_mod  # type: ignore[import-not-found]

        for name, whole in (("plain", False), ("drawn", True), ("patched", True),
                            ("partial_put_in", True), ("drawn_by_a_library", True)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fp = fingerprint_function(getattr(lookups_mod, name), root=tmp_path)
            warned = any("getattr() with a computed name" in str(w.message) for w in caught)
            counted_whole = any(k.startswith("module lookups_mod.py") for k in fp.parts)
            assert (warned, counted_whole) == (whole, whole), name
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("lookups_mod", None)
        del __import__("math").my_scale
        del __import__("string").my_partial


def test_a_pool_is_workers_but_a_subclass_of_the_users_is_code() -> None:
    """A ``ThreadPoolExecutor`` global is the library's (no value token, which it has
    none of); a subclass of the user's counts its code, as any class of theirs."""
    from concurrent.futures import ThreadPoolExecutor

    from flowyml.core.fingerprint import _worker_pool

    class Doubling(ThreadPoolExecutor):
        pass

    def setup() -> None:
        pass

    with ThreadPoolExecutor(1) as pool, Doubling(1) as mine, ThreadPoolExecutor(
            1, initializer=setup) as set_up:
        assert _worker_pool(pool) and not _worker_pool(mine)
        assert not _worker_pool(set_up)  # its initializer is the user's code


def test_yaml_loaders_that_make_python_objects_are_loaders() -> None:
    """``yaml.load(s, Loader=...)`` with a loader that resolves ``!!python/name`` (or a
    subclass of one) loads code by a name in the data; ``SafeLoader`` does not."""
    import yaml

    from flowyml.core.fingerprint import _is_loader

    class Mine(yaml.Loader):
        pass

    for loader in (yaml.Loader, yaml.UnsafeLoader, yaml.FullLoader, Mine, yaml.full_load):
        assert _is_loader(loader), loader
    assert not _is_loader(yaml.SafeLoader) and not _is_loader(yaml.safe_load)


def test_a_computed_import_counts_every_file_of_the_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The module may not even be imported yet: every Python file under the root counts,
    by normalized source, and a miss names the file."""
    import importlib

    import flowyml.core.fingerprint as fp_mod

    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "__init__.py").write_text("")
    (tmp_path / "plugins" / "double.py").write_text("def apply(x):\n    return x * 2\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "skipped.py").write_text("x = 1\n")

    # the step in a module of its own: what a computed import reaches makes its whole
    # module count, and this test module's every function is not the point here
    (tmp_path / "computed_import_runner.py").write_text(
        "import importlib\n\n\ndef step_fn(kind):\n"
        "    return importlib.import_module('plugins.' + kind).apply(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    step_fn = importlib.import_module("computed_import_runner").step_fn
    monkeypatch.delitem(sys.modules, "computed_import_runner")

    def parts() -> dict[str, str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = fingerprint_function(step_fn, root=tmp_path, step_name="plug").parts
        said.extend(str(w.message) for w in caught)
        return got

    said: list[str] = []
    before = parts()
    assert any("every Python file of the project" in m for m in said)  # once a process
    assert "file plugins/double.py" in before and not any(".venv" in k for k in before)
    (tmp_path / "plugins" / "double.py").write_text("def apply(x):  # c\n    return x * 2\n")
    assert parts() == before  # a comment is not a change
    (tmp_path / "plugins" / "double.py").write_text("def apply(x):\n    return x * 2 + 1\n")
    after = parts()
    assert explain_parts(before, after) == ["source of file plugins/double.py changed"]

    monkeypatch.setattr(fp_mod, "PROJECT_FILES_LIMIT", 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        big = fingerprint_function(step_fn, root=tmp_path, step_name="plug2").parts
    assert any("too many to fingerprint" in str(w.message) for w in caught)
    assert big["project sources"].startswith("opaque:")  # re-executes, never reused


def test_subclasses_count_as_they_are_now(tmp_path: Path) -> None:
    """``Base.__subclasses__()`` reaches every subclass that exists at build, in any
    module; that of a class the bytecode does not name counts the whole project."""
    (tmp_path / "subs_base.py").write_text(
        "class Base:\n    pass\n\n\ndef pick(name):\n"
        "    return [c for c in Base.__subclasses__() if c.__name__ == name][0]\n\n\n"
        "def of(obj):\n    return type(obj).__subclasses__()\n")
    (tmp_path / "subs_impl.py").write_text(
        "from subs_base import Base\n\n\nclass Impl(Base):\n    def go(self):\n"
        "        return 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import subs_base
        import subs_impl  # noqa: F401

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            named = fingerprint_function(subs_base.pick, root=tmp_path, step_name="sub1").parts
            unnamed = fingerprint_function(subs_base.of, root=tmp_path, step_name="sub2").parts
        assert "class subs_impl.py:Impl" in named and "method subs_impl.py:Impl.go" in named
        assert not [w for w in caught if "sub1" in str(w.message)]  # nothing unseeable
        assert any("sub2" in str(w.message) and "__subclasses__()" in str(w.message)
                   for w in caught)
        assert "file subs_impl.py" in unnamed
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("subs_base", None)
        sys.modules.pop("subs_impl", None)


def test_sys_modules_is_unseeable_and_a_dict_may_grow_while_walked(tmp_path: Path) -> None:
    """``sys.modules[name]`` reaches any module: the project's files count, with a
    warning. Tokenizing it used to raise "dictionary changed size during iteration"
    (visiting a module's code imports); a dict walked is a snapshot."""
    (tmp_path / "mods_helper.py").write_text("def f(x):\n    return x\n")

    def by_name(kind):
        return sys.modules["mods_" + kind].f(1)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parts = fingerprint_function(by_name, root=tmp_path, step_name="sysmods").parts
    assert any("sys.modules" in str(w.message) for w in caught)
    assert "file mods_helper.py" in parts

    grows: dict[str, object] = {"a": 1}

    def on_code(obj: object) -> None:
        grows[f"k{len(grows)}"] = len(grows)  # as an import adds to sys.modules

    grows["f"] = by_name
    assert Tokenizer(on_code=on_code).digest(grows)


def test_a_command_line_parser_makes_the_arguments_an_input(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``parser.parse_args()`` reads ``sys.argv`` in the standard library, where no
    fingerprint looks: code that reaches a command-line parser (a parser held in a
    global, or one the function builds) counts the arguments; other code does not."""
    (tmp_path / "cli_mod.py").write_text(textwrap.dedent('''
        import argparse

        parser = argparse.ArgumentParser()
        parser.add_argument("--k", type=int, default=1)


        def global_parser():
            return parser.parse_args().k * 2


        def own_parser():
            import argparse as ap

            p = ap.ArgumentParser()
            p.add_argument("--k", type=int, default=1)
            return p.parse_known_args()[0].k * 2


        def no_parser():
            return 2
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["train.py", "--k", "3"])
    import cli_mod

    try:
        for fn in (cli_mod.global_parser, cli_mod.own_parser):
            before = fingerprint_function(fn, root=tmp_path).parts
            assert fn() == 6
            monkeypatch.setattr(sys, "argv", ["other/train.py", "--k", "3"])  # same args
            assert fingerprint_function(fn, root=tmp_path).parts == before
            monkeypatch.setattr(sys, "argv", ["train.py", "--k", "5"])
            after = fingerprint_function(fn, root=tmp_path).parts
            assert fn() == 10
            assert explain_parts(before, after) == ["constant sys.argv changed"]
            monkeypatch.setattr(sys, "argv", ["train.py", "--k", "3"])
        plain = fingerprint_function(cli_mod.no_parser, root=tmp_path).parts
        monkeypatch.setattr(sys, "argv", ["train.py", "--k", "5"])
        assert fingerprint_function(cli_mod.no_parser, root=tmp_path).parts == plain
    finally:
        sys.modules.pop("cli_mod", None)


def test_a_global_bound_to_the_environment_later_counts_at_the_next_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ENV`` is a plain dict at one build and ``os.environ`` at the next (a script
    that rebinds it, the module's globals as many as before): the variable the step
    reads through it counts from then on."""
    (tmp_path / "alias_mod.py").write_text(textwrap.dedent('''
        ENV = {}


        def reads():
            return ENV.get("FM_ALIAS_X")
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FM_ALIAS_X", "1")
    import alias_mod

    try:
        before = fingerprint_function(alias_mod.reads, root=tmp_path).parts
        assert not any(k.startswith("env ") for k in before)
        monkeypatch.setattr(alias_mod, "ENV", os.environ)
        after = fingerprint_function(alias_mod.reads, root=tmp_path).parts
        assert "env FM_ALIAS_X" in after
    finally:
        sys.modules.pop("alias_mod", None)


def test_environment_variables_count_by_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable read by a literal name counts by its value (or its absence), and no
    other does; ``os.environ`` used any other way counts as a whole."""
    (tmp_path / "env_mod.py").write_text(textwrap.dedent('''
        import os
        from os import environ as env_alias


        def literal():
            import os as local_os

            a = os.getenv("FM_A", "1")
            b = os.environ.get("FM_B")
            c = env_alias["FM_C"] if "FM_D" in os.environ else local_os.environ.get("FM_E")
            return a, b, c


        def computed(name):
            return os.environ[name]


        def prefixed(name):
            return os.getenv("FM_" + name)


        def sets(value):
            os.environ["FM_SET"] = value
            return value
    '''))
    for var in ("FM_A", "FM_B", "FM_C", "FM_D", "FM_E"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    import env_mod

    try:
        before = fingerprint_function(env_mod.literal, root=tmp_path).parts
        assert {k for k in before if k.startswith("env ")} == {
            "env FM_A", "env FM_B", "env FM_C", "env FM_D", "env FM_E"}
        assert not any("environ" in k for k in before)  # not the whole environment
        monkeypatch.setenv("FM_UNREAD", "1")
        assert fingerprint_function(env_mod.literal, root=tmp_path).parts == before
        monkeypatch.setenv("FM_D", "")  # now present: "in" reads it
        after = fingerprint_function(env_mod.literal, root=tmp_path).parts
        assert explain_parts(before, after) == ["environment variable FM_D changed"]

        fp = fingerprint_function(env_mod.computed, root=tmp_path)
        whole = fp.parts
        assert any("os.environ" in k for k in whole)
        shown = {k: fp.sources[k] for k in whole if "os.environ" in k}
        assert shown and all(v.endswith("= ***") for v in shown.values())  # never rendered
        monkeypatch.setenv("FM_UNREAD", "2")
        assert fingerprint_function(env_mod.computed, root=tmp_path).parts != whole
        # a name that starts with a literal is still computed: the whole environment
        assert any("os.environ" in k for k in
                   fingerprint_function(env_mod.prefixed, root=tmp_path).parts)
        # changing the environment is state for later steps: warned, and not a read
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parts = fingerprint_function(env_mod.sets, root=tmp_path, step_name="sets").parts
        assert any("changes os.environ" in str(w.message) for w in caught)
        assert not any("env" in k for k in parts)
    finally:
        sys.modules.pop("env_mod", None)


def test_an_unseeable_step_counts_its_modules_globals_as_they_are_now(tmp_path: Path) -> None:
    mod = tmp_path / "evals_mod.py"
    mod.write_text("SCALE = 2\n\ndef f(x):\n    return eval('x * SCALE')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import evals_mod

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            before = fingerprint_function(evals_mod.f, root=tmp_path).parts
            evals_mod.SCALE = 3  # rebound after the import: the text still says 2
            after = fingerprint_function(evals_mod.f, root=tmp_path).parts
        assert explain_parts(before, after) == ["constant SCALE changed"]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("evals_mod", None)


def test_standard_library_counts_by_python_version(tmp_path: Path) -> None:
    import os

    def joins(a):
        return os.path.join(a, "b")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fp = fingerprint_function(joins, root=tmp_path)
    assert set(fp.parts) == {"code", "library python"}


def test_a_compiled_module_of_the_users_own_counts_by_its_binary(tmp_path: Path) -> None:
    import types

    binary = tmp_path / "fastmath.cpython-311-x86_64-linux-gnu.so"
    binary.write_bytes(b"\x7fELF v1")
    mod = types.ModuleType("fastmath")
    mod.__file__ = str(binary)
    ns = {"fastmath": mod}
    exec("def uses(x):\n    return fastmath.go(x)\n", ns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = fingerprint_function(ns["uses"], root=tmp_path, step_name="ext")
    assert any("compiled module" in str(w.message) for w in caught)
    binary.write_bytes(b"\x7fELF v2")
    second = fingerprint_function(ns["uses"], root=tmp_path, step_name="ext")
    assert first.digest != second.digest


def test_global_names_read_from_the_bytecode_agree_with_dis() -> None:
    """The fingerprint reads LOAD_GLOBAL & co straight from ``co_code``; ``dis`` is the
    reference, over whole modules (every function, class and comprehension in them)."""
    import dis
    import importlib
    import types

    def reference(code: types.CodeType) -> frozenset[str]:
        out: set[str] = set()
        stack = [code]
        while stack:
            c = stack.pop()
            out.update(i.argval for i in dis.get_instructions(c)
                       if i.opname in code_analysis.GLOBAL_OPS)
            stack.extend(x for x in c.co_consts if isinstance(x, types.CodeType))
        return frozenset(out)

    for name in ("json", "ast", "inspect", "typing", "dataclasses", "asyncio.base_events",
                 "flowyml.core.fingerprint", "flowyml.catalog.sql"):
        path = importlib.import_module(name).__file__
        assert path is not None
        with open(path, encoding="utf-8") as f:
            code = compile(f.read(), path, "exec")
        assert code_analysis.global_names_of(code) == reference(code), name


def test_the_declarations_display_text_is_reprlibs() -> None:
    """A step's declaration is shown as ``@step(...)``; its values' fast repr must be
    what the bounded reprlib gives (the recorded text does not depend on the path)."""
    from flowyml.core.fingerprint import _SOURCE_REPR, _short_repr

    samples = ["a", "x" * 100, "x" * 400, "x" * 500, ["a", "b"], ["q" * 100] * 10,
               ["q"] * 30, ["q"] * 40, [], "it's \"q\" \\ \n", ["é", "\x00"], ("a",),
               {"b": "x", "a": "y"}, 3, None, "\U000e0001" * 100, ["\U000e0001" * 38] * 2,
               ["\U000e0001" * 39]]
    for value in samples:
        assert _short_repr(value) == _SOURCE_REPR.repr(value), value


def test_a_decorator_named_like_step_counts_when_it_is_not_flowymls(tmp_path: Path) -> None:
    """``@fm.step(...)`` is the declaration, and its text is not kept with a function's
    facts; if the same text later names another object (``fm`` rebound), that decorator
    is user code and its text must count again."""
    from flowyml.core import fingerprint as F

    mod = tmp_path / "deco_mod.py"
    mod.write_text("import flowyml as fm\n\n\n@fm.step(outputs='y')\ndef f():\n    return 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import deco_mod  # type: ignore[import-not-found]

        fn = deco_mod.f.func
        info = F._info(fn, strip_decorators=True)
        assert info.decorators == [(None, ("fm", "step"))]
        assert F._decorator_texts(fn, info) == []
        fn.__globals__["fm"] = types.SimpleNamespace(step=lambda **kw: (lambda g: g))
        assert F._decorator_texts(fn, info) == ["fm.step(outputs='y')"]
        fresh = F.CodeInfo.from_facts(info.facts(), info.global_names, info.source or "")
        assert F._decorator_texts(fn, fresh) == ["fm.step(outputs='y')"]  # a memo hit
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("deco_mod", None)


def test_a_cell_whose_decorator_awaits_is_keyed_by_its_text(tmp_path: Path) -> None:
    """IPython compiles a cell with top-level ``await``, so a decorator may await
    (``@fm.step(outputs=await names())``). Neither the function's text with that
    decorator nor the whole cell compiles on its own; the function's own code object
    holds no decorator, so its text without them is what the compile check compares:
    keyed by its text, no warning that the file changed."""
    import asyncio

    from flowyml.core import fingerprint as F

    path = tmp_path / "cell.py"
    path.write_text("import flowyml as fm\n\nasync def names():\n    return 'y'\n\n"
                    "@fm.step(outputs=await names())\ndef s(x: int = 1):\n"
                    "    return x + 41\n")
    code = compile(path.read_text(), str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    ns: dict[str, Any] = {"__name__": "cell_with_await"}
    result = eval(code, ns)  # what IPython does with such a cell
    if asyncio.iscoroutine(result):
        asyncio.run(result)
    fn = ns["s"].func
    with warnings.catch_warnings():
        warnings.simplefilter("error", F.FingerprintWarning)
        info = F._info(fn, strip_decorators=True)
    assert info.source is not None and "return x + 41" in info.source
    assert info.digest != code_analysis.bytecode_digest(fn.__code__)


@pytest.mark.filterwarnings("ignore:.*a lock.*cannot be fingerprinted")  # the test's events
def test_a_build_in_another_thread_shares_no_per_build_cache_with_this_one(
        tmp_path: Path) -> None:
    """A build shares tokens, shown values and closures between its own steps, because
    no user code runs between them. Another thread fingerprinting meanwhile (a run
    deciding a step whose input references code, while a pipeline builds elsewhere)
    runs steps in between: it must not take a token the build cached before its own
    steps changed the value."""
    from flowyml.core import fingerprint as F
    from flowyml.core.graph import build_graph

    (tmp_path / "threaded_mod.py").write_text(textwrap.dedent("""
        import threading
        import flowyml as fm

        ENTERED, RELEASE = threading.Event(), threading.Event()

        class Slow:  # its token is taken while the build in the other thread waits
            def __reduce__(self):
                ENTERED.set()
                RELEASE.wait(30)
                return (Slow, ())

        SLOW = Slow()
        CFG = [1, 2]

        @fm.step(outputs="a")
        def first():
            return sum(CFG) + len(repr(SLOW))

        @fm.step(outputs="b")
        def second():
            return sum(CFG)
        """))
    sys.path.insert(0, str(tmp_path))
    try:
        import threaded_mod as mod  # type: ignore[import-not-found]

        graph = build_graph([mod.first], {}, None)
        builder = threading.Thread(target=F.fingerprint_graph, args=(graph, tmp_path))
        builder.start()
        try:
            assert mod.ENTERED.wait(30)  # the other thread is in the middle of its build
            before, _ = F.fingerprint_step(mod.second, {}, tmp_path)
            mod.CFG.append(3)  # what a step of this thread's run does
            after, _ = F.fingerprint_step(mod.second, {}, tmp_path)
        finally:
            mod.RELEASE.set()
            builder.join(30)
        key = next(k for k in after.parts if k.endswith(":CFG"))
        assert before.parts[key] != after.parts[key]
        assert "[1, 2, 3]" in after.sources[key]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("threaded_mod", None)


def test_code_rewritten_by_its_loader_counts_by_bytecode_without_a_warning() -> None:
    """pytest rewrites the asserts of this file as it imports it: a function with an
    assert runs code its text does not compile to. That is no edit for the user to fix:
    its bytecode counts (sound, and stable from run to run), and nothing is warned."""
    from flowyml.core import fingerprint as F

    def checked(x):
        assert x > 0
        return x

    assert type(sys.modules[__name__].__loader__).__module__.startswith("_pytest")
    F.forget_build()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = F._info(checked, strip_decorators=False)
    assert not [w for w in caught if "changed after" in str(w.message)]
    assert info.source is None
    assert info.digest == code_analysis.bytecode_digest(checked.__code__)


def test_the_code_shape_ignores_positions_and_hash_seeds_but_not_behaviour() -> None:
    """The shape that checks a function's text against its running code: equal for the
    same code moved or commented, different for any change of what it does, and the
    same in every process (a set literal's constant is a frozenset, whose order follows
    the hash seed)."""
    from flowyml.core.code_text import code_shape

    def shape(text: str) -> str:
        module = compile(text, "m.py", "exec", dont_inherit=True)
        return code_shape(next(c for c in module.co_consts if isinstance(c, types.CodeType)))

    base = shape("def f(x):\n    return x in {'a', 'b', 'c'} and x + 1\n")
    assert shape("\n\n# moved\ndef f(x):\n    return (x in {'a', 'b', 'c'}\n"
                 "            and x + 1)  # same\n") == base
    for changed in ("def f(x):\n    return x in {'a', 'b', 'd'} and x + 1\n",
                    "def f(x):\n    return x in {'a', 'b', 'c'} and x + 2\n",
                    "def f(y):\n    return y in {'a', 'b', 'c'} and y + 1\n",
                    "def f(x, /):\n    return x in {'a', 'b', 'c'} and x + 1\n"):
        assert shape(changed) != base, changed
    code = ("import sys; from flowyml.core.code_text import code_shape\n"
            "m = compile(sys.argv[1], 'm.py', 'exec', dont_inherit=True)\n"
            "print(code_shape(m.co_consts[0]))\n")
    import os

    seen = {subprocess.run([sys.executable, "-c", code,
                            "def f(x):\n    return x in {'a', 'b', 'c'} and x + 1\n"],
                           capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
            for seed in ("1", "2", "3")}
    assert seen == {base}


def test_indented_text_is_parsed_with_every_string_as_written() -> None:
    """A method's lines parse as they are: a line of spaces inside a string keeps its
    spaces (``textwrap.dedent`` emptied it), and text that is not one block is refused."""
    from flowyml.core.code_text import parse_text

    tree = parse_text('    def f(self):\n        return """a\n  \nb"""\n')
    assert tree is not None
    assert ast.literal_eval(tree.body[0].body[0].value) == "a\n  \nb"  # type: ignore[attr-defined]
    assert parse_text("    x = 1\ny = 2\n") is None
    assert parse_text("x = 1\n") is not None


def test_library_settings_count_only_when_not_the_defaults() -> None:
    """A step using numpy, pandas, scikit-learn or decimal on their defaults has no
    settings part (its key is as before); a changed setting is one, by value. A library
    that switches pandas' numexpr off at import (dask.dataframe, which pandera and
    distributed import) changes no key."""
    code = textwrap.dedent("""
        import decimal, json
        import numpy as np, pandas as pd, sklearn
        from flowyml.core.settings import changed

        import logging
        tops = ("numpy", "pandas", "sklearn", "decimal", "logging")
        import dask.dataframe  # turns pandas' numexpr off: how it computes, not what
        before = {top: changed(top) for top in tops}
        logging.basicConfig(level=logging.INFO)
        np.seterr(divide="raise")
        pd.set_option("display.precision", 2)
        sklearn.set_config(transform_output="pandas")
        decimal.getcontext().prec = 6
        print(json.dumps([before, {top: changed(top) for top in tops}]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    before, after = json.loads(out)
    assert before == {"numpy": {}, "pandas": {}, "sklearn": {}, "decimal": {}, "logging": {}}
    assert after == {"numpy": {"err.divide": "raise"}, "pandas": {"display.precision": 2},
                     "sklearn": {"transform_output": "pandas"}, "decimal": {"prec": 6},
                     "logging": {"root.level": 20}}


def test_standard_library_registries_count_as_settings() -> None:
    """sqlite3's converters and adapters and csv's dialects and field size limit,
    registered at import, are settings: none on the defaults (sqlite3's own date
    converters are not counted), and a worker takes the driver's (``apply``)."""
    code = textwrap.dedent("""
        import csv, json, sqlite3
        from flowyml.core.settings import apply, changed

        def parse(b):
            return b.decode()

        before = {top: changed(top) for top in ("sqlite3", "csv")}
        sqlite3.register_converter("point", parse)
        sqlite3.register_converter("js", json.loads)  # a library's function, registered
        sqlite3.register_converter("num", float)  # a builtin the user registers counts
        csv.register_dialect("semi", delimiter=";")
        csv.field_size_limit(1000)
        after = {top: changed(top) for top in ("sqlite3", "csv")}
        sqlite_after = {k: getattr(v, "__name__", "?") for k, v in after["sqlite3"].items()}
        want = after["csv"]
        csv.unregister_dialect("semi")
        csv.field_size_limit(131072)
        applied = apply("csv", want) and changed("csv") == want
        print(json.dumps([before, sqlite_after, after["csv"], applied]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    before, sqlite_after, csv_after, applied = json.loads(out)
    assert before == {"sqlite3": {}, "csv": {}}  # (sqlite3's own date adapters: none)
    assert sqlite_after == {"converter.POINT": "parse", "converter.NUM": "float",
                            "converter.JS": "loads"}
    assert csv_after["field_size_limit"] == 1000 and csv_after["dialect.semi"]["delimiter"] == ";"
    assert applied


def test_code_keyed_by_bytecode_tells_signatures_apart_and_ignores_the_hash_seed() -> None:
    """Code whose text is not known (a notebook cell run through ``exec`` or ``%%time``)
    is keyed by its shape: ``f(*items)`` and ``f(items)`` compile to the same bytecode
    and names, and a set constant's order follows the hash seed."""
    from flowyml.core.code_analysis import bytecode_digest

    def compiled(src: str) -> Any:
        ns: dict[str, Any] = {}
        exec(compile(src, "<cell>", "exec"), ns)
        return ns["count"].__code__

    varargs = compiled("def count(*items):\n    return len(items)\n")
    plain = compiled("def count(items):\n    return len(items)\n")
    assert bytecode_digest(varargs) != bytecode_digest(plain)
    code = textwrap.dedent("""
        from flowyml.core.code_analysis import bytecode_digest
        ns = {}
        exec(compile("def f(w):\\n    return w in {'apple', 'plum', 'fig', 'kiwi'}\\n",
                     "<cell>", "exec"), ns)
        print(bytecode_digest(ns["f"].__code__))
    """)
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2", "3", "4")}
    assert len(digests) == 1


def test_a_function_patched_by_autoreload_is_keyed_by_its_text_in_the_file(
        tmp_path: Path) -> None:
    """IPython's ``%autoreload`` patches a function with code compiled from its text
    alone, which says line 1: the fingerprint finds the function where the file has it
    (same code), so the key is a fresh process's, with no warning."""
    mod = tmp_path / "autoreloaded.py"
    mod.write_text("def other(x):\n    return x\n\n\ndef helper(x):\n    return x * 2\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import autoreloaded

        def step() -> int:
            return autoreloaded.helper(3)

        fresh = fingerprint_function(step, root=tmp_path)
        alone = compile("def helper(x):\n    return x * 2\n", str(mod), "exec")
        autoreloaded.helper.__code__ = next(
            c for c in alone.co_consts if isinstance(c, types.CodeType))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            patched = fingerprint_function(step, root=tmp_path)
        assert patched.digest == fresh.digest
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("autoreloaded", None)


def test_a_method_patched_by_ipythons_autoreload_is_keyed_by_its_text_in_the_file(
        tmp_path: Path) -> None:
    """IPython 9's ``%autoreload`` (``deduperreload``) patches an edited method with code
    compiled alone, in a class of its own (``__autoreload_class__.score``, line 2): the
    fingerprint finds the method where the file has it, by the function's own qualified
    name, so the key is what a fresh process takes, with no warning (before, a method
    not first in its class was keyed by its bytecode, with a warning, and re-executed
    after a restart)."""
    import importlib

    autoreload = pytest.importorskip("IPython.extensions.autoreload")
    mod = tmp_path / "reloaded_models.py"
    mod.write_text("class Model:\n    def other(self):\n        return 1\n\n"
                   "    def score(self, x):\n        return x * 2\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import reloaded_models

        def step() -> int:
            return reloaded_models.Model().score(3)

        reloader = autoreload.ModuleReloader()
        reloader.enabled = reloader.check_all = True
        reloader.check()
        mod.write_text(mod.read_text().replace("x * 2", "x * 3"))
        later = os.stat(mod).st_mtime + 5  # (a change the reloader's mtime check sees)
        os.utime(mod, (later, later))
        reloader.check()
        code = reloaded_models.Model.score.__code__
        if not getattr(code, "co_qualname", "").startswith("__autoreload_class__."):
            pytest.skip("this IPython's autoreload does not compile methods alone")
        assert step() == 9
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            patched = fingerprint_function(step, root=tmp_path)
        importlib.reload(reloaded_models)  # the file compiled whole: a fresh process's code
        assert reloaded_models.Model.score.__code__.co_firstlineno == 5
        assert fingerprint_function(step, root=tmp_path).digest == patched.digest
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("reloaded_models", None)


def test_a_value_many_steps_reach_is_tokenized_once_per_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lookup table (and the code it holds) that every step reaches is tokenized once
    per build, not once per step; each step's key still holds it, and the code in it."""
    import flowyml as fm
    from flowyml.core import tokens

    (tmp_path / "table_mod.py").write_text(textwrap.dedent('''
        import flowyml as fm


        def double(x):
            return 2 * x


        TABLE = {"k%d" % i: i for i in range(1000)}
        TABLE["op"] = double


        @fm.step(outputs="a")
        def a():
            return TABLE["k1"]


        @fm.step(outputs="b")
        def b(a):
            return TABLE["op"](a)


        @fm.step(outputs="c")
        def c(b):
            return b + len(TABLE)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    import table_mod

    seen: list[int] = []
    digest = tokens.Tokenizer.digest

    def counting(self: Any, value: Any) -> str:
        if value is table_mod.TABLE:
            seen.append(1)
        return digest(self, value)

    monkeypatch.setattr(tokens.Tokenizer, "digest", counting)
    try:
        graph = fm.Pipeline("t", [table_mod.a, table_mod.b, table_mod.c]).build()
        assert len(seen) == 1
        parts = [graph.fingerprints[n].parts for n in ("a", "b", "c")]
        table = {k for p in parts for k in p if k.endswith(":TABLE")}
        assert len(table) == 1 and all(table <= set(p) for p in parts)
        assert len({p[next(iter(table))] for p in parts}) == 1
        assert all(any("double" in k for k in p) for p in parts)  # the code it holds
        fm.Pipeline("t", [table_mod.a, table_mod.b, table_mod.c]).build()
        assert len(seen) == 2  # a new build takes it again (the table may have changed)
    finally:
        sys.modules.pop("table_mod", None)


def test_a_class_whose_methods_are_steps_is_read_once_per_build(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each method step reaches its class: the class's text is found and parsed once per
    build (``inspect.getsource`` of a class parses its whole module), and every step's
    key holds the class and its sibling methods."""
    import flowyml as fm
    from flowyml.core import fingerprint

    (project / "cls_mod.py").write_text(textwrap.dedent('''
        import flowyml as fm


        class Model:
            SCALE = 3

            def __init__(self, bias):
                self.bias = bias

            def load(self):
                return 1

            def fit(self, raw):
                return raw * self.SCALE + self.bias

            def score(self, fitted):
                return fitted - self.bias


        M = Model(2)
        STEPS = [fm.step(outputs="raw")(M.load), fm.step(outputs="fitted")(M.fit),
                 fm.step(outputs="scored")(M.score)]
    '''))
    monkeypatch.syspath_prepend(str(project))
    import cls_mod

    calls: list[type] = []
    original = fingerprint._class_ast

    def counting(cls: type) -> Any:
        calls.append(cls)
        return original(cls)

    monkeypatch.setattr(fingerprint, "_class_ast", counting)
    try:
        graph = fm.Pipeline("m", cls_mod.STEPS).build()
        assert calls.count(cls_mod.Model) == 1
        for name in ("load", "fit", "score"):
            parts = graph.fingerprints[name].parts
            assert any(k.startswith("class ") and k.endswith(":Model") for k in parts)
            assert sum(k.startswith("method ") for k in parts) >= 3
        run = fm.Pipeline("m", cls_mod.STEPS).run()  # a run builds again: read again
        m = cls_mod.M
        assert run["scored"] == m.score(m.fit(m.load())) and calls.count(cls_mod.Model) == 2
    finally:
        sys.modules.pop("cls_mod", None)


def test_tokens_are_shared_only_within_a_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While steps run, the code an input references is fingerprinted afresh each time:
    a step may have changed a value in between, and that value is what counts."""
    from flowyml.core.fingerprint import code_ref_parts

    (tmp_path / "ref_mod.py").write_text(textwrap.dedent('''
        TABLE = {"a": 1}


        class Scaler:
            def scale(self, x):
                return x * TABLE["a"]
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    import ref_mod

    try:
        before, _ = code_ref_parts(["ref_mod:Scaler"], tmp_path, "s")
        ref_mod.TABLE["a"] = 2  # in place: the same object, another value
        after, _ = code_ref_parts(["ref_mod:Scaler"], tmp_path, "s")
        changed = {k for k in before if before[k] != after.get(k)}
        assert changed and all(k.endswith(":TABLE") for k in changed)
    finally:
        sys.modules.pop("ref_mod", None)


_CLOSURES_MODULE = '''
import importlib
import flowyml as fm
import cfg_b as cfg


def leaf(x):
    return x + cfg.X


def left(x):
    return leaf(x) * 2


def right(x):
    return leaf(x) - 1


def diamond(x):
    return left(x) + right(x)


def ping(n):
    return n if n <= 0 else pong(n - 1)


def pong(n):
    return ping(n - 1) + 1


def local_cfg():
    import cfg_a as cfg
    return cfg.X


def dynamic(name):
    return importlib.import_module(name).X


class Model:
    SCALE = 3

    def predict(self, x):
        return leaf(x) * self.SCALE

    @staticmethod
    def helper(x):
        return diamond(x)


alias = Model.helper


def uses_model(x):
    return Model().predict(x) + alias(x)


def back_into(x):
    return s_recursive(x - 1) if x > 0 else 0


OPS = {f"op{i}": (lambda i: lambda x: leaf(x) + i)(i) for i in range(10)}
for _i in range(10):
    def _op(x, _k=_i):
        return diamond(x) + _k
    OPS[f"d{_i}"] = _op


@fm.step(outputs="a")
def s_a():
    return diamond(1) + ping(4)


@fm.step(outputs="b")
def s_b(a):
    return local_cfg() + leaf(a) + OPS["op3"](a)


@fm.step(outputs="c")
def s_c(a):
    return uses_model(a) + pong(3) + OPS["d1"](a)


@fm.step(outputs="d")
def s_recursive(c):
    return back_into(c) + dynamic("cfg_b") + Model.helper(c)


TABLE = {"s": s_recursive, **{f"k{i}": leaf for i in range(10)}}


@fm.step(outputs="e")
def s_table(d):
    return TABLE["k1"](d)


def raw_self(e):
    return OPS2["k1"](e) + 1


OPS2 = {"me": raw_self, **{f"k{i}": (lambda i: lambda x: leaf(x) * i)(i) for i in range(10)}}


@fm.step(outputs="g1")
def s_other1(e):
    return OPS2["k2"](e)


@fm.step(outputs="g2")
def s_other2(g1):
    return OPS2["k3"](g1)


s_self = fm.step(outputs="g3")(raw_self)


def _many(i):
    def many(a):
        return diamond(a) + i
    return fm.step(outputs=f"m{i}", name=f"many{i}")(many)


MANY = [_many(i) for i in range(5)]


def _make_own(k):
    def own_fn(g3, scale=2):
        return back_to_own(g3) * k * scale
    return own_fn


own_fn = _make_own(3)


def back_to_own(x):
    return own_fn(x - 1) if x > 100 else x


@fm.step(outputs="g4")
def s_before_own(g3):
    return back_to_own(g3)


s_own = fm.step(outputs="g5")(own_fn)


class Steps:
    def __init__(self, k):
        self.k = k

    def method(self, g5):
        return Model().predict(g5) + uses_model(self.k)


STEPS = Steps(2)
'''


def _closures_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "cfg_a.py").write_text("X = 1\n")
    (tmp_path / "cfg_b.py").write_text("X = 10\n")
    (tmp_path / "closures_mod.py").write_text(_CLOSURES_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("closures_mod", "cfg_a", "cfg_b"):
        sys.modules.pop(name, None)
    import closures_mod

    return closures_mod


def _closure_steps(mod: Any) -> list[Any]:
    import flowyml as fm

    method = fm.step(outputs="f")(mod.STEPS.method)
    return [mod.s_a, mod.s_b, mod.s_c, mod.s_recursive, mod.s_table, mod.s_other1,
            mod.s_other2, mod.s_self, mod.s_before_own, mod.s_own, method]


def test_helpers_many_steps_reach_are_walked_once_per_build_with_the_same_parts(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a helper reaches is walked once per build and added to each step that calls
    it (more steps calling it walk nothing more). Each step's parts are the ones a fingerprint of that step alone takes, whatever
    the order the steps come in, and the ones a worker re-takes (``differing_parts``):
    through diamonds, recursion (into the step itself too), a method also reached under
    another name, a dispatch table of functions, and a name bound to two modules."""
    import warnings

    import flowyml as fm
    from flowyml.core import fingerprint as fp
    from flowyml.core.statecheck import _compared, differing_parts

    mod = _closures_module(tmp_path, monkeypatch)
    try:
        walked: list[str] = []
        body = fp._function_body

        def counting(ctx: Any, fn: Any, label: str, info: Any) -> None:
            walked.append(fn.__qualname__)
            body(ctx, fn, label, info)

        monkeypatch.setattr(fp, "_function_body", counting)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fm.Pipeline("closures", [*_closure_steps(mod), mod.MANY[0]]).build()
        once = {name: walked.count(name) for name in set(walked)}
        walked.clear()
        graph = fm.Pipeline("closures", [*_closure_steps(mod), *mod.MANY]).build()
        # four more steps calling diamond(): no helper is walked once more
        assert {name: walked.count(name) for name in set(walked)} == once
        assert "diamond" in once and "leaf" in once
        # the helper that imports by a computed name warns for each step reaching it
        dyn = {str(w.message).split("'")[1] for w in caught
               if "importlib.import_module() with a computed name" in str(w.message)}
        assert dyn == {"s_recursive", "s_table"}, dyn  # s_table: through TABLE

        reversed_graph = fm.Pipeline("closures", [*_closure_steps(mod), *mod.MANY][::-1]).build()
        for name in graph.order:
            step = graph.steps[name]
            values = {p: b.value for p, b in graph.bindings[name].items()
                      if b.kind in ("value", "default")}
            alone, _ = fp.fingerprint_step(step, values, project)
            assert graph.fingerprints[name].parts == alone.parts, name
            assert reversed_graph.fingerprints[name].parts == alone.parts, name
            expected = {k: v for k, v in alone.parts.items() if _compared(k, v)}
            assert differing_parts(step, values, str(project), expected) == [], name
        # s_b counts both modules' cfg.X; s_c counts Model.helper under both its names
        b = graph.fingerprints["s_b"].parts
        (x,) = [k for k in b if k.endswith("closures_mod.py:cfg.X")]
        assert b[x] not in (fp.value_token(10), fp.value_token(1))  # both values count
        c = graph.fingerprints["s_c"].parts
        assert {k.split()[0] for k in c if k.endswith("closures_mod.py:Model.helper")} == {
            "helper", "method"}, sorted(c)
    finally:
        for name in ("closures_mod", "cfg_a", "cfg_b"):
            sys.modules.pop(name, None)


def test_a_helper_chain_thousands_deep_is_fingerprinted(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions a closure meets are walked from a worklist, not by recursion: a
    chain of helpers deeper than Python's recursion limit builds (it raised
    ``RecursionError`` at 400), and an edit at its far end changes the step's key."""
    import flowyml as fm

    def write(last: str) -> None:
        lines = ["import flowyml as fm", ""]
        for i in range(3000):
            nxt = f"h{i + 1}(x - 1)" if i < 2999 else last
            lines += [f"def h{i}(x):", f"    return {nxt} if x > 0 else 0", ""]
        lines += ["@fm.step(outputs='a')", "def s():", "    return h0(3)"]
        (tmp_path / "deep_mod.py").write_text("\n".join(lines) + "\n")
        sys.modules.pop("deep_mod", None)

    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        write("x")
        import deep_mod

        before = fm.Pipeline("deep", [deep_mod.s]).build().fingerprints["s"]
        assert "helper deep_mod.py:h2999" in before.parts or any(
            k.endswith(":h2999") for k in before.parts)
        write("x + 1")
        import deep_mod as edited

        after = fm.Pipeline("deep", [edited.s]).build().fingerprints["s"]
        assert [k for k in before.parts if before.parts[k] != after.parts.get(k)] == [
            next(k for k in before.parts if k.endswith(":h2999"))]
    finally:
        sys.modules.pop("deep_mod", None)


_TWO_TABLES = '''
import flowyml as fm

SCALE = 10


def op_scale(x):
    return x * SCALE


def op_fmt(x):
    return FORMATS["plain"](x)


def fmt_plain(x):
    return str(x)


def fmt_scaled(x):
    return str(OPS["scale"](x))


OPS = {"scale": op_scale, "fmt": op_fmt, **{f"k{i}": abs for i in range(8)}}
FORMATS = {"plain": fmt_plain, "scaled": fmt_scaled, **{f"k{i}": str for i in range(8)}}
for _i in range(8):
    OPS[f"f{_i}"] = (lambda i: lambda x: x + i)(_i)
    FORMATS[f"f{_i}"] = (lambda i: lambda x: str(x + i))(_i)


@fm.step(outputs="a")
def s1(n: int = 3):
    return OPS["f1"](n)


@fm.step(outputs="b")
def s2(n: int = 3):
    return OPS["f2"](n)


@fm.step(outputs="y")
def s3(n: int = 3):
    return FORMATS["scaled"](n)
'''


def test_two_tables_that_reach_each_other_count_everything_either_holds(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table's functions are visited once per build and merged into each later step
    that reads it, but only once that visit is whole: a table whose functions read a
    second table, whose functions read the first, merged its half-made visit (missing
    ``SCALE``), which the build then kept: a stale hit on ``SCALE``'s edit, and a worker
    that disagreed with its driver."""
    import flowyml as fm
    from flowyml.core import fingerprint as fp

    (tmp_path / "tables_mod.py").write_text(_TWO_TABLES)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("tables_mod", None)
    try:
        import tables_mod as mod

        graph = fm.Pipeline("t", [mod.s1, mod.s2, mod.s3]).build()
        for name in graph.order:
            alone, _ = fp.fingerprint_step(graph.steps[name], {"n": 3}, project)
            assert graph.fingerprints[name].parts == alone.parts, name
        assert any(k.endswith(":SCALE") for k in graph.fingerprints["s3"].parts)
    finally:
        sys.modules.pop("tables_mod", None)


def test_a_registry_read_under_many_names_stays_small(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry of functions that read the registry again, each through a name of its
    own module: the visit of its functions was merged into itself while being made, and
    what it kept doubled for every module (16 plugins: ~100 MB, 25: out of memory)."""
    import tracemalloc

    import flowyml as fm

    (tmp_path / "registry_mod.py").write_text(
        "REGISTRY = {}\n\n\ndef register(fn):\n    REGISTRY[fn.__name__] = fn\n    return fn\n")
    plugins = tmp_path / "plugins_pkg"
    plugins.mkdir()
    (plugins / "__init__.py").write_text("")
    for k in range(18):
        (plugins / f"p{k}.py").write_text(textwrap.dedent(f'''
            from registry_mod import REGISTRY, register


            @register
            def op{k}(x):
                if x > 100:
                    return REGISTRY["op0"](x - 100)
                return x + {k}
        '''))
    imports = "\n".join(f"import plugins_pkg.p{k}" for k in range(18))
    (tmp_path / "plug_pipe.py").write_text(f'''
import flowyml as fm
from registry_mod import REGISTRY
{imports}


@fm.step(outputs="y")
def total(n: int = 3):
    return sum(op(n) for op in REGISTRY.values())


@fm.step(outputs="z")
def first(n: int = 3):
    return REGISTRY["op1"](n)
''')
    monkeypatch.syspath_prepend(str(tmp_path))
    names = ["plug_pipe", "registry_mod", "plugins_pkg",
             *(f"plugins_pkg.p{k}" for k in range(18))]
    try:
        import plug_pipe

        tracemalloc.start()
        try:
            graph = fm.Pipeline("plug", [plug_pipe.total, plug_pipe.first]).build()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 30 * 2**20, f"{peak / 2**20:.0f} MiB"
        assert sum(1 for k in graph.fingerprints["total"].parts if ":op" in k) >= 18
    finally:
        for name in names:
            sys.modules.pop(name, None)


def test_python_minus_o_is_part_of_the_key(project: Path) -> None:
    """Under ``python -O`` asserts and ``if __debug__:`` blocks are not compiled: the
    same text computes something else, so a result made without -O is not reused
    under it (nor the other way), and a plain run's key does not change."""
    from tests.conftest import child_env

    (project / "pipe.py").write_text(textwrap.dedent("""
        import json
        import flowyml as fm

        @fm.step(outputs="mode")
        def mode():
            return "checked" if __debug__ else "fast"

        run = fm.Pipeline("p", [mode]).run()
        print(json.dumps([run["mode"], run.steps["mode"].status]))
    """))

    def run(*flags: str) -> list[str]:
        out = subprocess.run([sys.executable, *flags, "pipe.py"], cwd=project, text=True,
                             capture_output=True, env=child_env(), check=True).stdout
        return list(json.loads(out.splitlines()[-1]))

    assert run() == ["checked", "executed"]
    assert run("-O") == ["fast", "executed"]
    assert run("-O") == ["fast", "cached"]
    assert run() == ["checked", "cached"]


class _PicklesLight:
    """Its pickle keeps the path (and a placeholder for the table it reloads); the
    table it loaded from it counts too."""

    def __init__(self, path: str, table: dict[str, float]) -> None:
        self.path, self.table = path, table

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "table": None}


class _HoldsAResource(_PicklesLight):
    """A connection and a lock beside its data: they count by their types only."""

    def __init__(self, path: str, table: dict[str, float], pid: int) -> None:
        super().__init__(path, table)
        self.conn, self.lock, self.pid = sqlite3.connect(":memory:"), threading.Lock(), pid


def test_what_a_pickle_of_yours_leaves_out_counts_a_resource_by_its_type() -> None:
    light = [_PicklesLight("rates.csv", {"a": t}) for t in (2.0, 5.0)]
    assert value_token(light[0]) != value_token(light[1])  # the table read at import
    held = [_HoldsAResource("rates.csv", {"a": t}, 100) for t in (2.0, 2.0, 5.0)]
    assert value_token(held[0]) == value_token(held[1])  # two connections: one type
    assert value_token(held[0]) != value_token(held[2])  # the table beside them
    # a value beside it counts, whatever it is: a weight read at import, or its pid
    # (which the fingerprint cannot tell apart: such an object's steps re-execute)
    assert value_token(held[0]) != value_token(_HoldsAResource("rates.csv", {"a": 2.0}, 200))


def test_a_scripts_logger_counts_by_the_name_its_file_has_as_a_module(tmp_path: Path) -> None:
    """``__main__``'s logger is named as ``flowyml run`` imports the file: up the
    folders that are packages and can be named so (``my-proj`` cannot), and a file
    whose name cannot be a module's under the CLI's stand-in name."""
    from flowyml.core.ownership import SCRIPT_MODULE, script_module_name

    for folder, file, want in (("pkg", "pipe.py", "pkg.pipe"), ("my-proj", "pipe.py", "pipe"),
                               ("app", "train-model.py", SCRIPT_MODULE)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
        assert script_module_name(str(tmp_path / folder / file)) == want


def test_dask_and_polars_settings_count_what_computes_not_where_or_how_it_logs() -> None:
    """A value of ``dask.config`` or ``pl.Config`` that changes what a step returns
    counts; where dask computes, how it optimizes and tokenizes, its logs, temporary
    folder and error reports, and polars' logs, warnings and engine do not (each was a
    re-execution on every change)."""
    import dask
    import polars as pl

    from flowyml.core.settings import changed

    where = {"temporary-directory": "/tmp/elsewhere", "logging.distributed": "debug",
             "admin.traceback.shorten": [], "scheduler": "threads",
             "tokenize.ensure-deterministic": True, "optimization.fuse.active": False,
             "dataframe.shuffle.compression": "zlib"}
    with dask.config.set(where):
        assert changed("dask") == {}
        with dask.config.set({"dataframe.convert-string": False}):
            assert changed("dask") == {"dataframe.convert-string": False}
    with pl.Config(verbose=True, warn_unstable=True):
        assert changed("polars") == {}
        with pl.Config(tbl_rows=4):
            assert changed("polars") == {"POLARS_FMT_MAX_ROWS": "4"}


def test_left_out_data_too_big_to_walk_makes_the_object_opaque(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Data a pickle of yours leaves out that is too big to walk is no resource: the
    object has no token (a warning and a re-execution), not one by the data's type."""
    from flowyml.core import tokens

    monkeypatch.setattr(tokens, "MAX_NODES", 50)
    assert value_token(_PicklesLight("rates.csv", {f"k{i}": [float(i)] for i in range(100)})
                       ).startswith("opaque")


def test_an_environment_variable_read_through_a_closure_counts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A function made by another that imported ``os`` (a step factory, a test) reads
    ``os.getenv`` through its closure: the variable counts as it does through a global
    (it was reused after ``DEPTH`` changed)."""
    import os

    def make():
        local_os = os

        def depth():
            return int(local_os.getenv("FM_DEPTH", "1"))
        return depth

    monkeypatch.setenv("FM_DEPTH", "1")
    before = fingerprint_function(make(), root=tmp_path).parts
    assert "env FM_DEPTH" in before
    monkeypatch.setenv("FM_DEPTH", "2")
    assert fingerprint_function(make(), root=tmp_path).parts != before


NAMING_NOTHING = '''
import os

LOG = []


def plain(a):
    return [x + 1 for x in a]


def sets_an_item(a):
    a[0] = 1
    return a


def extends(a):
    a += [1]
    return a


def lambda_naming_a_global(a):
    return (lambda: len(LOG))()


def comprehension_naming_a_global(a):
    return [LOG for _ in a]


def with_a_default(a, push=LOG.append):
    push(a)
    return a


def _factory():
    env = os.environ

    def from_a_closure():
        return env["FM_NAMING_NOTHING"]
    return from_a_closure


from_a_closure = _factory()
'''


def test_only_code_naming_nothing_skips_the_search_for_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build skips looking for what a function changes or reaches only when its
    code (nested code too) names no global, attribute or module, it holds no closure
    or default, and its facts say it changes nothing: a parameter's item set, ``+=``,
    a lambda's or a comprehension's global, a default's bound method, a closure's
    ``os.environ`` are each still seen."""
    from flowyml.core import fingerprint as fpm

    (tmp_path / "naming_nothing.py").write_text(NAMING_NOTHING)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FM_NAMING_NOTHING", "1")
    import naming_nothing as mod

    try:
        skipped = {name for name in ("plain", "sets_an_item", "extends",
                                     "lambda_naming_a_global", "comprehension_naming_a_global",
                                     "with_a_default", "from_a_closure")
                   if fpm._changes_nothing(getattr(mod, name),
                                           fpm._info(getattr(mod, name), True))}
        assert skipped == {"plain"}
        before = fingerprint_function(mod.from_a_closure, root=tmp_path).parts
        monkeypatch.setenv("FM_NAMING_NOTHING", "2")
        assert explain_parts(before, fingerprint_function(
            mod.from_a_closure, root=tmp_path).parts) == ["closure value env changed"]
        assert any(k.endswith("LOG") for k in fingerprint_function(
            mod.lambda_naming_a_global, root=tmp_path).parts)
        assert sorted(fingerprint_function(mod.plain, root=tmp_path).parts) == ["code"]
    finally:
        sys.modules.pop("naming_nothing", None)


HUGE = 10 ** 5000  # past Python's 4,300 digits for ``repr``


def huge_step(n: int = 10 ** 4400) -> int:
    return HUGE % 97 + n % 89


def test_an_int_too_long_for_repr_has_a_token() -> None:
    """An int past ``sys.get_int_max_str_digits()`` (``10 ** 5000``, a key or a
    constant) cannot be written by ``repr``: it counts by its hex, one token per value,
    and the build does not fail."""
    assert value_token(HUGE) != value_token(HUGE + 1)
    assert value_token(HUGE) == value_token(10 ** 5000)
    assert value_token(-HUGE) != value_token(HUGE)
    assert value_token(HUGE) != value_token(hex(HUGE))  # (a string of its hex)
    parts = fingerprint_function(huge_step, root=ROOT.parent).parts
    assert any(k.endswith("HUGE") for k in parts)


ARRAY = np.array([1 / 3])


def prints_a_global_array() -> str:
    return str(ARRAY)


def test_a_librarys_settings_count_for_a_value_of_it_the_code_never_names() -> None:
    """``str(ARRAY)`` prints by numpy's options though the code never names numpy: the
    array, tokenized as a constant, makes numpy's settings part of the key."""
    from flowyml.core import fingerprint as fp_mod

    def parts() -> dict[str, str]:
        fp_mod._settings_parts.clear()  # (read once per build)
        return fingerprint_function(prints_a_global_array, root=ROOT.parent).parts

    before = parts()
    assert "library numpy" in before and "settings numpy" not in before
    old = np.get_printoptions()
    np.set_printoptions(precision=2)
    try:
        assert "settings numpy" in parts()
    finally:
        np.set_printoptions(**old)
        fp_mod._settings_parts.clear()
