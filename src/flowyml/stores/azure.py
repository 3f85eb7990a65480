"""``az://``, ``abfs://`` and ``abfss://`` through adlfs: Azure Blob Storage (and Azurite).

Create-if-absent is an upload with ``overwrite=False``; adlfs turns the service's
"already exists" into ``FileExistsError`` and a missing blob or container into
``FileNotFoundError``. Everything else arrives as an ``azure.core.exceptions`` type:
``ClientAuthenticationError``, ``ResourceNotFoundError``, ``ResourceExistsError``,
``HttpResponseError`` (with ``.status_code``), ``ServiceRequestError`` /
``ServiceResponseError`` for connections.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

from azure.core import exceptions as azure_errors

from .adapter import Adapter, ErrorKind, by_status, md5_hex


class AzureAdapter(Adapter):
    name = "azure"
    noun = "container"
    default_options: ClassVar[dict[str, Any]] = {
        "skip_instance_cache": True,
        "use_listings_cache": False,
        "connection_timeout": 10,
    }

    def endpoint(self, options: dict[str, Any]) -> str | None:
        cs = options.get("connection_string") or os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        if cs:
            parts = dict(p.split("=", 1) for p in str(cs).split(";") if "=" in p)
            url = parts.get("BlobEndpoint")
            if url is None and parts.get("AccountName"):
                url = f"https://{parts['AccountName']}.blob.core.windows.net"
            return url
        account = options.get("account_name") or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
        host = options.get("account_host")
        if host:
            return str(host) if "://" in str(host) else f"https://{host}"
        if account:
            return f"https://{account}.blob.core.windows.net"
        return None

    def touch(self, fs: Any, key: str) -> None:
        """Setting metadata gives the blob a new modification time."""
        fs.setxattrs(key, is_directory="false", flowyml_refreshed=str(int(time.time())))

    def stored_md5(self, fs: Any, key: str, info: dict[str, Any]) -> str | None:
        return md5_hex((info.get("content_settings") or {}).get("content_md5"))  # bytes

    def classify(self, exc: BaseException) -> ErrorKind | None:
        if isinstance(exc, azure_errors.ClientAuthenticationError):
            return "auth"  # also azure.identity's CredentialUnavailableError
        if isinstance(exc, azure_errors.ResourceNotFoundError):
            return "missing"
        if isinstance(exc, (azure_errors.ResourceExistsError, azure_errors.ResourceModifiedError)):
            return "exists"  # 409 BlobAlreadyExists, or 412 from a conditional write
        if isinstance(exc, azure_errors.HttpResponseError):
            return by_status(exc.status_code)  # e.g. 403 AuthorizationFailure
        if isinstance(exc, (azure_errors.ServiceRequestError, azure_errors.ServiceResponseError)):
            return "unreachable"
        return None
