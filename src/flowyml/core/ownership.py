"""Whose code is it? The user's own code is fingerprinted by source; libraries by version.

Rules, in order (first match wins):

1. ``flowyml`` itself counts by its version.
2. Code of the ``__main__`` module, of a notebook cell (ipykernel keeps cells in
   temporary files outside the project) or defined interactively is the user's own.
3. A file under the project root and outside ``site-packages`` is the user's own.
4. The standard library (``sys.stdlib_module_names``, including frozen modules such
   as ``<frozen posixpath>``) counts by the Python version.
5. A file in ``site-packages`` / ``dist-packages`` or the interpreter's prefix is a
   library, counted by the version of its distribution.
6. Anything else (a sibling folder put on ``sys.path``, an editable checkout outside
   the root) is treated as the user's own code: it is source someone is editing, and
   treating it as a library would let edits go stale.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

NOTEBOOK = "<notebook>"
# modules imported from a file that another process ran as ``__main__`` (``flowyml run
# pipe.py`` imports as ``pipe`` what ``python pipe.py`` ran as ``__main__``): a pickle's
# ``__main__.Model``, made by that process, is looked up there too (``main_standin``)
MAIN_STANDINS: list[str] = []


def package_of(path: Path) -> str:
    """The dotted package ``path`` is a module of (its folders up to the first without
    an ``__init__.py``, or whose name cannot be a package's), or "" for none."""
    parts: list[str] = []
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


SCRIPT_MODULE = "flowyml_user_pipeline"  # a script whose file name cannot be a module's


@functools.lru_cache(maxsize=16)
def script_module_name(file: str) -> str:
    """The name ``flowyml run FILE`` imports a script under (``pkg.pipe`` for
    ``pkg/pipe.py`` in a package, ``pipe`` for ``pipe.py``): what stands for that
    script's ``__main__`` in every process (a logger named ``__main__``)."""
    path = Path(file).resolve()
    if not path.stem.isidentifier():
        return SCRIPT_MODULE
    package = package_of(path)
    return f"{package}.{path.stem}" if package else path.stem


def main_standin(qualname: str) -> object | None:
    """``qualname`` in a module standing for another process's ``__main__``, or None."""
    for name in MAIN_STANDINS:
        obj: object | None = sys.modules.get(name)
        for attr in qualname.split("."):
            obj = getattr(obj, attr, None)
        if obj is not None:
            return obj
    return None

_label_cache: dict[tuple[str, str, str], str | None] = {}
_versions: dict[str, str] = {}


def library_dirs() -> tuple[str, ...]:
    """Where the standard library and installed packages are (resolved): this
    environment's, and each prefix's ``lib``. (``reads`` adds the folders a step never
    reads data from: headers, scripts, every site folder.)"""
    import sysconfig  # here: a run whose code is all the project's never needs it

    dirs = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            dirs.add(os.path.realpath(sysconfig.get_path(key)))
        except (KeyError, TypeError):
            continue
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        dirs.add(os.path.realpath(os.path.join(prefix, "lib")))
    return tuple(sorted(dirs))


_LIB_DIRS: tuple[str, ...] | None = None


def is_notebook_file(file: str | None) -> bool:
    """A Jupyter cell's file: ipykernel names them ``.../ipykernel_<pid>/<hash>.py``."""
    if not file:
        return False
    return file.startswith("<ipython-input") or "ipykernel_" in os.path.basename(
        os.path.dirname(file)
    )


def user_label(root: Path, module: str, file: str | None) -> str | None:
    """The label of the user's own code in ``file`` (a path relative to ``root``, or
    ``<notebook>``), or None when the code belongs to a library."""
    key = (str(root), module, file or "")
    if key in _label_cache:
        return _label_cache[key]
    label = _classify(root, module, file)
    _label_cache[key] = label
    return label


_FLOWYML_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "")


def _classify(root: Path, module: str, file: str | None) -> str | None:
    top = module.split(".")[0]
    if top == "flowyml" or top.startswith("_cython_"):  # Cython's shared types module
        return None
    if file is not None and os.path.realpath(file).startswith(_FLOWYML_DIR):
        return None  # FlowyML's own code under a library's name: the wrappers of
        # ``native_reads`` carry their library function's ``__module__``
    if is_notebook_file(file):
        return NOTEBOOK
    # the file decides when there is one: functools.wraps copies __module__ onto
    # wrappers, so a stdlib wrapper can claim to be the user's module
    real = file is not None and not file.startswith("<") and os.path.exists(file)
    if not real and module == "__main__":
        # code made by exec() in a script (a dataclass's ``__init__``) is the script's,
        # as under the module name ``flowyml run`` imports it by; a notebook's
        # ``__main__`` has no file
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        if isinstance(main_file, str) and main_file != file and os.path.exists(main_file):
            return _classify(root, module, main_file) or NOTEBOOK
        return NOTEBOOK
    if not real and not module:
        # Python code made by exec() in a bare namespace has a file name ("<string>");
        # a C type with no module of its own has none
        return NOTEBOOK if file else None
    if real:
        assert file is not None
        path = os.path.realpath(file)
        in_packages = any(p in ("site-packages", "dist-packages") for p in Path(path).parts)
        rel = _relative(root, file)
        if not in_packages and not rel.startswith("/"):
            return rel  # under the project root
        if in_packages:
            return None
        global _LIB_DIRS
        if _LIB_DIRS is None:
            _LIB_DIRS = library_dirs()
        if any(path.startswith(d + os.sep) for d in _LIB_DIRS):
            return None
        return rel  # outside the root, not installed: someone's source, fingerprinted
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return None  # frozen or built-in standard modules
    mod_file = getattr(sys.modules.get(module), "__file__", None)
    if mod_file is None or mod_file == file:
        # defined interactively / by exec: the user's own; or a module whose file is no
        # file on disk (one imported from a zip: ``helpers.zip/helpers.py``)
        return NOTEBOOK
    # generated code (a dataclass's __init__) belongs where its module lives
    return user_label(root, module, mod_file)


def _relative(root: Path, file: str | None) -> str:
    """``file`` relative to ``root`` (posix), or its absolute path when outside."""
    if not file:
        return NOTEBOOK
    try:
        return Path(os.path.realpath(file)).relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(os.path.realpath(file)).as_posix()


@functools.lru_cache(maxsize=1)
def _stdlib_dirs() -> frozenset[str]:
    import sysconfig

    return frozenset(os.path.realpath(sysconfig.get_path(k)) for k in ("stdlib", "platstdlib"))


def library_name(module: str, file: str | None = None) -> str:
    """The name a library part is keyed by: ``python`` for the standard library.
    ``file`` wins over ``module`` (a wrapper may carry a copied ``__module__``)."""
    if file and not file.startswith("<"):
        real = os.path.realpath(file)
        if any(real.startswith(d + os.sep) for d in _stdlib_dirs()) and "site-packages" not in real:
            return "python"
    top = module.split(".")[0] or "builtins"
    if top in sys.stdlib_module_names or top in ("builtins", "__builtin__"):
        return "python"
    return top


def library_version(top: str) -> str:
    """Installed version of the distribution that provides the top-level module ``top``,
    and, for code installed from a folder or a VCS URL rather than an index (``pip
    install .``, ``pip install git+...@main``: re-installed after an edit, its version
    often stays), the digest of what was installed (``_direct_install``). A namespace
    package several distributions fill (``google``, ``azure``) counts by all of them."""
    if top == "python":
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    v = _versions.get(top)
    if v is not None:
        return v
    mod = sys.modules.get(top)
    ver = getattr(mod, "__version__", None)
    if not isinstance(ver, str):
        from importlib import metadata

        try:
            dists = sorted(set(metadata.packages_distributions().get(top) or [top]))
            ver = (metadata.version(dists[0]) if len(dists) == 1 else
                   ";".join(f"{d}={metadata.version(d)}" for d in dists))
        except Exception:
            ver = "unknown"
    installed = _direct_install(top, mod)
    if installed is not None:
        ver = f"{ver}+{installed}"
    _versions[top] = ver
    return ver


def _direct_install(top: str, mod: object) -> str | None:
    """The digest of what a distribution installed from a folder or a VCS URL put next
    to ``top`` (``_direct_installs``); None for one installed from an index (its version
    says what it is) or not found."""
    file = getattr(mod, "__file__", None)
    if not isinstance(file, str):
        return None
    here = os.path.dirname(file)
    site = os.path.dirname(here) if os.path.basename(file).startswith("__init__.") else here
    return _direct_installs(site).get(top)


@functools.lru_cache(maxsize=64)
def _direct_installs(site: str) -> dict[str, str]:
    """Top-level name -> digest of each distribution under ``site`` installed from a
    folder or a VCS URL (a ``direct_url.json`` in its ``.dist-info``; few are), once per
    folder and process: its ``RECORD``, the hash pip wrote of each file, and a file's
    own bytes where it wrote none. (An editable install's code is outside ``site``: it
    is someone's source, fingerprinted as such, rule 6.)"""
    out: dict[str, str] = {}
    try:
        names = os.listdir(site)
    except OSError:
        return out
    for name in names:
        info = os.path.join(site, name)
        if not name.endswith(".dist-info") or not os.path.exists(
                os.path.join(info, "direct_url.json")):
            continue
        try:
            with open(os.path.join(info, "RECORD"), "rb") as f:
                text = f.read()
        except OSError:
            continue
        lines = text.decode("utf-8", "replace").splitlines()
        digest = _record_digest(site, text, lines)
        for line in lines:
            first = line.partition(",")[0].partition("/")[0]
            if first and not first.endswith((".dist-info", ".data")) and first != "..":
                out.setdefault(first.removesuffix(".py"), digest)
    return out


def _record_digest(site: str, text: bytes, lines: list[str]) -> str:
    """What a ``RECORD`` says was installed: its bytes, and each file's own bytes where
    it has no hash (a tool other than pip wrote it)."""
    from .hashing import hash_bytes

    parts = [text]
    for line in lines:
        path, _, rest = line.partition(",")
        if path and not rest.partition(",")[0]:
            try:
                with open(os.path.join(site, path), "rb") as g:
                    parts.append(g.read())
            except OSError:
                parts.append(b"-")
    return hash_bytes(b"\0".join(parts))[:16]
