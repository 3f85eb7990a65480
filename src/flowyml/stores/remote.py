"""Remote stores through fsspec: the core shared by ``s3://``, ``gs://``, ``az://`` /
``abfs://`` and ``memory://``.

Every remote store keeps the local store's layout, ``<prefix>/objects/ab/<digest>``,
and puts a local cache (``stores/cache.py``) in front of it:

- ``put_file`` uploads the staged file with create-if-absent semantics (S3
  ``If-None-Match: *``, GCS ``ifGenerationMatch=0``, Azure ``overwrite=False``), whole
  or as a multipart upload that completes atomically (and is aborted on error), so a
  reader never sees a partial object and an object is never replaced. The staged file
  then becomes the local cache's copy.
- ``local_path`` serves the local cache's copy, fetching (once, under a lock,
  verified by hash) when it is absent.
- Failures become ``StoreError`` / ``ArtifactNotFoundError`` / ``CorruptArtifactError``
  naming the stack, the store URI (secrets masked) and the fix. The endpoint is probed
  with one short TCP connect before first use, so an unreachable server fails in
  seconds instead of after the client library's retries.

What differs between backends (client options, endpoint, conditional upload, age
refresh, stored checksum, and which exceptions mean what) is one adapter module per
backend (interface in ``adapter.py``), found by scheme through ``registry.py``, which
imports a backend on first use and names the extra to install when it is missing.
"""

from __future__ import annotations

import copy
import os
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..core.errors import (
    ArtifactNotFoundError,
    ConfigError,
    CorruptArtifactError,
    FlowymlError,
    StoreError,
)
from ..core.hashing import hash_file, is_digest
from ..core.iostats import IOStats
from ..core.secrets import mask_options, mask_uri, redact, secret_values
from .adapter import Adapter, ErrorKind, classify_error
from .base import INLINE_MAX, ObjectInfo, object_key
from .cache import LocalCache, get_cache
from .registry import load_adapter

T = TypeVar("T")

PROBE_TIMEOUT = 5.0  # seconds for the first TCP connect to an endpoint
HEAD_FIRST_BYTES = 8 * 2**20  # above this size, ask whether the object exists before uploading


def open_remote_store(
    uri: str,
    storage_options: dict[str, Any] | None = None,
    allow_pickle: bool = False,
    cache_dir: str | None = None,
    *,
    stack_name: str = "default",
    cache_max_bytes: int | None = None,
) -> RemoteStore:
    """A ``RemoteStore`` for ``uri``; ``ConfigError`` for an unknown scheme or a backend
    package that is not installed. Nothing is contacted until the store is used."""
    return RemoteStore(
        uri,
        load_adapter(uri, stack_name),
        dict(storage_options or {}),
        allow_pickle=allow_pickle,
        cache=get_cache(cache_dir, cache_max_bytes),
        stack_name=stack_name,
    )


class RemoteStore:
    """Content-addressed objects in an fsspec filesystem, behind a local cache."""

    def __init__(
        self,
        uri: str,
        adapter: Adapter,
        storage_options: dict[str, Any],
        *,
        allow_pickle: bool,
        cache: LocalCache,
        stack_name: str = "default",
    ) -> None:
        scheme, sep, rest = uri.partition("://")  # ``s3://``: no bucket (said below),
        self._raw_uri = scheme + sep + rest.rstrip("/")  # not the scheme ``s3:``
        self.uri = mask_uri(self._raw_uri)
        self.allow_pickle = allow_pickle
        self.inline_max = INLINE_MAX
        self.cache = cache
        self.stack_name = stack_name
        self.stats = IOStats()
        self._adapter = adapter
        self._options = _merge(copy.deepcopy(adapter.default_options), storage_options)
        self._secrets = secret_values(storage_options, uri)
        self._fs: Any = None
        self._registered: set[str] = set()  # catalog ids this process named in the store
        self._pid = -1
        self._probed = False
        self._lock = threading.Lock()
        self._root = self._root_path()
        endpoint = adapter.endpoint(self._options)
        self._endpoint = None if endpoint is None else mask_uri(endpoint)

    def __repr__(self) -> str:
        return f"RemoteStore({self.uri!r}, stack={self.stack_name!r})"

    def __copy__(self) -> RemoteStore:
        """A shallow copy sharing the filesystem client and the cache (executors give
        each task a copy with counters of its own)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for k in ("_fs", "_lock", "stats", "cache"):
            state.pop(k, None)
        state["_cache_args"] = (str(self.cache.root), self.cache.max_bytes)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        root, cap = state.pop("_cache_args")
        self.__dict__.update(state)
        self._fs = None
        self._pid = -1
        self._probed = False
        self._lock = threading.Lock()
        self.stats = IOStats()
        self.cache = get_cache(root, cap)

    # ------------------------------------------------------------ naming
    @property
    def _where(self) -> str:
        """``store URI of stack NAME`` (for messages; secrets masked)."""
        at = f" at {self._endpoint}" if self._endpoint else ""
        return f"store {self.uri}{at} of stack {self.stack_name!r}"

    @property
    def _bucket(self) -> str:
        return self._root.split("/", 1)[0]

    @property
    def _noun(self) -> str:
        return self._adapter.noun or "bucket"

    def _root_path(self) -> str:
        root = self._adapter.root(self._raw_uri, self._fs_class())
        if not root:
            raise ConfigError(
                f"stack {self.stack_name!r}: store {self.uri} names no {self._noun}; "
                f"write {self._raw_uri.split('://')[0]}://BUCKET/PREFIX"
            )
        return root

    def _key(self, digest: str) -> str:
        if not is_digest(digest):
            raise StoreError(f"invalid object digest {digest!r} for {self._where}")
        return f"{self._root}/{object_key(digest)}"

    def _object_uri(self, digest: str) -> str:
        """The object's full URI (secrets masked), for messages."""
        return f"{self.uri}/{object_key(digest)}"

    # ------------------------------------------------------------ filesystem
    def _fs_class(self) -> Any:
        try:
            return self._adapter.filesystem_class(self._options)
        except ImportError as exc:
            raise ConfigError(
                f"stack {self.stack_name!r}: store {self.uri} needs a backend that is not "
                f"installed ({exc}): pip install 'flowyml-core[{self._adapter.extra}]'"
            ) from exc

    @property
    def fs(self) -> Any:
        """The fsspec filesystem, created (and its endpoint probed) on first use; a forked
        child gets its own."""
        if self._fs is not None and self._pid == os.getpid():
            return self._fs
        with self._lock:
            if self._fs is None or self._pid != os.getpid():
                if not self._probed or self._pid != os.getpid():
                    self._probe()
                cls = self._fs_class()
                kwargs = dict(cls._get_kwargs_from_urls(self._raw_uri))
                kwargs.update(self._options)
                try:
                    self._fs = cls(**kwargs)
                except FlowymlError:
                    raise
                except Exception as exc:
                    raise self._error(exc, "connect to") from None
                self._pid = os.getpid()
                self._probed = True
        return self._fs

    def _probe(self) -> None:
        """One TCP connect to the endpoint with a short timeout: an unreachable server
        fails here in seconds, not after minutes of the client library's retries."""
        if self._endpoint is None or _proxied():
            return
        u = urlsplit(self._endpoint if "://" in self._endpoint else f"https://{self._endpoint}")
        host = u.hostname
        if not host:
            return
        port = u.port or (443 if u.scheme == "https" else 80)
        try:
            with socket.create_connection((host, port), timeout=PROBE_TIMEOUT):
                pass  # connecting was the whole test
        except OSError as exc:
            reason = "timed out" if isinstance(exc, (TimeoutError, socket.timeout)) else (
                exc.strerror or str(exc)
            )
            raise StoreError(
                f"cannot reach {self._where}: connecting to {host}:{port} failed ({reason}). "
                "Check that the server is running and reachable from this machine, and the "
                "endpoint in the stack's storage_options; `flowyml stack check "
                f"{self.stack_name}` tests the connection. Nothing was written"
            ) from None

    def _call(self, fn: Callable[[], T], action: str, digest: str | None = None) -> T:
        try:
            return fn()
        except FlowymlError:
            raise
        except Exception as exc:
            raise self._error(exc, action, digest) from exc

    def _kind(self, exc: BaseException) -> ErrorKind:
        return classify_error(self._adapter, exc)

    # ------------------------------------------------------------ errors
    def _error(self, exc: BaseException, action: str, digest: str | None = None) -> FlowymlError:
        """A FlowymlError for a backend exception: names the stack, the masked URI, the fix."""
        detail = redact(f"{type(exc).__name__}: {exc}", self._secrets)
        what = f"{action} object {digest[:16]}... in" if digest else f"{action}"
        kind = self._kind(exc)
        if kind == "auth":
            return StoreError(
                f"{self._where} rejected the credentials ({detail}); cannot {what} it. "
                f"Check the key/secret, token or connection string in [stacks."
                f"{self.stack_name}].storage_options (read secrets from the environment "
                "with ${VAR}) and that they grant read and write on "
                f"{self._bucket!r}. Nothing stored was changed"
            )
        if kind == "unreachable":
            return StoreError(
                f"cannot reach {self._where} ({detail}). Check that the server is running and "
                "the endpoint in the stack's storage_options; `flowyml stack check "
                f"{self.stack_name}` tests the connection. Nothing was written"
            )
        if kind == "missing":
            if not self._bucket_exists():
                noun = self._noun
                return StoreError(
                    f"the {noun} {self._bucket!r} of {self._where} does not exist (cannot "
                    f"{what} it). Create the {noun} first, or fix the store URI of stack "
                    f"{self.stack_name!r}; FlowyML never creates {noun}s"
                )
            if digest:
                return self._missing(digest)
        return StoreError(f"cannot {what} {self._where}: {detail}")

    def _missing(self, digest: str) -> ArtifactNotFoundError:
        return ArtifactNotFoundError(
            f"object {digest} is missing from {self._where} ({self._object_uri(digest)}); it "
            "was deleted outside FlowyML. Re-run the producing step with force=True (or "
            "`flowyml run --force`) to store it again"
        )

    def _corrupt(self, digest: str, actual: str) -> CorruptArtifactError:
        return CorruptArtifactError(
            f"object {digest} in {self._where} is corrupt: its bytes hash to "
            f"{actual[:16]}..., not to its name, so they were altered outside FlowyML. "
            f"Nothing was loaded and nothing was cached. Re-run the producing step with "
            "--force (`flowyml run FILE --force`): writing the right bytes repairs "
            f"{self._object_uri(digest)}; `flowyml verify` finds other damage"
        )

    def _bucket_exists(self) -> bool:
        if self._adapter.noun is None:
            return True  # no buckets: nothing to be missing
        try:
            return bool(self.fs.exists(self._bucket))
        except Exception:
            return True  # unknown: do not claim the bucket is missing

    # ------------------------------------------------------------ reading
    def exists(self, digest: str) -> bool:
        key = self._key(digest)
        return self._call(lambda: self._info(key) is not None, "look up", digest)

    def _info(self, key: str) -> dict[str, Any] | None:
        """The backend's description of ``key``, or None when it is absent."""
        try:
            return dict(self.fs.info(key))
        except FileNotFoundError:
            return None

    def local_path(self, digest: str) -> Path:
        key = self._key(digest)
        hit = self.cache.lookup(digest)
        if hit is not None:
            self.stats.add(cache_bytes_read=_size(hit), cache_objects_read=1)
            return hit

        def download(tmp: Path) -> None:
            self._call(lambda: self.fs.get_file(key, str(tmp)), "read", digest)
            if not tmp.exists():  # some backends write nothing for a missing key
                raise self._missing(digest)

        path, fetched = self.cache.fetch(digest, download, lambda actual: self._corrupt(digest, actual))
        size = _size(path)
        if fetched:
            self.stats.add(store_bytes_read=size, store_objects_read=1)
        else:
            self.stats.add(cache_bytes_read=size, cache_objects_read=1)
        return path

    def evict_local(self, digest: str) -> None:
        self._key(digest)  # refuse a name that could reach outside the cache
        self.cache.evict(digest)

    # ------------------------------------------------------------ writing
    def staging_dir(self) -> Path:
        return self.cache.tmp_dir()

    def put_file(self, digest: str, src: Path) -> bool:
        """Upload ``src`` as ``digest`` unless it exists; then it becomes the cached copy.

        A writer that finds its object already stored checks it against the store's own
        checksum (size and MD5 where the backend keeps one): a damaged object is repaired
        with ``src`` when ``src`` hashes to ``digest`` (wrong bytes never replace
        anything). An intact one gets its age refreshed (gc keeps objects younger than
        the oldest live run); if it vanished meanwhile (gc took it as garbage), it is
        uploaded again."""
        key = self._key(digest)
        try:
            size = src.stat().st_size
            created = written = False
            for _ in range(2):
                if size > HEAD_FIRST_BYTES and self.exists(digest):
                    created = False
                else:
                    created = self._call(lambda: self._upload(src, key, create=True), "write", digest)
                if created:
                    written = True
                    break
                if not self._intact(key, src, size) and hash_file(src) == digest:
                    self._call(lambda: self._upload(src, key, create=False), "repair", digest)
                    written = True
                    break
                if self._refresh_age(key):
                    break
            if written:
                self.stats.add(store_bytes_written=size, store_objects_written=1)
            self.cache.adopt(digest, src)
        finally:
            try:
                src.unlink()
            except FileNotFoundError:
                pass  # adopted into the cache: nothing is left to clean up
        return created

    def _upload(self, src: Path, key: str, *, create: bool) -> bool:
        return self._adapter.upload(self.fs, src, key, create=create)

    def _intact(self, key: str, src: Path, size: int) -> bool:
        """Does the stored object match ``src``, by the store's size and MD5 (where it
        keeps one: S3 single-part ETag, GCS md5Hash, Azure Content-MD5)? A missing object
        counts as intact (the caller's refresh finds out and uploads it again)."""
        try:
            info = self._info(key)
        except Exception:
            return True  # cannot tell: never overwrite on a guess
        if info is None:
            return True
        if int(info.get("size") or 0) != size:
            return False
        stored = self._adapter.stored_md5(self.fs, key, info)
        return stored is None or stored == _md5_file(src)

    def refresh(self, digest: str) -> bool:
        """True when the object is stored and matches this machine's verified cached copy
        by the store's own checksum; its age is then refreshed, as a write would. Without
        a cached copy, or where the backend keeps no MD5 (S3 multipart), the store cannot
        vouch for the object without downloading it: False, and ``put_file`` checks."""
        key = self._key(digest)
        cached = self.cache.lookup(digest)
        if cached is None:
            return False
        info = self._call(lambda: self._info(key), "look up", digest)
        if info is None or int(info.get("size") or 0) != _size(cached):
            return False
        stored = self._call(lambda: self._adapter.stored_md5(self.fs, key, info), "look up", digest)
        if stored is None or stored != _md5_file(cached):
            return False
        return self._refresh_age(key)

    def _refresh_age(self, key: str) -> bool:
        """Make an existing object young again (a metadata rewrite updates its
        modification time). False when it does not exist; True when it does, even if the
        backend refused the refresh (best effort: reads never depend on it)."""
        fs = self.fs
        try:
            self._adapter.touch(fs, key)
            return True
        except FileNotFoundError:
            return False
        except Exception as exc:
            if self._kind(exc) != "missing":
                return True  # exists, the refresh was refused: gc's grace period covers it
            try:
                return bool(fs.exists(key))
            except Exception:
                return True  # cannot tell: assume it is there, as before the refresh

    # ------------------------------------------------------------ maintenance
    def mtime(self, digest: str) -> float:
        """The object's modification time in the store (for gc's age re-check)."""
        key = self._key(digest)
        found = self._call(lambda: self._info(key), "look up", digest)
        if found is None:
            raise FileNotFoundError(f"object {digest} is not in {self._where}")
        return _mtime(found)

    def delete_if_older(self, digest: str, cutoff: float) -> bool:
        """Delete the object unless it was refreshed at or after ``cutoff`` (re-checked
        right before deleting; remote stores have no lock to close the remaining window,
        see ``flowyml verify``)."""
        self._key(digest)  # an invalid name is an error, not an object to keep
        try:
            if self.mtime(digest) >= cutoff:
                return False
        except FileNotFoundError:
            return True  # already gone
        except StoreError:
            return False  # cannot check its age: keep it
        self.delete(digest)
        return True

    def delete(self, digest: str) -> None:
        key = self._key(digest)

        def rm() -> None:
            try:
                self.fs.rm_file(key)
            except FileNotFoundError:
                pass  # deleting an absent object is a no-op by contract

        self._call(rm, "delete", digest)
        self.cache.evict(digest)

    def iter_objects(self) -> Iterator[ObjectInfo]:
        base = f"{self._root}/objects"

        def find() -> dict[str, Any]:
            try:
                return dict(self.fs.find(base, detail=True))
            except FileNotFoundError:
                return {}

        found = self._call(find, "list the objects of")
        for path, info in sorted(found.items()):
            name = str(path).rstrip("/").rsplit("/", 1)[-1]
            if is_digest(name) and info.get("type", "file") == "file":
                yield ObjectInfo(name, int(info.get("size") or 0), _mtime(info))

    # ------------------------------------------------------------ catalogs (gc)
    def _marker_key(self, catalog_id: str) -> str:
        from .catalogs import is_catalog_id, marker_key

        if not is_catalog_id(catalog_id):
            raise StoreError(f"invalid catalog id {catalog_id!r} for {self._where}")
        return f"{self._root}/{marker_key(catalog_id)}"

    def register_catalog(self, catalog_id: str, marker: bytes) -> bool:
        """One create-if-absent upload (the objects' own), once per process and id."""
        key = self._marker_key(catalog_id)
        if catalog_id in self._registered:
            return False
        from .catalogs import staged_name

        staged = self.staging_dir() / staged_name(catalog_id)
        try:
            staged.write_bytes(marker)
            created = self._call(lambda: self._upload(staged, key, create=True),
                                 f"name catalog {catalog_id} in")
        finally:
            staged.unlink(missing_ok=True)
        self._registered.add(catalog_id)
        return created

    def registered_catalogs(self) -> dict[str, bytes]:
        from .catalogs import CATALOGS_DIR, is_catalog_id

        base = f"{self._root}/{CATALOGS_DIR}"

        def read() -> dict[str, bytes]:
            try:
                paths = [p for p in self.fs.find(base)
                         if is_catalog_id(str(p).rstrip("/").rsplit("/", 1)[-1])]
            except FileNotFoundError:
                return {}
            found = self.fs.cat(paths, on_error="return") if paths else {}
            out: dict[str, bytes] = {}
            for path, data in found.items():
                if isinstance(data, FileNotFoundError):
                    continue  # forgotten since listing
                # a marker that cannot be read still names a catalog
                name = str(path).rstrip("/").rsplit("/", 1)[-1]
                out[name] = bytes(data) if isinstance(data, (bytes, bytearray)) else b""
            return out

        return self._call(read, "list the catalogs registered in")

    def forget_catalog(self, catalog_id: str) -> bool:
        key = self._marker_key(catalog_id)
        self._registered.discard(catalog_id)

        def rm() -> bool:
            try:
                self.fs.rm_file(key)
            except FileNotFoundError:
                return False
            return True

        return self._call(lambda: self._info(key) is not None and rm(), f"forget catalog {catalog_id} in")

    # ------------------------------------------------------------ display
    def describe(self) -> dict[str, Any]:
        return {
            "kind": self._adapter.name,
            "uri": self.uri,
            "endpoint": self._endpoint,
            "storage_options": mask_options(self._options),
            "cache_dir": str(self.cache.root),
        }


# ---------------------------------------------------------------- helpers
def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _md5_file(path: Path) -> str:
    import hashlib

    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return 0


def _proxied() -> bool:
    return any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"))


def _mtime(info: dict[str, Any]) -> float:
    """The modification time in an fsspec ``info`` dict, whichever key the backend uses."""
    for k in ("LastModified", "last_modified", "mtime", "updated", "timeCreated", "created"):
        v = info.get(k)
        if v is None:
            continue
        if isinstance(v, datetime):
            return v.timestamp()
        if isinstance(v, (int, float)):
            return float(v)
        try:
            return datetime.fromisoformat(str(v).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
    return 0.0

