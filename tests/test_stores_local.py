"""The local folder store (``stores/local.py``) against hostile or racing writers:
different bytes never replace an object, digests are validated before they form a
path, and a symlinked object is not trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowyml as fm
from flowyml.core.hashing import hash_file

# about objects in the store, tiny ones too (conftest.objects_in_store)
pytestmark = pytest.mark.usefixtures("objects_in_store")


def test_different_bytes_never_replace_an_object(project: Path) -> None:
    store = fm.Stack().resolve().open_store()
    good = project / "good"
    good.write_bytes(b"good")
    digest = hash_file(good)
    store.put_file(digest, good)
    evil = project / "evil"
    evil.write_bytes(b"evil")
    assert store.put_file(digest, evil) is False
    assert store.local_path(digest).read_bytes() == b"good"


def test_digests_are_validated_before_touching_a_path(project: Path) -> None:
    store = fm.Stack().resolve().open_store()
    for bad in ("../../etc/passwd", "ab/../../x", "A" * 64, "0" * 63):
        with pytest.raises(fm.StoreError):
            store.exists(bad)


def test_symlinked_object_is_not_trusted(project: Path, tmp_path: Path) -> None:
    run = fm.Pipeline("p", [fm.step(outputs="v")(lambda: [1, 2, 3])]).run()
    art = run.artifacts["v"]
    path = project / ".flowyml" / "objects" / art.content_hash[:2] / art.content_hash
    outside = tmp_path / "outside"
    outside.write_bytes(b"[9,9,9]")
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(fm.FlowymlError):
        fm.Catalog().get("v").load()
