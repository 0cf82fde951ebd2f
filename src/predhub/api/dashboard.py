"""The web dashboard: static pages that call the API from the browser.

Every page is one small HTML document built once from a template when the app
is created (so serving it costs a dictionary lookup), plus ES modules, a
stylesheet and the vendored chart library under `/static`. Nothing is fetched
from anywhere else: the dashboard works offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

STATIC = resources.files("predhub.api") / "static"


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    script: str
    charts: bool = False


PAGES: tuple[Page, ...] = (
    Page("/", "Home", "home.js"),
    Page("/markets", "Markets", "markets.js"),
    Page("/market", "Market", "market.js", charts=True),
    Page("/events", "Events", "events.js"),
    Page("/event", "Event", "event.js", charts=True),
    Page("/arbitrage", "Arbitrage & matches", "arbitrage.js"),
    Page("/status", "Status", "status.js"),
)


_CHART_HEAD = (
    '<link rel="stylesheet" href="/static/uplot.min.css">\n'
    '<script src="/static/uplot.min.js" defer></script>\n'
)


def render(page: Page, template: str) -> bytes:
    """A page's HTML: the shell (`static/page.html`) its script fills in."""
    return template.format(
        title=page.title, script=page.script, chart_head=_CHART_HEAD if page.charts else ""
    ).encode()


def install_dashboard(app: FastAPI) -> None:
    """Serve the pages and `/static` on `app`."""
    template = (STATIC / "page.html").read_text(encoding="utf-8")
    bodies = {page.path: render(page, template) for page in PAGES}

    async def serve(request: Request) -> Response:
        return Response(
            bodies[request.url.path],
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    for page in PAGES:
        app.add_api_route(page.path, serve, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
