"""What one fsspec backend adds to the shared remote store (``remote.py``).

The core does everything that is the same for every backend: the layout, the local
cache, the upload-then-check loop of ``put_file``, the reachability probe and the error
messages. An ``Adapter`` supplies only what differs, in one module per backend
(``s3.py``, ``gcs.py``, ``azure.py``, ``memory.py``), found by URI scheme through
``registry.py``:

- ``default_options``, ``filesystem_class(options)``, ``root(uri, fs_class)`` and
  ``endpoint(options)``: the client, its settings, the key prefix and the server's URL;
- ``upload(fs, src, key, create=...)``: a create-if-absent (or overwriting) upload;
- ``touch(fs, key)``: make an existing object young again (gc's age);
- ``stored_md5(fs, key, info)``: the checksum the backend keeps, to tell a damaged
  object from an intact one without downloading it;
- ``classify(exc)``: the backend's exceptions, by type and status code, as an
  ``ErrorKind``; ``classify_error`` walks an exception chain with it and then with
  the Python exceptions every fsspec backend raises.

An adapter is a small picklable object (stores are shipped to worker processes).
"""

from __future__ import annotations

import base64
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

ErrorKind = Literal["auth", "unreachable", "missing", "exists", "other"]


class Adapter(ABC):
    """The defaults suit most fsspec backends; a backend module overrides what differs
    (and must say how to refresh an object's age: there is no portable way)."""

    name: ClassVar[str]  # "s3" | "gcs" | "azure" | "memory": shown by describe()
    noun: ClassVar[str | None] = "bucket"  # the first path part; None: the backend has none
    default_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, protocol: str, extra: str | None) -> None:
        self.protocol = protocol  # the fsspec protocol (``s3a://`` is ``s3``)
        self.extra = extra  # the flowyml-core extra that installs the backend

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.protocol!r})"

    def filesystem_class(self, options: dict[str, Any]) -> Any:
        """The fsspec filesystem class for a store with ``options`` (``ImportError`` when
        its package is missing)."""
        import fsspec

        return fsspec.get_filesystem_class(self.protocol)

    def root(self, uri: str, fs_class: Any) -> str:
        """``bucket/prefix`` of ``uri``: the path every object key starts with."""
        return str(fs_class._strip_protocol(uri)).rstrip("/")

    def endpoint(self, options: dict[str, Any]) -> str | None:
        """The server's URL (for messages and the reachability probe), or None."""
        return None

    def upload(self, fs: Any, src: Path, key: str, *, create: bool) -> bool:
        """Put ``src`` at ``key`` whole and atomically. With ``create``, only if ``key``
        does not exist: False when it did."""
        if not create:
            fs.put_file(str(src), key)
            return True
        try:
            fs.put_file(str(src), key, mode="create")
        except Exception as exc:
            if classify_error(self, exc) == "exists":
                return False
            raise
        return True

    @abstractmethod
    def touch(self, fs: Any, key: str) -> None:
        """Refresh the object's modification time; ``FileNotFoundError`` when absent."""

    def stored_md5(self, fs: Any, key: str, info: dict[str, Any]) -> str | None:
        """The MD5 (hex) the backend keeps for the object at ``key`` (described by
        ``info``, from ``fs.info``), or None when it keeps none."""
        return None

    def classify(self, exc: BaseException) -> ErrorKind | None:
        """The kind of one exception of a chain, from the backend client's exception
        types and status codes; None when this exception does not tell."""
        return None


def classify_error(adapter: Adapter, exc: BaseException) -> ErrorKind:
    """The kind of ``exc``: the first exception of its chain (causes and contexts) that
    the adapter, or Python's own exception types, can tell."""
    for e in exception_chain(exc):
        kind = adapter.classify(e) or _builtin_kind(e)
        if kind is not None:
            return kind
    return "other"


def _builtin_kind(e: BaseException) -> ErrorKind | None:
    """fsspec backends translate what they know into Python's exception types."""
    if isinstance(e, PermissionError):
        return "auth"
    if isinstance(e, FileExistsError):
        return "exists"
    if isinstance(e, FileNotFoundError):
        return "missing"
    if isinstance(e, (ConnectionError, TimeoutError, socket.timeout)):
        return "unreachable"
    return None


def by_status(status: object) -> ErrorKind | None:
    """The kind of an HTTP status code, for backends whose errors carry one."""
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "missing"
    if status == 412:  # a create-if-absent write found the object
        return "exists"
    return None


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def md5_hex(raw: str | bytes | bytearray | None) -> str | None:
    """A 16-byte MD5 given base64 (``str``) or raw bytes, as hex; None if it is not one."""
    if raw is None:
        return None
    try:
        digest = base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
    except ValueError:  # not base64: the backend keeps something else there
        return None
    return digest.hex() if len(digest) == 16 else None
