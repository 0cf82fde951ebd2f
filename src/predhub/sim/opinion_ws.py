"""Opinion's market WebSocket as the simulator speaks it (plain JSON frames).

The socket is opened with `?apikey=` (a key is needed even for market data;
without one the handshake is refused with 401). Commands are
`{"action": "SUBSCRIBE" | "UNSUBSCRIBE", "channel": ..., "marketId": N}` and
`{"action": "HEARTBEAT"}`; acks carry no `msgType`. Channels served:
`market.depth.diff`, one message per changed level of one outcome token with
the level's new size (`"0"` when it is gone; no snapshot: a client seeds its
book over REST), and `market.last.trade` per trade (`shares`, `amount`, no
trade id and no time). No sequence numbers, so `ws_gap` has no meaning here;
`ws_silent` stops every frame, `ws_close` closes open connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from starlette.websockets import WebSocket

from predhub.sim.books import outcome_book
from predhub.sim.fmt import json_response
from predhub.sim.opinion import VENUE
from predhub.sim.runtime import Sim
from predhub.sim.world import SimMarket
from predhub.sim.wsfeed import Feed, Subscriber

ENDPOINT = "/ws"
CHANNELS = ("market.depth.diff", "market.last.trade", "market.last.price")

Side = dict[str, str]  # price text -> size text


@dataclass(eq=False)
class _Sub(Subscriber):
    channels: dict[int, set[str]] = field(default_factory=dict)  # market idx -> channels
    books: dict[tuple[int, int], tuple[Side, Side]] = field(default_factory=dict)  # last sent


FEED: Feed[_Sub] = Feed(VENUE, ENDPOINT)


def _book(sim: Sim, m: SimMarket, outcome: int) -> tuple[Side, Side]:
    bids, asks = outcome_book(m, outcome, sim.world.trades.count(m.idx), sim.world.seed)
    return (
        {f"{p:.3f}": f"{s:.2f}" for p, s in bids},
        {f"{p:.3f}": f"{s:.2f}" for p, s in asks},
    )


def _diffs(sim: Sim, sub: _Sub, m: SimMarket) -> None:
    for outcome in (0, 1):
        new = _book(sim, m, outcome)
        old = sub.books.get((m.idx, outcome))
        sub.books[(m.idx, outcome)] = new
        if old is None:
            continue  # just subscribed: the client seeds over REST
        for side, before, after in (("bids", old[0], new[0]), ("asks", old[1], new[1])):
            for p in sorted(set(before) | set(after)):
                size = after.get(p, "0")
                if before.get(p) == size:
                    continue
                sub.put_json(
                    {
                        "marketId": int(m.native_id),
                        "tokenId": m.token_ids[outcome],
                        "outcomeSide": outcome + 1,
                        "side": side,
                        "price": p,
                        "size": size,
                        "msgType": "market.depth.diff",
                    }
                )


def notify(sim: Sim) -> None:
    """Depth changes and trades of every subscribed market since they were last sent."""
    w = sim.world
    for sub in FEED.live(sim):
        for idx, channels in list(sub.channels.items()):
            m = w.markets[idx]
            n = w.trades.count(idx)
            sent = sub.markets.get(idx, n)
            if "market.last.trade" in channels and n > sent:
                for tr in w.trades.get(idx, max(sent, n - 500), n):
                    sub.put_json(
                        {
                            "marketId": int(m.native_id),
                            "tokenId": m.token_ids[tr.outcome],
                            "side": tr.side.capitalize(),
                            "outcomeSide": tr.outcome + 1,
                            "price": f"{tr.price:.4f}",
                            "shares": f"{tr.size:.2f}",
                            "amount": f"{tr.price * tr.size:.4f}",
                            "msgType": "market.last.trade",
                        }
                    )
            sub.markets[idx] = n
            if "market.depth.diff" in channels and m.is_open:
                _diffs(sim, sub, m)


def _on_text(sim: Sim, sub: _Sub, text: str) -> None:
    try:
        cmd = orjson.loads(text)
    except orjson.JSONDecodeError:
        sub.put_json({"code": 400, "msg": "invalid message"})
        return
    action = cmd.get("action") if isinstance(cmd, dict) else None
    if action == "HEARTBEAT":
        sub.put_json({"code": 200, "msg": "HEARTBEAT"})
        return
    if action not in ("SUBSCRIBE", "UNSUBSCRIBE") or cmd.get("channel") not in CHANNELS:
        sub.put_json({"code": 400, "msg": "invalid action or channel"})
        return
    sim.sync()
    m = sim.world.market(VENUE, str(cmd.get("marketId")))
    if m is None or not m.listed:
        sub.put_json({"code": 400, "msg": "market not found"})
        return
    channel = str(cmd["channel"])
    if action == "SUBSCRIBE":
        sub.channels.setdefault(m.idx, set()).add(channel)
        sub.markets.setdefault(m.idx, sim.world.trades.count(m.idx))
        if channel == "market.depth.diff":
            for outcome in (0, 1):
                sub.books[(m.idx, outcome)] = _book(sim, m, outcome)
    else:
        sub.channels.get(m.idx, set()).discard(channel)
    sub.put_json({"code": 200, "msg": "SUCCESS", "action": action, "channel": channel})


async def socket(ws: WebSocket) -> None:
    sim: Sim = ws.app.state.sim
    if not ws.query_params.get("apikey"):
        sim.control.record(VENUE, ENDPOINT, 401)
        body = {"code": 401, "msg": "apikey is required", "result": None}
        await ws.send_denial_response(json_response(body, 401))
        return
    await ws.accept()
    await FEED.serve(ws, _Sub(), _on_text)
