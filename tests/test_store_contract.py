"""One contract, every store: a local folder, memory://, S3, GCS and Azure.

The remote kinds run against real servers on loopback (SeaweedFS, fake-gcs-server,
Azurite), started once per session by tests/fixtures_servers.py.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from flowyml.errors import ArtifactNotFoundError, CorruptArtifactError
from flowyml.hashing import hash_bytes
from flowyml.loading import verified_path

from .stack_fixtures import StoreHarness, make_harness

KINDS = ["local", "memory", "s3", "gcs", "azure"]


@pytest.fixture(params=KINDS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> StoreHarness:
    return make_harness(request.param, request, tmp_path)


def stage(store: Any, data: bytes) -> tuple[str, Path]:
    path = store.staging_dir() / f"{os.getpid()}-{threading.get_ident()}-{hash_bytes(data)[:8]}.part"
    path.write_bytes(data)
    return hash_bytes(data), path


def put(store: Any, data: bytes) -> tuple[str, bool]:
    digest, path = stage(store, data)
    return digest, store.put_file(digest, path)


class TestStoreContract:
    def test_put_read_roundtrip(self, harness: StoreHarness) -> None:
        store = harness.open()
        data = b"hello artifact " * 100
        digest, path = stage(store, data)
        assert not store.exists(digest)
        assert store.put_file(digest, path) is True
        assert not path.exists(), "the staged file is consumed"
        assert store.exists(digest)
        assert verified_path(store, digest, "x@1").read_bytes() == data
        # the same content-addressed layout everywhere
        assert harness.raw_read(harness.key(digest)) == data
        assert harness.raw_keys() == [f"objects/{digest[:2]}/{digest}"]

    def test_put_existing_is_create_if_absent(self, harness: StoreHarness) -> None:
        store = harness.open()
        data = b"same bytes"
        digest, created = put(store, data)
        assert created
        again, path = stage(store, data)
        assert store.put_file(again, path) is False
        assert not path.exists()
        # bytes that do not hash to the name never replace anything...
        _, path = stage(store, b"evil")
        assert store.put_file(digest, path) is False
        assert harness.raw_read(harness.key(digest)) == data
        # ...while the right bytes repair an object damaged behind our back
        right = b"the right bytes"
        digest2 = hash_bytes(right)
        harness.raw_write(harness.key(digest2), b"damaged copy")
        staged = store.staging_dir() / "bad.part"
        staged.write_bytes(b"wrong bytes")
        assert store.put_file(digest2, staged) is False
        assert harness.raw_read(harness.key(digest2)) == b"damaged copy"
        staged.write_bytes(right)
        assert store.put_file(digest2, staged) is False
        assert harness.raw_read(harness.key(digest2)) == right

    def test_missing_object_names_store_and_stack(self, harness: StoreHarness) -> None:
        store = harness.open()
        digest = hash_bytes(b"absent")
        assert not store.exists(digest)
        with pytest.raises(ArtifactNotFoundError) as err:
            store.local_path(digest)
        msg = str(err.value)
        assert digest in msg and "'contract'" in msg and "--force" in msg

    def test_deleted_object_is_not_found(self, harness: StoreHarness) -> None:
        store = harness.open()
        digest, _ = put(store, b"to be deleted behind our back")
        harness.raw_delete(harness.key(digest))
        assert not store.exists(digest)
        fresh = harness.open(harness.cache_dir.parent / "other-cache")  # another machine
        with pytest.raises(ArtifactNotFoundError, match="deleted outside FlowyML"):
            fresh.local_path(digest)

    def test_altered_bytes_raise_and_return_nothing(self, harness: StoreHarness) -> None:
        store = harness.open()
        data = b"precious model weights" * 10
        digest, _ = put(store, data)
        harness.raw_write(harness.key(digest), b"tampered" + data[8:])
        store.evict_local(digest)
        with pytest.raises(CorruptArtifactError) as err:
            verified_path(store, digest, "model@1")
        assert digest in str(err.value) and "'contract'" in str(err.value)
        if harness.kind != "local":  # a corrupt download never enters the local cache
            assert not (harness.cache_dir / digest[:2] / digest).exists()
        # nothing stored was lost or touched: the altered object is still there to inspect
        assert harness.raw_read(harness.key(digest)).startswith(b"tampered")

    def test_corrupt_local_copy_is_evicted_and_refetched(self, harness: StoreHarness) -> None:
        store = harness.open()
        data = b"good bytes" * 50
        digest, _ = put(store, data)
        if harness.kind == "local":  # the store *is* the local copy: evicting keeps it
            store.evict_local(digest)
            assert harness.raw_read(harness.key(digest)) == data
            return
        cached = harness.cache_dir / digest[:2] / digest
        assert cached.read_bytes() == data, "the uploaded file became the cached copy"
        cached.chmod(0o644)
        cached.write_bytes(b"bit rot")
        assert verified_path(store, digest, "x@1").read_bytes() == data
        assert cached.read_bytes() == data

    def test_iter_objects_and_delete(self, harness: StoreHarness) -> None:
        store = harness.open()
        blobs = [b"a" * 10, b"b" * 20, b"c" * 30]
        digests = [put(store, b)[0] for b in blobs]
        listed = {o.digest: o for o in store.iter_objects()}
        assert set(listed) == set(digests)
        assert sorted(o.size for o in listed.values()) == [10, 20, 30]
        assert all(o.mtime > 0 for o in listed.values())
        store.delete(digests[0])
        store.delete(digests[0])  # deleting twice is fine
        assert not store.exists(digests[0])
        assert {o.digest for o in store.iter_objects()} == set(digests[1:])

    def test_concurrent_writers_create_once(self, harness: StoreHarness) -> None:
        store = harness.open()
        data = os.urandom(64 * 1024)
        results: list[bool] = []
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                results.append(put(store, data)[1])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert sorted(results) == [False] * 5 + [True]
        assert harness.raw_read(harness.key(hash_bytes(data))) == data

    def test_io_is_counted(self, harness: StoreHarness) -> None:
        store = harness.open()
        data = b"x" * 1000
        before = store.stats.snapshot()
        digest, _ = put(store, data)
        after_put = store.stats.snapshot()
        assert after_put["store_bytes_written"] - before["store_bytes_written"] == 1000
        assert after_put["store_objects_written"] - before["store_objects_written"] == 1
        put(store, data)  # already there: nothing written
        assert store.stats.snapshot()["store_bytes_written"] == after_put["store_bytes_written"]
        reader = harness.open(harness.cache_dir.parent / "reader-cache")
        s0 = reader.stats.snapshot()
        reader.local_path(digest)
        reader.local_path(digest)
        d = {k: v - s0[k] for k, v in reader.stats.snapshot().items()}
        if harness.kind == "local":
            assert d["store_bytes_read"] == 2000 and d["cache_bytes_read"] == 0
        else:  # fetched once from the store, then read from the local cache
            assert (d["store_bytes_read"], d["store_objects_read"]) == (1000, 1)
            assert (d["cache_bytes_read"], d["cache_objects_read"]) == (1000, 1)

    def test_rewriting_an_object_refreshes_its_age_for_gc(self, harness: StoreHarness) -> None:
        store = harness.open()
        data = b"re-adopted by a later run"
        digest, _ = put(store, data)
        first = store.mtime(digest)
        time.sleep(1.1)  # S3 and Azure keep whole seconds
        _, created = put(store, data)
        assert not created
        refreshed = store.mtime(digest)
        assert refreshed > first
        assert store.delete_if_older(digest, refreshed - 0.5) is False
        assert store.exists(digest)
        assert store.delete_if_older(digest, refreshed + 5) is True
        assert not store.exists(digest)
        with pytest.raises(FileNotFoundError):
            store.mtime(digest)
