"""The read-only web page for runs, artifacts and lineage (``flowyml ui``).

Nothing here is imported by ``import flowyml``; the page needs the ``ui`` extra
(``pip install 'flowyml-core[ui]'``: starlette, uvicorn, jinja2).

``create_app(stack)`` returns the Starlette app (mount it anywhere an ASGI app goes);
``serve(stack, host, port)`` runs it with uvicorn on 127.0.0.1 until Ctrl-C.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .server import serve

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "serve":
        from .server import serve

        return serve
    raise AttributeError(f"module 'flowyml.ui' has no attribute {name!r}")
