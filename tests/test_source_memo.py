"""The fingerprint's memo of what source text says (``core/source_memo.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowyml.core.source_memo import KEEP_DAYS, SourceMemo
from tests.conftest import child_env

# a memo hit neither parses nor loads the module that analyses text
_NOTHING_ANALYSED = ("if sys.argv[1:] == ['no-parse']:\n"
                     "    assert 'flowyml.core.code_analysis' not in sys.modules\n")


def test_entries_survive_the_process_and_a_corrupt_file_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWYML_FINGERPRINT_MEMO", str(tmp_path))
    memo = SourceMemo("salt")
    group = memo.group("f.py")
    key = memo.entry_key("keep", "def f():\n    return 1\n")
    memo.put(group, key, {"d": "x"})
    memo.flush()
    assert SourceMemo("salt").get(group, key) == {"d": "x"}
    assert SourceMemo("other salt").group("f.py") != group
    (tmp_path / f"{group}.json").write_text("{not json")
    assert SourceMemo("salt").get(group, key) is None


def test_a_group_keeps_what_its_writer_used_and_the_newest_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries are keyed by text, grouped by file: after an edit, the file's unchanged
    functions still hit; old versions are kept up to ``KEEP_UNUSED``."""
    import flowyml.core.source_memo as sm

    monkeypatch.setenv("FLOWYML_FINGERPRINT_MEMO", str(tmp_path))
    monkeypatch.setattr(sm, "KEEP_UNUSED", 2)
    first = SourceMemo("salt")
    group = first.group("/p/steps.py")
    for i in range(5):  # five versions of one function, then the file's other function
        first.put(group, f"v{i}", {"d": str(i)})
    first.put(group, "other", {"d": "o"})
    first.flush()
    second = SourceMemo("salt")  # a later process: the edited file, the same group
    assert second.group("/p/steps.py") == group
    assert second.get(group, "other") == {"d": "o"}  # unchanged function: a hit
    second.put(group, "v5", {"d": "5"})
    second.flush()
    kept = SourceMemo("salt")
    assert [k for k in ("v0", "v1", "v2", "v3", "v4", "v5", "other")
            if kept.get(group, k) is not None] == ["v3", "v4", "v5", "other"]


def test_off_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWYML_FINGERPRINT_MEMO", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    memo = SourceMemo("salt")
    memo.put("g", "k", {"d": "x"})
    memo.flush()
    assert not any(tmp_path.rglob("*"))


def test_unused_files_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWYML_FINGERPRINT_MEMO", str(tmp_path))
    old = tmp_path / "old.json"
    old.write_text("{}")
    past = time.time() - (KEEP_DAYS + 1) * 86400
    os.utime(old, (past, past))
    memo = SourceMemo("salt")
    memo.put("new", "k", {"d": "x"})
    memo.flush()
    assert not old.exists() and (tmp_path / "new.json").exists()
    # the folder is listed at most once a day: a process tomorrow removes the next one
    old.write_text("{}")
    os.utime(old, (past, past))
    again = SourceMemo("salt")
    again.put("newer", "k", {"d": "x"})
    again.flush()
    assert old.exists()
    yesterday = time.time() - 86400 - 60
    os.utime(tmp_path / ".pruned", (yesterday, yesterday))
    later = SourceMemo("salt")
    later.put("newest", "k", {"d": "x"})
    later.flush()
    assert not old.exists()


def test_an_edit_misses_the_memo_and_re_executes(project: Path, tmp_path: Path) -> None:
    """Fresh processes share the memo; an edited step is a new entry, so it re-executes,
    and an unchanged one is still reused (the memo only saves parsing)."""
    memo = tmp_path / "memo"
    (project / "steps.py").write_text(
        "import flowyml as fm\n\n"
        "@fm.step(outputs='a')\ndef a():\n    return 1\n\n"
        "@fm.step(outputs='b')\ndef b(a):\n    return a + 1\n\n"
        "run = fm.Pipeline('p', [a, b]).run()\n"
        "print(run['b'], run.steps['a'].cached, run.steps['b'].cached)\n"
    )
    env = child_env()
    env["FLOWYML_FINGERPRINT_MEMO"] = str(memo)

    def run() -> str:
        return subprocess.run([sys.executable, "steps.py"], cwd=project, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    assert run() == "2 False False"
    assert list(memo.glob("*.json")), "the first process wrote the memo"
    assert run() == "2 True True"
    src = (project / "steps.py").read_text().replace("return a + 1", "return a + 2")
    (project / "steps.py").write_text(src)
    assert run() == "3 True False"
    (project / "steps.py").write_text(src.replace("return 1\n", "return 1  # one\n"))
    assert run() == "3 True True", "a comment is not a code change, memo or not"


def test_a_warm_memo_records_the_same_code_without_parsing(project: Path, tmp_path: Path) -> None:
    """The normalized source a run records (``code_sources``) is kept with the memo's
    facts: a later process, in a fresh project, records the same texts without parsing
    a single function."""
    import sqlite3

    memo = tmp_path / "memo"
    (project / "steps.py").write_text(
        "import sys\nimport flowyml as fm\n\n"
        "def helper(x):\n    '''Doubles.'''\n    return 2 * x  # twice\n\n"
        "@fm.step(outputs='a')\ndef a():\n    return helper(1)\n\n"
        "@fm.step(outputs='b')\ndef b(a):\n    return a + 1\n\n"
        "if sys.argv[1:] == ['no-parse']:\n"
        "    import flowyml.core.code_text as T, flowyml.core.fingerprint as F\n"
        "    def refuse(*args):\n        raise AssertionError('parsed a function')\n"
        "    T.parse_text = F.parse_text = refuse\n"
        "print(fm.Pipeline('p', [a, b]).run()['b'])\n"
        + _NOTHING_ANALYSED
    )
    env = child_env()
    env["FLOWYML_FINGERPRINT_MEMO"] = str(memo)

    def codes() -> set[str]:
        with sqlite3.connect(project / ".flowyml" / "catalog.db") as db:
            return {t for (t,) in db.execute("SELECT text FROM code_sources")}

    def run(*args: str) -> None:
        out = subprocess.run([sys.executable, "steps.py", *args], cwd=project, env=env,
                             capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.strip() == "3", out.stderr

    run()
    first = codes()
    assert "def helper(x):\n    return 2 * x" in first  # docstring and comment gone
    for path in (project / ".flowyml").iterdir():
        if path.name.startswith("catalog.db"):
            path.unlink()  # a fresh catalog: the code is recorded again
    run("no-parse")
    assert codes() == first


def test_a_build_alone_keeps_what_it_parsed(project: Path, tmp_path: Path) -> None:
    """``build()`` without a run writes the memo too (a run writes it once, at its
    end): the next process builds without parsing a function."""
    (project / "steps.py").write_text(
        "import sys\nimport flowyml as fm\n\n"
        "@fm.step(outputs='a')\ndef a():\n    return 1\n\n"
        "if sys.argv[1:] == ['no-parse']:\n"
        "    import flowyml.core.code_text as T, flowyml.core.fingerprint as F\n"
        "    def refuse(*args):\n        raise AssertionError('parsed a function')\n"
        "    T.parse_text = F.parse_text = refuse\n"
        "print(len(fm.Pipeline('p', [a]).build().fingerprints))\n"
        + _NOTHING_ANALYSED
    )
    env = child_env()
    env["FLOWYML_FINGERPRINT_MEMO"] = str(tmp_path / "memo")
    for args in ([], ["no-parse"]):
        out = subprocess.run([sys.executable, "steps.py", *args], cwd=project, env=env,
                             capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.strip() == "1", out.stderr
    assert not (project / ".flowyml").exists()  # a build runs nothing, records nothing


def test_a_big_group_is_written_when_a_tenth_is_new_and_at_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group is rewritten whole: a big one is not rewritten for each function a build
    adds (a process building many pipelines of one module), but once a tenth of it is
    new, and what is left when the process exits."""
    import textwrap

    import flowyml.core.source_memo as sm

    monkeypatch.setenv("FLOWYML_FINGERPRINT_MEMO", str(tmp_path))
    memo = SourceMemo("salt")
    group = memo.group("/p/big.py")
    for i in range(sm.WRITE_ALWAYS + 44):  # 300: written, all new
        memo.put(group, f"k{i}", {"d": str(i)})
    memo.flush()
    assert SourceMemo("salt").get(group, "k0") == {"d": "0"}
    for i in range(300, 333):  # 33 new: under a tenth of 333, not written yet
        memo.put(group, f"k{i}", {"d": str(i)})
        memo.flush()
    assert SourceMemo("salt").get(group, "k300") is None
    memo.put(group, "k333", {"d": "333"})  # the 34th: a tenth of 334, written
    memo.flush()
    assert SourceMemo("salt").get(group, "k300") == {"d": "300"}

    code = textwrap.dedent(f"""
        from flowyml.core.source_memo import SourceMemo
        memo = SourceMemo("salt")
        group = memo.group("/p/big.py")
        assert memo.get(group, "k0") is not None
        memo.put(group, "late", {{"d": "late"}})
        memo.flush()  # one new entry of 335: left for the exit
        import os
        assert "late" not in open(os.path.join({str(tmp_path)!r}, group + ".json")).read()
    """)
    env = {**os.environ, "FLOWYML_FINGERPRINT_MEMO": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert SourceMemo("salt").get(group, "late") == {"d": "late"}
