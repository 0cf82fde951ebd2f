"""The Polymarket market channel over WebSocket.

Subscribe with `{"assets_ids": [...], "type": "market"}`; the venue then
sends `book` snapshots (the first one wrapped in a JSON array),
`price_change` and `last_trade_price` events. The client sends a text
`PING` every `ws_ping_seconds` (10 s, as the venue asks) and the venue
answers `PONG`. A quiet market sends nothing for long stretches, so the
PONGs are what show the connection is alive: each one is passed on as a sign
of life (`wsloop.alive()`) and the subscription stands. When no frame at all,
PONGs included, arrives for `ws_silence_seconds`, the venue is taken for
gone: the stream yields `StreamUpdate(resync=True)` (re-read over REST) and
reconnects, which resubscribes and brings a fresh `book`. A dropped
connection does the same, with backoff.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import structlog
from websockets.asyncio.client import connect

from predhub.models import RawResponse
from predhub.settings import Settings
from predhub.venues import wsloop
from predhub.venues.base import MarketRef, StreamUpdate
from predhub.venues.http import utc_now
from predhub.venues.polymarket.parse import VENUE, parse_ws_message
from predhub.venues.wsloop import Liveness, reconnecting

log = structlog.get_logger(__name__)
ENDPOINT = "ws:/ws/market"


def _pong(frame: str | bytes) -> bool:
    return frame in ("PONG", b"PONG")


def subscribed_tokens(refs: Sequence[MarketRef]) -> dict[str, tuple[str, int]]:
    return {
        str(o.token_id): (ref.native_id, o.index)
        for ref in refs
        for o in ref.outcomes
        if o.token_id
    }


def decode(frame: str | bytes, tokens: dict[str, tuple[str, int]]) -> StreamUpdate:
    """One frame -> a `StreamUpdate` (pure, apart from the clock)."""
    now = utc_now()
    try:
        message: Any = orjson.loads(frame)
    except orjson.JSONDecodeError:
        text = frame.decode(errors="replace") if isinstance(frame, bytes) else frame
        log.warning("polymarket_ws_not_json", excerpt=text[:120])
        raw = RawResponse(VENUE, ENDPOINT, {}, 200, now, None, text=text[:10_000])
        return StreamUpdate(raw=raw)
    quotes, trades, books, errors = parse_ws_message(message, tokens, now)
    for item_id, reason in errors:
        log.warning("polymarket_ws_bad_item", item_id=item_id, reason=reason)
    raw = RawResponse(VENUE, ENDPOINT, {}, 200, now, message)
    return StreamUpdate(quotes=quotes, trades=trades, books=books, raw=raw)


async def market_stream(
    settings: Settings, refs: Sequence[MarketRef]
) -> AsyncIterator[StreamUpdate]:
    """Live updates for these markets' tokens until the consumer stops iterating."""
    tokens = subscribed_tokens(refs)
    if not tokens:
        return
    subscribe = orjson.dumps({"assets_ids": list(tokens), "type": "market"}).decode()

    async def session() -> AsyncIterator[StreamUpdate]:
        async with connect(settings.venue(VENUE).url("ws_url"), ping_interval=None) as ws:
            await ws.send(subscribe)
            alive = Liveness(settings.ws_silence_seconds)
            async with wsloop.pinging(lambda: ws.send("PING"), settings.ws_ping_seconds):
                async for frame in wsloop.frames(ws, alive, VENUE):
                    if isinstance(frame, StreamUpdate):
                        yield frame  # quiet, not dead; or, last, the silent resync
                    elif _pong(frame):
                        yield wsloop.alive()  # quiet, not dead: the subscription stands
                    else:
                        yield decode(frame, tokens)

    async for update in reconnecting(settings, VENUE, session):
        yield update
