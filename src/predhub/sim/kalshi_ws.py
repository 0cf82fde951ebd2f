"""Kalshi's WebSocket (trade-api ws v2) as the simulator speaks it.

The handshake must be signed (`check_signature`, as for REST; a missing or
bad signature is refused with the venue's 401 body). Commands are JSON
objects with an `id` and a `cmd`: `subscribe` (channels `orderbook_delta`,
`trade`, `ticker` for `market_tickers`) answers one `subscribed` per channel
with its `sid`, then an `orderbook_snapshot` per market; `update_subscription`
with `action: get_snapshot` re-sends the snapshots. As the world trades, each
subscriber gets, per trade, a `trade` message; and whenever a subscribed market's book moved
(its own trade, or a sibling's or twin's that moved its price), the
`orderbook_delta`s that turn the last book it was sent into the current one
(signed count changes per level; snapshot and deltas share one `seq` per sid)
and a `ticker`.

Faults: `ws_silent` stops all frames (the connection stays open), `ws_close`
closes open connections (code 1011), `ws_gap` drops one delta while its
sequence number is spent, which is what a lost message looks like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from starlette.websockets import WebSocket

from predhub.sim.books import yes_book
from predhub.sim.fmt import dollars, fp, json_response
from predhub.sim.kalshi import VENUE, check_signature, kalshi_trade
from predhub.sim.runtime import Sim
from predhub.sim.world import SimMarket
from predhub.sim.wsfeed import Feed, Subscriber

ENDPOINT = "/trade-api/ws/v2"
CHANNELS = ("orderbook_delta", "trade", "ticker")

Side = dict[str, Decimal]  # price string -> count


@dataclass(eq=False)
class _Sub(Subscriber):
    books: dict[int, tuple[Side, Side]] = field(default_factory=dict)  # last book sent
    sids: dict[str, int] = field(default_factory=dict)  # channel -> sid
    seq: dict[int, int] = field(default_factory=dict)  # sid -> last seq sent
    next_sid: int = 1

    def next_seq(self, sid: int) -> int:
        self.seq[sid] = self.seq.get(sid, 0) + 1
        return self.seq[sid]


FEED: Feed[_Sub] = Feed(VENUE, ENDPOINT)


def _book(sim: Sim, m: SimMarket) -> tuple[Side, Side]:
    """YES bids and NO bids (price -> count) of the market as they stand."""
    bids, asks = yes_book(m, sim.world.trades.count(m.idx), sim.world.seed)
    yes = {dollars(p): Decimal(fp(s)) for p, s in bids}
    no = {dollars(1 - p): Decimal(fp(s)) for p, s in asks}
    return yes, no


def _fp_levels(side: Side) -> list[list[str]]:
    return [[p, f"{s:.2f}"] for p, s in sorted(side.items())]


def _snapshot(sim: Sim, sub: _Sub, m: SimMarket) -> None:
    sid = sub.sids["orderbook_delta"]
    yes, no = _book(sim, m)
    sub.books[m.idx] = (yes, no)
    msg: dict[str, Any] = {"market_ticker": m.native_id, "market_id": m.condition_id}
    if yes:
        msg["yes_dollars_fp"] = _fp_levels(yes)
    if no:
        msg["no_dollars_fp"] = _fp_levels(no)
    sub.put_json({"type": "orderbook_snapshot", "sid": sid, "seq": sub.next_seq(sid), "msg": msg})


def _deltas(sim: Sim, sub: _Sub, m: SimMarket, ts_ms: int) -> bool:
    """Send the deltas from the last book sent to the current one; whether it moved."""
    sid = sub.sids["orderbook_delta"]
    old_yes, old_no = sub.books.get(m.idx, ({}, {}))
    new_yes, new_no = _book(sim, m)
    if (new_yes, new_no) == (old_yes, old_no):
        return False
    sub.books[m.idx] = (new_yes, new_no)
    for side, old, new in (("yes", old_yes, new_yes), ("no", old_no, new_no)):
        for p in sorted(set(old) | set(new)):
            change = new.get(p, Decimal(0)) - old.get(p, Decimal(0))
            if change == 0:
                continue
            seq = sub.next_seq(sid)
            if FEED.gap(sim):
                continue  # lost on the way: its sequence number is spent
            msg = {
                "market_ticker": m.native_id,
                "market_id": m.condition_id,
                "price_dollars": p,
                "delta_fp": f"{change:.2f}",
                "side": side,
                "ts_ms": ts_ms,
            }
            sub.put_json({"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": msg})
    return True


def _ticker(sim: Sim, sub: _Sub, m: SimMarket, ts_ms: int) -> None:
    bid, ask = m.quote(0)
    msg = {
        "market_ticker": m.native_id,
        "market_id": m.condition_id,
        "price_dollars": dollars(m.last_price if m.last_price is not None else m.price),
        "yes_bid_dollars": dollars(bid if m.is_open else 0.0),
        "yes_ask_dollars": dollars(ask if m.is_open else 1.0),
        "volume_fp": fp(m.base_volume + m.shares),
        "open_interest_fp": fp(m.shares * 0.4 + m.base_volume * 0.1),
        "ts_ms": ts_ms,
    }
    sub.put_json({"type": "ticker", "sid": sub.sids["ticker"], "msg": msg})


def notify(sim: Sim) -> None:
    """Queue what changed for every subscriber: new trades, book deltas and a ticker.

    A market's book can move without a trade of its own (a sibling in its event
    traded, or its twin on another venue), so every subscribed book is compared
    with the last one sent, not only those of markets that traded.
    """
    w = sim.world
    for sub in FEED.live(sim):
        for idx, sent in list(sub.markets.items()):
            n = w.trades.count(idx)
            m = w.markets[idx]
            trades = w.trades.get(idx, max(sent, n - 500), n) if n > sent else []
            if "trade" in sub.sids:
                for tr in trades:
                    row = kalshi_trade(m, tr, w)
                    msg = {
                        "trade_id": row["trade_id"],
                        "market_ticker": m.native_id,
                        "yes_price_dollars": row["yes_price_dollars"],
                        "no_price_dollars": row["no_price_dollars"],
                        "count_fp": row["count_fp"],
                        "taker_side": row["taker_side"],
                        "taker_outcome_side": row["taker_outcome_side"],
                        "taker_book_side": row["taker_book_side"],
                        "is_block_trade": False,
                        "ts_ms": tr.ts_ms,
                    }
                    sub.put_json({"type": "trade", "sid": sub.sids["trade"], "msg": msg})
            sub.markets[idx] = n
            ts_ms = trades[-1].ts_ms if trades else int(w.now * 1000)
            moved = False
            if "orderbook_delta" in sub.sids:
                moved = _deltas(sim, sub, m, ts_ms)
            if "ticker" in sub.sids and (trades or moved):
                _ticker(sim, sub, m, ts_ms)


def _error(sub: _Sub, cmd_id: Any, code: int, text: str) -> None:
    sub.put_json({"id": cmd_id, "type": "error", "msg": {"code": code, "msg": text}})


def _command(sim: Sim, sub: _Sub, text: str) -> None:
    try:
        cmd = orjson.loads(text)
    except orjson.JSONDecodeError:
        _error(sub, 0, 1, "Unable to process message")
        return
    if not isinstance(cmd, dict):
        _error(sub, 0, 1, "Unable to process message")
        return
    cmd_id = cmd.get("id", 0)
    params = cmd.get("params")
    if not isinstance(params, dict):
        _error(sub, cmd_id, 2, "Params required")
        return
    sim.sync()
    if cmd.get("cmd") == "subscribe":
        channels = params.get("channels")
        tickers = params.get("market_tickers") or []
        if not isinstance(channels, list) or not channels:
            _error(sub, cmd_id, 3, "Channels required")
            return
        if "orderbook_delta" in channels and not tickers:
            _error(sub, cmd_id, 2, "Params required")
            return
        markets = []
        for t in tickers:
            m = sim.world.market(VENUE, str(t))
            if m is not None and m.listed and m.is_open:
                markets.append(m)
        for channel in channels:
            if channel not in CHANNELS:
                _error(sub, cmd_id, 8, "Unknown channel name")
                continue
            if channel in sub.sids:
                _error(sub, cmd_id, 6, "Already subscribed")
                continue
            sid = sub.sids[channel] = sub.next_sid
            sub.next_sid += 1
            sub.put_json(
                {"id": cmd_id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}}
            )
        for m in markets:
            sub.markets.setdefault(m.idx, sim.world.trades.count(m.idx))
            if "orderbook_delta" in sub.sids:
                _snapshot(sim, sub, m)
    elif cmd.get("cmd") == "update_subscription":
        target = params.get("sid")
        if params.get("action") != "get_snapshot":
            _error(sub, cmd_id, 15, "Action required")
            return
        if target is None or target != sub.sids.get("orderbook_delta"):
            _error(sub, cmd_id, 7, "Unknown subscription ID")
            return
        wanted = {str(t) for t in params.get("market_tickers") or []}
        for idx in list(sub.markets):
            m = sim.world.markets[idx]
            if not wanted or m.native_id in wanted:
                sub.markets[idx] = sim.world.trades.count(idx)
                _snapshot(sim, sub, m)
        book_sid = sub.sids["orderbook_delta"]
        sub.put_json(
            {
                "id": cmd_id,
                "sid": book_sid,
                "seq": sub.seq.get(book_sid, 0),
                "type": "ok",
                "msg": {},
            }
        )
    else:
        _error(sub, cmd_id, 5, "Unknown command")


async def channel(ws: WebSocket) -> None:
    sim: Sim = ws.app.state.sim
    denied = check_signature(sim, "GET", ws.url.path, ws.headers, required=True)
    if denied is not None:
        sim.control.record(VENUE, ENDPOINT, 401)
        await ws.send_denial_response(json_response(denied, 401))
        return
    await ws.accept()
    await FEED.serve(ws, _Sub(), _command)
