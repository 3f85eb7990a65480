"""FlowyML's wrappers of library functions, each with the function it wraps.

``native_reads`` wraps the readers that open files in C or Rust, ``rng`` the functions
that seed or read the hidden random generators, ``reads`` ``os.getcwd``. Code that must see the library's own
function (the fingerprint: keys are those of the library's function) asks ``original``.
"""

from __future__ import annotations

from typing import Any

# id(wrapper) -> (wrapper, the library's function): the wrapper is kept, so its id is
# never another object's
_originals: dict[int, tuple[Any, Any]] = {}


def register(wrapper: Any, wrapped: Any) -> None:
    """Note that ``wrapper`` stands for the library's ``wrapped``."""
    _originals[id(wrapper)] = (wrapper, wrapped)


def is_wrapper(obj: Any) -> bool:
    """Whether ``obj`` is one of FlowyML's wrappers."""
    hit = _originals.get(id(obj))
    return hit is not None and hit[0] is obj


def original(obj: Any) -> Any:
    """The library's function behind one of FlowyML's wrappers; anything else as it is."""
    hit = _originals.get(id(obj))
    return hit[1] if hit is not None and hit[0] is obj else obj
