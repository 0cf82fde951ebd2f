"""`/docs` (Swagger UI) and `/redoc`, with their scripts and styles served by the hub itself.

FastAPI's default pages load them from a CDN, which leaves both pages blank on
a machine without internet access: a self-hosted hub should document itself
offline. The assets come from the `fastapi-standalone-docs` package (Swagger
UI under Apache-2.0, ReDoc under MIT, their licence files shipped alongside),
wired with FastAPI's self-hosting recipe; only its files are used.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

ASSETS = "/docs-assets"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def _asset_dir() -> Path:
    return Path(str(resources.files("fastapi_standalone_docs") / "static"))


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Add the two documentation pages and the static files they load."""
    app.mount(ASSETS, StaticFiles(directory=_asset_dir()), name="docs-assets")
    favicon = f"{ASSETS}/fastapi/favicon.png"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + OAUTH2_REDIRECT,
            swagger_js_url=f"{root}{ASSETS}/swagger/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger/swagger-ui.css",
            swagger_favicon_url=root + favicon,
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc/redoc.standalone.js",
            redoc_favicon_url=root + favicon,
            with_google_fonts=False,
        )
