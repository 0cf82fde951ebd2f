"""Polymarket's market-channel WebSocket.

After the client subscribes ({"assets_ids": [...], "type": "market"}) it gets
one `book` frame per asset wrapped in a JSON array, then, as the world moves,
a `price_change` and a `last_trade_price` frame per trade (and a `price_change`
when a market's quote moved without a trade of its own). Text "PING" gets
"PONG". A `ws_silent` fault makes the server stop sending anything while the
connection stays open, which is what a stalled feed looks like to a client; a
`ws_close` fault makes it close open connections (code 1011), and the trades
of the moments until the client has subscribed again never reach it: a gap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson
from starlette.websockets import WebSocket

from predhub.sim.fmt import num
from predhub.sim.polymarket import VENUE, clob_book, trade_hash
from predhub.sim.runtime import Sim
from predhub.sim.world import SimMarket
from predhub.sim.wsfeed import Feed, Subscriber

ENDPOINT = "/ws/market"


@dataclass(eq=False)
class _Sub(Subscriber):
    assets: set[str] = field(default_factory=set)
    quotes: dict[int, tuple[float, float]] = field(default_factory=dict)  # last YES quote sent


FEED: Feed[_Sub] = Feed(VENUE, ENDPOINT)


def _h(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()


def _frames(sim: Sim, m: SimMarket, start: int, stop: int) -> list[str]:
    w = sim.world
    out: list[str] = []
    for tr in w.trades.get(m.idx, start, stop):
        ts = str(tr.ts_ms)
        changes = []
        for outcome in (0, 1):
            bid, ask = m.quote(outcome)
            p = tr.price if outcome == tr.outcome else 1 - tr.price
            side = tr.side if outcome == tr.outcome else ("SELL" if tr.side == "BUY" else "BUY")
            changes.append(
                {
                    "asset_id": m.token_ids[outcome],
                    "price": num(p),
                    "size": num(tr.size, 2),
                    "side": side,
                    "hash": _h(m.idx, tr.seq, outcome),
                    "best_bid": num(bid),
                    "best_ask": num(ask),
                }
            )
        out.append(
            orjson.dumps(
                {
                    "market": m.condition_id,
                    "price_changes": changes,
                    "timestamp": ts,
                    "event_type": "price_change",
                }
            ).decode()
        )
        out.append(
            orjson.dumps(
                {
                    "market": m.condition_id,
                    "asset_id": m.token_ids[tr.outcome],
                    "price": num(tr.price),
                    "size": num(tr.size, 6),
                    "fee_rate_bps": "0",
                    "side": tr.side,
                    "timestamp": ts,
                    "event_type": "last_trade_price",
                    "transaction_hash": trade_hash(w.seed, m, tr.seq),
                }
            ).decode()
        )
    return out


def _moved(m: SimMarket, ts: str) -> str:
    """A `price_change` at both tokens' best levels: the quote moved without a trade here
    (a sibling in a neg-risk event traded, or a twin on another venue)."""
    changes = []
    for outcome in (0, 1):
        bid, ask = m.quote(outcome)
        changes.append(
            {
                "asset_id": m.token_ids[outcome],
                "price": num(bid),
                "size": "100",
                "side": "BUY",
                "hash": _h(m.idx, ts, outcome, bid, ask),
                "best_bid": num(bid),
                "best_ask": num(ask),
            }
        )
    return orjson.dumps(
        {
            "market": m.condition_id,
            "price_changes": changes,
            "timestamp": ts,
            "event_type": "price_change",
        }
    ).decode()


def notify(sim: Sim) -> None:
    """Queue frames for every trade subscribers have not seen yet, and for quotes that
    moved without a trade of their market."""
    w = sim.world
    for sub in FEED.live(sim):
        for idx, sent in list(sub.markets.items()):
            m = w.markets[idx]
            n = w.trades.count(idx)
            if n > sent:
                for frame in _frames(sim, m, max(sent, n - 200), n):
                    sub.put(frame)
                sub.markets[idx] = n
            elif m.is_open and sub.quotes.get(idx, m.quote(0)) != m.quote(0):
                sub.put(_moved(m, str(int(w.now * 1000))))
            sub.quotes[idx] = m.quote(0)


def _on_text(sim: Sim, sub: _Sub, text: str) -> None:
    if text.strip().upper() == "PING":
        sub.put("PONG")
        return
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError:
        sub.put("INVALID OPERATION")
        return
    assets = msg.get("assets_ids") if isinstance(msg, dict) else None
    if not isinstance(assets, list):
        sub.put("INVALID OPERATION")
        return
    sim.sync()
    books = []
    for a in assets:
        hit = sim.world.token_index.get(str(a))
        if hit is None or not hit[0].is_open:
            continue
        m = hit[0]
        sub.assets.add(str(a))
        sub.markets.setdefault(m.idx, sim.world.trades.count(m.idx))
        book = clob_book(sim, str(a))
        # the stream's book frame carries fewer fields than GET /book
        books.append(
            {
                "market": book["market"],
                "asset_id": book["asset_id"],
                "timestamp": book["timestamp"],
                "hash": book["hash"],
                "bids": book["bids"],
                "asks": book["asks"],
                "tick_size": book["tick_size"],
                "event_type": "book",
                "last_trade_price": book["last_trade_price"],
            }
        )
    if books:
        sub.put_json(books)


async def market_channel(ws: WebSocket) -> None:
    await ws.accept()
    await FEED.serve(ws, _Sub(), _on_text)
