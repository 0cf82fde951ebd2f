"""What every simulated venue WebSocket shares: subscribers, the send loop and the faults.

Each venue's WebSocket module (`sim/<venue>_ws.py`) speaks its own
protocol; this one holds the plumbing they would otherwise each copy: the
subscribers of one endpoint per simulator, a queue per subscriber drained by
a sender task, and the forced faults every stream honours the same way.
`ws_silent` stops every frame while the connection stays open, the server's
pings and its answers to the client's pings included (what a dead peer looks
like to a client: a quiet but live feed is one whose world does not move),
`ws_close` closes open connections (code 1011)
once per count; `ws_gap` is the protocol's own business (only a sequenced feed
can show one).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from predhub.sim.runtime import Sim


@dataclass(eq=False)
class Subscriber:
    """One open connection: frames waiting to be sent, and the trades already sent."""

    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=20_000))
    markets: dict[int, int] = field(default_factory=dict)  # market idx -> trades already sent

    def put(self, frame: str) -> None:
        """Queue a frame; a client too slow to drain 20,000 loses the overflow (a gap)."""
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(frame)

    def put_json(self, message: Any) -> None:
        self.put(orjson.dumps(message).decode())


S = TypeVar("S", bound=Subscriber)


class Feed(Generic[S]):
    """One venue endpoint's subscribers, per simulator (tests run several at once)."""

    def __init__(self, venue: str, endpoint: str) -> None:
        self.venue = venue
        self.endpoint = endpoint
        self._subs: dict[int, set[S]] = {}

    def silent(self, sim: Sim) -> bool:
        return any(
            r.kind == "ws_silent"
            and r.matches(self.venue, self.endpoint)
            and (r.count is None or r.count > 0)
            for r in sim.control.faults
        )

    def live(self, sim: Sim) -> Iterator[S]:
        """The subscribers to send news to now (none while the feed is silent)."""
        subs = self._subs.get(id(sim))
        if subs and not self.silent(sim):
            yield from list(subs)

    def gap(self, sim: Sim) -> bool:
        """Whether a `ws_gap` fault eats the message about to be sent."""
        return sim.control.pick_fault(self.venue, self.endpoint, frozenset({"ws_gap"})) is not None

    async def _sender(
        self, ws: WebSocket, sub: S, sim: Sim, idle: Callable[[S], None] | None
    ) -> None:
        while True:
            try:
                frame = await asyncio.wait_for(sub.queue.get(), timeout=0.1)
            except TimeoutError:
                if sim.control.pick_fault(self.venue, self.endpoint, frozenset({"ws_close"})):
                    await ws.close(code=1011)
                    return
                if idle is not None and not self.silent(sim):
                    idle(sub)
                continue
            await ws.send_text(frame)

    async def serve(
        self,
        ws: WebSocket,
        sub: S,
        on_text: Callable[[Sim, S, str], Awaitable[None] | None],
        *,
        idle: Callable[[S], None] | None = None,
    ) -> None:
        """Run an accepted connection until the client leaves or a fault closes it.

        Every text frame goes to `on_text` unless the feed is silent; `idle` runs
        whenever the send queue has been empty for a tenth of a second (pings).
        """
        sim: Sim = ws.app.state.sim
        sim.control.record(self.venue, self.endpoint, 101)
        self._subs.setdefault(id(sim), set()).add(sub)
        sender = asyncio.create_task(self._sender(ws, sub, sim, idle))
        try:
            while True:
                text = await ws.receive_text()
                if not self.silent(sim):
                    result = on_text(sim, sub, text)
                    if result is not None:
                        await result
        except (WebSocketDisconnect, RuntimeError):  # the client left, or a ws_close fault
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
            self._subs.get(id(sim), set()).discard(sub)
