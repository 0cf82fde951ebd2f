"""The live feed over WebSocket, with reconnect and resync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import websockets
from pydantic import BaseModel

from predhub.api.asyncapi import SERVER_BY_TYPE, WS_PATH, Resync

QUIET = frozenset({"heartbeat", "pong"})


def ws_url(base_url: str) -> str:
    if base_url.startswith("https://"):
        return "wss://" + base_url.removeprefix("https://") + WS_PATH
    return "ws://" + base_url.removeprefix("http://") + WS_PATH


async def subscribe(
    base_url: str,
    markets: Sequence[str | int],
    headers: dict[str, str],
    *,
    reconnect_delay: float,
    max_delay: float,
) -> AsyncIterator[BaseModel]:
    """Messages of the feed as models; on a lost connection, wait, reconnect, resubscribe."""
    request = orjson.dumps({"op": "subscribe", "markets": [str(m) for m in markets]})
    delay = reconnect_delay
    reconnected = False
    extra = {k: v for k, v in headers.items() if k == "x-api-key"}
    while True:
        try:
            async with websockets.connect(ws_url(base_url), additional_headers=extra) as ws:
                await ws.send(request)
                if reconnected:  # what was missed is replaced by the current state
                    yield Resync(type="resync", reason="reconnected")
                delay = reconnect_delay
                async for frame in ws:
                    message: Any = orjson.loads(frame)
                    kind = message.get("type") if isinstance(message, dict) else None
                    if kind in QUIET or kind not in SERVER_BY_TYPE:
                        continue
                    yield SERVER_BY_TYPE[kind].model_validate(message)
        except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake):
            pass
        reconnected = True
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
