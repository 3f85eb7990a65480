"""Code fingerprints: what a step's result can depend on, hashed in named parts.

The step function's *normalized* AST is hashed (comments, docstrings, blank lines and
formatting do not count), together with everything it can reach that can change its
result, followed recursively and across files:

- global names the code loads (read exactly from the bytecode, so a parameter that
  shares its name with a module-level function is an input, not a helper), attribute
  chains through modules (``helpers.scale``), and imports inside function bodies;
- functions and classes of the user's own code (see ``ownership``): a class counts by
  its body, each of its methods, its base classes and the *values* of its class
  attributes (a ``SCALE`` loaded from a file at import counts by value);
- values: module constants, closure cells, default arguments, decorator arguments,
  instances (a bound method's ``self``), run values; each by a canonical token
  (``tokens``), and the code of every function or class the value references (a
  dispatch dict of functions, a config object's methods, ``np.vectorize(helper)``);
- decorators on the step, by their source text (``@times(2)``) and by the wrapper's
  code and closure.

Third-party code counts by its installed version, the standard library by the Python
version. Where the fingerprint cannot see (``eval``, ``exec``, ``globals()[...]``, a
computed ``getattr``, a compiled module of the user's own), it warns once, naming the
step and the construct, and counts the whole user module (its normalized source, and
everything its names reach as it is now: functions, classes, the user modules it
imports, the current value of every other global): it errs toward re-execution, never
toward reuse. A value that has no canonical form makes the step re-execute, with a
warning.

Parts are kept by name so a cache miss can be explained ("code of method
Scaler.apply changed", "decorator times(2) -> times(3)").
"""

from __future__ import annotations

import ast
import builtins
import collections
import dis
import functools
import inspect
import itertools
import os
import reprlib
import sys
import threading
import types
import typing
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_origin

from . import native_reads, rng, side_state, wrappers
from .bytecode_reads import WHOLE_ENV, env_reads, subclass_reads
from .class_source import class_node
from .code_text import (
    ATTR_SETTERS,
    IMPORTED,
    KEYED_METHODS,
    MUTATORS,
    NAMESPACE,
    ORDERED_MUTATORS,
    PARTIAL_SETTERS,
    QUERY_MADE_ELSEWHERE,
    RESULT,
    SET_ITEM,
    SHALLOW_COPIES,
    TAKERS,
    UPDATED,
    CodeInfo,
    FingerprintWarning,
    chain_of,
    code_shape,
    code_tree,
    fast_source,
    forget_build,
    getattr_literal,
    is_a,
    is_flowyml,
    is_pick,
    iterated_argument,
    module_of,
    name_of,
    resolve_chain,
    target_names,
    within,
)
from .code_text import safe_attr as _attr
from .errors import BuildError
from .gcpause import cyclic_gc_paused
from .hashing import hash_bytes, hash_text
from .ownership import (
    NOTEBOOK,
    is_notebook_file,
    library_name,
    library_version,
    main_standin,
    user_label,
)
from .parts import (
    FINGERPRINT_VERSION,
    OPAQUE,
    Fingerprint,
    LazySources,
    Source,
    explain_parts,
    make_fingerprint,
    part_label,
    render_source,
    split_key,
)
from .source_memo import SourceMemo
from .step import WRAPS_ATTRS, Step
from .struct import struct
from .tokens import (
    Opaque,
    Tokenizer,
    bound_data,
    cell_value,
    home_module,
    library_file,
    maybe_users,
    qualified_name,
)
from .userframe import outside_stacklevel

if TYPE_CHECKING:
    from .graph import Graph

__all__ = [
    "Fingerprint",
    "FingerprintWarning",
    "code_ref_parts",
    "explain_parts",
    "fingerprint_function",
    "fingerprint_graph",
    "fingerprint_step",
    "library_version",
    "part_label",
    "short_repr",
    "value_token",
]

_UNSEEABLE_BUILTINS = {
    "eval": "eval()",
    "exec": "exec()",
    "globals": "globals()",
    "vars": "vars()",
    "__import__": "__import__()",
}  # (not ``locals()``: in a function, its own variables and closure, never a global:
# ``hparams = dict(locals())`` logs the parameters; what the function imports counts
# whole, ``_follow``)


# --------------------------------------------------------------------------- sources

_SOURCE_REPR = reprlib.Repr()
_SOURCE_REPR.maxstring = _SOURCE_REPR.maxother = 400
_SOURCE_REPR.maxlist = _SOURCE_REPR.maxtuple = _SOURCE_REPR.maxdict = 30
_SOURCE_REPR.maxset = _SOURCE_REPR.maxfrozenset = 30
_SOURCE_REPR.maxlevel = 4


def _tree_source(tree: ast.AST | Callable[[], ast.AST | None] | None, decorators: bool = True,
                 stubs: bool = False) -> Source | None:
    """A function rendering ``tree`` as normalized source: what the digest saw
    (docstrings removed; without decorators for the step's own ``code``; a class's
    methods as ``...`` when ``stubs``, since each is a part of its own)."""
    if tree is None:
        return None

    def render() -> str:
        from .code_analysis import render_tree

        return render_tree(tree() if callable(tree) else tree, decorators, stubs)

    return render


def _info_source(info: CodeInfo, decorators: bool) -> Source | None:
    """``_tree_source`` of a function's tree, remembered with its ``CodeInfo`` (and in the
    memo, with the facts of the same text): a memo hit renders without parsing."""
    if not info.has_source():
        return None
    variant = "decorated" if decorators else "bare"

    def render() -> str:
        text = info.rendered.get(variant)
        if text is None:
            from .code_analysis import render_tree

            text = info.rendered[variant] = render_tree(info.tree(), decorators, False,
                                                         info.docstrings)
            if info.slot is not None:
                _MEMO.put(*info.slot, info.facts())
        return text

    return render


def value_source(name: str, value: Any) -> str:
    """``name = <short repr>`` for a value part; values under secret-looking names
    (``API_KEY``, ``password``) are masked, so a catalog never stores a credential."""
    from .secrets import MASK, is_secret_key, mask_uri

    leaf = name.rsplit(".", 1)[-1]
    if (is_secret_key(leaf) and not callable(value)) or value is os.environ:
        return f"{name} = {MASK}"  # the environment is where credentials live
    try:
        text = _SOURCE_REPR.repr(value)
    except Exception:
        text = f"<{type(value).__qualname__}>"
    return f"{name} = {mask_uri(text)}"


def _shown(name: str, value: Any) -> str:
    """``value_source`` of a constant, once per build for a value many steps read (its
    repr is what the first step's showed: no user code runs in between)."""
    if type(value) in _SCALARS or not _sharing():
        return value_source(name, value)
    hit = _build_shown.get((name, id(value)))
    if hit is not None and hit[0] is value:
        return hit[1]
    text = value_source(name, value)
    _build_shown[(name, id(value))] = (value, text)
    return text


_build_shown: dict[tuple[str, int], tuple[Any, str]] = {}  # this build's ``_shown``


def _declaration_text(options: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in options.items() if v not in (None, {}, [])}
    return "@step(" + ", ".join(f"{k}={_short_repr(v)}" for k, v in shown.items()) + ")"


def _short_repr(v: Any) -> str:
    """``_SOURCE_REPR.repr(v)``; a short string, or a short list of them (a step's name
    and outputs), is its plain ``repr``, which reprlib would return too, ~10x faster.
    Within reprlib's limits (400 characters a string, 30 items a list), both give the
    same text; a character's escape is at most 10 long, so 38 characters always fit."""
    t = type(v)
    if t is str and len(v) <= 400:
        text = repr(v)
        if len(text) <= 400:
            return text
    elif t is list and len(v) <= 30 and all(type(x) is str and len(x) <= 38 for x in v):
        return repr(v)
    return _SOURCE_REPR.repr(v)


# --------------------------------------------------------------------------- context

_warned: set[str] = set()
# this build's tokens of values (``_Context.token``): id -> [the value, its token, the
# code objects its tokenizing met, a context that visited them (``_revisit``)]
_build_tokens: dict[int, list[Any]] = {}
# the digests of this build's hidden random generators' states (by name): taken once,
# before any step runs
_build_rng: dict[str, str] = {}


def _state_at_build(name: str) -> str:
    digest = _build_rng.get(name)
    if digest is None:
        digest = _build_rng[name] = rng.state_digest(name)
    return digest


_MAKING: Any = object()  # a ``_revisit`` context being made
# this build's closures of user functions (``_closure_of``): id -> (function, context);
# and the functions a step walked itself, first (id -> function)
_build_closures: dict[int, tuple[Any, Any]] = {}
_build_walked: dict[int, Any] = {}
# the thread in ``fingerprint_graph``: its steps share tokens, class bodies, closures (no
# user code runs between them); another thread fingerprinting meanwhile (a run deciding
# while a pipeline builds) runs steps in between, and shares nothing
_sharing_thread: int | None = None


def _sharing() -> bool:
    """Whether this thread is in ``fingerprint_graph`` (see ``_sharing_thread``)."""
    return _sharing_thread is not None and _sharing_thread == threading.get_ident()

_SCALARS = frozenset({type(None), bool, int, float, complex})
_TEXTS = frozenset({str, bytes})


_Unseen = tuple[str, str, bool]  # what cannot be followed (in which function), the
# module's label, whether it may import by name: ``_Context.warn_unseen``


class _Context:
    """One fingerprint being made: its parts, and what was visited on the way."""

    __slots__ = (
        "_multi",
        "_sources",
        "captured",
        "closures",
        "counted",
        "drawn",
        "generators",
        "held_methods",
        "hidden",
        "identifying",
        "keep",
        "object_paths",
        "own",
        "own_fns",
        "owners",
        "parts",
        "pending",
        "reads_text",
        "root",
        "seen",
        "step",
        "tokenizing",
        "unresolved",
        "unseen",
        "walked",
    )

    def __init__(self, root: Path, step: str) -> None:
        self.root = root
        self.step = step
        # what each user function reaches (``_closure_of``), and the functions an
        # earlier step walked itself: this build's, shared by its steps, or this
        # fingerprint's own
        sharing = _sharing()
        self.closures: dict[int, tuple[Any, _Context]] = _build_closures if sharing else {}
        self.walked: dict[int, Any] = _build_walked if sharing else {}
        self.own: set[int] = set()  # ids of the step's own function (its ``code`` part)
        self.own_fns: list[types.FunctionType] = []  # ... and the functions
        # part -> value -> ids of the functions whose own part it is (their name, their
        # attributes, closure cells and defaults as a helper's: ``owned``)
        self.owners: dict[str, dict[str, set[int]]] = {}
        # a closure's context (``sub``): its warnings, given to each step that adds it,
        # and the functions met whose bodies are still to walk (``drain``)
        self.captured: list[str | _Unseen] | None = None
        # label -> (what cannot be followed, in which function; whether any of it can
        # import by name): one warning per module, once the step is walked (``_unseeable``)
        self.unseen: dict[str, tuple[list[str], bool]] | None = None
        self.pending: list[tuple[types.FunctionType, str, CodeInfo]] = []
        self.parts: dict[str, str] = {}
        self.seen: set[int] = set()
        self.counted: set[tuple[str, int]] = set()  # (part, id) of values counted
        self.keep: list[Any] = []  # visited objects stay alive: ids stay unique
        self.held_methods: list[tuple[Any, bool]] | None = None  # (``_held_calls``)
        # id -> (paths read, paths changed, paths filled by an ``update`` of keys not
        # written, each with the code filling it: ``_Takes.site``) of each object the
        # step changes, by its code as ``_object_takers`` followed it (for
        # ``_fellow_readers``)
        self.object_paths: dict[int, tuple[frozenset[tuple[str, ...]],
                                           frozenset[tuple[str, ...]],
                                           frozenset[tuple[tuple[str, ...], _Site]]]
                                ] | None = None
        # what of its own code's text the step can read as data (``_text_parts``):
        # _DOCSTRINGS, _SOURCE_TEXT, or 0 (the usual case: comments and docstrings are
        # not code)
        self.reads_text = 0
        self.tokenizing: set[int] = set()  # ids of the constants being tokenized now
        # a worker re-taking the driver's key (``recheck_parts``): the keys of the parts
        # that are random generators
        self.generators: set[str] | None = None
        # the hidden random generators its values met (``rng``): their state is kept
        # apart from the parts (``Fingerprint.states``)
        self.hidden: set[str] = set()
        # id -> (what it was met in, the object) of each other random generator its
        # values met (a closure's, a config dict's, an instance's): what a step draws
        # from one depends on what the steps before it drew (``_state_writes``)
        self.drawn: dict[int, tuple[str, Any]] = {}
        self.identifying: set[int] = set()  # the functions ``_identity`` is taking now
        # ... and the names class bodies read that its module does not have (a class of
        # the driver's ``__main__`` that came by value, in a worker)
        self.unresolved: set[str] = set()
        self._multi: dict[str, set[str]] = {}
        # part -> {part value: its source, or a function that renders it}
        self._sources: dict[str, dict[str, Source]] = {}

    def add(self, key: str, value: str, source: Source | None = None) -> None:
        if source is not None:
            self._sources.setdefault(key, {}).setdefault(value, source)
        old = self.parts.get(key)
        if old is None or old == value:
            self.parts[key] = value
            return
        if old.startswith(OPAQUE):  # never matches, whatever else it holds: keeps its reason
            return
        if value.startswith(OPAQUE):
            self.parts[key] = value
            return
        # two pieces of code under one name (two lambdas in one dict, a function
        # redefined): keep both, in an order that does not depend on visiting order
        both = self._multi.setdefault(key, {old})
        both.add(value)
        self.parts[key] = hash_text("several", *sorted(both))

    def sources(self) -> LazySources:
        pending, parts = self._sources, self.parts
        if not parts.keys() >= pending.keys():  # (every part with a source is a part,
            # usually: then no filtering comprehension, only the copy LazySources makes)
            pending = {k: v for k, v in pending.items() if k in parts}
        return LazySources(pending)

    def first_count(self, key: str, obj: Any) -> bool:
        """Whether ``obj`` is met under the part ``key`` for the first time (a value
        counts once under each name it is read by)."""
        mark = (key, id(obj))
        if mark in self.counted:
            return False
        self.counted.add(mark)
        self.keep.append(obj)
        return True

    def sub(self) -> _Context:
        """A fresh context for one function's closure, in this one's build and mode."""
        sub = _Context(self.root, self.step)
        sub.closures, sub.walked = self.closures, self.walked
        sub.captured = []
        if self.generators is not None:
            sub.generators = set()
        return sub

    def drain(self) -> _Context:
        """Walk the bodies of the functions met, and of those they meet, until none is
        left: a loop, not a recursion, so a call chain of any depth is walked (the order
        does not change what is counted)."""
        while self.pending:
            fn, label, info = self.pending.pop()
            _function_body(self, fn, label, info)
        return self

    def merge(self, sub: _Context) -> None:
        """Add what ``sub`` (a function's closure) counted: its parts (each value of a
        part with several), what it visited and counted, and its warnings."""
        own, owners = self.own, sub.owners
        keep_owners = self.captured is not None  # merged again later: a closure's
        for key, value in sub.parts.items():
            sources = sub._sources.get(key, {})
            by_value = owners.get(key)
            for v in sub._multi.get(key) or (value,):
                fns = by_value.get(v) if by_value is not None else None
                if fns is not None:
                    if own and fns <= own:
                        continue  # of this step's own function as a helper: it is the
                        # step's ``code`` (its cells ``closure x``), as when walked alone
                    if keep_owners:
                        self.owners.setdefault(key, {}).setdefault(v, set()).update(fns)
                self.add(key, v, sources.get(v))
        seen = self.seen
        self.keep.extend([obj for obj in sub.keep if id(obj) not in seen])
        seen |= sub.seen
        self.counted |= sub.counted
        self.reads_text |= sub.reads_text
        self.unresolved |= sub.unresolved
        if self.generators is not None and sub.generators:
            self.generators |= sub.generators
        if sub.hidden:
            self.hidden |= sub.hidden
        for ident, met in sub.drawn.items():
            self.drawn.setdefault(ident, met)
        for message in sub.captured or ():
            self.warn(message)

    def owned(self, fn: Any, key: str, value: str, source: Source | None = None) -> None:
        """``add`` a part of helper function ``fn``'s own (not of what it reaches)."""
        self.add(key, value, source)
        if self.captured is not None:  # a closure's: for the steps that add it
            self.owners.setdefault(key, {}).setdefault(value, set()).add(id(fn))

    def first_visit(self, obj: Any) -> bool:
        if id(obj) in self.seen:
            return False
        self.seen.add(id(obj))
        self.keep.append(obj)
        return True

    @property
    def rechecking(self) -> bool:
        """A worker re-taking the driver's key (``recheck_parts``)."""
        return self.generators is not None

    def warn(self, message: str | _Unseen) -> None:
        if self.rechecking:  # the driver warned at build
            return
        if self.captured is not None:  # a closure's: each step that reaches it warns
            if message not in self.captured:
                self.captured.append(message)
            return
        if isinstance(message, tuple):  # said with the module's others (``warn_unseen``)
            what, label, imports = message
            if self.unseen is None:
                self.unseen = {}
            found, before = self.unseen.get(label) or ([], False)
            if what not in found:
                found.append(what)
            self.unseen[label] = (found, before or imports)
            return
        text = f"step {self.step!r}: {message}"
        if text not in _warned:
            _warned.add(text)
            warnings.warn(text, FingerprintWarning, stacklevel=outside_stacklevel())

    def warn_unseen(self) -> None:
        """One warning per module for what the step reaches there that the fingerprint
        cannot follow: each construct makes the whole module count, so a module whose
        every function is counted (the whole-module fallback meets them all) would
        otherwise warn once per construct, about functions the step may not call."""
        for label, (found, imports) in (self.unseen or {}).items():
            self.warn(
                f"{'; '.join(sorted(found))} ({label}) cannot be followed by the "
                f"fingerprint; all of {label} counts as this step's code (its text, and the "
                "current value of each of its globals)"
                + (", and so does every Python file of the project (a module imported by a "
                   "name the fingerprint cannot know may be any of them)" if imports else "")
                + ", so any edit to them re-executes the step")
        self.unseen = None

    def token(self, value: Any, what: str) -> str:
        """A value's canonical token; the code it references is visited. A random
        generator it holds is ``drawn`` (even in a run value, of which a step may be
        given a copy: not every executor copies every object).

        A value that is not a small primitive is tokenized once per build: the steps
        that reach it (a lookup table, a model, a run value given to many steps) take
        that token, and visit the code it references, as the first one did. A build
        runs no user code between steps, so the value is as it was. (Only in a build,
        ``fingerprint_graph``: the code an input references is fingerprinted while steps
        run, and they may change a value between two of those.)"""
        cacheable = type(value) not in _SCALARS and _sharing() and not (
            type(value) in _TEXTS and len(value) < 4096)
        if cacheable:
            hit = _build_tokens.get(id(value))
            if hit is not None and hit[0] is value:
                self._revisit(hit)
                if hit[4]:
                    self.hidden |= hit[4]
                for ident, met in hit[5].items():
                    self.drawn.setdefault(ident, met)
                self.counted.update(hit[6])
                for top in hit[7]:
                    self.library(top)
                return hit[1]
        codes: list[Any] = []

        def on_code(obj: Any) -> None:  # the code met, kept for the steps that follow
            codes.append(obj)
            self.visit_code(obj)

        try:
            # a tokenizer per value: one held here would make a reference cycle (its
            # callback is this context's method), left for the garbage collector
            tokenizer = Tokenizer(on_code=on_code if cacheable else self.visit_code,
                                  # (asked for each value: numpy loads numpy.random
                                  # on first use, which may come mid-build)
                                  ordered=True, hidden=rng.stand_ins(),
                                  identity=functools.partial(_identity, self))
            tokenizer.within = []
            digest = tokenizer.digest(value)
        except Opaque as exc:
            outer = type(value).__qualname__  # (what the value is, and what in it is not)
            kind = outer if exc.type_name == outer else f"{outer} holding a {exc.type_name}"
            self.warn(
                f"{what} (a {kind}) cannot be fingerprinted ({exc.why}); "
                "the step re-executes on every run. Make it a plain value, or create it "
                "inside the step"
            )
            return f"{OPAQUE}{os.urandom(16).hex()}:a {kind}"
        if tokenizer.met:
            self.hidden |= tokenizer.met
        drawn = {ident: (f"a {type(g).__name__} in {what}", g)
                 for ident, g in tokenizer.generators.items()}
        for ident, met in drawn.items():
            self.drawn.setdefault(ident, met)
        # what it holds counts as read too: a writer changing a dict inside it (or the
        # object itself, given as a default argument or held by a closure) is coupled
        within = {(_WITHIN, ident) for ident in tokenizer.within or ()}
        self.counted |= within
        tops = tokenizer.tops & _SETTINGS_OF_VALUES
        for top in tops:
            self.library(top)
        if cacheable:  # (the value stays referenced: its id is not reused this build)
            _build_tokens[id(value)] = [value, digest, codes, None, tokenizer.met, drawn,
                                        within, tops]
        return digest

    def _revisit(self, hit: list[Any]) -> None:
        """Visit the code a value this build tokenized references, as its first
        tokenizing did. Many (a dispatch table) are visited once in a context of their
        own, which each step then adds: a table of a thousand functions costs a step
        one merge, not a thousand visits."""
        codes: list[Any] = hit[2]
        visited: _Context | None = hit[3]
        if len(codes) < 8 or visited is _MAKING or self.captured is not None:
            # few; or met again while it is made (a table whose functions read another
            # that reads it); or inside a context being made, which walks each thing it
            # reaches once (tables that read each other would each walk them all again)
            for code in codes:
                self.visit_code(code)
            return
        if visited is None:
            hit[3] = _MAKING  # published once whole: a part-made one would miss parts
            made = self.sub()
            try:
                for code in codes:
                    made.visit_code(code)
                made.drain()
            except BaseException:
                hit[3] = None
                raise
            visited = hit[3] = made
        self.merge(visited)

    def visit_code(self, obj: Any) -> None:
        """A function, class or module met inside a value."""
        name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or "?"
        _visit(self, obj, str(name), "")

    def label_of(self, obj: Any) -> str | None:
        return user_label(self.root, module_of(obj), _file_of(obj))

    def library(self, module: str, file: str | None = None) -> None:
        top = library_name(module, file)
        self.parts[f"library {top}"] = library_version(top)
        if module in _CATALOG_READERS and _CATALOG_PART not in self.parts:
            # ``fm.Catalog().get("m").load()`` in the step: what it finds there is
            # whatever ran last, anywhere, which no key can follow
            self.warn("it reads the catalog as it runs (flowyml's Catalog or lineage "
                      "in its code): what it finds there changes with every run, which "
                      "its key cannot follow, so it re-executes every run. Declare the "
                      "artifact as an input instead (inputs={\"model\": \"model@latest\"}, "
                      "or a version, \"model@3\"): its content then counts")
            self.add(_CATALOG_PART, f"{OPAQUE}{os.urandom(8).hex()}:the catalog read as it runs")
        package = module.partition(".")[0]
        for top in (package, *_SETTINGS_BENEATH.get(package, ())):
            self.counted.add((_USES + top, 0))  # (a step changing them: ``side_state.settings_set``)
            settings = _settings_part(top)
            if settings is not None:
                self.add(*settings)
                now = _settings_values.get(top)
                if now:  # a user function set as a setting (a float format, a
                    # formatter): its code counts as the step's own helpers do (the
                    # settings' token knows it by name)
                    self.token(now, f"the settings of {top}")
        if package in _VALUE_CLASSES:  # code of yours its objects hold (an accessor)
            _library_patches(self, package)
        if package in _READS_ARGV and _ARGV_PART not in self.parts:
            # ``parser.parse_args()`` reads the command line itself, in library code
            # no fingerprint looks into: the arguments are an input of what reaches it
            self.add(_ARGV_PART, self.token(sys.argv[1:], "the command-line arguments"),
                     value_source("sys.argv[1:]", sys.argv[1:]))


# FlowyML's modules whose code reads the catalog as a step runs (``_Context.library``)
_CATALOG_READERS = frozenset({"flowyml.catalog_api", "flowyml.lineage"})
_CATALOG_PART = "catalog read as the step runs"
# the libraries whose objects a value holds (a global array) make their settings count,
# as if the code named them: ``str(A)`` prints by numpy's options, ``A / Z`` warns or
# raises by ``np.seterr``. Not the time zone of ``datetime``'s: a datetime constant's
# text does not depend on it, and a machine in another zone would re-execute
_SETTINGS_OF_VALUES = frozenset({"numpy", "pandas", "polars", "decimal", "sklearn",
                                 "dask", "pyarrow", "scipy", "xarray", "statsmodels"})
# the libraries whose settings act on what a library computes or returns, beneath it
# (``str(df.to_numpy())`` prints by numpy's options, ``pl_frame.to_pandas()`` by pandas'
# display options), besides its own
_SETTINGS_BENEATH: dict[str, tuple[str, ...]] = {
    "pandas": ("numpy", "csv"), "scipy": ("numpy",), "polars": ("numpy", "pandas"),
    "pyarrow": ("numpy", "pandas"), "sklearn": ("numpy", "pandas"),
    "dask": ("numpy", "pandas"), "statsmodels": ("numpy", "pandas"),
    "narwhals": ("numpy", "pandas"), "xarray": ("numpy", "pandas"),
}


def _settings_part(top: str) -> tuple[str, str, str] | None:
    """The part for library ``top``'s process-wide settings that are not its defaults
    (``core.settings``), once per build; None when they are all the defaults."""
    if top not in _settings_parts:
        from .settings import changed

        now = changed(top)
        if now is None:
            warnings.warn(f"the settings of {top} cannot be read: steps that use it "
                          "re-execute", FingerprintWarning, stacklevel=outside_stacklevel())
            part: tuple[str, str, str] | None = (
                f"settings {top}", f"{OPAQUE}{os.urandom(16).hex()}", "unreadable")
        elif now:
            part = (f"settings {top}", Tokenizer(ordered=True).digest(now),
                    value_source(f"{top} settings", now))
            if _holds_users_code(now):
                _settings_values[top] = now
        else:
            part = None
        _settings_parts[top] = part
    return _settings_parts[top]


_settings_parts: dict[str, tuple[str, str, str] | None] = {}  # this build's, by library
_settings_values: dict[str, Any] = {}  # ... those that hold the user's code: the values


def _holds_users_code(value: Any) -> bool:
    """Whether settings (``core.settings``: plain data, callables in it) reach a function
    or class of the user's, which a token knows by name only."""
    found: list[Any] = []
    try:
        Tokenizer(on_code=found.append).digest(value)
    except Opaque:
        return False
    return any(maybe_users(obj) for obj in found)


def settings_parts(tops: Iterable[str], root: str | os.PathLike[str] | None = None
                   ) -> tuple[dict[str, str], dict[str, Any]]:
    """The settings parts of libraries ``tops`` (those whose settings are not the
    defaults), and their sources: for a step that computes with a library's objects it
    receives as inputs (formats a numpy array) without its code naming the library.
    With the project's ``root``, also the code of yours those objects hold (an accessor
    registered on ``pd.DataFrame``: ``df.stats.spread()``, ``_library_patches``)."""
    out: dict[str, str] = {}
    sources: dict[str, Any] = {}
    for top in dict.fromkeys(t for lib in tops for t in (lib, *_SETTINGS_BENEATH.get(lib, ()))):
        part = _settings_part(top)
        if part is not None:
            out[part[0]], sources[part[0]] = part[1], part[2]
    held = sorted(t for t in tops if t in _VALUE_CLASSES and t in sys.modules)
    if held and root is not None:
        ctx = _Context(Path(root), "<inputs>")
        for top in held:
            _library_patches(ctx, top)
        ctx.drain()
        found = ctx.sources()
        for key, value in ctx.parts.items():
            out[key] = value
            if key in found:
                sources[key] = found[key]
    return out, sources


# libraries whose parsers read ``sys.argv`` when given no arguments
_READS_ARGV = frozenset({"argparse", "optparse", "getopt", "click", "typer", "fire"})
_ARGV_PART = "constant command line:sys.argv"


# --------------------------------------------------------------------------- entry points


def fingerprint_function(
    func: Callable[..., Any],
    declaration: dict[str, Any] | None = None,
    root: str | os.PathLike[str] | None = None,
    step_name: str | None = None,
) -> Fingerprint:
    """Fingerprint ``func`` (a function, bound method, partial or callable instance)
    and everything of the user's own code it reaches."""
    ctx = _Context(Path(root) if root is not None else _project_root(),
                   step_name or getattr(func, "__name__", None) or type(func).__name__)
    _end_of_build()  # one call, one build: files are checked afresh
    try:
        _visit_callable(ctx, func)
        ctx.drain()
        if ctx.reads_text:
            _text_parts(ctx)
        if ctx.unseen:
            ctx.warn_unseen()
        states = _states(ctx)
    finally:
        _end_of_build()
    if declaration is not None:
        ctx.add("declaration", Tokenizer().digest(declaration),
                functools.partial(_declaration_text, declaration))
    return make_fingerprint(ctx.parts, ctx.sources(), states)


def fingerprint_step(
    step: Any, values: Mapping[str, Any], root: str | os.PathLike[str] | None = None
) -> tuple[Fingerprint, dict[str, str]]:
    """A step's fingerprint and the tokens of its run values, taken at one moment.

    The code that a run value references (a config object's class, an Enum's class, a
    function passed as a parameter) becomes part of the fingerprint, as if it were code
    the step calls."""
    fp, tokens, _ = _fingerprint_step(step, values, root)
    return fp, tokens


def _fingerprint_step(
    step: Any, values: Mapping[str, Any], root: str | os.PathLike[str] | None
) -> tuple[Fingerprint, dict[str, str], _Context]:
    where = root if isinstance(root, Path) else Path(root) if root is not None else _project_root()
    ctx = _Context(where, step.name)
    _visit_callable(ctx, step.func)
    options = step.options()
    ctx.add("declaration", Tokenizer().digest(options),
            functools.partial(_declaration_text, options))  # rendered if recorded
    _optimize_part(ctx)
    tokens = {p: ctx.token(v, f"run value {p}") for p, v in values.items()} if values else {}
    if ctx.pending:  # (nothing to walk unless its code met a user function)
        ctx.drain()
    _check_mutated_globals(ctx, step.func)
    if ctx.reads_text:
        _text_parts(ctx)
    if ctx.unseen:
        ctx.warn_unseen()
    return make_fingerprint(ctx.parts, ctx.sources(), _states(ctx)), tokens, ctx


def _optimize_part(ctx: _Context) -> None:
    """Under ``python -O`` the code that runs is not the text's: no ``assert``, and
    ``__debug__`` is False (its ``if __debug__:`` blocks are left out). The level
    counts, as a part only when set (a plain run's keys are as they were)."""
    if sys.flags.optimize:
        ctx.add("optimize", f"-{'O' * sys.flags.optimize}")


def _states(ctx: _Context) -> dict[str, str] | None:
    """The states of the hidden random generators the code reached, as at build."""
    return {n: _state_at_build(n) for n in sorted(ctx.hidden)} if ctx.hidden else None


def recheck_parts(step: Any, values: Mapping[str, Any], root: Path
                  ) -> tuple[dict[str, str], set[str], set[str]]:
    """The parts of ``step``'s fingerprint as this process has them, for a worker to
    compare with the driver's (``statecheck``), the keys of those that are random
    generators (state every draw changes), and the names class bodies read that their
    module does not have here. Without what the worker cannot tell or
    that travelled with the step from the driver, whole: its declaration, decorator
    texts; no digest, no warnings. (Values are shown with ``repr`` as at build, for
    what a ``repr`` memoizes on them, and the text is not kept.)"""
    ctx = _Context(root, step.name)
    ctx.generators = set()
    ctx.closures, ctx.walked = {}, {}  # its own: not a build's, even if called in one
    _end_of_build()  # files are checked afresh for each job of a worker
    try:
        _visit_callable(ctx, step.func)
        _optimize_part(ctx)
        for p, v in values.items():
            ctx.token(v, f"run value {p}")
        ctx.drain()
        if ctx.reads_text:
            _text_parts(ctx)
    finally:
        _end_of_build()
    return ctx.parts, ctx.generators, ctx.unresolved


def fingerprint_graph(graph: Graph, root: str | os.PathLike[str], flush: bool = True) -> None:
    """Fingerprint every step of ``graph`` now, before any step runs: a step that
    mutates a global cannot change the key of a step after it in the same run. A run
    passes ``flush=False``: it writes the memo once, at its end (``flush_memo``), with
    the code its records rendered."""
    global _sharing_thread
    root = Path(root)  # once, not per step
    with cyclic_gc_paused(len(graph.order)):  # bulk allocation, no cyclic garbage
        _end_of_build()  # a file may have changed since the last build in this process
        native_reads.instrument()  # before the walk: a reader bound early is then known
        rng.install()  # (the seeds a step makes are then seen: ``rng.watching``)
        namespaces = {id(g): g for g in (getattr(s.func, "__globals__", None)
                                         for s in graph.steps.values()) if type(g) is dict}
        native_reads.rebind(namespaces.values())
        rng.rebind(namespaces.values())
        me = _sharing_thread = threading.get_ident()
        try:
            writes: dict[str, dict[tuple[Any, ...], str]] = {}
            fellows: dict[str, set[tuple[Any, ...]]] = {}  # (of ``writes``: ``_named_writes``)
            counted: dict[str, set[tuple[str, int]]] = {}  # (read only if a step writes)
            paths: dict[str, dict[int, tuple[Any, Any, Any]]] = {}  # (of ``_fellow_readers``)
            for name in graph.order:
                if name in graph.fingerprints:
                    continue
                values = {p: b.value for p, b in graph.bindings[name].items()
                          if b.kind in ("value", "default")}
                graph.fingerprints[name], graph.tokens[name], ctx = _fingerprint_step(
                    graph.steps[name], values, root)
                w = _state_writes(ctx)
                if w:
                    writes[name] = w
                    fellows[name] = _named_writes(ctx, graph.steps[name].func, w)
                    paths[name] = ctx.object_paths or {}
                counted[name] = ctx.counted
                _refuse_main_timeout(graph, name)
            if writes:
                written = _written_ids(writes)
                reads = {n: _state_reads(c, graph.fingerprints[n].parts, written)
                         for n, c in counted.items()}
                _couple_shared_state(graph, writes, reads, fellows, paths)
        finally:
            if _sharing_thread == me:  # (another thread's build may have taken it over)
                _sharing_thread = None
            _end_of_build()
        if flush:
            _MEMO.flush()


def _state_writes(ctx: _Context) -> dict[tuple[Any, ...], str]:
    """The module-level state the code a step reaches changes (its own, and its
    helpers'): an item or attribute it assigns, a mutating method it calls (``append``,
    ``fit``), a name it rebinds after ``global``. Markers: ``("value", id)`` of an
    object changed in place, ``("name", label, name)`` of a binding; each mapped to the
    global's name."""
    out: dict[tuple[Any, ...], str] = {}
    share = _sharing()
    names = False  # (whether any of its functions reads a global or an attribute)
    for fn in ctx.keep:
        if type(fn) is not types.FunctionType:
            continue
        if fn.__code__.co_names:
            names = True
        hit = _build_marks.get(id(fn)) if share else None
        if hit is None or hit[0] is not fn:
            hit = (fn, _marks_of(fn, ctx))
            if share:  # (the steps of a build reach the same helpers: once per build)
                _build_marks[id(fn)] = hit
        out.update(hit[1])
    for held, _ in _held_calls(ctx) if names else ():  # ``HANDLERS["reg"](v)``, ``ON(v)``
        _held_marked(held, out, ctx)
    if out:  # (a global changed by what it holds is marked changed: none, no taker)
        _split_takers(ctx, out)
        _object_takers(ctx, out)
        _split_cell_takers(ctx, out)
    if ctx.drawn:
        _drawn_generators(ctx, out)
    if (_CHANGES, 0) in ctx.counted:  # ``environ X``: the variables it sets
        for part, _ in ctx.counted:
            if part.startswith(_CHANGES) and part != _CHANGES:
                out[("settings", part.removeprefix(_CHANGES))] = "os.environ"
    return out


_build_marks: dict[int, tuple[Any, dict[tuple[Any, ...], str]]] = {}  # this build's


def _held_calls(ctx: _Context) -> list[tuple[Any, bool]]:
    """The bound methods and ``partial`` objects of functions of the user's the step's
    code calls as values, each with whether it is called by name: a global bound to one
    (``ON = REG.register; ON(v)``), an item of a global dict, list or tuple
    (``HANDLERS["reg"](v)``, nested too), each of them in a loop over one (``for h in
    HOOKS: h(v)``); or only may be: an item by a key known at run time
    (``COMMANDS[name](v)``: any of them). The walk counts such a callable by its code
    and its object's value, and met neither as a call of a method by its name
    (``REG.register(v)``) nor as a helper given an argument. Read only when a function
    the step reaches names a global that is, or holds, one (``_callables_in``);
    only what the step calls counts (reading the table, ``"reg" in HANDLERS``, calls
    nothing)."""
    if ctx.held_methods is not None:
        return ctx.held_methods
    found: dict[int, tuple[Any, bool]] = {}
    for fn in ctx.keep:
        info = _walked_info(fn) if type(fn) is types.FunctionType else None
        if info is None:
            continue
        globs = fn.__globals__
        tables = {n: globs[n] for n in info.global_names
                  if n in globs and _callables_in(globs[n], first=True)}
        tree = info.tree() if tables else None
        if tree is None:
            continue
        from .code_analysis import called_items
        for name, keys, how in called_items(tree, frozenset(tables)):
            part = _static_items(tables[name], keys)
            if part is None:
                continue
            for held in ([part] if how == "exact" else _callables_in(part)):
                if _is_held_callable(held):
                    seen = found.get(id(held))
                    found[id(held)] = (held, how != "any" or (seen is not None and seen[1]))
    ctx.held_methods = list(found.values())
    return ctx.held_methods


def _is_held_callable(obj: Any) -> bool:
    """A bound method of a function of the user's, or a ``partial`` of one."""
    kind = type(obj)
    if kind is types.MethodType:
        return type(obj.__func__) is types.FunctionType
    return kind is functools.partial and type(_as_function(obj)) in (
        types.FunctionType, types.MethodType)


def _callables_in(obj: Any, first: bool = False) -> list[Any]:
    """The held callables (``_is_held_callable``) ``obj`` is or holds, or with ``first``
    the first one found: three levels deep, 256 values at most in all (a dispatch table,
    a list of hooks; not the rows of a dataset)."""
    out: list[Any] = []
    stack, budget = [(obj, 0)], 256
    while stack and budget > 0:
        value, level = stack.pop()
        budget -= 1
        if _is_held_callable(value):
            out.append(value)
            if first:
                break
        elif level < 3 and type(value) in (dict, list, tuple):
            stack.extend((v, level + 1) for v in itertools.islice(
                value.values() if type(value) is dict else value, 64))
    return out


def _static_items(obj: Any, keys: tuple[Any, ...]) -> Any:
    """``obj[k1][k2]...`` read without running code (an exact dict, list or tuple at
    each step); None where it cannot be (a missing key, another type)."""
    for key in keys:
        kind = type(obj)
        try:
            if kind is dict:
                obj = dict.get(obj, key, _NOT_BUILTIN)
            elif kind in (list, tuple) and type(key) is int:
                obj = kind.__getitem__(obj, key)
            else:
                return None
        except (IndexError, TypeError):
            return None
        if obj is _NOT_BUILTIN:
            return None
    return obj


def _held_marked(held: Any, out: dict[tuple[Any, ...], str], ctx: _Context) -> None:
    """What calling a held callable changes (``_held_calls``), marked."""
    if type(held) is functools.partial:  # ``SETTER = partial(set_w, APP.model)``: a
        _held_partial_marked(held, out, ctx)  # helper given what it holds
        held = _as_function(held)  # (``partial(REG.register)``: the method's object too)
    if type(held) is types.MethodType:
        _held_method_marked(held, out, ctx)


def _held_method_marked(method: types.MethodType, out: dict[tuple[Any, ...], str],
                        ctx: _Context) -> None:
    """Mark the object a bound method held as a value changes when called (its
    function changes its first parameter: ``self.items.append(v)``), as a call of it
    by name does (``_self_changed``), by the name of a global holding it where one
    does."""
    fn, me = method.__func__, method.__self__
    if type(fn) is not types.FunctionType or (not _holds_state(me) and not is_a(me, type)) \
            or not _changes_parameter(fn, 0, me):
        return
    name = _shown_name(me, fn)
    _object_mark(me, name, out, ctx)
    if not is_a(me, type):
        _held_parts_marked(me, fn, name, out, ctx, set())


def _held_callable_marked(root: Any, attrs: tuple[str, ...],
                          out: dict[tuple[Any, ...], str], ctx: _Context) -> None:
    """``HUB.setter(v)`` where the object holds a ``partial`` or a bound method of the
    user's as an attribute (``self.setter = partial(set_w, self.model)``): what calling
    it changes, as for one held in a global (``_held_calls``)."""
    if root is None or is_a(root, (types.ModuleType, type, *_IMMUTABLE)):
        return
    held = _static_path(root, attrs)
    if _is_held_callable(held):
        _held_marked(held, out, ctx)


def _held_partial_marked(held: functools.partial[Any], out: dict[tuple[Any, ...], str],
                         ctx: _Context) -> None:
    """Mark what a ``partial`` of a function of the user's gives it and it changes
    (``partial(set_w, APP.model)`` with ``set_w`` doing ``m.w = v``), as a call giving
    it the same does (``_given_marked``), by the name of a global holding it where one
    does."""
    fn = held.func
    given: list[tuple[int | str, Any]] = [*enumerate(held.args[:64]), *held.keywords.items()]
    for where, part in given:
        if _holds_state(part) and _changes_parameter(fn, where, part):
            name = _shown_name(part, fn)
            _object_mark(part, name, out, ctx)
            _given_parts_marked(fn, where, part, name, out, ctx)


def _shown_name(obj: Any, fn: Any) -> str:
    """How a warning names ``obj``, changed through ``fn`` (a function or a bound
    method's): by a global of ``fn``'s module holding it, else by its class."""
    fn = fn.__func__ if type(fn) is types.MethodType else fn
    globs = fn.__globals__ if type(fn) is types.FunctionType else {}
    return next((k for k, v in globs.items() if v is obj), type(obj).__name__)


def _split_takers(ctx: _Context, out: dict[tuple[Any, ...], str]) -> None:
    """A global one function the step reaches changes by what it holds
    (``CodeInfo.ordered``: ``def add(v): LOG.append(v)``, ``global N; N += 1``) and
    another reads (the step's ``add(0); return sum(LOG)``) is taken from, as when one
    function does both (``CodeInfo.taken``, ``_taken_marks``): what the step computes
    depends on what the other steps did to it first. Only functions the step may call
    count (not a method it never names: ``_named_writes``), and a read is one of what
    the global holds (``code_analysis.reads_content``: not a rebinding, an append, the
    global handed to a helper of the step, judged apart); a change alone, a log no code
    of the step reads, couples nothing."""
    functions = [fn for fn in ctx.keep if type(fn) is types.FunctionType]
    infos = [(fn, info) for fn in functions for info in [_walked_info(fn)] if info is not None]
    if not any(info.ordered for _, info in infos):
        return
    names: set[str] = set()
    for fn in functions:
        _code_names(fn.__code__, names)
    infos = [(fn, info) for fn, info in infos if not _never_named(fn, names)]
    ordered: dict[tuple[Any, ...], str] = {}
    for fn, info in infos:
        for name in info.ordered & info.global_names:
            mark = _global_mark(fn, name, ctx)
            if mark is not None:
                ordered.setdefault(mark, name)
    if not ordered:
        return
    from .code_analysis import reads_content
    reached = {id(fn) for fn in functions}
    readers: set[tuple[Any, ...]] = set()
    for fn, info in infos:
        for name in info.global_names - info.ordered:
            mark = _global_mark(fn, name, ctx)
            if mark is None or mark not in ordered or mark in readers:
                continue
            tree = info.tree()
            if tree is None or reads_content(tree, name, functools.partial(
                    _calls_reached, fn.__globals__, reached)):
                readers.add(mark)
    for mark in readers:
        out[mark] = ordered[mark]
        out[("taken", mark)] = ordered[mark]


def _object_takers(ctx: _Context, out: dict[tuple[Any, ...], str]) -> None:
    """An object the step changes (marked in ``out``) that holds, at some path, a value
    the step changes by what it holds and also reads, directly, through the methods it
    calls (and those of the object's they call), or through a helper given it
    (``C.bump()`` doing ``self.n += 1; return self.n``; ``TRACKER.log(0); return
    TRACKER.total()`` with ``self.items.append(v)`` and ``sum(self.items)``;
    ``APP.tracker.log(0)``; ``bump(C)``; ``add(0); return sum(APP.log)`` with ``APP.log
    is LOG``): taken from, as a global list appended to and summed is
    (``_split_takers``): what the step computes depends on what the other steps did to
    it first. By path (``code_analysis.own_uses``): a tracker whose ``log`` also reads
    a flag (``if self.verbose``) takes nothing."""
    functions = [fn for fn in ctx.keep if type(fn) is types.FunctionType]
    names: set[str] = set()
    for fn in functions:
        _code_names(fn.__code__, names)
    may_take = not names.isdisjoint(_ORDERED_OR_TAKING) or any(
        _may_take(_walked_info(fn)) for fn in functions)
    changed = {mark[1] for mark in out if mark[0] == "value"}
    if not may_take and not changed:
        return  # (no code that changes anything by what it holds, no object it changes:
        # nothing to parse)
    # class attributes the step changes, by the name ``_marks_of`` gives them
    # (``Run.count += 1``, ``Run.seen.append(v)``: ``("name", label, "Run.count")``)
    attributes = {(mark[1], mark[2]) for mark in out if mark[0] == "name" and "." in mark[2]}
    classes: dict[int, tuple[str, str]] = {}  # id -> (label, qualname) of such a class
    for fn in functions if attributes else ():
        info = _walked_info(fn)
        for n in info.global_names if info is not None else ():
            v = fn.__globals__.get(n)
            if not is_a(v, type) or id(v) in classes:
                continue
            label, qual = ctx.label_of(v), getattr(v, "__qualname__", "")
            if label is not None and any(lbl == label and d.startswith(qual + ".")
                                         for lbl, d in attributes):
                classes[id(v)] = (label, qual)
    takes = _Takes(functions, changed | set(classes))
    for fn in functions:
        info = _walked_info(fn)
        if info is None or _never_named(fn, names):  # (a method the step never calls)
            continue
        globs = fn.__globals__
        roots = {n: globs[n] for n in info.global_names if n in globs and (
            _holds_state(globs[n]) or id(globs[n]) in changed or id(globs[n]) in classes)}
        # (a class the step changes: ``Run.bump()`` doing ``cls.count += 1; return
        # cls.count``, ``Run.count += 1; return Run.count``)
        tree = info.tree() if roots else None
        if tree is None:
            continue
        found = _uses_of(tree, roots)
        for name, obj in roots.items():
            takes.add(obj, name, (), found[name], globs, (fn, None))
        if fn.__code__.co_argcount and _by_any_key(found.values()):
            for consts in _keyed_call_sites(fn, functions):  # (``put("a")``: its
                bound = _uses_of(tree, roots, dict(consts))  # ``CACHE[k] = v`` sets
                for name, obj in roots.items():  # ``CACHE["a"]`` there too)
                    takes.add(obj, name, (), bound[name], globs, (fn, None))
        _helpers_given(info, globs, roots, {n: (o, n, ()) for n, o in roots.items()}, takes)
    # (a class called makes an instance: not a read of what its attributes hold, which
    # count by name, ``Solo.instance()`` making ``cls._instance = cls()`` on first use)
    ctx.object_paths = {i: (frozenset(e[3] - {()} if is_a(e[0], type) else e[3]),
                            frozenset(e[2] | e[4]), frozenset(e[5]))
                        for i, e in takes.objects.items() if i in changed}
    if not may_take:
        return
    for obj, name in takes.taken():
        if id(obj) in changed:
            out[("taken", ("value", id(obj)))] = name
    for obj, name, paths in takes.taken_paths():
        if id(obj) in classes:  # taken by the attribute's name, which other steps mark
            label, qual = classes[id(obj)]
            for attr in sorted({p[0] for p in paths if p}):
                out[("taken", ("name", label, f"{qual}.{attr}"))] = f"{name}.{attr}"


def _may_take(info: CodeInfo | None) -> bool:
    """Whether the facts of a function's text say it changes a value by what it holds
    without calling a method named so (``CodeInfo.ordered``: ``self.n += 1``, ``del
    X[0]``) or takes from one (``_object_takers`` reads the names the code calls for
    the rest: ``append``, ``pop``...)."""
    return info is not None and bool(info.ordered or info.taken)


# library functions that take an item out of the value they are given and return it
# (``heapq.heappop(self.heap)``, ``next(self.ids)``): a value changed by what it holds,
# and read (``_Takes.add``)
_HANDED_TAKERS = frozenset({"heappop", "heapreplace", "heappushpop", "next"})
# the names whose call in the code a step reaches may make it a taker (``_object_takers``)
_ORDERED_OR_TAKING = ORDERED_MUTATORS | TAKERS | _HANDED_TAKERS


_Site = tuple[int, ...]  # the code filling a dict (``_Takes.site``)
_Filler = tuple[types.FunctionType, str | None]  # a function, the parameter given the object
_TAKES_SERIAL = itertools.count()


class _Takes:
    """How a step's code uses the objects it reaches from globals (``_object_takers``):
    for each object, the paths from it to values changed by what they hold and to
    values read (a path from a global is recorded for each object on the way: ``APP.log``
    read is ``LOG`` read whole); methods followed, 64 at most (``_helper_use``)."""

    def __init__(self, functions: Sequence[Any], changed: set[int] | None = None) -> None:
        # id -> (object, global's name, paths changed by what they hold, paths read,
        # paths set, paths filled by an ``update`` of keys not written, each with the
        # code filling it: ``site``)
        self.objects: dict[int, tuple[Any, str, set[tuple[str, ...]], set[tuple[str, ...]],
                                      set[tuple[str, ...]],
                                      set[tuple[tuple[str, ...], _Site]]]] = {}
        self.seen: set[tuple[Any, ...]] = set()
        self.functions = [f for f in functions if type(f) is types.FunctionType]
        self.reached = {id(f) for f in self.functions}  # the functions the step reaches
        # the ids of the classes the step changes (its marks): their attributes are
        # state as an object's are (a class attribute counter)
        self.changed = changed or set()
        self.serial = next(_TAKES_SERIAL)
        self.sites: dict[tuple[int, str | None], _Site] = {}  # (``site``)

    def site(self, fn: types.FunctionType, given_as: str | None = None) -> _Site:
        """Which code fills what ``fn`` fills by an ``update`` of keys it does not say
        (``_fellow_readers``): ``fn`` itself, when it takes no argument but the object
        (``given_as``) or the step's code only ever calls it with none (``config()``,
        ``def config(path="config.json")``), so that every step calling so fills the
        same (a config loaded once: ``if not CFG: CFG.update(json.load(f))``); else
        ``fn`` as this step calls it, for what it fills may come from its arguments
        (``load({"lr": k})``)."""
        key = (id(fn), given_as)
        hit = self.sites.get(key)
        if hit is None:
            code = fn.__code__
            params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount + bool(
                code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)]
            hit = self.sites[key] = (id(fn), self.serial) if any(
                p != given_as for p in params) and not _called_bare(
                fn, [f for f in self.functions if f is not fn]) else (id(fn),)
        return hit

    def add(self, root: Any, name: str, at: tuple[str, ...], found: Any,
            globs: Mapping[str, Any], site: _Filler | None = None) -> None:
        """``found`` (``own_uses``, of code whose globals are ``globs``: of the function
        in ``site``, given the object as its parameter there) of the object at path
        ``at`` from ``root`` (the global ``name``), its calls followed; a value handed
        to a function the step reaches is followed there (``_helpers_given``), to any
        other, read."""
        for p in found.ordered:
            self.record(root, name, at + p, read=False)
        for p in found.assigned:
            self.record(root, name, at + p, read=False, assigned=True)
        for p in found.read:
            self.record(root, name, at + p, read=True)
            if p and p[-1][:1] != "[":  # ``T.total`` a property: its getter runs on ``T``
                self._property_read(root, name, at + p[:-1], p[-1])
        for p, callee in found.handed:
            try:
                followed = _calls_reached(globs, self.reached, callee)
            except Exception:  # (a ``__getattr__`` raising on the way: not followed)
                followed = False
            if not followed:
                self.record(root, name, at + p, read=True)
                if callee[-1] in _HANDED_TAKERS:  # ``heapq.heappop(self.heap)``,
                    self.record(root, name, at + p, read=False)  # ``next(self.ids)``
        given = dict(found.call_keys)
        for path, used in found.calls:
            where, method = at + path[:-1], path[-1]
            self._called(root, name, where, method, used, given.get(path), site)

    def _property_read(self, root: Any, name: str, where: tuple[str, ...], attr: str
                       ) -> None:
        """``attr`` read on what is at ``where`` from ``root``: when it is a property of
        the user's (``@property def total(self): return sum(self.items)``), what its
        getter reads of the object, as a method called there would be followed."""
        getters = {id(g): g for held in _objects_along(root, where)
                   if not is_a(held, (type, list, dict, set))
                   for g in [_property_getter(type(held), attr)] if g is not None}
        for getter in getters.values():
            _helper_use(getter, 0, root, name, where, self)

    def record(self, root: Any, name: str, path: tuple[str, ...], read: bool,
               assigned: bool = False, filled: _Site | None = None) -> None:
        """A value at ``path`` from ``root`` changed by what it holds, or ``read``, or
        (``assigned``) set, or ``filled`` by an ``update`` of the code ``filled`` says."""
        if read:
            path = _opaque_items_cut(root, path)
        for k in range(len(path) + 1):
            for obj in _objects_along(root, path[:k]):
                if _holds_state(obj) or (id(obj) in self.changed and is_a(obj, type)):
                    entry = self.objects.setdefault(
                        id(obj), (obj, name, set(), set(), set(), set()))
                    if filled is not None:
                        entry[5].add((path[k:], filled))
                    else:
                        (entry[4] if assigned else entry[3] if read else entry[2]).add(path[k:])

    def _called(self, root: Any, name: str, where: tuple[str, ...], method: str,
                used: bool, given: tuple[tuple[int | str, str], ...] | None = None,
                site: _Filler | None = None) -> None:
        """The method ``method`` called on what is at ``where`` from ``root``: each of
        the user's there followed once (with the constant keys it is ``given``, by place
        after its object or keyword: ``REG.register("m", v)``), a builtin container's by
        its name (and the item it reads or sets by its first key: ``d.get("a")``,
        ``d.setdefault("a", [])``)."""
        held = [h for h in _objects_along(root, where) if not is_a(h, (list, dict, set))]
        methods = {id(m): m for h in held
                   for m in [_class_method(h, method) if is_a(h, type)
                             else _own_method(h, method)] if m is not None and _walked(m)}
        key = dict(given or ()).get(0) if method in KEYED_METHODS else None
        if key is None and method in KEYED_METHODS and not held:  # (a builtin
            key = "[]"  # container's ``d.get(k)``, ``d.setdefault(name, [])``: any item)
        if given and not all(_undecorated(h, method) for h in held):
            given = None  # (a decorator may pass its function other arguments)
        for meth in methods.values():
            _helper_use(meth, 0, root, name, where, self, given)
        if not methods:  # a builtin container's (``self.items.append(v)``), or unknown
            if method in ORDERED_MUTATORS:
                self.record(root, name, where, read=False)
            elif method in TAKERS:  # ``return self.jobs.pop(0)``; an eviction whose item
                if used:  # is dropped (``self.memo.popitem(last=False)``) takes nothing
                    self.record(root, name, where, read=False)
                    self.record(root, name, where, read=True)
                else:
                    self.record(root, name, where, read=False, assigned=True)
            elif method not in MUTATORS:  # (``self.items.count(x)``)
                self.record(root, name, (*where, key) if key else where, read=True)
            else:  # ``self.model.fit(X)``: set anew; ``cfg.set(...)``: some part
                parts = [p for k, p in given or () if k == UPDATED] if method == "update" else []
                if not parts and method == "update" and not key and site is not None:
                    # ``STATE.update(other)``: keys not written, filled by this code
                    self.record(root, name, where, read=False, filled=self.site(*site))
                    return
                if not parts:  # (``self.opts.update(lr=v)``: the items it names)
                    parts = [key or ("[]" if method in PARTIAL_SETTERS else "")]
                for part in parts:
                    self.record(root, name, (*where, part) if part else where, read=False,
                                assigned=True)

    def taken(self) -> list[tuple[Any, str]]:
        """The objects holding a value changed by what it holds and read (either path
        within the other: a read of ``self`` whole, of ``self.items[0]``)."""
        return [(obj, name) for obj, name, _ in self.taken_paths()]

    def taken_paths(self) -> list[tuple[Any, str, set[tuple[str, ...]]]]:
        """``taken``, each object with its paths changed by what they hold and read."""
        out = []
        for obj, name, ordered, read, *_ in self.objects.values():
            paths = {o for o in ordered for r in read if within(o, r) or within(r, o)}
            if paths:
                out.append((obj, name, paths))
        return out


_KEYED = (dict, list, tuple, set, frozenset, collections.deque)  # items are their data


def _walked(method: Any) -> bool:
    """Whether a method's code (through its wrappers) was walked, so its uses of its
    object can be read: not a library's (``Message.get``), which counts by its name as
    a builtin container's does (``_Takes._called``)."""
    fn = method.__func__ if type(method) is types.MethodType else method
    return type(fn) is types.FunctionType and _walked_info(_wrapped(fn)) is not None


def _opaque_items_cut(root: Any, path: tuple[str, ...]) -> tuple[str, ...]:
    """``path`` read from ``root``, up to its first item of an object that is not a
    builtin container (``SLOTS["m"]``, ``k in SEEN``, ``APP.session.get(url)``): what
    its ``__getitem__``, ``__contains__`` or ``get`` reads is its own affair, so the
    object counts as read whole."""
    for j, part in enumerate(path):
        if part[:1] == "[" and not all(is_a(o, _KEYED) for o in _objects_along(root, path[:j])):
            return path[:j]
    return path


def _by_any_key(uses: Iterable[Any]) -> bool:
    """Whether code (its ``own_uses``) reads or sets an item by a key it computes."""
    return any("[]" in p for u in uses for p in (*u.assigned, *u.read, *u.ordered))


def _keyed_call_sites(target: types.FunctionType, functions: Sequence[types.FunctionType]
                      ) -> set[tuple[tuple[str, str], ...]]:
    """The constant keys the others of ``functions`` call ``target`` with, by parameter,
    when it is a plain function (a helper no decorator wraps, which gets the arguments as
    written): ``put("a")`` gives ``put(k)`` ``{"k": "['a']"}``. Each call's keys are one
    more way the helper runs: its uses with them are added to those with keys computed
    at run time (``CACHE[k] = v``: any item), never put in their place. Only the code
    that names it is parsed."""
    if "__wrapped__" in target.__dict__:
        return set()
    from .code_analysis import keyed_calls

    code = target.__code__
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    out = set()
    for caller, tree in _naming_callers(target, functions):
        for chain, keys in keyed_calls(tree) if tree is not None else ():
            if chain[-1] != target.__name__:
                continue
            try:
                if resolve_chain(chain, caller.__globals__) is not target:
                    continue
            except Exception:  # (a ``__getattr__`` raising on the way)
                continue
            consts = tuple(sorted(
                (params[k] if isinstance(k, int) else k, part) for k, part in keys
                if (k < code.co_argcount if isinstance(k, int) else k in params)))
            if consts:
                out.add(consts)
    return out


def _called_bare(target: types.FunctionType, functions: Sequence[types.FunctionType]
                 ) -> bool:
    """Whether every use of ``target``'s name in the code of ``functions`` that names it
    is a call given no argument (``code_analysis.only_bare_calls``)."""
    from .code_analysis import only_bare_calls

    return all(tree is not None and only_bare_calls(tree, target.__name__)
               for _, tree in _naming_callers(target, functions))


def _naming_callers(target: types.FunctionType, functions: Sequence[types.FunctionType]
                    ) -> Iterator[tuple[types.FunctionType, ast.AST | None]]:
    """Each of ``functions`` whose code names ``target`` (by its name, as a global or an
    attribute), with its parsed tree (None: its text cannot be read). Only those are
    parsed."""
    for caller in functions:
        names: set[str] = set()
        _code_names(caller.__code__, names)
        if target.__name__ in names:
            info = _walked_info(caller)
            yield caller, info.tree() if info is not None else None


def _undecorated(held: Any, method: str) -> bool:
    """Whether ``held``'s method ``method`` is a plain ``def`` of its class (a
    classmethod's too), which gets the arguments of a call as they are written."""
    raw = inspect.getattr_static(held if is_a(held, type) else type(held), method, None)
    raw = raw.__func__ if isinstance(raw, classmethod) else raw
    return type(raw) is types.FunctionType and "__wrapped__" not in raw.__dict__


def _helpers_given(info: CodeInfo, globs: Mapping[str, Any], names: Iterable[str],
                   given: Mapping[str, tuple[Any, str, tuple[str, ...]]], takes: _Takes
                   ) -> None:
    """Follow the helpers code (described by ``info``) gives the objects its ``names``
    stand for (``given``: the object a name's path from it starts at, as ``(root,
    global's name, path)``), or a part of one (``bump(C)``, ``log(self.tracker, v)``)."""
    for callee, where, part in info.passed:
        head, *attrs = part.split(".")
        if head in names and type(callee) is tuple and "[" not in part:
            root, name, at = given[head]
            try:
                helper = resolve_chain(callee, globs)
            except Exception:  # (a ``__getattr__`` raising on the way: given to code
                takes.record(root, name, at + tuple(attrs), read=True)  # not followed)
                continue
            _helper_use(helper, where, root, name, at + tuple(attrs), takes)


def _helper_use(fn: Any, where: int | str, root: Any, name: str, at: tuple[str, ...],
                takes: _Takes, given: tuple[tuple[int | str, str], ...] | None = None
                ) -> None:
    """Add to ``takes`` how ``fn`` (a function of the user's, a method through the
    wrappers ``_wrapped`` sees) uses its parameter ``where``, given the object at path
    ``at`` from ``root`` (the global ``name``), and the helpers it hands it to: 64
    functions a step at most, past which one given the object counts as reading it."""
    if type(fn) is types.MethodType:
        fn, where = fn.__func__, where + 1 if isinstance(where, int) else where
    fn = _wrapped(fn) if type(fn) is types.FunctionType else None
    info = _walked_info(fn) if fn is not None else None
    if fn is None or info is None:
        return
    code = fn.__code__
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    param = (params[where] if where < code.co_argcount else None) if isinstance(
        where, int) else where if where in params else None
    # the constant keys the call gives the parameters after the object's (a method's)
    consts = {params[where + 1 + k] if isinstance(k, int) else k: part for k, part in given
              if (k in params if isinstance(k, str) else where + 1 + k < code.co_argcount)
              } if given and isinstance(where, int) else {}
    key = (id(fn), id(root), *at, *sorted(consts.items()))
    tree = info.tree() if param is not None and key not in takes.seen else None
    if tree is None or param is None:
        return
    if len(takes.seen) >= 64:  # not followed: as if it read what it is given
        takes.record(root, name, at, read=True)
        return
    takes.seen.add(key)
    takes.add(root, name, at, _uses_of(tree, (param,), consts)[param], fn.__globals__,
              (fn, param))
    _helpers_given(info, fn.__globals__, (param,), {param: (root, name, at)}, takes)


def _uses_of(tree: ast.AST, names: Iterable[str], consts: Mapping[str, str] | None = None
             ) -> dict[str, Any]:
    """``code_analysis.own_uses``, once a build for a function's tree, a name and the
    constant keys its parameters were given (the steps of a build call the same methods:
    a tracker's ``log``)."""
    hit = _uses_memo.get(id(tree))
    if hit is None or hit[0] is not tree:
        hit = (tree, {})
        if _sharing():
            _uses_memo[id(tree)] = hit
    frozen = tuple(sorted(consts.items())) if consts else ()
    missing = [n for n in names if (n, frozen) not in hit[1]]
    if missing:
        from .code_analysis import own_uses
        hit[1].update(((n, frozen), u) for n, u in own_uses(tree, missing, consts).items())
    return {n: hit[1][(n, frozen)] for n in names}


_uses_memo: dict[int, tuple[ast.AST, dict[tuple[str, tuple[tuple[str, str], ...]], Any]]] = {}
# (this build's)


def _objects_along(obj: Any, path: tuple[str, ...]) -> list[Any]:
    """The objects at ``path`` from ``obj`` (``[]``: each item a container holds), found
    without running code: 64 at most (the rows of nested lists are not followed all)."""
    reached = [obj]
    for part in path:
        if part[:1] == "[":  # (any item, or one by its key: all, as for any)
            reached = [x for o in reached for x in _contents(o)[:64]][:64]
        elif part == "__class__":  # (``type(self).count``, ``self.__class__.count``)
            reached = list({id(t): t for t in map(type, reached)}.values())
        else:
            reached = [h for o in reached for h in [_held_path(o, (part,))] if h is not None]
    return reached


def _calls_reached(globs: Mapping[str, Any], reached: set[int], chain: tuple[str, ...]
                   ) -> bool:
    """Whether ``chain`` names (in ``globs``) a function the step reaches, itself or as a
    bound method's or a ``partial``'s."""
    target = _as_function(resolve_chain(chain, globs))
    target = target.__func__ if type(target) is types.MethodType else target
    return id(target) in reached


def _never_named(fn: types.FunctionType, names: set[str]) -> bool:
    """Whether ``fn`` is a method (a function of a class body) whose name is not in
    ``names`` nor a dunder (called implicitly)."""
    qualified = fn.__qualname__.split(".")
    return len(qualified) > 1 and qualified[-2] != "<locals>" and fn.__name__ not in names and (
        fn.__name__[:2] != "__" or fn.__name__[-2:] != "__")


def _global_mark(fn: types.FunctionType, name: str, ctx: _Context) -> tuple[Any, ...] | None:
    """The mark of the global ``name`` of ``fn``'s module: its value's for an object
    changed in place, the binding's for an immutable one rebound (``N += 1``); None for
    a module, a function or a class (code) and a name not bound."""
    value = fn.__globals__.get(name, _NOT_BUILTIN)
    if value is _NOT_BUILTIN or is_a(value, (types.ModuleType, types.FunctionType, type)):
        return None
    if not is_a(value, _IMMUTABLE):
        return ("value", id(value))
    label = ctx.label_of(fn)
    return None if label is None else ("name", label, name)


def _named_writes(ctx: _Context, own: Any, writes: Mapping[tuple[Any, ...], str]
                  ) -> set[tuple[Any, ...]]:
    """Of a step's ``writes``, those its code may really make: all but those of a
    method (a function of a class body) whose name the code the step reaches never
    reads, calls or spells as a string (``REG.register(k)``, ``getattr(REG,
    "register")``), other than a dunder (called implicitly). The walk takes a class
    whole, so a step reading a class's registry (``len(REG.items)``) reaches the method
    filling it (``Registry.register``) without calling it: such a step is no fellow
    writer of the state that method changes (``_couple_shared_state``), which would
    have spared it the coupling with the steps that do change it. A function reached
    as a value (in a dict, a list of hooks, a ``partial``, a lambda) counts as called:
    the walk reaches it only through what the step reads."""
    functions = [fn for fn in ctx.keep if type(fn) is types.FunctionType]
    names: set[str] = set()
    for fn in functions:
        _code_names(fn.__code__, names)
    named: set[tuple[Any, ...]] = set()
    unnamed: set[tuple[Any, ...]] = set()
    called: list[Any] = []  # (a method called as a value by name: ``ON(v)``)
    for held, by_name in _held_calls(ctx):
        marks: dict[tuple[Any, ...], str] = {}
        _held_marked(held, marks, ctx)  # (by a key known at run time: it may as well be
        (named if by_name else unnamed).update(marks)  # another of the table's)
        held = _as_function(held)
        if by_name and type(held) is types.MethodType:
            called.append(held.__func__)
    for fn in functions:
        hit = _build_marks.get(id(fn))
        marks = hit[1] if hit is not None and hit[0] is fn else _marks_of(fn, ctx)
        (unnamed if fn is not own and fn not in called and _never_named(fn, names)
         else named).update(marks)
    return {m for m in writes if m in named or m not in unnamed}


def _code_names(code: types.CodeType, out: set[str]) -> None:
    """The names ``code`` (and the code nested in it) reads or calls, globals,
    attributes and locals (a nested helper: ``def log(v): ...; log(1)``), and its string
    constants (a name given to ``getattr``)."""
    out.update(code.co_names, code.co_varnames, code.co_cellvars, code.co_freevars)
    for const in code.co_consts:
        if type(const) is str:
            out.add(const)
        elif type(const) is types.CodeType:
            _code_names(const, out)


def _walked_info(fn: types.FunctionType) -> CodeInfo | None:
    """The facts of ``fn``'s code, if a walk computed them (``_info``)."""
    return _info_cache.get((fn.__code__, True)) or _info_cache.get((fn.__code__, False))


def _changes_nothing(fn: types.FunctionType, info: CodeInfo) -> bool:
    """Whether ``fn`` provably changes no state another step can see, so ``_marks_of``
    has nothing to find: its code (nested code too) names no global, attribute or module
    (empty ``co_names``: it calls no method, reads or sets no attribute, imports
    nothing), it holds no closure or default (which could hold a setter or a
    generator), and its facts say it changes, takes, rebinds or hands on nothing. Most
    small steps (``return a + 1``) are such; each analysis below would find nothing
    in them, one chain at a time."""
    if (info.mutated or info.taken or info.rebound or info.results or info.passed
            or fn.__closure__ is not None or fn.__defaults__ is not None
            or fn.__kwdefaults__ is not None):
        return False
    return not any(code.co_names for code in code_tree(fn.__code__))  # (nested too)


def _marks_of(fn: types.FunctionType, ctx: _Context) -> dict[tuple[Any, ...], str]:
    """What ``fn``'s own code changes (``_state_writes``), as markers."""
    out: dict[tuple[Any, ...], str] = {}
    info = _walked_info(fn)
    if info is None or _changes_nothing(fn, info):
        return out
    _self_changing_calls(fn, info, out, ctx)
    if fn.__closure__ or fn.__defaults__ or fn.__kwdefaults__:
        if info.mutated:
            _held_state_marks(fn, info, out)
        _held_callables_marked(fn, info, out, ctx)
        if fn.__closure__:
            _cells_rebound(fn, info, out)
    _generator_draws(fn, info, out)
    side_state.kept_generator(fn, info, out, _walked_info)
    side_state.settings_set(fn, info, out)
    if info.results:
        _result_marks(fn, info, out, ctx)
    if not info.mutated and not info.taken and not info.rebound:
        return out
    label = ctx.label_of(fn)
    if label is None:
        return out
    globs = fn.__globals__
    mutated = _changed_names(info.mutated, globs)
    _held_items_changed(info, globs, mutated, out)
    if info.taken:
        _taken_marks(info, globs, label, out, mutated)
    for name in info.rebound:  # a lazy value (``Graph.sharing``): ``_CFG``, ``STATE.cfg``
        if name.partition(".")[0] in info.global_names:
            out[("rebound", label, name)] = name
    for name in sorted(mutated & info.global_names):
        value = globs.get(name, _IMMUTABLE)
        if isinstance(value, (types.ModuleType, types.FunctionType, type)):
            if is_a(value, type) and f"{name}[k]" in info.mutated:  # ``Registry.models[
                _class_parts_set(info, name, value, out, ctx)  # name] = v``: its attribute's
            continue  # code: a patch of it is seen as code, by every step that reaches it
        out[("name", label, name)] = name
        if not isinstance(value, _IMMUTABLE):  # (an immutable object, a small int or an
            out[("value", id(value))] = name  # interned str, may be any global's value)
        if f"{name}[k]" in info.mutated or any(  # ``APP.model.w = v``: the object holding
                m.startswith(name + ".") and m.endswith(("[k]", "[*]"))  # it, which another
                for m in info.mutated):  # global may hold (``ls = list(APP.models)``, then
            _set_parts_marked(info, name, value, name, out, ctx)  # ``ls[0].w = v``)
    for dotted in sorted(n for n in mutated if "." in n):  # ``settings.FACTOR = 5``
        base, _, attr = dotted.partition(".")
        owner = globs.get(base) if base in info.global_names else None
        if base == NAMESPACE:  # ``globals()["LR"] = v``: a global of its own module
            out[("module", label) if attr == "*" else ("name", label, attr)] = (
                attr if attr != "*" else f"{NAMESPACE}[...]")  # (a name known at run time)
            held = globs.get(attr) if attr != "*" else None
            if held is not None and not isinstance(held, (
                    _IMMUTABLE, types.ModuleType, types.FunctionType, type)):
                out[("value", id(held))] = attr
        elif type(owner) is types.ModuleType:
            mod_label = ctx.label_of(owner)
            if mod_label is not None:  # (``setattr(settings, name, v)``: any of them)
                out[("module", mod_label) if attr == "*" else ("name", mod_label, attr)] = dotted
                held = owner.__dict__.get(attr) if attr != "*" else None
                if held is not None and not isinstance(held, (
                        _IMMUTABLE, types.ModuleType, types.FunctionType, type)):
                    out[("value", id(held))] = dotted  # (read by another name too)
        elif is_a(owner, type):  # ``Cfg.k = 5``: a class attribute, at run time
            cls_label = ctx.label_of(owner)
            if cls_label is not None:
                out[("class", cls_label, owner.__qualname__) if attr == "*" else
                    ("name", cls_label, f"{owner.__qualname__}.{attr}")] = dotted
        elif owner is not None and base not in mutated and not isinstance(
                owner, (_IMMUTABLE, types.FunctionType)):  # ``REG.names.append(x)``
            out[("name", label, base)] = base
            out[("value", id(owner))] = base
            held = _held_path(owner, attr.split(".")) if attr != "*" else None
            if _holds_state(held):
                out[("value", id(held))] = dotted  # (another global may hold it too)
            if held is not None and not {f"{dotted}[k]", f"{dotted}[*]"}.isdisjoint(
                    info.mutated):  # ``for m in TRAINER.models: m.w = v``: what it holds
                _set_parts_marked(info, base, owner, base, out, ctx)
    return out


def _result_marks(fn: types.FunctionType, info: CodeInfo, out: dict[tuple[Any, ...], str],
                  ctx: _Context) -> None:
    """``get_cfg()["lr"] = v``, ``cfg = load_config(); cfg.lr = v`` (``CodeInfo.results``):
    the code changes what a function it calls returned, which is module-level state
    when the function keeps it: a memo's result (``functools.cache``, ``lru_cache``,
    a memo of yours: ``_keeps_results``), for every step calling it; a global it
    returns (``return CONFIG``; not a copy of one: ``return RAW[mask]``); the instance
    a class's own ``__new__`` or metaclass keeps (a singleton: ``Config().lr = v``);
    what a method returns of its object (``MODEL.history()`` giving ``self.log``);
    through the calls whose results it returns (``return _load()``), each once. Marked
    ``("result", mark)``: every step whose key counts the value reads them
    (``_state_reads``), a step that only makes the value lazily too (a getter's
    ``global _MODEL; _MODEL = Model()``: its own change is a write, which would make the
    two alike, as steps appending to one log). A step changing the value directly and
    one changing it through a call's result are not fellow writers either: the second
    may read what the first left (``e = events(); e.append(0); sum(e)``, a method
    filling its object's cache), and the rules telling a log from a reader (``taken``,
    ``reading_writers``) see names, not results: a log appended to both ways couples."""
    for entry in sorted(info.results):
        chain, _, method = entry.partition(":")  # ``get_tracker().log(v)``: if it changes it
        deep = chain.endswith("[k]")  # (what an item of the result holds changed)
        chain = chain.removesuffix("[k]")
        if _item_view_changed(fn, info, chain, method, out):
            continue
        handed = _handed_out_by(_resolved(chain, fn, None), set(), items=deep)
        taking = chain in info.results_taken  # (it reads what others left there too)
        if method:
            changed = [got for got in handed if _changed_by_method(got, method)]
            if not changed:
                continue
            _reached_marks(changed, method, f"{chain}()", out, ctx)
            taking = taking or (not deep and _reads_back(chain, changed, info, ctx))
        else:  # ``APP.get_model().w = v``: the object itself, which another global may
            _reached_marks([got for got in handed if got[0] is not None], SET_ITEM,  # hold
                           f"{chain}()", out, ctx)
        found: dict[tuple[Any, ...], str] = {}
        _result_marks_of(chain, fn, found, ctx, _Follow(deep=deep))
        for mark, name in found.items():
            out[("result", mark)] = name
            if taking:
                out[("taken", ("result", mark))] = name


def _reads_back(chain: str, changed: list[tuple[Any, type]], info: CodeInfo, ctx: _Context
                ) -> bool:
    """Whether the methods the code calls on what ``chain``'s call hands out (``changed``,
    which one of them changes) read back what they change by what it holds, as the
    object-taker rule asks of a global's (``_object_takers``): ``get_tracker().log(v)``
    then ``get_tracker().total()``, summing what ``log`` appends, also on an object it
    holds (``get_app().tracker.log(v)``); or the attributes the code reads there
    (``sum(get_tracker().items)``: ``CodeInfo.result_reads``), a property's getter
    followed."""
    calls = sorted({tuple(m.split(".")) for e in info.results
                    for c, _, m in [e.partition(":")]
                    if c == chain and m and all(p.isidentifier() for p in m.split("."))})
    read = sorted(tuple(e.partition(":")[2].split(".")) for e in info.result_reads
                  if e.partition(":")[0] == chain)
    objects = [obj for obj, _ in changed if _holds_state(obj)]
    if calls and not objects:  # ``return Counter()`` kept by ``lru_cache``: made on first
        # use, followed on a stand-in, which holds nothing: its own methods only
        objects = [s for _, cls in changed for s in [_stand_in(cls)] if s is not None]
        calls = [c for c in calls if len(c) == 1]
        read = [p for p in read if len(p) == 1]
    if not calls or not objects:
        return False
    shown = f"{chain}()"
    takes = _Takes(ctx.keep)
    for obj in objects:
        for *where, method in calls:
            takes._called(obj, shown, tuple(where), method, True)
        for path in read:
            takes.record(obj, shown, path, read=True)
            takes._property_read(obj, shown, path[:-1], path[-1])
    return bool(takes.taken())


def _stand_in(cls: Any) -> Any:
    """An instance of ``cls`` made without running any of its code (no ``__new__`` or
    ``__init__`` of the user's: ``object.__new__``), for the object-taker rule to follow
    the methods called on an object a getter makes on first use, which does not exist
    at build: what they change and read of ``self`` is told by their code alone. None
    for a class whose instances cannot be made so (a builtin's layout, an abstract
    class) or that has a ``__del__`` (it would run on the stand-in)."""
    if not is_a(cls, type) or inspect.getattr_static(cls, "__del__", None) is not None:
        return None
    try:
        return object.__new__(cls)
    except Exception:
        return None


def _reached_marks(changed: list[tuple[Any, type]], method: str, shown: str,
                   out: dict[tuple[Any, ...], str], ctx: _Context) -> None:
    """Mark the objects a method call changes at the end of a path through what a call
    handed out (``changed``: those ``_changed_by_method`` says it changes): the object
    itself (``get_app().get_model().train(v)``: the model, which another global may
    hold too), besides the call's kept result the caller marks."""
    *path, last = method.split(".")
    for got in changed:
        for value, cls in _along([got], path) if path else [got]:
            if value is not None and (last == SET_ITEM or _method_of_changes(value, cls, last)):
                where = shown + "".join("." + p for p in path)
                _object_mark(value, where, out, ctx)
                own = _own_method(value, last) if last != SET_ITEM else None
                if own is not None:  # (``get_app().train(v)``: what it changes through
                    _held_parts_marked(value, own, where, out, ctx, set())  # ``self``)


def _item_view_changed(fn: types.FunctionType, info: CodeInfo, chain: str, method: str,
                       out: dict[tuple[Any, ...], str]) -> bool:
    """``_C.setdefault("t", Tracker()).log(v)``, ``_C.get("t").w = v``: what an item of a
    global dict holds, or one the call puts there, changed. Marked as a change of a
    call's result: a step reading the item by ``setdefault`` too, which is a change of
    the dict (a fellow writer, as steps filling one memo), still reads what this one
    changed. Whether ``chain`` is such a view (else the caller goes on)."""
    head, _, view = chain.rpartition(".")
    if view not in ("get", "setdefault") or "." in head or head not in info.global_names:
        return False
    container = fn.__globals__.get(head)
    if not isinstance(container, dict):
        return False
    got = _held_values(container) + _made_on_first_use(fn, info, head, None, item=True)
    if not method or any(_changed_by_method(g, method) for g in got):
        out[("result", ("value", id(container)))] = head
    return True


def _resolved(chain: str, fn: types.FunctionType, owner: Any) -> Any:
    """What ``chain`` names in ``fn``'s code (``_static_chain``); ``self.x`` in a method
    of ``owner``'s, on it."""
    head, _, rest = chain.partition(".")
    if owner is not None and head in fn.__code__.co_varnames[:1]:
        # (``return cls()`` in a classmethod: the class it is called on)
        return _static_path(owner, rest.split(".")) if rest else owner
    return _static_chain(tuple(chain.split(".")), fn.__globals__)


def _handed_out_by(obj: Any, seen: set[tuple[int, int]], items: bool = False
                   ) -> list[tuple[Any, type]]:
    """What calling ``obj`` hands out, as far as the build sees without running code:
    (the object, its class) for a global it returns or its own object or a part of it
    (``return self.t``), or a value a global container of its holds (``return
    _CACHE["t"]``), (None, the class) for an instance of a class it makes (``return
    Tracker()``, kept by a memo) or binds on first use (``_made_on_first_use``),
    through the calls it returns (each function once: ``seen``). With ``items``, what
    an item of the result is (``t, _ = get_ctx()``): a global a new tuple or list it
    returns holds (``return TRACKER, cfg``), a value of a container it returns."""
    if is_a(obj, type):
        return [] if items else [(None, obj)]
    owner = None
    obj = _as_function(obj)  # (``functools.partial(get, "main")``, ``PROVIDER()``)
    if type(obj) is types.MethodType:
        owner, obj = obj.__self__, obj.__func__
    for _ in range(16):  # through decorators (``functools.wraps``, ``lru_cache``)
        inner = _attr(obj, "__wrapped__")
        if inner is None:
            break
        obj = inner
    info = _walked_info(obj) if type(obj) is types.FunctionType else None
    if info is None or (id(obj), id(owner)) in seen or len(seen) > 64:
        return []
    seen.add((id(obj), id(owner)))
    out: list[tuple[Any, type]] = []
    for root in sorted(info.returned):
        if root.startswith(RESULT):
            call, held, path = root[len(RESULT):].partition("()")
            got = _handed_out_by(_resolved(call.partition("[")[0], obj, owner), seen,
                                 items and not held)
            if held:  # ``t = get_app().tracker; return t``: what it holds there
                got = _along(got, path[1:].split("."))
                got = [x for v, _ in got for x in _held_values(v)] if items else got
            out += got
            continue
        base, _, kind = root.partition("[")
        whole = kind[:1] == "i" if items else not kind  # (``i``: held by a new tuple)
        if not whole and (items == (kind[:1] in ("k", "*"))):
            continue  # (an item's item; a new list of a slice's or a copy's items)
        head, *attrs = base.split(".")
        if owner is not None and head in obj.__code__.co_varnames[:1]:
            got = _static_path(owner, attrs)
        elif head in info.global_names:
            got = _static_path(obj.__globals__.get(head), attrs)
        else:
            continue
        if not whole:  # a value it holds
            out += _held_values(got) + _made_on_first_use(obj, info, base, owner, seen,
                                                          item=True)
            continue
        if items:  # (``[i]``: a new tuple holding it, or a new list of its items:
            out += _held_values(got)  # ``return list(TRACKERS)``)
        if got is None and not items:
            out += _made_on_first_use(obj, info, base, owner, seen)  # (not made yet)
        elif got is not None and not issubclass(type(got), (types.ModuleType, *_IMMUTABLE)):
            out.append((got, type(got)))
    return out


def _as_function(obj: Any) -> Any:
    """What calling ``obj`` runs, for ``_handed_out_by``: a ``functools.partial``'s
    function (its arguments aside), an instance's ``__call__`` of the user's bound to
    it; ``obj`` itself otherwise."""
    for _ in range(8):
        if not is_a(obj, functools.partial):
            break
        obj = obj.func
    if obj is None or is_a(obj, (types.FunctionType, types.MethodType, type)):
        return obj
    call = _static_attr(type(obj), "__call__")
    return types.MethodType(call, obj) if type(call) is types.FunctionType else obj


def _held_path(obj: Any, attrs: Sequence[str]) -> Any:
    """``obj.a.b`` as ``_static_path`` finds it, and through a property of the user's
    that hands out one object it holds (``return self._tracker``: ``_handed_out_by``)."""
    seen: set[tuple[int, int]] = set()
    for attr in attrs:
        nxt = _static_path(obj, (attr,))
        if nxt is None and obj is not None:
            raw = _static_attr(type(obj), attr) if not isinstance(obj, type) else None
            if is_a(raw, property) and type(raw.fget) is types.FunctionType:
                got = {id(v): v for v, _ in _handed_out_by(types.MethodType(raw.fget, obj),
                                                           seen) if v is not None}
                nxt = next(iter(got.values())) if len(got) == 1 else None
        if nxt is None:
            return None
        obj = nxt
    return obj


def _contents(container: Any) -> list[Any]:
    """The values a dict, list, tuple or set holds, read by the builtin type's own
    methods (a subclass's ``values`` or ``__iter__`` may run code: a lazy mapping loading
    what it holds); nothing for another object (an array's items are no objects of the
    user's)."""
    kind = type(container)  # (not ``isinstance``: a proxy's ``__class__`` may raise)
    if issubclass(kind, dict):
        return list(dict.values(container))
    base = next((b for b in (list, tuple, set, frozenset) if issubclass(kind, b)), None)
    return [] if base is None else list(base.__iter__(container))


def _held_values(container: Any) -> list[tuple[Any, type]]:
    """What a container holds (``_contents``), as ``_handed_out_by`` gives it: each value
    with its class, by class alone past 64 of them."""
    kept = [v for v in _contents(container)
            if not issubclass(type(v), (types.ModuleType, *_IMMUTABLE))]
    if len(kept) > 64:
        return [(None, cls) for cls in {type(v) for v in kept}]
    return [(v, type(v)) for v in kept]


def _made_on_first_use(fn: types.FunctionType, info: CodeInfo, target: str, owner: Any,
                       seen: set[tuple[int, int]] | None = None, item: bool = False
                       ) -> list[tuple[Any, type]]:
    """What a getter binds on first use to ``target``, a global or an attribute of its
    own object or class (``global _M; if _M is None: _M = Model()``; ``cls._instance =
    cls()``), or with ``item`` puts into it (``_CACHE["t"] = Tracker()``,
    ``_CACHE.setdefault("t", Tracker())``), as ``_handed_out_by`` gives it: an instance
    of a class, or what a function of yours making it hands out (``_M = make()``,
    ``_CACHE[k] = Tracker.create()``), also through a local (``t = Tracker(); _CACHE[k]
    = t``)."""
    if not (any(name_of(m) == name_of(target) for m in info.mutated) if item
            else target in info.rebound):  # (``cls._made[k] = T()`` is a change of ``cls``)
        return []
    tree = info.tree()
    want = tuple(target.split("."))
    me = fn.__code__.co_varnames[:1]
    nodes = list(ast.walk(tree)) if tree is not None else []
    made_locally: dict[str, list[ast.Call]] = {}  # ``t = Tracker()``: what a local holds
    for node in nodes:
        if type(node) is ast.Assign and type(node.value) is ast.Call:
            for t in node.targets:
                if type(t) is ast.Name:
                    made_locally.setdefault(t.id, []).append(node.value)
    out: list[tuple[Any, type]] = []
    for node in nodes:
        for made_by in _put_by(node, want, item, made_locally):
            chain = chain_of(made_by.func)
            if chain is None:
                continue
            made = _static_path(owner, chain[1:]) if owner is not None and chain[0] in me else (
                _static_chain(chain, fn.__globals__))
            if is_a(made, type):
                out.append((None, made))
            elif made is not None:  # a factory: what it hands out
                out += _handed_out_by(made, seen if seen is not None else set())
    return out


def _put_by(node: ast.AST, target: tuple[str, ...], item: bool,
            made_locally: Mapping[str, list[ast.Call]]) -> list[ast.Call]:
    """The calls whose result ``node`` binds to ``target`` (``T = Tracker()``), or with
    ``item`` puts into it (``T["k"] = Tracker()``, ``T.setdefault("k", Tracker())``),
    directly or through a local those calls' results were bound to (``made_locally``)."""
    value: ast.AST | None = None
    if type(node) is ast.Assign and any(
            chain_of(t.value if item and type(t) is ast.Subscript else t) == target
            and (type(t) is ast.Subscript) == item for t in node.targets):
        value = node.value
    elif item and type(node) is ast.Call and len(node.args) == 2 and chain_of(
            node.func) == (*target, "setdefault"):
        value = node.args[1]
    if type(value) is ast.Call:
        return [value]
    return made_locally.get(value.id, []) if type(value) is ast.Name else []


def _changed_by_method(got: tuple[Any, type], method: str) -> bool:
    """Whether calling ``method`` on a handed-out object (``_handed_out_by``) changes
    it: a method of the user's changing its ``self``; on an object it holds
    (``tracker.log``), or one of those an attribute's container holds
    (``trackers[k].log``)."""
    if not _sharing() or "." not in method:
        return _reached_changed(got, method)
    key = ("method", id(got[0]), got[1], method)  # (every step calling it asks again, and
    hit = _changes_memo.get(key)  # a path through items reaches thousands of objects)
    if hit is not None and hit[1] is got[0]:
        return hit[2]
    answer = _reached_changed(got, method)
    _changes_memo[key] = (None, got[0], answer)
    return answer


def _reached_changed(got: tuple[Any, type], method: str) -> bool:
    """``_changed_by_method``'s answer, worked out."""
    *path, method = method.split(".")
    if method == SET_ITEM:  # (an item or attribute set on what the path reaches)
        return bool(_along([got], path))
    return any(_method_of_changes(value, cls, method) for value, cls in _along([got], path))


def _method_of_changes(value: Any, cls: type, method: str) -> bool:
    """Whether calling ``method`` on ``value`` (an instance of ``cls``; None: not made
    yet) changes it: a method of the user's by its code, a library's named like a change
    by what the value is (``_method_changes``: a list's ``append`` does, a frame's
    ``add`` does not)."""
    if _changes_self(value, cls, method):
        return True
    return method in MUTATORS and value is not None and _method_changes(value, method)


def _along(reached: list[tuple[Any, type]], path: Sequence[str]) -> list[tuple[Any, type]]:
    """What the objects ``reached`` hold along ``path`` (``tracker``, ``trackers[k]``:
    each value of the container an attribute holds), found without running code."""
    for part in path:
        attr, item = part.removesuffix("[k]"), part.endswith("[k]")
        if attr.endswith("()"):  # ``get_tracker()``: what that method of each hands out
            got = [x for v, c in reached for x in _method_hands_out(v, c, attr[:-2])]
            reached = [x for v, _ in got if v is not None for x in _held_values(v)] if (
                item) else got  # (``for t in app.get_trackers()``: each item of it)
            continue
        held = [_held_path(v, (attr,)) for v, _ in reached if v is not None]
        made = [_made_in_init(c, attr) for v, c in reached if v is None and not item]
        reached = [x for h in held for x in _held_values(h)] if item else [
            (h, type(h)) for h in held
            if h is not None and not isinstance(h, (types.ModuleType, *_IMMUTABLE))]
        # an instance not made yet (a memo's, empty at build): what its ``__init__`` puts
        # there; what it will hold in a container is not known
        reached += [(None, c) for c in made if c is not None]
    return reached


def _method_hands_out(value: Any, cls: type, method: str) -> list[tuple[Any, type]]:
    """What calling ``method`` on ``value`` (an instance of ``cls``; None: one not made
    yet) hands out (``_handed_out_by``), for a method of the user's; for an instance not
    made yet, the parts of it the method returns (``return self.tracker``) as its
    ``__init__`` makes them (``_made_in_init``)."""
    raw = _static_attr(cls, method)
    fn = _method_function(raw)
    if fn is None:
        return []
    info = _walked_info(fn)
    if value is not None:
        kept = _keeps_results(raw)
        if not kept and _makes_new(fn, value, set()):
            return []  # (``return self._make()``, ``return make_model()``: a new one)
        got = _handed_out_by(types.MethodType(fn, value), set())
        if kept or info is None:
            return got
        # an instance of a class it makes in its return statement is a new one at each
        # call (``return Run()``), nothing another step reads (a memo's kept one: above)
        new = {c for r in info.returned if r.startswith(RESULT) and "(" not in r[len(RESULT):]
               and is_a(c := _resolved(r[len(RESULT):].partition("[")[0], fn, value), type)}
        return [(v, c) for v, c in got if v is not None or c not in new]
    me = fn.__code__.co_varnames[:1]
    made = [_made_in_init(cls, r.partition(".")[2]) for r in info.returned
            if name_of(r) in me and r.count(".") == 1 and "[" not in r] if info else []
    return [(None, c) for c in made if c is not None]


def _makes_new(fn: types.FunctionType, owner: Any, seen: set[int], depth: int = 0) -> bool:
    """Whether ``fn`` (a method of ``owner``'s, or a function: ``owner`` None) returns a
    new object at every call: each of its returns an instance it makes (``return
    Model()``), a copy (``copy.copy``, ``copy.deepcopy``), or what such a function of the
    user's returns (``return self._make()``, ``return make_model()``, a few calls deep);
    not a memo's (its caller checks ``_keeps_results``). False when anything else may
    come back (a global, a part of ``self``, a local)."""
    info = _walked_info(fn)
    if info is None or not info.returned or depth > 4 or id(fn) in seen:
        return False
    seen.add(id(fn))
    for root in info.returned:
        call = root[len(RESULT):].partition("[")[0] if root.startswith(RESULT) else ""
        if not call or "(" in call:
            return False  # (not a call's result, or a part of one)
        made = _resolved(call, fn, owner)
        copies = sys.modules.get("copy")  # (loaded by the code calling it: not imported here)
        if is_a(made, type) or (copies is not None and (
                made is copies.copy or made is copies.deepcopy)):
            continue
        inner, bound = made, None
        if type(inner) is types.MethodType:
            bound, inner = inner.__self__, inner.__func__
        if type(inner) is not types.FunctionType or _keeps_results(made) or not _makes_new(
                inner, bound, seen, depth + 1):
            return False
    return True


def _changes_self(value: Any, cls: type, method: str) -> bool:
    meth = _method_function(inspect.getattr_static(cls, method, None))
    return meth is not None and _takes_self(meth) and _changes_parameter(meth, 0, value,
                                                                           cls=cls)


def _takes_self(meth: types.FunctionType) -> bool:
    """Whether ``meth`` (through the wrappers ``_wrapped`` sees) is given its instance:
    a first parameter, or ``*args`` (a wrapper handing them on)."""
    code = _wrapped(meth).__code__
    return code.co_argcount > 0 or bool(code.co_flags & inspect.CO_VARARGS)


def _method_function(raw: Any) -> types.FunctionType | None:
    """The function that runs, with the instance first, for ``raw``, a class's
    attribute: a function, or the one function a decorator object holds (``@Timed def
    log(self, v)``: a class-based decorator binding its instance by ``__get__``, found
    by its ``__wrapped__`` (``functools.update_wrapper``) or as the only function among
    its attributes); None for anything else (a classmethod, a staticmethod, a
    property: no instance first)."""
    if type(raw) is types.FunctionType:
        return raw
    if raw is None or is_a(raw, (type, classmethod, staticmethod, property)):
        return None
    if _static_attr(type(raw), "__get__") is None:
        return None  # (not bound to the instance: never called with it)
    own = _own_dict(raw)
    inner = own.get("__wrapped__")
    if type(inner) is types.FunctionType:
        return inner
    held = [v for v in own.values() if type(v) is types.FunctionType]
    return held[0] if len(held) == 1 else None


def _wrapped(fn: types.FunctionType) -> types.FunctionType:
    """The function a decorator's wrapper (a decorator of yours: timing, logging,
    retrying) calls, through several: what runs with the caller's arguments. Found by
    ``__wrapped__`` (``functools.wraps``), or, for a wrapper without it that hands its
    ``*args`` on, as the one function its closure holds (``def wrapper(*args, **kw):
    return f(*args, **kw)``)."""
    seen = {id(fn)}
    for _ in range(16):
        inner = _attr(fn, "__wrapped__")
        if inner is None:
            inner = _forwarded_to(fn)
        if type(inner) is not types.FunctionType or id(inner) in seen:
            break  # (a cycle of ``__wrapped__``: where it closes)
        seen.add(id(inner))
        fn = inner
    return fn


def _forwarded_to(fn: types.FunctionType) -> types.FunctionType | None:
    """The function a wrapper without ``functools.wraps`` hands its arguments to: one
    taking ``*args`` whose closure holds exactly one function (the decorated one)."""
    held = _closure_functions(fn)
    return held[0] if len(held) == 1 else None


def _closure_functions(fn: types.FunctionType) -> list[types.FunctionType]:
    """The functions the closure of ``fn``, a wrapper taking ``*args``, holds (but
    itself: ``wrapper.calls += 1``) that it hands its ``*args`` on to (``f(*args,
    **kwargs)``; not a callback given something else: ``hook(out)``); all of them when
    its text cannot be read."""
    code = fn.__code__
    if not code.co_flags & inspect.CO_VARARGS or not fn.__closure__:
        return []
    held = {name: v for name, v in zip(code.co_freevars, map(cell_value, fn.__closure__),
                                       strict=False)
            if type(v) is types.FunctionType and v is not fn}
    info = _walked_info(fn)
    tree = info.tree() if info is not None and len(held) > 1 else None
    if tree is None:
        return list(held.values())
    star = code.co_varnames[code.co_argcount + code.co_kwonlyargcount]
    called = {node.func.id for node in ast.walk(tree) if type(node) is ast.Call
              and type(node.func) is ast.Name and node.func.id in held and any(
                  type(a) is ast.Starred and type(a.value) is ast.Name and a.value.id == star
                  for a in node.args)}
    return [v for name, v in held.items() if name in called]


def _callee(fn: types.FunctionType, chain: tuple[str, ...]) -> Any:
    """What ``chain``, called in ``fn``, names: a global's (``resolve_chain``), or a
    closure variable's (``def wrapper(self, v): return f(self, v)``: the decorated
    function)."""
    code = fn.__code__
    if chain[0] in code.co_freevars and fn.__closure__:  # (read statically: a property
        cells = dict(zip(code.co_freevars, fn.__closure__, strict=False))  # may raise)
        return _static_path(cell_value(cells[chain[0]]), chain[1:])
    return resolve_chain(chain, fn.__globals__)


@struct
class _Follow:
    """How ``_result_marks_of`` follows a call's result: the call named in the marks
    (``shown``), whether what changed is what an item of the result holds (``deep``:
    a new tuple or list of globals changes only so), the functions already followed."""

    shown: str = ""
    deep: bool = False
    seen: set[tuple[int, int]] | None = None


def _result_marks_of(chain: str, fn: types.FunctionType, found: dict[tuple[Any, ...], str],
                     ctx: _Context, how: _Follow, owner: Any = None) -> None:
    """The marks of what ``chain()``, called in ``fn`` (a method of ``owner``'s), hands
    out, when it keeps it (``_result_marks``); through the calls whose results it
    returns (``return _load()``, ``return self._load()``), each function once, each
    mark named by the first call (``how.shown``)."""
    head, _, rest = chain.partition(".")
    via_self = owner is not None and bool(rest) and head in fn.__code__.co_varnames[:1]
    if via_self:  # ``self._load()``, in a method
        obj = _static_path(owner, rest.split("."))
    else:
        obj = _static_chain(tuple(chain.split(".")), fn.__globals__)
    if not how.shown:
        how = _Follow(chain, how.deep, set())
    shown = how.shown
    if isinstance(obj, type):
        if _keeps_instances(obj):
            _object_mark(obj, f"{shown}() (the instance it keeps)", found, ctx)
        return
    owner = None
    if type(obj) is types.MethodType:  # an object's or a class's method
        owner, obj = obj.__self__, obj.__func__
    kept = False
    for _ in range(16):  # through decorators (``functools.wraps``) to the function
        kept = kept or _keeps_results(obj)
        inner = _attr(obj, "__wrapped__")
        if inner is None:
            break
        obj = inner
    if kept:  # every caller reads its memo (the function, or a memo object of yours)
        found[("value", id(obj))] = f"{shown}() (its cached result)"
    if type(obj) is not types.FunctionType:  # (a partial's function, an instance's
        obj = _as_function(obj)  # ``__call__``)
        if type(obj) is types.MethodType:
            owner, obj = obj.__self__, obj.__func__
    seen = how.seen if how.seen is not None else set()
    if type(obj) is not types.FunctionType or (id(obj), id(owner)) in seen or len(seen) > 64:
        return
    seen.add((id(obj), id(owner)))
    called = _walked_info(obj)
    for root in sorted(called.returned) if called is not None else ():
        if root.startswith(RESULT):  # ``return _load()``: what that call hands out
            _result_marks_of(root[len(RESULT):].partition("[")[0].partition("(")[0], obj,
                             found, ctx, how, owner)  # (``()get_app().tracker``: all it gives)
        elif owner is not None and name_of(root) in obj.__code__.co_varnames[:1]:
            if _held_apart(owner, root, how.deep):
                continue
            whose = (shown if via_self else chain).rpartition(".")[0]
            _object_mark(owner, f"{shown}() (a part of {whose})", found, ctx)  # ``return self.w``
        elif called is not None:
            _returned_mark(obj, called, root, found, ctx, how.deep)


def _static_chain(chain: tuple[str, ...], globs: Mapping[str, Any]) -> Any:
    """What ``a.b.c`` names, found without running code of the user's (no property, no
    ``__getattr__``): a method of an object or class bound to it; None for what only
    running code would tell."""
    return _static_path(globs.get(chain[0]), chain[1:])


def _static_path(obj: Any, attrs: Sequence[str]) -> Any:
    """``obj.a.b`` as ``_static_chain`` finds it."""
    for attr in attrs:
        if obj is None:
            return None
        if type(obj) is types.ModuleType:
            obj = obj.__dict__.get(attr)
            continue
        try:
            raw = inspect.getattr_static(obj, attr)
        except Exception:
            return None
        # (``is_a``: a proxy's ``__class__`` runs its code, which may raise)
        kind, is_class = type(raw), is_a(obj, type)
        if is_a(raw, staticmethod):
            obj = raw.__func__
        elif is_a(raw, classmethod):
            obj = types.MethodType(raw.__func__, obj if is_class else type(obj))
        elif not is_class and attr not in _own_dict(obj) and (
                kind is types.FunctionType or is_a(raw, functools._lru_cache_wrapper)):
            obj = types.MethodType(raw, obj)  # a method, bound as the call binds it
        elif (kind is types.MemberDescriptorType or kind is _TUPLE_FIELD) and not is_class:
            try:  # a ``__slots__`` one, a named tuple's field: read in C, no code of the
                # user's runs
                obj = raw.__get__(obj, type(obj))
            except Exception:
                return None  # (not set yet)
        elif hasattr(kind, "__get__") and not is_a(raw, (types.FunctionType, type)):
            return None  # a property, another descriptor: what it gives is computed
        else:
            obj = raw
    return obj


try:  # a named tuple's field (CPython's, read in C)
    from _collections import _tuplegetter as _TUPLE_FIELD
except ImportError:  # pragma: no cover - (another Python: none is read)
    _TUPLE_FIELD = type("_NoField", (), {})


def _static_attr(obj: Any, name: str) -> Any:
    """``obj.name`` as found in its own or its class's dict, without running a
    ``__getattr__`` (one that makes a new object for any name would be followed
    forever) or a property; None when absent."""
    try:
        return inspect.getattr_static(obj, name, None)
    except Exception:
        return None


def _own_dict(obj: Any) -> Mapping[str, Any]:
    try:
        d = object.__getattribute__(obj, "__dict__")
    except Exception:
        return {}
    return d if isinstance(d, Mapping) else {}


def _keeps_results(wrapper: Any) -> bool:
    """Whether ``wrapper`` (a decorator's function or object around a function) keeps
    what the function returns for a later call: ``functools.cache``/``lru_cache``, an
    object with a ``cache`` mapping (cachetools' ``cached``, a memo class of yours), a
    function of yours storing the wrapped function's result in its closure
    (``store[key] = fn(*args)``, ``return store[key]``, a ``nonlocal`` it returns). Not a
    timing, counting or retrying wrapper's stats, nor joblib's ``Memory.cache`` (it
    loads a copy at each call)."""
    if isinstance(wrapper, functools._lru_cache_wrapper) or isinstance(
            _attr(wrapper, "cache"), Mapping):
        return True
    if type(wrapper) is not types.FunctionType and any(
            isinstance(_attr(wrapper, n), Mapping) for n in _MEMO_ATTRIBUTES):
        return _hands_out_its_store(wrapper)  # (a memo class of yours: by its ``__call__``)
    if type(wrapper) is not types.FunctionType or library_file(wrapper.__code__.co_filename):
        return False  # (a library's function wrapper: ``backoff``'s, ``tenacity``'s)
    code = wrapper.__code__
    free = set(code.co_freevars)  # and a module's dict it stores in (``_MEMO[key] = ...``)
    held = free | {n for n in code.co_names
                   if issubclass(type(wrapper.__globals__.get(n)), Mapping)}
    info = _walked_info(wrapper)
    tree = info.tree() if info is not None and held else None
    if tree is None:  # (nothing in a closure; no source: by what its closure holds)
        return bool(free) and info is None and any(
            isinstance(cell_value(c), (Mapping, list)) for c in wrapper.__closure__ or ())
    return side_state.stores_results(tree, held)


_MEMO_ATTRIBUTES = ("_cache", "memo", "_memo")  # a memo object's store, by name


def _hands_out_its_store(obj: Any) -> bool:
    """Whether an object's ``__call__`` (a class of yours) returns what it reads out of
    its own attributes (``return self._cache[key]``): a memo; not one keeping compiled
    patterns there and returning a new list. Not walked: as if it did."""
    call = inspect.getattr_static(type(obj), "__call__", None)
    if type(call) is not types.FunctionType:
        return True
    info = _walked_info(call)
    tree = info.tree() if info is not None else None
    return tree is None or side_state.stores_results(tree, set(call.__code__.co_varnames[:1]))


def _object_mark(obj: Any, name: str, out: dict[tuple[Any, ...], str], ctx: _Context) -> None:
    """Mark ``obj`` as changed in place: a class by its attributes too (what its readers
    read); not a module (a change of its attribute: ``_marks_of``'s), nor an immutable
    value."""
    if is_a(obj, (types.ModuleType, *_IMMUTABLE)):  # (a proxy's ``__class__`` may raise)
        return
    out[("value", id(obj))] = name
    label = ctx.label_of(obj) if is_a(obj, type) else None
    if label is not None:
        out[("class", label, obj.__qualname__)] = name


def _returned_mark(fn: types.FunctionType, info: CodeInfo, root: str,
                   out: dict[tuple[Any, ...], str], ctx: _Context, deep: bool) -> None:
    """Mark the global ``root`` (``X``, ``X.a``, ``X[k]``) that ``fn`` returns (a part
    of), as changed: ``("name", ...)`` and its value's ``("value", id)``, as a step
    changing it itself (``_marks_of``); an attribute of a module of yours by that
    module's name. Not when the part is a copy (``RAW[mask]``: ``_counts_as_change``),
    nor held by a new list or tuple whose own change it was (``_apart``)."""
    base, _, kind = root.partition("[")
    head, _, attr = base.partition(".")
    if head not in info.global_names:
        return  # (a parameter, a local)
    value = fn.__globals__.get(head, _IMMUTABLE)
    label = ctx.label_of(fn)
    try:
        value.__class__  # noqa: B018 - a proxy's runs code, and may raise (``_unreadable``)
    except Exception:
        return
    if type(value) is types.ModuleType:  # ``return settings.CONFIG``
        label, head = ctx.label_of(value), attr.partition(".")[0]
        if not head:
            return
        value, attr = value.__dict__.get(head, _IMMUTABLE), attr.partition(".")[2]
    elif isinstance(value, types.FunctionType):
        return  # code: a patch of it is seen as code
    part = value
    if attr:  # ``return STATE.cfg[...]``: the item is of what ``STATE.cfg`` holds
        try:
            part = inspect.getattr_static(value, attr.partition(".")[0])
        except Exception:
            part = None
        if hasattr(type(part), "__get__") and not isinstance(part, (types.FunctionType, type)):
            part = value  # a property's (pandas' ``DF.iloc``): told by its object's kind
    if kind and part is not None and (not _counts_as_change(part, kind[0]) or _apart(
            part, kind[0], deep)):
        return
    if not kind and part is not None and isinstance(part, _PLAIN_VALUES):
        return  # (a number, a string: nothing changes it in place; None: made later)
    if label is not None:
        out[("name", label, head)] = head
    _object_mark(value, head, out, ctx)  # (``return Registry``: its class attributes too)


def _held_apart(owner: Any, root: str, deep: bool) -> bool:
    """Whether a change of what a method returns (``root``, a part of ``self``) leaves
    ``owner`` as it was: ``self.x[i]`` held by a new tuple or list (``return [v,
    self.seed]``) unless what an item holds changed (``deep``) and it is not a number;
    a list's slice ``self.x[s]`` unless its items changed and are not all scalars (an
    array's slice is a view: a change of it is the array's)."""
    base, _, kind = root.partition("[")
    if not kind:
        return False
    part = _static_path(owner, base.split(".")[1:])
    return _apart(part, kind[0], deep)


def _apart(part: Any, kind: str, deep: bool) -> bool:
    """For ``_held_apart`` and ``_returned_mark``: ``part`` held by a new container a
    function returns (``kind`` ``i``) or sliced (``s``), and the change of the result
    shallow or ``deep``."""
    if kind == "i" or kind == "c":  # (``c``: a shallow copy, ``return CONFIG.copy()``)
        return not deep or isinstance(part, _PLAIN_VALUES)
    if kind == "s":
        return _copied_by_slices(part) and (not deep or not isinstance(
            part, (list, tuple)) or _all_scalars(part))
    return False


def _property_getter(cls: type, name: str) -> types.FunctionType | None:
    """The getter function of ``cls``'s property ``name``, or None."""
    raw = inspect.getattr_static(cls, name, None)
    getter = raw.fget if isinstance(raw, property) else None
    return getter if type(getter) is types.FunctionType else None


def _class_method(cls: type, name: str) -> types.FunctionType | None:
    """The function of ``cls``'s classmethod ``name`` (called with the class first),
    or None."""
    raw = inspect.getattr_static(cls, name, None)
    return raw.__func__ if isinstance(raw, classmethod) and type(
        raw.__func__) is types.FunctionType else None


def _own_method(obj: Any, name: str) -> Any:
    """``obj``'s method ``name``, a function of its class or the one a decorator object
    there holds (``_method_function``; None otherwise)."""
    return _method_function(inspect.getattr_static(type(obj), name, None))


def _hands_out_itself(method: Any, deep: bool, seen: set[int]) -> bool:
    """Whether ``method``, bound to an object, returns (a part of) that object
    (``return self.config``), also through another of its methods (``return
    self._load()``): a change of what it returns is one of the object's; of a new dict
    or list of its parts (``return {"lr": self.lr}``), only a change of what an item
    holds (``deep``)."""
    if type(method) is not types.MethodType or type(method.__func__) is not types.FunctionType:
        return False
    fn = method.__func__
    info = _walked_info(fn)
    if info is None or id(fn) in seen or len(seen) > 64:
        return False
    seen.add(id(fn))
    me = fn.__code__.co_varnames[:1]
    for root in info.returned:
        if not root.startswith(RESULT):
            if name_of(root) in me and not _held_apart(method.__self__, root, deep):
                return True
            continue
        head, _, rest = root[len(RESULT):].partition("[")[0].partition(".")
        if head in me and rest and _hands_out_itself(
                _static_path(method.__self__, rest.split(".")), deep, seen):
            return True
    return False


def _keeps_instances(cls: type) -> bool:
    """Whether calling ``cls`` may give an instance made before (a singleton): a
    ``__new__`` of a class of yours in its MRO, or a ``__call__`` of a metaclass of
    yours, that returns what its class or module keeps (``return cls._made``,
    ``return _INSTANCES[cls]``); one the build did not walk may. (Not one that counts
    its instances, ``cls._count += 1``, or makes a view: a new object each call.)"""
    meta: type = type(cls)
    for owner, name in ((cls, "__new__"), (meta, "__call__")):
        for c in owner.__mro__:
            fn = vars(c).get(name)
            fn = getattr(fn, "__func__", fn)  # (``__new__``: a staticmethod)
            if fn is None or not maybe_users(c):
                continue
            info = _walked_info(fn) if type(fn) is types.FunctionType else None
            if info is None:
                return True
            state = {*fn.__code__.co_varnames[:1], *info.global_names}  # (``cls``, globals)
            if any(name_of(r) in state for r in info.returned):
                return True
    return False


def _changed_names(mutated: frozenset[str], globs: Mapping[str, Any]) -> frozenset[str]:
    """``CodeInfo.mutated`` as names (``X``, ``X.a``): an entry changed through an item
    (``X[k]``, ``X[*]``: ``code_analysis._root_name``) counts as ``X`` when a change of
    such an item is one of ``X``'s (``_counts_as_change``), by ``X``'s value now."""
    if not any(m.endswith("]") for m in mutated):
        return mutated
    out = set()
    for m in mutated:
        if not m.endswith("]"):
            out.add(m)
            continue
        by_method = _method_mark(m, globs.get(name_of(m), _NOT_BUILTIN))
        if by_method is not None:
            if by_method:  # (``X.a.append[m]``: ``X.a``; ``X['k'].sort[M]``: ``X``)
                target = m[:-3].rpartition(".")[0]
                out.add(name_of(target) if target.endswith("]") else target)
            continue
        base = m[:m.index("[")]
        head, _, attr = base.partition(".")
        value = globs.get(head)
        if attr and type(value) is types.ModuleType:
            value = value.__dict__.get(attr)
        if _counts_as_change(value, m[-2]):
            out.add(base)
    return frozenset(out)


_IN_PLACE = {  # the methods named in ``MUTATORS`` that change their object, by library:
    # most of theirs return a new object (``Series.add``, ``Index.insert``, polars'
    # ``sort`` and ``update``, a scipy.stats distribution's ``fit``)
    "pandas": frozenset({"update", "insert", "pop", "__setitem__", "__delitem__"}),
    "polars": frozenset({"extend", "append", "__setitem__"}),  # (a Series' ``append``)
    "scipy": MUTATORS - {"fit"},
}
_PANDAS_FRAMES = frozenset({"DataFrame", "Series"})  # (an ``Index`` is immutable)


def _method_changes(value: Any, attr: str) -> bool:
    """Whether calling ``value.attr(...)``, a name of ``MUTATORS`` (``CodeInfo.mutated``
    ``X.attr[M]``), changes ``value`` in place: never an immutable value's
    (``NAME.partition("_")``), a pandas, polars or scipy object's only by its library's
    own methods that do (``_IN_PLACE``); any other object's, as its name says."""
    if value is _NOT_BUILTIN:
        return True  # (not found: as its name says)
    if type(value) in _IMMUTABLE:  # (exactly: a ``NamedTuple`` of yours may have methods
        return False  # that change what its fields hold)
    meth = _static_attr(type(value), attr)
    if type(meth) is types.FunctionType and _walked_info(meth) is not None:
        return _changes_parameter(meth, 0, value)  # a method of yours: by its code
    top = (type(value).__module__ or "").partition(".")[0]
    methods = _IN_PLACE.get(top)
    if methods is None:
        return True
    return attr in methods and (top != "pandas" or any(
        c.__name__ in _PANDAS_FRAMES for c in type(value).__mro__))


def _method_mark(entry: str, value: Any) -> bool | None:
    """For a ``CodeInfo.mutated`` entry marked by a method's name (``X.sort[M]``, called;
    ``X.append[m]``, passed on uncalled), with ``value`` what ``X`` names: whether it
    changes ``X`` (``X.a`` for ``X.a.append[m]``); None for an entry of another kind."""
    if entry.endswith("[M]"):  # ``X.sort()``: if X's ``sort`` works in place
        first, *middle, attr = entry[:-3].split(".")
        if first.endswith("]"):  # ``X['k'].sort()``: by what that item holds
            if value is None or type(value) not in (dict, list, tuple):  # (a subclass's
                # ``__getitem__`` may give another object: ``"@ref"`` resolved)
                return value is _NOT_BUILTIN or _counts_as_change(value, "k")
            value = _keyed(value, first[first.index("[") + 1:-1])
        for name in middle:  # (``X.a.sort()``: by what ``X.a`` holds)
            value = _attribute(value, name) if value is not _NOT_BUILTIN else value
        return _method_changes(value, attr)
    if entry.endswith("[m]"):  # ``map(LOG.append, xs)``: if ``append`` may be a method
        return _method_passed(value, entry)
    return None


def _keyed(container: dict[Any, Any] | list[Any] | tuple[Any, ...], key: str) -> Any:
    """The item of a builtin container (read by the builtin type's own methods) at
    ``key`` as ``CodeInfo.mutated`` spells it (``'name'``, ``0``); ``_NOT_BUILTIN`` when
    there is none at build (an item set later: as its method's name says)."""
    if isinstance(container, dict):
        return dict.get(container, key[1:-1] if key[:1] == "'" else int(key), _NOT_BUILTIN)
    if key[:1] == "'" or int(key) >= len(container):
        return _NOT_BUILTIN
    return list.__getitem__(container, int(key)) if isinstance(container, list) else (
        tuple.__getitem__(container, int(key)))


def _method_passed(value: Any, entry: str) -> bool:
    """For a ``CodeInfo.mutated`` entry ``X.attr[m]`` or ``X.a.attr[m]`` (a mutating
    method's name read and not called: ``map(LOG.append, xs)``, ``push = X.a.append``),
    with ``value`` what ``X`` names: whether ``attr`` may be a method of its object.
    Data found there says no (``CFG.seed``, ``ARGS.shuffle``, a ``NamedTuple``'s field,
    a config's ``__getattr__`` or property giving a number); anything callable, yes: a
    method, a bound one (kept on the instance, handed out by ``__getattr__``:
    ``EVENTS.append``), a function held as a field (it may close over the object)."""
    *middle, attr = entry[:-3].split(".")[1:]
    obj = value
    for name in middle:
        obj = _attribute(obj, name)
        if obj is _NOT_BUILTIN:
            return True
    if obj is _NOT_BUILTIN or type(obj) in _IMMUTABLE or isinstance(obj, types.ModuleType):
        return obj is _NOT_BUILTIN
    found = _attribute(obj, attr)
    return found is _NOT_BUILTIN or callable(found)  # (a function held as data may
    # change the object too: a closure over it)


_METHOD_TYPES = (types.FunctionType, types.BuiltinFunctionType, classmethod, staticmethod,
                 types.MethodDescriptorType, types.WrapperDescriptorType)


def _attribute(obj: Any, name: str) -> Any:
    """``obj.name``: read statically where it can be (an instance's own attribute, a
    slot, a class attribute, a method on the class); else by ``getattr`` (a property,
    a ``NamedTuple``'s field, ``__getattr__``), as the step's code would read it;
    ``_NOT_BUILTIN`` when that raises."""
    own = getattr(obj, "__dict__", None)
    if not isinstance(obj, type) and is_a(own, dict) and name in own:
        return own[name]
    member = inspect.getattr_static(obj, name, _NOT_BUILTIN)
    if member is not _NOT_BUILTIN and not hasattr(type(member), "__get__"):
        return member  # a class attribute's plain value
    if isinstance(member, _METHOD_TYPES):
        return member
    try:
        return getattr(obj, name)
    except Exception:
        return _NOT_BUILTIN


_COPIED_BY_SLICES = (list, tuple, str, bytes, bytearray, range)


def _copied_by_slices(value: Any) -> bool:
    """A sequence a slice copies (``array.array`` too: only once ``array`` is loaded
    can a value be one, so a build does not load it)."""
    if isinstance(value, _COPIED_BY_SLICES):
        return True
    arrays = sys.modules.get("array")
    return arrays is not None and isinstance(value, arrays.array)


_PLAIN_VALUES = (*_SCALARS, *_TEXTS)  # (for isinstance: their subclasses too)
_IN_PLACE_OPERATORS = ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__",
                       "__imod__", "__ipow__", "__imatmul__", "__iand__", "__ior__", "__ixor__",
                       "__ilshift__", "__irshift__")


def _all_scalars(items: list[Any] | tuple[Any, ...]) -> bool:
    """Whether a sequence holds nothing that can change in place (a long one is not
    looked through: as if it did)."""
    return len(items) <= 1024 and all(is_a(x, _PLAIN_VALUES) or (  # (a proxy's may raise)
        type(x) is tuple and all(is_a(y, _PLAIN_VALUES) for y in x)) for x in items)


def _counts_as_change(value: Any, kind: str) -> bool:
    """Whether changing a part of ``value`` taken out by an item (``kind`` ``k``: a
    constant key, a view, an iteration; ``*``: a computed key; ``c``: an item of its
    ``.copy()``) changes ``value``: not for a pandas object (its selections are
    copies), nor for an array's by a computed key (a mask, an index array: a copy; a
    constant one gives a view); through a ``.copy()``, only for a dict, list or set;
    ``i``, held by a new tuple or list (``return X, Y``), unless it is a scalar; ``+``,
    augmented through an alias (``x = X; x += v``), unless immutable; a
    slice (``s``) of a list, tuple or string is a copy, an array's a view, and a list's
    items are the list's own (``ROWS[:2][0]["v"] = n``) unless they are scalars."""
    if kind == "c":  # through a ``.copy()`` or ``{**X}``: shallow for these only
        return isinstance(value, (dict, list, set))
    if kind == "i":  # held by a new tuple or list a function returns: unless a number
        return not isinstance(value, _PLAIN_VALUES)
    if kind == "+":  # ``x = X; x += v``: in place for a list, an array, a frame
        return any(hasattr(type(value), op) for op in _IN_PLACE_OPERATORS)
    module = type(value).__module__
    if module.startswith("pandas"):
        return False
    if kind in ("k", "*") and type(value) in (dict, list, tuple) and value:
        items = list(value.values()) if type(value) is dict else value
        if all(x is not None for x in items) and _all_scalars(items):
            return False  # nothing an item holds changes in place (``opts["name"]
            # .partition(":")``: a string's); (None: a place filled later, maybe by an object)
    if kind == "s":
        return not _copied_by_slices(value) or (
            isinstance(value, (list, tuple)) and not _all_scalars(value))
    return not (module == "numpy" and kind == "*")


def _taken_marks(info: CodeInfo, globs: Mapping[str, Any], label: str,
                 out: dict[tuple[Any, ...], str], mutated: frozenset[str]) -> None:
    """The globals ``info``'s code takes items out of (``CodeInfo.taken``): each marked
    as changed, and as taken from, so that its step is coupled with every other step
    that reads or changes it (``_couple_shared_state``), a step adding to it too. Not
    one whose methods named like changes return a copy (``mutated``: by its value)."""
    for entry in sorted(info.taken):
        name, _, how = entry.partition(":")
        value = globs.get(name, _NOT_BUILTIN)
        if name not in info.global_names or value is _NOT_BUILTIN or (
                how and not _is_queue(value)) or (name not in mutated and any(
                    m.startswith(name + ".") and m.endswith("[M]") for m in info.mutated)):
            continue
        out[("name", label, name)] = name
        if isinstance(value, _IMMUTABLE):  # ``global N; N += 1``: the binding is taken
            out[("taken", ("name", label, name))] = name
            continue
        out[("value", id(value))] = name
        out[("taken", ("value", id(value)))] = name


def _is_queue(value: Any) -> bool:
    """A queue of the standard library's (``queue``, ``asyncio``, ``multiprocessing``),
    whose ``get`` takes the item it returns."""
    return any(c.__module__ in ("queue", "asyncio.queues", "multiprocessing.queues")
               and c.__name__.endswith("Queue") for c in type(value).__mro__)


def _drawn_generators(ctx: _Context, out: dict[tuple[Any, ...], str]) -> None:
    """The random generators met inside the values the step reaches (a closure's, a
    config dict's, an instance's) that its code may draw from: it calls a method of a
    generator's by name (``CFG["rng"].random()``, ``self.rng.choice(...)``). A step
    that only reads the value beside it (``CFG["n"]``) draws nothing. (Reached as a
    global name, a generator was marked above, ``_generator_draws``.)"""
    called: set[str] = set()
    for fn in ctx.keep:
        if type(fn) is types.FunctionType:
            called.update(_names_of(code_tree(fn.__code__)))
    for ident, (label, gen) in ctx.drawn.items():
        if not called.isdisjoint(_generator_methods(type(gen))):
            out.setdefault(("draw", ident), label)


def _generator_methods(t: type) -> frozenset[str]:
    found = _methods_of.get(t)
    if found is None:
        found = _methods_of[t] = frozenset(n for n in dir(t) if not n.startswith("_"))
    return found


_methods_of: dict[type, frozenset[str]] = {}  # a generator type -> its public names


_IMMUTABLE = (type(None), bool, int, float, complex, str, bytes, tuple, frozenset, range)


_RANDOM_MODULES = frozenset({"random", "numpy", "numpy.random"})


def _generator_draws(fn: types.FunctionType, info: CodeInfo,
                     out: dict[tuple[Any, ...], str]) -> None:
    """A global random generator of the user's the code draws from or seeds
    (``RNG.permutation(5)`` on a module-level ``RNG = np.random.RandomState(0)``): each
    draw changes its state, so what a step draws depends on the draws of the steps that
    ran before it in the process (``("draw", id)``, see ``_couple_shared_state``), even
    if it seeds the generator: a seed in its text need not come first (``x =
    RNG.random(); RNG.seed(1)``), and what another step draws after it then moves what
    it got. The hidden ones
    (``random.random()``, ``np.random.rand()``) couple nothing: a step that reaches one
    is keyed by the state it starts from, decided in the pipeline's order once the
    steps before it have left theirs (``runtime.loop``)."""
    globs = fn.__globals__
    drawn: dict[int, str] = {}
    for chain in info.chains:  # (a bare name too: a method bound early, ``draw = RNG.rand``)
        if chain[0] not in info.global_names:
            continue
        head = wrappers.original(globs.get(chain[0]))
        gen = _attr(head, "__self__", head)
        if _is_generator(gen) and rng.name_of(gen) is None:  # (a hidden one: see above)
            drawn.setdefault(id(gen), chain[0])
    for ident, name in drawn.items():
        out[("draw", ident)] = name


# callables that are no instance of a class of the user's (``_self_changing_calls``)
_NOT_CALLED_INSTANCES = frozenset({
    types.FunctionType, types.BuiltinFunctionType, types.BuiltinMethodType,
    types.MethodType, types.ModuleType, functools.partial})


def _self_changing_calls(fn: types.FunctionType, info: CodeInfo,
                         out: dict[tuple[Any, ...], str], ctx: _Context) -> None:
    """``MODEL.train(x)`` where ``MODEL`` is a global instance of a class of the user's
    whose ``train`` changes its ``self`` (``self.w = ...``, ``self.history.append(v)``):
    the object changes in place, as ``MODEL.fit(x)`` changes an estimator (also through
    a local alias, ``m = MODEL; m.train(x)``: ``CodeInfo.passed``); and
    ``Config.set(k, v)``, a classmethod changing its ``cls`` (``cls.data[k] = v``)."""
    globs = fn.__globals__
    for chain in info.chains:
        if len(chain) >= 2 and chain[0] in info.global_names:  # ``HUB.setter(v)``: a
            _held_callable_marked(globs.get(chain[0]), chain[1:], out, ctx)  # partial held
        if len(chain) == 2 and chain[0] in info.global_names:
            _self_changed(globs.get(chain[0]), chain[1], chain[0], out, ctx)
        elif len(chain) > 2 and chain[0] in info.global_names:  # ``APP.tracker.log(v)``
            root = globs.get(chain[0])
            part = _held_path(root, chain[1:-1])
            if part is not None and _self_changed(part, chain[-1], ".".join(chain[:-1]),
                                                  out, ctx):
                _part_changed(root, ".".join(chain[:-1]), out, ctx)
            elif part is not None:  # ``APP.model.log.append(v)``: a library's method changing
                # what a global holds, which another global may hold too (the global's own
                # mark: ``_marks_of``)
                _held_call_marked(part, chain[-1], ".".join(chain[:-1]), out, ctx, set())
    for name in info.global_names:  # ``push = QUEUE.append`` (module level), ``push(x)``
        bound = globs.get(name)
        if type(bound) is types.BuiltinMethodType and bound.__name__ in MUTATORS and not (
                isinstance(bound.__self__, (types.ModuleType, *_IMMUTABLE))):
            out[("value", id(bound.__self__))] = name
        elif type(bound) not in _NOT_CALLED_INSTANCES and callable(bound) and not is_a(
                bound, type):  # ``NEXT()``, an instance whose ``__call__`` changes it
            _self_changed(bound, "__call__", name, out, ctx)
    for chain, where, name in info.passed:  # ``set_key(CONFIG, "k", v)``, ``d[key] = v`` in it
        if name.startswith(RESULT):  # ``set_key(get_app().opts, "k", v)``
            _given_result_changed(fn, chain, where, name, out, ctx)
            continue
        base = name_of(name)  # (``X[k]``: an item of ``X`` given, ``cfg = X["m"]``)
        obj = globs.get(base) if base in info.global_names else None
        part = _given_part(obj, name) if obj is not None and not isinstance(
            obj, (types.FunctionType, type)) and (isinstance(obj, tuple) or not isinstance(
                obj, _IMMUTABLE)) else None  # (a tuple holds objects too: ``m = PAIR[0];
        # m.train(x)``, a named tuple's ``m = NT.model``)
        if part is None:
            continue
        if where == "self":  # ``m = MODEL; m.train(x)``; ``for m in MODELS.values()``
            held = _contents(part)[:64]  # (``for name, m in PAIRS``: what its tuples hold)
            in_tuples = [x for t in held if type(t) is tuple for x in t][:64]
            for item in (part, *held, *in_tuples):
                if _self_changed(item, chain[-1], name, out, ctx):
                    _part_changed(obj, name, out, ctx)
                    break
        else:
            helper = resolve_chain(chain, globs)
            if _given_marked(helper, where, obj, part, name, out, ctx):
                _part_changed(obj, name, out, ctx)
                label = ctx.label_of(fn) if type(obj) is not types.ModuleType else None
                if label is not None:  # (as a change by the step's own code marks it:
                    out[("name", label, base)] = base  # ``_write(LOG, m)`` as ``LOG.append``)


def _given_marked(helper: Any, where: int | str, obj: Any, part: Any, name: str,
                  out: dict[tuple[Any, ...], str], ctx: _Context) -> bool:
    """Whether ``helper``, given ``part`` (``name`` of the global ``obj``) at ``where``,
    changes it; if so, mark what it changes, which another global may hold too:
    ``part`` itself (``train(APP.model, n)``), and for an item given
    (``train(APP.models[0], n)``, ``for m in APP.models: train(m, n)``: ``name`` ends
    with ``]``) each item ``part`` holds that the helper would change (one of them is
    the one given); each with what the helper sets in it (``_given_parts_marked``)."""
    changed = False
    if name.endswith("]"):
        for held, _ in _held_values(part):
            if _holds_state(held) and _changes_parameter(helper, where, held):
                _object_mark(held, name, out, ctx)
                _given_parts_marked(helper, where, held, name, out, ctx)
                changed = True
    if not _changes_parameter(helper, where, part):
        return changed
    if part is not obj:
        _object_mark(part, name, out, ctx)
    if not name.endswith("]"):
        _given_parts_marked(helper, where, part, name, out, ctx)
    return True


def _given_parts_marked(helper: Any, where: int | str, part: Any, name: str,
                        out: dict[tuple[Any, ...], str], ctx: _Context) -> None:
    """Mark what ``part``, given to ``helper`` at ``where``, holds where the helper sets
    an item or attribute (``freeze(APP.layers)`` doing ``for l in layers: l.frozen =
    True``: each layer, which another global may hold; ``_set_through``)."""
    if type(helper) is types.MethodType:
        helper, where = helper.__func__, where + 1 if isinstance(where, int) else where
    if type(helper) is not types.FunctionType:
        return
    code = helper.__code__
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    param = params[where] if isinstance(where, int) and where < code.co_argcount else (
        where if where in params else None)
    info = _walked_info(helper)
    if param is not None and info is not None:
        _set_parts_marked(info, param, part, name, out, ctx)


def _given_result_changed(fn: types.FunctionType, chain: tuple[str, ...], where: int | str,
                          name: str, out: dict[tuple[Any, ...], str], ctx: _Context) -> None:
    """``set_key(get_app().opts, "k", v)`` (``name``: ``()get_app().opts``): if the
    function changes the part given of an object the call hands out, mark what the call
    keeps, as a change of its result (``_result_marks``)."""
    call, _, rest = name[len(RESULT):].partition("()")
    helper = resolve_chain(chain, fn.__globals__)
    if where == "self" or helper is None or not any(
            _gives_changed_part(helper, where, got, rest)
            for got in _handed_out_by(_resolved(call, fn, None), set())):
        return
    found: dict[tuple[Any, ...], str] = {}
    _result_marks_of(call, fn, found, ctx, _Follow(deep=True))
    for mark, shown in found.items():
        out[("result", mark)] = shown


def _gives_changed_part(helper: Any, where: int | str, got: tuple[Any, type], rest: str
                        ) -> bool:
    """Whether ``helper`` changes the part at ``rest`` (``.opts``, ``.trackers[k]``: each
    object an item of the container there is, ``t = get_app().trackers["a"]; go(t, v)``)
    of what a call handed out (``got``), given at ``where``."""
    value, _ = got
    if value is None:
        return False
    if rest.endswith("]") or "()" in rest:  # (``.get_tracker()``: what it hands out)
        path = rest[1:].replace("[*]", "[k]").split(".")
        return any(_changes_parameter(helper, where, v) for v, _ in _along([got], path)
                   if v is not None)
    part = _given_part(value, "_" + rest)
    return part is not None and _changes_parameter(helper, where, part)


def _given_part(obj: Any, name: str) -> Any:
    """What ``name`` (``X``, ``X[k]``, ``X.a.b``: ``CodeInfo.passed``) gives of ``obj``,
    the global ``X``'s value: ``X`` itself for an item that is a part of it
    (``_counts_as_change``), an attribute's value found without running code; None for
    what changes nothing of it (a frame's column: a copy) or a module given whole."""
    attrs = name.partition("[")[0].split(".")[1:]
    kind = name[-2:-1] if name.endswith("]") else ""  # (the last: ``X[k][*]``'s ``*``)
    if not attrs:
        return None if type(obj) is types.ModuleType or (
            kind and not _counts_as_change(obj, kind)) else obj
    part = _held_path(obj, attrs)
    if part is None or is_a(part, (types.ModuleType, types.FunctionType, type,
                                         *_IMMUTABLE)) or (
            kind and not _counts_as_change(part, kind)):
        return None
    return part


def _part_changed(root: Any, name: str, out: dict[tuple[Any, ...], str], ctx: _Context
                  ) -> None:
    """Mark the global ``root`` as changed in place through ``name`` (``X``, ``X[k]``,
    ``APP.tracker``, ``settings.TRACKER``): its value, and for an attribute of a module
    of the user's, that module's name and the attribute's value."""
    if type(root) is not types.ModuleType:
        out[("value", id(root))] = name_of(name)
        return
    attr = name.partition("[")[0].split(".")[1]
    label = ctx.label_of(root)
    if label is not None:
        out[("name", label, attr)] = name
    held = root.__dict__.get(attr)
    if held is not None and not isinstance(held, (types.FunctionType, type, *_IMMUTABLE)):
        out[("value", id(held))] = name


def _self_changed(obj: Any, attr: str, name: str, out: dict[tuple[Any, ...], str],
                  ctx: _Context) -> bool:
    """Mark ``obj`` (the global ``name``, or held by it) if calling its method ``attr``
    changes it: a method of the user's changing ``self``, a classmethod changing
    ``cls``; whether it does."""
    if obj is None or is_a(obj, (types.ModuleType, types.FunctionType, *_IMMUTABLE)):
        return False
    if is_a(obj, type):  # ``Config.set(k, v)``: a classmethod changing ``cls``
        member = inspect.getattr_static(obj, attr, None)
        if not isinstance(member, classmethod):
            return False
        meth: Any = member.__func__
    else:  # (read statically: a decorator object's ``__get__`` may raise on a class)
        raw = _static_attr(type(obj), attr)
        meth = raw.__func__ if is_a(raw, staticmethod) else _method_function(raw)
    if type(meth) is not types.FunctionType or not _takes_self(meth):
        return False
    if not _changes_parameter(meth, 0, obj):  # ``self.log.append(v)``, ``self.w = ...``
        return False
    _object_mark(obj, name, out, ctx)
    _held_parts_marked(obj, meth, name, out, ctx, set())
    info = _walked_info(meth)
    if not isinstance(obj, type) and info is not None and (
            f"{meth.__code__.co_varnames[0]}.__class__" in info.mutated):
        _object_mark(type(obj), name, out, ctx)  # ``type(self).total = n``: its class's
    return True


def _held_parts_marked(obj: Any, meth: types.FunctionType, name: str,
                       out: dict[tuple[Any, ...], str], ctx: _Context, seen: set[int]) -> None:
    """Mark what ``obj`` holds that its method ``meth`` changes through a path of
    ``self`` (``self.model.fit(X)``, ``self.app.tracker.log(v)``, ``self.app.opts["k"] =
    v``), and through the methods of its own it calls (``self._store(v)``): an object
    another global may hold too (``TRAINER.model is MODEL``), whose readers never name
    ``obj``. A method called there counts by its code (a library's by its name:
    ``_method_changes``); an item or attribute set there, by the object holding it
    (``_set_through``, read off the method's tree when its facts say it sets one)."""
    meth = _wrapped(meth)
    info = _walked_info(meth)
    me = meth.__code__.co_varnames[:1]
    if info is None or not me or id(meth) in seen or len(seen) > 16:
        return
    seen.add(id(meth))
    deep = f"{me[0]}[k]" in info.mutated
    for c in info.chains:
        if len(c) < 2 or c[0] != me[0]:
            continue
        if len(c) == 2:  # ``self._store(v)``: a method of its own, what it changes
            own = _own_method(obj, c[1])
            if own is not None:
                _held_parts_marked(obj, own, name, out, ctx, seen)
            continue
        part = _held_path(obj, c[1:-1])
        if part is not None:
            _held_call_marked(part, c[-1], f"{name}.{'.'.join(c[1:-1])}", out, ctx, seen)
    for chain, where, given in info.passed:
        if chain[0] == "super()" and given == me[0]:  # ``super().fit(v)``: the base's
            found = _super_method(meth, obj, None, chain[-1])
            if type(found) is types.FunctionType:
                _held_parts_marked(obj, found, name, out, ctx, seen)
            continue
        if not given.startswith(me[0] + "."):
            continue
        part = _held_path(obj, given.partition("[")[0].split(".")[1:])
        if not _holds_state(part) and not ("[" in given and is_a(part, tuple)):
            continue  # (a tuple's items may hold state: ``self.pair[0].train(v)``)
        shown = name + given[len(me[0]):].partition("[")[0]
        items = _contents(part)[:64] if "[" in given else [part]  # (an item: not the
        # container, whose methods of those names may not exist: ``for s in self.series``)
        for item in items:  # ``m = self.model; m.train(v)``, ``for m in self.models``,
            if where == "self":  # ``self.by[k].train(v)``
                _held_call_marked(item, chain[-1], shown, out, ctx, seen)
            elif _changes_parameter(_callee(meth, chain), where, item):  # ``go(self.model)``
                _object_mark(item, shown, out, ctx)
    if deep or any(m.startswith(me[0] + ".") for m in info.mutated):  # ``self.app.opts[
        # "k"] = v``, ``m = self.model; m.w = v``: what holds the item or attribute set
        _set_parts_marked(info, me[0], obj, name, out, ctx)
    for entry in info.results:  # ``self.app.get_tracker().log(v)``: what a method of
        head, _, rest = entry.partition(".")  # an object it holds hands out, changed
        call, _, method = rest.partition(":")
        if head != me[0] or not call or not method or call.endswith("]"):
            continue
        _reached_marks([got for got in _handed_out_by(_static_path(obj, call.split(".")), set())
                        if got[0] is not None and _changed_by_method(got, method)],
                       method, f"{name}.{call}()", out, ctx)


def _held_call_marked(part: Any, attr: str, shown: str, out: dict[tuple[Any, ...], str],
                      ctx: _Context, seen: set[int]) -> None:
    """Mark ``part``, an object a method reaches through ``self``, if calling its method
    ``attr`` changes it (a method of the user's by its code, and what that one changes
    through its own ``self`` in turn; a library's by its name: ``_method_changes``)."""
    if not _holds_state(part):
        return
    method = _own_method(part, attr)
    if method is not None and _walked_info(_wrapped(method)) is not None:
        if _changes_parameter(method, 0, part):
            _object_mark(part, shown, out, ctx)
            _held_parts_marked(part, method, shown, out, ctx, seen)
    elif attr in MUTATORS and _method_changes(part, attr):
        _object_mark(part, shown, out, ctx)


def _holds_state(obj: Any) -> bool:
    """Whether ``obj``, found along a path, is an object whose change in place a step can
    pass on: not nothing, a module, a class or a function (code, seen as code), nor an
    immutable value."""
    return obj is not None and not is_a(obj, (types.ModuleType, type, types.FunctionType,
                                              *_IMMUTABLE))


def _class_parts_set(info: CodeInfo, name: str, cls: type, out: dict[tuple[Any, ...], str],
                     ctx: _Context) -> None:
    """Mark what the code sets an item or attribute in through a class attribute
    (``Registry.models[name] = v``, also in a method, ``m = Registry.models; m[k] = v``):
    the attribute, by the name its readers read it by (``attribute L:Registry.models``),
    and the object it holds."""
    label = ctx.label_of(cls)
    for attrs, items in _set_through(info, name):
        if not attrs:  # (``Registry.get()["k"] = v``: what a method hands out, not an item)
            continue
        if label is not None:
            out[("name", label, f"{cls.__qualname__}.{attrs[0]}")] = f"{name}.{attrs[0]}"
        _path_marked(cls, attrs, items, name, out, ctx)


def _set_parts_marked(info: CodeInfo, root: str, obj: Any, name: str,
                      out: dict[tuple[Any, ...], str], ctx: _Context) -> None:
    """Mark the objects ``obj`` (the value of ``root``: a global, a method's ``self``)
    holds whose items or attributes the code sets (``_set_through``)."""
    for attrs, items in _set_through(info, root):
        _path_marked(obj, attrs, items, name, out, ctx)


def _path_marked(obj: Any, attrs: tuple[str, ...], items: bool, name: str,
                 out: dict[tuple[Any, ...], str], ctx: _Context) -> None:
    """Mark what ``obj`` (the value of ``name``) holds at ``attrs`` as changed in
    place, and with ``items`` each object that one holds (64 at most: ``_held_values``),
    of which one changed (``self.models[0].w = v``, ``for m in self.models: m.w = v``)."""
    part = _held_path(obj, attrs)
    shown = ".".join((name, *attrs))
    if _holds_state(part):
        _object_mark(part, shown, out, ctx)
    if items and part is not None:
        for held, _ in _held_values(part):
            if held is not None:
                _object_mark(held, shown, out, ctx)


def _set_through(info: CodeInfo, me: str) -> list[tuple[tuple[str, ...], bool]]:
    """The attribute paths of ``me`` (a method's ``self``, a global) whose item or
    attribute the code sets or deletes (``self.app.opts["k"] = v``: ``("app", "opts")``;
    ``self.opts["k"] = v``: ``("opts",)``, an object another global may hold too;
    ``setattr(self.model, "w", v)``: ``("model",)``), also through a local standing for
    one (``m = self.model; m.w = v``), each with whether it is what an item there holds
    (``self.models[0].w = v``, ``for m in self.models: m.w = v``: ``("models",)``, True).
    A local counts wherever the function binds it so (sound: never fewer paths)."""
    tree = info.tree()
    nodes = list(ast.walk(tree)) if tree is not None else []
    stands: dict[str, tuple[tuple[str, ...], bool]] = {}
    for _ in range(3):  # (a local standing for another: ``a = self.app; m = a.model``)
        for node in nodes:
            for local, value, items in _bindings(node):
                found = _owner_path(value, me, stands, items)
                if found is not None and local not in stands:
                    stands[local] = found
    out = []
    for node in nodes:
        t = type(node)
        targets = (node.targets if t is ast.Assign or t is ast.Delete  # type: ignore[attr-defined]
                   else [node.target] if t is ast.AugAssign or t is ast.AnnAssign  # type: ignore[attr-defined]
                   else ())
        owners = [target.value for target in targets
                  if type(target) is ast.Subscript or type(target) is ast.Attribute]
        if t is ast.Call and len(node.args) >= 2 and (  # type: ignore[attr-defined]
                chain_of(node.func) or ("",))[0] in ATTR_SETTERS:  # type: ignore[attr-defined]
            owners.append(node.args[0])  # type: ignore[attr-defined]
        for owner in owners:
            found = _owner_path(owner, me, stands)
            if found is not None:
                out.append(found)
    return out


def _bindings(node: ast.AST) -> list[tuple[str, ast.expr, bool]]:
    """The locals ``node`` binds to a value of an expression, each with that expression
    and whether it is an item of it (a loop's variable: ``for m in self.models``, ``for
    k, m in self.by.items()``, ``for i, (k, m) in enumerate(self.by.items())``)."""
    t = type(node)
    if t is ast.Assign and len(node.targets) == 1:  # type: ignore[attr-defined]
        target, value = node.targets[0], node.value  # type: ignore[attr-defined]
        if type(target) is ast.Name:  # (a shallow copy: its items, ``ls = list(self.models)``)
            copy = type(value) is ast.Call and chain_of(value.func) in SHALLOW_COPIES and value.args
            return [(target.id, value.args[0], True) if copy else (target.id, value, False)]
        if isinstance(target, (ast.Tuple, ast.List)) and not isinstance(  # ``a, b =
                value, (ast.Tuple, ast.List)):  # self.pair``, ``first, *rest = self.models``
            return [(n.id, value, True) for n in target_names(target)]
        return []
    if t is ast.NamedExpr:
        return [(node.target.id, node.value, False)]  # type: ignore[attr-defined]
    if t is not ast.For and t is not ast.AsyncFor and t is not ast.comprehension:
        return []
    return _loop_bindings(node.target, node.iter)  # type: ignore[attr-defined]


def _loop_bindings(target: ast.expr, over: ast.expr) -> list[tuple[str, ast.expr, bool]]:
    """A loop's variables, each with what it is an item of (``_bindings``): through
    ``zip``, ``enumerate``, ``.items()`` and ``.values()``, nested targets each by the
    part they take; any other target's names all as items of what the loop goes over."""
    while type(over) is ast.Call and chain_of(over.func) in _SAME_ITEMS and over.args:
        over = iterated_argument(over)  # ``for m in reversed(self.models)``: its items
    if isinstance(target, (ast.Tuple, ast.List)) and type(over) is ast.Call:
        if chain_of(over.func) == ("zip",):  # ``for m, v in zip(self.models, values)``
            return [b for e, a in zip(target.elts, over.args, strict=False)
                    if type(a) is not ast.Starred for b in _loop_bindings(e, a)]
        if len(target.elts) == 2 and chain_of(over.func) == ("enumerate",) and over.args:
            return _loop_bindings(target.elts[1], over.args[0])
        if len(target.elts) == 2 and type(over.func) is ast.Attribute and (
                over.func.attr == "items"):
            return _loop_bindings(target.elts[1], over.func.value)
    if type(over) is ast.Call and type(over.func) is ast.Attribute and (
            over.func.attr == "values"):
        over = over.func.value
    return [(n.id, over, True) for n in target_names(target)]


# builtins iterating over the items of their first argument (in a loop: those items)
_SAME_ITEMS: frozenset[tuple[str, ...]] = frozenset(
    {("reversed",), ("sorted",), ("list",), ("tuple",), ("iter",), ("filter",)})
_ITEM_CALLS: frozenset[tuple[str, ...]] = _SAME_ITEMS | {("next",)}  # (an item of their argument: ``next(iter(X))``)


def _owner_path(node: ast.expr, me: str, stands: Mapping[str, tuple[tuple[str, ...], bool]],
                items: bool = False) -> tuple[tuple[str, ...], bool] | None:
    """The attribute path of ``me`` that ``node`` names (``self.model``, ``m.opts`` for a
    local ``m`` standing for ``self.model``), and whether it is through an item there
    (``self.models[0]``, or ``items`` already: a loop's variable; the items of
    ``("models",)``); None for another object."""
    while True:  # (an item: ``self.models[0]``, ``self.by.get("a")``; ``(m := self.model)``)
        t = type(node)
        if t is ast.Subscript or (t is ast.Call and type(node.func) is ast.Attribute  # type: ignore[attr-defined]
                                  and node.func.attr in ("get", "setdefault", "values")):  # type: ignore[attr-defined]
            node, items = node.value if t is ast.Subscript else node.func.value, True  # type: ignore[attr-defined]
        elif t is ast.NamedExpr:
            node = node.value  # type: ignore[attr-defined]
        elif t is ast.Call and node.args and (  # type: ignore[attr-defined]
                (chain_of(node.func) or ("",)) in _ITEM_CALLS or (  # type: ignore[attr-defined]
                    is_pick(node))):  # type: ignore[arg-type]
            node, items = iterated_argument(node), True  # type: ignore[arg-type]  # ``next(iter(X))``
        else:
            break
    got = getattr_literal(node) if type(node) is ast.Call else None
    if got is not None:  # ``getattr(self, "layers")[0].w = v``: ``self.layers``
        base = chain_of(got[0])
        chain = None if base is None else (*base, got[1])
    else:
        chain = chain_of(node)
    if chain is None:
        return None
    if chain[0] == me:  # (its own items: ``ROWS[0]["v"] = 1``, ``for m in layers: m.w = 0``)
        return (chain[1:], items) if len(chain) > 1 or items else None
    held = stands.get(chain[0])
    if held is None:
        return None
    if held[1]:  # (an attribute of an item: the items, as what changed)
        return held
    return held[0] + chain[1:], items


def _changes_parameter(fn: Any, where: int | str, value: Any, depth: int = 0,
                       cls: type | None = None, unwrap: bool = True) -> bool:
    """Whether ``fn``, a function of the user's a walk met, changes the parameter at
    position or keyword ``where`` when given ``value`` (or an instance of ``cls`` not made
    yet: None, ``_handed_out_by``) (``d[key] = v``, ``d.append(v)``,
    ``d.x.update(...)``; not after rebinding it: ``df = df.copy()``; through an item
    only as ``_counts_as_change`` says), itself or in a function of the user's it gives
    the parameter to (a few calls deep)."""
    if type(fn) is types.MethodType and type(fn.__func__) is types.FunctionType:
        fn, where = fn.__func__, where + 1 if isinstance(where, int) else where  # (self)
    if type(fn) is not types.FunctionType:
        return False
    inner = _wrapped(fn) if unwrap else fn  # (``@timed def log(self, v)``: the wrapper
    if inner is not fn and _changes_parameter(inner, where, value, depth, cls, False):
        return True  # hands ``*args`` on)
    if unwrap and inner is fn and any(  # (one holding several: ``@on_error(report)``,
            _changes_parameter(f, where, value, depth, cls, False)  # each may be given
            for f in _closure_functions(fn)):  # them)
        return True
    if not _sharing():
        return _param_changed(fn, where, value, depth, cls)
    # once per build for each question: methods calling each other's (``self.a.m()``,
    # helpers given attributes) asked it again at every depth, exponentially
    key = (id(fn), where, id(value), cls, depth)
    hit = _changes_memo.get(key)
    if hit is not None and hit[0] is fn and hit[1] is value:
        return hit[2]
    _changes_memo[key] = (fn, value, False)  # (a question met again while answering it)
    answer = _param_changed(fn, where, value, depth, cls)
    _changes_memo[key] = (fn, value, answer)
    return answer


_changes_memo: dict[tuple[Any, ...], tuple[Any, Any, bool]] = {}  # this build's answers


def _param_changed(fn: types.FunctionType, where: int | str, value: Any, depth: int,
                   cls: type | None) -> bool:
    """``_changes_parameter``'s answer, worked out."""
    code = fn.__code__
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if isinstance(where, int):
        if where >= code.co_argcount:
            return False
        param = params[where]
    elif where in params:
        param = where
    else:
        return False
    info = _info_cache.get((code, False)) or _info_cache.get((code, True))
    if info is None:
        return False
    if _changed_in_place(info, param, value):
        return True
    for entry in info.results:  # ``self.get_config()["lr"] = v``, ``self.log().add(v)``
        head, _, rest = entry.partition(".")
        if head != param or not rest:
            continue
        rest, _, method = rest.partition(":")
        deep = rest.endswith("[k]")
        bound = _static_path(value, rest.removesuffix("[k]").split("."))
        if _hands_out_itself(bound, deep, set()) and (not method or (depth < 4 and any(
                _changed_by_method(got, method) for got in _handed_out_by(bound, set())))):
            return True
    if depth < 4 and (value is not None or cls is not None) and any(  # ``self._store(k,
            _held_changed(value, c[1:], depth, cls) for c in info.chains  # v)``: a method of
            if len(c) >= 2 and c[0] == param):  # its own, or of an object it holds
        return True  # (``self.model.train(x)``)
    return depth < 4 and any(  # ``prep(d)`` calling ``set_key(d, ...)``, ``put(self.d, v)``
        (where2 != "self" and name_of(name) == param and _gives_changed(
            _callee(fn, chain), where2, value, name, depth))
        or (where2 == "self" and name.startswith(param + ".") and value is not None
            and _held_method_changes(value, name, chain[-1], depth))
        or (chain[0] == "super()" and name == param and _super_changes(
            _super_method(fn, value, cls, chain[-1]), chain[-1], value, depth, cls))
        for chain, where2, name in info.passed)


def _super_method(fn: types.FunctionType, value: Any, cls: type | None, name: str) -> Any:
    """What ``super().<name>`` is in ``fn``, a method of the class its ``__class__``
    cell holds, called on ``value`` (or an instance of ``cls``): the next class's in
    the instance's MRO that has it, a function; or the builtin container class whose
    method it is (``_BUILTIN_CONTAINERS``); None for anything else."""
    cell = dict(zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False)).get(
        "__class__")
    owner = cell_value(cell) if cell is not None else None
    if not is_a(owner, type):  # (``is not None``: a class's truth runs its metaclass's code)
        return None
    kind = type(value) if value is not None else cls if cls is not None else owner
    mro = getattr(kind, "__mro__", ())
    after = next((mro[i + 1:] for i, c in enumerate(mro) if c is owner), ())
    for klass in after:
        member = klass.__dict__.get(name)
        if member is not None:
            if any(klass is c for c in _BUILTIN_CONTAINERS):
                return klass  # (``UserDict``'s are Python code, which no walk read)
            return member if type(member) is types.FunctionType else None
    return None


# the classes a class of yours may derive from whose methods named in ``MUTATORS`` change
# the object (``super().__setitem__(k, v)`` in a ``dict`` subclass), by identity (a
# metaclass's ``__eq__`` or ``__hash__`` may raise); the ``collections`` ones too, whose
# Python code (``UserDict``'s, ``Counter.update``) no walk reads
_BUILTIN_CONTAINERS = (dict, list, set, bytearray, collections.OrderedDict, collections.deque,
                       collections.UserDict, collections.UserList, collections.Counter)


def _super_changes(found: Any, name: str, value: Any, depth: int, cls: type | None) -> bool:
    """Whether ``super().<name>(...)`` (``found``: ``_super_method``'s) changes ``self``:
    a method of the user's by its code, a builtin container's by its name."""
    if any(found is c for c in _BUILTIN_CONTAINERS):
        return name in MUTATORS
    return _changes_parameter(found, 0, value, depth + 1, cls)


def _gives_changed(callee: Any, where: int | str, value: Any, name: str, depth: int) -> bool:
    """Whether ``callee``, given the parameter whose value is ``value`` (``name``: that
    parameter) or a part of it (``self.opts``, ``d["m"]``: ``_given_part``) at
    ``where``, changes what it was given."""
    if name == name_of(name) or value is None:  # (an instance not made yet: its part,
        return _changes_parameter(callee, where, value, depth + 1)  # by the code alone)
    given = _given_part(value, name)  # (None: a copy, a number: nothing of it changes)
    return given is not None and _changes_parameter(callee, where, given, depth + 1)


def _held_method_changes(value: Any, name: str, method: str, depth: int) -> bool:
    """Whether calling ``method`` on what ``value`` holds at ``name`` (``self.tracker``,
    ``self.trackers[k]``: an item of it; through a local alias or a loop, ``t =
    self.tracker; t.log(v)``) changes it, a method of the user's."""
    part = _held_path(value, name.partition("[")[0].split(".")[1:])
    if part is None:
        return False
    items = [part, *_contents(part)[:64]] if "[" in name else [part]
    return any(_changes_parameter(_own_method(item, method), 0, item, depth + 1)
               for item in items)


def _changed_in_place(info: CodeInfo, name: str, value: Any) -> bool:
    """Whether the code ``info`` describes changes ``value``, bound to its local ``name``
    (a parameter, a closure's variable), in place: an item or attribute set, a method
    changing it (by what ``value`` is: ``_method_mark``); not after rebinding it."""
    for m in info.mutated:
        by_method = _method_mark(m, value) if name_of(m) == name else None
        if by_method is not None:
            if by_method:
                return True
            continue
        if m.endswith(("[m]", "[M]")):
            continue  # (another name's)
        if m == name or m.startswith(name + "."):
            return True
        if m.startswith(name + "[") and _counts_as_change(value, m[-2]):
            return True
    return False


def _held_state_marks(fn: types.FunctionType, info: CodeInfo,
                      out: dict[tuple[Any, ...], str]) -> None:
    """A closure's value or a parameter's default value that ``fn`` changes in place
    (``state["acc"] = v`` on a dict the steps a factory makes share; ``def log(k, v,
    store={})``): state every function holding the same object reads, marked as a
    global's (``("value", id)``). A variable rebound (``nonlocal n; n += 1``) is not seen."""
    for name, value in _bound_by_name(fn):
        if value is not None and not isinstance(value, (
                types.ModuleType, types.FunctionType, type, *_IMMUTABLE)) and (
                _changed_in_place(info, name, value)):
            out[("value", id(value))] = name


def _cells_rebound(fn: types.FunctionType, info: CodeInfo,
                   out: dict[tuple[Any, ...], str]) -> None:
    """The closure cells ``fn`` rebinds (``nonlocal n; n += 1``, ``nonlocal mode; mode =
    v``; in code nested in it too): state every function holding the same cell reads,
    as a global's binding is. Each is marked by the cell (``("value", id)``: a function
    reading it counts it by that id, ``_closure_parts``), and as taken when the code
    also reads what it changed by what it holds (``CodeInfo.taken``: ``n += 1; return
    n``, a counter two steps call: what each returns depends on the other's calls).
    A closure's value the code takes from (``next(ids)``, ``items.append(v); return
    sum(items)``) is taken, as a global's is (``_taken_marks``)."""
    free = fn.__code__.co_freevars
    taken = info.taken.intersection(free)
    stored = _cell_uses(fn.__code__)[0].intersection(free) if taken or any(
        c.co_freevars and not _CELL_STORES.isdisjoint(c.co_code[::2])  # (no disassembly
        for c in code_tree(fn.__code__)) else frozenset()  # for most: a wrapper's reads)
    if not stored and not taken:
        return
    for name, cell, shown in _cells_of(fn):
        if name in stored:
            out[("value", id(cell))] = shown
            if name in taken:
                out[("taken", ("value", id(cell)))] = shown
        elif name in taken:
            value = cell_value(cell)
            if _holds_state(value):
                out[("value", id(value))] = shown
                out[("taken", ("value", id(value)))] = shown


def _cells_of(fn: types.FunctionType) -> list[tuple[str, Any, str]]:
    """``fn``'s closure cells, each with its variable's name and how a warning shows it
    (``make_counter.<locals>.n``)."""
    outer = fn.__qualname__.rpartition(".<locals>.")[0] or fn.__qualname__
    return [(name, cell, f"{outer}.<locals>.{name}")
            for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False)]


_CELL_STORES = frozenset({dis.opmap["STORE_DEREF"], dis.opmap["DELETE_DEREF"]})
_CELL_LOADS = frozenset({dis.opmap["LOAD_DEREF"], dis.opmap["LOAD_CLASSDEREF"]})
# code -> (the cell variables it, or code nested in it, rebinds; those it reads), once
# per process: ``_cells_rebound`` and ``_split_cell_takers`` ask it for each step
_cell_uses_cache: dict[types.CodeType, tuple[frozenset[str], frozenset[str]]] = {}


def _cell_uses(code: types.CodeType) -> tuple[frozenset[str], frozenset[str]]:
    """The names of the cells ``code`` (or code nested in it, holding them as free
    variables) rebinds, and those it reads, from its bytecode."""
    hit = _cell_uses_cache.get(code)
    if hit is None:
        stored: set[str] = set()
        read: set[str] = set()
        for c in code_tree(code):
            if c.co_freevars:
                for i in dis.get_instructions(c):
                    if i.opcode in _CELL_STORES:
                        stored.add(i.argval)
                    elif i.opcode in _CELL_LOADS:
                        read.add(i.argval)
        hit = _cell_uses_cache[code] = (frozenset(stored), frozenset(read))
    return hit


def _split_cell_takers(ctx: _Context, out: dict[tuple[Any, ...], str]) -> None:
    """A closure's cell or value one function the step reaches changes by what it holds
    (``tick``: ``nonlocal n; n += 1``; ``add``: ``items.append(v)``) and another reads
    (``count``: ``return n``, ``total``: ``sum(items)``, over the same cell) is taken
    from, as a global is (``_split_takers``): what the step computes depends on what
    the other steps did to it first."""
    ordered: dict[int, str] = {}  # the id of a cell or of its value -> its mark's name
    read: set[int] = set()  # the ids of the cells and values other functions read
    for fn in ctx.keep:
        if type(fn) is not types.FunctionType or not fn.__closure__:
            continue
        info = _walked_info(fn)
        changed = info.ordered if info is not None else frozenset()
        loads = _cell_uses(fn.__code__)[1]
        for name, cell, _ in _cells_of(fn):
            value = cell_value(cell)
            idents = (id(cell), id(value)) if _holds_state(value) else (id(cell),)
            if name in changed:
                for ident in idents:
                    if ("value", ident) in out:
                        ordered[ident] = out[("value", ident)]
                continue
            if name in loads:
                read.update(idents)
    for ident in read & ordered.keys():
        out[("taken", ("value", ident))] = ordered[ident]


def _bound_by_name(fn: types.FunctionType) -> list[tuple[str, Any]]:
    """``fn``'s closure values and parameters' defaults, each by the name its code
    reads it by."""
    code = fn.__code__
    held: list[tuple[str, Any]] = list(_closed_over(fn).items()) if fn.__closure__ else []
    if fn.__defaults__:
        names = code.co_varnames[code.co_argcount - len(fn.__defaults__):code.co_argcount]
        held += list(zip(names, fn.__defaults__, strict=False))
    if fn.__kwdefaults__:
        held += list(fn.__kwdefaults__.items())
    return held


def _held_callables_marked(fn: types.FunctionType, info: CodeInfo,
                           out: dict[tuple[Any, ...], str], ctx: _Context) -> None:
    """A changing method a closure cell or a parameter's default holds, bound, or a
    ``partial`` of one, that the code reads by that name (``def log(v,
    push=LOG.append): push(v)``; ``push = LOG.append`` in the factory a step is made
    by; ``train=MODEL.train``): what calling it changes, marked as for a global bound
    to it (``push = LOG.append`` at module level, ``_self_changing_calls``; a method of
    the user's, ``_held_marked``). Before, only a global holding one was seen, and a
    step reading ``LOG`` after such a writer kept its old result."""
    named = {c[0] for c in info.chains if len(c) == 1}
    for name, value in _bound_by_name(fn):
        if name not in named or value is None or isinstance(value, _IMMUTABLE):
            continue
        target = _as_function(value) if type(value) is functools.partial else value
        owner = getattr(target, "__self__", None) if type(
            target) is types.BuiltinMethodType else None
        if owner is not None and target.__name__ in MUTATORS and not isinstance(
                owner, (types.ModuleType, *_IMMUTABLE)):
            out[("value", id(owner))] = next(  # (a warning names the global holding it)
                (k for k, v in fn.__globals__.items() if v is owner), name)
        elif _is_held_callable(value):
            _held_marked(value, out, ctx)


def _held_changed(value: Any, path: tuple[str, ...], depth: int, cls: type | None) -> bool:
    """Whether calling the method ``path[-1]`` of what ``value`` (an instance of ``cls``
    when None) holds at ``path[:-1]`` (``model.train`` of ``self``, found without running
    code) changes it, a method of the user's (``_changes_parameter``)."""
    if len(path) == 1:
        owner = type(value) if value is not None else cls
        meth = inspect.getattr_static(owner, path[0], None)
        return type(meth) is types.FunctionType and _changes_parameter(
            meth, 0, value, depth + 1, cls=owner)
    if value is None and cls is not None and len(path) == 2:  # (an instance not made
        held = _made_in_init(cls, path[0])  # yet: what its ``__init__`` puts there)
        meth = _static_attr(held, path[1]) if held is not None else None
        return type(meth) is types.FunctionType and _changes_parameter(
            meth, 0, None, depth + 1, cls=held)
    part = _held_path(value, path[:-1]) if value is not None else None
    return part is not None and _changes_parameter(_own_method(part, path[-1]), 0, part,
                                                   depth + 1)


def _made_in_init(cls: type, attr: str) -> type | None:
    """The class whose instance ``cls.__init__`` puts in ``self.<attr>``
    (``self.tracker = Tracker()``), when one alone: what an instance of ``cls`` not made
    yet will hold there (``_held_changed``)."""
    init = _static_attr(cls, "__init__")
    info = _walked_info(init) if type(init) is types.FunctionType else None
    if info is None or not init.__code__.co_varnames:
        return None
    made = {c for _, c in _made_on_first_use(
        init, info, f"{init.__code__.co_varnames[0]}.{attr}", cls)}
    return made.pop() if len(made) == 1 else None


def _state_reads(counted: set[tuple[str, int]], parts: Mapping[str, str],
                 written: set[int] | None = None) -> set[tuple[Any, ...]]:
    """The markers (see ``_state_writes``) of the values a step's key counts: each
    object by identity, each global by the module and name it was read as (as a
    global of its module, or as an attribute of a module of the user's:
    ``settings.FACTOR``, see ``_module_attribute_read``): from what its context
    counted and its fingerprint's parts. (An id is matched only with a writer's mark,
    a module global alive since before the build: no object counted and freed since
    can have had its id.) Objects only among ``written``, the ids some step's marks
    name, when given: a step reaching thousands of objects is matched with those alone."""
    out: set[tuple[Any, ...]] = set()
    for part, ident in counted:
        if part.startswith(_USES):  # a library whose settings its key counts
            out.add(("settings", part.removeprefix(_USES)))
        elif part.startswith(_CHANGES):
            continue
        elif part.startswith(_MODATTR):
            _, where, qual = split_key(part)
            out.add(("name", where, qual))
            out.add(("module", where))
        elif written is None or ident in written:
            out.add(("value", ident))
    for part in parts:
        if part.startswith(("constant ", "attribute ")):
            kind, where, qual = split_key(part)
            if kind == "attribute" or "." not in qual:  # (``attribute L:Cls.k``)
                out.add(("name", where, qual))
                # what a ``setattr`` with a computed name changes (any of them)
                out.add(("class", where, qual.rpartition(".")[0]) if kind == "attribute"
                        else ("module", where))
    out |= {("result", m) for m in out}  # (a change of a call's: ``_result_marks``)
    for part in parts:  # a class reached: the instance it keeps (a singleton), changed
        if part.startswith("class "):  # through a call of it (``Settings().lr = n``)
            _, where, qual = split_key(part)
            out.add(("result", ("class", where, qual)))
    return out


def _held_items_changed(info: CodeInfo, globs: Mapping[str, Any], mutated: frozenset[str],
                        out: dict[tuple[Any, ...], str]) -> None:
    """``REGISTRY["train"]["lr"] = v`` (``REGISTRY[k]``, counted as a change of
    ``REGISTRY``): what an item holds changed, so each object the container holds (64 at
    most) is marked too, for a step reading one of them by its own name
    (``TRAIN["lr"]``, ``REGISTRY = {"train": TRAIN}``); what a tuple item holds, too
    (``for k, r in PAIRS: r["v"] = v``, ``PAIRS = [("a", ROWS[0])]``: a tuple cannot
    change, so the change is of an object it holds)."""
    for m in info.mutated:
        base = m.partition("[")[0]
        if not m.endswith(("[k]", "[*]")) or "." in base or base not in mutated or (
                base not in info.global_names):
            continue
        container = globs.get(base)
        in_tuples = [x for t in _contents(container)[:64] if type(t) is tuple
                     for x in _held_values(t)]
        for held, _ in (_held_values(container) + in_tuples)[:64]:
            if held is not None:
                out[("value", id(held))] = base


def _written_ids(writes: Mapping[str, Mapping[tuple[Any, ...], str]]) -> set[int]:
    """The ids of the objects the steps' marks say they change (``("value", id)``, also
    inside a ``result`` or ``taken`` mark)."""
    out: set[int] = set()
    for marks in writes.values():
        for mark in marks:
            while mark[0] in ("result", "taken") and type(mark[1]) is tuple:
                mark = mark[1]
            if mark[0] == "value":
                out.add(mark[1])
    return out


_MODATTR = "modattr"  # a ``ctx.counted`` entry: a module of the user's read by attribute
_WITHIN = "within"  # a ``ctx.counted`` entry: an object inside a value a key counts
_USES = "uses "  # one for a library whose settings a key counts (``_Context.library``)
_CHANGES = "changes "  # one for process state the code changes (the environment)


def _module_attribute_read(ctx: _Context, base: types.ModuleType, dotted: str) -> None:
    """Note that the code read ``settings.FACTOR`` (an attribute of a module of the
    user's, by whatever name it imported the module), for ``_state_reads``: a step that
    sets ``settings.FACTOR`` passes state to it (``_couple_shared_state``)."""
    *path, attr = dotted.split(".")
    mod: Any = base
    for name in path[1:]:
        mod = getattr(mod, name, None)
    if type(mod) is types.ModuleType:
        label = ctx.label_of(mod)
        if label is not None:
            ctx.counted.add((f"{_MODATTR} {label}:{attr}", 0))


def _writers_of(writes: Mapping[str, Mapping[tuple[Any, ...], str]],
                fellows: Mapping[str, set[tuple[Any, ...]]]
                ) -> tuple[dict[tuple[Any, ...], set[str]], ...]:
    """Each mark's writers, those of them writing it by code they name
    (``_named_writes``), and each value's or name's takers (``("taken", mark)``)."""
    writers: dict[tuple[Any, ...], set[str]] = {}
    named: dict[tuple[Any, ...], set[str]] = {}
    takers: dict[tuple[Any, ...], set[str]] = {}
    for writer, wmarks in writes.items():
        for mark in wmarks:
            writers.setdefault(mark, set()).add(writer)
            if mark in fellows.get(writer, ()):
                named.setdefault(mark, set()).add(writer)
            if mark[0] == "taken":  # (of the value's, or the binding's, mark)
                takers.setdefault(mark[1], set()).add(writer)
    return writers, named, takers


def _state_text(names: Iterable[str]) -> str:
    """How a warning names the state a step changes: ``the globals A, B``, ``the
    closure variable make_counter.<locals>.n`` (a cell: ``_cells_of``), or both."""
    cells = sorted(n for n in names if ".<locals>." in n)
    plain = sorted(n for n in names if ".<locals>." not in n)
    return " and ".join(
        f"the {kind}{'s' if len(group) > 1 else ''} {', '.join(group)}"
        for kind, group in (("global", plain), ("closure variable", cells)) if group)


def _couple_shared_state(graph: Graph, writes: Mapping[str, dict[tuple[Any, ...], str]],
                         reads: Mapping[str, set[tuple[Any, ...]]],
                         fellows: Mapping[str, set[tuple[Any, ...]]],
                         paths: Mapping[str, Mapping[int, tuple[Any, Any, Any]]]) -> None:
    """A step that changes module-level state another step's key counts and that step
    does not change (``STATE.k = k`` in ``fit``, ``STATE.k`` read by ``predict``; not a
    log several steps append to, nor a memo dict their helpers fill) passes it outside
    any asset: the reader's key holds the value as the run starts, and a reused writer
    would not change it at all. Neither can be reused soundly: both get a part that
    differs every run (they re-execute), and a warning says how to pass it as an asset
    instead. A step that writes the object too is a reader all the same when it reads a
    part of it the other writes and it does not (``_fellow_readers``: a ``predict`` that
    caches into ``self`` reads the weights ``train`` set). A library's settings a step
    changes (``side_state.settings_set``) couple it with every other step whose key
    counts them, and make it re-execute even alone (steps given its objects compute by
    them too); random generators: ``_couple_drawers``."""
    readers: dict[tuple[Any, ...], set[str]] = {}
    for name, marks in reads.items():
        for mark in marks:
            readers.setdefault(mark, set()).add(name)
    writers, named, takers = _writers_of(writes, fellows)
    for mark, setters_ in writers.items():  # a lazy config several steps load
        if mark[0] == "rebound" and len(setters_) > 1:
            for step in setters_:
                graph.sharing.setdefault(step, set()).update(setters_ - {step})
    coupled: dict[str, set[str]] = {}  # step -> the globals that couple it
    changed: dict[str, set[str]] = {}  # step -> the settings that couple it
    for writer, wmarks in writes.items():
        shared: dict[str, set[str]] = {}  # global -> the other steps that read it
        settings: dict[str, set[str]] = {}  # settings -> the other steps that use them
        for mark, gname in wmarks.items():
            if mark[0] == "settings":
                using = _settings_users(graph, writer, mark, readers)
                if using is not None:
                    settings.setdefault(gname, set()).update(using)
            elif mark[0] not in ("draw", "made", "taken", "rebound"):
                others = _readers_of(writer, mark, readers, writers, named, takers, paths)
                if others:
                    shared.setdefault(gname, set()).update(others)
        if shared:
            steps = _couple(writer, shared, coupled)
            _warn_once(
                f"step {writer!r} changes {_state_text(shared)}, which {_steps_text(steps)} "
                f"{'read' if len(steps) > 1 else 'reads'}: state passed outside any asset, "
                f"which no key can follow (a reused {writer!r} would not change it). These "
                f"steps re-execute every run; return what {writer!r} computes as an output, "
                "and take it as an input instead")
        if settings:
            steps = _couple(writer, settings, changed)
            users = (f", which {_steps_text(steps)} {'use' if len(steps) > 1 else 'uses'}"
                     if steps else "")
            _warn_once(
                f"step {writer!r} changes {', '.join(sorted(settings))}{users}: the keys "
                f"of the steps after it counted them before it ran, steps given its objects "
                f"compute by them, and a reused {writer!r} would not set them. "
                f"{'These steps re-execute' if steps else 'It re-executes'} every run; set "
                "the settings at the top of the module instead, where every step's key "
                "counts them")
    drawing, made = _couple_drawers(writes, writers)
    for name in coupled.keys() | changed.keys() | drawing.keys() | made.keys():
        graph.fingerprints[name] = graph.fingerprints[name].merged({
            **{f"state {name}:{g}": f"{OPAQUE}{os.urandom(8).hex()}:passed between steps "
               "outside any asset" for g in sorted(coupled.get(name, ()))},
            **{f"changed {name}:{g}": f"{OPAQUE}{os.urandom(8).hex()}:changed by a step "
               "as the run goes" for g in sorted(changed.get(name, ()))},
            **{f"drawn {name}:{g}": f"{OPAQUE}{os.urandom(8).hex()}:what the other steps "
               "draw from it first moves it" for g in sorted(drawing.get(name, ()))},
            **{f"made {name}:{g}": f"{OPAQUE}{os.urandom(8).hex()}:it may have drawn "
               "since it was made" for g in sorted(made.get(name, ()))}})
    setters_ = {w for w, marks in writes.items() if any(m[0] == "settings" for m in marks)}
    _refuse_timeouts(graph, coupled, changed, setters_)


def _readers_of(writer: str, mark: tuple[Any, ...],
                readers: Mapping[tuple[Any, ...], set[str]],
                writers: Mapping[tuple[Any, ...], set[str]],
                named: Mapping[tuple[Any, ...], set[str]],
                takers: Mapping[tuple[Any, ...], set[str]],
                paths: Mapping[str, Mapping[int, tuple[Any, Any, Any]]]) -> set[str]:
    """The other steps that read what ``writer`` changes (its ``mark``). A step that
    writes it too only adds to it, as to a log: what it returns does not come from it,
    and it was fingerprinted before anything ran; unless it takes items out (then it
    gets what the others left), or reads a part the writer changes and it does not
    (``_fellow_readers``)."""
    taking = takers.get(mark, set())
    if writer in taking:
        return (readers.get(mark, set()) | writers[mark]) - {writer}
    apart = named.get(mark, set()) - taking - {writer}
    others = readers.get(mark, set()) - {writer} - apart
    if apart and mark[0] == "value":
        others |= _fellow_readers(writer, mark[1], apart, paths)
    return others


def _fellow_readers(writer: str, ident: int, fellows: Iterable[str],
                    paths: Mapping[str, Mapping[int, tuple[Any, Any, Any]]]) -> set[str]:
    """Of ``fellows``, steps that change the object ``ident`` too (by code they name, as
    steps logging to one tracker do), those that read a part of it ``writer`` changes
    and they do not change themselves (``self.w + x`` in a ``predict`` that caches its
    answers in ``self``, after a ``train`` setting ``self.w``): what they return may come
    from what ``writer`` did (paths from ``_object_takers``; either path within the
    other). What a fellow reads only where it writes too (a memo it fills by key, a
    client it makes on first use) couples nothing, as before; a writer whose changes
    no path says (a library's mutator given it) changes the whole object. What a fellow
    reads within what it fills by an ``update`` of keys its code does not write
    (``STATE.update(other)``) may be what ``writer`` set there: only what ``writer``
    fills by the same code is the fellow's own (a config two steps load once through
    one helper, ``if not CFG: CFG.update(json.load(f))``)."""
    mine = paths.get(writer, {}).get(ident)
    changed, filled = (set(mine[1]), mine[2]) if mine is not None else (set(), frozenset())
    if not changed and not filled:
        changed = {()}
    out = set()
    for step in fellows:
        theirs = paths.get(step, {}).get(ident)
        if theirs is None:
            continue
        reads, own, their_fills = theirs
        for r in reads:
            if any(within(r, w, surely=True) for w in own):
                continue  # (within what it changes itself)
            sites = {site for f, site in their_fills if within(r, f, surely=True)}
            if any(within(r, c) or within(c, r) for c in changed) or any(
                    site not in sites and (within(r, f) or within(f, r)) for f, site in filled):
                out.add(step)
                break
    return out


def _refuse_timeouts(graph: Graph, coupled: Mapping[str, set[str]],
                     changed: Mapping[str, set[str]], setters_: set[str]) -> None:
    """A step that passes state to others through this process runs in it, where the
    others see its changes (``runtime.loop._passes_state``); a ``timeout=`` runs a step
    in a process of its own, which can be killed, where it would not. Both cannot hold:
    refused before anything runs. Except the last step of the pipeline changing
    settings that only steps it depends on use, and no other step changes
    (``np.seterr`` in the last step): in its own process it computes as here, and no
    step after it could see the change."""
    for name in sorted(coupled.keys() | changed.keys()):
        timeout = graph.steps[name].timeout
        if timeout is None:
            continue
        partners = {o for o, theirs in changed.items() if o != name and theirs & changed[name]}
        last = graph.order[-1] == name  # (a step after it may be given its objects,
        # which compute by the settings it set: ``str(arr)`` of its array)
        if (name not in coupled and last and partners <= _ancestors(graph, name)
                and not partners & setters_):
            continue
        what = ", ".join(sorted(coupled.get(name, set()) | changed.get(name, set())))
        raise BuildError(
            f"step {name!r} has timeout={timeout:g} and shares {what} with other steps "
            "outside any asset: a timeout runs the step in a process of its own, so "
            "that it can be killed, where it would not see the other steps' changes, "
            "nor they its. Return the state as an output and take it as an input, or "
            "drop the timeout")


def _refuse_main_timeout(graph: Graph, name: str) -> None:
    """A step of ``__main__`` (a script's, a notebook's) whose key counts that module
    whole (it reads its globals by names known as it runs: ``eval``, ``globals()``)
    runs in the driver (``reads_main_whole``, ``runtime.loop``); a ``timeout=`` runs it in
    a process of its own, where only the globals its function names come with it:
    refused before anything runs (it failed there, each time, naming every global)."""
    step = graph.steps[name]
    if step.timeout is not None and reads_main_whole(graph.fingerprints[name]):
        raise BuildError(
            f"step {name!r} has timeout={step.timeout:g} and reads the globals of the "
            "script or notebook that defines it by names known only as it runs (eval(), "
            "globals()): a timeout runs the step in a process of its own, which has only "
            "the globals its code names. Move the step to a module of its own, name "
            "what it reads, or drop the timeout")


def reads_main_whole(fp: Fingerprint) -> bool:
    """Whether a step's key counts the driver's ``__main__`` (a script, a notebook)
    whole (``_whole_module``): its code reads the globals there by names known only as
    it runs (``eval``, ``globals()``), which a worker given the function by value with
    the globals it names does not have."""
    return any(p.startswith("module ") and p.endswith(":__main__") for p in fp.parts)


def _ancestors(graph: Graph, name: str) -> set[str]:
    """The steps ``name`` depends on, directly or not: they run before it."""
    out: set[str] = set()
    todo = list(graph.upstream.get(name, ()))
    while todo:
        step = todo.pop()
        if step not in out:
            out.add(step)
            todo.extend(graph.upstream.get(step, ()))
    return out


def _settings_users(graph: Graph, writer: str, mark: tuple[Any, ...],
                    readers: Mapping[tuple[Any, ...], set[str]]) -> set[str] | None:
    """The other steps that use the settings (process-wide state) ``writer`` changes:
    those whose key counts a library's (each writer reads the others': not a log), and
    the writer alone then too; every step for the directory relative paths start from
    and where imports are found (any step may depend on them: ``side_state``'s
    ``PROCESS_STATE``); for the environment, the steps that read it, None if none (a
    step setting a variable no step reads is only warned about)."""
    if mark[1] in side_state.PROCESS_STATE:
        return set(graph.steps) - {writer}
    others = readers.get(mark, set()) - {writer}
    if mark[1].startswith("environ "):  # the readers of that variable, or of them all
        others = others | (readers.get(("settings", "environ *"), set()) - {writer})
        return others or None
    return others


def _couple(writer: str, shared: Mapping[str, set[str]], into: dict[str, set[str]]
            ) -> list[str]:
    """Put ``writer`` and the steps ``shared`` names in ``into``; those steps, sorted."""
    steps = sorted(set().union(*shared.values()))
    for step in (writer, *steps):
        into.setdefault(step, set()).update(shared)
    return steps


def _steps_text(steps: list[str]) -> str:
    return f"{'steps' if len(steps) > 1 else 'step'} {', '.join(repr(r) for r in steps)}"


def _couple_drawers(writes: Mapping[str, dict[tuple[Any, ...], str]],
                    writers: Mapping[tuple[Any, ...], set[str]]
                    ) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The steps that draw from one random generator (step -> the generators that
    couple it), and those reaching one a caching wrapper kept from before the build
    (``side_state.kept_generator``: step -> those generators), each warned about once."""
    drawing: dict[str, set[str]] = {}
    for mark, drawers_of in writers.items():  # a generator several steps draw from
        if mark[0] != "draw" or len(drawers_of) < 2:
            continue
        gname = next(wmarks[mark] for wmarks in writes.values() if mark in wmarks)
        for step in drawers_of:
            drawing.setdefault(step, set()).add(gname)
        _warn_once(
            f"steps {', '.join(repr(s) for s in sorted(drawers_of))} draw from one random "
            f"generator ({gname if ' ' in gname else 'the global ' + gname}): what each "
            "draws depends on what the others drew before it, which no key can follow. "
            "These steps re-execute every run; give each step a generator of its own, "
            "made in it from a seed (np.random.default_rng(seed), the seed a parameter)")
    made: dict[str, set[str]] = {}
    for writer, wmarks in writes.items():  # a kept generator made before the build
        for mark, gname in wmarks.items():
            if mark[0] != "made" or writer in drawing:
                continue
            made.setdefault(writer, set()).add(gname)
            _warn_once(
                f"step {writer!r} draws from a random generator made before this build, "
                f"at import or by an earlier run in this process ({gname}): it may have "
                "drawn since, which no key can follow. The step re-executes (a new process "
                "whose import does not make it starts it afresh); give the step a "
                "generator of its own, made in it from a seed")
    return drawing, made


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        warnings.warn(text, FingerprintWarning, stacklevel=outside_stacklevel())


def _end_of_build() -> None:
    """Forget the per-build file checks (and the code compiled for them)."""
    forget_build()
    _doc_readers.clear()
    _settings_parts.clear()
    _settings_values.clear()
    _patches.clear()
    _build_marks.clear()
    _changes_memo.clear()
    _uses_memo.clear()
    side_state.forget()
    _project_listings.clear()
    _build_tokens.clear()
    _build_rng.clear()
    _build_closures.clear()
    _build_walked.clear()
    _build_shown.clear()
    _class_bodies.clear()
    _plain_modules.clear()


def flush_memo() -> None:
    """Write what this process added to the fingerprint memo (the normalized sources
    rendered while recording a run's code; ``fingerprint_graph`` flushes the rest)."""
    _MEMO.flush()


def code_ref_parts(refs: Iterable[str], root: str | os.PathLike[str], step: str
                   ) -> tuple[dict[str, str], Mapping[str, str]]:
    """Parts for the code an input artifact references by name (``module:qualname``,
    recorded from its pickle), and their sources: the artifact carries that code's
    behaviour, so it counts as if the consuming step called it."""
    ctx = _Context(Path(root), step)
    for ref in refs:
        obj = _resolve_ref(ref)
        if obj is None:
            ctx.add(f"helper {ref.replace(':', ' ')}:unresolved", "unresolved")
            continue
        _visit(ctx, obj, ref, "")
    ctx.drain()
    if ctx.unseen:
        ctx.warn_unseen()
    for name in sorted(ctx.hidden):  # (parts only: counted whatever the step does)
        ctx.add(f"rng state {name}", rng.state_digest(name))
    return ctx.parts, ctx.sources()


def value_token(value: Any) -> str:
    """A stable digest of a value, as keys take it (code it references counts by
    qualified name; a dict's order counts)."""
    try:
        return Tokenizer(ordered=True).digest(value)
    except Opaque as exc:
        return f"{OPAQUE}{os.urandom(16).hex()}:a {exc.type_name}"


def short_repr(value: Any, limit: int = 60) -> str:
    """A short display form of a parameter value for reason sentences."""
    try:
        r = repr(value)
    except Exception:
        r = f"<{type(value).__qualname__}>"
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _project_root() -> Path:
    from .project import project_root

    return project_root()


def _resolve_ref(ref: str) -> Any:
    import importlib

    module, _, qual = ref.partition(":")
    mod = sys.modules.get(module)
    if mod is None:
        try:
            mod = importlib.import_module(module)
        except Exception:
            return None
    obj: Any = mod
    for attr in qual.split("."):
        obj = getattr(obj, attr, None)
        if obj is None:
            return main_standin(qual) if module == "__main__" else None
    return obj


# --------------------------------------------------------------------------- the step


def _visit_callable(ctx: _Context, func: Any) -> None:
    """The step's own callable: its code is the ``code`` part."""
    if isinstance(func, Step):
        func = func.func
    if isinstance(func, functools.partial):
        ctx.add("partial arguments", ctx.token((func.args, func.keywords), "the partial's arguments"))
        _visit_callable(ctx, func.func)
        return
    if isinstance(func, types.MethodType) and isinstance(func.__func__, types.FunctionType):
        ctx.first_visit(func.__func__)
        _own(ctx, func.__func__)
        _step_code(ctx, func.__func__)
        owner = func.__self__
        cls = owner if isinstance(owner, type) else type(owner)
        # the class's own function of that name is this step's code (in a worker, the
        # step's function came by value and the class by reference: two objects)
        member = inspect.getattr_static(cls, func.__func__.__name__, None)
        member = getattr(member, "__func__", member)
        if isinstance(member, types.FunctionType) and _same_definition(member, func.__func__):
            ctx.first_visit(member)
            _own(ctx, member)
        if not isinstance(owner, type):
            ctx.add(f"instance {ctx.label_of(cls) or module_of(cls)}:{cls.__qualname__}",
                    ctx.token(owner, f"the {cls.__qualname__} instance"))
        _visit(ctx, cls, cls.__qualname__, "")
        return
    if isinstance(func, types.FunctionType):
        _step_code(ctx, func)
        return
    wrapped = getattr(func, "__wrapped__", None)
    if wrapped is not None:  # functools.lru_cache and other C wrappers
        ctx.library(module_of(type(func)))
        _visit_callable(ctx, wrapped)
        return
    cls = type(func)
    call = vars(cls).get("__call__") or next(
        (vars(b)["__call__"] for b in cls.__mro__ if "__call__" in vars(b)), None)
    if isinstance(call, types.FunctionType):  # a callable instance
        ctx.first_visit(call)
        _own(ctx, call)
        _step_code(ctx, call)
        ctx.add(f"instance {ctx.label_of(cls) or module_of(cls)}:{cls.__qualname__}",
                ctx.token(func, f"the {cls.__qualname__} instance"))
        _visit(ctx, cls, cls.__qualname__, "")
        return
    ctx.library(module_of(func) or module_of(cls))
    ctx.add("code", qualified_name(func))


def _own(ctx: _Context, fn: types.FunctionType) -> None:
    ctx.own.add(id(fn))
    ctx.own_fns.append(fn)


def _copy_of_own(ctx: _Context, fn: types.FunctionType) -> bool:
    """Whether ``fn`` is a copy of the step's own function: in a worker, the step's
    function and the one a value holds (``PARAMS = {"f": s.func}``, a list of steps a
    module keeps) may have travelled apart, one by value; they are the same code, with
    the same closure values and defaults, and count as the step's ``code`` on both
    sides, as the one object does in the driver."""
    for own in ctx.own_fns:
        if _same_definition(own, fn) and code_shape(own.__code__) == code_shape(
                fn.__code__) and _bound_token(own) == _bound_token(fn):
            return True
    return False


def _bound_token(fn: types.FunctionType) -> str:
    """A token of what a function holds besides its code: closure values, defaults."""
    cells = [cell_value(c) for c in fn.__closure__ or ()]
    return value_token((cells, fn.__defaults__, fn.__kwdefaults__))


def _same_definition(a: types.FunctionType, b: types.FunctionType) -> bool:
    """The same ``def`` (a function and its copy that travelled by value)."""
    return a is b or (a.__qualname__ == b.__qualname__
                      and a.__code__.co_filename == b.__code__.co_filename
                      and a.__code__.co_firstlineno == b.__code__.co_firstlineno)


def _step_code(ctx: _Context, func: types.FunctionType) -> None:
    """The step function: its own AST is ``code``; wrapper layers are helpers."""
    layers = [func]
    inner = func
    while isinstance(getattr(inner, "__wrapped__", None), types.FunctionType):
        inner = inner.__wrapped__  # type: ignore[attr-defined]
        layers.append(inner)
    ctx.first_visit(inner)
    _own(ctx, inner)
    attrs = _set_attributes(inner)
    if attrs:  # set on the step's function (``f.bonus = 1``), which it may read
        ctx.add("attributes", ctx.token(attrs, f"attributes of {inner.__qualname__}"))
    info = _info(inner, strip_decorators=True)
    ctx.add("code", info.digest,
            _info_source(info, decorators=False))
    # (not when a worker re-takes the key: it cannot tell ``@fm.step`` from another
    # decorator, see ``statecheck``, and unparsing them is most of its cost)
    for i, text in enumerate(() if ctx.rechecking else _decorator_texts(inner, info)):
        ctx.add(f"decorator {i}", text, f"@{text}")
    _follow(ctx, inner, info)
    if inner.__closure__:  # (most steps close over nothing)
        _closure_parts(ctx, inner, own=True)
    for wrapper in layers[:-1]:  # the decorators' wrappers: code and closures (times(2))
        _visit(ctx, wrapper, _qualname(wrapper), "")


def _decorator_texts(func: types.FunctionType, info: CodeInfo) -> list[str]:
    """Source of each decorator of the step function except ``@step`` itself."""
    out = []
    for i, (text, chain) in enumerate(info.decorators):
        if is_flowyml(resolve_chain(chain, func.__globals__) if chain else None):
            continue
        if text is None:  # FlowyML's when the facts were taken; not in this process
            tree = info.tree()
            decorators = getattr(tree, "decorator_list", [])
            text = ast.unparse(decorators[i]) if i < len(decorators) else repr(chain)
        out.append(text)
    return out


# --------------------------------------------------------------------------- visiting


def _unreadable(ctx: _Context, obj: Any, name: str, where: str) -> bool:
    """A proxy whose ``__class__`` raises (werkzeug's ``LocalProxy`` outside its
    context): nothing about it can be read at build, so it counts as a new value each
    run (the step re-executes, with a warning)."""
    try:
        obj.__class__  # noqa: B018 - a proxy's runs code
        return False
    except Exception as exc:  # (``_returned_mark`` skips it: its readers re-execute)
        ctx.warn(f"{name} (a {type(obj).__qualname__}) cannot be fingerprinted (reading it "
                 f"raised {type(exc).__name__}); the step re-executes on every run. Create "
                 "it inside the step")
        ctx.add(f"constant {where or '?'}:{name}", f"{OPAQUE}{os.urandom(16).hex()}")
        return True


def _visit(ctx: _Context, obj: Any, name: str, where: str) -> None:
    """Anything the code reaches: code by source (own) or version (library); data by value."""
    if _unreadable(ctx, obj, name, where):
        return
    if isinstance(obj, Step):  # its function, and its declaration and attributes, by value
        func, state = obj.__flowyml_code__()
        key = f"step {where or '?'}:{name}"
        if ctx.first_count(key, obj):
            ctx.add(key, ctx.token(state, f"the declaration of step {name}"),
                    value_source(f"{name} (step)", state))
        obj = func
    if type(obj) is not types.FunctionType and isinstance(obj, types.FunctionType) and (
            _visit_proxy(ctx, obj, name, where)):
        return
    if callable(obj):
        obj = _native_reader(ctx, obj, name)
    if isinstance(obj, types.ModuleType):
        _visit_module(ctx, obj)
    elif isinstance(obj, types.FunctionType):
        _visit_function(ctx, obj, "helper")
    elif isinstance(obj, type):
        _visit_class(ctx, obj, where)
    elif isinstance(obj, (types.BuiltinFunctionType, types.MethodWrapperType,
                          types.MethodDescriptorType, types.WrapperDescriptorType)):
        _visit_builtin(ctx, obj, name, where)
    elif any(obj is s for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)):
        ctx.library("python")  # a stream written to: output, not an input (``print`` too)
    elif _worker_pool(obj):  # (it holds locks and queues, no data the step reads)
        ctx.library(module_of(type(obj)))
    elif callable(obj) and _static_attr(obj, "__wrapped__") is not None and not isinstance(
        obj, types.MethodType
    ) and not _is_type_alias(obj):
        cls = type(obj)  # functools.lru_cache and other C-level wrappers
        mine = ctx.label_of(cls) is not None  # a decorator class of the user's own
        # (``functools.update_wrapper(self, fn)``): its ``__call__`` and state count, under
        # each name the instance is read by
        key = f"instance {where or '?'}:{name}"
        if mine and ctx.first_count(key, obj):
            ctx.add(key, ctx.token(obj, f"the {cls.__qualname__} instance {name}"))
        if ctx.first_visit(obj):
            if mine:
                _visit_class(ctx, cls)
            else:
                ctx.library(module_of(cls))
                _wrappers_code(ctx, obj, _static_attr(obj, "__wrapped__"))
            _visit(ctx, _static_attr(obj, "__wrapped__"), name, where)
    elif _is_native_callable(obj) and not _is_type_alias(obj):  # a Cython function, a
        # ufunc: known by module and name (scipy's ufuncs by the module that has them)
        home = module_of(obj) or _native_home(obj)
        mod = sys.modules.get(home)
        if mod is not None and ctx.label_of(mod) is not None:
            _visit_module(ctx, mod)  # a compiled module of the user's own
        else:
            ctx.library(home)
    else:
        key = f"constant {where or '?'}:{name}"
        if id(obj) not in ctx.tokenizing and ctx.first_count(key, obj):
            # by name and object: equal small values share one object, and one name
            # may be two objects (``cfg.X`` of a module imported as ``cfg`` inside one
            # helper, and of the global ``cfg`` in another), both counted; a value met
            # again inside its own token (a callable known by name) is already counted
            ctx.tokenizing.add(id(obj))
            try:
                # the repr first, in a worker too: one that fills a memo of the object
                # (a SQLAlchemy Table's description) changes what the token sees
                shown = _shown(name, obj)
                ctx.add(key, ctx.token(obj, f"constant {name}"), shown)
            finally:
                ctx.tokenizing.discard(id(obj))
            if ctx.generators is not None and _is_generator(obj):
                ctx.generators.add(key)


def _native_reader(ctx: _Context, obj: Any, name: str) -> Any:
    """The library's reader behind FlowyML's wrapper (``native_reads``: it records the
    files a reader opens outside Python): keys are those of the library's function.
    The library's own function, bound before it was wrapped (in a value made at import,
    or by ``from ... import`` in a module other than the steps', see ``native_reads``),
    may read unseen (``native_reads.unwatched``): the step re-executes on every run,
    with a warning."""
    unwatched = native_reads.unwatched(obj)
    if unwatched is not None:
        ctx.warn(f"{name} is {unwatched}, which opens files outside Python, bound before "
                 "FlowyML could watch its calls (in a value made before the pipeline was "
                 "built, or by `from ... import` in a module other than the steps'): the "
                 "files it reads cannot be recorded, so the step re-executes on every run. "
                 f"Call it through its module (`{_module_hint(unwatched)}(...)`), or "
                 "declare the file with fm.DataFile")
        ctx.add(f"reader {name}", f"{OPAQUE}{os.urandom(16).hex()}:reads files unseen")
        return obj
    return wrappers.original(obj)


def _module_hint(dotted: str) -> str:
    """``pl.read_csv`` for ``polars.read_csv``: as its library's users write it."""
    module, attr = dotted.rsplit(".", 1)
    short = {"polars": "pl", "pyarrow.parquet": "pq", "numpy": "np", "pyarrow": "pa",
             "pandas": "pd", "pyarrow.dataset": "ds"}
    return f"{short.get(module, module)}.{attr}"


def _visit_builtin(ctx: _Context, obj: Any, name: str, where: str) -> None:
    """A function or method written in C: its library's version, or the binary of a
    compiled module of the user's; a method of a ``random.Random`` also its state."""
    owner = getattr(obj, "__self__", None)
    module = module_of(obj) or (module_of(type(owner)) if owner is not None else "builtins")
    if _users_extension(ctx, module):
        return
    ctx.library(module or "builtins")
    rnd = sys.modules.get("random")
    if rnd is not None and isinstance(owner, rnd.Random):
        # random.random() is a method of a hidden generator: what it returns depends on
        # that generator's state (random.seed(7) at import), which counts as a value
        key = f"rng {where or '?'}:{name}"
        if ctx.first_count(key, owner):
            ctx.add(key, ctx.token(owner, f"the generator behind {name}"))


def _users_extension(ctx: _Context, module: str | None) -> bool:
    """Whether ``module`` (a builtin function's) is a compiled module of the user's,
    built in the project: then its binary counts (``_visit_module``), not a library
    version, which it has none of."""
    ext = sys.modules.get(module or "")
    if ext is None or not (getattr(ext, "__file__", None) or "").endswith((".so", ".pyd")):
        return False
    if ctx.label_of(ext) is None:
        return False
    _visit_module(ctx, ext)
    return True


_WORKER_POOLS = frozenset({  # the standard library's pools a step runs work on
    ("concurrent.futures.thread", "ThreadPoolExecutor"),
    ("concurrent.futures.process", "ProcessPoolExecutor"),
})


def _worker_pool(obj: Any) -> bool:
    """A pool the step submits work to (a ``ThreadPoolExecutor``, not a subclass of the
    user's): workers, not an input; its locks and queues have no canonical form, so as
    a value it re-executed the step every run. (A console is not one: what a rich
    ``Console`` records and its width are what ``export_text`` returns.)"""
    t = type(obj)
    return (t.__module__, t.__qualname__) in _WORKER_POOLS and _attr(
        obj, "_initializer") is None  # (code of the user's sets up its workers)


def _visit_proxy(ctx: _Context, obj: Any, name: str, where: str) -> bool:
    """A proxy passing for the function it wraps (``@wrapt.decorator``'s FunctionWrapper
    sets ``__class__``): the library's, or its class of the user's (a
    ``wrapt.ObjectProxy`` subclass's ``__call__``), with the user's wrapper, then what
    it wraps. False when it wraps nothing (then it is visited as what it says it is)."""
    wrapped = _attr(obj, "__wrapped__")
    if wrapped is None or wrapped is obj:
        return False
    if ctx.first_visit(obj):
        cls = type(obj)
        # (wrapt's own classes say the module ``_wrappers``, not imported under that
        # name, which ``label_of`` takes for a notebook's)
        if sys.modules.get(cls.__module__) is not None and ctx.label_of(cls) is not None:
            _visit_class(ctx, cls)
        else:
            ctx.library(cls.__module__)
        _wrappers_code(ctx, obj, wrapped)
    _visit(ctx, wrapped, name, where)
    return True


def _is_generator(obj: Any) -> bool:
    """A random generator, or one of its methods (``np.random.rand``): state that
    every draw advances."""
    return rng.is_generator_type(type(_attr(obj, "__self__", obj)))


def _qualname(fn: Any) -> str:
    """The name the code was defined under (``functools.wraps`` copies the wrapped
    function's ``__qualname__`` onto the wrapper)."""
    return str(getattr(getattr(fn, "__code__", None), "co_qualname", None) or fn.__qualname__)


def _visit_module(ctx: _Context, mod: types.ModuleType) -> None:
    label = user_label(ctx.root, mod.__name__, getattr(mod, "__file__", None))
    if label is None:
        ctx.library(mod.__name__)
        return
    file = getattr(mod, "__file__", None) or ""
    if file.endswith((".so", ".pyd")):
        if ctx.first_visit(mod):
            from .hashing import hash_file

            ctx.warn(f"compiled module {label} is the user's own: its binary's hash counts, "
                     "not its source")
            ctx.add(f"extension {label}:{mod.__name__}", hash_file(file))
        return
    # a user module referenced as a whole (passed around, or read with a name
    # the fingerprint cannot follow): all of it counts
    _whole_module(ctx, mod, label)


def _whole_module(ctx: _Context, mod: types.ModuleType, label: str) -> None:
    if not ctx.first_visit(mod):
        return
    from .code_analysis import digest_and_refs

    try:
        src = inspect.getsource(mod)
        tree: ast.AST | None = ast.parse(src)
    except (OSError, TypeError, SyntaxError):
        tree = None
    ctx.add(f"module {label}:{mod.__name__}",
            digest_and_refs(tree)[0] if tree is not None else "no source",
            _tree_source(tree) if tree is not None else None)
    # Everything a name can reach from here counts as it is now, not as the text says:
    # a global rebound or mutated since the import, a user module imported here
    # (``eval("helpers.f(x)")``), a value with no canonical form (which re-executes).
    for gname, value in list(vars(mod).items()):
        if (gname.startswith("__") and gname.endswith("__")) or (
                label == NOTEBOOK and _is_ipython_name(gname)):
            continue
        # (``is_a``: a proxy's ``__class__`` runs its code, which may raise)
        if is_a(value, (types.FunctionType, type)) and ctx.label_of(value) is None:
            ctx.library(module_of(value) or "builtins")  # a library's: by its version
            continue
        if not is_a(value, Step) and type(value).__module__.startswith("flowyml."):
            continue  # a Pipeline, a Run: handles of this framework, not the step's data
        _visit(ctx, value, gname, label)


_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "_ih", "_oh", "_dh",
                            "_", "__", "___", "_i", "_ii", "_iii"})


def _is_ipython_name(name: str) -> bool:
    """A name IPython keeps in a notebook's namespace (its input and output history):
    not the user's state, and different after every cell."""
    return name in _IPYTHON_NAMES or (
        name[:1] == "_" and name.lstrip("_i").isdigit() and name.count("i") <= 1)


def _visit_function(ctx: _Context, fn: types.FunctionType, kind: str, key: str | None = None) -> None:
    if fn.__code__.co_filename.startswith(_ATTRS_GENERATED):
        # attrs' __init__, __repr__, __eq__ of a class of yours: made from the class's
        # fields (its body counts) by attrs (its version counts); its globals hold
        # attrs' own state, a thread-local that no token can take
        ctx.library("attr")
        return
    label = ctx.label_of(fn)
    if label is None:
        ctx.library(fn.__module__ or "builtins", fn.__code__.co_filename)
        ctx.reads_text |= _TEXT_READERS.get((module_of(fn), _qualname(fn)), 0)
        if ctx.first_visit(fn):
            # a library wrapper around user code (contextlib.contextmanager,
            # functools.singledispatch and its registry): the user code counts
            _function_attributes(ctx, fn, module_of(fn) or "?")
            wrapped = getattr(fn, "__wrapped__", None)
            if wrapped is not None:
                _visit(ctx, wrapped, getattr(wrapped, "__qualname__", "?"), "")
                _wrappers_code(ctx, fn, wrapped)
                if fn.__closure__ and fn.__globals__.get("__name__") == "contextlib":
                    _entered_context(ctx, fn, wrapped)
                elif isinstance(wrapped, types.FunctionType) and wrapped.__annotations__:
                    _wrapped_annotations(ctx, wrapped)
        return
    name = key or f"{kind} {label}:{_qualname(fn)}"
    if ctx.own_fns and id(fn) not in ctx.seen and _copy_of_own(ctx, fn):
        ctx.first_visit(fn)
        ctx.own.add(id(fn))  # a copy of the step's own function: its ``code`` too
        return
    if not ctx.first_visit(fn):
        # the same code under another name (a method also called as a helper): that
        # name counts too, whichever way the code was reached first
        if id(fn) not in ctx.own and ctx.first_count(name, fn):
            _name_part(ctx, name, fn)
        return
    ctx.counted.add((name, id(fn)))
    info = _name_part(ctx, name, fn)
    if ctx.captured is None:  # reached from the step
        hit = ctx.closures.get(id(fn))
        if hit is not None and hit[0] is fn:
            ctx.merge(hit[1])
            return
        if id(fn) in ctx.walked:  # a second step reaches it: its closure, made once
            ctx.merge(_closure_of(ctx, fn, label, info))
            return
        ctx.walked[id(fn)] = fn  # the first: walked in the step's own context
    ctx.pending.append((fn, label, info))  # walked when the current walk returns


def _wrappers_code(ctx: _Context, wrapper: Any, wrapped: Any) -> None:
    """The user's code a library's wrapper calls besides the function it wraps: the
    ``caller`` of the ``decorator`` package's ``@decorator`` (a cell of the wrapper's
    closure), the wrapper function of ``@wrapt.decorator`` (``_self_wrapper``). Only
    code of the user's counts here (the library's own cells are its version)."""
    held = [v for v in (_attr(wrapper, "_self_wrapper"), _attr(wrapper, "_self_enabled"))
            if v is not None]  # (wrapt's ``enabled=`` may be a function of the user's)
    for cell in getattr(wrapper, "__closure__", None) or ():
        try:
            held.append(cell.cell_contents)
        except ValueError:  # an empty cell
            continue
    for value in held:
        code = _attr(value, "__func__", value)  # (a bound method: its function)
        if value is not wrapped and isinstance(code, (types.FunctionType, type)) and (
                ctx.label_of(code) is not None):
            _visit(ctx, value, _qualname(code) if isinstance(code, types.FunctionType)
                   else code.__qualname__, "")


def _wrapped_annotations(ctx: _Context, fn: types.FunctionType) -> None:
    """The annotations of a user function a library's decorator wraps, by value: such a
    wrapper may act on them at every call (pydantic's ``@validate_call`` validates and
    converts each argument to its annotated type, ``Annotated[int, AfterValidator(f)]``
    runs ``f``), so a model's fields, an alias (``Num = float``) or a validator count."""
    label = ctx.label_of(fn)
    if label is None:
        return
    try:
        hints: Any = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # a name it cannot resolve: the annotations as written
        hints = dict(fn.__annotations__)
    ctx.add(f"annotations {label}:{_qualname(fn)}",
            ctx.token(hints, f"the annotations of {_qualname(fn)}"))
    for hint in hints.values():  # the classes of the user's they name: their code
        for cls in _classes_in(hint):
            _visit(ctx, cls, cls.__qualname__, label)


def _classes_in(hint: Any) -> list[type]:
    """The classes a type hint names (``Config``, ``list[Config]``, ``Annotated[...]``)."""
    out: list[type] = []
    todo = [hint]
    while todo and len(out) < 64:
        h = todo.pop()
        if isinstance(h, type):
            out.append(h)
        todo.extend(typing.get_args(h))
    return out


def _entered_context(ctx: _Context, fn: types.FunctionType, wrapped: Any) -> None:
    """A context manager used as a decorator (``ContextDecorator``: ``@contextmanager``
    functions of the user's, ``@np.printoptions(precision=P)``, ``@pd.option_context``):
    contextlib's wrapper enters it around every call, so what it sets counts. A
    generator-based one counts by its function's code and its arguments' values (its
    generator, made once, has no token), any other by value (its class's code too)."""
    key = f"context {module_of(wrapped) or '?'}:{_qualname(wrapped)}"
    for cell in fn.__closure__ or ():
        try:
            cm = cell.cell_contents
        except ValueError:
            continue
        if cm is wrapped or isinstance(cm, types.FunctionType):
            continue  # the decorated function (visited as ``__wrapped__``)
        gen_func = _attr(cm, "func")
        if module_of(type(cm)) == "contextlib" and callable(gen_func) and hasattr(cm, "kwds"):
            _visit(ctx, gen_func, _qualname(gen_func), "")
            ctx.add(key, ctx.token((_attr(cm, "args"), _attr(cm, "kwds")),
                                   f"the arguments of the context around {_qualname(wrapped)}"))
        else:
            ctx.add(key, ctx.token(cm, f"the context around {_qualname(wrapped)}"))


def _name_part(ctx: _Context, name: str, fn: types.FunctionType) -> CodeInfo:
    """The part naming user function ``fn``'s code (``helper x.py:f``), and which
    function it names: a closure merged into the step whose own function it is leaves
    it out (the step's own code is its ``code`` part, as when the step walks alone)."""
    info = _info(fn, strip_decorators=False)
    ctx.owned(fn, name, info.digest, _info_source(info, True))
    return info


def _closure_of(ctx: _Context, fn: types.FunctionType, label: str, info: CodeInfo) -> _Context:
    """Everything the user function ``fn`` reaches, beyond its own code, walked in a
    context of its own, once per build: the second step that reaches ``fn`` makes it
    (the first walked ``fn`` in its own context, as a fingerprint outside a build
    does), and every later one adds it instead of walking it again. Inside it, the
    functions met are walked there, from a worklist: a chain of helpers is walked once,
    not once per link, and at any depth. What a walk counts does not depend on the
    order it meets things in (each name that code or a value is reached by counts), so
    adding closures gives the parts one walk gives."""
    sub = ctx.sub()
    sub.seen.add(id(fn))
    sub.keep.append(fn)
    sub.pending.append((fn, label, info))
    ctx.closures[id(fn)] = (fn, sub.drain())
    return sub


def _function_body(ctx: _Context, fn: types.FunctionType, label: str, info: CodeInfo) -> None:
    """What a user function reaches: its attributes, globals, closure cells, the
    function it wraps, its defaults."""
    _function_attributes(ctx, fn, label)
    _follow(ctx, fn, info)
    if fn.__closure__:
        _closure_parts(ctx, fn, own=False)
    wrapped = getattr(fn, "__wrapped__", None)
    if wrapped is not None:  # (``_attr``: a proxy's attribute may raise)
        _visit(ctx, wrapped, _attr(wrapped, "__qualname__", "?"), label)
    if fn.__defaults__ or fn.__kwdefaults__:
        ctx.owned(fn, f"defaults {label}:{_qualname(fn)}",
                  ctx.token((fn.__defaults__, fn.__kwdefaults__), f"defaults of {fn.__qualname__}"),
                  value_source(f"{fn.__qualname__}.__defaults__",
                               (fn.__defaults__, fn.__kwdefaults__)))


_ATTRS_GENERATED = "<attrs generated"  # the file name attrs compiles its methods under


def _set_attributes(fn: types.FunctionType) -> dict[str, Any]:
    """The attributes set on ``fn`` (``f.registry``), not those ``functools.wraps`` copied."""
    attrs = vars(fn)
    return {k: v for k, v in attrs.items() if k not in WRAPS_ATTRS} if attrs else {}


def _function_attributes(ctx: _Context, fn: types.FunctionType, label: str) -> None:
    """Attributes set on a function object (``f.registry``, ``f.cache = {...}``) count
    by value, and the code they hold is visited."""
    attrs = _set_attributes(fn)
    if attrs:
        ctx.owned(fn, f"attributes {label}:{_qualname(fn)}",
                  ctx.token(attrs, f"attributes of {fn.__qualname__}"))


_SKIP_CLASS_ATTRS = frozenset({
    "__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__firstlineno__",
    "__static_attributes__", "__annotations__", "__orig_bases__", "__parameters__",
    "__slots__", "__match_args__", "__abstractmethods__", "_abc_impl", "__hash__",
    "__dataclass_params__", "__dataclass_fields__", "__annotate_func__",
    "__annotations_cache__", "__type_params__",
})


def _visit_class(ctx: _Context, cls: type, where: str = "") -> None:
    label = ctx.label_of(cls)
    if label is None and where and _made_by_a_factory(cls):
        label = where  # the user's code made it: counted as the user's class
    if label is None:
        ctx.library(module_of(cls))
        ctx.reads_text |= _TEXT_READERS.get((module_of(cls), cls.__qualname__), 0)
        if ctx.first_visit(cls):
            for member in _patched_in(ctx, cls):
                _visit(ctx, member, getattr(member, "__qualname__", "?"), "")
        return
    if not ctx.first_visit(cls):
        return
    qual = cls.__qualname__
    body = _class_body(cls)
    if body is not None:
        ctx.add(f"class {label}:{qual}", body.digest, body.source)
        # names the class body reads at import (bases, decorators, attribute values)
        _follow_class_body(ctx, cls, body, label)
    if body is None:  # made by a call (``type("E", (ValueError,), {})``): its bases, which
        # a class statement's text names, and a library's count by version only
        ctx.add(f"bases {label}:{qual}", hash_text(*map(qualified_name, cls.__bases__)),
                f"{qual} bases: {', '.join(map(qualified_name, cls.__bases__))}")
    if body is None or _keeps_fields_apart(cls):
        # made by a call, not a class statement, or a pydantic/attrs class, which keeps
        # its defaults and converters out of its attributes (and a body's names may be
        # a function's locals, a name deleted or rebound since): its fields, by value
        fields = _declared_fields(cls)
        if not fields and body is None:  # no text of it found (a ``NamedTuple`` or
            # ``TypedDict`` of a notebook cell, without methods to find its cell by; one
            # made by a call): its annotations, which ``get_type_hints`` reads
            fields = dict(inspect.get_annotations(cls))
        if fields:
            ctx.add(f"attribute {label}:{qual}.<fields>",
                    ctx.token(fields, f"the fields of {qual}"),
                    value_source(f"{qual} fields", fields))
    own_doc = _reads_own_doc(cls)
    if own_doc or _library_reads_doc(cls):
        doc = cls.__doc__
        if not own_doc and isinstance(doc, str) and _only_pydantic_reads_doc(cls):
            doc = inspect.cleandoc(doc)  # what pydantic reads: a formatter's re-indent of
            # the text (ruff format, black) is no change to it
        ctx.add(f"docstring {label}:{qual}", ctx.token(doc, f"the docstring of {qual}"),
                value_source(f"{qual}.__doc__", doc))
    registered = _abc_registered(cls)
    if registered:  # ``Numeric.register(float)``: what ``isinstance(x, Numeric)`` answers
        ctx.add(f"registered {label}:{qual}", hash_text(*registered),
                f"{qual} registered: {', '.join(registered)}")
    for base in cls.__bases__:
        if base is not object:
            _visit(ctx, base, base.__qualname__, label)
    meta = type(cls)
    if meta is not type:
        _visit(ctx, meta, meta.__qualname__, label)
    copyreg = sys.modules.get("copyreg")
    reducer = copyreg.dispatch_table.get(cls) if copyreg is not None else None
    if reducer is not None:  # ``copyreg.pickle(cls, f)``: how copy and pickle remake it
        _visit(ctx, reducer, f"copyreg reducer of {qual}", label)
    for name, member, target in _class_members(cls):
        if isinstance(member, property):
            for acc in (member.fget, member.fset, member.fdel):
                if isinstance(acc, types.FunctionType):
                    _visit_function(ctx, acc, "method", f"method {label}:{qual}.{name}")
            continue
        if isinstance(target, types.FunctionType):
            target = _native_reader(ctx, target, f"{qual}.{name}")  # (``reader = pq.read_table``)
            _visit_function(ctx, target, "method", f"method {label}:{qual}.{name}")
        elif isinstance(target, type):
            _visit(ctx, target, name, label)
        else:  # a value (of a staticmethod: what it wraps, np.mean, which pickles); a
            # dunder that is code wrapped some other way than a function (a cached
            # ``__call__``, a ``singledispatchmethod`` or ``partialmethod`` operator, a
            # descriptor of the user's): as under any other name
            ctx.add(f"attribute {label}:{qual}.{name}",
                    ctx.token(target, f"class attribute {qual}.{name}"),
                    value_source(f"{qual}.{name}", target))


def _abc_registered(cls: type) -> list[str]:
    """The classes registered as virtual subclasses of ``cls`` or of its subclasses
    (``ABC.register``; ``Real.register(float)`` makes ``isinstance(1.5, Numeric)`` true
    for ``class Real(Numeric)``), by qualified name: ``isinstance`` and ``issubclass``
    answer by them, and a registration is a statement of a module, no function's code."""
    if "_abc_impl" not in vars(cls):
        return []
    out: list[str] = []
    todo, seen = [cls], {cls}
    while todo:
        c = todo.pop()
        here = [qualified_name(r) for r in _registry(c)]
        out += here if c is cls else [f"{qualified_name(c)}: {r}" for r in here]
        subs: list[type] = type.__subclasses__(c)
        for sub in subs:
            if sub not in seen and "_abc_impl" in vars(sub) and not _replaced(sub):
                seen.add(sub)
                todo.append(sub)
    return sorted(out)


def _replaced(cls: type) -> bool:
    """Whether its module now has another class under ``cls``'s name (a notebook cell
    run again: the old class stays among its base's subclasses until collected)."""
    if "." in cls.__qualname__:
        return False
    now = getattr(sys.modules.get(cls.__module__), cls.__name__, cls)
    return now is not cls and isinstance(now, type)


def _registry(cls: type) -> list[type]:
    """The classes registered with the ABC ``cls`` itself."""
    import weakref

    try:
        import _abc

        refs: Iterable[Any] = _abc._get_dump(cls)[0]
    except (ImportError, AttributeError, TypeError):  # (the pure-Python ``_py_abc``)
        refs = getattr(cls, "_abc_registry", ())
    classes = [r() if isinstance(r, weakref.ref) else r for r in refs]
    return [c for c in classes if c is not None]


def _class_members(cls: type) -> Iterator[tuple[str, Any, Any]]:
    """``(name, member, target)`` of what ``cls``'s own namespace holds that counts:
    code written in it (a function; a static or class method's, a cached property's;
    a property, whose accessors the caller takes) and values, not the class
    machinery's (``_SKIP_CLASS_ATTRS``, enum's tables, a library's dunder data)."""
    is_enum = any(module_of(b) == "enum" for b in cls.__mro__[1:])
    for name, member in list(vars(cls).items()):
        if (name in _SKIP_CLASS_ATTRS or (is_enum and name.startswith("_") and name.endswith("_"))
                ) and not _written_method(member):
            continue  # the class machinery's (enum's tables), not code written in it
        target = member
        if isinstance(member, (staticmethod, classmethod)):
            target = member.__func__
        elif isinstance(member, functools.cached_property):
            target = member.func
        if (not isinstance(member, property) and not isinstance(target, (types.FunctionType, type))
                and name.startswith("__") and name.endswith("__") and not _carries_code(target)):
            continue  # the machinery's data (a library's ``__pydantic_fields__``)
        yield name, member, target


_MACHINERY_DESCRIPTORS = (types.GetSetDescriptorType, types.MemberDescriptorType,
                          types.WrapperDescriptorType, types.MethodDescriptorType,
                          types.BuiltinFunctionType)


def _carries_code(member: Any) -> bool:
    """A class's dunder member that holds code of the user's, other than a plain
    function: something callable or a descriptor (``functools.cache`` on
    ``__getitem__``, ``partialmethod`` or ``singledispatchmethod`` as an operator, a
    decorator class of the user's on ``__len__``), not the type machinery's slots and
    descriptors, nor a library's."""
    if isinstance(member, _MACHINERY_DESCRIPTORS) or member is None:
        return False
    if not (callable(member) or hasattr(type(member), "__get__")):
        return False
    return (maybe_users(type(member))  # a decorator class of the user's
            or module_of(type(member)) == "functools"
            or isinstance(_attr(member, "__wrapped__"), types.FunctionType))


def _made_by_a_factory(cls: type) -> bool:
    """A class ``dataclasses.make_dataclass`` or ``types.new_class`` made: on Python
    3.11 its ``__module__`` says ``types``, which does not hold it."""
    return module_of(cls) == "types" and getattr(types, cls.__qualname__, None) is not cls


def _keeps_fields_apart(cls: type) -> bool:
    """A pydantic model or an attrs class: its fields' defaults, factories and
    converters are not class attributes."""
    own = vars(cls)
    return isinstance(own.get("__pydantic_fields__"), dict) or "__attrs_attrs__" in own


def _declared_fields(cls: type) -> dict[str, Any]:
    """The fields a class declares where its attributes do not show them (a class made
    by ``make_dataclass``, ``attr.make_class`` or pydantic's ``create_model``; any
    pydantic model or attrs class): type, default and default factory of each, and an
    attrs field's converter and validator."""
    out: dict[str, Any] = {}
    for name, f in (vars(cls).get("__dataclass_fields__") or {}).items():
        out[name] = (f.type, _or_none(f.default), _or_none(f.default_factory))
    model = vars(cls).get("__pydantic_fields__")
    if isinstance(model, dict):
        for name, info in model.items():
            out[name] = (getattr(info, "annotation", None), _or_none(getattr(info, "default", None)),
                         getattr(info, "default_factory", None))
    for a in vars(cls).get("__attrs_attrs__") or ():
        default = _or_none(getattr(a, "default", None))
        factory = getattr(default, "factory", None)  # attr.Factory(f): its function
        out[getattr(a, "name", "?")] = (
            getattr(a, "type", None), factory if callable(factory) else default,
            getattr(a, "converter", None), getattr(a, "validator", None))
    return out


def _or_none(value: Any) -> Any:
    """A default, or None for the markers that say there is none (dataclasses'
    ``MISSING``, pydantic's ``PydanticUndefined``: singletons without a canonical form)."""
    return None if type(value).__name__ in ("_MISSING_TYPE", "PydanticUndefinedType",
                                            "_Nothing") else value


def _written_method(member: Any) -> bool:
    """A method written in the class's text (an Enum's ``_missing_`` or ``__str__``, a
    class's ``__hash__``), not one generated by ``exec`` (a dataclass's ``__hash__``)."""
    fn = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
    if not isinstance(fn, types.FunctionType):
        return False
    filename = fn.__code__.co_filename
    return not filename.startswith("<") or is_notebook_file(filename)


def _patched_in(ctx: _Context, cls: type) -> list[Any]:
    """Code of the user's own that a library class holds: a function assigned to it
    (``pd.DataFrame.total = total``), a class kept by an object it holds (pandas'
    ``register_dataframe_accessor``), or a function in a registry dict it holds
    (PyYAML's ``SafeLoader.add_constructor``). Scanned once per class per build."""
    hit = _patches.get(cls)
    if hit is None:
        hit = []
        own = str(_attr(cls, "__module__") or "").partition(".")[0]  # (its own: not yours)
        try:
            members = list(vars(cls).values())
        except TypeError:
            members = []
        for member in members:
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            inner = [member]
            if type(member) is dict:  # a registry: name -> handler
                inner = list(member.values()) if len(member) <= 10_000 else []
            elif not isinstance(member, (types.FunctionType, type)):
                try:  # a library's placeholder may raise on any attribute (pydantic's)
                    held = object.__getattribute__(member, "__dict__")
                except Exception:
                    held = None
                inner = list(held.values()) if isinstance(held, dict) else []
            hit += [m for m in inner if isinstance(m, (types.FunctionType, type))
                    and str(_attr(m, "__module__") or "").partition(".")[0] != own
                    and ctx.label_of(m) is not None]
        _patches[cls] = hit
    return hit


_patches: dict[type, list[Any]] = {}  # this build's ``_patched_in`` answers


# the classes of the objects a library hands out, which a step uses without naming them
# (``pd.read_csv(...).stats.spread()``, an input DataFrame): code of yours they hold (an
# accessor registered on them, a function assigned to them) counts for every step that
# reaches the library, or is given its objects (``settings_parts``)
_VALUE_CLASSES: dict[str, tuple[str, ...]] = {
    "pandas": ("DataFrame", "Series", "Index"),
    "polars": ("DataFrame", "LazyFrame", "Series", "Expr"),
}


def _library_patches(ctx: _Context, top: str) -> None:
    mod = sys.modules.get(top)
    for name in _VALUE_CLASSES.get(top, ()):
        cls = getattr(mod, name, None)
        if isinstance(cls, type) and ctx.first_visit(cls):  # (a library's class)
            for member in _patched_in(ctx, cls):
                _visit(ctx, member, getattr(member, "__qualname__", "?"), "")


def _class_ast(cls: type) -> ast.AST | None:
    """The class body with method bodies removed (methods count as their own parts);
    the bodies of every class statement it may have been made by, when its file has
    several of its name and none is told to be the one that ran (``class_source``)."""
    node = class_node(cls)
    if node is None:
        return None
    for each in node.body if isinstance(node, ast.Module) else (node,):
        assert isinstance(each, ast.ClassDef)
        for stmt in each.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                stmt.body = [ast.Pass()]
    return node


@struct
class _ClassBody:
    """What a class's own text says (its body, methods as ``pass``), taken once per
    class per build: every step that reaches the class (each method of a class that is
    a step) reads it, and ``inspect.getsource`` of a class parses its whole module."""

    tree: ast.AST
    digest: str
    chains: list[tuple[str, ...]]
    local_names: set[str]
    env: frozenset[str] | None  # ``_class_env_reads``
    module: types.ModuleType | None
    rendered: str | None = None

    def source(self) -> str:
        """The body's normalized source, rendered once (each executed step's record
        that reaches the class asks for it)."""
        if self.rendered is None:
            render = _tree_source(self.tree, stubs=True)
            assert render is not None
            self.rendered = render_source(render)
        return self.rendered


def _class_body(cls: type) -> _ClassBody | None:
    if cls in _class_bodies and _sharing():
        return _class_bodies[cls]
    tree = _class_ast(cls)
    body = None
    if tree is not None:
        from .code_analysis import digest_and_refs

        digest, chains = digest_and_refs(tree)
        chains += _string_annotation_refs(tree)
        module = sys.modules.get(module_of(cls))
        body = _ClassBody(
            tree, digest, chains,
            {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)},
            _class_env_reads(tree, vars(module)) if module is not None else None, module)
    if _sharing():
        _class_bodies[cls] = body
    return body


_class_bodies: dict[type, _ClassBody | None] = {}  # this build's, by class


def _string_annotation_refs(tree: ast.AST) -> list[tuple[str, ...]]:
    """The names that the string annotations of a class body read (``inner: "Inner"``,
    ``x: "Num"``): pydantic and dataclasses look them up in the class's module, as its
    code looks up its names, though only a string says them."""
    from .code_analysis import digest_and_refs

    out: list[tuple[str, ...]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.AnnAssign, ast.arg)):
            ann = node.annotation
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            ann = node.returns
        else:
            continue
        for c in ast.walk(ann) if ann is not None else ():
            if isinstance(c, ast.Constant) and isinstance(c.value, str):
                try:
                    out += digest_and_refs(ast.parse(c.value.strip(), mode="eval"))[1]
                except (SyntaxError, ValueError, RecursionError):
                    continue  # not an expression: a plain string in ``Literal[...]``
    return out


def _follow_class_body(ctx: _Context, cls: type, body: _ClassBody, label: str) -> None:
    module = body.module
    if module is None:
        return
    globs = vars(module)
    local_names, chains, env = body.local_names, body.chains, body.env
    for var in sorted(env or ()):  # the value the class body read, or its absence
        ctx.add(f"env {var}", ctx.token(os.environ.get(var), f"environment variable {var}"))
    for chain in chains:
        if chain[0] in local_names:
            continue
        if chain[0] not in globs:
            ctx.unresolved.add(chain[0])
            continue
        obj, dotted = _walk_modules(globs[chain[0]], chain)
        if env is not None and (obj is os.environ or obj is os.getenv):
            continue  # read by literal names only: those count (above)
        if obj is not None and obj is not cls:
            _visit(ctx, obj, dotted, label)
            _binding(ctx, globs[chain[0]], obj, dotted, label)


def _class_env_reads(tree: ast.AST, globs: Mapping[str, Any]) -> frozenset[str] | None:
    """The environment variables a class body reads by literal name
    (``os.environ.get("DB_URL", ...)``, ``os.environ["X"]``, ``os.getenv("X")``,
    ``"X" in os.environ``); None
    when it reaches ``os.environ`` or ``os.getenv`` any other way (then the whole
    environment counts, as before)."""
    def target(node: ast.AST) -> Any:
        chain = chain_of(node)
        return _walk_modules(globs[chain[0]], chain)[0] if chain and chain[0] in globs else None

    names: set[str] = set()
    literal: set[int] = set()  # ids of the nodes read by a literal name
    for node in ast.walk(tree):
        key: ast.AST | None = None
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "get" and target(f.value) is os.environ:
                key, literal_node = node.args[0], f.value
            elif target(f) is os.getenv:
                key, literal_node = node.args[0], f
        elif isinstance(node, ast.Subscript) and target(node.value) is os.environ:
            key, literal_node = node.slice, node.value
        elif (isinstance(node, ast.Compare) and len(node.ops) == 1
              and isinstance(node.ops[0], (ast.In, ast.NotIn))
              and target(node.comparators[0]) is os.environ):
            key, literal_node = node.left, node.comparators[0]  # "X" in os.environ
        if key is not None and isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
            literal.add(id(literal_node))
            if isinstance(node, ast.Call):
                literal.add(id(node.func))  # ``os.environ.get`` itself
    for node in ast.walk(tree):
        if isinstance(node, (ast.Name, ast.Attribute)) and id(node) not in literal:
            reached = target(node)
            if reached is os.environ or reached is os.getenv:
                return None  # reached otherwise (iterated, passed on)
    return frozenset(names)


def _closure_parts(ctx: _Context, func: Any, own: bool) -> None:
    code = getattr(func, "__code__", None)
    cells = getattr(func, "__closure__", None)
    if code is None or not cells:
        return
    label = ctx.label_of(func) or ""
    for name, cell in zip(code.co_freevars, cells, strict=False):
        # the cell itself: a function rebinding it marks it so (``_cells_rebound``)
        ctx.counted.add((f"cell {name}", id(cell)))
        try:
            value = cell.cell_contents
        except ValueError:  # empty cell
            continue
        key = f"closure {name}" if own else f"closure {label}:{_qualname(func)}.{name}"
        add = ctx.add if own else functools.partial(ctx.owned, func)
        if isinstance(value, (types.FunctionType, type, types.ModuleType)):
            _visit(ctx, value, name, label)
            if _is_library_code(ctx, value):
                add(key, qualified_name(value))  # which one: np.mean or np.median
            continue
        shown = value_source(name, value)  # (the repr first, as for a constant)
        add(key, ctx.token(value, f"closure value {name}"), shown)


# --------------------------------------------------------------------------- one function


_info_cache: dict[tuple[types.CodeType, bool], CodeInfo] = {}


def _memo_salt() -> str:
    """What memo entries depend on besides the text: Python (its AST) and the code that
    makes and reads them (read, not imported: a memo hit does not load the analysis)."""
    parts = [sys.version, FINGERPRINT_VERSION]
    here = Path(__file__).parent
    for name in ("fingerprint.py", "code_text.py", "code_analysis.py", "source_memo.py"):
        try:
            parts.append(hash_bytes((here / name).read_bytes()))
        except OSError:
            parts.append(os.urandom(16).hex())  # cannot tell the code's version: never reuse
    return hash_text(*parts)


_MEMO = SourceMemo(_memo_salt())


def _info(fn: types.FunctionType, strip_decorators: bool) -> CodeInfo:
    """The facts of ``fn``'s source text, once that text is known to be what runs.

    The text comes from ``linecache`` (checked against the file once per build), and is
    accepted only if it compiles to the code object that runs (``code_shape``). It may
    not: a module edited after its import, or a stale ``.pyc`` (CPython trusts one whose
    header has the source's mtime in whole seconds and its size, so an edit of the same
    size within that second runs the old bytecode). Then the code that runs is
    fingerprinted by its bytecode, with a warning: a result is never keyed by text that
    did not make it. The memo remembers the shape each text compiled to, so a hit costs
    one hash of the live bytecode, no compile."""
    cache_key = (fn.__code__, strip_decorators)
    hit = _info_cache.get(cache_key)
    if hit is not None:
        return hit
    code = fn.__code__
    shape = code_shape(code)
    text = fast_source(fn) if fn.__name__ != "<lambda>" else None
    slot = _memo_slot(code, strip_decorators, text) if text is not None else None
    facts = _MEMO.get(*slot) if slot is not None else None
    if facts is not None and text is not None and facts.get("s") == shape and "n" in facts:
        # the same shape: the same bytecode and names, so the same globals it reads
        info = CodeInfo.from_facts(facts, frozenset(facts["n"]), text)
        info.slot = slot
    else:  # code not seen before: its text is parsed (the only place a run does)
        from .code_analysis import (
            compiles_to,
            compute_info,
            global_names_of,
            relocated_text,
            stale_info,
        )

        names = global_names_of(code)
        info = compute_info(fn, strip_decorators, names, text)
        if info.has_source() and not compiles_to(fn, info, shape):
            # the code may say other lines than the file has it at (a function patched
            # by ``%autoreload``): its text there, else the bytecode that runs
            moved = relocated_text(fn, shape) if text is not None else None
            relocated = compute_info(fn, strip_decorators, names, moved) if moved else None
            if relocated is None or relocated.source is None:
                info = stale_info(fn, names)
            else:
                info, slot = relocated, _memo_slot(code, strip_decorators, relocated.source)
        if slot is not None and info.source is not None:  # parsed from its text itself
            info.slot, info.shape = slot, shape
            _MEMO.put(*slot, info.facts())
        elif fn.__name__ == "<lambda>" and info.has_source():
            # a lambda's text is its whole statement, which may hold other lambdas: the
            # shape tells this one from its neighbours
            info.digest = hash_text(info.digest, shape)
    _info_cache[cache_key] = info
    return info


def _memo_slot(code: types.CodeType, strip_decorators: bool, text: str) -> tuple[str, str]:
    """Where the memo keeps the facts of ``text`` (a function of ``code``'s file)."""
    return (_MEMO.group(code.co_filename),
            _MEMO.entry_key("strip" if strip_decorators else "keep", text))


_DYNAMIC_IMPORT = ("importlib.import_module() with a computed name, or code loaded from a "
                   "file or by a dotted name (runpy, importlib.util, pydoc.locate)")
_QUERY_UNSEEN = "a .query()/.eval() string made elsewhere than in the call"
# the functions that import or load code by a name or path known at run time, found by
# what a name is bound to (``_is_loader``), whatever it is called
_LOADER_FUNCTIONS = (("importlib", "import_module"), ("importlib", "__import__"),
                     ("importlib.metadata", "entry_points"),  # (``ep.load()``: by name)
                     ("importlib_metadata", "entry_points"),
                     ("builtins", "__import__"), ("pkgutil", "resolve_name"),
                     ("pydoc", "locate"), ("pydoc", "importfile"), ("runpy", "run_path"),
                     ("runpy", "run_module"),
                     ("importlib.util", "spec_from_file_location"), ("imp", "load_source"),
                     ("jinja2.utils", "import_string"), ("werkzeug.utils", "import_string"),
                     ("django.utils.module_loading", "import_string"),
                     ("yaml", "unsafe_load"), ("yaml", "unsafe_load_all"),
                     ("yaml", "full_load"), ("yaml", "full_load_all"),
                     # (``yaml.load(s, Loader=...)``, or a subclass of one: ``_is_loader``)
                     ("yaml", "UnsafeLoader"), ("yaml", "Loader"), ("yaml", "FullLoader"),
                     ("yaml", "CUnsafeLoader"), ("yaml", "CLoader"), ("yaml", "CFullLoader"))
_LOADER_NAMES = frozenset(n for _, n in _LOADER_FUNCTIONS)


def _is_loader(obj: Any) -> bool:
    """Whether ``obj`` is one of ``_LOADER_FUNCTIONS`` (a class: or a subclass of one).
    (By ``type(obj)``: a proxy's ``__class__`` may run code, and raise.)"""
    if issubclass(type(obj), type):  # (every class a chain reaches: yaml's alone can be one)
        return "yaml" in sys.modules and any(
            (c.__module__ or "").startswith("yaml") for c in obj.__mro__) and any(
            isinstance(c, type) and issubclass(obj, c) for c in _loader_classes())
    if type(obj) is not types.FunctionType and type(obj) is not types.BuiltinFunctionType:
        return False
    name = obj.__name__
    return name in _LOADER_NAMES and any(
        getattr(sys.modules.get(m), n, None) is obj for m, n in _LOADER_FUNCTIONS if n == name)


def _loader_classes() -> list[Any]:
    return [getattr(sys.modules.get(m), n, None) for m, n in _LOADER_FUNCTIONS
            if n[:1].isupper()]


def _framework_state(ctx: _Context, base: Any, obj: Any) -> bool:
    """Whether ``obj`` is a value read from a FlowyML module (``flowyml.stores._opened``,
    the stores this process opened): the framework's state, not the step's data (as a
    ``Pipeline`` or a ``Run`` global is not), which differs between a driver and its
    workers. Then FlowyML counts by its version."""
    if (type(base) is not types.ModuleType or base.__name__.partition(".")[0] != "flowyml"
            or callable(obj) or isinstance(obj, types.ModuleType)):
        return False
    ctx.library("flowyml")
    return True


def _put_in_builtins(name: str) -> bool:
    """Whether the global ``name``, not in the function's module, is something code put
    into ``builtins`` (``builtins.SCALE = 3``, a function of yours): found there by every
    module, it counts as the module's own global would. Python's own (C functions and
    types, ``site``'s ``help`` and ``exit``, the module's dunders) do not."""
    value = builtins.__dict__.get(name, _NOT_BUILTIN)
    if value is _NOT_BUILTIN or name in _PLAIN_BUILTINS:
        return False
    return module_of(value) != "builtins" and type(value).__module__ not in (
        "_sitebuiltins", "_frozen_importlib")  # (a value's module: "", put there)


_NOT_BUILTIN = object()
_PLAIN_BUILTINS = frozenset({"__name__", "__doc__", "__package__", "__loader__", "__spec__",
                             "__debug__", "__build_class__", "__import__", "Ellipsis",
                             "NotImplemented", "True", "False", "None", "open"})


def _follow_getattrs(ctx: _Context, fn: types.FunctionType, info: CodeInfo,
                     names: Mapping[str, Any], label: str, unseeable: list[str]) -> None:
    """``getattr(X, "a")`` (``X.a``, visited) and ``getattr(X, name)`` (unseeable, but
    for a library's module or an object the code was given) in ``fn``'s code."""
    for chain, attr in info.getattrs:
        if attr is None and chain and chain[0] in fn.__code__.co_varnames:
            continue  # an attribute of an object the code was given or made (a
            # descriptor's ``getattr(obj, self.name)``): its class counts where the
            # object comes from; a module reaches it only named whole, which counts all
        base = resolve_chain(chain, names) if chain else None
        if attr is None:
            if is_a(base, types.ModuleType) and _plain_library_module(ctx, base):
                ctx.library(base.__name__)  # a library's module: what it finds there is
                continue  # that library's (by version), the name a value that counts
            unseeable.append("getattr() with a computed name")
            continue
        if base is not None:
            target = getattr(base, attr, None)
            if target is not None:
                _visit(ctx, target, f"{'.'.join(chain)}.{attr}", label)


def _closed_over(fn: types.FunctionType) -> dict[str, Any]:
    """The values of ``fn``'s closure, by name."""
    return {name: cell_value(cell) for name, cell in zip(
        fn.__code__.co_freevars, fn.__closure__ or (), strict=False)}


def _follow(ctx: _Context, fn: types.FunctionType, info: CodeInfo) -> None:
    """Visit what ``fn`` reaches: globals, attribute chains, local imports, getattr."""
    codes = code_tree(fn.__code__)  # what the bytecode checks below read
    names = _names_of(codes)
    if not names and fn.__closure__ is None and not info.imports and not info.dynamic_imports:
        return  # it names no global, attribute or module, holds nothing: it reaches
        # nothing (``return a + 1``: most small steps; every check below finds nothing)
    globs = fn.__globals__
    label = ctx.label_of(fn) or NOTEBOOK
    others: dict[str, list[Any]] = {}  # a name two imports bind: the other bindings
    local = _local_imports(ctx, fn, info, others) if info.imports else {}
    for key in [k for k in local if k.startswith(IMPORTED)]:
        _visit(ctx, local.pop(key), key[len(IMPORTED):], label)
    for head, bound in others.items():  # (each the way the main loop visits ``local``'s)
        for chain in sorted({c for c in info.chains if c[0] == head} or {(head,)}):
            for base in bound:
                _visit(ctx, *_walk_modules(base, chain), label)
    done: set[tuple[str, ...]] = set()
    unseeable: list[str] = []
    _text_reads(ctx, names)
    env_names, env_writes = env_reads(codes, globs, {**_closed_over(fn), **local} if (
        fn.__closure__) else local, names)  # (``os`` a closure holds: imported by the maker)
    if not _FRAME_READS.isdisjoint(names):
        _reads_through_frames(ctx, fn)
    for chain in info.chains:
        if chain in done:
            continue
        done.add(chain)
        head = chain[0]
        if head in local:
            base = local[head]
        elif head in info.global_names and head in globs:
            base = globs[head]
        elif head in info.global_names and head in _UNSEEABLE_BUILTINS:
            unseeable.append(_UNSEEABLE_BUILTINS[head])
            continue
        elif head == "locals" and head in info.global_names:
            for name, obj in sorted(local.items()):  # ``locals()[f"scale_{kind}"]``:
                _visit(ctx, obj, name, label)  # anything the function imports may be
            continue  # picked (a module of yours whole: ``locals()[kind].scale(x)``)
        elif head in info.global_names and _put_in_builtins(head):
            base = builtins.__dict__[head]  # ``builtins.SCALE = 3`` in a module of yours
        else:
            continue  # a local, a parameter, or a builtin
        obj, dotted = _walk_modules(base, chain)
        if _unreadable(ctx, obj, dotted, label) or _framework_state(ctx, base, obj):
            continue
        if obj is sys.modules:  # any module, by a name known at run time
            unseeable.append(_SYS_MODULES)
            continue
        if chain[-1] != "import_module" and _is_loader(obj):  # (that name: the scanner's)
            unseeable.append(_DYNAMIC_IMPORT)  # under another name (``from pydoc import
            # locate``, ``import_module as im``) or one the scanner does not know
        if obj is os.environ and env_names is not WHOLE_ENV:
            continue  # read by literal names only: those count (_environment_parts)
        hidden = rng.name_of(rng.generator_of(obj) or rng.module_generator(obj))
        if hidden is not None:  # (``np.random.seed``; ``r = np.random``, then ``r.rand()``)
            ctx.hidden.add(hidden)
        _visit(ctx, obj, dotted, label)
        _binding(ctx, base, obj, dotted, label)
        if "." in dotted and type(base) is types.ModuleType:
            _module_attribute_read(ctx, base, dotted)
    if info.getattrs:
        _follow_getattrs(ctx, fn, info, {**globs, **local}, label, unseeable)
    if info.dynamic_imports:
        unseeable.append(_DYNAMIC_IMPORT)
    if QUERY_MADE_ELSEWHERE in info.global_names:
        unseeable.append(_QUERY_UNSEEN)
    if env_names or env_writes:
        _environment_parts(ctx, fn, label, env_names, env_writes)
    if "__subclasses__" in names and _subclass_parts(
            ctx, codes, {**globs, **local} if local else globs, label):
        unseeable.append(_SUBCLASSES)
    if unseeable:
        _unseeable(ctx, fn, info, label, unseeable)


def _text_reads(ctx: _Context, names: Sequence[str]) -> None:
    """What of its code's text a function can read as data, by the names its code
    reads: ``helper.__doc__`` (a prompt kept in a docstring), ``type(self).__doc__``, or
    that of a function passed in: every docstring the step reaches may be what it reads;
    ``frame.f_lineno``: every line (``_text_parts``)."""
    if "__doc__" in names:
        ctx.reads_text |= _DOCSTRINGS
    if not _LINE_READS.isdisjoint(names):
        ctx.reads_text |= _TRACEBACKS


def _plain_library_module(ctx: _Context, mod: types.ModuleType) -> bool:
    """A library's module whose attributes are all the library's own: not a random
    module (its functions draw from a generator whose state counts), nor one a
    function or class of the user's was put into (``math.my_scale = my_scale``)."""
    if ctx.label_of(mod) is not None or mod.__name__ in _RANDOM_MODULES:
        return False
    hit = _plain_modules.get(mod.__name__)
    if hit is None:
        hit = _plain_modules[mod.__name__] = not any(
            _users_or_drawing(ctx, v) for v in list(vars(mod).values()))
    return hit


def _users_or_drawing(ctx: _Context, value: Any) -> bool:
    """Whether a library module's attribute is the user's (a function, class, partial,
    bound method or instance of theirs put into it) or draws from a random generator
    (``jinja2.utils.choice`` is ``random``'s bound method)."""
    if isinstance(value, types.ModuleType):
        return False
    if _is_generator(value):
        return True
    code = _attr(value, "func") if isinstance(value, functools.partial) else value
    code = _attr(code, "__func__", code)
    if isinstance(code, (types.FunctionType, type)):
        return ctx.label_of(code) is not None
    return ctx.label_of(type(value)) is not None


_plain_modules: dict[str, bool] = {}  # this build's verdicts (``_end_of_build`` clears)


def _reads_own_doc(cls: type) -> bool:
    """Whether a method of ``cls`` or of a class it derives from reads an attribute
    ``__doc__`` (``self.__doc__``, ``type(self).__doc__``, ``cls.__doc__``): the class's
    own docstring is then an input of that method. Once per class per build (a
    library base such as ``torch.nn.Module`` has hundreds of methods)."""
    hit = _doc_readers.get(cls)
    if hit is None:
        hit = _doc_readers[cls] = _scan_own_doc(cls)
    return hit


_doc_readers: dict[type, bool] = {}  # this build's ``_reads_own_doc`` answers


def _scan_own_doc(cls: type) -> bool:
    for klass in cls.__mro__:
        if module_of(klass) == "builtins":  # object, dict...: C code, no ``__code__``
            continue
        for member in list(vars(klass).values()):
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            elif isinstance(member, property):
                member = member.fget
            elif isinstance(member, functools.cached_property):
                member = member.func
            code = _attr(member, "__code__")  # (an AttrDict's ``__getattr__`` raises KeyError)
            if isinstance(code, types.CodeType) and any(
                    "__doc__" in c.co_names for c in code_tree(code)):
                return True
    return False


# libraries that make a model class's docstring data: its JSON schema's description
# (pydantic, and what builds on it: SQLModel, LangChain's tools, instructor; msgspec),
# or the instructions of a prompt (DSPy signatures)
_DOC_LIBRARIES = frozenset({"pydantic", "msgspec", "dspy"})


def _library_reads_doc(cls: type) -> bool:
    """Whether ``cls`` derives from a class of a library that reads the docstrings of
    its subclasses (``_DOC_LIBRARIES``): the docstring is then an input of what the
    library makes of the class."""
    return any(module_of(k).partition(".")[0] in _DOC_LIBRARIES for k in cls.__mro__[1:])


def _only_pydantic_reads_doc(cls: type) -> bool:
    """Whether the library that reads ``cls``'s docstring is pydantic alone, which
    describes a model by ``inspect.cleandoc`` of it."""
    tops = {module_of(k).partition(".")[0] for k in cls.__mro__[1:]} & _DOC_LIBRARIES
    return tops == {"pydantic"}


_DOCSTRINGS, _SOURCE_TEXT, _POSITIONS = 1, 2, 4  # ``_Context.reads_text``
_TRACEBACKS = _SOURCE_TEXT | _POSITIONS  # a frame's line: its number, and its text
# library functions and classes that read the text of the code they are given:
# (module, qualified name) -> what of it
_TEXT_READERS = {
    ("inspect", "getdoc"): _DOCSTRINGS,
    ("pydoc", "getdoc"): _DOCSTRINGS,
    ("pydoc", "render_doc"): _DOCSTRINGS,
    # pydantic describes a TypedDict or a dataclass by its docstring
    ("pydantic.type_adapter", "TypeAdapter"): _DOCSTRINGS,
    ("inspect", "getsource"): _SOURCE_TEXT,
    ("inspect", "getsourcelines"): _SOURCE_TEXT,
    ("inspect", "getcomments"): _SOURCE_TEXT,
    ("inspect", "findsource"): _SOURCE_TEXT,
    # a traceback or a stack as a value (``traceback.format_exc()`` kept in a result):
    # each frame's line number and text. Not ``print_exc``, which writes to stderr
    **{("traceback", n): _TRACEBACKS for n in (
        "format_exc", "format_exception", "format_tb", "format_stack", "extract_tb",
        "extract_stack", "walk_tb", "walk_stack", "TracebackException", "StackSummary")},
    **{("inspect", n): _TRACEBACKS for n in (
        "stack", "trace", "getframeinfo", "getouterframes", "getinnerframes", "getlineno")},
}
# attributes saying where code is in its file (``sys._getframe().f_lineno``)
_LINE_READS = frozenset({"f_lineno", "tb_lineno", "co_firstlineno", "co_lines",
                         "co_positions"})


def _text_parts(ctx: _Context) -> None:
    """The text of the user's code the step reached, where it can read it as data:
    each function's and class's docstring (``inspect.getdoc``, ``x.__doc__`` of a value
    the fingerprint cannot name), or its whole source text, comments included
    (``inspect.getsource``), and each function's first line in its file (a traceback
    made into a value: ``traceback.format_exc()``, ``frame.f_lineno``). Not knowing
    which object the step asks about, every one it reaches counts: such a step
    re-executes after a docstring (or comment) edit of any of them, and is never reused
    on text it read before the edit."""
    for obj in list(ctx.keep):
        if not isinstance(obj, (types.FunctionType, type)):
            continue
        label = ctx.label_of(obj)
        if label is None:
            continue
        qual = _qualname(obj) if isinstance(obj, types.FunctionType) else obj.__qualname__
        if ctx.reads_text & _DOCSTRINGS:
            doc = obj.__doc__
            ctx.add(f"docstring {label}:{qual}", ctx.token(doc, f"the docstring of {qual}"),
                    value_source(f"{qual}.__doc__", doc))
        if ctx.reads_text & _SOURCE_TEXT:
            text = _exact_text(obj)
            ctx.add(f"text {label}:{qual}", hash_text(text), text)
        if ctx.reads_text & _POSITIONS and isinstance(obj, types.FunctionType):
            line = str(obj.__code__.co_firstlineno)
            ctx.add(f"line {label}:{qual}", hash_text(line), f"first line {line}")


def _exact_text(obj: Any) -> str:
    """``obj``'s source as ``inspect`` gives it (the comment block above it too)."""
    try:
        return (inspect.getcomments(obj) or "") + inspect.getsource(obj)
    except (OSError, TypeError):
        return "unavailable"


def _environment_parts(ctx: _Context, fn: types.FunctionType, label: str,
                       names: frozenset[str], writes: frozenset[str]) -> None:
    """The environment variables ``fn`` reads (``env_reads``), and a warning if it
    changes the environment. Which ones it reads and changes are kept for the coupling
    of steps (``_settings_users``): by name, ``*`` for a read of the whole, ``?`` for a
    change of some variable it does not name."""
    if writes:
        ctx.warn(
            f"{fn.__qualname__} ({label}) changes os.environ: that is state shared with "
            "later steps, not an output, and a step that reads the variable is keyed by "
            "its value at build, before this one runs. Return the value as an output, "
            "or set the variable before the run"
        )
        ctx.counted.add((_CHANGES, 0))  # (a step changing any: ``_state_writes``)
        for var in ("?",) if writes is WHOLE_ENV else writes:
            ctx.counted.add((f"{_CHANGES}environ {var}", 0))
    # (a step changing them is coupled with this one: ``_couple_shared_state``)
    for var in ("*",) if names is WHOLE_ENV else (*names, "?") if names else ():
        ctx.counted.add((f"{_USES}environ {var}", 0))
    if names is WHOLE_ENV:  # getenv(computed) reaches it without naming os.environ
        _visit(ctx, os.environ, "os.environ", label)
        return
    for var in sorted(names):  # the value the step will read, or its absence
        ctx.add(f"env {var}", ctx.token(os.environ.get(var), f"environment variable {var}"))


def _names_of(codes: list[types.CodeType]) -> Sequence[str]:
    """Every name the bytecode of ``codes`` (a ``code_tree``) loads as a global or an
    attribute: one step's checks of its code for names (``__doc__``, ``__subclasses__``,
    the environment's) look in one sequence, not each in every code object."""
    return codes[0].co_names if len(codes) == 1 else [n for c in codes for n in c.co_names]


def _subclass_parts(ctx: _Context, codes: list[types.CodeType], scope: Mapping[str, Any],
                    label: str) -> bool:
    """Every subclass that exists now of each class whose ``__subclasses__`` the code
    reads (a registry by subclassing); True if it reads that of a class it does not
    name, which is unseeable."""
    owners, unknown = subclass_reads(codes)
    for chain in owners:
        owner = resolve_chain(chain, scope)
        if isinstance(owner, type) and owner is not object:
            _visit_subclasses(ctx, owner, label)
        else:
            unknown = True
    return unknown


# a module's globals read as a frame's or a function's (``fn.__globals__["K"]``,
# ``sys._getframe(1).f_globals``): which module's, and which names, only the run knows
_FRAME_READS = frozenset({"__globals__", "f_globals", "f_locals"})


def _reads_through_frames(ctx: _Context, fn: types.FunctionType) -> None:
    ctx.warn(f"{fn.__qualname__} reads variables through a function's __globals__ or a "
             "frame (f_globals, f_locals): whose, and which, only the run knows, so the "
             "step re-executes on every run. Import what it reads by name, or pass it as "
             "a parameter")
    ctx.add(f"frames {ctx.label_of(fn) or NOTEBOOK}:{fn.__qualname__}",
            f"{OPAQUE}{os.urandom(8).hex()}:variables read through a frame")


def _unseeable(ctx: _Context, fn: types.FunctionType, info: CodeInfo, label: str,
               unseeable: list[str]) -> None:
    """What ``fn`` reaches in ways the fingerprint cannot follow: warned about, and its
    whole module counts (and the project's files, for what can import by name)."""
    mod = sys.modules.get(fn.__module__ or "")
    imports = [u for u in unseeable if u in _IMPORTING]
    ctx.warn((f"{', '.join(sorted(set(unseeable)))} in {fn.__qualname__}", label, bool(imports)))
    if mod is not None:
        _whole_module(ctx, mod, label)
    else:
        ctx.add(f"module {label}:{fn.__module__}", info.digest)
    if imports:
        _project_sources(ctx)


_SUBCLASSES = "__subclasses__() of a class known only at run time"
_SYS_MODULES = "sys.modules"
# what can import, or reach code in, a module whose name the fingerprint cannot know
_IMPORTING = frozenset({"eval()", "exec()", "__import__()", _SUBCLASSES, _SYS_MODULES,
                        _DYNAMIC_IMPORT})


def _visit_subclasses(ctx: _Context, owner: type, label: str) -> None:
    """Every class that subclasses ``owner`` now, at any depth, as code."""
    seen: set[type] = set()
    todo: list[type] = list(type.__subclasses__(owner))
    while todo:
        sub = todo.pop()
        if sub in seen:
            continue
        seen.add(sub)
        _visit(ctx, sub, sub.__qualname__, label)
        todo.extend(type.__subclasses__(sub))


_PROJECT = object()  # visited once per step, like a module
PROJECT_FILES_LIMIT = 2000
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "dist-packages"})
_file_digests: dict[tuple[str, int, int], str] = {}  # (path, mtime_ns, size) -> digest
_project_listings: dict[Path, list[tuple[str, str]] | None] = {}  # this build's


def _project_sources(ctx: _Context) -> None:
    """Every Python file of the project (under its root; and the user's modules imported
    from outside it), each by its normalized source: code imported by a name the
    fingerprint cannot know may be any of them, and may not even be imported yet."""
    if not ctx.first_visit(_PROJECT):
        return
    if ctx.root not in _project_listings:
        _project_listings[ctx.root] = _project_files(ctx.root)
    files = _project_listings[ctx.root]
    if files is None:
        ctx.warn(f"the project under {ctx.root} has more than {PROJECT_FILES_LIMIT} Python "
                 "files, too many to fingerprint on every build: the step re-executes on "
                 "every run. Import the code it needs by name")
        ctx.add("project sources", f"{OPAQUE}{os.urandom(16).hex()}:a project too big")
        return
    for label, path in files:
        ctx.add(f"file {label}", _file_digest(path))


def _project_files(root: Path) -> list[tuple[str, str]] | None:
    """(label, path) of the project's Python files (and the entry points of the
    distributions it holds), sorted; None past the limit."""
    found: dict[str, str] = {}
    for top, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS
                   and not os.path.exists(os.path.join(top, d, "pyvenv.cfg"))]
        for n in names:
            if n.endswith(".py") or (n == "entry_points.txt" and top.endswith(".dist-info")):
                # (an entry point names code by a string: ``entry_points()`` then ``load``)
                path = os.path.join(top, n)
                found[Path(path).relative_to(root).as_posix()] = path
        if len(found) > PROJECT_FILES_LIMIT:
            return None
    for name, mod in list(sys.modules.items()):  # a sibling folder put on sys.path
        file = getattr(mod, "__file__", None)
        if isinstance(file, str) and file.endswith(".py"):
            label = user_label(root, name, file)
            if label is not None and label != NOTEBOOK and label not in found:
                found[label] = file
    if len(found) > PROJECT_FILES_LIMIT:
        return None
    return sorted(found.items())


def _file_digest(path: str) -> str:
    """A file's normalized-AST digest (comments and formatting do not count)."""
    try:
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        if key in _file_digests:
            return _file_digests[key]
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return "unreadable"
    text = data.decode("utf-8", "surrogateescape")
    slot = (_MEMO.group(path), _MEMO.entry_key("file", text))
    facts = _MEMO.get(*slot)
    if facts is not None and isinstance(facts.get("d"), str):
        digest: str = facts["d"]
    else:
        from .code_analysis import digest_and_refs

        try:
            digest = digest_and_refs(ast.parse(data))[0]
        except (SyntaxError, ValueError):
            digest = "text:" + hash_bytes(data)
        _MEMO.put(*slot, {"d": digest})
    if len(_file_digests) > 10_000:
        _file_digests.clear()
    _file_digests[key] = digest
    return digest


def _local_imports(ctx: _Context, fn: types.FunctionType, info: CodeInfo,
                   others: dict[str, list[Any]]) -> dict[str, Any]:
    """What each name the function imports in its body is bound to; a name imported by
    two statements (``try: from fast import score`` / ``except ImportError: from slow
    import score``, an ``if``/``else`` on a backend) by the last, and by the others in
    ``others``: which one runs is not known at build, so each counts."""
    out: dict[str, Any] = {}
    if not info.imports:
        return out
    import importlib
    import importlib.util

    for local, module, attr, level in info.imports:
        if local in out:
            others.setdefault(local, []).append(out[local])
        name = module
        try:
            if level:
                package = fn.__globals__.get("__package__") or ""
                name = importlib.util.resolve_name("." * level + module, package)
            mod = importlib.import_module(name)
            if attr is None:
                out[local] = mod
            elif attr == "":
                out[local] = sys.modules[name.split(".")[0]]
            else:
                try:
                    out[local] = getattr(mod, attr)
                except AttributeError:
                    out[local] = importlib.import_module(f"{name}.{attr}")
        except Exception as exc:  # the step will fail the same way when it runs
            ctx.add(f"helper {name}:{attr or ''}", f"unresolved import: {type(exc).__name__}")
    return out


def _walk_modules(obj: Any, chain: tuple[str, ...]) -> tuple[Any, str]:
    """Follow ``a.b.c`` through modules; stop at the first non-module."""
    name = chain[0]
    for attr in chain[1:]:
        if not is_a(obj, types.ModuleType):  # (a proxy's ``__class__`` runs code)
            break
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            break
        name = f"{name}.{attr}"
    return obj, name


_IDENTITY_DEPTH = 40  # functions made by functions made by ...: deeper is opaque


def _identity(ctx: _Context, obj: Any) -> str:
    """Which function or class of the user's ``obj`` is, where its qualified name does
    not tell (``Tokenizer._unnamed``: a lambda, a closure a factory made, a class made
    in a function): a function by its code and what it holds (closure cells, defaults),
    a class by its members as ``_visit_class`` counts them. Each value is tokenized
    through ``ctx.token``: once per build, however many closures share it."""
    key = id(obj)
    if key in ctx.identifying:
        return "recursive"  # (a closure that holds itself: the walk above counts it)
    if len(ctx.identifying) >= _IDENTITY_DEPTH:
        raise Opaque(type(obj).__qualname__, "functions made by functions, nested too deeply")
    ctx.identifying.add(key)
    try:
        if type(obj) is not types.FunctionType:
            return _class_identity(ctx, obj)
        parts = [_info(obj, strip_decorators=False).digest]
        for name, cell in zip(obj.__code__.co_freevars, obj.__closure__ or (), strict=False):
            parts.append(ctx.token(cell_value(cell), f"closure value {name}"))
        if obj.__defaults__ or obj.__kwdefaults__:
            parts.append(ctx.token((obj.__defaults__, obj.__kwdefaults__),
                                   f"defaults of {obj.__qualname__}"))
        return hash_text(*parts)
    finally:
        ctx.identifying.discard(key)


def _class_identity(ctx: _Context, cls: type) -> str:
    parts = []
    for name, member, target in _class_members(cls):
        if isinstance(member, property):
            accessors = [a for a in (member.fget, member.fset, member.fdel)
                         if isinstance(a, types.FunctionType)]
            parts.append(hash_text(name, *(_identity(ctx, a) for a in accessors)))
        elif isinstance(target, types.FunctionType):
            parts.append(hash_text(name, _identity(ctx, target)))
        else:
            parts.append(hash_text(name, ctx.token(
                target, f"class attribute {cls.__qualname__}.{name}")))
    return hash_text("class", *parts)


def _binding(ctx: _Context, base: Any, obj: Any, dotted: str, label: str) -> None:
    """Which library function or class a name of the user's code is bound to, when the
    text does not say: ``AGG = np.mean`` (then ``np.median``), ``from sklearn.linear_model
    import Ridge as Model``, ``config.MODEL = Ridge``, ``Num = int``. The library's version
    alone would not tell them apart. A chain through library modules only (``np.mean``,
    ``os.path.join``) names its object in the code's own text, which the digest holds."""
    # (a reader or seeding function FlowyML wraps: the library's, either way)
    obj = wrappers.original(obj)
    if (type(obj) is types.FunctionType or isinstance(obj, type)) and (
            ctx.label_of(obj) is not None):
        if dotted.rpartition(".")[2] != obj.__name__ or "<" in obj.__qualname__:
            # a function or class of yours under another name (``PRE = add_one``,
            # ``POST = lambda x: ...``, ``A = make(2)``): which one it is. Its code
            # counts apart, under its own name, which two such bindings may share
            ctx.add(f"binding {label}:{dotted}",
                    ctx.token(obj, f"what {dotted} is bound to"))
        return
    if not _is_library_code(ctx, obj):
        return
    if isinstance(base, types.ModuleType) and "." in dotted and ctx.label_of(base) is None:
        return  # library module, attribute path: the text says which object
    ctx.add(f"binding {label}:{dotted}", qualified_name(obj))
    owner = _bound_data(obj)
    if owner is not None:  # ``FMT = "{:.2f}".format``, ``W = {"a": 2}.get``: the object
        # the method is bound to is data the name's calls read, counted by value
        key = f"bound {label}:{dotted}"
        if ctx.first_count(key, owner):
            ctx.add(key, ctx.token(owner, f"the object {dotted} is bound to"),
                    _shown(f"{dotted}.__self__", owner))


def _bound_data(obj: Any) -> Any:
    """``tokens.bound_data``, but not a random generator (``_visit`` counts its state
    as the ``rng`` part, or as a constant)."""
    owner = bound_data(obj)
    return None if owner is None or _is_generator(owner) else owner


def _is_library_code(ctx: _Context, obj: Any) -> bool:
    """A library's (or Python's) function, class or other named callable."""
    if isinstance(obj, (types.FunctionType, type)):
        return ctx.label_of(obj) is None
    return isinstance(obj, (types.BuiltinFunctionType, types.MethodDescriptorType,
                            types.WrapperDescriptorType, types.ClassMethodDescriptorType)
                      ) or (_is_native_callable(obj) and not _is_type_alias(obj))


def _is_type_alias(obj: Any) -> bool:
    """``list[int]``, ``int | None``, ``Annotated[int, AfterValidator(check)]``: values
    (what they hold counts), though callable and named after their origin."""
    return get_origin(obj) is not None


def _check_mutated_globals(ctx: _Context, func: Any) -> None:
    """A step that mutates a module-level container uses it as state, not input."""
    if not isinstance(func, types.FunctionType):
        return
    fn = inspect.unwrap(func) if hasattr(func, "__wrapped__") else func
    if not isinstance(fn, types.FunctionType):
        return
    info = _info(fn, strip_decorators=True)  # cached: the step's code was just visited
    if not info.mutated:
        return
    globs = fn.__globals__
    names = {name_of(m) if m.endswith("[M]") else m for m in info.mutated}
    hits = {name for name in names if name in info.global_names
            and isinstance(globs.get(name), (list, dict, set, bytearray))}
    for name in sorted(hits):
        ctx.warn(
            f"it mutates the module-level {type(globs[name]).__name__} {name}: a global that "
            "a step changes is state, not an input. Its value as the run starts is part of the "
            "key; return what you need as an output instead"
        )


# --------------------------------------------------------------------------- sources


def _is_native_callable(obj: Any) -> bool:
    return (
        callable(obj)
        and not isinstance(obj, (types.FunctionType, types.MethodType, type))
        and isinstance(_attr(obj, "__qualname__"), str)
        and bool(module_of(obj))
    ) or bool(_native_home(obj))


def _native_home(obj: Any) -> str:
    """The module of a numpy ufunc that does not say it (scipy's ``expit``: its
    ``__module__`` is None), as pickle finds it; "" for anything else."""
    t = type(obj)
    if t.__name__ != "ufunc" or t.__module__ != "numpy" or _attr(obj, "__module__"):
        return ""
    name = _attr(obj, "__name__")
    return (home_module(obj, name) or "") if isinstance(name, str) else ""


def _file_of(obj: Any) -> str | None:
    code = _attr(obj, "__code__")
    if isinstance(code, types.CodeType):
        return code.co_filename
    try:
        return inspect.getsourcefile(obj) or inspect.getfile(obj)
    except (TypeError, OSError, AttributeError):
        mod = sys.modules.get(module_of(obj))
        return getattr(mod, "__file__", None)


# Constant's value of these types is one leaf (a ``str`` is too, from ``_LEAVES``)


