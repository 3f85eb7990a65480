"""Remote stores through fsspec: ``s3://``, ``gs://``, ``az://`` / ``abfs://``, ``memory://``.

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

Backends are imported on first use; a missing one is a ``ConfigError`` naming the
extra to install.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..errors import (
    ArtifactNotFoundError,
    ConfigError,
    CorruptArtifactError,
    FlowymlError,
    StoreError,
)
from ..hashing import hash_file, is_digest
from ..iostats import IOStats
from ..secrets import mask_options, mask_uri, redact, secret_values
from .base import ObjectInfo, object_key
from .cache import LocalCache, get_cache

T = TypeVar("T")

PROBE_TIMEOUT = 5.0  # seconds for the first TCP connect to an endpoint
HEAD_FIRST_BYTES = 8 * 2**20  # above this size, ask whether the object exists before uploading


@dataclass(frozen=True)
class Backend:
    protocol: str  # fsspec protocol
    package: str | None  # module that implements it
    extra: str | None  # flowyml-core extra that installs it
    kind: str  # "s3" | "gcs" | "azure" | "memory"


BACKENDS: dict[str, Backend] = {
    "s3": Backend("s3", "s3fs", "s3", "s3"),
    "s3a": Backend("s3", "s3fs", "s3", "s3"),
    "gs": Backend("gs", "gcsfs", "gcs", "gcs"),
    "gcs": Backend("gs", "gcsfs", "gcs", "gcs"),
    "az": Backend("az", "adlfs", "azure", "azure"),
    "abfs": Backend("abfs", "adlfs", "azure", "azure"),
    "abfss": Backend("abfss", "adlfs", "azure", "azure"),
    "memory": Backend("memory", None, None, "memory"),
}

_DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "s3": {
        "skip_instance_cache": True,
        "use_listings_cache": False,
        "config_kwargs": {
            "connect_timeout": 5,
            "read_timeout": 60,
            "retries": {"max_attempts": 3, "mode": "standard"},
        },
    },
    "gcs": {"skip_instance_cache": True, "use_listings_cache": False},
    "azure": {"skip_instance_cache": True, "use_listings_cache": False, "connection_timeout": 10},
    "memory": {"skip_instance_cache": True},
}

_SUPPORTED = (
    "s3:// (pip install 'flowyml-core[s3]'), gs:// (pip install 'flowyml-core[gcs]'), "
    "az:// or abfs:// (pip install 'flowyml-core[azure]'), memory://, file:// or a plain path"
)


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
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    backend = BACKENDS.get(scheme)
    if backend is None:
        raise ConfigError(
            f"stack {stack_name!r}: store {mask_uri(uri)!r} has an unknown scheme "
            f"{scheme + '://' if scheme else '(none)'}; supported: {_SUPPORTED}"
        )
    if backend.package and importlib.util.find_spec(backend.package) is None:
        raise ConfigError(
            f"stack {stack_name!r}: store {mask_uri(uri)} needs the Python package "
            f"{backend.package!r}, which is not installed: pip install "
            f"'flowyml-core[{backend.extra}]'"
        )
    return RemoteStore(
        uri,
        backend,
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
        backend: Backend,
        storage_options: dict[str, Any],
        *,
        allow_pickle: bool,
        cache: LocalCache,
        stack_name: str = "default",
    ) -> None:
        self.raw_uri = uri.rstrip("/")
        self.uri = mask_uri(self.raw_uri)
        self.backend = backend
        self.allow_pickle = allow_pickle
        self.cache = cache
        self.stack_name = stack_name
        self.stats = IOStats()
        self._options = _merge(_DEFAULT_OPTIONS[backend.kind], storage_options)
        self._secrets = secret_values(storage_options, uri)
        self._fs: Any = None
        self._pid = -1
        self._probed = False
        self._lock = threading.Lock()
        self._memory_lock = threading.Lock()
        self.root = self._root_path()
        self.endpoint = self._endpoint()

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
        for k in ("_fs", "_lock", "_memory_lock", "stats", "cache"):
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
        self._memory_lock = threading.Lock()
        self.stats = IOStats()
        self.cache = get_cache(root, cap)

    # ------------------------------------------------------------ naming
    @property
    def where(self) -> str:
        """``store URI of stack NAME`` (for messages; secrets masked)."""
        at = f" at {self.endpoint}" if self.endpoint else ""
        return f"store {self.uri}{at} of stack {self.stack_name!r}"

    @property
    def bucket(self) -> str:
        return self.root.split("/", 1)[0]

    def _root_path(self) -> str:
        if self.backend.kind == "memory":
            rest = self.raw_uri.split("://", 1)[1]
            return "/" + rest.strip("/")
        cls = self._fs_class()
        root = str(cls._strip_protocol(self.raw_uri)).rstrip("/")
        if not root:
            raise ConfigError(
                f"stack {self.stack_name!r}: store {self.uri} names no "
                f"{'container' if self.backend.kind == 'azure' else 'bucket'}; "
                f"write {self.raw_uri.split('://')[0]}://BUCKET/PREFIX"
            )
        return root

    def _key(self, digest: str) -> str:
        if not is_digest(digest):
            raise StoreError(f"invalid object digest {digest!r} for {self.where}")
        return f"{self.root}/{object_key(digest)}"

    def object_uri(self, digest: str) -> str:
        """The object's full URI (secrets masked), for messages."""
        return f"{self.uri}/{object_key(digest)}"

    # ------------------------------------------------------------ filesystem
    def _fs_class(self) -> Any:
        import fsspec

        if self.backend.kind == "gcs" and (
            self._options.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST")
        ):
            # gcsfs >= 2026 probes a gRPC layout API at import unless this is false; an
            # emulator cannot answer it and every bucket access then stalls ~60 s
            os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

        try:
            return fsspec.get_filesystem_class(self.backend.protocol)
        except ImportError as exc:
            raise ConfigError(
                f"stack {self.stack_name!r}: store {self.uri} needs a backend that is not "
                f"installed ({exc}): pip install 'flowyml-core[{self.backend.extra}]'"
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
                kwargs = dict(cls._get_kwargs_from_urls(self.raw_uri))
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

    def _endpoint(self) -> str | None:
        """The server's URL (for messages and the reachability probe), or None."""
        o = self._options
        kind = self.backend.kind
        url: str | None = None
        if kind == "s3":
            url = (
                o.get("endpoint_url")
                or (o.get("client_kwargs") or {}).get("endpoint_url")
                or os.environ.get("AWS_ENDPOINT_URL_S3")
                or os.environ.get("AWS_ENDPOINT_URL")
            )
        elif kind == "gcs":
            url = o.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST")
            if url is None:
                url = "https://storage.googleapis.com"
        elif kind == "azure":
            cs = o.get("connection_string") or os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
            if cs:
                parts = dict(
                    p.split("=", 1) for p in str(cs).split(";") if "=" in p
                )
                url = parts.get("BlobEndpoint")
                if url is None and parts.get("AccountName"):
                    url = f"https://{parts['AccountName']}.blob.core.windows.net"
            else:
                account = o.get("account_name") or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
                host = o.get("account_host")
                if host:
                    url = host if "://" in str(host) else f"https://{host}"
                elif account:
                    url = f"https://{account}.blob.core.windows.net"
        return None if url is None else mask_uri(str(url))

    def _probe(self) -> None:
        """One TCP connect to the endpoint with a short timeout: an unreachable server
        fails here in seconds, not after minutes of the client library's retries."""
        if self.endpoint is None or _proxied():
            return
        u = urlsplit(self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}")
        host = u.hostname
        if not host:
            return
        port = u.port or (443 if u.scheme == "https" else 80)
        try:
            with socket.create_connection((host, port), timeout=PROBE_TIMEOUT):
                pass
        except OSError as exc:
            reason = "timed out" if isinstance(exc, (TimeoutError, socket.timeout)) else (
                exc.strerror or str(exc)
            )
            raise StoreError(
                f"cannot reach {self.where}: connecting to {host}:{port} failed ({reason}). "
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

    # ------------------------------------------------------------ errors
    def _error(self, exc: BaseException, action: str, digest: str | None = None) -> FlowymlError:
        """A FlowymlError for a backend exception: names the stack, the masked URI, the fix."""
        detail = redact(f"{type(exc).__name__}: {exc}", self._secrets)
        what = f"{action} object {digest[:16]}... in" if digest else f"{action}"
        kind = _classify(exc)
        if kind == "auth":
            return StoreError(
                f"{self.where} rejected the credentials ({detail}); cannot {what} it. "
                f"Check the key/secret, token or connection string in [stacks."
                f"{self.stack_name}].storage_options (read secrets from the environment "
                "with ${VAR}) and that they grant read and write on "
                f"{self.bucket!r}. Nothing stored was changed"
            )
        if kind == "unreachable":
            return StoreError(
                f"cannot reach {self.where} ({detail}). Check that the server is running and "
                "the endpoint in the stack's storage_options; `flowyml stack check "
                f"{self.stack_name}` tests the connection. Nothing was written"
            )
        if kind == "missing":
            if not self._bucket_exists():
                noun = "container" if self.backend.kind == "azure" else "bucket"
                return StoreError(
                    f"the {noun} {self.bucket!r} of {self.where} does not exist (cannot "
                    f"{what} it). Create the {noun} first, or fix the store URI of stack "
                    f"{self.stack_name!r}; FlowyML never creates {noun}s"
                )
            if digest:
                return self.missing(digest)
        return StoreError(f"cannot {what} {self.where}: {detail}")

    def missing(self, digest: str) -> ArtifactNotFoundError:
        return ArtifactNotFoundError(
            f"object {digest} is missing from {self.where} ({self.object_uri(digest)}); it "
            "was deleted outside FlowyML. Re-run the producing step with force=True (or "
            "`flowyml run --force`) to store it again"
        )

    def corrupt(self, digest: str, actual: str) -> CorruptArtifactError:
        return CorruptArtifactError(
            f"object {digest} in {self.where} is corrupt: its bytes hash to "
            f"{actual[:16]}..., not to its name, so they were altered outside FlowyML. "
            f"Nothing was loaded and nothing was cached. Re-run the producing step with "
            "--force (`flowyml run FILE --force`): writing the right bytes repairs "
            f"{self.object_uri(digest)}; `flowyml verify` finds other damage"
        )

    def _bucket_exists(self) -> bool:
        try:
            if self.backend.kind == "memory":
                return True
            return bool(self.fs.exists(self.bucket))
        except Exception:
            return True  # unknown: do not claim the bucket is missing

    # ------------------------------------------------------------ the store protocol
    def staging_dir(self) -> Path:
        return self.cache.tmp_dir()

    def new_staging_file(self) -> Path:
        return self.cache.new_tmp()

    def exists(self, digest: str) -> bool:
        key = self._key(digest)

        def head() -> bool:
            try:
                self.fs.info(key)
                return True
            except FileNotFoundError:
                return False

        return self._call(head, "look up", digest)

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
            created = False
            for _ in range(2):
                if size > HEAD_FIRST_BYTES and self.exists(digest):
                    created = False
                else:
                    created = self._call(lambda: self._create(src, key), "write", digest)
                if created:
                    break
                if not self._intact(key, src, size) and hash_file(src) == digest:
                    self._call(lambda: self._overwrite(src, key), "repair", digest)
                    self.stats.add(store_bytes_written=size, store_objects_written=1)
                    break
                if self._refresh_age(key):
                    break
            if created:
                self.stats.add(store_bytes_written=size, store_objects_written=1)
            self.cache.adopt(digest, src)
        finally:
            try:
                src.unlink()
            except FileNotFoundError:
                pass
        return created

    def _create(self, src: Path, key: str) -> bool:
        """Upload ``src`` to ``key`` only if ``key`` does not exist; False if it did."""
        fs = self.fs
        if self.backend.kind == "memory":
            with self._memory_lock:
                if fs.exists(key):
                    return False
                fs.put_file(str(src), key)
                return True
        try:
            fs.put_file(str(src), key, mode="create")
        except FileExistsError:
            return False
        except OSError as exc:
            if _precondition_failed(exc):
                return False
            raise
        return True

    def _intact(self, key: str, src: Path, size: int) -> bool:
        """Does the stored object match ``src``, by the store's size and MD5 (where it
        keeps one: S3 single-part ETag, GCS md5Hash, Azure Content-MD5)? A missing object
        counts as intact (the caller's refresh finds out and uploads it again)."""
        try:
            info = self.fs.info(key)
        except FileNotFoundError:
            return True
        except Exception:
            return True  # cannot tell: never overwrite on a guess
        if int(info.get("size") or 0) != size:
            return False
        stored = _stored_md5(info)
        if stored is None:
            return True
        return stored == _md5_file(src)

    def _overwrite(self, src: Path, key: str) -> None:
        """Put ``src`` over a damaged object (whole, atomically, as any upload)."""
        fs = self.fs
        if self.backend.kind == "memory":
            with self._memory_lock:
                fs.put_file(str(src), key)
            return
        fs.put_file(str(src), key)

    def _refresh_age(self, key: str) -> bool:
        """Make an existing object young again (a metadata rewrite updates its
        modification time). False when it does not exist; True when it does, even if the
        backend refused the refresh (best effort: reads never depend on it)."""
        import time

        fs = self.fs
        stamp = str(int(time.time()))
        try:
            kind = self.backend.kind
            if kind == "s3":
                bucket, k, _ = fs.split_path(key)
                fs.call_s3(
                    "copy_object", Bucket=bucket, Key=k, CopySource={"Bucket": bucket, "Key": k},
                    MetadataDirective="REPLACE", Metadata={"flowyml-refreshed": stamp},
                )
            elif kind == "gcs":  # a rewrite onto itself (a new generation, a new time)
                fs.cp_file(key, key)
            elif kind == "azure":
                fs.setxattrs(key, is_directory="false", flowyml_refreshed=stamp)
            else:  # memory
                from datetime import datetime, timezone

                entry = fs.store.get(fs._strip_protocol(key))
                if entry is None:
                    return False
                entry.created = datetime.now(tz=timezone.utc)
            return True
        except FileNotFoundError:
            return False
        except Exception as exc:
            if _classify(exc) == "missing":
                try:
                    return bool(fs.exists(key))
                except Exception:
                    return True
            return True

    def mtime(self, digest: str) -> float:
        """The object's modification time in the store (for gc's age re-check)."""
        key = self._key(digest)

        def info() -> Any:
            try:
                return self.fs.info(key)
            except FileNotFoundError:
                return None

        found = self._call(info, "look up", digest)
        if found is None:
            raise FileNotFoundError(f"object {digest} is not in {self.where}")
        return _mtime(found)

    def delete_if_older(self, digest: str, cutoff: float) -> bool:
        """Delete the object unless it was refreshed at or after ``cutoff`` (re-checked
        right before deleting; remote stores have no lock to close the remaining window,
        see ``flowyml verify``)."""
        try:
            if self.mtime(digest) >= cutoff:
                return False
        except FileNotFoundError:
            return True
        except StoreError:
            return False
        self.delete(digest)
        return True

    def local_path(self, digest: str) -> Path:
        key = self._key(digest)
        hit = self.cache.lookup(digest)
        if hit is not None:
            self.stats.add(cache_bytes_read=_size(hit), cache_objects_read=1)
            return hit

        def download(tmp: Path) -> None:
            try:
                self._call(lambda: self.fs.get_file(key, str(tmp)), "read", digest)
            except FlowymlError:
                raise
            if not tmp.exists():  # some backends write nothing for a missing key
                raise self.missing(digest)

        path, fetched = self.cache.fetch(digest, download, lambda actual: self.corrupt(digest, actual))
        size = _size(path)
        if fetched:
            self.stats.add(store_bytes_read=size, store_objects_read=1)
        else:
            self.stats.add(cache_bytes_read=size, cache_objects_read=1)
        return path

    def evict_local(self, digest: str) -> None:
        self.cache.evict(digest)

    def delete(self, digest: str) -> None:
        key = self._key(digest)

        def rm() -> None:
            try:
                self.fs.rm_file(key)
            except FileNotFoundError:
                pass

        self._call(rm, "delete", digest)
        self.cache.evict(digest)

    def iter_objects(self) -> Iterator[ObjectInfo]:
        base = f"{self.root}/objects"

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

    # ------------------------------------------------------------ display
    def describe(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "endpoint": self.endpoint,
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


def _stored_md5(info: dict[str, Any]) -> str | None:
    """The object's MD5 as the store reports it (hex), or None when it keeps none."""
    import base64

    etag = info.get("ETag") or info.get("etag")
    if isinstance(etag, str) and "LastModified" in info:  # S3: ETag is the MD5 unless multipart
        tag = etag.strip('"')
        return tag if len(tag) == 32 and "-" not in tag else None
    md5 = info.get("md5Hash")  # GCS, base64
    if md5 is None:
        md5 = (info.get("content_settings") or {}).get("content_md5")  # Azure, bytes
    if md5 is None:
        return None
    try:
        raw = base64.b64decode(md5) if isinstance(md5, str) else bytes(md5)
    except Exception:
        return None
    return raw.hex() if len(raw) == 16 else None


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return 0


def _proxied() -> bool:
    return any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"))


def _mtime(info: dict[str, Any]) -> float:
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


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


_AUTH_WORDS = (
    "accessdenied", "access denied", "invalidaccesskeyid", "signaturedoesnotmatch",
    "authenticationfailed", "authorizationfailure", "authorizationpermissionmismatch",
    "invalid credentials", "unauthorized", "forbidden", "401", "403",
    "nocredentialserror", "unable to locate credentials", "permission",
)
_UNREACHABLE_WORDS = (
    "could not connect", "cannot connect", "connection refused", "connect timeout",
    "connecttimeout", "name or service not known", "nodename nor servname",
    "temporary failure in name resolution", "failed to establish", "max retries exceeded",
    "endpointconnectionerror", "serviceRequestError".lower(), "connection reset",
)
_MISSING_WORDS = ("nosuchbucket", "containernotfound", "no such container", "not found", "404")


def _classify(exc: BaseException) -> str:
    """"auth" | "unreachable" | "missing" | "other", from the exception chain."""
    for e in _chain(exc):
        if isinstance(e, PermissionError):
            return "auth"
        if isinstance(e, (ConnectionError, TimeoutError, socket.timeout)):
            return "unreachable"
        name = type(e).__name__.lower()
        if name in ("endpointconnectionerror", "connecttimeouterror", "clientconnectorerror",
                    "serverdisconnectederror", "servicerequesterror", "connectionerror"):
            return "unreachable"
        if name in ("clientauthenticationerror", "nocredentialserror", "refresherror"):
            return "auth"
        if isinstance(e, FileNotFoundError) or name in ("resourcenotfounderror",):
            return "missing"
        code = getattr(e, "code", None) or getattr(e, "status_code", None) or getattr(e, "status", None)
        if code in (401, 403):
            return "auth"
        if code == 404:
            return "missing"
    text = " ".join(f"{type(e).__name__} {e}".lower() for e in _chain(exc))
    if any(w in text for w in _UNREACHABLE_WORDS):
        return "unreachable"
    if any(w in text for w in _AUTH_WORDS):
        return "auth"
    if any(w in text for w in _MISSING_WORDS):
        return "missing"
    return "other"


def _precondition_failed(exc: BaseException) -> bool:
    """An "already exists" answer to a create-if-absent write (HTTP 412)."""
    for e in _chain(exc):
        if isinstance(e, FileExistsError):
            return True
        resp = getattr(e, "response", None)
        if isinstance(resp, dict):
            err = resp.get("Error", {})
            status = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if err.get("Code") in ("PreconditionFailed", "412") or status == 412:
                return True
        if getattr(e, "code", None) == 412 or getattr(e, "status_code", None) == 412:
            return True
        if getattr(e, "errno", None) == errno.EINVAL and "pre-condition" in str(e).lower():
            return True
    return False
