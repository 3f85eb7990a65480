"""``s3://`` (and ``s3a://``) through s3fs: AWS S3 and S3-compatible servers.

Create-if-absent is ``PutObject`` / ``CompleteMultipartUpload`` with
``If-None-Match: *``. AWS answers a lost race with 412 ``PreconditionFailed`` and
``Condition: If-None-Match``, which s3fs turns into ``FileExistsError``; SeaweedFS
omits the condition, so s3fs raises a plain ``OSError`` whose cause is the botocore
``ClientError`` carrying the 412: errors are read from that ``ClientError`` (code and
HTTP status) and from botocore's connection and credential exception types.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

import aiohttp
from botocore import exceptions as boto

from .adapter import Adapter, ErrorKind

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
