"""Limitless as the simulator serves it.

CLOB markets quote prices in [0, 1]; AMM markets quote them in percent
(0-100), as the venue's own examples do. Volumes are raw 6-decimal integer
strings beside a formatted copy; timestamps are milliseconds. Errors are
{"message": ...}.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from predhub.sim.books import yes_book
from predhub.sim.fmt import iso
from predhub.sim.gate import Limit, Reply, VenueStyle, venue_routes
from predhub.sim.history import price_points
from predhub.sim.names import money
from predhub.sim.plugins import Proposition, SimPlugin
from predhub.sim.runtime import Sim
from predhub.sim.world import OPEN, RESOLVED, VOIDED, SimMarket, World

VENUE = "limitless"
STYLE = VenueStyle(
    name=VENUE,
    error_body=lambda status, msg: {"message": msg},
    rate_limited_body={"message": "ThrottlerException: Too Many Requests"},
    limits=lambda template: [Limit("all", rate=20.0, capacity=40.0, mode="reject")],
)


def _raw(x: float) -> str:
    return str(round(x * 1_000_000))


def is_amm(m: SimMarket) -> bool:
    return bool(m.extra.get("trade_type") == "amm")


def _prices(m: SimMarket) -> list[float]:
    yes = m.price
    if is_amm(m):
        return [round(yes * 100, 1), round(100 - yes * 100, 1)]
    return [round(yes, 3), round(1 - yes, 3)]


def limitless_market(m: SimMarket, world: World) -> dict[str, Any]:
    exp = datetime.fromtimestamp(m.close_at, UTC)
    vol = m.total_volume()
    d: dict[str, Any] = {
        "id": m.extra.get("numeric_id", m.idx),
        "conditionId": m.condition_id,
        "negRiskRequestId": None,
        "description": f"<p>This market will resolve to \u201cYes\u201d if {m.question.rstrip('?')}.</p>"
        + (f"<p>Resolution source: {m.extra['source']}.</p>" if m.extra.get("source") else ""),
        "collateralToken": {
            "address": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
            "decimals": 6,
            "symbol": "USDC",
        },
        "title": m.question,
        "proxyTitle": None,
        "expirationDate": f"{exp:%b} {exp.day}, {exp.year}",
        "expirationTimestamp": int(m.close_at * 1000),
        "createdAt": iso(m.created_at)[:-4] + "Z",
        "updatedAt": iso(m.updated_at)[:-4] + "Z",
        "categories": [m.event.category],
        "status": "RESOLVED" if m.status in (RESOLVED, VOIDED) else "FUNDED",
        "expired": m.status != OPEN,
        "hidden": False,
        "creator": {
            "name": "Limitless",
            "imageURI": "https://limitless.exchange/assets/images/logo.svg",
            "link": "https://x.com/trylimitless",
        },
        "tags": ["Simulated"],
        "volume": _raw(vol),
        "volumeFormatted": f"{vol:.6f}",
        "tokens": {"yes": m.token_ids[0], "no": m.token_ids[1]},
        "prices": _prices(m),
        "isOther": False,
        "isRewardable": not is_amm(m),
        "slug": m.slug,
        "tradeType": m.extra.get("trade_type", "clob"),
        "marketType": "single",
        "priorityIndex": 0,
        "winningOutcomeIndex": m.winner if m.status == RESOLVED else None,
        "metadata": {"fee": True, "isBannered": False, "isPolyArbitrage": False},
        "imageUrl": f"https://cdn.limitless.exchange/markets-logo/{m.slug}.png",
        "logo": f"https://cdn.limitless.exchange/markets-logo/{m.slug}.png",
    }
    if is_amm(m):
        d["address"] = "0x" + m.condition_id[2:42]
        liq = m.base_volume * 0.05
        d["liquidity"] = _raw(liq)
        d["liquidityFormatted"] = f"{liq:.6f}"
        d["openInterest"] = _raw(vol * 0.1)
        d["openInterestFormatted"] = f"{vol * 0.1:.6f}"
    else:
        d["venue"] = {"exchange": "0x05c748E2f4DcDe0ec9Fa8DDc40DE6b867f923fa5", "adapter": None}
        d["settings"] = {
            "minSize": "1000000",
            "maxSpread": "0.035",
            "dailyReward": "5",
            "rewardsEpoch": "0.003472222222222222",
            "c": "3",
            "rebateRate": "0",
        }
    return d


def _int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        v = int(raw)
    except ValueError as exc:
        raise Reply(400, {"message": f"{name} must be an integer number"}) from exc
    if v < lo or v > hi:
        raise Reply(400, {"message": f"{name} must be between {lo} and {hi}"})
    return v


def active(request: Request, sim: Sim) -> Any:
    page = _int(request, "page", 1, 1, 1_000_000)
    limit = _int(request, "limit", 10, 1, 100)
    ms = [m for m in sim.world.listed(VENUE) if m.is_open]
    trade_type = request.query_params.get("tradeType")
    if trade_type in ("amm", "clob"):
        ms = [m for m in ms if m.extra.get("trade_type") == trade_type]
    elif trade_type == "group":
        ms = []
    sort = request.query_params.get("sortBy")
    if sort == "newest":
        ms.sort(key=lambda m: -m.created_at)
    elif sort in ("high_value", "trending", "lp_rewards"):
        ms.sort(key=lambda m: -m.total_volume())
    chunk = ms[(page - 1) * limit : page * limit]
    return {"data": [limitless_market(m, sim.world) for m in chunk], "totalMarketsCount": len(ms)}


def _find(sim: Sim, key: str) -> SimMarket:
    m = sim.world.market(VENUE, key)
    if m is None:
        for x in sim.world.listed(VENUE):
            if (
                str(x.extra.get("numeric_id")) == key
                or ("0x" + x.condition_id[2:42]).lower() == key.lower()
            ):
                return x
        raise Reply(404, {"message": "Market not found"})
    return m


def market(request: Request, sim: Sim) -> Any:
    return limitless_market(_find(sim, request.path_params["key"]), sim.world)


def orderbook(request: Request, sim: Sim) -> Any:
    m = _find(sim, request.path_params["key"])
    if is_amm(m):
        raise Reply(400, {"message": "Orderbook is not available for AMM markets"})
    return clob_book(sim, m)


def clob_book(sim: Sim, m: SimMarket) -> dict[str, Any]:
    """A CLOB market's Yes book as `/markets/{slug}/orderbook` and the socket's
    `orderbookUpdate` carry it (sizes in raw 6-decimal units)."""
    bids, asks = yes_book(m, sim.world.trades.count(m.idx), sim.world.seed)
    last = m.last_price if m.last_price is not None else m.price
    mid = round((bids[0][0] + asks[0][0]) / 2, 4) if bids and asks else round(m.price, 4)
    return {
        "bids": [{"price": p, "size": round(s * 1_000_000), "side": "BUY"} for p, s in bids],
        "asks": [{"price": p, "size": round(s * 1_000_000), "side": "SELL"} for p, s in asks],
        "tokenId": m.token_ids[0],
        "adjustedMidpoint": mid,
        "maxSpread": 0.035,
        "minSize": 1_000_000,
        "lastTradePrice": round(last, 4),
    }


_INTERVAL = {
    "1h": 3600,
    "6h": 6 * 3600,
    "1d": 86400,
    "1w": 7 * 86400,
    "1m": 30 * 86400,
    "all": 10**9,
}


def _when(raw: str | None, default: float) -> float:
    if not raw:
        return default
    try:
        return float(raw) / (1000 if float(raw) > 1e11 else 1)
    except ValueError:
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise Reply(400, {"message": "invalid date"}) from exc


def historical_price(request: Request, sim: Sim) -> Any:
    m = _find(sim, request.path_params["key"])
    interval = request.query_params.get("interval") or "1d"
    if interval not in _INTERVAL:
        raise Reply(400, {"message": "interval must be one of 1h, 6h, 1d, 1w, 1m, all"})
    now = sim.world.now
    end = _when(request.query_params.get("to"), now)
    start = _when(request.query_params.get("from"), max(m.created_at, now - _INTERVAL[interval]))
    step = max(60.0, (end - start) / 200)
    scale = 100.0 if is_amm(m) else 1.0
    points = price_points(sim, m, 0, start, end, step)
    return [
        {
            "title": "YES Token",
            "prices": [
                {
                    "price": round(p * scale, 4),
                    "timestamp": datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S+00:00"),
                }
                for t, p in points
            ],
        }
    ]


def routes() -> dict[str, list[BaseRoute]]:
    return venue_routes(
        STYLE,
        "LIMITLESS_URL",
        [
            ("/markets/active", active, 0.2),
            ("/markets/{key}/orderbook", orderbook, 0.1),
            ("/markets/{key}/historical-price", historical_price, 0.15),
            ("/markets/{key}", market, 0.1),
        ],
    )


def _finish(m: SimMarket, k: int, rng: random.Random) -> None:
    m.extra["trade_type"] = "amm" if rng.random() < 0.3 else "clob"
    m.extra["numeric_id"] = 30_000 + k


def _wording(p: Proposition) -> str:
    d = datetime.fromtimestamp(p.close, UTC)
    day = f"{d:%b} {d.day}"
    if p.kind in ("above", "below"):
        verb = "under" if p.kind == "below" else "above"
        return f"${p.symbol} {verb} {money(p.value)} on {day}, 12:00 UTC?"
    if p.kind == "band":
        return f"${p.symbol} between {money(p.value)} and {money(p.high)} on {day}, 12:00 UTC?"
    if p.kind == "beat":
        return f"Will {p.subject} beat {p.place} on {day}?"
    verb = "loses" if p.kind == "lose" else "wins"
    return f"{p.subject} {verb} {p.place} {p.office} election {d.year}?"


WS_PREFIXES = {"LIMITLESS_WS_URL": "/limitless/ws"}


def _ws_routes() -> list[BaseRoute]:
    from starlette.routing import WebSocketRoute

    from predhub.sim.limitless_ws import SOCKET_PATH, socket

    return [WebSocketRoute(WS_PREFIXES["LIMITLESS_WS_URL"] + SOCKET_PATH, socket)]


def _notify(sim: Sim) -> None:
    from predhub.sim.limitless_ws import notify

    notify(sim)


PLUGIN = SimPlugin(
    name=VENUE,
    prefixes={"LIMITLESS_URL": "/limitless"},
    routes=routes,
    ws_prefixes=WS_PREFIXES,
    ws_routes=_ws_routes,
    on_tick=_notify,
    markets=300,
    small_markets=40,
    event_count=lambda markets, events, taken: markets,
    single_share=1.0,
    tick=0.001,
    event_id=lambda j, spec, close: str(90_000 + j),
    slug_id=lambda slug, created: f"{slug}-{int(created * 1000)}",
    finish_market=_finish,
    wording=_wording,
    fee=lambda p: 0.01 * p,
    fee_text="0.01*p",
    required_field="title",
)
