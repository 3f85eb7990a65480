"""A file a step opens by a plain path counts too: the files each execution read are
recorded with the cache entry, and a reuse checks them first. An edit re-executes the
step with a reason that names the file; a touch does not; nothing FlowyML itself reads
for the step (the store, lazy inputs, imported code) is recorded."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from flowyml.core import hashing, reads
from tests.conftest import child_env, import_from, run_py, write


def _statuses(run: fm.Run) -> dict[str, str]:
    return {name: str(s.status) for name, s in run.steps.items()}


def _recorded(project: Path) -> dict[str, list[list[object]]]:
    """Step -> the files its newest cache entry holds (as the catalog keeps them)."""
    con = sqlite3.connect(project / ".flowyml" / "catalog.db")
    try:
        rows = con.execute("SELECT step, reads FROM cache_entries ORDER BY created_at").fetchall()
    finally:
        con.close()
    return {step: [f for f in json.loads(r) if f[-1] != reads.CWD] if r else []
            for step, r in rows}  # where relative paths resolved: its own test


@fm.step(outputs="total")
def load_total() -> int:
    with open("data/raw.csv") as f:
        return sum(int(x) for x in f.read().split()[1:])


@fm.step(outputs="double")
def double(total: int) -> int:
    return total * 2


PIPE = fm.Pipeline("reads", [load_total, double])


def _plain(path: Path) -> int:
    """What load_total computes, called directly."""
    return sum(int(x) for x in path.read_text().split()[1:])


def _a_tick_old(path: Path) -> None:
    """Wait until ``path`` changed more than a timestamp tick ago: a read then records
    its stat (a file changed more recently is checked by content, ``hashing.just_changed``)."""
    while hashing.just_changed(path.stat().st_ctime_ns):
        time.sleep(0.002)


def _coarse_timestamps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stats the recording takes, as a file system with timestamps in whole seconds
    (FAT, HFS+, ext3) gives them: two writes within a second leave the same times. (A
    kernel tick plays that part on Linux without multigrain timestamps; this one has
    them, so a same-tick write cannot happen here for real.) Then waits for the start
    of a second, so that what the test does next falls within one."""
    stat_of, dir_times = reads._stat, reads._dir_mtime

    def whole(ns: int) -> int:
        return ns // 10**9 * 10**9

    def coarse_stat(path: str) -> tuple[int, int, int] | None:
        st = stat_of(path)
        return None if st is None else (st[0], whole(st[1]), whole(st[2]))

    def coarse_dir(path: str) -> tuple[int, int] | None:
        times = dir_times(path)
        return None if times is None else (whole(times[0]), whole(times[1]))

    monkeypatch.setattr(reads, "_stat", coarse_stat)
    monkeypatch.setattr(reads, "_dir_mtime", coarse_dir)
    time.sleep(1.01 - time.time() % 1)


def test_an_undeclared_file_counts_by_content(project: Path) -> None:
    (project / "data").mkdir()
    raw = project / "data" / "raw.csv"
    raw.write_text("a\n1\n2\n")

    _a_tick_old(raw)
    first = PIPE.run()
    assert (first["total"], first["double"]) == (_plain(raw), 6)
    st = raw.stat()
    assert _recorded(project)["load_total"] == [
        ["data/raw.csv", st.st_size, st.st_mtime_ns, reads.content_hash(str(raw)), st.st_ctime_ns]]
    again = PIPE.run()
    assert _statuses(again) == {"load_total": "cached", "double": "cached"}
    assert "the 1 file it read unchanged" in again.steps["load_total"].reason
    assert ("load_total", "reuse", "code, inputs, parameters and the 1 file it read "
            "unchanged") in PIPE.plan()

    os.utime(raw, (1, 1))  # a touch: the same bytes
    assert _statuses(PIPE.run()) == {"load_total": "cached", "double": "cached"}

    raw.write_text("a\n1\n5\n")  # an edit: the same path, other bytes
    plan = {name: (what, why) for name, what, why in PIPE.plan()}
    assert plan["load_total"][0] == "run" and "file data/raw.csv it read changed" in plan["load_total"][1]
    edited = PIPE.run()
    assert _statuses(edited) == {"load_total": "executed", "double": "executed"}
    assert edited["total"] == _plain(raw) == 6
    assert edited.steps["load_total"].reason.startswith(
        "executed: file data/raw.csv it read changed (content ")
    assert _statuses(PIPE.run()) == {"load_total": "cached", "double": "cached"}

    raw.unlink()  # gone: the step runs again, and says so
    with pytest.raises(fm.StepFailed, match="No such file"):
        PIPE.run()


def test_new_bytes_behind_an_old_mtime_are_seen(project: Path) -> None:
    """``cp -p``, ``touch -r``, ``rsync -t`` or tar put a file's mtime back over other
    bytes of the same size: size and mtime match what the step read, but the file's
    ctime (which no tool can put back) does not, so its content is checked. In the same
    process too (the per-process hash memo is keyed by the ctime as well)."""
    (project / "data").mkdir()
    raw = project / "data" / "raw.csv"
    raw.write_text("a\n1\n2\n")
    assert PIPE.run()["total"] == 3
    before = raw.stat()
    raw.write_text("a\n1\n5\n")  # the same size
    os.utime(raw, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (raw.stat().st_size, raw.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    edited = PIPE.run()
    assert _statuses(edited) == {"load_total": "executed", "double": "executed"}
    assert edited["total"] == _plain(raw) == 6
    assert "file data/raw.csv it read changed (content " in edited.steps["load_total"].reason
    assert _statuses(PIPE.run()) == {"load_total": "cached", "double": "cached"}
    data = fm.DataFile(raw)  # a declared file: its token follows the same rule
    token = data.__flowyml_token__()
    stamp = raw.stat()
    raw.write_text("a\n1\n7\n")
    os.utime(raw, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert data.__flowyml_token__() != token


def test_a_read_recorded_without_a_ctime_is_checked_by_content(project: Path) -> None:
    """Records from before ctimes were kept (four fields) prove nothing by their stat:
    the content decides, so the same bytes are still reused and new ones are not."""
    (project / "data").mkdir()
    raw = project / "data" / "raw.csv"
    raw.write_text("a\n1\n2\n")
    PIPE.run()
    with sqlite3.connect(project / ".flowyml" / "catalog.db") as db:
        db.execute("UPDATE cache_entries SET reads = :r WHERE reads IS NOT NULL",
                   {"r": json.dumps([r[:4] for r in _recorded(project)["load_total"]])})
    assert _statuses(PIPE.run()) == {"load_total": "cached", "double": "cached"}
    before = raw.stat()
    raw.write_text("a\n1\n5\n")
    os.utime(raw, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert _statuses(PIPE.run())["load_total"] == "executed"


def test_the_same_bytes_after_an_edit_keep_downstream_cached(project: Path) -> None:
    (project / "data").mkdir()
    raw = project / "data" / "raw.csv"
    raw.write_text("a\n1\n2\n")
    PIPE.run()
    raw.write_text("b\n2\n1\n")  # other bytes, the same total
    run = PIPE.run()
    assert _statuses(run) == {"load_total": "executed", "double": "cached"}


def test_what_flowyml_reads_for_the_step_is_not_recorded(project: Path) -> None:
    """Outputs and scratch files the step writes, code it imports, the store's files
    (a lazy input) and files of installed packages: none of them is the step's input."""
    (project / "config.json").write_text('{"k": 3}')

    @fm.step(outputs="big")
    def make() -> list[int]:
        return list(range(1000))  # big enough to be a file in the store

    @fm.step(outputs="y")
    def use(big: fm.ArtifactRef) -> int:
        import fractions  # noqa: F401  (a first import inside the step opens its code)
        import importlib.metadata

        importlib.metadata.version("blake3")  # reads the package's metadata files
        with open("scratch.txt", "w") as f:  # written, then read back
            f.write("5")
        with open("scratch.txt") as f:
            scratch = int(f.read())
        with open("config.json") as f:
            k = json.load(f)["k"]
        return sum(big.load()) * k + scratch

    pipe = fm.Pipeline("own", [make, use])
    assert pipe.run()["y"] == sum(range(1000)) * 3 + 5
    assert [r[0] for r in _recorded(project)["use"]] == ["config.json"]
    assert _statuses(pipe.run()) == {"make": "cached", "use": "cached"}


def test_a_file_outside_the_project_is_kept_by_its_absolute_path(
        project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "shared" / "lookup.txt"
    outside.parent.mkdir()
    outside.write_text("7")

    @fm.step(outputs="v")
    def read_it(path: str) -> int:
        return int(Path(path).read_text())

    pipe = fm.Pipeline("outside", [read_it])
    assert pipe.run(params={"path": str(outside)})["v"] == 7
    assert _recorded(project)["read_it"][0][0] == str(outside)
    outside.write_text("8")
    run = pipe.run(params={"path": str(outside)})
    assert run["v"] == 8 and _statuses(run) == {"read_it": "executed"}
    assert f"file {outside} it read changed" in run.steps["read_it"].reason


def test_a_file_that_changes_while_the_step_runs_is_never_taken_as_read(project: Path) -> None:
    data = project / "live.txt"
    data.write_text("1")

    @fm.step(outputs="v")
    def read_then_rewrite() -> int:
        value = int(Path("live.txt").read_text())
        os.utime("live.txt", ns=(1, 1))  # as if another process wrote it meanwhile
        return value

    pipe = fm.Pipeline("live", [read_then_rewrite])
    pipe.run()
    [[_, _, mtime, digest, ctime]] = _recorded(project)["read_then_rewrite"]
    assert (mtime, digest, ctime) == (-1, None, -1)
    assert _statuses(pipe.run()) == {"read_then_rewrite": "executed"}


def test_a_file_the_step_did_not_find_counts_by_its_absence(project: Path) -> None:
    """``try: open(...) except FileNotFoundError: default``: the result depends on the
    file being absent, so one created later re-executes the step (and one deleted
    again re-executes it once more)."""

    @fm.step(outputs="cfg")
    def load_cfg() -> dict[str, float]:
        try:
            with open("override.json") as f:
                return dict(json.load(f))
        except FileNotFoundError:
            return {"lr": 0.1}

    def plain() -> dict[str, float]:
        override = project / "override.json"
        return json.loads(override.read_text()) if override.exists() else {"lr": 0.1}

    pipe = fm.Pipeline("optional", [load_cfg])
    assert pipe.run()["cfg"] == plain() == {"lr": 0.1}
    assert _recorded(project)["load_cfg"] == [["override.json", -1, -1, "missing", -1]]
    again = pipe.run()
    assert _statuses(again) == {"load_cfg": "cached"}
    assert "the 1 file it read or looked for unchanged" in again.steps["load_cfg"].reason

    (project / "override.json").write_text('{"lr": 0.5}')
    why = "file override.json, missing when the step ran, now exists"
    assert ("load_cfg", "run", why) in pipe.plan()
    found = pipe.run()
    assert found["cfg"] == plain() == {"lr": 0.5}
    assert found.steps["load_cfg"].reason == f"executed: {why}"
    assert _statuses(pipe.run()) == {"load_cfg": "cached"}

    (project / "override.json").unlink()
    gone = pipe.run()
    assert gone["cfg"] == plain() == {"lr": 0.1}
    assert _statuses(gone) == {"load_cfg": "executed"}


def test_a_folder_the_step_did_not_find_counts_by_its_absence(project: Path) -> None:
    """``glob("inbox/*.txt")`` with no ``inbox`` yet: ``[]`` until the folder exists."""

    @fm.step(outputs="names")
    def inbox_files() -> list[str]:
        return sorted(os.path.basename(p) for p in glob.glob("inbox/*.txt"))

    pipe = fm.Pipeline("no_inbox", [inbox_files])
    assert pipe.run()["names"] == []
    assert _recorded(project)["inbox_files"] == [["inbox/", -1, -1, "missing", -1]]
    assert _statuses(pipe.run()) == {"inbox_files": "cached"}
    (project / "inbox").mkdir()
    (project / "inbox" / "a.txt").write_text("")
    found = pipe.run()
    assert found["names"] == sorted(os.listdir(project / "inbox")) == ["a.txt"]
    assert found.steps["inbox_files"].reason == (
        "executed: folder inbox/, missing when the step ran, now exists")
    assert _statuses(pipe.run()) == {"inbox_files": "cached"}


def test_a_path_the_step_only_checks_counts(project: Path) -> None:
    """``os.path.exists`` / ``Path.is_dir`` / ``os.path.getsize`` are ``stat`` calls,
    which Python does not audit: a path not there counts by its absence, a file by its
    size and times (no content is hashed for a check), a folder by its being there."""
    (project / "weights.bin").write_bytes(b"x" * 10)
    (project / "cache").mkdir()
    _a_tick_old(project / "weights.bin")  # else checked by content (racy), as a read is

    @fm.step(outputs="cfg")
    def settings() -> dict[str, int]:
        lr = 3 if os.path.exists("override.json") else 1  # checked, never opened
        return {"lr": lr, "size": os.path.getsize("weights.bin"),
                "cached": int(Path("cache").is_dir())}

    def plain() -> dict[str, int]:
        return {"lr": 3 if (project / "override.json").exists() else 1,
                "size": (project / "weights.bin").stat().st_size,
                "cached": int((project / "cache").is_dir())}

    pipe = fm.Pipeline("checks", [settings])
    first = pipe.run()
    assert first["cfg"] == plain() == {"lr": 1, "size": 10, "cached": 1}
    size = (project / "weights.bin").stat()
    assert _recorded(project)["settings"] == [
        ["cache", -1, -1, "folder", -1], ["override.json", -1, -1, "missing", -1],
        ["weights.bin", 10, size.st_mtime_ns, "stat", size.st_ctime_ns]]
    shown = str(fm.get_lineage(first.artifacts["cfg"].id))
    for line in ("reads cache (checked: folder)", "reads override.json (missing)",
                 "reads weights.bin (checked: 10 bytes)"):
        assert line in shown, shown
    again = pipe.run()
    assert _statuses(again) == {"settings": "cached"}
    assert "the 2 files and 1 folder it read or looked for unchanged" in again.steps[
        "settings"].reason

    (project / "override.json").write_text("{}")
    _a_tick_old(project / "override.json")
    found = pipe.run()
    assert found["cfg"] == plain() == {"lr": 3, "size": 10, "cached": 1}
    assert found.steps["settings"].reason == (
        "executed: file override.json, missing when the step ran, now exists")

    (project / "weights.bin").write_bytes(b"x" * 12)
    _a_tick_old(project / "weights.bin")
    grown = pipe.run()
    assert grown["cfg"] == plain() == {"lr": 3, "size": 12, "cached": 1}
    assert grown.steps["settings"].reason == (
        "executed: file weights.bin it checked changed (its size or times)")

    (project / "cache").rmdir()
    gone = pipe.run()
    assert gone["cfg"] == plain() == {"lr": 3, "size": 12, "cached": 0}
    assert gone.steps["settings"].reason == "executed: folder cache it checked is gone"
    assert _statuses(pipe.run()) == {"settings": "cached"}


def test_a_parquet_file_pandas_reads_counts_by_its_stat(project: Path) -> None:
    """pyarrow reads ``pd.read_parquet``'s file in C, unseen by ``open``. pandas asks
    ``os.path.isdir`` first, and a library's check of a path under the working folder,
    for the step's code, counts: the file by its size and times. Once
    ``pyarrow.parquet`` is imported when a step starts, pandas calls its reader through
    FlowyML's wrapper (``native_reads``), which records the file by its content."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pd.DataFrame({"a": [1, 2]}).to_parquet(project / "data.parquet")
    _a_tick_old(project / "data.parquet")

    @fm.step(outputs="total")
    def total() -> int:
        return int(pd.read_parquet("data.parquet")["a"].sum())

    def plain() -> int:
        return int(pd.read_parquet(project / "data.parquet")["a"].sum())

    pipe = fm.Pipeline("parquet", [total])
    assert pipe.run()["total"] == plain() == 3
    assert [r[0] for r in _recorded(project)["total"]] == ["data.parquet"]
    assert _statuses(pipe.run()) == {"total": "cached"}
    pd.DataFrame({"a": [1, 5]}).to_parquet(project / "data.parquet")
    edited = pipe.run()
    assert edited["total"] == plain() == 6
    reason = edited.steps["total"].reason
    assert reason == "executed: file data.parquet it checked changed (its size or times)" or (
        reason.startswith("executed: file data.parquet it read changed (content ")), reason


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    """The same stat result, but for the access time: reading the file (a recording
    hashes what a step reads) may move it to the next second between the two calls."""
    return tuple(a)[:7] + tuple(a)[8:] == tuple(b)[:7] + tuple(b)[8:]


def test_the_wrapped_stat_functions_behave_as_os_own(tmp_path: Path) -> None:
    """``os.stat`` / ``os.lstat``, once wrapped to see checks, take the same arguments,
    give the same results and errors, are in the same ``os.supports_*`` sets, and
    pickle by reference, inside a recording and outside one."""
    import pickle

    assert reads._install()
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "link").symlink_to("f.txt")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for inside in (False, True):
            with reads.recording() if inside else contextlib.nullcontext():
                assert _same(os.stat(tmp_path / "f.txt"), reads._real_stat(tmp_path / "f.txt"))
                assert _same(os.stat(tmp_path / "link", follow_symlinks=False),
                             reads._real_lstat(tmp_path / "link"))
                assert _same(os.lstat(str(tmp_path / "link")), reads._real_lstat(tmp_path / "link"))
                assert _same(os.stat("f.txt", dir_fd=fd), reads._real_stat(tmp_path / "f.txt"))
                assert _same(os.lstat(b"link", dir_fd=fd), reads._real_lstat(tmp_path / "link"))
                with pytest.raises(FileNotFoundError):
                    os.stat(tmp_path / "nothing")
                with pytest.raises(NotADirectoryError):
                    os.lstat(tmp_path / "f.txt" / "below")
    finally:
        os.close(fd)
    assert os.stat is not reads._real_stat and os.stat.__wrapped__ is reads._real_stat
    assert pickle.loads(pickle.dumps(os.stat)) is os.stat
    assert os.stat in os.supports_follow_symlinks and os.stat in os.supports_dir_fd


def test_a_memoized_helper_counts_for_each_step_that_gets_its_result(project: Path) -> None:
    """``@functools.lru_cache`` on a helper that reads a file: the first step computes
    (its open is recorded), the next gets the cached result and opens nothing. What the
    helper read counts for every step that got its result, in each process: an edit
    re-executes both (a module-level function and a method of a module-level object),
    for a file it opens, a database it queries and a folder it lists."""
    write(project / "memo_steps.py", '''
        import functools
        import json
        import os
        import sqlite3

        import flowyml as fm


        @functools.lru_cache
        def load_config():
            with open("config.json") as f:
                cfg = json.load(f)
            con = sqlite3.connect("data.db")  # read in C: seen by its own event
            try:
                cfg["db"] = con.execute("SELECT sum(x) FROM t").fetchone()[0]
            finally:
                con.close()
            return cfg


        class Inbox:
            @functools.lru_cache
            def names(self):
                return tuple(sorted(os.listdir("inbox")))


        INBOX = Inbox()


        @fm.step(outputs="a")
        def a() -> str:
            return f"{load_config()['x']}:{len(INBOX.names())}"


        @fm.step(outputs="b")
        def b() -> str:
            return f"{load_config()['y'] + load_config()['db']}:{','.join(INBOX.names())}"


        pipe = fm.Pipeline("memo", [a, b])
    ''')
    (project / "config.json").write_text('{"x": 1, "y": 2}')
    with sqlite3.connect(project / "data.db") as db:
        db.executescript("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (10);")
    db.close()
    (project / "inbox").mkdir()
    (project / "inbox" / "m1").write_text("")
    code = ("from memo_steps import pipe\n"
            "r = pipe.run()\n"
            "print(r['a'], r['b'], r.steps['a'].status, r.steps['b'].status)")

    def plain() -> list[str]:
        cfg = json.loads((project / "config.json").read_text())
        with sqlite3.connect(project / "data.db") as con:
            total = con.execute("SELECT sum(x) FROM t").fetchone()[0]
        con.close()
        names = sorted(os.listdir(project / "inbox"))
        return [f"{cfg['x']}:{len(names)}", f"{cfg['y'] + total}:{','.join(names)}"]

    assert run_py(project, code).split() == [*plain(), "executed", "executed"]
    assert run_py(project, code).split() == [*plain(), "cached", "cached"]
    (project / "config.json").write_text('{"x": 1, "y": 5}')
    assert run_py(project, code).split() == [*plain(), "executed", "executed"]
    with sqlite3.connect(project / "data.db") as db:
        db.execute("UPDATE t SET x = 20")
    db.close()
    assert run_py(project, code).split() == [*plain(), "executed", "executed"]
    (project / "inbox" / "m2").write_text("")
    assert run_py(project, code).split() == [*plain(), "executed", "executed"]
    assert run_py(project, code).split() == [*plain(), "cached", "cached"]


def test_a_check_made_by_library_code_or_before_writing_is_not_an_input(
        project: Path) -> None:
    """What the standard library checks for its own needs (``shutil.which`` looks along
    ``PATH``), and a path the step checks and then writes (``os.makedirs``, an output
    it replaces), are not the step's inputs; ``shutil``'s own use of ``os.stat`` works
    through the check (``copy2`` of a link, which asks ``os.supports_follow_symlinks``)."""
    import shutil

    (project / "src.txt").write_text("data")
    (project / "link.txt").symlink_to("src.txt")

    @fm.step(outputs="v")
    def export() -> str:
        link = os.path.islink("link.txt")  # (before shutil's own stat of it, below)
        found = shutil.which("surely-no-such-tool-here")
        os.makedirs("out/reports", exist_ok=True)
        if os.path.exists("out/result.txt"):
            os.remove("out/result.txt")
        Path("out/result.txt").write_text("done")
        shutil.copy2("link.txt", "out/link.txt", follow_symlinks=False)
        return f"{found}:{os.path.islink('out/link.txt')}:{link}"

    pipe = fm.Pipeline("checks_lib", [export])
    assert pipe.run()["v"] == "None:True:True"  # the link it checked counts by its being there
    assert _recorded(project)["export"] == [["link.txt", -1, -1, "present", -1]]
    assert _statuses(pipe.run()) == {"export": "cached"}


@pytest.mark.filterwarnings("ignore::flowyml.UnseenInputWarning")
def test_a_command_started_through_os_popen_counts(project: Path) -> None:
    """``os.popen`` runs its command through ``subprocess`` from ``os``, a module
    Python freezes (its frames are ``<frozen os>``): still the step's command."""
    (project / "prep.py").write_text(_SUM_SCRIPT.format(k=1))
    (project / "data.txt").write_text("1 2 3\n")

    @fm.step(outputs="total")
    def total() -> int:
        with os.popen(f"{sys.executable} prep.py data.txt") as out:
            return int(out.read())

    pipe = fm.Pipeline("popen", [total])
    assert pipe.run()["total"] == 6
    assert [r[0] for r in _recorded(project)["total"]] == ["data.txt", "prep.py"]
    (project / "data.txt").write_text("1 2 4\n")
    assert pipe.run()["total"] == 7


def test_a_step_that_starts_processes_is_warned_about(project: Path) -> None:
    """Files read in processes a step starts (a process pool, joblib, a data loader's
    workers) are opened in another process, where no recording sees them: each such
    execution warns, whatever starts them (``fork`` raises an audit event; ``spawn``
    and ``forkserver`` do not, ``multiprocessing``'s ``start`` is watched instead)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    (project / "a.txt").write_text("1")
    (project / "b.txt").write_text("2")

    @fm.step(outputs="total")
    def total(method: str = "fork") -> int:
        with ProcessPoolExecutor(1, mp_context=mp.get_context(method)) as pool:
            return sum(int(t) for t in pool.map(Path.read_text, [Path("a.txt"), Path("b.txt")]))

    @fm.step(outputs="alone")
    def alone(total: int) -> int:
        return total + int(Path("a.txt").read_text())

    pipe = fm.Pipeline("workers", [total, alone])
    for method in ("fork", "spawn"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = pipe.run(params={"method": method})
        assert run["alone"] == 4
        said = [str(w.message) for w in caught if issubclass(w.category, fm.UnseenInputWarning)]
        assert len(said) == 1 and said[0].startswith("step 'total' started processes"), said
    assert [r[0] for r in _recorded(project)["alone"]] == ["a.txt"]  # its own read counts

    @fm.step(outputs="forked")
    def forked() -> int:
        pid = os.fork()  # the step's own fork, no library in between
        if pid == 0:
            os._exit(0)
        return os.waitpid(pid, 0)[1]

    with pytest.warns(fm.UnseenInputWarning, match="step 'forked' started processes"):
        assert fm.Pipeline("fork", [forked]).run()["forked"] == 0


_SUM_SCRIPT = "import sys\nprint({k} * sum(int(x) for x in open(sys.argv[1]).read().split()))\n"


@pytest.mark.filterwarnings("ignore::flowyml.UnseenInputWarning")
def test_a_command_the_step_runs_counts_the_files_it_names(project: Path) -> None:
    """``subprocess.run([python, "prep.py", "data.txt"])``: what the command reads is
    not seen, so the files named on its command line count (the script by content: no
    fingerprint covers it), a ``UnseenInputWarning`` says so, and a file the command writes
    is its output, not an input."""
    (project / "prep.py").write_text(_SUM_SCRIPT.format(k=1))
    (project / "data.txt").write_text("1 2 3\n")
    (project / "out.txt").write_text("an output from before")

    @fm.step(outputs="total")
    def total() -> int:
        done = subprocess.run([sys.executable, "prep.py", "data.txt"], capture_output=True,
                              text=True, check=True)
        subprocess.run(f"{sys.executable} -c 'open(\"out.txt\", \"w\").write(\"new\")' out.txt",
                       shell=True, check=True)
        return int(done.stdout)

    def plain() -> int:
        done = subprocess.run([sys.executable, "prep.py", "data.txt"], capture_output=True,
                              text=True, check=True, cwd=project)
        return int(done.stdout)

    pipe = fm.Pipeline("command", [total])
    with pytest.warns(fm.UnseenInputWarning) as caught:
        assert pipe.run()["total"] == plain() == 6
    said = [str(w.message) for w in caught]
    assert any(re.search(r"ran `.*prep\.py data\.txt`.*\(prep\.py, data\.txt\)", m)
               for m in said), said
    assert any("no file named on its command line counts (out.txt: changed by the step, "
               "so taken as its output)" in m for m in said), said
    assert [r[0] for r in _recorded(project)["total"]] == ["data.txt", "prep.py"]
    assert _statuses(pipe.run()) == {"total": "cached"}
    (project / "prep.py").write_text(_SUM_SCRIPT.format(k=2))
    edited = pipe.run()
    assert edited["total"] == plain() == 12
    assert "file prep.py it read changed" in edited.steps["total"].reason
    (project / "data.txt").write_text("1 2 4\n")
    assert pipe.run()["total"] == plain() == 14
    assert _statuses(pipe.run()) == {"total": "cached"}


def test_a_command_a_library_runs_is_not_the_steps(project: Path) -> None:
    """A command that library code runs for its own needs (here the standard library's
    ``platform``, which asks the ``file`` command) is neither warned about nor counted."""

    @fm.step(outputs="v")
    def arch() -> str:
        return platform.architecture("/bin/ls")[0]

    with warnings.catch_warnings():
        warnings.simplefilter("error", fm.UnseenInputWarning)
        assert fm.Pipeline("lib_command", [arch]).run()["v"] == platform.architecture("/bin/ls")[0]
    assert _recorded(project)["arch"] == []


def test_a_sqlite_database_the_step_queries_counts(project: Path) -> None:
    """SQLite reads its file in C, where ``open`` is not seen: ``sqlite3.connect`` by
    the step's code counts the database (and its write-ahead log) as read. A database
    the step writes (an export) is its output: reused, not re-executed every run."""
    with sqlite3.connect(project / "data.db") as db:
        db.executescript("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);")
    _a_tick_old(project / "data.db")

    @fm.step(outputs="total")
    def query() -> int:
        con = sqlite3.connect("data.db")
        try:
            return int(con.execute("SELECT sum(x) FROM t").fetchone()[0])
        finally:
            con.close()

    @fm.step(outputs="exported")
    def export(total: int) -> int:
        with sqlite3.connect("export.db") as con:
            con.execute("CREATE TABLE IF NOT EXISTS totals (v INTEGER)")
            con.execute("INSERT INTO totals VALUES (?)", (total,))
        con.close()
        return total

    def plain() -> int:
        with sqlite3.connect(project / "data.db") as con:
            return int(con.execute("SELECT sum(x) FROM t").fetchone()[0])

    pipe = fm.Pipeline("sqlite", [query, export])
    assert pipe.run()["total"] == plain() == 3
    assert [r[0] for r in _recorded(project)["query"]] == ["data.db"]
    assert _recorded(project)["export"] == []  # the database it wrote: an output
    assert _statuses(pipe.run()) == {"query": "cached", "export": "cached"}
    with sqlite3.connect(project / "data.db") as db:
        db.execute("UPDATE t SET x = 5 WHERE x = 2")
    db.close()
    edited = pipe.run()
    assert edited["total"] == plain() == 6
    assert "file data.db it read changed" in edited.steps["query"].reason
    assert _statuses(pipe.run()) == {"query": "cached", "export": "cached"}


def test_a_sqlite_database_queried_through_a_library_counts(project: Path) -> None:
    """``create_engine("sqlite:///data.db")`` (SQLAlchemy, and so ``pd.read_sql``):
    the library calls ``sqlite3.connect`` for the step, which counts as the step's."""
    import sqlalchemy as sa

    with sqlite3.connect(project / "data.db") as db:
        db.executescript("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);")
    db.close()
    _a_tick_old(project / "data.db")

    @fm.step(outputs="total")
    def query() -> int:
        engine = sa.create_engine("sqlite:///data.db")
        try:
            with engine.connect() as con:
                return int(con.execute(sa.text("SELECT sum(x) FROM t")).scalar_one())
        finally:
            engine.dispose()

    def plain() -> int:
        with sqlite3.connect(project / "data.db") as con:
            return int(con.execute("SELECT sum(x) FROM t").fetchone()[0])

    pipe = fm.Pipeline("sqlalchemy", [query])
    assert pipe.run()["total"] == plain() == 3
    assert [r[0] for r in _recorded(project)["query"]] == ["data.db"]
    assert _statuses(pipe.run()) == {"query": "cached"}
    with sqlite3.connect(project / "data.db") as db:
        db.execute("UPDATE t SET x = 10 WHERE x = 2")
    db.close()
    edited = pipe.run()
    assert edited["total"] == plain() == 11
    assert "file data.db it read changed" in edited.steps["query"].reason


def test_a_network_connection_is_warned_about(project: Path) -> None:
    """What a step receives over the network is an input nobody sees: each execution
    that connects somewhere warns, naming where."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        conn.sendall(b"42")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()

    @fm.step(outputs="v")
    def fetch(port: int) -> int:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            return int(sock.recv(16))

    try:
        with pytest.warns(fm.UnseenInputWarning,
                          match=rf"step 'fetch' connected to 127\.0\.0\.1:{port}: what it "
                                "received is not seen"):
            assert fm.Pipeline("net", [fetch]).run(params={"port": port})["v"] == 42
    finally:
        server.close()


def test_a_file_a_step_reads_after_another_wrote_it_without_an_asset_is_warned_about(
        project: Path) -> None:
    """Two steps that share a file and no asset: nothing orders them (the one that
    reads may even be reused before the other rewrites the file), so the run warns,
    naming the file and the fix. With the asset between them, it does not."""

    @fm.step(outputs="n_rows")
    def preprocess() -> int:
        Path("clean.csv").write_text("a\n1\n2\n")
        return 2

    @fm.step(outputs="total")
    def train() -> int:
        return sum(int(x) for x in Path("clean.csv").read_text().split()[1:])

    @fm.step(outputs="total")
    def train_after(n_rows: int) -> int:
        return sum(int(x) for x in Path("clean.csv").read_text().split()[1:n_rows + 1])

    with pytest.warns(fm.UnseenInputWarning,
                      match="step 'train' read clean.csv, which step 'preprocess' wrote in "
                            "this run, and no asset leads from preprocess to train"):
        assert fm.Pipeline("file_edge", [preprocess, train]).run()["total"] == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", fm.UnseenInputWarning)
        run = fm.Pipeline("file_edge_asset", [preprocess, train_after]).run(
            force=["preprocess"])
        assert run["total"] == 3


def test_a_same_size_write_in_the_tick_of_the_read_is_seen(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where timestamps are coarse, a file rewritten with the same size in the tick in
    which a step read it keeps its size and times: a stat cannot tell. So a file that
    changed within a tick of the read is hashed as the step opens it, before it reads,
    and recorded without a ctime: a reuse compares its content, and sees the rewrite."""
    _coarse_timestamps(monkeypatch)
    data = project / "live.txt"
    data.write_text("1")

    @fm.step(outputs="v")
    def read_then_rewritten() -> int:
        value = int(Path("live.txt").read_text())
        with reads.paused():  # as another process would, unseen by the recording
            Path("live.txt").write_text("2")
        return value

    pipe = fm.Pipeline("racy", [read_then_rewritten])
    assert pipe.run()["v"] == 1
    [[path, size, _, digest, ctime]] = _recorded(project)["read_then_rewritten"]
    assert (path, size, digest, ctime) == ("live.txt", 1, hashing.hash_bytes(b"1"), None)
    again = pipe.run()
    assert again["v"] == int(data.read_text()) == 2  # the plain function's answer now
    assert again.steps["read_then_rewritten"].reason.startswith(
        "executed: file live.txt it read changed (content ")


def test_a_file_checked_in_the_tick_it_changed_counts_by_content(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for a file the step only checks (``os.path.getsize``): changed within a
    tick of the check, its times cannot show a same-size rewrite, so it counts by its
    content as checked, at every reuse."""
    _coarse_timestamps(monkeypatch)
    (project / "w.bin").write_bytes(b"xxxx")

    @fm.step(outputs="v")
    def measure_then_rewritten() -> int:
        size = os.path.getsize("w.bin")
        with reads.paused():  # as another process would: same size, same second
            Path("w.bin").write_bytes(b"yyyy")
        return size

    pipe = fm.Pipeline("racy_check", [measure_then_rewritten])
    assert pipe.run()["v"] == 4
    [[path, size, _, digest, ctime]] = _recorded(project)["measure_then_rewritten"]
    assert (path, size, digest, ctime) == ("w.bin", 4, hashing.hash_bytes(b"xxxx"), None)
    again = pipe.run()
    assert again.steps["measure_then_rewritten"].reason.startswith(
        "executed: file w.bin it read changed (content ")


def test_a_folder_changed_in_the_tick_of_its_listing_keeps_its_names_as_listed(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for a folder: an entry added in the tick of the listing keeps the
    folder's times, so its names are taken as the step lists them."""
    _coarse_timestamps(monkeypatch)
    inbox = project / "inbox"
    inbox.mkdir()
    (inbox / "a").write_text("")

    @fm.step(outputs="names")
    def list_then_added() -> list[str]:
        names = sorted(os.listdir("inbox"))
        with reads.paused():  # as another process would, unseen by the recording
            Path("inbox", "b").write_text("")
        return names

    pipe = fm.Pipeline("racy_folder", [list_then_added])
    assert pipe.run()["names"] == ["a"]
    again = pipe.run()
    assert again["names"] == sorted(os.listdir(inbox)) == ["a", "b"]
    assert "folder inbox/ it listed changed" in again.steps["list_then_added"].reason


def test_each_element_of_a_mapped_step_keeps_its_own_files(project: Path) -> None:
    for name, text in (("a", "1"), ("b", "2"), ("c", "3")):
        (project / f"{name}.txt").write_text(text)

    @fm.step(outputs="names")
    def names() -> list[str]:
        return ["a", "b", "c"]

    @fm.step(outputs="values", map_over="names")
    def value(names: str) -> int:
        return int(Path(f"{names}.txt").read_text())

    pipe = fm.Pipeline("mapped", [names, value])
    assert pipe.run()["values"] == [1, 2, 3]
    assert _statuses(pipe.run())["value"] == "cached"
    (project / "b.txt").write_text("20")
    run = pipe.run()
    assert run["values"] == [1, 20, 3]
    assert "file b.txt it read changed" in run.steps["value"].reason
    assert "1 of 3 elements executed, 2 reused" in run.steps["value"].reason
    assert _statuses(pipe.run())["value"] == "cached"


@pytest.mark.timeout(300)
def test_a_worker_process_records_what_it_reads(project: Path) -> None:
    write(project / "steps_reads.py", '''
        import flowyml as fm


        @fm.step(outputs="n")
        def count_lines() -> int:
            with open("data/raw.csv") as f:
                return len(f.read().splitlines())
    ''')
    module = import_from(project, "steps_reads")
    (project / "data").mkdir()
    raw = project / "data" / "raw.csv"
    raw.write_text("a\n1\n")
    pipe = fm.Pipeline("worker", [module.count_lines])
    assert pipe.run(executor="processes:2")["n"] == 2
    assert [r[0] for r in _recorded(project)["count_lines"]] == ["data/raw.csv"]
    assert _statuses(pipe.run(executor="processes:2")) == {"count_lines": "cached"}
    raw.write_text("a\n1\n2\n")
    run = pipe.run(executor="processes:2")
    assert run["n"] == 3 and "file data/raw.csv it read changed" in run.steps["count_lines"].reason


def test_recording_is_per_thread_and_never_breaks_an_open(tmp_path: Path) -> None:
    import threading

    f = tmp_path / "x.txt"
    f.write_text("x")
    other: list[str] = []
    with reads.recording() as mine:
        t = threading.Thread(target=lambda: other.append(f.read_text()))
        t.start()
        t.join()
        with open(os.fsencode(f)) as fh:  # a bytes path
            fh.read()
        fd = os.open(f, os.O_RDONLY)  # a raw descriptor, then a file object on it
        with os.fdopen(fd) as fh:
            fh.read()
        with reads.paused():
            (tmp_path / "y.txt").write_text("y")
            (tmp_path / "y.txt").read_text()
    assert other == ["x"]
    assert [r[0] for r in mine.files()] == [str(f)]
    assert reads.changed([[str(f), 1, 0, "0" * 64]], None) is not None
    st = f.stat()
    assert reads.changed([["x.txt", st.st_size, st.st_mtime_ns, None, st.st_ctime_ns]],
                         str(tmp_path)) is None
    # recorded without a ctime and without a hash: nothing proves it unchanged
    assert reads.changed([["x.txt", st.st_size, st.st_mtime_ns, None]], str(tmp_path))


def test_a_folder_the_step_lists_counts_by_its_names(project: Path) -> None:
    """``glob`` / ``iterdir`` / ``os.walk``: a new file that the listing would find
    re-executes the step; a folder the step writes into is its output, not an input."""
    data = project / "data"
    data.mkdir()
    (data / "a.csv").write_text("1")

    @fm.step(outputs="total")
    def sum_all() -> int:
        total = sum(int(p.read_text()) for p in sorted(Path("data").glob("*.csv")))
        Path("out").mkdir(exist_ok=True)
        Path("out", "report.txt").write_text(str(total))  # written into a folder ...
        return total + len(os.listdir("out"))  # ... that it also lists

    pipe = fm.Pipeline("listing", [sum_all])
    assert pipe.run()["total"] == 2
    recorded = [r[0] for r in _recorded(project)["sum_all"]]
    assert recorded == ["data/", "data/a.csv"]
    assert _statuses(pipe.run()) == {"sum_all": "cached"}
    (data / "a.csv").touch()  # the folder's names are the same
    assert _statuses(pipe.run()) == {"sum_all": "cached"}

    (data / "b.csv").write_text("5")  # a new file the glob finds
    run = pipe.run()
    assert run["total"] == 7 and "folder data/ it listed changed" in run.steps["sum_all"].reason
    (data / "notes.txt").write_text("x")  # the glob would not find it, but the listing
    assert _statuses(pipe.run()) == {"sum_all": "executed"}  # changed: re-executes (sound)
    assert _statuses(pipe.run()) == {"sum_all": "cached"}


def test_imports_inside_a_step_record_no_folder(project: Path) -> None:
    """The import system, ``importlib.metadata`` and ``pkgutil`` list the folders on
    sys.path (the project's among them) to find a module or a version: not the step's
    input, or every new file in the project would re-execute the step."""
    write(project / "lazy_helper.py", "VALUE = 4\n")

    @fm.step(outputs="v")
    def lazy() -> int:
        import importlib
        import importlib.metadata
        import pkgutil
        import sys

        sys.path.insert(0, os.getcwd())
        try:
            found = sum(1 for m in pkgutil.iter_modules() if m.name == "lazy_helper")
            assert found == 1 and importlib.metadata.version("blake3")
            return int(importlib.import_module("lazy_helper").VALUE)
        finally:
            sys.path.remove(os.getcwd())

    pipe = fm.Pipeline("imports", [lazy])
    assert pipe.run()["v"] == 4
    assert _recorded(project)["lazy"] == []


def test_a_python_file_the_step_opens_or_checks_itself_is_data(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``.py`` file the step's own code opens or checks counts like any file (every
    ``.py`` was skipped: editing a settings file read as text was a stale hit), while a
    module it imports, and the text ``inspect`` and a traceback read, stay code: a
    comment in them changes nothing."""
    write(project / "settings.py", "RATE = 2\n")
    write(project / "helper_mod.py", "def h():\n    return 5\n")

    @fm.step(outputs="v")
    def configured() -> int:
        import inspect
        import traceback

        import helper_mod

        try:
            raise ValueError("shown, not read")
        except ValueError:
            traceback.format_exc()
        text = Path("settings.py").read_text()
        bonus = 100 if os.path.exists("extra.py") else 0
        return int(text.split("=")[1]) * helper_mod.h() + bonus + len(
            inspect.getsource(helper_mod.h))

    def plain() -> int:
        text = (project / "settings.py").read_text()
        bonus = 100 if (project / "extra.py").exists() else 0
        return int(text.split("=")[1]) * 5 + bonus + len("def h():\n    return 5\n")

    monkeypatch.syspath_prepend(str(project))
    monkeypatch.delitem(sys.modules, "helper_mod", raising=False)
    pipe = fm.Pipeline("py_data", [configured])
    assert pipe.run()["v"] == plain() == 32
    assert [r[0] for r in _recorded(project)["configured"]] == ["extra.py", "settings.py"]
    with open(project / "helper_mod.py", "a") as f:
        f.write("# a comment in imported code\n")
    assert _statuses(pipe.run()) == {"configured": "cached"}
    write(project / "settings.py", "RATE = 3\n")
    edited = pipe.run()
    assert edited["v"] == plain() == 37
    assert "file settings.py it read changed" in edited.steps["configured"].reason
    write(project / "extra.py", "")
    found = pipe.run()
    assert found["v"] == plain() == 137
    assert "file extra.py, missing when the step ran, now exists" in found.steps[
        "configured"].reason


def test_a_folder_the_step_adds_to_is_its_output(project: Path) -> None:
    """Listing ``runs/`` and then making a subfolder in it (or renaming, removing an
    entry) changes the listing by the step's own hand: not an input, so the next run
    reuses."""
    (project / "runs").mkdir()

    @fm.step(outputs="n")
    def new_run_folder() -> int:
        n = len(os.listdir("runs"))
        os.mkdir(f"runs/run{n}")
        os.rename(f"runs/run{n}", f"runs/r{n}")
        return n

    pipe = fm.Pipeline("adds", [new_run_folder])
    assert pipe.run()["n"] == 0
    assert _recorded(project)["new_run_folder"] == []
    assert _statuses(pipe.run()) == {"new_run_folder": "cached"}


def test_lineage_and_diff_name_the_files_a_step_read(project: Path) -> None:
    """Lineage shows which files made an artifact; a diff of two runs, or of two
    versions of an artifact, says which file changed between them."""
    from flowyml.diff import diff_artifacts, diff_runs

    (project / "data").mkdir()
    raw = project / "data" / "raw.csv"
    raw.write_text("a\n1\n2\n")
    first = PIPE.run()
    old = reads.content_hash(str(raw))[:12]
    raw.write_text("a\n1\n5\n")
    second = PIPE.run()
    new = reads.content_hash(str(raw))[:12]
    reused = PIPE.run()  # a reuse records the files of the execution it reused

    tree = fm.get_lineage(second.artifacts["double"].id)
    [total] = tree.parents
    assert [f[0] for f in total.files] == ["data/raw.csv"] and tree.files == []
    assert total.files[0][3][:12] == new
    assert f"reads data/raw.csv ({new[:10]})" in str(tree)
    assert tree.to_dict()["parents"][0]["files"] == total.files

    runs = diff_runs(first.id, second.id)
    [load] = [s for s in runs.steps if s.name == "load_total"]
    assert [f.to_dict() for f in load.files] == [{"path": "data/raw.csv", "a": old, "b": new}]
    assert f"file data/raw.csv it read: {old} -> {new}" in str(runs)
    assert diff_runs(second.id, reused.id).steps[0].files == []

    arts = diff_artifacts("double@1", "double@2")
    [origin] = arts.divergence
    assert origin.b.name == "total" and origin.why == [f"file data/raw.csv it read: {old} -> {new}"]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("executor", ["inline", "processes:2"])
def test_files_read_by_threads_the_step_starts(project: Path, executor: str) -> None:
    """Loading files in a thread pool is common: where the step has its process to
    itself, what its threads read is its input too."""
    parts = project / "parts"
    parts.mkdir()
    for i in range(3):
        (parts / f"p{i}.txt").write_text(str(i + 1))
    write(project / "steps_threads.py", '''
        from concurrent.futures import ThreadPoolExecutor
        from pathlib import Path

        import flowyml as fm


        def read(name: str) -> int:
            return int(Path("parts", name).read_text())


        @fm.step(outputs="total")
        def total() -> int:
            with ThreadPoolExecutor(3) as pool:
                return sum(pool.map(read, ["p0.txt", "p1.txt", "p2.txt"]))
    ''')
    module = import_from(project, "steps_threads")
    pipe = fm.Pipeline("threads", [module.total])
    assert pipe.run(executor=executor)["total"] == 6
    assert [r[0] for r in _recorded(project)["total"]] == [
        "parts/p0.txt", "parts/p1.txt", "parts/p2.txt"]
    assert _statuses(pipe.run(executor=executor)) == {"total": "cached"}
    (parts / "p1.txt").write_text("20")
    run = pipe.run(executor=executor)
    assert run["total"] == 24 and "file parts/p1.txt it read changed" in run.steps["total"].reason


@pytest.mark.parametrize("executor", ["inline", "processes:2"])
def test_code_a_pickle_loaded_in_the_step_names_counts(project: Path, executor: str) -> None:
    """A model file loaded inside the step calls your code by name: the file counts by
    its bytes, the code it names by its source (``pickle.find_class``), on every
    executor; lineage and the reuse reason say so."""
    write(project / "models.py", """
        class Model:
            def predict(self, xs):
                return [x * 2 for x in xs]
    """)
    write(project / "pipe.py", """
        import pickle

        import flowyml as fm


        @fm.step(outputs="y")
        def predict(path: str = "model.pkl") -> list[int]:
            with open(path, "rb") as fh:
                return pickle.load(fh).predict([1, 2])


        pipe = fm.Pipeline("pickled", [predict])
    """)
    run_py(project, "import pickle, models; pickle.dump(models.Model(), open('model.pkl', 'wb'))")
    code = f"""
        import pipe
        run = pipe.pipe.run(executor={executor!r})
        print(run.steps["predict"].status, run["y"], run.steps["predict"].reason)
        import flowyml as fm
        print(fm.get_lineage(run.artifacts["y"].id))
    """
    first = run_py(project, code)
    assert first.startswith("executed [2, 4]") and "unpickled models:Model (" in first
    again = run_py(project, code)
    assert again.startswith("cached [2, 4]") and "the code of the 1 object it unpickled" in again
    models = project / "models.py"
    models.write_text(models.read_text().replace("x * 2", "x * 3"))
    edited = run_py(project, code)
    assert edited.startswith("executed [3, 6]")
    assert "code models:Model, which a pickle the step loaded names, changed" in edited


def test_package_metadata_is_not_a_step_input(project: Path) -> None:
    """``importlib.metadata`` reading an editable install's metadata (kept in the
    project) is the library's version, not the step's data."""
    meta = project / "src" / "mypkg-0.1.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text("Name: mypkg\nVersion: 0.1\n")
    (project / "data.txt").write_text("x")

    @fm.step(outputs="both")
    def both() -> str:
        return (meta / "METADATA").read_text()[:4] + open("data.txt").read()

    with contextlib.chdir(project):
        fm.Pipeline("meta", [both]).run()
    assert [Path(str(f[0])).name for f in _recorded(project)["both"]] == ["data.txt"]


def test_a_relative_path_read_from_another_working_directory_re_executes(
        project: Path) -> None:
    """``open("data.csv")`` reads another file when the pipeline runs from another
    folder: the working directory counts for a step that named a relative path."""
    for folder, text in (("a", "1,2,3"), ("b", "4,5,6,7")):
        (project / folder).mkdir()
        (project / folder / "data.csv").write_text(text)
    write(project / "pipe.py", """
        import flowyml as fm


        @fm.step(outputs="y")
        def f() -> str:
            with open("data.csv") as fh:
                return fh.read()


        pipe = fm.Pipeline("cwd", [f])
    """)
    code = """
        import sys
        sys.path.insert(0, "..")
        import pipe
        run = pipe.pipe.run()
        print(run.steps["f"].status, run["y"], "|", run.steps["f"].reason)
    """
    assert run_py(project / "a", code).startswith("executed 1,2,3")
    assert run_py(project / "a", code).startswith("cached 1,2,3")
    moved = run_py(project / "b", code)
    assert moved.startswith("executed 4,5,6,7")
    assert "the working directory is b, not a" in moved


def test_the_working_directory_a_step_asks_for_counts(project: Path) -> None:
    """``os.getcwd()``, ``Path.cwd()`` and ``os.path.abspath("x")`` give another value
    from another folder, though the step opens nothing: the working directory counts
    for a step whose code asks for it, and only for such a step (``abspath`` of an
    absolute path does not ask)."""
    (project / "a").mkdir()
    (project / "b").mkdir()
    write(project / "pipe.py", """
        import os
        import pathlib

        import flowyml as fm


        @fm.step(outputs="y")
        def f() -> list[str]:
            return [os.path.basename(os.getcwd()), pathlib.Path.cwd().name,
                    os.path.basename(os.path.dirname(os.path.abspath("x")))]


        @fm.step(outputs="z")
        def g() -> str:
            return os.path.basename(os.path.abspath(__file__))


        pipe = fm.Pipeline("cwd", [f, g])
    """)
    code = """
        import os
        import sys
        sys.path.insert(0, os.path.abspath(".."))  # (its ``__file__`` absolute)
        import pipe
        run = pipe.pipe.run()
        print(run.steps["f"].status, run.steps["g"].status, run["y"], "|", run.steps["f"].reason)
    """
    assert run_py(project / "a", code).startswith("executed executed ['a', 'a', 'a']")
    assert run_py(project / "a", code).startswith("cached cached ['a', 'a', 'a']")
    moved = run_py(project / "b", code)
    assert moved.startswith("executed cached ['b', 'b', 'b']")
    assert "the working directory is b, not a" in moved


def test_files_under_the_interpreters_prefix_or_linked_into_site_packages_count(
        tmp_path: Path) -> None:
    """What is skipped is the interpreter's and packages' own folders (``lib``,
    site-packages, ``bin``), not whatever sits under a prefix: a venv made in the project
    folder itself (or a project in ``/usr/src/app`` with the system's Python) reads its
    data there. And a package of the user's symlinked into site-packages (``flit
    install --symlink``) reads the project's files by a site-packages path. Both were
    stale: an edited file left the old result reused."""
    import sysconfig

    app = tmp_path / "app"  # the venv, and the project in it
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(app)], check=True)
    site_dir = Path(sysconfig.get_path("purelib", vars={"base": str(app),
                                                        "platbase": str(app)}))
    this_env = sysconfig.get_path("purelib")  # where FlowyML and its packages are
    (site_dir / "zz_tests.pth").write_text(f"import site; site.addsitedir({this_env!r})\n")
    python = app / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pkg = app / "src" / "mypkg"  # the user's package, linked into the venv
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from pathlib import Path\n\n\ndef load():\n"
        "    return sum(int(x) for x in (Path(__file__).parent / 'table.txt').read_text().split())\n")
    (site_dir / "mypkg").symlink_to(pkg, target_is_directory=True)
    (app / "flowyml.toml").write_text("")
    (app / "jobs").mkdir()
    (app / "jobs" / "pipe.py").write_text('''
import flowyml as fm
import mypkg


@fm.step(outputs="total")
def total() -> int:
    with open("data.csv") as f:
        return sum(int(x) for x in f.read().split())


@fm.step(outputs="table")
def table() -> int:
    return mypkg.load()


if __name__ == "__main__":
    run = fm.Pipeline("under_prefix", [total, table]).run()
    print(run["total"], run["table"], run.steps["total"].status, run.steps["table"].status,
          "site-packages" in mypkg.__file__)  # imported through the link
''')

    def run() -> list[str]:
        done = subprocess.run([str(python), "jobs/pipe.py"], cwd=app, env=child_env(),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    (app / "data.csv").write_text("1 2 3")
    (pkg / "table.txt").write_text("10 20")
    assert run() == ["6", "30", "executed", "executed", "True"]
    assert run() == ["6", "30", "cached", "cached", "True"]
    (app / "data.csv").write_text("1 2 4")
    (pkg / "table.txt").write_text("10 21")
    assert run() == ["7", "31", "executed", "executed", "True"]


def test_files_a_library_opens_outside_python_count_by_the_readers_arguments(
        project: Path) -> None:
    """polars, pyarrow and ``np.fromfile`` open their files in Rust or C, where the
    audit hook sees no ``open``: their readers record the paths they are given. A glob
    counts by the folders it scanned and the files it matched (a new match
    re-executes), a dataset folder by its names and every file in it."""
    pl = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    import numpy as np

    for part, xs in (("y=1", [1, 2]), ("y=2", [3])):
        (project / "parts" / part).mkdir(parents=True)
        pl.DataFrame({"x": xs}).write_parquet(project / "parts" / part / "a.parquet")
    np.arange(5, dtype="int64").tofile(project / "arr.bin")

    @fm.step(outputs="globbed")
    def globbed() -> int:
        import polars

        return int(polars.scan_parquet("parts/*/*.parquet").collect()["x"].sum())

    @fm.step(outputs="rows")
    def rows() -> int:
        import pyarrow.dataset

        return int(pyarrow.dataset.dataset("parts", format="parquet").to_table().num_rows)

    @fm.step(outputs="raw")
    def raw() -> int:
        return int(np.fromfile("arr.bin", dtype="int64").sum())

    pipe = fm.Pipeline("native", [globbed, rows, raw])
    first = pipe.run()
    assert (first["globbed"], first["rows"], first["raw"]) == (6, 3, 10)
    recorded = _recorded(project)
    assert [r[0] for r in recorded["globbed"]] == [
        "parts/", "parts/y=1/", "parts/y=1/a.parquet", "parts/y=2/", "parts/y=2/a.parquet"]
    assert [r[0] for r in recorded["rows"]] == [r[0] for r in recorded["globbed"]]
    assert [r[0] for r in recorded["raw"]] == ["arr.bin"]
    assert _statuses(pipe.run()) == dict.fromkeys(("globbed", "rows", "raw"), "cached")

    pl.DataFrame({"x": [100]}).write_parquet(project / "parts" / "y=1" / "b.parquet")
    added = pipe.run()
    assert _statuses(added) == {"globbed": "executed", "rows": "executed", "raw": "cached"}
    assert (added["globbed"], added["rows"]) == (106, 4)
    assert "folder parts/y=1/ it listed changed" in added.steps["globbed"].reason

    np.arange(6, dtype="int64").tofile(project / "arr.bin")
    assert pipe.run()["raw"] == 15


def test_a_reader_bound_before_the_build_is_rebound_or_warned_about(project: Path) -> None:
    """``from pyarrow.parquet import read_table`` at the top of the steps' module binds
    the library's own function before FlowyML wraps it: the build points that name at
    the wrapper. A reader kept in a value made at import (a dict of readers) cannot be:
    when its own function reads unseen (``ds.dataset``), its step re-executes on every
    run, with a warning that names the fix."""
    pytest.importorskip("pyarrow")
    write(project / "pipe.py", '''
import warnings

import pyarrow.dataset as ds
from pyarrow.parquet import read_table

import flowyml as fm

READERS = {"parquet": ds.dataset}  # (its own function reads in C, unseen)


@fm.step(outputs="n")
def by_name() -> int:
    return read_table("t.parquet").num_rows


@fm.step(outputs="m")
def by_dict() -> int:
    return READERS["parquet"]("t.parquet").to_table().num_rows


with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    run = fm.Pipeline("bound", [by_name, by_dict]).run()
print(run["n"], run.steps["by_name"].status, run.steps["by_dict"].status)
print(" | ".join(str(w.message) for w in seen if "outside Python" in str(w.message)))
''')
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1, 2]}), project / "t.parquet")
    out = run_py(project, "import runpy; runpy.run_path('pipe.py')").splitlines()
    assert out[0] == "2 executed executed"
    assert "by_dict" in out[1] and "pyarrow.dataset.dataset" in out[1], out
    assert "re-executes on every run" in out[1] and "by_name" not in out[1], out
    out = run_py(project, "import runpy; runpy.run_path('pipe.py')").splitlines()
    assert out[0] == "2 cached executed"  # what it cannot see: never reused
    pq.write_table(pa.table({"x": [1, 2, 3]}), project / "t.parquet")
    out = run_py(project, "import runpy; runpy.run_path('pipe.py')").splitlines()
    assert out[0] == "3 executed executed"


def test_a_query_passed_between_steps_never_reuses_its_collector(project: Path) -> None:
    """A polars LazyFrame stored as an artifact is a query: the step that collects it
    reads the scanned files, in Rust, where nothing records them, and the artifact's
    bytes do not change with the files. The step given one re-executes on every run,
    with a warning (it was reused with the old file's result); the scanning step
    records the file (``native_reads``) and is reused until it changes."""
    pl = pytest.importorskip("polars")
    (project / "d.csv").write_text("x\n1\n2\n")

    @fm.step(outputs="lazy")
    def plan() -> Any:
        return pl.scan_csv("d.csv")

    @fm.step(outputs="total")
    def total(lazy: Any) -> int:
        return int(lazy.collect()["x"].sum())

    pipe = fm.Pipeline("lazy", [plan, total])
    with pytest.warns(fm.FingerprintWarning, match="input lazy is a LazyFrame") as caught:
        assert pipe.run()["total"] == 3
    # (polars' writers, wrapped by FlowyML on its classes, are not code of the user's)
    assert [str(w.message) for w in caught] == [str(caught[0].message)], caught
    again = pipe.run()
    assert _statuses(again) == {"plan": "cached", "total": "executed"}
    assert "input lazy cannot be fingerprinted (a LazyFrame" in again.steps["total"].reason
    (project / "d.csv").write_text("x\n1\n5\n")
    edited = pipe.run()
    assert edited["total"] == 6
    assert _statuses(edited) == {"plan": "executed", "total": "executed"}


def test_a_python_file_read_as_text_through_the_standard_library_counts(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``tokenize.open``, ``linecache.getlines`` and ``pkgutil.get_data`` of a ``.py``
    called by the step's own code read data (they read code when ``inspect``, a
    traceback or the import system calls them)."""
    write(project / "tpl" / "__init__.py", "")
    write(project / "tpl" / "template.py", "VALUE = 1\n")
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.delitem(sys.modules, "tpl", raising=False)

    @fm.step(outputs="texts")
    def texts() -> list[str]:
        import linecache
        import pkgutil
        import tokenize

        with tokenize.open("tpl/template.py") as f:
            first = f.read()
        data = pkgutil.get_data("tpl", "template.py")
        linecache.checkcache("tpl/template.py")  # (its lines are kept per process)
        return [first, "".join(linecache.getlines("tpl/template.py")),
                data.decode() if data else ""]

    pipe = fm.Pipeline("as_text", [texts])
    assert pipe.run()["texts"] == ["VALUE = 1\n"] * 3
    assert _statuses(pipe.run()) == {"texts": "cached"}
    write(project / "tpl" / "template.py", "VALUE = 1  # shown as it is\n")
    edited = pipe.run()
    assert edited["texts"] == ["VALUE = 1  # shown as it is\n"] * 3
    assert "file tpl/template.py it read changed" in edited.steps["texts"].reason


def test_tracebacks_shown_in_a_step_read_no_file(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A traceback printed for a thread that raised (Python opens the module's file in
    C, from the thread's bootstrap), or by ``traceback``, and ``Path(__file__)
    .resolve()`` in a helper: none of them is the step reading the module, so a
    comment in it changes nothing."""
    write(project / "helper_tb.py", '''from pathlib import Path


def boom():
    raise RuntimeError("shown")


def here():
    return Path(__file__).resolve().name
''')
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.delitem(sys.modules, "helper_tb", raising=False)

    @fm.step(outputs="v")
    def shows() -> str:
        import threading
        import traceback

        import helper_tb

        t = threading.Thread(target=helper_tb.boom)
        t.start()
        t.join()
        try:
            helper_tb.boom()
        except RuntimeError:
            traceback.format_exc()
        return helper_tb.here()

    pipe = fm.Pipeline("tracebacks", [shows])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pytest.PytestUnhandledThreadExceptionWarning)
        assert pipe.run()["v"] == "helper_tb.py"
        # (``resolve`` looks at each folder above it too: each counts by its presence)
        assert {r[0]: r[3] for r in _recorded(project)["shows"]}["helper_tb.py"] == reads.PRESENT
        with open(project / "helper_tb.py", "a") as f:
            f.write("# a comment\n")
        assert _statuses(pipe.run()) == {"shows": "cached"}


def test_the_library_folders_tolerate_what_an_embedded_python_has(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``sys.executable`` may be None or empty, ``sys.path`` may hold a non-string
    entry (the import system ignores it): the read recorder's folders too."""
    monkeypatch.setattr(sys, "executable", None)
    monkeypatch.setattr(sys, "path", [*sys.path, None, Path("/nowhere/site-packages")])
    dirs = reads._library_dirs()
    assert os.path.dirname(os.__file__) in dirs


def test_more_ways_to_read_outside_python_count(tmp_path: Path) -> None:
    """``pq.ParquetFile`` and ``pq.ParquetDataset`` (their classes), a reader kept as a
    class attribute of the steps' module, a partition folder that is a link, a ``[`` in
    the project's own path (no glob pattern), and a query kept in a dict passed to the
    next step (that step re-executes on every run, warned) or made at import."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    project = tmp_path / "proj[v2]"
    (project / "store" / "y1").mkdir(parents=True)
    (project / "parts").mkdir()
    (project / "parts" / "y=1").symlink_to(project / "store" / "y1", target_is_directory=True)
    (project / "flowyml.toml").write_text("")

    def data(xs: list[int]) -> None:
        for path in ("t.parquet", "store/y1/a.parquet"):
            pq.write_table(pa.table({"x": xs}), project / path)

    data([1, 2])
    write(project / "pipe.py", '''
import warnings

import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyarrow.parquet import read_table

import flowyml as fm

AT_IMPORT = pl.scan_parquet("t.parquet")


class Cfg:
    reader = read_table


@fm.step(outputs="a")
def by_class() -> int:
    return int(pq.ParquetFile("t.parquet").read()["x"].to_pylist()[-1])


@fm.step(outputs="b")
def by_dataset() -> int:
    return int(pq.ParquetDataset("parts").read()["x"].to_pylist()[-1])


@fm.step(outputs="c")
def by_attribute() -> int:
    return int(Cfg.reader("t.parquet")["x"].to_pylist()[-1])


@fm.step(outputs="boxed")
def boxed() -> dict:
    return {"lf": pl.scan_parquet("t.parquet")}


@fm.step(outputs="d")
def collects(boxed: dict) -> int:
    return int(boxed["lf"].collect()["x"][-1])


@fm.step(outputs="e")
def at_import() -> int:
    return int(AT_IMPORT.collect()["x"][-1])


with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    run = fm.Pipeline("more", [by_class, by_dataset, by_attribute, boxed, collects,
                               at_import]).run()
print(" ".join(f"{n}={run[o]}:{run.steps[n].status}" for n, o in (
    ("by_class", "a"), ("by_dataset", "b"), ("by_attribute", "c"), ("collects", "d"),
    ("at_import", "e"))))
print(" | ".join(str(w.message) for w in seen))
''')
    script = "import runpy; runpy.run_path('pipe.py')"
    first = run_py(project, script).splitlines()
    assert first[0] == ("by_class=2:executed by_dataset=2:executed by_attribute=2:executed "
                        "collects=2:executed at_import=2:executed"), first
    assert "input boxed is a dict holding a query" in first[1], first
    assert "constant AT_IMPORT (a LazyFrame) cannot be fingerprinted" in first[1], first
    again = run_py(project, script).splitlines()
    assert again[0] == ("by_class=2:cached by_dataset=2:cached by_attribute=2:cached "
                        "collects=2:executed at_import=2:executed"), again
    data([1, 7])
    edited = run_py(project, script).splitlines()
    assert edited[0] == ("by_class=7:executed by_dataset=7:executed by_attribute=7:executed "
                         "collects=7:executed at_import=7:executed"), edited


def test_a_reader_imported_by_name_runs_in_worker_processes(project: Path) -> None:
    """The build points ``read_csv`` (``from polars import read_csv`` in the steps'
    module) at FlowyML's wrapper; a worker process, which imported the module itself,
    does the same before it compares its state with the driver's (it refused the step).
    A helper module's ``from pandas import read_parquet`` is not rebound (the step
    re-executes on every run): the worker may hold either function (it wraps pandas'
    readers once a step has imported pandas), and both name the same library function
    to the check, which refused the step."""
    pytest.importorskip("polars")
    pd = pytest.importorskip("pandas")
    write(project / "helpers_io.py", """from pandas import read_parquet


def lookup_size(path):
    return len(read_parquet(path))
""")
    write(project / "pipe.py", '''
import pandas as pd
from polars import read_csv

import flowyml as fm
import helpers_io


@fm.step(outputs="frame")
def frame() -> pd.DataFrame:
    return pd.DataFrame({"k": [1, 2]})


@fm.step(outputs="a")
def total(frame: pd.DataFrame) -> int:
    return int(read_csv("d.csv")["x"].sum()) + helpers_io.lookup_size("lookup.parquet")


if __name__ == "__main__":
    run = fm.Pipeline("workers", [frame, total]).run(executor="processes:1")
    print(run["a"], run.steps["total"].status)
''')
    (project / "d.csv").write_text("x\n1\n2\n")
    pd.DataFrame({"k": [1, 2]}).to_parquet(project / "lookup.parquet")
    script = "import runpy; runpy.run_path('pipe.py', run_name='__main__')"
    assert run_py(project, script).split() == ["5", "executed"]
    # (pandas' own read_parquet may read unseen: the step re-executes on every run)
    assert run_py(project, script).split() == ["5", "executed"]
    (project / "d.csv").write_text("x\n1\n5\n")
    assert run_py(project, script).split() == ["8", "executed"]
    pd.DataFrame({"k": [1, 2, 3]}).to_parquet(project / "lookup.parquet")
    assert run_py(project, script).split() == ["9", "executed"]


_SAMPLE_OF = {  # each reader of native_reads.SEEN_UNWRAPPED -> (file it reads, its module)
    "pyarrow.parquet.read_table": ("d.parquet", "pyarrow.parquet"),
    "pyarrow.parquet.read_pandas": ("d.parquet", "pyarrow.parquet"),
    "pandas.read_feather": ("d.feather", "pandas"), "pandas.read_orc": ("d.orc", "pandas"),
    "numpy.fromfile": ("d.bin", "numpy")}


def test_readers_called_unwrapped_are_still_seen(project: Path, tmp_path: Path) -> None:
    """``native_reads.SEEN_UNWRAPPED`` says which readers' own functions, bound before
    FlowyML wrapped them (a dict of readers made at import), still have their files
    recorded, so a step reaching one is reused like any other. Each is run here, in a
    fresh process that imported only its module, on a file outside the working folder:
    an edit must re-execute it. A library upgrade that reads otherwise fails this."""
    pytest.importorskip("pyarrow")
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.orc as orc

    from flowyml.core import native_reads

    assert set(_SAMPLE_OF) == native_reads.SEEN_UNWRAPPED
    data = tmp_path / "elsewhere"
    data.mkdir()

    def fill(xs: list[int]) -> None:
        frame = pd.DataFrame({"x": xs})
        frame.to_parquet(data / "d.parquet")
        frame.to_feather(data / "d.feather")
        orc.write_table(pa.table({"x": xs}), str(data / "d.orc"))
        np.array(xs, dtype="int64").tofile(data / "d.bin")

    fill([1, 2])
    readers = ", ".join(f"{d!r}: ({m}.{d.rsplit('.', 1)[1]}, {str(data / f)!r})"
                        for d, (f, m) in _SAMPLE_OF.items())
    write(project / "readers_early.py", "import numpy, pandas, pyarrow.parquet\n\n"
          f"READERS = {{{readers}}}\n")
    steps = "\n".join(f'''
@fm.step(outputs="{d.replace(".", "_")}")
def {d.replace(".", "_")}() -> str:
    fn, path = READERS[{d!r}]
    kind = {d!r}
    if kind == "numpy.fromfile":
        return str(fn(path, dtype="int64").tolist())
    got = fn(path)
    return str(got.to_pydict() if hasattr(got, "to_pydict") else got.to_dict("list"))
''' for d in _SAMPLE_OF)
    write(project / "pipe.py", "import flowyml as fm\nfrom readers_early import READERS\n"
          + steps + "\nrun = fm.Pipeline('unwrapped', [" + ", ".join(
              d.replace(".", "_") for d in _SAMPLE_OF) + "]).run()\n"
          "print(' '.join(str(s.status) for s in run.steps.values()))\n")
    script = "import runpy; runpy.run_path('pipe.py')"
    n = len(_SAMPLE_OF)
    assert run_py(project, script).split() == ["executed"] * n
    assert run_py(project, script).split() == ["cached"] * n
    fill([1, 7])
    assert run_py(project, script).split() == ["executed"] * n


def test_files_a_library_writes_outside_python_are_outputs(project: Path) -> None:
    """polars' and pyarrow's writers write in Rust or C: their targets count as the
    step's writes (``native_reads``), so the step's own read of what it wrote is no
    input, and another step reading it with no asset between them is warned about."""
    pl = pytest.importorskip("polars")
    (project / "shared.csv").write_text("x\n1\n")

    @fm.step(outputs="a")
    def writer(k: int = 1) -> int:
        pl.DataFrame({"x": [1, k]}).write_csv("shared.csv")
        return k

    @fm.step(outputs="b")
    def reader() -> int:
        return int(pl.read_csv("shared.csv")["x"].sum())

    @fm.step(outputs="c")
    def scratch() -> int:
        pl.DataFrame({"x": [5]}).write_parquet("tmp.parquet")
        return int(pl.read_parquet("tmp.parquet")["x"].sum())

    pipe = fm.Pipeline("native_writes", [writer, reader, scratch])
    with pytest.warns(UserWarning, match="step 'reader' read shared.csv, which step "
                                         "'writer' wrote in this run"):
        pipe.run()
    recorded = _recorded(project)
    assert recorded["scratch"] == [] and recorded["writer"] == []
    assert [r[0] for r in recorded["reader"]] == ["shared.csv"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (the wrapped writers are FlowyML's, not code of
        # the user's on polars' classes: nothing to warn about, nothing re-executes)
        assert _statuses(pipe.run()) == dict.fromkeys(("writer", "reader", "scratch"),
                                                      "cached")
