"""Polymarket as the simulator serves it: Gamma, CLOB and the Data API.

Field names, types and quirks follow the recorded responses: Gamma encodes
outcomes, outcomePrices and clobTokenIds as JSON strings, carries liquidity and
volume both as strings and as numbers, and writes closedTime in a non-ISO
form; CLOB books list bids ascending and asks descending (best last) with
string prices; the Data API returns trades newest first.

A simulated trade is identified by its transactionHash, which is unique per
fill here; against the real venue one transaction may carry several fills, so
consumers should key on (transactionHash, asset, side, size, price).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import orjson
from starlette.requests import Request
from starlette.routing import BaseRoute

from predhub.sim.books import outcome_book
from predhub.sim.fmt import day, iso, num, pg_time
from predhub.sim.gate import Limit, Reply, VenueStyle, venue_route
from predhub.sim.history import price_points
from predhub.sim.names import day_text, hex_id, money, slugify
from predhub.sim.plugins import Proposition, SimPlugin
from predhub.sim.runtime import Sim
from predhub.sim.trades import TradeRecord
from predhub.sim.world import CLOSED, OPEN, RESOLVED, VOIDED, SimEvent, SimMarket, World

VENUE = "polymarket"
DATA_OFFSET_CAP = 10_000
NAMES = ["SIKEL", "lucky313", "whale_watch", "", "degen.eth", "mm-bot-7", "oracle", "panda"]
PSEUDONYMS = [
    "Comfortable-Insulation",
    "Grumpy-Pipeline",
    "Brisk-Harbor",
    "Quiet-Lantern",
    "Bold-Meadow",
]

# Documented Cloudflare throttles (requests per 10 s), applied by delaying.
_GAMMA = {"/markets": 300, "/markets/keyset": 300, "/events": 500, "/events/keyset": 500}
_CLOB = {
    "/book": 1500,
    "/price": 1500,
    "/midpoint": 1500,
    "/books": 500,
    "/prices": 500,
    "/midpoints": 500,
    "/prices-history": 1000,
}


def _limits(api: str, template: str) -> list[Limit]:
    general = {"gamma": 4000, "clob": 9000, "data": 1000}[api]
    out = [Limit(f"{api}:*", general / 10, general, mode="delay")]
    specific = {"gamma": _GAMMA, "clob": _CLOB, "data": {"/trades": 200}}[api].get(template)
    if specific:
        out.append(Limit(f"{api}:{template}", specific / 10, specific, mode="delay"))
    return out


def _style(api: str) -> VenueStyle:
    return VenueStyle(
        name=VENUE,
        error_body=lambda status, msg: {"error": msg},
        rate_limited_body={"error": "Too Many Requests"},
        limits=lambda template: _limits(api, template),
    )


# --- Gamma ---------------------------------------------------------------------------
def _closed(m: SimMarket) -> bool:
    return m.status in (CLOSED, RESOLVED, VOIDED)


def _outcome_prices(m: SimMarket) -> list[str]:
    if m.status == RESOLVED:
        return ["1", "0"] if m.winner == 0 else ["0", "1"]
    if m.status == VOIDED:
        return ["0.5", "0.5"]
    return [num(m.price, 4), num(1 - m.price, 4)]


def _event_stub(ev: SimEvent, world: World) -> dict[str, Any]:
    stub: dict[str, Any] = {
        "id": ev.native_id,
        "ticker": ev.slug,
        "slug": ev.slug,
        "title": ev.title,
        "description": f"This event groups markets on: {ev.title}",
        "startDate": iso(ev.created_at),
        "creationDate": iso(ev.created_at),
        "endDate": iso(max(m.close_at for m in ev.markets)),
        "active": True,
        "closed": all(_closed(m) for m in ev.markets if m.listed),
        "archived": False,
        "negRisk": ev.exclusive,
        "createdAt": iso(ev.created_at),
        "updatedAt": iso(max(m.updated_at for m in ev.markets)),
    }
    if ev.exclusive:
        stub["negRiskMarketID"] = _neg_risk_id(ev, world)
    return stub


def _neg_risk_id(ev: SimEvent, world: World) -> str:
    return hex_id(world.seed, "negrisk", ev.native_id)


def gamma_market(m: SimMarket, world: World, with_event: bool = True) -> dict[str, Any]:
    ev = m.event
    now = world.now
    bid, ask = m.quote(0)
    vol = m.total_volume()
    v24 = m.volume24(now)
    liq = round(m.base_volume * 0.05 + 500, 5) if m.is_open else 0.0
    d: dict[str, Any] = {
        "id": m.native_id,
        "question": m.question,
        "conditionId": m.condition_id,
        "slug": m.slug,
        "resolutionSource": "",
        "endDate": iso(m.close_at).replace(".000000", ""),
        "liquidity": str(liq),
        "startDate": iso(m.open_at),
        "image": f"https://polymarket-upload.s3.us-east-2.amazonaws.com/{m.slug}.png",
        "icon": f"https://polymarket-upload.s3.us-east-2.amazonaws.com/{m.slug}.png",
        "description": (
            f'This market will resolve to "Yes" if: {m.question} Otherwise "No".{_source(m)}'
        ),
        "outcomes": orjson.dumps(list(m.outcomes)).decode().replace(",", ", "),
        "outcomePrices": orjson.dumps(_outcome_prices(m)).decode().replace(",", ", "),
        "volume": repr(round(vol, 6)),
        "active": True,
        "closed": _closed(m),
        "marketMakerAddress": "",
        "createdAt": iso(m.created_at),
        "updatedAt": iso(m.updated_at),
        "new": now - m.created_at < 86_400,
        "featured": False,
        "submitted_by": "0x91430CaD2d3975766499717fA0D66A78D814E5c5",
        "archived": False,
        "resolvedBy": "0x69c47De9D4D3Dad79590d61b9e05918E03775f24",
        "restricted": True,
        "questionID": m.question_id,
        "enableOrderBook": True,
        "orderPriceMinTickSize": m.tick,
        "orderMinSize": 5,
        "volumeNum": round(vol, 6),
        "liquidityNum": liq,
        "endDateIso": day(m.close_at),
        "startDateIso": day(m.open_at),
        "hasReviewedDates": True,
        "volume24hr": round(v24, 6),
        "volume1wk": round(v24 * 5.5, 6),
        "volume1mo": round(v24 * 21, 6),
        "volume1yr": round(vol, 6),
        "clobTokenIds": orjson.dumps(list(m.token_ids)).decode().replace(",", ", "),
        "umaBond": "500",
        "umaReward": "5",
        "volume24hrClob": round(v24, 6),
        "volumeClob": round(vol, 6),
        "liquidityClob": liq,
        "acceptingOrders": m.is_open,
        "negRisk": ev.exclusive,
    }
    if ev.exclusive:
        d["groupItemTitle"] = m.label
        d["groupItemThreshold"] = str(ev.markets.index(m))
        d["negRiskMarketID"] = _neg_risk_id(ev, world)
        d["negRiskRequestID"] = hex_id(world.seed, "negriskreq", m.native_id)
    if with_event:
        d["events"] = [_event_stub(ev, world)]
    d.update(
        {
            "ready": False,
            "funded": False,
            "acceptingOrdersTimestamp": iso(m.open_at).replace(".000000", ""),
            "cyom": False,
            "competitive": 0.8,
            "pagerDutyNotificationEnabled": False,
            "approved": True,
            "rewardsMinSize": 50,
            "rewardsMaxSpread": 4.5,
            "automaticallyActive": True,
            "clearBookOnStart": True,
            "umaResolutionStatuses": '["proposed", "resolved"]'
            if m.status in (RESOLVED, VOIDED)
            else "[]",
            "feesEnabled": bool(m.extra.get("fee_schedule")),
            "feeType": "crypto_fees" if m.extra.get("fee_schedule") else None,
        }
    )
    if m.extra.get("fee_schedule"):
        d["feeSchedule"] = m.extra["fee_schedule"]
    if m.is_open:
        d["spread"] = round(ask - bid, 6)
        d["bestBid"] = bid
        d["bestAsk"] = ask
        d["oneDayPriceChange"] = round(m.price - m.prev_price, 4)
    if m.last_price is not None:
        d["lastTradePrice"] = m.last_price
    if _closed(m):
        d["closedTime"] = pg_time(min(m.close_at, m.updated_at))
    if m.status in (RESOLVED, VOIDED):
        d["umaResolutionStatus"] = "resolved"
    return d


def gamma_event(ev: SimEvent, world: World) -> dict[str, Any]:
    listed = [m for m in ev.markets if m.listed]
    vol = sum(m.total_volume() for m in listed)
    v24 = sum(m.volume24(world.now) for m in listed)
    d = _event_stub(ev, world)
    d.update(
        {
            "image": f"https://polymarket-upload.s3.us-east-2.amazonaws.com/{ev.slug}.png",
            "icon": f"https://polymarket-upload.s3.us-east-2.amazonaws.com/{ev.slug}.png",
            "resolutionSource": "",
            "new": False,
            "featured": False,
            "restricted": True,
            "liquidity": round(sum(m.base_volume * 0.05 + 500 for m in listed if m.is_open), 5),
            "volume": round(vol, 6),
            "openInterest": round(vol * 0.1, 6),
            "competitive": 0.8,
            "volume24hr": round(v24, 6),
            "volume1wk": round(v24 * 5.5, 6),
            "volume1mo": round(v24 * 21, 6),
            "volume1yr": round(vol, 6),
            "enableOrderBook": True,
            "commentCount": 0,
            "cyom": False,
            "showAllOutcomes": True,
            "showMarketImages": True,
            "enableNegRisk": ev.exclusive,
            "negRiskAugmented": False,
            "tags": [
                {
                    "id": str(abs(hash(ev.category)) % 1000),
                    "label": ev.category,
                    "slug": slugify(ev.category),
                }
            ],
            "markets": [gamma_market(m, world, with_event=False) for m in listed],
        }
    )
    return d


def _bool(v: str | None) -> bool | None:
    if v is None:
        return None
    return v.lower() in ("true", "1", "yes")


def _multi(request: Request, name: str) -> list[str]:
    out: list[str] = []
    for raw in request.query_params.getlist(name) + request.query_params.getlist(name + "[]"):
        out.extend(x for x in raw.split(",") if x)
    return out


_ORDER_KEYS: dict[str, Callable[[SimMarket, float], float]] = {
    "id": lambda m, now: float(m.native_id),
    "updatedAt": lambda m, now: m.updated_at,
    "createdAt": lambda m, now: m.created_at,
    "startDate": lambda m, now: m.open_at,
    "endDate": lambda m, now: m.close_at,
    "volumeNum": lambda m, now: m.total_volume(),
    "volume": lambda m, now: m.total_volume(),
    "volume24hr": lambda m, now: m.volume24(now),
    "liquidityNum": lambda m, now: m.base_volume if m.is_open else 0.0,
    "liquidity": lambda m, now: m.base_volume if m.is_open else 0.0,
}


_PAGE_PARAMS = ("after_cursor", "limit")


def _filter_markets(request: Request, world: World) -> list[SimMarket]:
    q = request.query_params
    ms = world.listed(VENUE)
    closed = _bool(q.get("closed"))
    if closed is not None:
        ms = [m for m in ms if _closed(m) == closed]
    active = _bool(q.get("active"))
    if active is False:
        ms = []
    ids = set(_multi(request, "id"))
    if ids:
        ms = [m for m in ms if m.native_id in ids]
    slugs = set(_multi(request, "slug"))
    if slugs:
        ms = [m for m in ms if m.slug in slugs]
    conds = set(_multi(request, "condition_ids"))
    if conds:
        ms = [m for m in ms if m.condition_id in conds]
    toks = set(_multi(request, "clob_token_ids"))
    if toks:
        ms = [m for m in ms if toks.intersection(m.token_ids)]
    end_min = q.get("end_date_min")
    if end_min:
        try:
            floor = datetime.fromisoformat(end_min.replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise Reply(422, {"error": "invalid end_date_min"}) from exc
        ms = [m for m in ms if m.close_at >= floor]
    return ms


def _sorted(request: Request, items: list[Any], world: World, keyfn: Any = None) -> list[Any]:
    order = request.query_params.get("order") or "id"
    if order not in _ORDER_KEYS:
        raise Reply(422, {"error": f"invalid order field: {order}"})
    asc = _bool(request.query_params.get("ascending"))
    fn = keyfn(order) if keyfn else _ORDER_KEYS[order]
    now = world.now
    if order == "id" and asc is not False and keyfn is None:
        return items  # markets are created, and kept, in id order
    return sorted(items, key=lambda m: (fn(m, now), int(m.native_id)), reverse=asc is False)


def _int(request: Request, name: str, default: int, lo: int = 0, hi: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError as exc:
        raise Reply(400, {"error": f"invalid {name}"}) from exc
    if v < lo or (hi is not None and v > hi):
        raise Reply(400, {"error": f"{name} out of range"})
    return v


def _sort_key(
    request: Request, world: World, keyfn: Any = None
) -> tuple[Callable[[Any], tuple[float, int]], bool]:
    order = request.query_params.get("order") or "id"
    if order not in _ORDER_KEYS:
        raise Reply(422, {"error": f"invalid order field: {order}"})
    fn = keyfn(order) if keyfn else _ORDER_KEYS[order]
    now = world.now
    desc = _bool(request.query_params.get("ascending")) is False
    return (lambda m: (fn(m, now), int(m.native_id))), desc


def _encode_cursor(key: tuple[float, int]) -> str:
    raw = orjson.dumps([key[0], key[1]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(raw: str) -> tuple[float, int]:
    try:
        value, ident = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return float(value), int(ident)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise Reply(400, {"error": "invalid cursor"}) from exc


def _keyset_page(
    request: Request, items: list[Any], world: World, limit_max: int, keyfn: Any = None
) -> tuple[list[Any], str | None]:
    """A true keyset page: the cursor holds the last (sort value, id) served.

    Items that change while a client pages move past or behind the cursor by
    their new sort value, so a walk never skips an item that did not change.
    No page sorts the catalogue: in id order (items are kept in it) a page is
    a binary search for the cursor; in any other order it is one pass keeping
    the `limit` first items past the cursor in a heap. A page after the world
    changed then costs what any page costs, not a sort of every item.
    """
    if "offset" in request.query_params:
        raise Reply(400, {"error": "offset is not supported on keyset endpoints; use after_cursor"})
    limit = _int(request, "limit", 20, 1, limit_max)
    key, desc = _sort_key(request, world, keyfn)
    after = request.query_params.get("after_cursor")
    cursor = _decode_cursor(after) if after else None

    def ascending(x: Any) -> tuple[float, int]:
        k = key(x)
        return (-k[0], -k[1]) if desc else k

    in_id_order = (request.query_params.get("order") or "id") == "id" and not desc
    if in_id_order and keyfn is None and _id_ordered(items, world):
        start = 0 if cursor is None else bisect_right(items, cursor, key=key)
        page = items[start : start + limit + 1]
    else:
        past: Any = items
        if cursor is not None:
            bound = (-cursor[0], -cursor[1]) if desc else cursor
            past = (x for x in items if ascending(x) > bound)
        page = heapq.nsmallest(limit + 1, past, key=ascending)
    nxt = None
    if len(page) > limit:
        page = page[:limit]
        nxt = _encode_cursor(key(page[-1]))
    return page, nxt


def _id_ordered(items: list[Any], world: World) -> bool:
    """Whether `items` are in ascending numeric id order (checked once per world version)."""

    def check() -> bool:
        ids = [int(x.native_id) for x in items]
        return all(a < b for a, b in pairwise(ids))

    return world.memo(("id-ordered", id(items)), check)


def markets_list(request: Request, sim: Sim) -> Any:
    w = sim.world
    ms = _sorted(request, _filter_markets(request, w), w)
    limit = _int(request, "limit", 20, 0, 500)
    offset = _int(request, "offset", 0, 0)
    return [gamma_market(m, w) for m in ms[offset : offset + limit]]


def markets_keyset(request: Request, sim: Sim) -> Any:
    """Keyset pages; the cursor is a position in the (order, id) ordering taken per request."""
    w = sim.world
    shape = tuple(
        sorted((k, v) for k, v in request.query_params.multi_items() if k not in _PAGE_PARAMS)
    )
    found = w.memo(("markets", shape), lambda: _filter_markets(request, w))
    page, nxt = _keyset_page(request, found, w, 1000)
    body: dict[str, Any] = {"markets": [gamma_market(m, w) for m in page]}
    if nxt is not None:
        body["next_cursor"] = nxt
    return body


def _market_or_404(sim: Sim, native_id: str) -> SimMarket:
    m = sim.world.market(VENUE, native_id)
    if m is None:
        raise Reply(404, {"type": "not found error", "error": "id not found"})
    return m


def market_by_id(request: Request, sim: Sim) -> Any:
    m = _market_or_404(sim, request.path_params["id"])
    return {
        "$schema": "https://gamma-api.polymarket.com/schemas/MarketResponse.json",
        **gamma_market(m, sim.world),
    }


def market_by_slug(request: Request, sim: Sim) -> Any:
    slug = request.path_params["slug"]
    for m in sim.world.listed(VENUE):
        if m.slug == slug:
            return {
                "$schema": "https://gamma-api.polymarket.com/schemas/MarketResponse.json",
                **gamma_market(m, sim.world),
            }
    raise Reply(404, {"type": "not found error", "error": "slug not found"})


def _event_keyfn(order: str) -> Callable[[SimEvent, float], float]:
    fn = _ORDER_KEYS[order]

    def k(e: SimEvent, now: float) -> float:
        if order == "id":
            return float(e.native_id)
        vals = [fn(m, now) for m in e.markets if m.listed]
        return max(vals) if order in ("updatedAt", "endDate") else float(sum(vals))

    return k


def _events(request: Request, world: World) -> list[SimEvent]:
    evs = [e for e in world.events_by_venue[VENUE] if any(m.listed for m in e.markets)]
    closed = _bool(request.query_params.get("closed"))
    if closed is not None:
        evs = [e for e in evs if all(_closed(m) for m in e.markets if m.listed) == closed]
    ids = set(_multi(request, "id"))
    if ids:
        evs = [e for e in evs if e.native_id in ids]
    slugs = set(_multi(request, "slug"))
    if slugs:
        evs = [e for e in evs if e.slug in slugs]
    return evs


def events_list(request: Request, sim: Sim) -> Any:
    evs = _sorted(request, _events(request, sim.world), sim.world, _event_keyfn)
    limit = _int(request, "limit", 20, 0, 500)
    offset = _int(request, "offset", 0, 0)
    return [gamma_event(e, sim.world) for e in evs[offset : offset + limit]]


def events_keyset(request: Request, sim: Sim) -> Any:
    page, nxt = _keyset_page(request, _events(request, sim.world), sim.world, 500, _event_keyfn)
    body: dict[str, Any] = {"events": [gamma_event(e, sim.world) for e in page]}
    if nxt is not None:
        body["next_cursor"] = nxt
    return body


def event_by_id(request: Request, sim: Sim) -> Any:
    ev = sim.world.event_index.get((VENUE, request.path_params["id"]))
    if ev is None or not any(m.listed for m in ev.markets):
        raise Reply(404, {"type": "not found error", "error": "id not found"})
    return gamma_event(ev, sim.world)


def public_search(request: Request, sim: Sim) -> Any:
    q = (request.query_params.get("q") or "").lower().strip()
    if not q:
        raise Reply(400, {"error": "q is required"})
    limit = _int(request, "limit_per_type", 10, 1, 100)
    words = q.split()
    hits: list[dict[str, Any]] = []
    total = 0
    for ev in sim.world.events_by_venue[VENUE]:
        text = (ev.title + " " + " ".join(m.question for m in ev.markets)).lower()
        if all(wd in text for wd in words) and any(m.listed for m in ev.markets):
            total += 1
            if len(hits) < limit:
                hits.append(gamma_event(ev, sim.world))
    return {
        "events": hits,
        "tags": [],
        "profiles": [],
        "pagination": {"hasMore": total > len(hits), "totalResults": total},
    }


# --- CLOB ------------------------------------------------------------------------------
def _token(sim: Sim, token: str | None) -> tuple[SimMarket, int]:
    if not token:
        raise Reply(400, {"error": "Invalid token id"})
    hit = sim.world.token_index.get(token)
    if hit is None or not hit[0].listed:
        raise Reply(404, {"error": "No orderbook exists for the requested token id"})
    return hit


def clob_book(sim: Sim, token: str | None) -> dict[str, Any]:
    m, outcome = _token(sim, token)
    if not m.is_open:
        raise Reply(404, {"error": "No orderbook exists for the requested token id"})
    w = sim.world
    n = w.trades.count(m.idx)
    bids, asks = outcome_book(m, outcome, n, w.seed)
    bids_json = [{"price": num(p), "size": num(s, 2)} for p, s in reversed(bids)]
    asks_json = [{"price": num(p), "size": num(s, 2)} for p, s in reversed(asks)]
    last = m.last_price if m.last_price is not None else m.price
    body = {
        "market": m.condition_id,
        "asset_id": m.token_ids[outcome],
        "timestamp": str(int(m.updated_at * 1000)),
        "hash": "",
        "bids": bids_json,
        "asks": asks_json,
        "min_order_size": "5",
        "tick_size": num(m.tick),
        "neg_risk": m.event.exclusive,
        "last_trade_price": f"{(last if outcome == 0 else 1 - last):.3f}",
    }
    body["hash"] = hashlib.sha1(orjson.dumps(body)).hexdigest()
    return body


def book(request: Request, sim: Sim) -> Any:
    return clob_book(sim, request.query_params.get("token_id"))


async def books(request: Request, sim: Sim) -> Any:
    items = await _json_list(request)
    out = []
    for it in items:
        try:
            out.append(clob_book(sim, str(it.get("token_id") or "")))
        except Reply:
            continue
    return out


async def _json_list(request: Request) -> list[dict[str, Any]]:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise Reply(400, {"error": "Invalid payload"}) from exc
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise Reply(400, {"error": "Invalid payload"})
    if len(data) > 500:
        raise Reply(400, {"error": "too many token ids, max 500"})
    return data


def _side_price(m: SimMarket, outcome: int, side: str) -> float:
    bid, ask = m.quote(outcome)
    # The CLOB's /price answers the best price on that side of the book: BUY = best bid.
    return bid if side == "BUY" else ask


def price(request: Request, sim: Sim) -> Any:
    m, outcome = _token(sim, request.query_params.get("token_id"))
    side = (request.query_params.get("side") or "").upper()
    if side not in ("BUY", "SELL"):
        raise Reply(400, {"error": "Invalid side"})
    return {"price": num(_side_price(m, outcome, side))}


def _prices_for(sim: Sim, pairs: list[tuple[str, str]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for tok, side in pairs:
        try:
            m, outcome = _token(sim, tok)
        except Reply:
            continue
        out.setdefault(tok, {})[side] = num(_side_price(m, outcome, side))
    return out


def prices_get(request: Request, sim: Sim) -> Any:
    toks = _multi(request, "token_ids")
    sides = _multi(request, "sides")
    if not toks or len(sides) != len(toks):
        raise Reply(400, {"error": "token_ids and sides must have the same length"})
    return _prices_for(sim, [(t, s.upper()) for t, s in zip(toks, sides, strict=True)])


async def prices_post(request: Request, sim: Sim) -> Any:
    items = await _json_list(request)
    return _prices_for(
        sim, [(str(i.get("token_id", "")), str(i.get("side", "BUY")).upper()) for i in items]
    )


def _mid(m: SimMarket, outcome: int) -> str:
    bid, ask = m.quote(outcome)
    return num((bid + ask) / 2, 5)


def midpoint(request: Request, sim: Sim) -> Any:
    m, outcome = _token(sim, request.query_params.get("token_id"))
    return {"mid": _mid(m, outcome)}


def spread(request: Request, sim: Sim) -> Any:
    m, outcome = _token(sim, request.query_params.get("token_id"))
    bid, ask = m.quote(outcome)
    return {"spread": num(ask - bid)}


def tick_size(request: Request, sim: Sim) -> Any:
    m, _ = _token(sim, request.query_params.get("token_id"))
    return {"minimum_tick_size": m.tick}


def _mids(sim: Sim, toks: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for tok in toks:
        hit = sim.world.token_index.get(tok)
        if hit is not None and hit[0].listed:
            out[tok] = _mid(*hit)
    return out


def midpoints_get(request: Request, sim: Sim) -> Any:
    return _mids(sim, _multi(request, "token_ids"))


async def midpoints_post(request: Request, sim: Sim) -> Any:
    return _mids(sim, [str(i.get("token_id", "")) for i in await _json_list(request)])


def last_trade_price(request: Request, sim: Sim) -> Any:
    m, outcome = _token(sim, request.query_params.get("token_id"))
    last = sim.world.trades.last(m.idx)
    if last is None:
        return {"price": "0.5", "side": ""}
    p = last.price if last.outcome == outcome else 1 - last.price
    return {"price": num(p), "side": last.side}


def clob_market(m: SimMarket, world: World) -> dict[str, Any]:
    ev = m.event
    return {
        "enable_order_book": m.is_open,
        "active": True,
        "closed": _closed(m),
        "archived": False,
        "accepting_orders": m.is_open,
        "accepting_order_timestamp": iso(m.open_at).replace(".000000", ""),
        "minimum_order_size": 5,
        "minimum_tick_size": m.tick,
        "condition_id": m.condition_id,
        "question_id": m.question_id,
        "question": m.question,
        "description": f'This market will resolve to "Yes" if: {m.question}{_source(m)}',
        "market_slug": m.slug,
        "end_date_iso": iso(m.close_at).replace(".000000", ""),
        "game_start_time": None,
        "seconds_delay": 0,
        "fpmm": "",
        "maker_base_fee": 0,
        "taker_base_fee": 0,
        "notifications_enabled": True,
        "neg_risk": ev.exclusive,
        "neg_risk_market_id": _neg_risk_id(ev, world) if ev.exclusive else "",
        "neg_risk_request_id": hex_id(world.seed, "negriskreq", m.native_id)
        if ev.exclusive
        else "",
        "icon": f"https://polymarket-upload.s3.us-east-2.amazonaws.com/{m.slug}.png",
        "image": f"https://polymarket-upload.s3.us-east-2.amazonaws.com/{m.slug}.png",
        "rewards": {"rates": None, "min_size": 50, "max_spread": 4.5},
        "is_50_50_outcome": False,
        "tokens": [
            {
                "token_id": m.token_ids[i],
                "outcome": m.outcomes[i],
                "price": float(_outcome_prices(m)[i]),
                "winner": m.status == RESOLVED and m.winner == i,
            }
            for i in (0, 1)
        ],
        "tags": [ev.category],
    }


def clob_market_by_condition(request: Request, sim: Sim) -> Any:
    m = sim.world.condition_index.get(request.path_params["condition_id"])
    if m is None or m.venue != VENUE or not m.listed:
        raise Reply(404, {"error": "market not found"})
    return clob_market(m, sim.world)


_INTERVALS = {"1m": 60, "1h": 3600, "6h": 6 * 3600, "1d": 86400, "1w": 7 * 86400, "max": 10**9}


def prices_history(request: Request, sim: Sim) -> Any:
    q = request.query_params
    m, outcome = _token(sim, q.get("market"))
    now = sim.world.now
    fidelity = _int(request, "fidelity", 0, 0)
    if q.get("startTs") or q.get("endTs"):
        start = float(_int(request, "startTs", int(m.created_at), 0))
        end = float(_int(request, "endTs", int(now), 0))
    else:
        interval = q.get("interval") or "1d"
        if interval not in _INTERVALS:
            raise Reply(400, {"error": "invalid interval"})
        start, end = now - _INTERVALS[interval], now
    step = fidelity * 60 if fidelity else max(60.0, (end - start) / 500)
    return {
        "history": [{"t": t, "p": p} for t, p in price_points(sim, m, outcome, start, end, step)]
    }


# --- Data API ----------------------------------------------------------------------------
def data_trade(m: SimMarket, tr: TradeRecord, world: World) -> dict[str, Any]:
    h = hashlib.blake2b(f"{world.seed}:{m.idx}:{tr.seq}".encode(), digest_size=32).digest()
    return {
        "proxyWallet": "0x" + h[12:32].hex(),
        "side": tr.side,
        "asset": m.token_ids[tr.outcome],
        "conditionId": m.condition_id,
        "size": tr.size,
        "price": tr.price,
        "timestamp": tr.ts_ms // 1000,
        "title": m.question,
        "slug": m.slug,
        "icon": f"https://polymarket-upload.s3.us-east-2.amazonaws.com/{m.slug}.png",
        "eventSlug": m.event.slug,
        "outcome": m.outcomes[tr.outcome],
        "outcomeIndex": tr.outcome,
        "name": NAMES[h[0] % len(NAMES)],
        "pseudonym": PSEUDONYMS[h[1] % len(PSEUDONYMS)],
        "bio": "",
        "profileImage": "",
        "profileImageOptimized": "",
        "transactionHash": trade_hash(world.seed, m, tr.seq),
    }


def trade_hash(seed: int, m: SimMarket, seq: int) -> str:
    return hex_id(seed, "tx", m.venue, m.native_id, seq)


def trades(request: Request, sim: Sim) -> Any:
    w = sim.world
    limit = _int(request, "limit", 100, 0, 10_000)
    offset = _int(request, "offset", 0, 0)
    if offset > DATA_OFFSET_CAP:
        raise Reply(400, {"error": f"max historical activity offset of {DATA_OFFSET_CAP} exceeded"})
    side = (request.query_params.get("side") or "").upper()
    conds = _multi(request, "market")
    rows: list[tuple[int, SimMarket, TradeRecord]] = []
    if conds:
        for c in conds:
            m = w.condition_index.get(c)
            if m is None or m.venue != VENUE:
                continue
            n = w.trades.count(m.idx)
            lo = max(0, n - offset - limit) if len(conds) == 1 else 0
            for tr in w.trades.get(m.idx, lo, n):
                rows.append((tr.ts_ms, m, tr))
    else:
        for _g, idx, seq in reversed(w.trades.recent):
            m = w.markets[idx]
            if m.venue != VENUE:
                continue
            rows.append((0, m, w.trades.get(idx, seq, seq + 1)[0]))
            if len(rows) >= offset + limit:
                break
        rows = [(r[2].ts_ms, r[1], r[2]) for r in rows]
    rows.sort(key=lambda r: (r[0], r[2].seq), reverse=True)
    if side in ("BUY", "SELL"):
        rows = [r for r in rows if r[2].side == side]
    return [data_trade(m, tr, w) for _ts, m, tr in rows[offset : offset + limit]]


def routes() -> dict[str, list[BaseRoute]]:
    """Routes per base-URL prefix name (see `predhub.sim.urls`)."""
    g, c, d = _style("gamma"), _style("clob"), _style("data")

    return {
        "POLYMARKET_GAMMA_URL": [
            venue_route(g, "/markets", markets_list, 0.35),
            venue_route(g, "/markets/keyset", markets_keyset, 0.35),
            venue_route(g, "/markets/slug/{slug}", market_by_slug, 0.12),
            venue_route(g, "/markets/{id}", market_by_id, 0.12),
            venue_route(g, "/events", events_list, 0.35),
            venue_route(g, "/events/keyset", events_keyset, 0.35),
            venue_route(g, "/events/{id}", event_by_id, 0.12),
            venue_route(g, "/public-search", public_search, 0.25),
        ],
        "POLYMARKET_CLOB_URL": [
            venue_route(c, "/book", book, 0.06),
            venue_route(c, "/books", books, 0.1, ["POST"]),
            venue_route(c, "/price", price, 0.05),
            venue_route(c, "/prices", prices_get, 0.08),
            venue_route(c, "/prices", prices_post, 0.08, ["POST"]),
            venue_route(c, "/midpoint", midpoint, 0.05),
            venue_route(c, "/midpoints", midpoints_get, 0.08),
            venue_route(c, "/midpoints", midpoints_post, 0.08, ["POST"]),
            venue_route(c, "/last-trade-price", last_trade_price, 0.05),
            venue_route(c, "/spread", spread, 0.05),
            venue_route(c, "/tick-size", tick_size, 0.05),
            venue_route(c, "/prices-history", prices_history, 0.12),
            venue_route(c, "/markets/{condition_id}", clob_market_by_condition, 0.08),
        ],
        "POLYMARKET_DATA_URL": [venue_route(d, "/trades", trades, 0.15)],
    }


__all__ = ["OPEN", "clob_book", "data_trade", "gamma_market", "routes", "trade_hash"]


def _ws_routes() -> list[BaseRoute]:
    from starlette.routing import WebSocketRoute

    from predhub.sim.polymarket_ws import market_channel

    return [WebSocketRoute(WS_PREFIXES["POLYMARKET_WS_URL"], market_channel)]


def _notify(sim: Sim) -> None:
    from predhub.sim.polymarket_ws import notify

    notify(sim)


def _wording(p: Proposition) -> str:
    day = day_text(p.close)
    year = datetime.fromtimestamp(p.close, UTC).year
    if p.kind in ("above", "below"):
        verb = "be above" if p.kind == "above" else "stay below"
        return f"Will {p.subject} {verb} {money(p.value)} on {day}?"
    if p.kind == "band":
        return f"Will {p.subject} be between {money(p.value)} and {money(p.high)} on {day}?"
    if p.kind == "beat":
        return f"Will the {p.subject} beat the {p.place} on {day}?"
    verb = "lose" if p.kind == "lose" else "win"
    return f"Will {p.subject} {verb} the {year} {p.place} {p.office} election?"


def _source(m: SimMarket) -> str:
    src = m.extra.get("source")
    return f" The resolution source for this market is {src}." if src else ""


WS_PREFIXES = {"POLYMARKET_WS_URL": "/polymarket/ws/market"}

PLUGIN = SimPlugin(
    name=VENUE,
    prefixes={
        "POLYMARKET_GAMMA_URL": "/polymarket/gamma",
        "POLYMARKET_CLOB_URL": "/polymarket/clob",
        "POLYMARKET_DATA_URL": "/polymarket/data",
    },
    routes=routes,
    ws_prefixes=WS_PREFIXES,
    ws_routes=_ws_routes,
    on_tick=_notify,
    markets=5_500,
    small_markets=200,
    events=1_500,
    small_events=60,
    event_count=lambda markets, events, taken: max(1, (events or 0) - taken),
    single_share=0.55,
    tick=0.01,
    unique_event_slugs=True,
    event_id=lambda j, spec, close: str(20_000 + j),
    market_id=lambda ev_id, ms, k, i, slug, created: str(500_000 + k),
    wording=_wording,
    trade_id=lambda world, m, seq: trade_hash(world.seed, m, seq),
    fee=lambda price: 0.0,  # the fee-free markets
    fee_text="0",
    required_field="question",
)
