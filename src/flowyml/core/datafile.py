"""Files a step reads, named by path and keyed by content.

The cache key covers a step's code, its inputs (by content hash) and its parameters
(by value). A file the step opens itself is none of these: a path is a string, so
editing ``data/raw.csv`` would leave ``load(path="data/raw.csv")`` cached with the old
data. ``DataFile`` is the way to say "this step reads that file": it is a path
everywhere a path is accepted (``open``, ``pd.read_csv``, ``np.load``, ``Path(...)``),
and its value in the cache key is the file's content (for a folder, every file in it,
by relative name, through linked subfolders too), hashed with BLAKE3 at build. An edit re-executes the step; a copy,
a move or a ``touch`` that leaves the bytes alone does not.

    @fm.step(outputs="raw")
    def load(src: fm.DataFile = fm.DataFile("data/raw.csv")) -> pd.DataFrame:
        return pd.read_csv(src)

    pipe.run(params={"src": fm.DataFile("data/other.csv")})

The tokenizer asks any object with a ``__flowyml_token__`` method for its token; this
class is the one FlowyML ships. Hashes are kept per process by (path, size, mtime, ctime,
inode), so a build hashes each file once while it is unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

from .hashing import MISSING, file_content_hash, hash_text


class DataFile(os.PathLike):
    """A path whose content, not its name, is what the cache key sees."""

    __slots__ = ("_path",)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        p = os.fspath(path)
        if not isinstance(p, str):
            raise TypeError(f"DataFile takes a str path or an os.PathLike, not {type(p).__name__}")
        self._path = p

    def __fspath__(self) -> str:
        return self._path

    @property
    def path(self) -> Path:
        return Path(self._path)

    def __str__(self) -> str:
        return self._path

    def __repr__(self) -> str:
        digest = self.content_hash()
        shown = digest[:12] if not digest.startswith(MISSING) else MISSING
        return f"DataFile({self._path!r}, content {shown})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataFile) and other._path == self._path

    def __hash__(self) -> int:
        return hash(("DataFile", self._path))

    def __reduce__(self) -> tuple[type[DataFile], tuple[str]]:
        return (DataFile, (self._path,))  # a worker gets the path; it reads the file itself

    def content_hash(self) -> str:
        """BLAKE3 of the file's bytes; for a folder, of every file in it with its
        relative name; ``missing`` when there is nothing at the path (the step will
        say why when it opens it)."""
        return _content_hash(os.path.abspath(self._path))

    def __flowyml_token__(self) -> str:
        return self.content_hash()


def _content_hash(path: str) -> str:
    if os.path.isdir(path):
        entries = []
        seen = {os.path.realpath(path)}
        for top, dirs, names in os.walk(path, followlinks=True):  # a linked data folder
            # counts; a link back up the tree is walked once
            dirs[:] = sorted(d for d in dirs if _first_visit(os.path.join(top, d), seen))
            for name in sorted(names):
                full = os.path.join(top, name)
                rel = os.path.relpath(full, path).replace(os.sep, "/")
                entries.append(f"{rel}\0{file_content_hash(full)}")
        return hash_text("folder", *entries)
    return file_content_hash(path)


def _first_visit(folder: str, seen: set[str]) -> bool:
    real = os.path.realpath(folder)
    if real in seen:
        return False
    seen.add(real)
    return True
