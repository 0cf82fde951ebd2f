"""Kalshi trade-api v2 as the simulator serves it (current fixed-point schema).

Prices are `*_dollars` strings with four decimals, counts `*_fp` strings with
two; the integer-cent fields the venue removed are not served. Lists page with
an opaque `cursor` that is "" on the last page. Order books list bids only,
YES and NO, each ascending by price. The rate limit is a token bucket that
answers 429 {"error":"too many requests"} with no Retry-After.

Signed requests are checked as Kalshi checks them: the three KALSHI-ACCESS-*
headers, RSA-PSS (SHA-256) over timestamp + method + path, a key id the
venue knows and a timestamp close to the wall clock. Public endpoints answer
unsigned requests; a request that carries a bad signature gets the venue's
401 body. The WebSocket (`predhub.sim.kalshi_ws`) needs a signed handshake.
The simulator's test key pair is made on first use in a credentials
directory (never shipped): the settings for it come from `credentials`.
"""

from __future__ import annotations

import base64
import os
import time
from bisect import bisect_right
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.routing import BaseRoute

from predhub.sim.books import top_sizes, yes_book
from predhub.sim.fmt import dollars, fp, iso, iso_s
from predhub.sim.gate import Limit, Reply, VenueStyle, venue_routes
from predhub.sim.names import EventSpec, MarketSpec, uuid_like
from predhub.sim.plugins import Proposition, SimPlugin
from predhub.sim.runtime import Sim
from predhub.sim.trades import TradeRecord
from predhub.sim.world import CLOSED, DAY, OPEN, RESOLVED, VOIDED, SimEvent, SimMarket, World

VENUE = "kalshi"
HISTORICAL_AFTER = 30 * DAY  # settled longer ago than this moves to /historical
STATUS = {OPEN: "active", CLOSED: "closed", RESOLVED: "finalized", VOIDED: "finalized"}
STATUS_QUERY = {
    "open": {OPEN},
    "closed": {CLOSED},
    "settled": {RESOLVED, VOIDED},
    "unopened": set(),
    "paused": set(),
}


def _error(status: int, message: str) -> dict[str, Any]:
    code = {400: "bad_request", 404: "not_found"}.get(status, "internal_server_error")
    return {"error": {"code": code, "message": message}}


# --- signed requests ------------------------------------------------------------------

KEY_ID = "sim-test-key"  # the id the simulator's test key pair is registered under
KEY_FILE = "kalshi-test-private-key.pem"
# Kalshi accepts a timestamp 5 s off and rejects one 30 s off; the simulator
# draws the line between the two
SKEW_MS = 10_000


def _auth_error(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


MISSING = _auth_error("signature_is_missing_from_headers", "signature is missing from headers")


def check_signature(
    sim: Sim, method: str, path: str, headers: Mapping[str, str], *, required: bool
) -> dict[str, Any] | None:
    """The venue's 401 body for a request whose signature does not hold, else None."""
    key_id = headers.get("kalshi-access-key")
    signature = headers.get("kalshi-access-signature")
    stamp = headers.get("kalshi-access-timestamp")
    if not (key_id or signature or stamp):
        return MISSING if required else None
    if not signature or not stamp or not key_id:
        return MISSING
    public = sim.accepted_keys.get((VENUE, key_id))
    if not isinstance(public, rsa.RSAPublicKey):
        return _auth_error("authentication_error", "authentication_error", "NOT_FOUND")
    try:
        ts = int(stamp)
    except ValueError:
        return _auth_error("authentication_error", "authentication_error", "INVALID_TIMESTAMP")
    if abs(time.time() * 1000 - ts) > SKEW_MS:
        return _auth_error("header_timestamp_expired", "header timestamp expired")
    try:
        public.verify(
            base64.b64decode(signature, validate=True),
            f"{stamp}{method.upper()}{path}".encode(),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError):
        return _auth_error(
            "authentication_error", "authentication_error", "INCORRECT_API_KEY_SIGNATURE"
        )
    return None


def _auth(request: Request) -> Any:
    sim: Sim = request.app.state.sim
    return check_signature(sim, request.method, request.url.path, request.headers, required=False)


def _test_key(directory: Path) -> rsa.RSAPrivateKey:
    """The test key pair kept in `directory`, made on first use (owner-only file)."""
    path = directory / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.replace(tmp, path)
    return key


def credentials(directory: Path) -> dict[str, str]:
    """Settings that sign with the simulator's test key (made in `directory` if missing)."""
    _test_key(directory)
    return {"KALSHI_API_KEY": KEY_ID, "KALSHI_PRIVATE_KEY_FILE": str(directory / KEY_FILE)}


def accept_credentials(sim: Sim, directory: Path) -> None:
    sim.accepted_keys[(VENUE, KEY_ID)] = _test_key(directory).public_key()


STYLE = VenueStyle(
    name=VENUE,
    error_body=_error,
    rate_limited_body={"error": "too many requests"},
    limits=lambda template: [Limit("read", rate=200.0, capacity=200.0, cost=10.0, mode="reject")],
    auth=_auth,
)


def _historical(m: SimMarket, now: float) -> bool:
    return m.resolved_at is not None and now - m.resolved_at > HISTORICAL_AFTER


def kalshi_market(m: SimMarket, world: World) -> dict[str, Any]:
    bid, ask = m.quote(0)
    bid_size, ask_size = top_sizes(m, world.trades.count(m.idx), world.seed)
    expiration = m.resolve_at
    d: dict[str, Any] = {
        "can_close_early": True,
        "close_time": iso_s(m.close_at),
        "created_time": iso(m.created_at),
        "early_close_condition": "This market will close and expire early if the event occurs.",
        "event_ticker": m.event.native_id,
        "exchange_index": 0,
        "expected_expiration_time": iso_s(expiration),
        "expiration_time": iso_s(expiration + 7 * DAY),
        "expiration_value": "",
        "last_price_dollars": dollars(m.last_price if m.last_price is not None else 0.0),
        "latest_expiration_time": iso_s(expiration + 7 * DAY),
        "liquidity_dollars": "0.0000",
        "market_type": "binary",
        "no_ask_dollars": dollars(1 - bid if m.is_open else (1.0 if m.winner != 1 else 0.0)),
        "no_bid_dollars": dollars(1 - ask if m.is_open else 0.0),
        "no_sub_title": m.label or m.question,
        "notional_value_dollars": "1.0000",
        "occurrence_datetime": iso_s(m.close_at),
        "open_interest_fp": fp(m.shares * 0.4 + m.base_volume * 0.1),
        "open_time": iso_s(m.open_at),
        "previous_price_dollars": dollars(m.prev_price),
        "previous_yes_ask_dollars": dollars(min(1.0, m.prev_price + m.half_spread)),
        "previous_yes_bid_dollars": dollars(max(0.0, m.prev_price - m.half_spread)),
        "price_level_structure": "linear_cent",
        "price_ranges": [{"end": "1.0000", "start": "0.0000", "step": "0.0100"}],
        "result": "",
        "rules_primary": f"If {m.question.rstrip('?')}, then the market resolves to Yes."
        + (f" The outcome is verified from {m.extra['source']}." if m.extra.get("source") else ""),
        "rules_secondary": "The outcome is verified from the source named in the rules.",
        "settlement_timer_seconds": 180,
        "status": STATUS.get(m.status, "initialized"),
        "ticker": m.native_id,
        "title": m.question,
        "updated_time": iso(m.updated_at),
        "volume_24h_fp": fp(m.volume24(world.now) / max(m.price, 0.05)),
        "volume_fp": fp(m.base_volume + m.shares),
        "yes_ask_dollars": dollars(ask if m.is_open else 1.0),
        "yes_ask_size_fp": fp(ask_size),
        "yes_bid_dollars": dollars(bid if m.is_open else 0.0),
        "yes_bid_size_fp": fp(bid_size),
        "yes_sub_title": m.label or m.question,
    }
    if m.strike is not None:
        d["floor_strike"] = m.strike
        d["strike_type"] = "greater"
    else:
        d["strike_type"] = "custom"
        d["custom_strike"] = {"outcome": m.label or "Yes"}
    if m.status == RESOLVED:
        d["result"] = "yes" if m.winner == 0 else "no"
        d["settlement_value_dollars"] = dollars(1.0 if m.winner == 0 else 0.0)
        d["settlement_ts"] = iso(m.resolved_at or m.resolve_at)
        d["last_price_dollars"] = dollars(m.last_price or 0.0)
    return d


def kalshi_event(ev: SimEvent, world: World, nested: bool) -> dict[str, Any]:
    listed = [m for m in ev.markets if m.listed]
    d: dict[str, Any] = {
        "available_on_brokers": True,
        "category": ev.category,
        "collateral_return_type": "MECNET" if ev.exclusive else "DIRECNET",
        "event_ticker": ev.native_id,
        "exchange_index": 0,
        "last_updated_ts": iso(max((m.updated_at for m in listed), default=ev.created_at)),
        "mutually_exclusive": ev.exclusive,
        "product_metadata": {},
        "series_ticker": ev.series or "KXSIM",
        "settlement_sources": [{"name": "Simulated Source", "url": "https://example.org/source"}],
        "strike_date": iso_s(max((m.close_at for m in listed), default=ev.created_at)),
        "strike_period": "",
        "sub_title": ev.title,
        "title": ev.title,
    }
    if nested:
        d["markets"] = [kalshi_market(m, world) for m in listed]
    return d


def _cursor(pos: int) -> str:
    return base64.urlsafe_b64encode(f"kx:{pos}".encode()).decode()


def _uncursor(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        return int(base64.urlsafe_b64decode(raw.encode()).decode().split(":", 1)[1])
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise Reply(400, _error(400, "invalid cursor")) from exc


def _int(
    request: Request, name: str, default: int | None, lo: int = 0, hi: int | None = None
) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        v = int(raw)
    except ValueError as exc:
        raise Reply(400, _error(400, f"invalid {name}")) from exc
    if v < lo or (hi is not None and v > hi):
        raise Reply(400, _error(400, f"{name} out of range"))
    return v


def _page(items: list[Any], key: Any, request: Request, limit_max: int) -> tuple[list[Any], str]:
    """Items after the cursor (by a stable increasing key), `limit` of them."""
    limit = _int(request, "limit", 100, 1, limit_max) or 100
    after = _uncursor(request.query_params.get("cursor"))
    start = 0
    if after is not None:
        start = bisect_right(items, after, key=key)  # items come in increasing key order
    page = items[start : start + limit]
    nxt = _cursor(key(page[-1])) if len(items) - start > limit else ""
    return page, nxt


def _markets(request: Request, sim: Sim, historical: bool) -> list[SimMarket]:
    w = sim.world
    q = request.query_params
    ms = [m for m in w.listed(VENUE) if _historical(m, w.now) == historical]
    status = q.get("status")
    if status:
        wanted: set[str] = set()
        for s in status.split(","):
            if s not in STATUS_QUERY:
                raise Reply(400, _error(400, f"invalid status {s}"))
            wanted |= STATUS_QUERY[s]
        ms = [m for m in ms if m.status in wanted]
    if q.get("tickers"):
        tickers = set(q["tickers"].split(","))
        ms = [m for m in ms if m.native_id in tickers]
    if q.get("event_ticker"):
        evs = set(q["event_ticker"].split(","))
        ms = [m for m in ms if m.event.native_id in evs]
    if q.get("series_ticker"):
        ms = [m for m in ms if m.event.series == q["series_ticker"]]
    lo, hi = _int(request, "min_close_ts", None), _int(request, "max_close_ts", None)
    if lo is not None:
        ms = [m for m in ms if m.close_at >= lo]
    if hi is not None:
        ms = [m for m in ms if m.close_at <= hi]
    upd = _int(request, "min_updated_ts", None)
    if upd is not None:
        ms = [m for m in ms if m.updated_at > upd]
    return ms


def _listed(request: Request, sim: Sim, historical: bool) -> list[SimMarket]:
    """`_markets`, remembered across the pages of one walk while the world stands still."""
    shape = tuple(sorted((k, v) for k, v in request.query_params.multi_items() if k != "cursor"))
    return sim.world.memo(
        ("kalshi-markets", historical, shape), lambda: _markets(request, sim, historical)
    )


def markets(request: Request, sim: Sim) -> Any:
    page, nxt = _page(_listed(request, sim, False), lambda m: m.idx, request, 1000)
    return {"cursor": nxt, "markets": [kalshi_market(m, sim.world) for m in page]}


def historical_markets(request: Request, sim: Sim) -> Any:
    page, nxt = _page(_listed(request, sim, True), lambda m: m.idx, request, 1000)
    return {"cursor": nxt, "markets": [kalshi_market(m, sim.world) for m in page]}


def historical_cutoff(request: Request, sim: Sim) -> Any:
    return {"market_settled_ts": iso(sim.world.now - HISTORICAL_AFTER)}


def _market(sim: Sim, ticker: str, historical: bool | None = False) -> SimMarket:
    m = sim.world.market(VENUE, ticker)
    if m is None or (historical is not None and _historical(m, sim.world.now) != historical):
        raise Reply(404, _error(404, "market not found"))
    return m


def market(request: Request, sim: Sim) -> Any:
    return {"market": kalshi_market(_market(sim, request.path_params["ticker"]), sim.world)}


def historical_market(request: Request, sim: Sim) -> Any:
    return {"market": kalshi_market(_market(sim, request.path_params["ticker"], True), sim.world)}


def _events(request: Request, sim: Sim) -> list[SimEvent]:
    w = sim.world
    evs = [
        e
        for e in w.events_by_venue[VENUE]
        if any(m.listed and not _historical(m, w.now) for m in e.markets)
    ]
    status = request.query_params.get("status")
    if status:
        if status not in STATUS_QUERY:
            raise Reply(400, _error(400, f"invalid status {status}"))
        wanted = STATUS_QUERY[status]
        evs = [e for e in evs if any(m.status in wanted for m in e.markets if m.listed)]
    if request.query_params.get("series_ticker"):
        evs = [e for e in evs if e.series == request.query_params["series_ticker"]]
    return evs


def events(request: Request, sim: Sim) -> Any:
    nested = (request.query_params.get("with_nested_markets") or "").lower() == "true"
    evs = _events(request, sim)
    order = {id(e): i for i, e in enumerate(sim.world.events_by_venue[VENUE])}
    page, nxt = _page(evs, lambda e: order[id(e)], request, 200)
    return {
        "cursor": nxt,
        "events": [kalshi_event(e, sim.world, nested) for e in page],
        "milestones": [],
    }


def event(request: Request, sim: Sim) -> Any:
    ev = sim.world.event_index.get((VENUE, request.path_params["event_ticker"]))
    if ev is None or not any(m.listed for m in ev.markets):
        raise Reply(404, _error(404, "event not found"))
    nested = (request.query_params.get("with_nested_markets") or "").lower() == "true"
    body = kalshi_event(ev, sim.world, nested)
    markets_json = [kalshi_market(m, sim.world) for m in ev.markets if m.listed]
    return {"event": body, "markets": [] if nested else markets_json}


def orderbook_fp(m: SimMarket, world: World, depth: int | None = None) -> dict[str, Any]:
    bids, asks = yes_book(m, world.trades.count(m.idx), world.seed)
    yes = [[dollars(p), fp(s)] for p, s in bids]
    no = [[dollars(1 - p), fp(s)] for p, s in asks]
    if depth:
        yes, no = yes[:depth], no[:depth]
    return {"no_dollars": list(reversed(no)), "yes_dollars": list(reversed(yes))}


def orderbook(request: Request, sim: Sim) -> Any:
    m = _market(sim, request.path_params["ticker"], None)
    depth = _int(request, "depth", None, 0, 100)
    return {"orderbook_fp": orderbook_fp(m, sim.world, depth)}


def orderbooks(request: Request, sim: Sim) -> Any:
    raw = request.query_params.get("tickers") or ""
    tickers = [t for t in raw.split(",") if t]
    if not tickers or len(tickers) > 100:
        raise Reply(400, _error(400, "tickers must list 1 to 100 markets"))
    out = []
    for t in tickers:
        m = sim.world.market(VENUE, t)
        if m is not None:
            out.append({"ticker": t, "orderbook_fp": orderbook_fp(m, sim.world)})
    return {"orderbooks": out}


def kalshi_trade(m: SimMarket, tr: TradeRecord, world: World) -> dict[str, Any]:
    yes_price = tr.price if tr.outcome == 0 else 1 - tr.price
    taker_yes = (tr.outcome == 0) == (tr.side == "BUY")
    side = "yes" if taker_yes else "no"
    return {
        "count_fp": fp(tr.size),
        "created_time": iso(tr.ts_ms / 1000),
        "is_block_trade": False,
        "no_price_dollars": dollars(1 - yes_price),
        "taker_book_side": "bid" if taker_yes else "ask",
        "taker_outcome_side": side,
        "taker_side": side,
        "ticker": m.native_id,
        "trade_id": uuid_like(world.seed, "kalshi-trade", m.native_id, tr.seq),
        "yes_price_dollars": dollars(yes_price),
    }


def trades(request: Request, sim: Sim) -> Any:
    """Newest first; the cursor pins the page below a trade so new trades never shift pages."""
    w = sim.world
    limit = _int(request, "limit", 100, 1, 1000) or 100
    lo, hi = _int(request, "min_ts", None), _int(request, "max_ts", None)
    after = _uncursor(request.query_params.get("cursor"))
    ticker = request.query_params.get("ticker")

    def keep(tr: TradeRecord) -> bool:
        return (lo is None or tr.ts_ms >= lo * 1000) and (hi is None or tr.ts_ms <= hi * 1000)

    rows: list[tuple[int, SimMarket, TradeRecord]] = []
    if ticker:
        m = _market(sim, ticker, None)
        top = w.trades.count(m.idx) if after is None else after
        seq = top
        while seq > 0 and len(rows) <= limit:
            chunk = w.trades.get(m.idx, max(0, seq - 500), seq)
            for tr in reversed(chunk):
                if keep(tr):
                    rows.append((tr.seq, m, tr))
                    if len(rows) > limit:
                        break
            seq -= 500
            if lo is not None and chunk and chunk[0].ts_ms < lo * 1000:
                break
    else:
        for g, idx, seq in reversed(w.trades.recent):
            if after is not None and g >= after:
                continue
            mk = w.markets[idx]
            if mk.venue != VENUE:
                continue
            tr = w.trades.get(idx, seq, seq + 1)[0]
            if keep(tr):
                rows.append((g, mk, tr))
                if len(rows) > limit:
                    break
    page = rows[:limit]
    nxt = _cursor(page[-1][0]) if len(rows) > limit else ""
    return {"cursor": nxt, "trades": [kalshi_trade(mk, tr, w) for _k, mk, tr in page]}


BATCH_TICKERS = 100  # /markets/candlesticks: tickers a request
BATCH_CANDLES = 10_000  # /markets/candlesticks: candlesticks an answer, across its markets


def _window(request: Request, periods: tuple[int, ...] | None) -> tuple[int, int, int]:
    """(start_ts, end_ts, period_interval) of a candlestick request, checked as the venue does."""
    period = _int(request, "period_interval", None, 1)
    if period is None or (periods is not None and period not in periods):
        raise Reply(400, _error(400, "period_interval must be 1, 60 or 1440"))
    start = _int(request, "start_ts", None)
    end = _int(request, "end_ts", None)
    if start is None or end is None or end < start:
        raise Reply(400, _error(400, "start_ts and end_ts are required"))
    return start, end, period


def market_candles(
    m: SimMarket, w: World, start: int, end: int, period: int, limit: int
) -> list[dict[str, Any]]:
    """At most `limit` candles of one market ending in [start, end], none before it opened."""
    step = period * 60
    trades_all = w.trades.get(m.idx, 0, w.trades.count(m.idx))
    candles: list[dict[str, Any]] = []
    prev: float | None = None
    i = 0
    start = max(start, int(m.open_at) // step * step)  # a market has no candles before it opened
    first = (start // step) * step + step
    t_end = first
    while t_end <= min(end + step, w.now + step) and len(candles) < limit:
        bucket: list[float] = []
        vol = 0.0
        while i < len(trades_all) and trades_all[i].ts_ms < t_end * 1000:
            tr = trades_all[i]
            if tr.ts_ms >= (t_end - step) * 1000:
                bucket.append(tr.price if tr.outcome == 0 else 1 - tr.price)
                vol += tr.size
            else:
                prev = tr.price if tr.outcome == 0 else 1 - tr.price
            i += 1
        if t_end - step >= start:
            price: dict[str, str] = {}
            if bucket:
                price = {
                    "close_dollars": dollars(bucket[-1]),
                    "high_dollars": dollars(max(bucket)),
                    "low_dollars": dollars(min(bucket)),
                    "mean_dollars": dollars(sum(bucket) / len(bucket)),
                    "open_dollars": dollars(bucket[0]),
                }
            if prev is not None:
                price["previous_dollars"] = dollars(prev)
            ref = bucket[-1] if bucket else (prev if prev is not None else m.price)
            hs = m.half_spread
            candles.append(
                {
                    "end_period_ts": t_end,
                    "open_interest_fp": fp(m.base_volume * 0.1),
                    "price": price,
                    "volume_fp": fp(vol),
                    "yes_ask": {
                        k: dollars(min(1.0, ref + hs))
                        for k in ("close_dollars", "high_dollars", "low_dollars", "open_dollars")
                    },
                    "yes_bid": {
                        k: dollars(max(0.0, ref - hs))
                        for k in ("close_dollars", "high_dollars", "low_dollars", "open_dollars")
                    },
                }
            )
        if bucket:
            prev = bucket[-1]
        t_end += step
    return candles


def candlesticks(request: Request, sim: Sim) -> Any:
    """A live-set market's candlesticks; an archived one's are under /historical (404 here)."""
    m = _market(sim, request.path_params["ticker"])
    start, end, period = _window(request, (1, 60, 1440))
    return {
        "candlesticks": market_candles(m, sim.world, start, end, period, 5000),
        "ticker": m.native_id,
    }


def _historical_candle(c: dict[str, Any]) -> dict[str, Any]:
    """A live candle in the archive's spelling: dollars without `_dollars`, counts without `_fp`."""

    def plain(d: dict[str, str], nullable: bool) -> dict[str, str | None]:
        keys = ("open", "low", "high", "close") + (("mean", "previous") if nullable else ())
        return {k: d.get(k + "_dollars") for k in keys}

    return {
        "end_period_ts": c["end_period_ts"],
        "open_interest": c["open_interest_fp"],
        "price": plain(c["price"], True),
        "volume": c["volume_fp"],
        "yes_ask": plain(c["yes_ask"], False),
        "yes_bid": plain(c["yes_bid"], False),
    }


def historical_candlesticks(request: Request, sim: Sim) -> Any:
    """`/historical/markets/{ticker}/candlesticks`: markets settled before the cutoff only."""
    m = _market(sim, request.path_params["ticker"], True)
    start, end, period = _window(request, (1, 60, 1440))
    candles = market_candles(m, sim.world, start, end, period, 5000)
    return {"candlesticks": [_historical_candle(c) for c in candles], "ticker": m.native_id}


def batch_candlesticks(request: Request, sim: Sim) -> Any:
    """`/markets/candlesticks`: up to 100 tickers, up to 10,000 candlesticks in all.

    Only the live set answers here: a market settled before the historical
    cutoff (its candlesticks are at `/historical/markets/{ticker}/candlesticks`)
    or a ticker the venue does not know gets no entry. Markets are answered
    in the order asked; once the answer holds 10,000 candlesticks the rest
    get none, so a caller that meets the cap splits its request.
    """
    raw = request.query_params.get("market_tickers") or ""
    tickers = list(dict.fromkeys(t for t in raw.split(",") if t))
    if not tickers or len(tickers) > BATCH_TICKERS:
        raise Reply(400, _error(400, "market_tickers must list 1 to 100 markets"))
    start, end, period = _window(request, None)
    w = sim.world
    left = BATCH_CANDLES
    out = []
    for ticker in tickers:
        m = w.market(VENUE, ticker)
        if m is None or not m.listed or _historical(m, w.now):
            continue
        candles = market_candles(m, w, start, end, period, left) if left else []
        left -= len(candles)
        out.append({"market_ticker": m.native_id, "candlesticks": candles})
    return {"markets": out}


def routes() -> dict[str, list[BaseRoute]]:
    return venue_routes(
        STYLE,
        "KALSHI_URL",
        [
            ("/markets", markets, 0.15),
            ("/markets/trades", trades, 0.12),
            ("/markets/orderbooks", orderbooks, 0.1),
            ("/markets/candlesticks", batch_candlesticks, 0.15),
            ("/markets/{ticker}", market, 0.08),
            ("/markets/{ticker}/orderbook", orderbook, 0.06),
            ("/events", events, 0.15),
            ("/events/{event_ticker}", event, 0.08),
            ("/series/{series_ticker}/markets/{ticker}/candlesticks", candlesticks, 0.12),
            ("/historical/cutoff", historical_cutoff, 0.05),
            ("/historical/markets", historical_markets, 0.15),
            ("/historical/markets/{ticker}", historical_market, 0.08),
            ("/historical/markets/{ticker}/candlesticks", historical_candlesticks, 0.12),
        ],
    )


def _event_id(j: int, spec: EventSpec, close: float) -> str:
    d = datetime.fromtimestamp(close, UTC)
    return f"{spec.series or 'KXSIM'}-{d:%y%b%d}{j:04d}".upper()


def _market_id(ev_id: str, ms: MarketSpec, k: int, i: int, slug: str, created: float) -> str:
    if ms.strike is not None:
        return f"{ev_id}-T{ms.strike:g}"
    initials = "".join(w[0] for w in ms.label.split() if w[:1].isalnum()).upper()
    return f"{ev_id}-{initials or 'Y'}{i + 1}"


def _wording(p: Proposition) -> str:
    d = datetime.fromtimestamp(p.close, UTC)
    day = f"{d:%b} {d.day}, {d.year}"
    if p.kind == "above":
        return f"{p.symbol} price above {p.value:g} on {day}?"
    if p.kind == "below":
        return f"{p.symbol} below {p.value:g} on {day}?"
    if p.kind == "band":
        return f"{p.symbol} price range {p.value:g} to {p.high:g} on {day}?"
    if p.kind == "beat":
        return f"Will the {p.subject} beat the {p.place} on {day}?"
    if p.kind == "lose":
        return f"{p.place} {p.office} election {d.year}: {p.subject} does not win?"
    return f"{p.place} {p.office} election {d.year}: will {p.subject} win?"


WS_PREFIXES = {"KALSHI_WS_URL": "/kalshi/trade-api/ws/v2"}


def _ws_routes() -> list[BaseRoute]:
    from starlette.routing import WebSocketRoute

    from predhub.sim.kalshi_ws import channel

    return [WebSocketRoute(WS_PREFIXES["KALSHI_WS_URL"], channel)]


def _notify(sim: Sim) -> None:
    from predhub.sim.kalshi_ws import notify

    notify(sim)


PLUGIN = SimPlugin(
    name=VENUE,
    prefixes={"KALSHI_URL": "/kalshi/trade-api/v2"},
    routes=routes,
    ws_prefixes=WS_PREFIXES,
    ws_routes=_ws_routes,
    on_tick=_notify,
    credentials=credentials,
    accept_credentials=accept_credentials,
    markets=3_000,
    small_markets=120,
    event_count=lambda markets, events, taken: max(1, markets // 3),
    single_share=0.35,
    tick=0.01,
    void_share=0.0,
    event_id=_event_id,
    market_id=_market_id,
    wording=_wording,
    trade_id=lambda world, m, seq: uuid_like(world.seed, "kalshi-trade", m.native_id, seq),
    fee=lambda p: 0.07 * p * (1 - p),
    fee_text="0.07*p*(1-p)",
    required_field="status",
)
