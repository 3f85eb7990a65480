"""Validation of user-supplied names before they reach a path, a key or a query."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import ParameterError

# Asset names, aliases and step names: an identifier-like word, dots and dashes allowed
# inside. No slash, no '..', no '%', '#', '@', whitespace or NUL: a name can never escape
# a store prefix or be mistaken for a version selector.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")
MAX_NAME_LEN = 200


def check_name(value: object, what: str = "asset name") -> str:
    """Return ``value`` if it is a valid name, else raise ``ParameterError`` saying why."""
    if not isinstance(value, str) or not value:
        raise ParameterError(f"invalid {what} {value!r}: expected a non-empty string")
    if len(value) > MAX_NAME_LEN or not _NAME.match(value):
        raise ParameterError(
            f"invalid {what} {value!r}: use ASCII letters (A-Z, a-z), digits, '_', '-' and "
            f"inner '.', starting with a letter or '_' (at most {MAX_NAME_LEN} characters)"
        )
    return value


def is_version(selector: str) -> bool:
    """A version number (``3``, ``03``): ASCII digits only. ``str.isdigit`` also takes
    ``²`` or ``٣``, which ``int`` then refuses (a traceback instead of an answer)."""
    return selector.isascii() and selector.isdigit()


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name ``word`` is most likely a typo of (for "did you mean"), or None."""
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def split_ref(ref: str) -> tuple[str, str | None]:
    """Split ``"name@selector"`` into ``(name, selector)``; selector is None without '@'."""
    if "@" in ref:
        name, _, selector = ref.partition("@")
        check_name(name)
        if not selector:
            raise ParameterError(f"invalid reference {ref!r}: nothing after '@'")
        if not is_version(selector) and selector != "latest":
            check_name(selector, "alias")
        return name, selector
    return check_name(ref), None
