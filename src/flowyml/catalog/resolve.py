"""What a person names an artifact by, read one way everywhere (the CLI's ``show`` and
``lineage``, ``Catalog.resolve``, ``get_lineage``): ``NAME`` (its ``@latest``),
``NAME@VERSION``, ``NAME@ALIAS``, an artifact id, or the start of a content hash."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.errors import ArtifactNotFoundError, ParameterError
from ..core.names import check_name, is_version

if TYPE_CHECKING:
    from .base import CatalogReader
    from .records import ArtifactRecord

MIN_HASH_PREFIX = 6  # hex digits (the lineage tree prints 10)
_HEX = "0123456789abcdef"


def resolve_spec(spec: str, find: Callable[[str, str], ArtifactRecord],
                 reader: Callable[[], CatalogReader]) -> ArtifactRecord:
    """The artifact ``spec`` names. ``find`` looks a name up (one probe: the catalog a
    run opens will do); ``reader`` opens the catalog that knows ids and hashes, only
    when the name is not one."""
    if "@" in spec:
        name, _, selector = spec.partition("@")
        if not is_version(selector) and selector != "latest":
            check_name(selector, "alias")
        return find(check_name(name), selector)
    try:
        return find(check_name(spec), "latest")
    except (ArtifactNotFoundError, ParameterError) as not_a_name:
        catalog = reader()
        try:
            return catalog.get_artifact(spec)
        except ArtifactNotFoundError:
            pass
        if len(spec) < MIN_HASH_PREFIX or spec.strip(_HEX):
            raise not_a_name from None
        found = catalog.search(hash_prefix=spec, limit=10)
        if len(found) == 1:
            return found[0]
        if not found:
            raise not_a_name from None
        labels = ", ".join(f"{a.name}@{a.version}" for a in found)
        raise ArtifactNotFoundError(
            f"{spec!r} starts the content hash of several artifacts ({labels}): give more "
            "of it, or NAME@VERSION") from None
