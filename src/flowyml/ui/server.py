"""``flowyml ui``: serve the read-only page with uvicorn, on loopback unless told otherwise.

The page has no login. It binds 127.0.0.1 by default; another interface needs an
explicit ``--host`` (``expose=True`` here), and then a warning is printed. A host that
comes from anywhere else (``FLOWYML_UI_HOST``) may only be a loopback address. The
socket is bound before uvicorn starts, so the printed address is the real one (also
with ``--port 0``) and a busy port is a one-line error.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import uvicorn

from ..core.errors import ConfigError
from .app import create_app

if TYPE_CHECKING:
    from ..stack import Stack

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address."""
    h = host.strip("[]")
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:  # a host name, not an address: resolve it below
        pass
    try:
        infos = socket.getaddrinfo(h, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    addrs = {info[4][0] for info in infos}
    return bool(addrs) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addrs)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0 picks a free one)."""
    h = host.strip("[]")
    try:
        infos = socket.getaddrinfo(h, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot resolve host {host!r}: {exc}") from exc
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    if sys.platform != "win32":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
            "pick another port with --port (0 picks a free one)"
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    stack: Stack | str | None = None,
    host: str | None = None,
    port: int = DEFAULT_PORT,
    *,
    expose: bool = False,
    echo: Callable[[str], None] = print,
    warn: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> None:
    """Serve the page until interrupted (Ctrl-C).

    ``host`` defaults to 127.0.0.1. A non-loopback ``host`` is refused unless
    ``expose`` is true (what ``flowyml ui --host`` passes), because the page has no login.
    """
    from ..stack import as_stack

    host = host or DEFAULT_HOST
    loopback = is_loopback(host)
    if not loopback and not expose:
        raise ConfigError(
            f"refusing to serve the page on {host}: it is not a loopback address and the "
            f"page has no login. To expose it on purpose, pass --host {host} on the command "
            "line (flowyml ui --host ...)"
        )
    st = as_stack(stack)
    app = create_app(st, allowed_hosts=None if loopback else ["*"])
    sock = bind(host, port)
    if not loopback:
        warn(
            f"warning: serving on {host}, which other machines can reach. The page has no "
            "login: anyone who can connect can read every run, artifact and lineage in this "
            "catalog. Use it only on a trusted network."
        )
    d = st.describe()
    port_used = sock.getsockname()[1]
    listen = url_of(sock)
    if host.strip("[]") in ("0.0.0.0", "::", ""):
        listen = f"http://127.0.0.1:{port_used}/"
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    try:
        echo(f"FlowyML UI (read-only) for stack {d['name']!r}, catalog {d['catalog']}")
        if listen != url_of(sock):
            echo(f"  listening on all interfaces, port {port_used}")
        echo(f"  open {listen}    (Ctrl-C to stop)")
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its clean shutdown
        pass
    finally:
        sock.close()
    echo("stopped")
