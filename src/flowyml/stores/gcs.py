"""``gs://`` (and ``gcs://``) through gcsfs: Google Cloud Storage and its emulators.

Create-if-absent is an upload with ``ifGenerationMatch=0``; gcsfs turns the 412 into
``FileExistsError`` and a 404 into ``FileNotFoundError``. Other HTTP failures are
gcsfs ``HttpError`` (with ``.code``) or aiohttp ``ClientResponseError`` (``.status``);
connection failures are aiohttp / requests connection errors; credential failures are
``google.auth`` exceptions.

gcsfs itself is imported only through ``filesystem_class``, because it reads a setting
from the environment at import that must be fixed first for an emulator.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import aiohttp
import requests.exceptions
from google.auth import exceptions as google_auth

from .adapter import Adapter, ErrorKind, by_status, md5_hex

GCS_URL = "https://storage.googleapis.com"


class GCSAdapter(Adapter):
    name = "gcs"
    default_options: ClassVar[dict[str, Any]] = {
        "skip_instance_cache": True,
        "use_listings_cache": False,
    }

    def filesystem_class(self, options: dict[str, Any]) -> Any:
        if options.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST"):
            # gcsfs >= 2026 probes a gRPC layout API at import unless this is false; an
            # emulator cannot answer it and every bucket access then stalls ~60 s
            os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        return super().filesystem_class(options)

    def endpoint(self, options: dict[str, Any]) -> str | None:
        url = options.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST")
        return GCS_URL if url is None else str(url)

    def touch(self, fs: Any, key: str) -> None:
        """A rewrite onto itself: a new generation, with a new time."""
        fs.cp_file(key, key)

    def stored_md5(self, fs: Any, key: str, info: dict[str, Any]) -> str | None:
        return md5_hex(info.get("md5Hash"))  # base64

    def classify(self, exc: BaseException) -> ErrorKind | None:
        from gcsfs.retry import HttpError  # imported by now: the error came from gcsfs

        if isinstance(exc, HttpError):
            return by_status(exc.code)
        if isinstance(exc, aiohttp.ClientResponseError):
            return by_status(exc.status)
        if isinstance(
            exc,
            (
                aiohttp.ClientConnectionError,
                requests.exceptions.ConnectionError,
                google_auth.TransportError,
                google_auth.TimeoutError,
            ),
        ):
            return "unreachable"
        if isinstance(exc, google_auth.GoogleAuthError):
            return "auth"  # no usable credentials, or the token endpoint refused them
        # gcsfs raises a bare OSError("Forbidden: <path>...") for HTTP 403: no status,
        # no subclass, so its text is the only sign of a refusal
        if type(exc) is OSError and str(exc).startswith("Forbidden"):
            return "auth"
        return None
