"""gc on a store that several catalogs write to (``stores/catalogs.py``).

Two projects that name one store and keep a catalog each (a shared folder, or the same
bucket with no ``catalog`` line: a SQLite file in each project) must not delete each
other's objects: gc refuses, deleting nothing, and names the other catalog and the fix.
With one catalog gc works as before; a catalog gone for good can be forgotten; a run
that reuses everything sends the store nothing to register.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from flowyml.cli.maintenance import collect_garbage, verify_store
from flowyml.core.errors import ConfigError
from flowyml.retention import Policy, prune
from flowyml.stack import Stack, clear_opened
from tests.conftest import flowyml_cli

from .stack_fixtures import uniq

pytestmark = pytest.mark.usefixtures("objects_in_store")


@fm.step(outputs="model")
def train(who: str = "x") -> dict[str, Any]:
    return {"trained_by": who, "w": list(range(50))}


PIPE = fm.Pipeline("p", [train])


def two_projects(tmp_path: Path, store: str, **options: Any) -> tuple[Stack, Stack]:
    """Alice's and Bob's stacks: one store, a SQLite catalog each in their project."""
    stacks = []
    for who in ("alice", "bob"):
        root = tmp_path / who
        root.mkdir()
        (root / "flowyml.toml").write_text("")
        stacks.append(Stack(store=store, root=str(root), cache_dir=str(tmp_path / f"{who}-cache"),
                            catalog=f"sqlite:///{root / '.flowyml' / 'catalog.db'}", inline_max=0,
                            **options))
    return stacks[0], stacks[1]


def run_both(alice: Stack, bob: Stack) -> dict[str, str]:
    """Each project runs once; returns who -> the content hash of their model."""
    hashes = {}
    for who, st in (("alice", alice), ("bob", bob)):
        run = PIPE.run(params={"who": who}, stack=st)
        assert run.status == "succeeded"
        hashes[who] = run.artifacts["model"].content_hash
    time.sleep(2.1)  # older than gc's 2 s of clock margin, so --grace 0 could take them
    return hashes


def registered(store: Any) -> list[Any]:
    from flowyml.stores.catalogs import registered  # (here: the module is new)

    return registered(store)


def catalog_id(st: Stack) -> str:
    found = st.resolve().open_catalog().catalog_id()
    assert found is not None
    return found


def check_refused(alice: Stack, bob: Stack, hashes: dict[str, str]) -> None:
    """gc with Bob's catalog refuses, names Alice's, deletes nothing; a dry run says
    what it would delete and that it would refuse."""
    store = bob.resolve().open_store()
    with pytest.raises(ConfigError) as err:
        collect_garbage(bob.resolve(), grace_seconds=0)
    msg = str(err.value)
    assert catalog_id(alice) in msg and str(alice.root) in msg and "postgresql" in msg
    assert "--forget-catalog" in msg and "deleted nothing" in msg
    assert store.exists(hashes["alice"]) and store.exists(hashes["bob"])
    dry = collect_garbage(bob.resolve(), dry_run=True, grace_seconds=0)
    assert dry.deleted == [hashes["alice"]] and [r.id for r in dry.others] == [catalog_id(alice)]
    assert store.exists(hashes["alice"])
    assert PIPE.run(params={"who": "alice"}, stack=alice).steps["train"].cached


def test_gc_refuses_a_shared_local_store_and_forgets_a_catalog_gone_for_good(
        tmp_path: Path) -> None:
    alice, bob = two_projects(tmp_path, str(tmp_path / "shared-store"))
    hashes = run_both(alice, bob)
    check_refused(alice, bob, hashes)
    store = bob.resolve().open_store()
    assert {r.id for r in registered(store)} == {catalog_id(alice), catalog_id(bob)}
    assert [r.id for r in verify_store(bob.resolve()).others] == [catalog_id(alice)]

    # the command line: the dry run lists, then refuses (exit 1) naming Alice's catalog
    res = flowyml_cli(tmp_path, "gc", "--dry-run", "--grace", "0",
                      env={"FLOWYML_ROOT": str(bob.root), "FLOWYML_STORE": str(bob.store),
                           "FLOWYML_CATALOG": str(bob.catalog)})
    assert res.returncode == 1, res.stderr
    assert f"would delete {hashes['alice']}" in res.stdout
    assert "gc would refuse" in res.stderr and catalog_id(alice) in res.stderr

    # Alice's project is gone for good: Bob forgets her catalog, then gc frees her bytes
    with pytest.raises(ConfigError, match="names no catalog 'abc'"):
        collect_garbage(bob.resolve(), grace_seconds=0, forget=["abc"])
    with pytest.raises(ConfigError, match="cannot forget itself"):
        collect_garbage(bob.resolve(), grace_seconds=0, forget=[catalog_id(bob)])
    gone = catalog_id(alice)
    report = collect_garbage(bob.resolve(), grace_seconds=0, forget=[gone])
    assert report.forgotten == [gone] and report.deleted == [hashes["alice"]]
    assert not store.exists(hashes["alice"]) and store.exists(hashes["bob"])
    assert [r.id for r in registered(store)] == [catalog_id(bob)]
    assert collect_garbage(bob.resolve(), grace_seconds=0).deleted == []


def test_gc_with_the_only_catalog_of_a_store_works_as_before(tmp_path: Path) -> None:
    alice, _ = two_projects(tmp_path, str(tmp_path / "own-store"))
    old = PIPE.run(params={"who": "old"}, stack=alice).artifacts["model"].content_hash
    kept = PIPE.run(params={"who": "alice"}, stack=alice).artifacts["model"].content_hash
    store = alice.resolve().open_store()
    prune(alice, Policy(keep_last=1))
    time.sleep(2.1)
    report = collect_garbage(alice.resolve(), grace_seconds=0)
    assert report.deleted == [old] and report.others == [] and not report.first
    assert store.exists(kept) and not store.exists(old)
    assert [r.id for r in registered(store)] == [catalog_id(alice)]


def test_a_store_written_before_catalogs_were_named_is_collected_as_before(
        tmp_path: Path) -> None:
    """No marker at all (objects written by an older FlowyML): gc names its own catalog,
    says so, and collects as it always did."""
    alice, _ = two_projects(tmp_path, str(tmp_path / "old-store"))
    PIPE.run(params={"who": "alice"}, stack=alice)
    store = alice.resolve().open_store()
    for r in registered(store):  # as an older FlowyML left it
        store.forget_catalog(r.id)
    clear_opened()
    res = flowyml_cli(tmp_path, "gc", "--grace", "0",
                      env={"FLOWYML_ROOT": str(alice.root), "FLOWYML_STORE": str(alice.store),
                           "FLOWYML_CATALOG": str(alice.catalog)})
    assert res.returncode == 0, res.stderr
    assert "deleted 0 object(s)" in res.stdout and "named no catalog before" in res.stdout
    assert [r.id for r in registered(alice.resolve().open_store())] == [catalog_id(alice)]


def test_gc_refuses_a_bucket_two_projects_share_with_a_catalog_each(
        tmp_path: Path, s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reported case: the same ``store = "s3://..."``, no catalog line (a SQLite
    file in each project). A cached rerun sends no registration request; a run that
    executes sends one create-if-absent per process, which leaves the marker as it was."""
    s3_bucket = uniq("bkt")
    s3_server.make_bucket(s3_bucket)
    opts = s3_server.storage_options()
    alice, bob = two_projects(tmp_path, f"s3://{s3_bucket}/team", storage_options=opts)
    alice, bob = (Stack(store=s.store, root=s.root, cache_dir=s.cache_dir, inline_max=0,
                        storage_options=opts) for s in (alice, bob))  # the default catalog
    assert Path(str(alice.resolve().catalog)[len("sqlite:///"):]).parent == Path(
        str(alice.root)) / ".flowyml"
    hashes = run_both(alice, bob)
    check_refused(alice, bob, hashes)

    key = f"{s3_bucket}/team/catalogs/{catalog_id(alice)}"
    fs = alice.resolve().open_store().fs
    before = (fs.cat_file(key), fs.info(key)["LastModified"])
    from flowyml.stores.s3 import S3Adapter

    uploads: list[str] = []  # every create or put the store sends: objects and markers
    real = S3Adapter.upload

    def counting(self: Any, fs: Any, src: Path, key: str, *, create: bool) -> bool:
        uploads.append(key)
        return real(self, fs, src, key, create=create)

    monkeypatch.setattr(S3Adapter, "upload", counting)
    clear_opened()  # a new process
    cached = PIPE.run(params={"who": "alice"}, stack=alice)
    assert cached.steps["train"].cached and uploads == []
    clear_opened()
    PIPE.run(params={"who": "alice"}, stack=alice, force=True)
    assert [k for k in uploads if "/catalogs/" in k] == [key]
    time.sleep(1.1)  # S3 keeps whole seconds
    clear_opened()
    PIPE.run(params={"who": "alice"}, stack=alice, force=True)
    fs = alice.resolve().open_store().fs
    assert (fs.cat_file(key), fs.info(key)["LastModified"]) == before


def _name_at_once(store: Any, threads: int) -> tuple[list[bool], list[BaseException]]:
    """``threads`` threads naming one catalog in ``store`` at the same moment: what each
    call returned, and what each raised."""
    import threading

    barrier = threading.Barrier(threads)
    created: list[bool] = []
    errors: list[BaseException] = []

    def name() -> None:
        barrier.wait()
        try:
            created.append(store.register_catalog("ab" * 8, b"{}"))
        except BaseException as exc:
            errors.append(exc)

    running = [threading.Thread(target=name) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    return created, errors


def test_runs_of_one_catalog_naming_it_at_once_do_not_fail(tmp_path: Path) -> None:
    """Two runs of one catalog in two threads of a process (or two processes) each name
    it in the store as they start: one creates the marker, the others find it, and none
    fails (they staged one file under one name, and the first to put it away took the
    others' before they were linked: a ``StoreError`` failed those runs)."""
    from flowyml.stores.local import LocalStore

    for attempt in range(20):  # (one store object, as a process's runs share)
        created, errors = _name_at_once(LocalStore(tmp_path / f"store{attempt}"), 4)
        assert errors == [] and sorted(created) == [False, False, False, True]
