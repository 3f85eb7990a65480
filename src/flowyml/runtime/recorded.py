"""What the records of an execution keep beside the fingerprint's sources
(``Fingerprint.sources``, rendered only for a code version not recorded yet):

- the value of each environment variable its key counts (``env VAR``, a token only):
  ``VAR = '2'``, ``VAR = ***`` under a secret-looking name, ``VAR is not set``, so
  ``flowyml diff`` says ``'1' -> '2'``;
- the file defining the module of a constant reached through a module attribute
  (``constant pipe.py:util.TOKEN``: its key names the file of the code that reads it),
  under ``FILE_OF`` + the part, so ``flowyml show --code`` heads it with that file.

A reuse records neither: its code version was recorded by the execution it reuses.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.fingerprint import value_source
from ..core.parts import FILE_OF, Fingerprint, LazySources, env_not_set, with_sources

ENV = "env "  # the fingerprint part of an environment variable the code reads
_CONSTANT = "constant "


def recorded_sources(fp: Fingerprint, root: str | None) -> Mapping[str, str]:
    """``fp.sources``, with the environment's values and the defining files of module
    attributes (the module's docstring); ``fp.sources`` itself when there are none."""
    env = [k for k in fp.parts if k.startswith(ENV)]
    chained = [k for k in fp.parts if k.startswith(_CONSTANT) and "." in k.rpartition(":")[2]]
    if not env and not chained:
        return fp.sources
    more: dict[str, Any] = {k: {"": v} for k, v in _env_values(fp, env).items()}
    base = Path(root or ".")
    more.update({FILE_OF + k: {"": _resolver(base, k)} for k in chained})
    return with_sources(fp.sources, LazySources(more))


def _env_values(fp: Fingerprint, parts: list[str]) -> dict[str, str]:
    """Each variable's value as ``value_source`` shows a value (masked under a
    secret-looking name, a URL's password masked: a catalog never stores a credential),
    read now and kept only when its token is the one the key counted (a step may have
    changed the environment since the build)."""
    from ..core.tokens import Tokenizer

    out = {}
    for part in parts:
        var = part[len(ENV):]
        value = os.environ.get(var)
        if Tokenizer(ordered=True).digest(value) == fp.parts[part]:
            out[part] = env_not_set(var) if value is None else value_source(var, value)
    return out


def _resolver(root: Path, part: str) -> Any:
    """The defining file of constant ``part``'s module, found when first read (only a
    code version not recorded yet reads it): ``""`` when not found (the module was
    imported inside a function, a value that is no module holds it)."""

    def find() -> str:
        where, _, chain = part[len(_CONSTANT):].rpartition(":")
        names = chain.split(".")[:-1]
        module = _module_at(root, where)
        obj: Any = vars(module).get(names[0]) if module is not None else None
        for name in names[1:]:
            obj = getattr(obj, name, None)
        if not isinstance(obj, types.ModuleType):
            return ""
        from ..core.ownership import user_label

        label = user_label(root, obj.__name__, getattr(obj, "__file__", None))
        return label if label is not None and label != where else ""

    return find


def _module_at(root: Path, label: str) -> types.ModuleType | None:
    """The loaded module whose file is ``label`` (a path relative to ``root``)."""
    from ..core.ownership import user_label

    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (isinstance(module, types.ModuleType) and isinstance(file, str)
                and file.endswith(label.rpartition("/")[2])
                and user_label(root, name, file) == label):
            return module
    return None
