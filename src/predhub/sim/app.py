"""The simulator's one Starlette application: every venue under its prefix.

A request to a path no route knows is counted under the venue whose prefix it
falls in, so stray calls show up in the stats too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from predhub.sim import admin
from predhub.sim.fmt import json_response
from predhub.sim.plugins import plugins
from predhub.sim.runtime import Sim


def _not_found(venue: str) -> Any:
    async def handler(request: Request) -> Response:
        request.app.state.sim.control.record(venue, "<unknown>", 404)
        return json_response({"error": "not found"}, 404)

    return handler


async def _index(request: Request) -> Response:
    host = request.url.hostname or "127.0.0.1"
    port = request.url.port or 80
    from predhub.sim.urls import adapter_env

    return json_response({"simulator": "predhub", "venues": adapter_env(host, port)})


async def _client_gone(request: Request, exc: Exception) -> Response:
    """A client that left mid-request (a worker stopping) is no simulator error.

    Without this, reading the body of an abandoned request raised, and uvicorn
    printed a traceback whenever the demo stopped its worker mid-request.
    """
    return Response(status_code=499)


def build_app(sim: Sim) -> Starlette:
    tables: dict[str, list[BaseRoute]] = {}
    venue_of: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    routes: list[BaseRoute] = [
        Route("/", _index),
        Mount("/admin", routes=list(admin.routes())),
    ]
    for plugin in plugins():
        tables.update(plugin.routes())
        prefixes.update(plugin.prefixes)
        venue_of.update(dict.fromkeys(plugin.prefixes, plugin.name))
        routes += plugin.ws_routes()
    # longest prefix first, so /<venue>/gamma is tried before anything shorter
    for name in sorted(prefixes, key=lambda n: -len(prefixes[n])):
        catch_all = Route(
            "/{rest:path}", _not_found(venue_of[name]), methods=["GET", "POST", "PUT", "DELETE"]
        )
        routes.append(Mount(prefixes[name], routes=[*tables.get(name, []), catch_all]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_ticker(sim))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={ClientDisconnect: _client_gone}
    )
    app.state.sim = sim
    return app


async def _ticker(sim: Sim) -> None:
    """Step the world in the background so work is spread and streams have news."""
    while True:
        await asyncio.sleep(sim.config.tick_seconds)
        sim.sync()
        for plugin in plugins():
            if plugin.on_tick is not None:
                plugin.on_tick(sim)
