"""Limitless's market socket as the simulator speaks it: Socket.IO v4 over a WebSocket.

Engine.IO (EIO=4, the WebSocket transport only) opens with `0{"sid", "pingInterval",
"pingTimeout", ...}` and the server pings (`2`), the client answers `3`. Socket.IO
packets ride in Engine.IO messages (`4`): `40/markets,` connects the `/markets`
namespace (answered `40/markets,{"sid"}`; another namespace gets `44` with a
message), `42/markets,["event", data]` is an event. `subscribe_market_prices`
with `marketSlugs` replaces the connection's subscription (the venue keeps
one per connection and forgets it on reconnect); each subscribed CLOB market
gets an `orderbookUpdate` with its whole book at once, and another whenever
its book moves. AMM markets have no book and are not served here. There are
no trades and no sequence numbers on this feed, so `ws_gap` has no meaning;
The server pings every `ws_ping_seconds` (25 s by default, as the venue; set
by `SimConfig` or the admin `/config`). `ws_silent` stops every frame, pings
included (a dead peer), and `ws_close` closes the socket.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.websockets import WebSocket

from predhub.sim.books import yes_book
from predhub.sim.fmt import iso
from predhub.sim.limitless import VENUE, clob_book, is_amm
from predhub.sim.names import hex_id
from predhub.sim.runtime import Sim
from predhub.sim.world import SimMarket
from predhub.sim.wsfeed import Feed, Subscriber

SOCKET_PATH = "/socket.io/"
ENDPOINT = "/socket.io"
NAMESPACE = "/markets"


@dataclass(eq=False)
class _Sub(Subscriber):
    connected: bool = False
    books: dict[int, Any] = field(default_factory=dict)  # market idx -> last book sent
    pinged: float = field(default_factory=time.monotonic)


FEED: Feed[_Sub] = Feed(VENUE, ENDPOINT)


def _event(sub: _Sub, name: str, data: Any) -> None:
    sub.put(f"42{NAMESPACE}," + orjson.dumps([name, data]).decode())


def _send_book(sim: Sim, sub: _Sub, m: SimMarket, *, force: bool = False) -> None:
    book = yes_book(m, sim.world.trades.count(m.idx), sim.world.seed)
    if not force and sub.books.get(m.idx) == book:
        return
    sub.books[m.idx] = book
    full = clob_book(sim, m)
    orderbook = {k: full[k] for k in ("bids", "asks", "tokenId", "adjustedMidpoint", "maxSpread")}
    orderbook["minSize"] = full["minSize"]
    data = {"marketSlug": m.native_id, "orderbook": orderbook, "timestamp": iso(sim.world.now)}
    _event(sub, "orderbookUpdate", data)


def notify(sim: Sim) -> None:
    """An `orderbookUpdate` for every subscribed book that moved since it was last sent."""
    for sub in FEED.live(sim):
        for idx in list(sub.books):
            m = sim.world.markets[idx]
            if m.is_open:
                _send_book(sim, sub, m)


def _subscribe(sim: Sim, sub: _Sub, data: Any) -> None:
    slugs = data.get("marketSlugs") if isinstance(data, dict) else None
    if not isinstance(slugs, list):
        _event(sub, "exception", {"message": "marketSlugs must be an array of strings"})
        return
    sim.sync()
    sub.books.clear()  # each subscription replaces the last one
    for slug in slugs:
        m = sim.world.market(VENUE, str(slug))
        if m is not None and m.listed and m.is_open and not is_amm(m):
            _send_book(sim, sub, m, force=True)
    _event(sub, "system", {"message": f"Subscribed to {len(sub.books)} markets"})


def _on_text(sim: Sim, sub: _Sub, text: str) -> None:
    if text == "3" or text == "2":  # a pong (or an old client's ping)
        if text == "2":
            sub.put("3")
        return
    if not text.startswith("4"):
        return
    packet = text[1:]
    if packet.startswith("0"):
        namespace = packet[1:].split(",", 1)[0] or "/"
        if namespace != NAMESPACE:
            sub.put(f"44{namespace}," + orjson.dumps({"message": "Invalid namespace"}).decode())
            return
        sub.connected = True
        sid = hex_id(sim.world.seed, "sio", id(sub))[:20]
        sub.put(f"40{NAMESPACE}," + orjson.dumps({"sid": sid}).decode())
        return
    if packet.startswith(f"2{NAMESPACE},") and sub.connected:
        try:
            name, *args = orjson.loads(packet[len(NAMESPACE) + 2 :])
        except (orjson.JSONDecodeError, TypeError, ValueError):
            return
        if name == "subscribe_market_prices":
            _subscribe(sim, sub, args[0] if args else None)


def _ping(sim: Sim, sub: _Sub) -> None:
    if time.monotonic() - sub.pinged >= sim.control.ws_ping_seconds:
        sub.pinged = time.monotonic()
        sub.put("2")


async def socket(ws: WebSocket) -> None:
    sim: Sim = ws.app.state.sim
    query = ws.query_params
    if query.get("EIO") != "4" or query.get("transport") != "websocket":
        sim.control.record(VENUE, ENDPOINT, 400)
        await ws.close(code=1002)
        return
    await ws.accept()
    sub = _Sub()
    opened = {
        "sid": hex_id(sim.world.seed, "eio", id(sub))[:20],
        "upgrades": [],
        "pingInterval": int(sim.control.ws_ping_seconds * 1000),
        "pingTimeout": 20000,
        "maxPayload": 1000000,
    }
    sub.put("0" + orjson.dumps(opened).decode())
    await FEED.serve(ws, sub, _on_text, idle=lambda s: _ping(sim, s))
