"""The WebSocket protocol, documented beside the OpenAPI as an AsyncAPI 3 document.

The messages are pydantic models, so the document served at `/asyncapi.json`
is generated from the same types the tests validate real frames against and
the Python client parses: the protocol cannot drift from its description.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from predhub.api.schemas import Market, TradeOut

WS_PATH = "/v1/ws"
ASYNCAPI_PATH = "/asyncapi.json"

MarketIds = list[str | int]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- client -> server
class Subscribe(_Message):
    """Follow markets (any id form, up to 1,000 per connection); their state follows."""

    op: Literal["subscribe"]
    markets: MarketIds


class Unsubscribe(_Message):
    """Stop following markets."""

    op: Literal["unsubscribe"]
    markets: MarketIds


class Ping(_Message):
    """Ask for a `pong`."""

    op: Literal["ping"]


# ---------------------------------------------------------------- server -> client
class Subscribed(_Message):
    """Each id asked for, as given, to our market id; ids that match no market."""

    type: Literal["subscribed"]
    markets: dict[str, int]
    unknown: list[str] = Field(default_factory=list)


class Unsubscribed(_Message):
    type: Literal["unsubscribed"]
    markets: dict[str, int]


class Quote(_Message):
    """A market's document, sent on subscribe, after each change and after a resync."""

    type: Literal["quote"]
    market_id: int
    data: Market


class Trades(_Message):
    """New trades of a market, oldest first."""

    type: Literal["trades"]
    market_id: int
    trades: list[TradeOut]


class Heartbeat(_Message):
    """Sent when a connection has been idle for the heartbeat interval."""

    type: Literal["heartbeat"]
    ts: str


class Pong(_Message):
    type: Literal["pong"]


class Resync(_Message):
    """Messages were dropped (a slow client, a lost notification link): the current
    state of every followed market follows, as `quote` messages."""

    type: Literal["resync"]
    reason: str


class ProtocolError(_Message):
    """A message the server could not act on; the connection stays open."""

    type: Literal["error"]
    code: str
    message: str


CLIENT_MESSAGES: tuple[type[BaseModel], ...] = (Subscribe, Unsubscribe, Ping)
SERVER_MESSAGES: tuple[type[BaseModel], ...] = (
    Subscribed,
    Unsubscribed,
    Quote,
    Trades,
    Heartbeat,
    Pong,
    Resync,
    ProtocolError,
)
SERVER_BY_TYPE: dict[str, type[BaseModel]] = {
    m.model_fields["type"].annotation.__args__[0]: m  # type: ignore[union-attr]
    for m in SERVER_MESSAGES
}


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of `/v1/ws`, message schemas under `components`."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for model in (*CLIENT_MESSAGES, *SERVER_MESSAGES):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas[model.__name__] = schema
        messages[model.__name__] = {
            "name": model.__name__,
            "contentType": "application/json",
            "summary": " ".join((model.__doc__ or model.__name__).split()),
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        }

    def refs(models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
        return {m.__name__: {"$ref": f"#/components/messages/{m.__name__}"} for m in models}

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "predhub live feed",
            "version": "1",
            "description": "Quotes and trades pushed as ingestion writes them. JSON text "
            "frames; a client that falls behind gets `resync` and the current state.",
        },
        "channels": {
            "feed": {
                "address": WS_PATH,
                "messages": refs((*CLIENT_MESSAGES, *SERVER_MESSAGES)),
            }
        },
        "operations": {
            "send": {
                "action": "receive",
                "channel": {"$ref": "#/channels/feed"},
                "summary": "What a client sends",
                "messages": [
                    {"$ref": f"#/channels/feed/messages/{m.__name__}"} for m in CLIENT_MESSAGES
                ],
            },
            "push": {
                "action": "send",
                "channel": {"$ref": "#/channels/feed"},
                "summary": "What the server pushes",
                "messages": [
                    {"$ref": f"#/channels/feed/messages/{m.__name__}"} for m in SERVER_MESSAGES
                ],
            },
        },
        "components": {"schemas": schemas, "messages": messages},
    }
