"""The object path, both halves: serialize, hash and put a value; fetch, verify and
decode it back.

Write: the first materializer that handles a value and keeps it exact serializes it
(in memory for small values, to a staged file otherwise), the bytes are hashed with
BLAKE3 and put in the store under that hash (create-if-absent: an object is written
once). An object of at most ``store.inline_max`` bytes (the stack's ``inline_max``,
4096 by default) from a materializer that can ``loads`` is not put anywhere: its bytes
travel back with the ``NewOutput`` and the catalog keeps them in the artifact's row (no
file, no object-store request, per scalar); readers verify them against the hash like
any object. A materializer that cannot keep a value exact raises ``UnsupportedValue``
and the next one is tried, down to pickle: with a ``PickleFallbackWarning``, or a
``ConfigError`` on a store that refuses pickles.

Read: a local copy is fetched once (remote stores), its hash verified (a bad copy is
evicted and refetched once), then decoded; numpy and Arrow data are memory-mapped
read-only, so every reader gets a view of its own and no reader can change the object.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .core.errors import (
    ConfigError,
    CorruptArtifactError,
    FlowymlError,
    MissingCodeError,
    ParameterError,
)
from .core.hashing import hash_bytes, hash_file
from .core.names import check_name
from .core.stored import NewOutput, artifact_id
from .core.userframe import outside_stacklevel
from .materializers import (
    PickleFallbackWarning,
    UnsupportedValue,
    get_materializer,
    materializers_for,
)
from .stores.base import is_stored  # noqa: F401  (where it was defined)

if TYPE_CHECKING:
    from .materializers import Materializer
    from .stores.base import ArtifactStore


# ---------------------------------------------------------------------- write


def store_value(store: ArtifactStore, name: str, value: Any) -> NewOutput:
    """Serialize ``value``, hash it, put it in the store; what was stored.

    Small values whose materializer can ``dumps`` are hashed in memory first: when the
    store already holds those bytes (a rerun that produced the same result), nothing is
    written, only the object's age is refreshed (so gc's grace period protects it).
    """
    refused: list[str] = []
    for mat in materializers_for(value):
        if mat.uses_pickle:
            _pickle_fallback(store, name, value, mat, "; ".join(refused))
        try:
            digest, size, meta, data = _put(store, mat, name, value)
        except UnsupportedValue as exc:
            refused.append(f"{mat.name} cannot keep it exact ({exc})")
            continue
        except (TypeError, AttributeError) as exc:
            if mat.uses_pickle and "pickle" in str(exc):
                raise TypeError(_cannot_pickle(name, value, exc)) from exc
            raise
        return NewOutput(name=name, content_hash=digest, size=size, materializer=mat.name,
                         type_name=type_label(type(value)), meta=meta or {}, data=data)
    # only when a user materializer that handles everything refused too
    raise TypeError(f"asset {name!r}: no materializer can store it: {'; '.join(refused)}")


TYPE_NAME_MAX = 200  # the catalog's ``artifacts.type_name`` column (VARCHAR(200))


def type_label(t: type) -> str:
    """``module.QualName`` of a value's type, as the catalog records it: cut to fit the
    column (a class nested in functions of a deep package can be longer; PostgreSQL
    refused the whole step's records for it, after the step had run, where SQLite took
    it). The module, which is what readers use (``decisions``), comes first."""
    label = f"{t.__module__}.{t.__qualname__}"
    return label if len(label) <= TYPE_NAME_MAX else label[: TYPE_NAME_MAX - 3] + "..."


def _cannot_pickle(name: str, value: Any, exc: BaseException) -> str:
    """What to return instead of a value that no format, pickle included, can store."""
    import inspect

    if inspect.isgenerator(value) or inspect.isasyncgen(value):
        fix = "return its items, as list(...): a generator runs once and holds no data"
    elif inspect.isfunction(value) or inspect.ismethod(value):
        fix = ("return what the function computes, or define it at a module's top level "
               "(a lambda or a function defined inside another has no name to import)")
    else:
        fix = ("return plain data (lists, dicts, arrays, tables), or register a "
               "materializer for its type (fm.register_materializer)")
    return f"asset {name!r}: a {type(value).__qualname__} cannot be stored ({exc}): {fix}"


def _pickle_fallback(store: ArtifactStore, name: str, value: Any, mat: Materializer,
                     why: str) -> None:
    """A value about to be stored with pickle (``why``: what the canonical formats that
    were meant to keep it said, or nothing when none claims its type): refuse on a store
    that will not load a pickle back, rather than store what no later run can read (the
    writing process could, once, but a worker or the next run that needs it as an
    input could not); else warn when a canonical format was meant to keep it."""
    if not store.allow_pickle:
        stack = store.stack_name or "default"
        because = why or f"no canonical format (.npy, Arrow, JSON) holds a {type(value).__qualname__}"
        raise ConfigError(
            f"asset {name!r} ({type(value).__qualname__}) cannot be stored exactly: "
            f"{because}. Its format would be {_pickling(mat)}, and stack {stack!r} "
            "forbids loading pickles (allow_pickle is false, the "
            "default for remote stores: loading a pickle can run code), so no worker or "
            "later run could read it back; nothing was stored. Return a value such a "
            "format keeps (arrays, tables, JSON data), register a materializer for its type "
            "(fm.register_materializer), or, if you trust this store, set allow_pickle = "
            f"true in [stacks.{stack}] of flowyml.toml or pass Stack(allow_pickle=True)"
        )
    if not why:
        return  # pickle is this type's format: nothing was meant to keep it otherwise
    warnings.warn(
        PickleFallbackWarning(
            f"asset {name!r} ({type(value).__qualname__}) is stored with pickle: "
            f"{why}. Only stacks with allow_pickle = true can load it"
        ),
        stacklevel=outside_stacklevel(),
    )


def _pickling(mat: Materializer) -> str:
    return "pickle" if mat.name == "pickle" else f"{mat.name!r}, which loads through pickle"


def _put(store: ArtifactStore, mat: Materializer, name: str,
         value: Any) -> tuple[str, int, dict[str, Any], bytes | None]:
    """One materializer's attempt: (digest, size, meta, the bytes when the catalog is
    to keep them) of the stored object."""
    dumps = getattr(mat, "dumps", None)
    data: bytes | None = None
    if dumps is not None:
        data, meta = dumps(value)
        digest, size = hash_bytes(data), len(data)
        if size <= store.inline_max and getattr(mat, "loads", None) is not None:
            return digest, size, meta, data  # kept in the catalog row
        if store.refresh(digest):
            return digest, size, meta, None  # already stored: its age is refreshed
    staged = store.staging_dir() / f"{time.time_ns()}-{id(value):x}-{name}.part"
    try:
        if data is None:
            hashed = getattr(mat, "save_hashed", None)  # optional: hash while writing
            got = hashed(value, staged) if hashed is not None else None
            if got is None:
                meta = mat.save(value, staged)
                digest = hash_file(staged)
            else:
                meta, digest = got
            size = staged.stat().st_size
        else:
            staged.write_bytes(data)
        store.put_file(digest, staged)
    finally:
        staged.unlink(missing_ok=True)
    return digest, size, meta, None


# ---------------------------------------------------------------------- read


def load_object(
    store: ArtifactStore, digest: str, materializer: str, what: str, own: bool = False,
    data: bytes | None = None,
) -> Any:
    """The value stored under ``digest``; never returns bytes that fail verification.

    Every call decodes a new value (numpy arrays and Arrow data map the object's pages
    read-only), so no two readers share a mutable object. ``own=True`` is for objects
    this process wrote during the current run (an in-process step's output read by the
    next step): their bytes were hashed as they were written, so they are not hashed
    again, and a pickle is loaded even when the store refuses pickles (the bytes are
    the process's own serialization). A copy fetched from a remote store is verified
    by the fetch itself.
    """
    mat = get_materializer(materializer)
    if data is not None:  # kept in the catalog row: verified here, whoever wrote it
        return _decode_inline(mat, data, digest, what)
    what = artifact_label(what, digest)
    with _naming(what):
        if own:
            try:
                return _decode(mat, store.local_path(digest), digest, what)
            except CorruptArtifactError:  # damaged since it was written? verify (and refetch)
                return _decode(mat, verified_path(store, digest, what), digest, what)
        if mat.uses_pickle and not store.allow_pickle:
            raise ConfigError(
                f"artifact {what} is stored with pickle, and loading a pickle can run code; "
                f"store {store.uri} does not allow it. If you trust this store, set "
                "allow_pickle = true on its stack (flowyml.toml) or Stack(allow_pickle=True)"
            )
        path = verified_path(store, digest, what)
        return _decode(mat, path, digest, what)


def artifact_label(what: str, digest: str) -> str:
    """``name@version (id ...)`` for what a caller names (``name@version``): the id is
    the catalog's (``core.stored.artifact_id``). Anything else, or a label that has its
    id already, is returned as it is."""
    name, at, version = what.partition("@")
    if not at or not version.isdigit() or "(id " in what:
        return what
    try:
        check_name(name)
    except ParameterError:  # not an asset's name (an element, say): no artifact id
        return what
    return f"{what} (id {artifact_id(name, digest)})"


@contextmanager
def _naming(what: str) -> Iterator[None]:
    """Errors of the store (a missing or damaged object, on any backend) name the
    artifact as well as the object."""
    try:
        yield
    except FlowymlError as exc:
        if what in str(exc):
            raise
        try:
            named = type(exc)(f"artifact {what}: {exc}")
        except Exception:  # an error class with another signature: as it came
            named = None
        if named is None:
            raise
        raise named from exc.__cause__ or exc


def _decode_inline(mat: Any, data: bytes, digest: str, what: str) -> Any:
    """Verify and decode a tiny object; ``what`` gets its artifact id only in an error
    (labelling costs a hash, on every read of every scalar)."""
    actual = hash_bytes(data)
    if actual != digest:
        what = artifact_label(what, digest)
        raise CorruptArtifactError(
            f"artifact {what}: the bytes the catalog keeps for object {digest} are corrupt "
            f"(they hash to {actual[:16]}...). No data was returned. Re-run the producing "
            "step with --force, or run `flowyml verify` to find other damage"
        )
    loads = getattr(mat, "loads", None)
    if loads is None:
        what = artifact_label(what, digest)
        raise CorruptArtifactError(
            f"artifact {what}: the catalog keeps its bytes, but materializer {mat.name!r} "
            "cannot decode bytes in memory (no loads); re-run the producing step with --force"
        )
    try:
        return loads(data)
    except Exception as exc:
        what = artifact_label(what, digest)
        _missing_code(mat, exc, what)
        raise CorruptArtifactError(
            f"artifact {what}: object {digest} does not decode as {mat.name!r} "
            f"({type(exc).__name__}: {str(exc)[:200]}); re-run the producing step with "
            "force (run(force=[...]) or --force)"
        ) from exc


def _decode(mat: Any, path: Any, digest: str, what: str) -> Any:
    try:
        return mat.load(path)
    except Exception as exc:  # MemoryError and RecursionError included
        _missing_code(mat, exc, what)
        # bytes that hash right but do not decode: written by something other than
        # FlowyML's materializer, or hostile. Never let a half-decoded value through.
        raise CorruptArtifactError(
            f"artifact {what}: object {digest} does not decode as {mat.name!r} "
            f"({type(exc).__name__}: {str(exc)[:200]}). It was not written by this "
            "materializer; re-run the producing step with force (run(force=[...]) or --force)"
        ) from exc


_NO_ATTRIBUTE = re.compile(r"Can't get attribute '([^']+)' on <module '([^']+)'")


def _missing_code(mat: Any, exc: Exception, what: str) -> None:
    """A pickle that names a class or module this process does not have (a class of a
    notebook cell after a restart, a module not on ``sys.path``): its bytes are intact,
    so say what to define or import, not that it is corrupt."""
    if not getattr(mat, "uses_pickle", False):
        return
    found = _NO_ATTRIBUTE.search(str(exc)) if isinstance(exc, AttributeError) else None
    if found is not None:
        name, module = found.group(1), found.group(2)
        where = ("define it in __main__ first (in a notebook: run the cell that defines "
                 "it), then load again" if module == "__main__" else
                 f"make sure module {module} defines it, then load again")
        raise MissingCodeError(
            f"artifact {what} holds an object of class {module}.{name}, which this "
            f"process does not define (its bytes are intact): {where}") from exc
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        raise MissingCodeError(
            f"artifact {what} needs module {exc.name!r} to load, which this process cannot "
            "import (its bytes are intact): install it, or put the folder that has it on "
            "sys.path, then load again") from exc


def verified_path(store: ArtifactStore, digest: str, what: str) -> Any:
    """A local path whose bytes hash to ``digest``; a bad local copy is evicted and
    refetched once before giving up with ``CorruptArtifactError``."""
    what = artifact_label(what, digest)
    with _naming(what):
        return _verified_path(store, digest, what)


def _verified_path(store: ArtifactStore, digest: str, what: str) -> Any:
    path = store.local_path(digest)
    actual = hash_file(path)
    if actual == digest:
        return path
    store.evict_local(digest)
    path = store.local_path(digest)
    actual = hash_file(path)
    if actual == digest:
        return path
    where = f"store {store.uri}" + (f" of stack {store.stack_name!r}" if store.stack_name else "")
    raise CorruptArtifactError(
        f"artifact {what}: object {digest} in {where} is corrupt (its bytes hash to "
        f"{actual[:16]}...). No data was returned. Delete the object and re-run the producing "
        "step with --force, or run `flowyml verify` to find other damage"
    )
