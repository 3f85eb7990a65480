"""``s3://`` (and ``s3a://``) through s3fs: AWS S3 and S3-compatible servers.

Create-if-absent is ``PutObject`` / ``CompleteMultipartUpload`` with
``If-None-Match: *``. AWS answers a lost race with 412 ``PreconditionFailed`` and
``Condition: If-None-Match``, which s3fs turns into ``FileExistsError``; SeaweedFS
omits the condition, so s3fs raises a plain ``OSError`` whose cause is the botocore
``ClientError`` carrying the 412: errors are read from that ``ClientError`` (code and
HTTP status) and from botocore's connection and credential exception types. While
another conditional write of the same key is in flight, AWS answers 409
``ConditionalRequestConflict`` and asks for a retry: the upload is retried after a
short backoff, and then either creates the object or finds it (412).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
from botocore import exceptions as boto

from .adapter import Adapter, ErrorKind, exception_chain

# a create-if-absent upload that met a concurrent one (409): tries, and the first wait
CONFLICT_ATTEMPTS = 5
CONFLICT_BACKOFF = 0.2  # seconds, doubled per attempt

# S3 error codes that mean "these credentials may not do this" (s3fs maps most of them
# to PermissionError already; HEAD responses have no body and carry only the status).
_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "AccountProblem",
        "AllAccessDisabled",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidSecurity",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "AuthorizationHeaderMalformed",
        "TokenRefreshRequired",
    }
)
_MISSING_CODES = frozenset({"NoSuchBucket", "NoSuchKey", "NotFound"})


class S3Adapter(Adapter):
    name = "s3"
    default_options: ClassVar[dict[str, Any]] = {
        "skip_instance_cache": True,
        "use_listings_cache": False,
        "config_kwargs": {
            "connect_timeout": 5,
            "read_timeout": 60,
            "retries": {"max_attempts": 3, "mode": "standard"},
        },
    }

    def endpoint(self, options: dict[str, Any]) -> str | None:
        url = (
            options.get("endpoint_url")
            or (options.get("client_kwargs") or {}).get("endpoint_url")
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        return None if url is None else str(url)

    def touch(self, fs: Any, key: str) -> None:
        """Copy the object onto itself with new metadata: S3 gives it a new time."""
        bucket, k, _ = fs.split_path(key)
        fs.call_s3(
            "copy_object",
            Bucket=bucket,
            Key=k,
            CopySource={"Bucket": bucket, "Key": k},
            MetadataDirective="REPLACE",
            Metadata={"flowyml-refreshed": str(int(time.time()))},
        )

    def upload(self, fs: Any, src: Path, key: str, *, create: bool) -> bool:
        """``Adapter.upload``; a conditional write that conflicts with one in flight
        (AWS's 409 ``ConditionalRequestConflict``) is tried again after a backoff."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                return super().upload(fs, src, key, create=create)
            except Exception as exc:
                if attempt == CONFLICT_ATTEMPTS - 1 or not is_conflict(exc):
                    raise
            time.sleep(CONFLICT_BACKOFF * 2 ** attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def stored_md5(self, fs: Any, key: str, info: dict[str, Any]) -> str | None:
        """The ETag, which is the MD5 of the bytes unless the upload was multipart."""
        etag = info.get("ETag") or info.get("etag")
        if not isinstance(etag, str):
            return None
        tag = etag.strip('"')
        return tag if len(tag) == 32 and "-" not in tag else None

    def classify(self, exc: BaseException) -> ErrorKind | None:
        if isinstance(exc, boto.ClientError):
            return _client_error_kind(exc.response)
        if isinstance(
            exc,
            (
                boto.NoCredentialsError,
                boto.PartialCredentialsError,
                boto.CredentialRetrievalError,
                boto.NoAuthTokenError,
            ),
        ):
            return "auth"
        if isinstance(exc, (boto.ConnectionError, aiohttp.ClientConnectionError)):
            return "unreachable"  # endpoint refused, timed out, DNS, proxy, TLS handshake
        return None


def is_conflict(exc: BaseException) -> bool:
    """A 409 ``ConditionalRequestConflict`` anywhere in ``exc``'s chain: another
    conditional write of the key is in flight."""
    for e in exception_chain(exc):
        if isinstance(e, boto.ClientError):
            error = e.response.get("Error") or {}
            status = (e.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if error.get("Code") == "ConditionalRequestConflict" or status == 409:
                return True
    return False


def _client_error_kind(response: Any) -> ErrorKind | None:
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if code in _AUTH_CODES or status in (401, 403):
        return "auth"
    if code in _MISSING_CODES or status == 404:
        return "missing"
    if code == "PreconditionFailed" or status == 412:
        return "exists"
    return None
