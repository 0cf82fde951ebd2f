"""The FastAPI application factory; nothing happens at import.

`create_app(settings)` wires routers, error handlers and middleware; the
database pool, the LISTEN connection, the market data service and the
WebSocket fan-out are built in the lifespan, when a server actually starts.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from starlette.responses import Response

from predhub.api.access import AccessControl, AccessMiddleware
from predhub.api.asyncapi import ASYNCAPI_PATH, WS_PATH, asyncapi_document
from predhub.api.dashboard import install_dashboard
from predhub.api.docs import install_docs
from predhub.api.errors import ErrorBody, install_error_handlers
from predhub.api.fastpath import CachedPriceMiddleware
from predhub.api.guards import RequestLimitMiddleware
from predhub.api.http import HttpMiddleware
from predhub.api.keys import KEY_HEADER
from predhub.api.metrics import MetricsMiddleware, process_exited
from predhub.api.responses import ORJSONResponse, json_response
from predhub.api.routers import (
    accounts,
    admin,
    compat,
    events,
    gold,
    health,
    history,
    markets,
    matches,
    prices,
    research,
    search,
    top,
)
from predhub.api.shutdown import ShutdownSteps
from predhub.api.state import ApiState
from predhub.api.ws import FanOut
from predhub.db.connect import DatabaseUnavailable, close_pool, create_pool
from predhub.db.replicas import ReadRouter
from predhub.service.notify import Listener
from predhub.service.refresh import IngestRefresher, Refresher
from predhub.service.service import MarketDataService
from predhub.settings import Settings, get_settings

LOCK_POOL_SIZE = 4  # connections holding refresh locks, apart from those that write


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    refresher: Refresher | None = None,
) -> FastAPI:
    """The API; `database_url` defaults to the settings' (the serve command sets it)."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url or settings.explicit_database_url()
        if not url:
            raise DatabaseUnavailable("no database configured: set DATABASE_URL")
        # LISTEN needs a session of its own, and a refresh lock's transaction stays
        # open across the venue call (seconds): behind a transaction-mode pooler
        # either would pin one of its few server connections (a lock waiting on
        # another can starve the writes that would release it), so both connect
        # to DATABASE_SESSION_URL (the primary itself), the rest through the pooler.
        session = settings.database_session_url
        session_url = session.get_secret_value() if session is not None else url
        cache = settings.db_statement_cache_size
        # Each thing started registers its stop at once: a stop runs every step,
        # newest first, within one bound, whatever state the database is in.
        stops = ShutdownSteps()
        try:
            pool = await create_pool(
                url,
                min_size=settings.db_pool_min,
                max_size=settings.db_pool_max,
                statement_cache_size=cache,
            )
            stops.push("pool", lambda: close_pool(pool))
            lock_pool = await create_pool(
                session_url, min_size=1, max_size=LOCK_POOL_SIZE, statement_cache_size=cache
            )
            stops.push("lock_pool", lambda: close_pool(lock_pool))
            used_refresher = refresher
            if used_refresher is None and not settings.database_only_mode:
                owned = used_refresher = IngestRefresher(pool, settings)
                stops.push("refresher", owned.close)
            reads = ReadRouter(
                pool,
                settings.database_read_urls,
                max_lag=settings.database_read_max_lag_seconds,
                pool_min=1,
                pool_max=settings.db_pool_max,
                statement_cache_size=cache,
            )
            stops.push("reads", reads.stop)
            await reads.start()
            listener = Listener(session_url)
            stops.push("listener", listener.stop)
            await listener.start()
            service = MarketDataService(
                pool,
                settings,
                refresher=used_refresher,
                listener=listener,
                lock_pool=lock_pool,
                reads=reads,
            )
            stops.push("service", service.stop)
            await service.start()
            fanout = FanOut(service, listener)
            access = AccessControl(service.accounts, settings, listener)
            stops.push("access", access.stop)
            await access.start()
            app.state.api = ApiState(settings, service, listener, fanout, used_refresher, access)
            # Everything built so far (modules, routes, schemas) lives as long as the
            # process: moving it out of the collector's reach keeps full collections,
            # which a batch of 1,000 answers triggers, from scanning it (the batch p99).
            gc.collect()
            gc.freeze()
            yield
        finally:
            await stops.run()
            process_exited()

    app = FastAPI(
        title="predhub",
        version="1",
        summary="A self-hosted, database-first data hub for prediction markets",
        default_response_class=ORJSONResponse,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    install_docs(app)
    for module in (
        markets,
        prices,
        history,
        events,
        search,
        top,
        gold,
        matches,
        compat,
        research,
        admin,
        accounts,
        health,
    ):
        app.include_router(module.router)

    @app.websocket(WS_PATH)
    async def ws_endpoint(websocket: WebSocket) -> None:
        state: ApiState = websocket.app.state.api
        await state.fanout.serve(websocket)

    @app.get(ASYNCAPI_PATH, include_in_schema=False)
    async def asyncapi() -> Response:
        return json_response(asyncapi_document())

    install_dashboard(app)

    # Listed innermost first: the cached read path runs after the key and size checks,
    # and applies the HTTP rules (validators, caching hints) to its answers itself, so
    # the hottest request does not pay for one more layer.
    app.add_middleware(HttpMiddleware, threshold=settings.api_compress_min_bytes)
    app.add_middleware(CachedPriceMiddleware)
    app.add_middleware(AccessMiddleware)
    app.add_middleware(
        RequestLimitMiddleware,
        max_body=settings.api_max_body_bytes,
        max_headers=settings.api_max_header_bytes,
    )
    app.add_middleware(MetricsMiddleware)
    if settings.cors_origins:  # outermost, so refusals carry CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=[
                "Content-Type",
                "Authorization",
                "If-None-Match",
                KEY_HEADER.decode(),
            ],
            expose_headers=[
                "ETag",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "RateLimit-Policy",
            ],
            max_age=600,
        )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with its 422 entries describing our one error shape."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    components.setdefault(
        "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    for name, sub in (
        ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        .get("$defs", {})
        .items()
    ):
        components.setdefault(name, sub)
    components["ErrorBody"].pop("$defs", None)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "Invalid parameters",
                    "content": {"application/json": {"schema": ref}},
                }
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    app.openapi_schema = schema
    return schema


def app_from_env() -> FastAPI:
    """For `uvicorn --factory`: each worker builds its app from the environment."""
    return create_app(Settings())
