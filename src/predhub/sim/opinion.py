"""Opinion as the simulator serves it: the {code, msg, result} envelope.

Every call needs an `apikey` header. Binary markets are listed as themselves;
categorical markets are listed as a parent whose `childMarkets` are binary.
Times are unix seconds except order-book and price timestamps (milliseconds).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from predhub.sim.books import outcome_book
from predhub.sim.gate import Limit, Reply, VenueStyle, venue_routes
from predhub.sim.history import price_points
from predhub.sim.names import money
from predhub.sim.plugins import Proposition, SimPlugin
from predhub.sim.runtime import Sim
from predhub.sim.world import CLOSED, OPEN, RESOLVED, VOIDED, SimEvent, SimMarket, World

VENUE = "opinion"
STATUS = {
    OPEN: (2, "Activated"),
    CLOSED: (3, "Resolving"),
    RESOLVED: (4, "Resolved"),
    VOIDED: (4, "Resolved"),
}
QUOTE_TOKEN = "0x55d398326f99059fF775485246999027B3197955"


def _envelope_error(status: int, msg: str) -> dict[str, Any]:
    return {"code": status, "msg": msg, "result": None}


def _auth(request: Request) -> Any:
    if not request.headers.get("apikey"):
        return _envelope_error(401, "apikey is required")
    return None


STYLE = VenueStyle(
    name=VENUE,
    error_body=_envelope_error,
    rate_limited_body=_envelope_error(429, "Too Many Requests"),
    limits=lambda template: [Limit("all", rate=15.0, capacity=15.0, mode="reject")],
    auth=_auth,
)


def ok(result: Any) -> dict[str, Any]:
    return {"code": 0, "msg": "success", "result": result}


def _fail(msg: str) -> Reply:
    return Reply(400, _envelope_error(400, msg))


def _status(ms: list[SimMarket]) -> tuple[int, str]:
    if any(m.status == OPEN for m in ms):
        return STATUS[OPEN]
    if any(m.status == CLOSED for m in ms):
        return STATUS[CLOSED]
    return STATUS[RESOLVED]


def _child(m: SimMarket, world: World) -> dict[str, Any]:
    code, name = STATUS.get(m.status, (1, "Created"))
    return {
        "marketId": int(m.native_id),
        "marketTitle": m.label or m.question,
        "status": code,
        "statusEnum": name,
        "yesLabel": "YES",
        "noLabel": "NO",
        "rules": f"Resolves YES if {m.question.rstrip('?')}."
        + (f" Source: {m.extra['source']}." if m.extra.get("source") else ""),
        "yesTokenId": m.token_ids[0],
        "noTokenId": m.token_ids[1],
        "conditionId": m.condition_id[2:],
        "resultTokenId": m.token_ids[m.winner]
        if m.status == RESOLVED and m.winner is not None
        else "",
        "volume": f"{m.total_volume():.6f}",
        "quoteToken": QUOTE_TOKEN,
        "chainId": "56",
        "questionId": m.question_id[2:],
        "createdAt": int(m.created_at),
        "cutoffAt": int(m.close_at),
        "resolvedAt": int(m.resolved_at) if m.resolved_at else 0,
    }


def _is_categorical(ev: SimEvent) -> bool:
    return len(ev.markets) > 1


def opinion_market(ev: SimEvent, world: World) -> dict[str, Any]:
    listed = [m for m in ev.markets if m.listed]
    if not _is_categorical(ev):
        m = listed[0]
        d = _child(m, world)
        d["marketTitle"] = m.question
        d.update(
            {
                "marketType": 0,
                "childMarkets": [],
                "volume24h": f"{m.volume24(world.now):.6f}",
                "volume7d": f"{m.volume24(world.now) * 5.5:.6f}",
                "incentiveFactor": {},
            }
        )
        return d
    code, name = _status(listed)
    vol = sum(m.total_volume() for m in listed)
    v24 = sum(m.volume24(world.now) for m in listed)
    resolved = [m.resolved_at for m in listed if m.resolved_at]
    return {
        "marketId": int(ev.native_id),
        "marketTitle": ev.title,
        "status": code,
        "statusEnum": name,
        "marketType": 1,
        "childMarkets": [_child(m, world) for m in listed],
        "yesLabel": "",
        "noLabel": "",
        "rules": f"One of the listed outcomes resolves YES: {ev.title}",
        "yesTokenId": "",
        "noTokenId": "",
        "conditionId": "",
        "resultTokenId": "",
        "volume": f"{vol:.6f}",
        "volume24h": f"{v24:.6f}",
        "volume7d": f"{v24 * 5.5:.6f}",
        "quoteToken": QUOTE_TOKEN,
        "chainId": "56",
        "questionId": "",
        "incentiveFactor": {},
        "createdAt": int(ev.created_at),
        "cutoffAt": int(max(m.close_at for m in listed)),
        "resolvedAt": int(max(resolved)) if resolved and len(resolved) == len(listed) else 0,
    }


def _int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        v = int(raw)
    except ValueError as exc:
        raise _fail(f"invalid {name}") from exc
    if v < lo or v > hi:
        raise _fail(f"{name} must be between {lo} and {hi}")
    return v


def markets(request: Request, sim: Sim) -> Any:
    w = sim.world
    page = _int(request, "page", 1, 1, 1_000_000)
    limit = _int(request, "limit", 10, 1, 20)
    mtype = _int(request, "marketType", 0, 0, 2)
    status = request.query_params.get("status")
    if status not in (None, "", "activated", "resolved"):
        raise _fail("status must be activated or resolved")
    evs = w.memo(("opinion-markets", mtype, status), lambda: _listed_events(w, mtype, status))
    chunk = evs[(page - 1) * limit : page * limit]
    return ok({"total": len(evs), "list": [opinion_market(e, w) for e in chunk]})


def _listed_events(w: World, mtype: int | None, status: str | None) -> list[SimEvent]:
    """The events a `/market` listing pages through (remembered while the world stands still)."""
    evs = [e for e in w.events_by_venue[VENUE] if any(m.listed for m in e.markets)]
    if mtype == 0:
        evs = [e for e in evs if not _is_categorical(e)]
    elif mtype == 1:
        evs = [e for e in evs if _is_categorical(e)]
    if status == "activated":
        evs = [e for e in evs if any(m.status == OPEN for m in e.markets)]
    elif status == "resolved":
        evs = [e for e in evs if all(m.status in (RESOLVED, VOIDED) for m in e.markets if m.listed)]
    return evs


def _by_id(sim: Sim, raw: str) -> SimEvent | SimMarket:
    w = sim.world
    m = w.market(VENUE, raw)
    if m is not None:
        return m
    ev = w.event_index.get((VENUE, raw))
    if ev is not None and any(x.listed for x in ev.markets):
        return ev
    raise _fail("market not found")


def market(request: Request, sim: Sim) -> Any:
    hit = _by_id(sim, request.path_params["market_id"])
    if isinstance(hit, SimEvent) or _is_categorical(hit.event):
        if isinstance(hit, SimMarket):
            return ok({"data": _child(hit, sim.world)})
        raise _fail("market is categorical; use /market/categorical/{marketId}")
    return ok({"data": opinion_market(hit.event, sim.world)})


def categorical(request: Request, sim: Sim) -> Any:
    hit = _by_id(sim, request.path_params["market_id"])
    if isinstance(hit, SimMarket):
        raise _fail("market is not categorical")
    return ok({"data": opinion_market(hit, sim.world)})


def _token(sim: Sim, token: str | None) -> tuple[SimMarket, int]:
    if not token:
        raise _fail("token_id is required")
    hit = sim.world.token_index.get(token)
    if hit is None or hit[0].venue != VENUE or not hit[0].listed:
        raise _fail("token not found")
    return hit


def latest_price(request: Request, sim: Sim) -> Any:
    m, outcome = _token(sim, request.query_params.get("token_id"))
    last = sim.world.trades.last(m.idx)
    if last is None:
        return ok(
            {
                "tokenId": m.token_ids[outcome],
                "price": f"{m.outcome_price(outcome):.4f}",
                "side": "",
                "size": "0",
                "timestamp": int(m.updated_at * 1000),
            }
        )
    p = last.price if last.outcome == outcome else 1 - last.price
    return ok(
        {
            "tokenId": m.token_ids[outcome],
            "price": f"{p:.4f}",
            "side": last.side.capitalize(),
            "size": f"{last.size:.2f}",
            "timestamp": last.ts_ms,
        }
    )


def orderbook(request: Request, sim: Sim) -> Any:
    m, outcome = _token(sim, request.query_params.get("token_id"))
    bids, asks = outcome_book(m, outcome, sim.world.trades.count(m.idx), sim.world.seed)
    return ok(
        {
            "market": m.condition_id[2:],
            "tokenId": m.token_ids[outcome],
            "timestamp": int(m.updated_at * 1000),
            "bids": [{"price": f"{p:.3f}", "size": f"{s:.2f}"} for p, s in bids],
            "asks": [{"price": f"{p:.3f}", "size": f"{s:.2f}"} for p, s in asks],
        }
    )


_INTERVAL = {"1m": 60, "1h": 3600, "1d": 86400, "1w": 7 * 86400, "max": 0}


def price_history(request: Request, sim: Sim) -> Any:
    m, outcome = _token(sim, request.query_params.get("token_id"))
    interval = request.query_params.get("interval") or "1h"
    if interval not in _INTERVAL:
        raise _fail("interval must be one of 1m, 1h, 1d, 1w, max")
    now = sim.world.now
    end = float(_int(request, "end_at", int(now), 0, 2**40))
    start = float(_int(request, "start_at", int(max(m.created_at, end - 30 * 86400)), 0, 2**40))
    step = float(_INTERVAL[interval] or max(3600.0, (end - start) / 200))
    pts = price_points(sim, m, outcome, start, end, step)
    return ok({"history": [{"t": t, "p": f"{p:.4f}"} for t, p in pts]})


def routes() -> dict[str, list[BaseRoute]]:
    return venue_routes(
        STYLE,
        "OPINION_URL",
        [
            ("/market", markets, 0.25),
            ("/market/categorical/{market_id}", categorical, 0.15),
            ("/market/{market_id}", market, 0.15),
            ("/token/latest-price", latest_price, 0.1),
            ("/token/orderbook", orderbook, 0.1),
            ("/token/price-history", price_history, 0.15),
        ],
    )


def _wording(p: Proposition) -> str:
    d = datetime.fromtimestamp(p.close, UTC)
    if p.kind in ("above", "below"):
        op = "<" if p.kind == "below" else ">"
        return f"{p.subject} {op} {money(p.value)} on {d:%Y-%m-%d}"
    if p.kind == "band":
        return f"{p.subject} {money(p.value)}-{money(p.high)} on {d:%Y-%m-%d}"
    if p.kind == "beat":
        return f"Will {p.subject} beat {p.place} on {d:%Y-%m-%d}?"
    if p.kind == "lose":
        return f"{p.subject} fails to win {p.place} {p.office} election {d.year}"
    return f"{p.place} {p.office} election {d.year} winner: {p.subject}"


WS_PREFIXES = {"OPINION_WS_URL": "/opinion/ws"}


def _ws_routes() -> list[BaseRoute]:
    from starlette.routing import WebSocketRoute

    from predhub.sim.opinion_ws import socket

    return [WebSocketRoute(WS_PREFIXES["OPINION_WS_URL"], socket)]


def _notify(sim: Sim) -> None:
    from predhub.sim.opinion_ws import notify

    notify(sim)


PLUGIN = SimPlugin(
    name=VENUE,
    prefixes={"OPINION_URL": "/opinion/openapi"},
    routes=routes,
    ws_prefixes=WS_PREFIXES,
    ws_routes=_ws_routes,
    on_tick=_notify,
    extra_env={"OPINION_API_KEY": "sim-key"},
    markets=200,
    small_markets=30,
    event_count=lambda markets, events, taken: max(1, int(markets * 0.8)),
    single_share=0.75,
    tick=0.001,
    event_id=lambda j, spec, close: str(5_000 + j),
    market_id=lambda ev_id, ms, k, i, slug, created: str(10_000 + k),
    wording=_wording,
    fee=lambda p: 0.02 * p * (1 - p),
    fee_text="0.02*p*(1-p)",
    required_field="marketTitle",
)
