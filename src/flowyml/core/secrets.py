"""Masking of secrets in URIs, option dicts and messages before anything is shown or stored.

Three tools, used at every boundary where a stack setting could reach a person or a
database: ``mask_uri`` (``user:pw@`` and secret query / connection-string values),
``mask_options`` (values under secret-looking keys, recursively), and ``redact``
(literal secret values found in free text such as a server's error message).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_SECRET_KEYS = re.compile(
    r"(secret|password|passwd|token|key|credential|sas|signature|private)", re.I
)
_NOT_SECRET_KEYS = frozenset({"key_prefix", "sse_kms_key_id"})
_USERINFO = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*://)([^/@\s]*)@")
_QUERY_SECRET = re.compile(
    r"((?:password|secret|token|sig|key|accountkey|sharedaccesssignature|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&;\s]*",
    re.I,
)
MASK = "***"


def is_secret_key(key: object) -> bool:
    k = str(key)
    return k not in _NOT_SECRET_KEYS and bool(_SECRET_KEYS.search(k))


def mask_uri(uri: str) -> str:
    """``scheme://user:pw@host`` -> ``scheme://user:***@host``; secret query values -> ***."""

    def userinfo(m: re.Match[str]) -> str:
        info = m.group(2)
        if ":" in info:
            user = info.split(":", 1)[0]
            return f"{m.group(1)}{user}:{MASK}@"
        return f"{m.group(1)}{info}@"

    return _QUERY_SECRET.sub(r"\1" + MASK, _USERINFO.sub(userinfo, uri))


def mask_options(options: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``options`` with every secret value replaced by ``***``."""
    return {k: _mask_value(k, v) for k, v in options.items()}


def _mask_value(key: object, v: Any) -> Any:
    if is_secret_key(key) and v not in (None, "", False, True):
        return MASK
    if isinstance(v, dict):
        return mask_options(v)
    if isinstance(v, (list, tuple)):
        return [_mask_value("", x) for x in v]
    if isinstance(v, str):
        return mask_uri(v)
    return v


def secret_values(options: dict[str, Any] | None = None, *uris: str) -> set[str]:
    """Every literal secret in ``options`` (values under secret keys, recursively) and
    the passwords embedded in ``uris``: what ``redact`` must never let through."""
    out: set[str] = set()

    def walk(key: object, v: Any, secret: bool) -> None:
        secret = secret or is_secret_key(key)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(k, x, secret)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk("", x, secret)
        elif isinstance(v, str):
            if secret:
                out.add(v)
            for m in _QUERY_SECRET.finditer(v):
                out.add(v[m.end(1) : m.end()])
            for m in _USERINFO.finditer(v):
                if ":" in m.group(2):
                    out.add(m.group(2).split(":", 1)[1])

    walk("", options or {}, False)
    for uri in uris:
        walk("", uri, False)
    return {s for s in out if len(s) >= 4 and s != MASK}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URIs masked and every literal in ``secrets`` replaced by ``***``."""
    text = mask_uri(text)
    for s in sorted(set(secrets), key=len, reverse=True):
        if s:
            text = text.replace(s, MASK)
    return text
