"""One contract, every store: a local folder, memory://, S3, GCS and Azure.

The remote kinds run against real servers on loopback (SeaweedFS, fake-gcs-server,
Azurite), started once per session by tests/fixtures_servers.py. Every member of the
``ArtifactStore`` protocol is exercised for every kind (``COVERED`` keeps that true when
the protocol grows); the remote backends' error mappings are checked with the client
libraries' own exception types at the end.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from flowyml.core.errors import ArtifactNotFoundError, ConfigError, CorruptArtifactError, StoreError
from flowyml.core.hashing import hash_bytes
from flowyml.core.iostats import IOStats
from flowyml.core.secrets import secret_values
from flowyml.objects import verified_path
from flowyml.stores.adapter import Adapter, classify_error
from flowyml.stores.base import INLINE_MAX, ArtifactStore
from flowyml.stores.registry import BACKENDS, load_adapter

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
        time.sleep(1.1)
        assert store.refresh(digest) is True, "an intact object is vouched for"
        again = store.mtime(digest)
        assert again > refreshed, "refresh makes the object young, as a write does"
        assert store.delete_if_older(digest, refreshed + 0.5) is False
        assert store.delete_if_older(digest, again + 5) is True
        assert not store.exists(digest)
        with pytest.raises(FileNotFoundError):
            store.mtime(digest)
        assert store.delete_if_older(digest, again + 5) is True, "gone is gone"

    def test_refresh_never_vouches_for_absent_or_damaged_objects(
        self, harness: StoreHarness
    ) -> None:
        store = harness.open()
        data = b"small json-like bytes"
        digest = hash_bytes(data)
        assert store.refresh(digest) is False
        assert not store.exists(digest), "refresh never creates anything"
        put(store, data)
        assert store.refresh(digest) is True
        harness.raw_write(harness.key(digest), b"small json-like BYTES")  # same size
        assert store.refresh(digest) is False, "a damaged object must be written again"
        _, staged = stage(store, data)
        assert store.put_file(digest, staged) is False
        assert harness.raw_read(harness.key(digest)) == data, "the write repaired it"
        assert store.refresh(digest) is True

    def test_every_protocol_member_is_there(self, harness: StoreHarness) -> None:
        store = harness.open()
        for name in protocol_members():
            assert hasattr(store, name), f"{harness.kind} store lacks {name}"
        assert isinstance(store.uri, str) and store.stack_name == "contract"
        assert store.allow_pickle is True and isinstance(store.stats, IOStats)
        assert store.inline_max == INLINE_MAX  # the default; a stack's setting overrides it
        folder = store.staging_dir()
        assert folder.is_dir() and store.staging_dir() == folder

    def test_describe_names_the_store_without_secrets(self, harness: StoreHarness) -> None:
        store = harness.open()
        d = store.describe()
        assert set(d) == {"kind", "uri", "endpoint", "storage_options", "cache_dir"}
        assert d["kind"] == harness.kind and d["uri"] == store.uri
        if harness.kind == "local":
            assert d["endpoint"] is None and d["cache_dir"] is None
        else:
            assert d["cache_dir"] == str(harness.cache_dir.resolve())
        if harness.kind in ("s3", "gcs", "azure"):
            assert str(d["endpoint"]).startswith("http://127.0.0.1:")
        shown = repr(d) + repr(store)
        for secret in secret_values(harness.options):
            assert secret not in shown

    def test_missing_objects_everywhere(self, harness: StoreHarness) -> None:
        store = harness.open()
        digest = hash_bytes(b"never stored")
        assert store.exists(digest) is False
        with pytest.raises(FileNotFoundError):
            store.mtime(digest)
        assert store.delete_if_older(digest, time.time() + 60) is True
        store.delete(digest)  # absent is fine
        store.evict_local(digest)  # nothing to forget is fine
        assert list(store.iter_objects()) == []

    def test_catalog_markers_are_created_once_listed_and_forgotten(
        self, harness: StoreHarness
    ) -> None:
        store = harness.open()
        assert store.registered_catalogs() == {}
        assert store.forget_catalog("0123456789abcdef") is False
        assert store.register_catalog("0123456789abcdef", b'{"catalog": "a"}') is True
        assert store.register_catalog("0123456789abcdef", b"again") is False
        other = harness.open(harness.cache_dir.parent / "other-cache")  # another process
        assert other.register_catalog("0123456789abcdef", b"rewritten?") is False
        assert other.register_catalog("fedcba9876543210", b'{"catalog": "b"}') is True
        assert store.registered_catalogs() == {"0123456789abcdef": b'{"catalog": "a"}',
                                               "fedcba9876543210": b'{"catalog": "b"}'}
        assert list(store.iter_objects()) == [], "a marker is not an object"
        assert store.forget_catalog("fedcba9876543210") is True
        assert list(other.registered_catalogs()) == ["0123456789abcdef"]
        assert store.register_catalog("fedcba9876543210", b"back") is True, "forgotten, named again"
        for bad in ("../objects", "ABCDEF0123456789", "abc", "0123456789abcdef/x"):
            with pytest.raises(StoreError, match="invalid catalog id"):
                store.register_catalog(bad, b"x")
            with pytest.raises(StoreError, match="invalid catalog id"):
                store.forget_catalog(bad)

    @pytest.mark.parametrize("bad", ["../../etc/passwd", "AB" * 32, "a" * 63, ""])
    def test_bad_digests_are_refused(self, harness: StoreHarness, bad: str) -> None:
        store = harness.open()
        calls = {
            "exists": lambda: store.exists(bad),
            "local_path": lambda: store.local_path(bad),
            "evict_local": lambda: store.evict_local(bad),
            "refresh": lambda: store.refresh(bad),
            "mtime": lambda: store.mtime(bad),
            "delete_if_older": lambda: store.delete_if_older(bad, 0.0),
            "delete": lambda: store.delete(bad),
        }
        refused = []
        for name, call in calls.items():
            try:
                call()
            except StoreError as exc:
                if "invalid object digest" in str(exc):
                    refused.append(name)
        assert refused == list(calls)
        _, staged = stage(store, b"x")
        with pytest.raises(StoreError, match="invalid object digest"):
            store.put_file(bad, staged)
        assert harness.raw_keys() == []


# ---------------------------------------------------------------- the protocol itself
COVERED = {
    # attributes
    "uri", "stack_name", "allow_pickle", "stats", "inline_max",
    # reading, writing, maintenance, display: each is exercised above for every kind
    "exists", "local_path", "evict_local", "staging_dir", "put_file", "refresh",
    "iter_objects", "mtime", "delete_if_older", "delete", "describe",
    "register_catalog", "registered_catalogs", "forget_catalog",
}


def protocol_members() -> set[str]:
    methods = {n for n in vars(ArtifactStore) if not n.startswith("_")}
    return methods | set(ArtifactStore.__annotations__)


def test_the_contract_covers_the_whole_protocol() -> None:
    """A member added to ArtifactStore needs a contract test (and an entry here)."""
    assert protocol_members() == COVERED


# ---------------------------------------------------------------- backend adapters
def test_every_scheme_has_an_adapter() -> None:
    for scheme, backend in BACKENDS.items():
        adapter = load_adapter(f"{scheme}://bucket/prefix")
        assert isinstance(adapter, Adapter) and adapter.protocol == backend.protocol
        assert adapter.name in ("s3", "gcs", "azure", "memory")
    with pytest.raises(ConfigError, match=r"unknown scheme ftp://.*flowyml-core\[azure\]"):
        load_adapter("ftp://host/x", "contract")


def client_error(code: str, status: int) -> Any:
    """botocore's error for an S3 answer: error ``code``, HTTP ``status``."""
    from botocore import exceptions as boto

    response = {"Error": {"Code": code, "Message": "m"},
                "ResponseMetadata": {"HTTPStatusCode": status}}
    return boto.ClientError(response, "PutObject")


def _s3_errors() -> list[tuple[BaseException, str]]:
    import errno

    from botocore import exceptions as boto

    seaweed_412 = OSError(errno.EINVAL, "At least one of the pre-conditions did not hold")
    seaweed_412.__cause__ = client_error("PreconditionFailed", 412)
    head_403 = PermissionError("Forbidden")
    head_403.__cause__ = client_error("403", 403)
    return [
        (client_error("SignatureDoesNotMatch", 403), "auth"),
        (client_error("InvalidAccessKeyId", 403), "auth"),
        (head_403, "auth"),
        (boto.NoCredentialsError(), "auth"),
        (client_error("NoSuchBucket", 404), "missing"),
        (client_error("NoSuchKey", 404), "missing"),
        (seaweed_412, "exists"),
        (boto.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "unreachable"),
        (boto.ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"), "unreachable"),
        (client_error("InternalError", 500), "other"),
        (OSError("AccessDenied: forbidden, 403, not found"), "other"),  # words decide nothing
    ]


def _gcs_errors() -> list[tuple[BaseException, str]]:
    import aiohttp
    from gcsfs.retry import HttpError
    from google.auth import exceptions as google_auth

    def response_error(status: int) -> aiohttp.ClientResponseError:
        return aiohttp.ClientResponseError(None, (), status=status)  # type: ignore[arg-type]

    return [
        (HttpError({"code": 401, "message": "Invalid Credentials"}), "auth"),
        (OSError("Forbidden: b/bkt/o\nno access"), "auth"),  # gcsfs's bare OSError for 403
        (google_auth.RefreshError("bad token"), "auth"),
        (google_auth.DefaultCredentialsError("none found"), "auth"),
        (response_error(403), "auth"),
        (FileNotFoundError("b/bkt/o/k"), "missing"),
        (response_error(404), "missing"),
        (FileExistsError("b/bkt/o/k"), "exists"),
        (HttpError({"code": 412, "message": "conditionNotMet"}), "exists"),
        (aiohttp.ServerDisconnectedError(), "unreachable"),
        (google_auth.TransportError("no route"), "unreachable"),
        (HttpError({"code": 500, "message": "backend error"}), "other"),
        (OSError("Permission to the bucket is Forbidden"), "other"),  # only gcsfs's own form
    ]


def _azure_errors() -> list[tuple[BaseException, str]]:
    from azure.core import exceptions as az

    def http_error(status: int) -> az.HttpResponseError:
        e = az.HttpResponseError(message="Server failed to authenticate the request")
        e.status_code = status
        return e

    return [
        (az.ClientAuthenticationError(message="bad key"), "auth"),
        (http_error(403), "auth"),
        (az.ResourceNotFoundError(message="ContainerNotFound"), "missing"),
        (FileNotFoundError(2, "No such container"), "missing"),
        (az.ResourceExistsError(message="BlobAlreadyExists"), "exists"),
        (FileExistsError("File already exists!"), "exists"),
        (az.ServiceRequestError("Cannot connect to host"), "unreachable"),
        (http_error(500), "other"),
        (ValueError("AuthenticationFailed connection refused 404"), "other"),
    ]


def _memory_errors() -> list[tuple[BaseException, str]]:
    missing = FileNotFoundError("/mem/p/k")
    missing.__context__ = KeyError("/mem/p/k")
    return [(missing, "missing"), (FileExistsError(), "exists"), (KeyError("x"), "other")]


@pytest.mark.parametrize("scheme, cases", [
    ("s3", _s3_errors), ("gs", _gcs_errors), ("az", _azure_errors), ("memory", _memory_errors),
])
def test_each_backend_maps_its_own_exception_types(scheme: str, cases: Any) -> None:
    adapter = load_adapter(f"{scheme}://bucket/prefix")
    examples = cases()
    got = [(repr(exc), classify_error(adapter, exc)) for exc, _ in examples]
    assert got == [(repr(exc), kind) for exc, kind in examples]


def test_s3_retries_a_write_that_conflicts_with_one_in_flight(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS answers a conditional write racing another one of the same key with 409
    ``ConditionalRequestConflict`` and asks for a retry; the retry then creates the
    object or finds it (412). Any other error is raised at once."""
    from flowyml.stores import s3

    def wrapped(code: str, status: int) -> Exception:
        error = OSError("s3fs wraps it")
        error.__cause__ = client_error(code, status)
        return error

    class Fs:  # what Adapter.upload calls of an s3fs filesystem
        def __init__(self, errors: list[Exception]) -> None:
            self.errors, self.calls = errors, 0

        def put_file(self, src: str, key: str, mode: str = "overwrite") -> None:
            self.calls += 1
            if self.errors:
                raise self.errors.pop(0)

    sleeps: list[float] = []
    monkeypatch.setattr(s3.time, "sleep", sleeps.append)
    adapter = load_adapter("s3://bucket/prefix")
    src = tmp_path / "obj"
    src.write_bytes(b"x")
    conflict = lambda: wrapped("ConditionalRequestConflict", 409)  # noqa: E731
    fs = Fs([conflict(), conflict()])
    assert adapter.upload(fs, src, "k", create=True) is True and fs.calls == 3
    assert sleeps == [s3.CONFLICT_BACKOFF, 2 * s3.CONFLICT_BACKOFF]
    fs = Fs([conflict(), wrapped("PreconditionFailed", 412)])  # the other one won
    assert adapter.upload(fs, src, "k", create=True) is False and fs.calls == 2
    fs = Fs([wrapped("InternalError", 500)])
    with pytest.raises(OSError):
        adapter.upload(fs, src, "k", create=True)
    assert fs.calls == 1
    fs = Fs([conflict() for _ in range(s3.CONFLICT_ATTEMPTS)])
    with pytest.raises(OSError):
        adapter.upload(fs, src, "k", create=True)
    assert fs.calls == s3.CONFLICT_ATTEMPTS
