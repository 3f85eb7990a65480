"""Masking of secrets in URIs and option dicts before anything is shown or stored."""

from __future__ import annotations

import re
from typing import Any

_SECRET_KEYS = re.compile(r"(secret|password|passwd|token|key|credential|sas|signature)", re.I)
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*://)([^/@]*)@")
_QUERY_SECRET = re.compile(
    r"((?:password|secret|token|sig|key|accountkey|sharedaccesssignature)=)[^&;]*", re.I
)


def mask_uri(uri: str) -> str:
    """``scheme://user:pw@host`` -> ``scheme://user:***@host``; secret query values -> ***."""
    def userinfo(m: re.Match[str]) -> str:
        info = m.group(2)
        if ":" in info:
            user = info.split(":", 1)[0]
            return f"{m.group(1)}{user}:***@"
        return f"{m.group(1)}{info}@"

    return _QUERY_SECRET.sub(r"\1***", _USERINFO.sub(userinfo, uri))


def mask_options(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in options.items():
        if isinstance(v, dict):
            out[k] = mask_options(v)
        elif _SECRET_KEYS.search(str(k)) and v not in (None, "", False) and k != "key_prefix":
            out[k] = "***"
        elif isinstance(v, str):
            out[k] = mask_uri(v)
        else:
            out[k] = v
    return out
