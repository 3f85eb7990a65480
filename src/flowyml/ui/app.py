"""The read-only web page: a Starlette app over the public catalog and lineage API.

``create_app(stack)`` builds the app; ``flowyml ui`` serves it (see ``server.py``).
Every route is a GET; nothing here writes to the catalog or the store. Pages are
rendered on the server with Jinja2; ``static/app.js`` only pans and zooms graphs,
opens step details and fetches the artifact preview. Graph layouts are computed in
``layout.py``. Responses carry a strict Content-Security-Policy (no inline script or
style, nothing from another origin), and requests must name a loopback host unless the
page was deliberately exposed, so another web site cannot read it through DNS
rebinding.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..core.errors import ArtifactNotFoundError, CatalogError, FlowymlError
from . import fmt
from .layout import Layout, fit_scale, layered_layout
from .model import (
    STATES,
    artifact_view,
    error_text,
    lineage_view,
    run_summary,
    run_view,
    search,
)

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from ..catalog_api import Catalog
    from ..stack import Stack

HERE = Path(__file__).parent
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class NoCatalogYet(Exception):
    """The stack's SQLite catalog file does not exist (no pipeline has run)."""


class _State:
    """The stack's ``Catalog``, opened on first use (never created by the page)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._lock = threading.Lock()
        self._cat: Catalog | None = None

    def catalog(self) -> Catalog:
        with self._lock:
            if self._cat is None:
                missing = _missing_sqlite_file(self.stack.catalog or "")
                if missing:
                    raise NoCatalogYet(missing)
                from ..catalog_api import Catalog

                self._cat = Catalog(self.stack)
            return self._cat


def _missing_sqlite_file(url: str) -> str | None:
    """The file of a SQLite catalog ``url`` when it does not exist yet (``None`` for
    any other URL): parsed as the catalog itself parses it (``dbapi.parse_url``)."""
    from ..catalog.dbapi import parse_url

    parsed = parse_url(url)
    if parsed is None or parsed[0] != "sqlite" or parsed[1] == ":memory:":
        return None
    return None if Path(parsed[1]).exists() else parsed[1]


def create_app(
    stack: Stack | str | None = None, *, allowed_hosts: list[str] | None = None
) -> Starlette:
    """The read-only page for ``stack`` (default: the current stack).

    ``allowed_hosts``: the names requests may use in their Host header; the default
    accepts only loopback names. Pass ``["*"]`` when serving on another interface.
    """
    from ..stack import as_stack

    st = as_stack(stack)
    pages = _Pages(st)
    get = ["GET"]
    routes = [
        Route("/", pages.runs_page, methods=get, name="runs"),
        Route("/runs/{run_id}", pages.run_page, methods=get, name="run"),
        Route("/assets", pages.assets_page, methods=get, name="assets"),
        Route("/assets/{name}", pages.asset_redirect, methods=get, name="asset"),
        Route("/assets/{name}/{selector}", pages.asset_redirect, methods=get, name="asset_version"),
        Route("/artifacts/{artifact_id}", pages.artifact_page, methods=get, name="artifact"),
        Route(
            "/artifacts/{artifact_id}/preview", pages.preview_fragment, methods=get, name="preview"
        ),
        Route("/artifacts/{artifact_id}/lineage", pages.lineage_page, methods=get, name="lineage"),
        Route("/search", pages.search_page, methods=get, name="search"),
        Route("/diff", pages.diff_page, methods=get, name="diff"),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_HOSTS),
            Middleware(_SecurityHeaders),
        ],
        exception_handlers={
            HTTPException: pages.http_error,
            ArtifactNotFoundError: pages.not_found,
            NoCatalogYet: pages.no_catalog,
            CatalogError: pages.catalog_error,
            FlowymlError: pages.flowyml_error,
            Exception: pages.server_error,
        },
    )
    app.state.flowyml_stack = st
    return app


class _Pages:
    """The page handlers of one app: each reads the stack's one ``Catalog``."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.state = _State(stack)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=jinja2.select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters.update(fmt.FILTERS)
        self.env.filters["q"] = lambda s: quote(str(s), safe="")
        self.describe = stack.describe()

    def render(
        self, request: Request, name: str, http_status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        ctx.setdefault("q", "")
        ctx.setdefault("nav", "")
        html = self.env.get_template(name).render(
            request=request,
            root=request.scope.get("root_path", "").rstrip("/"),
            stack=self.describe,
            states=STATES,
            **ctx,
        )
        return HTMLResponse(html, status_code=http_status)

    # ------------------------------------------------------------ pages
    def runs_page(self, request: Request) -> Response:
        limit = _int(request.query_params.get("limit"), 50, 1, 1000)
        pipeline = request.query_params.get("pipeline") or None
        try:
            cat = self.state.catalog()
        except NoCatalogYet as exc:
            return self.render(request, "runs.html", rows=[], limit=limit, pipeline=pipeline,
                               no_catalog=str(exc), nav="runs")
        rows = [run_summary(cat.reader, r) for r in cat.runs(limit=limit, pipeline=pipeline)]
        return self.render(request, "runs.html", rows=rows, limit=limit, pipeline=pipeline,
                           no_catalog=None, nav="runs")

    def run_page(self, request: Request) -> Response:
        cat = self.state.catalog()
        rec = cat.run(request.path_params["run_id"])
        view = run_view(cat.reader, rec)
        layout = best_layout(
            [s.name for s in view.steps], [(u, v) for u, v, _ in view.edges],
            node_w=232, node_h=72, lr_gaps=(110, 22), tb_gaps=(50, 28),
        )
        boxes = layout.boxes
        order = sorted(view.steps, key=lambda s: (boxes[s.name].layer, boxes[s.name].y))
        labels = {(u, v): a for u, v, a in view.edges}
        return self.render(request, "run.html", view=view, run=rec, layout=layout, steps=order,
                           by_name={s.name: s for s in view.steps}, labels=labels, nav="runs")

    def assets_page(self, request: Request) -> Response:
        try:
            cat = self.state.catalog()
        except NoCatalogYet as exc:
            return self.render(request, "assets.html", names=[], no_catalog=str(exc), nav="assets")
        names = cat.names()
        return self.render(request, "assets.html", names=names, no_catalog=None, nav="assets")

    def asset_redirect(self, request: Request) -> Response:
        cat = self.state.catalog()
        name = request.path_params["name"]
        art = cat.get(name, request.path_params.get("selector") or None)
        root = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{root}/artifacts/{quote(art.id, safe='')}", status_code=302)

    def artifact_page(self, request: Request) -> Response:
        view = artifact_view(self.state.catalog(), request.path_params["artifact_id"])
        return self.render(request, "artifact.html", view=view, a=view.artifact, nav="assets")

    def preview_fragment(self, request: Request) -> Response:
        from .preview import make_preview

        art = self.state.catalog().get_by_id(request.path_params["artifact_id"])
        p = make_preview(art, self.stack.open_store())
        resp = self.render(request, "preview.html", p=p, a=art)
        resp.headers["Cache-Control"] = "private, max-age=3600"
        return resp

    def lineage_page(self, request: Request) -> Response:
        cat = self.state.catalog()
        cat.get_by_id(request.path_params["artifact_id"])
        view = lineage_view(cat, request.path_params["artifact_id"])
        arts = [view.focus, *view.ancestors, *view.descendants]
        layout = best_layout(
            [a.id for a in arts], [(p, c) for p, c, _ in view.edges],
            node_w=210, node_h=50, lr_gaps=(60, 12), tb_gaps=(40, 16),
        )
        role = {a.id: "upstream" for a in view.ancestors}
        role.update({a.id: "source" for a in view.ancestors if a.id in view.sources})
        role.update({a.id: "downstream" for a in view.descendants})
        role[view.focus.id] = "focus"
        params = {(p, c): param for p, c, param in view.edges}
        return self.render(request, "lineage.html", view=view, a=view.focus, layout=layout,
                           arts={a.id: a for a in arts}, role=role, params=params, nav="assets")

    def search_page(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()[:200]
        try:
            cat = self.state.catalog()
        except NoCatalogYet as exc:
            return self.render(request, "search.html", res=None, q=q, no_catalog=str(exc))
        res = search(cat, q) if q else None
        return self.render(request, "search.html", res=res, q=q, no_catalog=None)

    def diff_page(self, request: Request) -> Response:
        """Two runs compared (``?run=A&run=B``, as the runs list's form sends them,
        older first) or two artifacts (``?a=NAME@V1&b=NAME@V2``)."""
        from ..diff import RunDiff, compare

        qp = request.query_params
        runs = [x for x in qp.getlist("run") if x]
        picked = runs or [x for x in (qp.get("a"), qp.get("b")) if x]
        if len(picked) != 2:
            return self.error_page(
                request, 400, "Pick two runs",
                f"Tick exactly two runs in the list to compare them ({len(picked)} given).")
        cat = self.state.catalog()
        if runs:  # the list is newest first: compare the older run (A) with the newer (B)
            recs = sorted((cat.run(r) for r in runs), key=lambda r: r.started_at)
            picked = [r.id for r in recs]
        result = compare(picked[0], picked[1], stack=cat.stack)
        kind = "runs" if isinstance(result, RunDiff) else "artifacts"
        return self.render(request, "diff.html", d=result, kind=kind,
                           nav="runs" if kind == "runs" else "assets")

    # ------------------------------------------------------------ errors
    def error_page(self, request: Request, status: int, title: str, message: str) -> Response:
        return self.render(request, "error.html", http_status=status, status=status, title=title,
                           message=message)

    def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return self.error_page(request, 404, "Not found",
                                   f"There is no page at {request.url.path}.")
        if exc.status_code == 405:
            resp = self.error_page(
                request, 405, "Read-only",
                "This page only reads the catalog; it accepts GET requests only.",
            )
            resp.headers["Allow"] = "GET, HEAD"
            return resp
        return self.error_page(request, exc.status_code, "Error", str(exc.detail))

    def not_found(self, request: Request, exc: Exception) -> Response:
        return self.error_page(request, 404, "Not found", error_text(exc))

    def no_catalog(self, request: Request, exc: Exception) -> Response:
        return self.error_page(request, 404, "Not found",
                               f"There is no catalog at {exc} yet: run a pipeline first.")

    def catalog_error(self, request: Request, exc: Exception) -> Response:
        return self.error_page(request, 503, "Catalog unavailable", error_text(exc))

    def flowyml_error(self, request: Request, exc: Exception) -> Response:
        return self.error_page(request, 400, type(exc).__name__, error_text(exc))

    def server_error(self, request: Request, exc: Exception) -> Response:
        return self.error_page(request, 500, "Internal error", f"{type(exc).__name__}: {exc}")


class _SecurityHeaders:
    """Adds CSP and friends to every response (a plain ASGI middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", _CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def best_layout(
    nodes: list[Any], edges: list[tuple[Any, Any]], *, node_w: float, node_h: float,
    lr_gaps: tuple[float, float], tb_gaps: tuple[float, float],
    view: tuple[float, float] = (1240, 620),
) -> Layout[Any]:
    """Left-to-right or top-to-bottom, whichever shows the graph larger in a typical view."""
    lr = layered_layout(nodes, edges, node_w=node_w, node_h=node_h,
                        gap_layer=lr_gaps[0], gap_node=lr_gaps[1])
    tb = layered_layout(nodes, edges, node_w=node_w, node_h=node_h,
                        gap_layer=tb_gaps[0], gap_node=tb_gaps[1], vertical=True)
    return tb if fit_scale(tb, *view) > fit_scale(lr, *view) * 1.05 else lr


def _int(raw: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return max(lo, min(hi, int(raw))) if raw is not None else default
    except ValueError:
        return default
