"""Tiny objects kept in the catalog row (``objects.py``, the stack's ``inline_max``): no
file and no object-store request per scalar, still content-addressed, verified on
every read and by ``flowyml verify``, deleted with their artifact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import flowyml as fm
from flowyml.core.errors import ConfigError
from flowyml.stack import clear_opened
from tests.conftest import flowyml_cli


def _files(root: Path) -> list[Path]:
    objects = root / ".flowyml" / "objects"
    return [p for p in objects.rglob("*") if p.is_file()] if objects.exists() else []


@fm.step(outputs="n")
def count(k: int = 3) -> int:
    return k


@fm.step(outputs="names")
def names(n: int) -> list[str]:
    return [f"item-{i}" for i in range(n)]


@fm.step(outputs="big")
def big(n: int) -> list[int]:
    return list(range(1000 * n))  # more than 4 KiB of JSON


@fm.step(outputs="total")
def total(names: list[str], big: fm.ArtifactRef) -> int:
    return len(names) + len(big.load())


PIPE = fm.Pipeline("inline", [count, names, big, total])


def test_small_values_live_in_the_catalog_and_big_ones_in_the_store(project: Path) -> None:
    run = PIPE.run()
    assert run["total"] == 3 + 3000
    arts = run.artifacts
    files = {p.name for p in _files(project)}
    assert files == {arts["big"].content_hash}, "one file: the only object over 4 KiB"
    assert arts["n"].uri == f"catalog:{arts['n'].id}"
    assert arts["big"].uri.endswith(arts["big"].content_hash)
    clear_opened()
    cat = fm.Catalog()
    assert cat.get("names").load() == ["item-0", "item-1", "item-2"]
    assert cat.get("n").ref().load() == 3
    again = PIPE.run()  # reused: the rows are there, no store lookup needed
    assert all(s.cached for s in again.steps.values()) and again["total"] == 3003
    assert PIPE.run(params={"k": 2})["total"] == 2002


def test_inline_max_zero_puts_every_object_in_the_store(project: Path) -> None:
    (project / "flowyml.toml").write_text("[stacks.default]\ninline_max = 0\n")
    run = PIPE.run()
    assert {p.name for p in _files(project)} == {a.content_hash for a in run.artifacts.values()}
    assert fm.Stack(inline_max=10).resolve().inline_max == 10
    with pytest.raises(ConfigError, match="inline_max of stack 'default' must be a number"):
        fm.Stack(inline_max=-1).resolve()


def test_damaged_inline_bytes_are_never_returned_and_verify_finds_them(project: Path) -> None:
    run = PIPE.run()
    art = run.artifacts["names"]
    with sqlite3.connect(project / ".flowyml" / "catalog.db") as db:
        db.execute("UPDATE artifacts SET data = ? WHERE id = ?", (b'["item-0"]', art.id))
    clear_opened()
    with pytest.raises(fm.CorruptArtifactError) as err:
        fm.Catalog().get("names").load()
    assert f"names@1 (id {art.id})" in str(err.value) and art.content_hash in str(err.value)
    out = flowyml_cli(project, "verify")
    assert out.returncode != 0 and "1 corrupt" in out.stdout, out.stdout + out.stderr
    # a step that reads it fails the same way, and says which artifact
    with pytest.raises(fm.CorruptArtifactError, match="names@1"):
        PIPE.run(force=["total"])


def test_processes_executor_hands_inline_bytes_both_ways(project: Path) -> None:
    run = PIPE.run(executor="processes:2")
    assert run["total"] == 3003 and len(_files(project)) == 1
    assert PIPE.run()["total"] == 3003  # inline, reuses what the workers made


def test_prune_deletes_inline_objects_with_their_artifacts(project: Path) -> None:
    from flowyml.retention import Policy, prune

    PIPE.run()
    PIPE.run(params={"k": 2})
    prune(None, Policy(keep_last=1))
    with sqlite3.connect(project / ".flowyml" / "catalog.db") as db:
        kept = db.execute("SELECT name, version FROM artifacts WHERE data IS NOT NULL "
                          "ORDER BY name").fetchall()
    assert kept == [("n", 2), ("names", 2), ("total", 2)]
    assert fm.Catalog().get("names").load() == ["item-0", "item-1"]
