"""The reconnect loop every venue stream shares: one connection at a time, trouble as resyncs.

A venue's stream module writes `session()`, an async generator over one
connection (connect, subscribe, yield updates). When it ends because the feed
fell silent it has yielded `StreamUpdate(resync=True, reason="silent")` and
returns; the loop reconnects at once, which resubscribes and brings fresh
state. A dropped or refused connection yields `StreamUpdate(resync=True,
reason="dropped")` and reconnects after a backoff that doubles up to
`http_backoff_max_seconds` and resets once data flows again. Anything else a
session raises (a `FatalError` for a refused handshake) ends the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import structlog
from websockets.exceptions import WebSocketException

from predhub.settings import Settings
from predhub.venues.base import StreamUpdate

log = structlog.get_logger(__name__)


async def reconnecting(
    settings: Settings, venue: str, session: Callable[[], AsyncIterator[StreamUpdate]]
) -> AsyncIterator[StreamUpdate]:
    """Run `session` again and again until the consumer stops iterating."""
    backoff = settings.http_backoff_base_seconds
    while True:
        try:
            async for update in session():
                if not update.resync:
                    backoff = settings.http_backoff_base_seconds
                yield update
        except (OSError, WebSocketException, TimeoutError) as exc:
            log.info("stream_reconnect", venue=venue, error=type(exc).__name__, delay=backoff)
            yield StreamUpdate(resync=True, reason="dropped")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, settings.http_backoff_max_seconds)


def silent(venue: str, seconds: float) -> StreamUpdate:
    """The update a session yields before it returns because no data came for `seconds`."""
    log.info("stream_silent", venue=venue, seconds=seconds)
    return StreamUpdate(resync=True, reason="silent")
