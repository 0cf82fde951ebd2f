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

_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · predhub</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/style.css">
{chart_head}<script type="module" src="/static/{script}"></script>
</head>
<body>
<main id="main"><h1>{title}</h1><p class="muted" id="loading">Loading…</p></main>
</body>
</html>
"""

_CHART_HEAD = (
    '<link rel="stylesheet" href="/static/uplot.min.css">\n'
    '<script src="/static/uplot.min.js" defer></script>\n'
)


def render(page: Page) -> bytes:
    """A page's HTML: the shell its script fills in."""
    return _TEMPLATE.format(
        title=page.title, script=page.script, chart_head=_CHART_HEAD if page.charts else ""
    ).encode()


def install_dashboard(app: FastAPI) -> None:
    """Serve the pages and `/static` on `app`."""
    bodies = {page.path: render(page) for page in PAGES}

    async def serve(request: Request) -> Response:
        return Response(
            bodies[request.url.path],
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    for page in PAGES:
        app.add_api_route(page.path, serve, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
