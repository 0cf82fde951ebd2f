"""Opinion's market WebSocket: depth changes of our markets' books, as they happen.

The socket is `OPINION_WS_URL?apikey=<key>` (a key is needed even for market
data; it is a secret and appears in no log). Per market one
`{"action": "SUBSCRIBE", "channel": "market.depth.diff", "marketId": N}`
(binary markets only, so each child of a categorical market on its own); the
client sends `{"action": "HEARTBEAT"}` every `ws_ping_seconds` or the venue
closes the socket. A `market.depth.diff` is one level of one outcome token
with its new size; the feed sends no snapshot, so the books are seeded over
REST on every connect (`seed`, the adapter's own `order_books`) after
subscribing, and the changes that came meanwhile are applied on top (a level's
size is absolute, so the last change of a level is its size whatever the
order). Messages carry no sequence numbers and no time: a lost message cannot
be seen, only silence and drops can, and each one re-reads the books. The
venue acknowledges every heartbeat, and any frame counts as life, so a feed
whose markets do not move stays connected; silence is no frame at all, acks
included, for `ws_silence_seconds` (a dead peer).

`market.last.trade` exists but carries no trade id and no time, so a trade
could not be stored exactly once across reconnects and resyncs: the hub does
not read trades from it (the venue has no per-market trade listing either).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson
import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from predhub.models import BookLevel, OrderBook, RawResponse
from predhub.settings import Settings
from predhub.venues import wsloop
from predhub.venues.base import Fetched, MarketRef, StreamUpdate
from predhub.venues.errors import FatalError
from predhub.venues.http import excerpt, utc_now
from predhub.venues.normalize import ItemInvalid, amount, price, req
from predhub.venues.opinion import parse
from predhub.venues.wsloop import reconnecting, silent

log = structlog.get_logger(__name__)

VENUE = parse.VENUE
ENDPOINT = "ws:/ws"
CHANNEL = "market.depth.diff"

Seed = Callable[[Sequence[MarketRef]], Coroutine[Any, Any, Fetched[OrderBook]]]
Levels = dict[Decimal, Decimal]


@dataclass
class Books:
    """Each outcome token's bids and asks, seeded over REST and moved by depth changes."""

    bids: dict[tuple[str, int], Levels] = field(default_factory=dict)
    asks: dict[tuple[str, int], Levels] = field(default_factory=dict)
    tokens: dict[tuple[str, int], str | None] = field(default_factory=dict)

    def seed(self, book: OrderBook) -> None:
        key = (book.market_native_id, book.outcome_index)
        self.bids[key] = {lv.price: lv.size for lv in book.bids}
        self.asks[key] = {lv.price: lv.size for lv in book.asks}
        self.tokens[key] = book.token_id

    def apply(self, msg: dict[str, Any]) -> tuple[str, int] | None:
        """One depth change; the (market, outcome) it moved, None for a book not held."""
        market = str(req(msg, "marketId"))
        side = msg.get("outcomeSide")
        if side not in (1, 2):
            raise ItemInvalid(f"outcomeSide {side!r} is not 1 or 2", market)
        key = (market, side - 1)
        if key not in self.bids:
            return None
        book_side = msg.get("side")
        if book_side not in ("bids", "asks"):
            raise ItemInvalid(f"side {book_side!r} is not bids or asks", market)
        levels = self.bids[key] if book_side == "bids" else self.asks[key]
        at = price(req(msg, "price"), "price")
        size = amount(req(msg, "size"), "size")
        if size > 0:
            levels[at] = size
        else:
            levels.pop(at, None)
        return key

    def book(self, key: tuple[str, int], observed_at: datetime) -> OrderBook:
        return OrderBook(
            VENUE,
            key[0],
            key[1],
            observed_at,
            bids=[BookLevel(p, s) for p, s in sorted(self.bids[key].items(), reverse=True)],
            asks=[BookLevel(p, s) for p, s in sorted(self.asks[key].items())],
            token_id=self.tokens[key],
        )


def subscribe(market: str) -> str:
    return orjson.dumps(
        {"action": "SUBSCRIBE", "channel": CHANNEL, "marketId": int(market)}
    ).decode()


def handle(books: Books, message: Any, received: datetime) -> StreamUpdate:
    """One decoded message -> the books it moved (pure, given the time of receipt)."""
    update = StreamUpdate(raw=RawResponse(VENUE, ENDPOINT, {}, 200, received, message))
    if not isinstance(message, dict) or message.get("msgType") != CHANNEL:
        if isinstance(message, dict) and message.get("code") not in (None, 0, 200):
            log.warning("opinion_ws_error", error=excerpt(orjson.dumps(message).decode()))
        return update  # acks, heartbeats and channels we did not ask for stay raw
    try:
        key = books.apply(message)
    except ItemInvalid as exc:
        log.warning("opinion_ws_bad_item", item_id=exc.item_id, reason=exc.reason)
        return update
    if key is not None:
        update.books = [books.book(key, received)]
    return update


async def _heartbeat(ws: ClientConnection, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        await ws.send('{"action":"HEARTBEAT"}')


async def market_stream(
    settings: Settings, refs: Sequence[MarketRef], seed: Seed
) -> AsyncIterator[StreamUpdate]:
    """Live books of these markets until the consumer stops iterating."""
    markets = [r.native_id for r in refs if r.native_id.isdigit()]
    key = settings.venue(VENUE).secret()
    if not markets or key is None:
        return
    base = settings.venue(VENUE).url("ws_url")
    url = base + ("&" if "?" in base else "?") + urlencode({"apikey": key.get_secret_value()})
    wait = settings.ws_silence_seconds

    async def session() -> AsyncIterator[StreamUpdate]:
        books = Books()
        try:
            async with connect(url, ping_interval=None, max_size=2**24) as ws:
                for market in markets:
                    await ws.send(subscribe(market))
                beat = asyncio.create_task(_heartbeat(ws, settings.ws_ping_seconds))
                seeding = asyncio.create_task(seed(refs))
                try:
                    early: list[Any] = []
                    while not seeding.done():  # changes before the seed: applied after it
                        with contextlib.suppress(TimeoutError):
                            early.append(orjson.loads(await asyncio.wait_for(ws.recv(), 0.05)))
                    seeded = seeding.result()
                    for book in seeded.items:
                        books.seed(book)
                    now = utc_now()
                    yield StreamUpdate(books=seeded.items)
                    for message in early:
                        yield handle(books, message, now)
                    while True:
                        try:
                            frame = await asyncio.wait_for(ws.recv(), wait)
                        except TimeoutError:
                            wsloop.abandon(ws)
                            yield silent(VENUE, wait)  # reconnect: subscribe and seed again
                            return
                        try:
                            message = orjson.loads(frame)
                        except orjson.JSONDecodeError:
                            log.warning("opinion_ws_not_json", excerpt=str(frame)[:120])
                            continue
                        yield handle(books, message, utc_now())
                finally:
                    seeding.cancel()
                    beat.cancel()
                    with contextlib.suppress(asyncio.CancelledError, WebSocketException):
                        await beat
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status not in (401, 403):
                raise
            raise FatalError(
                f"handshake refused: {status}", venue=VENUE, endpoint=ENDPOINT, status=status
            ) from None

    async for update in reconnecting(settings, VENUE, session):
        yield update
