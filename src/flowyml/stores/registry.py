"""Remote backends by URI scheme, imported only when a store of that scheme is opened.

Like fsspec's ``known_implementations``: each scheme names the adapter module (in this
package), the fsspec protocol, and the package and ``flowyml-core`` extra it needs, so
a missing backend is reported with the command that installs it before anything is
imported. Adding a backend is one adapter module and one line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..core.errors import ConfigError
from ..core.secrets import mask_uri
from .adapter import Adapter


@dataclass(frozen=True)
class Backend:
    target: str  # "<module of this package>:<Adapter subclass>"
    protocol: str  # the fsspec protocol
    package: str | None  # the distribution's import name, checked before importing
    extra: str | None  # pip install 'flowyml-core[<extra>]'


BACKENDS: dict[str, Backend] = {
    "s3": Backend("s3:S3Adapter", "s3", "s3fs", "s3"),
    "s3a": Backend("s3:S3Adapter", "s3", "s3fs", "s3"),
    "gs": Backend("gcs:GCSAdapter", "gs", "gcsfs", "gcs"),
    "gcs": Backend("gcs:GCSAdapter", "gs", "gcsfs", "gcs"),
    "az": Backend("azure:AzureAdapter", "az", "adlfs", "azure"),
    "abfs": Backend("azure:AzureAdapter", "abfs", "adlfs", "azure"),
    "abfss": Backend("azure:AzureAdapter", "abfss", "adlfs", "azure"),
    "memory": Backend("memory:MemoryAdapter", "memory", None, None),
}

SUPPORTED = (
    "s3:// (pip install 'flowyml-core[s3]'), gs:// (pip install 'flowyml-core[gcs]'), "
    "az:// or abfs:// (pip install 'flowyml-core[azure]'), memory://, file:// or a plain path"
)


def scheme_of(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def load_adapter(uri: str, stack_name: str = "default") -> Adapter:
    """The adapter for ``uri``'s scheme; ``ConfigError`` for an unknown scheme or a
    backend whose package is not installed (naming the extra that installs it)."""
    scheme = scheme_of(uri)
    backend = BACKENDS.get(scheme)
    if backend is None:
        raise ConfigError(
            f"stack {stack_name!r}: store {mask_uri(uri)!r} has an unknown scheme "
            f"{scheme + '://' if scheme else '(none)'}; supported: {SUPPORTED}"
        )
    if backend.package and _missing(backend.package):
        raise ConfigError(
            f"stack {stack_name!r}: store {mask_uri(uri)} needs the Python package "
            f"{backend.package!r}, which is not installed: pip install "
            f"'flowyml-core[{backend.extra}]'"
        )
    module, name = backend.target.split(":")
    try:
        adapter_class = getattr(importlib.import_module(f".{module}", __package__), name)
    except ImportError as exc:  # the package is there, one of its dependencies is not
        raise ConfigError(
            f"stack {stack_name!r}: store {mask_uri(uri)} needs a backend that is not "
            f"installed ({exc}): pip install 'flowyml-core[{backend.extra}]'"
        ) from exc
    adapter: Adapter = adapter_class(backend.protocol, backend.extra)
    return adapter


def _missing(package: str) -> bool:
    import importlib.util  # here: a local store never needs it

    return importlib.util.find_spec(package) is None
