"""Kalshi's WebSocket (trade-api ws v2): order books, trades and tickers of our markets.

The handshake is signed like a REST call (`GET` over the socket's path, a
fresh timestamp on every connect). One `subscribe` command asks for three
channels for the streamed tickers: `orderbook_delta` (an `orderbook_snapshot`
per market, then `orderbook_delta`s, one sequence per subscription id),
`trade` and `ticker`. The venue pings every 10 s and the client library
answers; the client pings too, every `ws_ping_seconds`, and each pong is the
sign of life of a quiet feed (`wsloop.Liveness`): markets that do not move
send nothing, and their subscription stands as long as the venue answers.

Books are kept here from snapshot and deltas. A delta whose `seq` is not the
last one plus one is a gap: the subscription's books are stale, a
`get_snapshot` asks for fresh snapshots, deltas of stale books are dropped
until theirs arrives, and `StreamUpdate(resync=True)` tells the consumer to
re-read quotes and trades over REST (trades missed in between come back from
the REST trade sync, by their ids, so nothing is lost or doubled). No frame
and no pong for `ws_silence_seconds` (a dead peer), or a dropped connection,
yields a resync too and reconnects (with backoff), which resubscribes and
brings fresh snapshots.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from typing import Any

import orjson
import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from predhub.models import OrderBook, Quote, RawResponse, Trade
from predhub.settings import Settings
from predhub.venues import wsloop
from predhub.venues.base import MarketRef, StreamUpdate
from predhub.venues.errors import FatalError
from predhub.venues.http import excerpt, utc_now
from predhub.venues.kalshi import parse
from predhub.venues.kalshi.signing import Signer
from predhub.venues.normalize import ItemInvalid, amount, decimal, opt, price, req, req_str
from predhub.venues.wsloop import Liveness, reconnecting

log = structlog.get_logger(__name__)

VENUE = parse.VENUE
ENDPOINT = "ws:/trade-api/ws/v2"
CHANNELS = ("orderbook_delta", "trade", "ticker")

Levels = dict[Decimal, Decimal]  # price -> resting count


@dataclass
class Books:
    """The YES and NO bids of each market, rebuilt from snapshots and deltas."""

    yes: dict[str, Levels] = field(default_factory=dict)
    no: dict[str, Levels] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)

    def snapshot(self, ticker: str, msg: dict[str, Any]) -> None:
        self.yes[ticker] = _levels(msg.get("yes_dollars_fp"), "yes_dollars_fp")
        self.no[ticker] = _levels(msg.get("no_dollars_fp"), "no_dollars_fp")
        self.stale.discard(ticker)

    def delta(self, ticker: str, msg: dict[str, Any]) -> bool:
        """Apply one delta; False when the market's book is unknown or stale (dropped)."""
        if ticker in self.stale or ticker not in self.yes:
            return False
        side = msg.get("side")
        if side not in ("yes", "no"):
            raise ItemInvalid(f"delta side {side!r} is not yes or no", ticker)
        levels = self.yes[ticker] if side == "yes" else self.no[ticker]
        at = price(req(msg, "price_dollars"), "price_dollars")
        change = decimal(req(msg, "delta_fp"), "delta_fp")
        size = levels.get(at, Decimal(0)) + change
        if size > 0:
            levels[at] = size
        else:
            levels.pop(at, None)
        return True

    def orderbooks(self, ticker: str, observed_at: datetime) -> list[OrderBook]:
        fp = {
            "yes_dollars": [[str(p), str(s)] for p, s in self.yes[ticker].items()],
            "no_dollars": [[str(p), str(s)] for p, s in self.no[ticker].items()],
        }
        return parse.parse_orderbook(ticker, fp, observed_at)

    def quotes(self, ticker: str, observed_at: datetime) -> list[Quote]:
        return [_with_mid(b.quote()) for b in self.orderbooks(ticker, observed_at)]


def _levels(raw: Any, what: str) -> Levels:
    if raw is None:
        return {}  # the venue leaves a side out when it is empty
    if not isinstance(raw, list):
        raise ItemInvalid(f"{what} is {type(raw).__name__}, expected a list")
    out: Levels = {}
    for level in raw:
        if not isinstance(level, list) or len(level) < 2:
            raise ItemInvalid(f"{what} level {level!r} is not [price, count]")
        out[price(level[0], what)] = amount(level[1], what)
    return out


def _with_mid(q: Quote) -> Quote:
    if q.best_bid is not None and q.best_ask is not None:
        q.mid = (q.best_bid + q.best_ask) / 2
        q.price = q.mid
    return q


def _millis(value: Any, observed: datetime) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    return observed


def trade_of(msg: dict[str, Any]) -> Trade:
    """A `trade` message as the REST trade row it mirrors (same id, same fields)."""
    row = dict(msg)
    row["ticker"] = req_str(msg, "market_ticker")
    ts = req(msg, "ts_ms")
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise ItemInvalid(f"ts_ms {ts!r} is not milliseconds", str(msg.get("trade_id")))
    row["created_time"] = datetime.fromtimestamp(ts / 1000, UTC).isoformat()
    return parse.parse_trade(row)


def ticker_quotes(msg: dict[str, Any], observed: datetime) -> list[Quote]:
    """A `ticker` message: the Yes bid, ask and last trade, so both outcomes' quotes."""
    ticker = req_str(msg, "market_ticker")
    return parse.quotes_from_yes(
        ticker,
        _millis(msg.get("ts_ms"), observed),
        opt(msg, "yes_bid_dollars", price),
        opt(msg, "yes_ask_dollars", price),
        opt(msg, "price_dollars", price),
    )


@dataclass
class Session:
    """One connection's state: subscriptions, sequences, books, command ids."""

    tickers: list[str]
    books: Books = field(default_factory=Books)
    channel_of: dict[int, str] = field(default_factory=dict)  # sid -> channel
    last_seq: dict[int, int] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: count(1))
    gaps: int = 0

    def subscribe(self) -> str:
        params = {"channels": list(CHANNELS), "market_tickers": self.tickers}
        return orjson.dumps({"id": next(self.ids), "cmd": "subscribe", "params": params}).decode()

    def get_snapshot(self, sid: int) -> str:
        params = {"sid": sid, "market_tickers": self.tickers, "action": "get_snapshot"}
        return orjson.dumps(
            {"id": next(self.ids), "cmd": "update_subscription", "params": params}
        ).decode()

    def in_sequence(self, sid: int, seq: Any) -> bool:
        """Whether `seq` follows the subscription's last one (a first message always does)."""
        if not isinstance(seq, int) or isinstance(seq, bool):
            return True  # channels without sequence numbers
        last = self.last_seq.get(sid)
        self.last_seq[sid] = seq
        return last is None or seq == last + 1

    def handle(self, message: Any, observed: datetime) -> tuple[StreamUpdate, str | None]:
        """One decoded message -> the update, and a command to send back (a snapshot request)."""
        raw = RawResponse(VENUE, ENDPOINT, {}, 200, observed, message)
        update = StreamUpdate(raw=raw)
        if not isinstance(message, dict):
            log.warning("kalshi_ws_bad_message", reason="not an object")
            return update, None
        kind = message.get("type")
        sid = message.get("sid")
        msg = message.get("msg")
        if kind == "subscribed" and isinstance(msg, dict) and isinstance(msg.get("sid"), int):
            self.channel_of[msg["sid"]] = str(msg.get("channel"))
            return update, None
        if kind == "error":
            log.warning("kalshi_ws_error", error=excerpt(orjson.dumps(msg).decode()))
            return update, None
        if kind not in ("orderbook_snapshot", "orderbook_delta", "trade", "ticker"):
            return update, None  # acks and channels we did not ask for stay in the raw frame
        if not isinstance(msg, dict) or not isinstance(sid, int):
            log.warning("kalshi_ws_bad_message", type=str(kind)[:30], reason="no msg or sid")
            return update, None
        ticker = str(msg.get("market_ticker") or "")
        command = None
        try:
            if kind == "orderbook_snapshot":
                self.in_sequence(sid, message.get("seq"))
                self.books.snapshot(ticker, msg)
                update.books = self.books.orderbooks(ticker, observed)
            elif kind == "orderbook_delta":
                if not self.in_sequence(sid, message.get("seq")):
                    self.gaps += 1
                    log.info("kalshi_ws_gap", sid=sid, seq=message.get("seq"))
                    self.books.stale.update(self.tickers)
                    return StreamUpdate(raw=raw, resync=True, reason="gap"), self.get_snapshot(sid)
                if self.books.delta(ticker, msg):
                    update.quotes = self.books.quotes(ticker, _millis(msg.get("ts_ms"), observed))
            elif kind == "trade":
                if not self.in_sequence(sid, message.get("seq")):
                    self.gaps += 1  # a trade was skipped: the REST sync fetches it
                    update.resync, update.reason = True, "gap"
                update.trades = [trade_of(msg)]
            else:
                update.quotes = ticker_quotes(msg, observed)
        except ItemInvalid as exc:
            log.warning("kalshi_ws_bad_item", item_id=exc.item_id or ticker, reason=exc.reason)
        return update, command


def _pong_marks(ws: ClientConnection, alive: Liveness) -> Callable[[], Awaitable[None]]:
    """A WebSocket ping whose pong marks the peer alive."""

    async def ping() -> None:
        await (await ws.ping())
        alive.saw()

    return ping


async def market_stream(
    settings: Settings, signer: Signer, refs: Sequence[MarketRef]
) -> AsyncIterator[StreamUpdate]:
    """Live updates for these markets until the consumer stops iterating.

    A handshake the venue refuses (401: no key, a wrong signature, a clock
    off by more than the venue allows) raises `FatalError` with the venue's
    answer; the key itself is never in it.
    """
    tickers = list(dict.fromkeys(r.ticker or r.native_id for r in refs))
    if not tickers:
        return
    url = settings.venue(VENUE).url("ws_url")

    async def session() -> AsyncIterator[StreamUpdate]:
        state = Session(tickers)
        try:
            async with connect(
                url,
                additional_headers=signer.headers("GET", url),
                ping_interval=None,  # our own pings below: their pongs are the sign of life
                max_size=2**24,
            ) as ws:
                await ws.send(state.subscribe())
                alive = Liveness(settings.ws_silence_seconds)
                async with wsloop.pinging(_pong_marks(ws, alive), settings.ws_ping_seconds):
                    # a quiet window yields an empty update: pongs but no data is not dead
                    async for frame in wsloop.frames(ws, alive, VENUE):
                        if isinstance(frame, StreamUpdate):
                            yield frame
                            continue
                        update, command = _decode(state, frame)
                        if command is not None:
                            await ws.send(command)
                        yield update
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status not in (401, 403):
                raise
            body = exc.response.body.decode(errors="replace") if exc.response.body else ""
            raise FatalError(
                f"handshake refused: {status} {excerpt(body)}",
                venue=VENUE,
                endpoint=ENDPOINT,
                status=status,
            ) from None

    async for update in reconnecting(settings, VENUE, session):
        yield update


def _decode(session: Session, frame: str | bytes) -> tuple[StreamUpdate, str | None]:
    now = utc_now()
    try:
        message: Any = orjson.loads(frame)
    except orjson.JSONDecodeError:
        text = frame.decode(errors="replace") if isinstance(frame, bytes) else frame
        log.warning("kalshi_ws_not_json", excerpt=text[:120])
        return StreamUpdate(raw=RawResponse(VENUE, ENDPOINT, {}, 200, now, None, text=text)), None
    return session.handle(message, now)
