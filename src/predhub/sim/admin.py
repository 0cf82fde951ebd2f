"""Admin endpoints: request counts, ground truth, faults, time and settings.

These are what tests and benchmarks use to count upstream calls exactly and
to prove that ingestion lost nothing: the truth lists every trade a market
has had, with the same trade ids the venue endpoints return.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from predhub.sim.arbitrage import truth as arbitrage_truth
from predhub.sim.config import FaultRule
from predhub.sim.fmt import json_response
from predhub.sim.plugins import sim_venues
from predhub.sim.runtime import Sim
from predhub.sim.truth import market_truth, matches


def _sim(request: Request) -> Sim:
    sim: Sim = request.app.state.sim
    return sim


async def stats(request: Request) -> Response:
    return json_response(_sim(request).control.stats_json())


async def stats_reset(request: Request) -> Response:
    _sim(request).control.stats.clear()
    return json_response({"ok": True})


async def truth(request: Request) -> Response:
    sim = _sim(request)
    sim.sync()
    venue = request.query_params.get("venue")
    market = request.query_params.get("market")
    with_trades = request.query_params.get("trades", "true").lower() != "false"
    if venue is not None and venue not in sim_venues():
        return json_response({"error": f"unknown venue {venue}"}, 400)
    w = sim.world
    if market is not None:
        if venue is None:
            return json_response({"error": "market needs venue"}, 400)
        m = w.index.get((venue, market))
        if m is None:
            return json_response({"error": "unknown market"}, 404)
        return json_response(market_truth(w, m, with_trades))
    ms = [m for m in (w.by_venue[venue] if venue else w.markets) if m.listed]
    return json_response({"now": w.now, "markets": [market_truth(w, m, with_trades) for m in ms]})


async def matches_view(request: Request) -> Response:
    sim = _sim(request)
    sim.sync()
    return json_response(matches(sim.world))


async def arbitrage_view(request: Request) -> Response:
    """The planted arbitrages and traps, with the size and profit the hub should find."""
    sim = _sim(request)
    sim.sync()
    return json_response(arbitrage_truth(sim.world))


async def faults(request: Request) -> Response:
    ctl = _sim(request).control
    if request.method == "DELETE":
        ctl.faults.clear()
        return json_response({"faults": []})
    if request.method == "POST":
        try:
            data = orjson.loads(await request.body())
            items = data if isinstance(data, list) else data.get("faults", [data])
            rules = [FaultRule.model_validate(x) for x in items]
        except (orjson.JSONDecodeError, ValidationError, AttributeError) as exc:
            return json_response({"error": str(exc)}, 400)
        if isinstance(data, dict) and data.get("replace"):
            ctl.faults.clear()
        ctl.faults.extend(rules)
    return json_response({"faults": [f.model_dump() for f in ctl.faults]})


async def advance(request: Request) -> Response:
    sim = _sim(request)
    try:
        seconds = float(request.query_params.get("seconds", "0"))
    except ValueError:
        return json_response({"error": "seconds must be a number"}, 400)
    if seconds < 0:
        return json_response({"error": "time only moves forward"}, 400)
    made = sim.advance(seconds)
    return json_response(
        {"now": sim.world.now, "trades": made, "total_trades": sim.world.trades.total}
    )


async def config(request: Request) -> Response:
    sim = _sim(request)
    ctl = sim.control
    if request.method == "POST":
        try:
            data: dict[str, Any] = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError as exc:
            return json_response({"error": str(exc)}, 400)
        if "latency_scale" in data:
            ctl.latency_scale = max(0.0, float(data["latency_scale"]))
        if "rate_limits" in data:
            ctl.rate_limits = bool(data["rate_limits"])
            ctl.buckets.clear()
        if "ws_ping_seconds" in data:
            try:
                ping = float(data["ws_ping_seconds"])
            except (TypeError, ValueError):
                return json_response({"error": "ws_ping_seconds must be a number"}, 400)
            if ping <= 0:
                return json_response({"error": "ws_ping_seconds must be > 0"}, 400)
            ctl.ws_ping_seconds = ping
        if "speed" in data:
            sim.sync()
            sim.clock.set_speed(max(0.0, float(data["speed"])))
    return json_response(
        {
            "latency_scale": ctl.latency_scale,
            "rate_limits": ctl.rate_limits,
            "ws_ping_seconds": ctl.ws_ping_seconds,
            "speed": sim.clock.speed,
        }
    )


async def world(request: Request) -> Response:
    sim = _sim(request)
    sim.sync()
    w = sim.world
    counts: dict[str, dict[str, int]] = {}
    for m in w.markets:
        c = counts.setdefault(m.venue, {})
        c[m.status] = c.get(m.status, 0) + 1
    return json_response(
        {
            "seed": w.seed,
            "start": w.start,
            "now": w.now,
            "speed": sim.clock.speed,
            "markets": counts,
            "events": {v: len(evs) for v, evs in w.events_by_venue.items()},
            "trades": w.trades.total,
        }
    )


def routes() -> list[Route]:
    return [
        Route("/stats", stats),
        Route("/stats/reset", stats_reset, methods=["POST"]),
        Route("/truth", truth),
        Route("/matches", matches_view),
        Route("/arbitrage", arbitrage_view),
        Route("/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/advance", advance, methods=["POST"]),
        Route("/config", config, methods=["GET", "POST"]),
        Route("/world", world),
    ]
