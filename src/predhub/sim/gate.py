"""The wrapper every venue endpoint runs through.

It counts the request, applies the venue's rate limit the venue's way,
injects configured faults, waits the endpoint's latency and serializes the
handler's result, so the handlers themselves only read the world.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from predhub.sim.config import FaultRule
from predhub.sim.errors import Reply as Reply
from predhub.sim.fmt import dumps, json_response
from predhub.sim.runtime import Sim


@dataclass(frozen=True, slots=True)
class Limit:
    """A venue rate limit: `mode` "delay" queues (Cloudflare), "reject" answers 429."""

    key: str
    rate: float  # tokens per second
    capacity: float
    cost: float = 1.0
    mode: str = "reject"


@dataclass(frozen=True, slots=True)
class VenueStyle:
    name: str
    error_body: Callable[[int, str], Any]
    rate_limited_body: Any
    limits: Callable[[str], list[Limit]]
    auth: Callable[[Request], Any] | None = None  # returns an error body, or None when allowed


class _Dropped(Response):
    """Headers promising a body that never comes, then the connection closes."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
        # returning without finishing the body makes the server close the connection


Handler = Callable[[Request, Sim], Awaitable[Any] | Any]


def _apply_field_fault(body: Any, rule: FaultRule) -> Any:
    if not rule.field:
        return body
    if isinstance(body, list):
        return [_apply_field_fault(x, rule) for x in body]
    if isinstance(body, dict):
        out: dict[str, Any] = {}
        for k, v in body.items():
            if k == rule.field:
                if rule.kind == "renamed_field":
                    out[rule.rename_to or f"{k}_renamed"] = v
                elif rule.kind == "replaced_field":
                    out[k] = rule.value
                continue
            out[k] = _apply_field_fault(v, rule)
        return out
    return body


def endpoint(
    style: VenueStyle, template: str, handler: Handler, latency: float
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint serving `handler` under the venue's rules."""
    venue = style.name
    limits = style.limits(template)

    async def run(request: Request) -> Response:
        sim: Sim = request.app.state.sim
        ctl = sim.control
        if style.auth is not None:
            denied = style.auth(request)
            if denied is not None:
                ctl.record(venue, template, 401)
                return json_response(denied, 401)
        if ctl.rate_limits:
            for lim in limits:
                bucket = ctl.bucket((venue, lim.key), lim.rate, lim.capacity)
                if lim.mode == "delay":
                    wait = bucket.delay_for(lim.cost)
                    if wait > 0:
                        await asyncio.sleep(wait)
                elif not bucket.try_take(lim.cost):
                    ctl.record(venue, template, 429)
                    return json_response(style.rate_limited_body, 429)
        rule = ctl.pick_fault(venue, template)
        if rule is not None:
            headers = None
            if rule.retry_after is not None:
                headers = {"Retry-After": str(math.ceil(rule.retry_after))}
            if rule.kind == "error":
                ctl.record(venue, template, rule.status)
                body = style.error_body(rule.status, "simulated failure")
                return json_response(body, rule.status, headers)
            if rule.kind == "rate_limit":
                ctl.record(venue, template, 429)
                return json_response(style.rate_limited_body, 429, headers)
            if rule.kind == "drop":
                ctl.record(venue, template, 0)
                return _Dropped()
            if rule.kind == "timeout":
                ctl.record(venue, template, 408)
                await asyncio.sleep(rule.seconds)
        if latency > 0 and ctl.latency_scale > 0:
            await asyncio.sleep(latency * ctl.latency_scale * ctl.latency_rng.uniform(0.7, 1.4))
        sim.sync()
        try:
            result = handler(request, sim)
            if asyncio.iscoroutine(result):
                result = await result
            status, body = 200, result
        except Reply as reply:
            status, body = reply.status, reply.body
        if rule is not None and rule.kind == "timeout":
            return json_response(body, status)  # already counted when it began
        ctl.record(venue, template, status)
        if rule is not None and rule.kind == "malformed" and status == 200:
            raw = dumps(body)
            return Response(
                raw[: max(1, len(raw) // 2)], status_code=200, media_type="application/json"
            )
        if rule is not None and rule.kind in ("missing_field", "renamed_field", "replaced_field"):
            body = _apply_field_fault(body, rule)
        return json_response(body, status)

    return run


def venue_route(
    style: VenueStyle,
    path: str,
    handler: Handler,
    latency: float,
    methods: list[str] | None = None,
) -> Route:
    """A route serving `handler` at `path` under the venue's rules (GET unless told)."""
    return Route(path, endpoint(style, path, handler, latency), methods=methods or ["GET"])


def venue_routes(
    style: VenueStyle, url_setting: str, table: Sequence[tuple[str, Handler, float]]
) -> dict[str, list[BaseRoute]]:
    """The GET routes of a venue served under one base URL, from (path, handler, latency).

    `url_setting` names the base-URL setting the routes are mounted under (see
    `predhub.sim.urls`).
    """
    return {url_setting: [venue_route(style, path, h, latency) for path, h, latency in table]}
