"""A code fingerprint as a value: named parts hashed together, the sources shown for
them, and how a part is named to a person when a key changes ("code of helper f
changed"). What makes one is ``fingerprint``; what reads one (the decisions, the
worker's re-check, ``flowyml diff``) needs only this module."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .hashing import hash_text
from .struct import field, struct

FINGERPRINT_VERSION = "2"


OPAQUE = "opaque:"


@struct(frozen=True)
class Fingerprint:
    """A code fingerprint: the digest and the named parts it was made from.

    ``sources`` holds, for the parts that are code or a value, their normalized source
    (the AST that was hashed, unparsed, docstrings removed) or a short repr. It never
    enters the digest, and is rendered on first read: only executed steps' records
    read it."""

    digest: str
    parts: dict[str, str]
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # the state at build of each hidden random generator the code reaches (``rng``:
    # ``random``'s, numpy's global one), kept out of ``digest``: the key an execution
    # is stored under says it, or that the step seeded that generator first
    states: Mapping[str, str] = field(default_factory=dict)

    @property
    def code_version(self) -> str:
        """The short id a step's records carry for this code (``StepRecord.code_version``;
        the run's prefetch compares it with the recorded one)."""
        return self.digest[:12]

    @property
    def with_states(self) -> str:
        """The digest with the generators' states (``states``): a key that counts them
        whatever the step does with them (a map-over element's)."""
        if not self.states:
            return self.digest
        return hash_text("states", self.digest, *[f"{k}={v}" for k, v in sorted(self.states.items())])

    def explain_change(self, old_parts: dict[str, str]) -> list[str]:
        """Human phrases for what changed since ``old_parts`` (empty when nothing did)."""
        return explain_parts(old_parts, self.parts)

    def merged(self, extra: Mapping[str, str],
               sources: Mapping[str, str] | None = None) -> Fingerprint:
        """This fingerprint with more parts (the code an input artifact references, the
        settings of its inputs' libraries), and their ``sources``, so records can show
        them as they show the rest."""
        if not extra or all(self.parts.get(k) == v for k, v in extra.items()):
            return self
        both = _Overlay(sources, self.sources) if sources else self.sources
        return make_fingerprint({**self.parts, **extra}, both, self.states)


def make_fingerprint(parts: Mapping[str, str], sources: Mapping[str, str] | None = None,
          states: Mapping[str, str] | None = None) -> Fingerprint:
    ordered = dict(sorted(parts.items()))
    digest = hash_text(FINGERPRINT_VERSION, *[f"{k}={v}" for k, v in ordered.items()])
    return Fingerprint(digest, ordered, sources if sources is not None else {}, states or {})


Source = str | Callable[[], str]  # a part's source text, or a function that renders it


class LazySources(Mapping[str, str]):
    """Part -> source text, each rendered on first read and kept (a part that is
    code is unparsed from the tree that was hashed; rendering never raises)."""

    __slots__ = ("_done", "_pending")

    def __init__(self, pending: Mapping[str, Mapping[str, Source]]) -> None:
        self._pending = dict(pending)
        self._done: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        text = self._done.get(key)
        if text is None:
            variants = self._pending[key]  # KeyError for an unknown part
            texts = [render_source(variants[v]) for v in sorted(variants)]
            text = self._done[key] = "\n\n".join(dict.fromkeys(texts))
        return text

    def __iter__(self) -> Iterator[str]:
        return iter(self._pending)

    def __len__(self) -> int:
        return len(self._pending)

    def __reduce__(self) -> tuple[Any, ...]:  # pickles as the plain dict it renders
        return (dict, (dict(self),))


class _Overlay(Mapping[str, str]):
    """The sources of a merged fingerprint: the added parts' over the original's, each
    still rendered on first read (``LazySources``)."""

    __slots__ = ("_base", "_top")

    def __init__(self, top: Mapping[str, str], base: Mapping[str, str]) -> None:
        self._top, self._base = top, base

    def __getitem__(self, key: str) -> str:
        return self._top[key] if key in self._top else self._base[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._top
        yield from (k for k in self._base if k not in self._top)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __reduce__(self) -> tuple[Any, ...]:  # pickles as the plain dict it renders
        return (dict, (dict(self),))


# The key, among a code version's recorded sources, of the file that defines the module
# a constant reached through a module attribute (``constant pipe.py:util.TOKEN``, read in
# pipe.py) lives in: FILE_OF + the part's key -> ``lib/util.py``. No part starts with it.
FILE_OF = "@file "


def env_not_set(var: str) -> str:
    """The recorded text of an environment variable a key counted while it was not set
    (``runtime.decisions.with_env_values``)."""
    return f"{var} is not set"


def with_sources(base: Mapping[str, str], more: Mapping[str, str]) -> Mapping[str, str]:
    """``base`` (a fingerprint's ``sources``) with ``more`` over it, ``base``'s texts
    still rendered on first read."""
    return _Overlay(more, base) if more else base


def render_source(source: Source) -> str:
    if isinstance(source, str):
        return source
    try:
        return source()
    except (RecursionError, MemoryError):
        return "<source too deeply nested to show>"
    except Exception as exc:  # never let showing code break recording it
        return f"<source not available: {type(exc).__name__}>"


def explain_parts(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Phrases naming each part that differs between two fingerprints."""
    out: list[str] = []
    gone = {k: v for k, v in old.items() if k not in new}
    added = {k: v for k, v in new.items() if k not in old}
    moved: set[str] = set()
    for k, v in added.items():  # same code, same name, another file: a move
        kind, label, qual = split_key(k)
        for g, gv in gone.items():
            gk, glabel, gqual = split_key(g)
            if gk == kind and gqual == qual and glabel != label and gv == v and g not in moved:
                out.append(f"{_part_label(k)} moved from {glabel} to {label}")
                moved.update((k, g))
                break
    for key in sorted(set(old) | set(new), key=_part_order):
        if key in moved or old.get(key) == new.get(key):
            continue
        label = _part_label(key)
        o, n = old.get(key), new.get(key)
        if n is not None and n.startswith(OPAQUE):
            out.append(f"{label} cannot be fingerprinted ({n.split(':', 2)[-1]}), so it re-executes")
        elif key.startswith("decorator "):
            out.append(f"decorator {o or '(none)'} -> {n or '(none)'}")
        elif o is None:
            out.append(f"{label} is new")
        elif n is None:
            out.append(f"{label} is no longer used")
        elif key.startswith("library "):
            out.append(f"{label} {o} -> {n}")
        elif key.startswith("instance "):
            out.append(f"state of {split_key(key)[2]} instance changed")
        else:
            out.append(f"{label} changed")
    return out


def split_key(key: str) -> tuple[str, str, str]:
    kind, _, rest = key.partition(" ")
    where, _, qual = rest.rpartition(":")
    return kind, where, qual or rest


def _part_order(key: str) -> tuple[int, str]:
    rank = {"code": 0, "declaration": 1}.get(key, 2)
    return rank, key


_KIND_LABELS = {
    "helper": "code of helper",
    "method": "code of method",
    "class": "code of class",
    "attribute": "class attribute",
    "constant": "constant",
    "closure": "closure value",
    "defaults": "default arguments of",
    "attributes": "attributes of",
    "partial": "arguments of partial",
    "instance": "state of instance",
    "module": "source of module",
    "file": "source of file",
    "env": "environment variable",
    "rng": "state of the random generator behind",
    "extension": "compiled module",
    "decorator": "decorator",
    "docstring": "docstring of",
    "text": "source text (comments included) of",
    "binding": "binding of",
    "state": "state shared through the global",
    "changed": "process-wide settings a step changes as the run goes:",
    "drawn": "random generator other steps draw from too:",
    "made": "random generator made before this build:",
    "frames": "variables read through a frame by",
    "bound": "object bound to method",
    "settings": "settings of",
    "step": "declaration or attributes of step",
    "bases": "base classes of",
}


def _part_label(key: str) -> str:
    if key == "code":
        return "code"
    if key == "declaration":
        return "declaration (@step arguments)"
    if key == "partial arguments":
        return "arguments of the partial"
    if key == "attributes":
        return "attributes set on the step's function"
    if key == "optimize":
        return "Python's optimization level (python -O)"
    kind, where, qual = split_key(key)
    if kind == "library":
        return f"library {qual}"
    if kind == "module" or kind == "extension":
        return f"{_KIND_LABELS[kind]} {where or qual}"
    prefix = _KIND_LABELS.get(kind)
    return f"{prefix} {qual}" if prefix else key


def part_label(key: str) -> str:
    """How a part is named to a person (``helper a.py:f`` -> ``code of helper f``)."""
    return _part_label(key)
