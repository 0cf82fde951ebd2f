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

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass, field

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from predhub.sim.fmt import num
from predhub.sim.polymarket import clob_book, trade_hash
from predhub.sim.runtime import Sim
from predhub.sim.world import SimMarket

ENDPOINT = "/ws/market"
_subscribers: dict[int, set[_Sub]] = {}


@dataclass(eq=False)
class _Sub:
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))
    markets: dict[int, int] = field(default_factory=dict)  # market idx -> trades already sent
    assets: set[str] = field(default_factory=set)
    quotes: dict[int, tuple[float, float]] = field(default_factory=dict)  # last YES quote sent


def _silent(sim: Sim) -> bool:
    return any(
        r.kind == "ws_silent"
        and r.matches("polymarket", ENDPOINT)
        and (r.count is None or r.count > 0)
        for r in sim.control.faults
    )


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
    subs = _subscribers.get(id(sim))
    if not subs or _silent(sim):
        return
    w = sim.world
    for sub in subs:
        for idx, sent in list(sub.markets.items()):
            m = w.markets[idx]
            n = w.trades.count(idx)
            if n > sent:
                for frame in _frames(sim, m, max(sent, n - 200), n):
                    with contextlib.suppress(asyncio.QueueFull):
                        sub.queue.put_nowait(frame)
                sub.markets[idx] = n
            elif m.is_open and sub.quotes.get(idx, m.quote(0)) != m.quote(0):
                with contextlib.suppress(asyncio.QueueFull):
                    sub.queue.put_nowait(_moved(m, str(int(w.now * 1000))))
            sub.quotes[idx] = m.quote(0)


async def _sender(ws: WebSocket, sub: _Sub, sim: Sim) -> None:
    while True:
        try:
            frame = await asyncio.wait_for(sub.queue.get(), timeout=0.1)
        except TimeoutError:
            if sim.control.pick_fault("polymarket", ENDPOINT, frozenset({"ws_close"})):
                await ws.close(code=1011)
                return
            continue
        await ws.send_text(frame)


async def market_channel(ws: WebSocket) -> None:
    sim: Sim = ws.app.state.sim
    await ws.accept()
    sim.control.record("polymarket", ENDPOINT, 101)
    sub = _Sub()
    _subscribers.setdefault(id(sim), set()).add(sub)
    sender = asyncio.create_task(_sender(ws, sub, sim))
    try:
        while True:
            text = await ws.receive_text()
            if _silent(sim):
                continue
            if text.strip().upper() == "PING":
                await sub.queue.put("PONG")
                continue
            try:
                msg = orjson.loads(text)
            except orjson.JSONDecodeError:
                await sub.queue.put("INVALID OPERATION")
                continue
            assets = msg.get("assets_ids") if isinstance(msg, dict) else None
            if not isinstance(assets, list):
                await sub.queue.put("INVALID OPERATION")
                continue
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
                await sub.queue.put(orjson.dumps(books).decode())
    except (WebSocketDisconnect, RuntimeError):  # the client left, or a ws_close fault
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        _subscribers.get(id(sim), set()).discard(sub)
