"""Socket.IO v5 over Engine.IO v4, the WebSocket transport only: the framing, pure.

Speaking it directly over `websockets` takes a few lines, where a Socket.IO
client library would bring its own event loop handling and reconnect policy
beside ours. An Engine.IO frame is one digit of type then its data: `0` open
(JSON with `sid`, `pingInterval`, `pingTimeout`), `1` close, `2` ping (the
server's; the client answers `3`), `4` message. A message carries one
Socket.IO packet: a digit of type (`0` connect, `1` disconnect, `2` event,
`4` connect error), the namespace when it is not `/` followed by a comma,
then JSON (an event is `["name", data, ...]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

QUERY = "socket.io/?EIO=4&transport=websocket"
PING, PONG = "2", "3"


@dataclass(frozen=True, slots=True)
class Packet:
    """One decoded frame: its Engine.IO type, and for a message its Socket.IO parts."""

    engine: str  # "0" open, "1" close, "2" ping, "3" pong, "4" message, ...
    kind: str = ""  # Socket.IO: "0" connect, "1" disconnect, "2" event, "4" connect error
    namespace: str = "/"
    data: Any = None  # the open payload, the event's [name, *args], a connect error


def socket_url(base: str) -> str:
    """The WebSocket address of a Socket.IO server at `base` (its default path)."""
    return base.rstrip("/") + "/" + QUERY


def connect(namespace: str) -> str:
    return f"40{namespace},"


def event(namespace: str, name: str, *args: Any) -> str:
    return f"42{namespace}," + orjson.dumps([name, *args]).decode()


def decode(frame: str | bytes) -> Packet:
    """A text frame -> `Packet`; `ValueError` for what is not Engine.IO v4 text."""
    if isinstance(frame, bytes):
        raise ValueError("binary frame (this client asks for none)")
    if not frame:
        raise ValueError("empty frame")
    engine, rest = frame[0], frame[1:]
    if engine == "0":
        return Packet(engine, data=orjson.loads(rest))
    if engine != "4":
        return Packet(engine)
    if not rest:
        raise ValueError("empty message")
    kind, rest = rest[0], rest[1:]
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
    data = orjson.loads(rest) if rest else None
    return Packet(engine, kind, namespace, data)
