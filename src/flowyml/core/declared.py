"""Whether any table schema can have been declared yet: only once pandera or pyarrow is
imported. Checked before ``contracts.py`` (and its imports) is loaded at all, so a
pipeline without schemas never pays for it."""

from __future__ import annotations

import sys

SCHEMA_LIBRARIES = ("pandera", "pyarrow")


def schemas_possible() -> bool:
    # (asked for every step's declaration: the lookups in C, without a generator)
    return not sys.modules.keys().isdisjoint(SCHEMA_LIBRARIES)
