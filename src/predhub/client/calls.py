"""Each route of the API as a `Call`: method, path, parameters and how to read the answer.

`Client` and `AsyncClient` share these, so the two cannot disagree about a
route; `ROUTES` lists the (method, path template) of each, which a test
compares with the OpenAPI document so that a new route without a client
method fails the suite. The models are the API's own (`predhub.api.schemas`),
the ones its OpenAPI document is generated from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote as _escape

from pydantic import BaseModel

from predhub.api import schemas
from predhub.client import frames

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Id = str | int
When = datetime | str


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    retry: bool = True  # reads (and the read-only POSTs) are safe to repeat


@dataclass
class Page(Generic[M]):
    """A page of a list: its items, the cursor of the next one, DataFrames of it."""

    data: list[M]
    next_cursor: str | None
    raw: list[dict[str, Any]]

    def to_pandas(self) -> Any:
        return frames.to_pandas(self.raw)

    def to_polars(self) -> Any:
        return frames.to_polars(self.raw)


@dataclass
class Candles:
    """A market's candles (`history`), with the request's window, as DataFrames too."""

    history: schemas.History
    raw: list[dict[str, Any]]

    @property
    def candles(self) -> list[schemas.Candle]:
        return self.history.candles

    def to_pandas(self) -> Any:
        return frames.to_pandas(self.raw)

    def to_polars(self) -> Any:
        return frames.to_polars(self.raw)


def _seg(market_id: Id) -> str:
    return _escape(str(market_id), safe="")


def _when(value: When | None) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else _when(value)
    return out


def _body(fields: dict[str, Any]) -> dict[str, Any]:
    """A JSON body: fields left out when None, times as ISO text."""
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in fields.items()
        if v is not None
    }


def _model(model: type[M]) -> Callable[[Any], M]:
    return model.model_validate


def _page(model: type[M]) -> Callable[[Any], Page[M]]:
    def parse(body: Any) -> Page[M]:
        rows = body["data"]
        return Page([model.model_validate(r) for r in rows], body.get("next_cursor"), rows)

    return parse


def _json(body: Any) -> Any:
    return body


def _candles(body: Any) -> Candles:
    return Candles(schemas.History.model_validate(body), body["candles"])


def _freshness(tier: str | None, max_age: float | None) -> dict[str, Any]:
    return _clean({"tier": tier, "max_age": max_age})


# ---------------------------------------------------------------- the routes
# The keyword parameters are named as the API's query parameters, so `_clean(locals())`
# sends them as they are; a test holds each signature to the OpenAPI document.
def markets(
    *,
    venue: str | None = None,
    status: schemas.Status | None = None,
    category: str | None = None,
    event: Id | None = None,
    min_volume: float | None = None,
    closing_before: When | None = None,
    min_price: float | None = None,
    max_price: float | None = None,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[schemas.Market]]:
    """One page of markets; `sort` is a field (volume_24h, liquidity, end_at,
    change_1h, change_24h, change_7d), `-` first for descending."""
    return Call("GET", "/v1/markets", _page(schemas.Market), _clean(locals()))


def market(market_id: Id) -> Call[schemas.Market]:
    return Call("GET", f"/v1/markets/{_seg(market_id)}", _model(schemas.Market))


def outcomes(market_id: Id) -> Call[list[schemas.OutcomeQuote]]:
    def parse(body: Any) -> list[schemas.OutcomeQuote]:
        return [schemas.OutcomeQuote.model_validate(o) for o in body]

    return Call("GET", f"/v1/markets/{_seg(market_id)}/outcomes", parse)


def quote(
    market_id: Id, *, tier: str | None = None, max_age: float | None = None
) -> Call[schemas.MarketPrice]:
    """The market's stored quote: bid, ask and last per outcome, with its age."""
    return Call(
        "GET",
        f"/v1/markets/{_seg(market_id)}/quote",
        _model(schemas.MarketPrice),
        _freshness(tier, max_age),
    )


def price(
    market_id: Id, *, tier: str | None = None, max_age: float | None = None
) -> Call[schemas.MarketPrice]:
    """The market's price, refreshed from the venue first if older than the tier allows."""
    return Call(
        "GET",
        f"/v1/markets/{_seg(market_id)}/price",
        _model(schemas.MarketPrice),
        _freshness(tier, max_age),
    )


def live_price(market_id: Id) -> Call[schemas.MarketPrice]:
    return Call("GET", f"/v1/markets/{_seg(market_id)}/price/live", _model(schemas.MarketPrice))


def prices(
    ids: Sequence[Id], *, tier: str | None = None, max_age: float | None = None
) -> Call[dict[str, schemas.MarketPrice | schemas.PriceErrorEntry]]:
    def parse(body: Any) -> dict[str, schemas.MarketPrice | schemas.PriceErrorEntry]:
        return schemas.BatchPrices.model_validate(body).prices

    payload = {"ids": list(ids), **_freshness(tier, max_age)}
    return Call("POST", "/v1/prices", parse, json=payload)


def history(
    market_id: Id,
    *,
    interval: str | None = None,
    range: str | None = None,  # the API's own name
    start: When | None = None,
    end: When | None = None,
    outcome: int | None = None,
    fill: bool | None = None,
) -> Call[Candles]:
    """Candles: `interval` 1m..1d, over `range` (1h..5y) back from `end`, or from `start`."""
    params = _clean({k: v for k, v in locals().items() if k != "market_id"})
    return Call("GET", f"/v1/markets/{_seg(market_id)}/history", _candles, params)


def trades(
    market_id: Id, *, limit: int | None = None, cursor: str | None = None
) -> Call[Page[schemas.TradeOut]]:
    params = _clean({"limit": limit, "cursor": cursor})
    return Call("GET", f"/v1/markets/{_seg(market_id)}/trades", _page(schemas.TradeOut), params)


def book(market_id: Id, *, at: When | None = None) -> Call[schemas.Books]:
    return Call(
        "GET", f"/v1/markets/{_seg(market_id)}/book", _model(schemas.Books), _clean({"at": at})
    )


def price_at(market_id: Id, at: When) -> Call[schemas.PriceAt]:
    return Call(
        "GET",
        f"/v1/markets/{_seg(market_id)}/price/at",
        _model(schemas.PriceAt),
        _clean({"at": at}),
    )


def events(
    *,
    venue: str | None = None,
    status: schemas.Status | None = None,
    category: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[schemas.Event]]:
    return Call("GET", "/v1/events", _page(schemas.Event), _clean(locals()))


def event(event_id: Id) -> Call[schemas.EventDetail]:
    return Call("GET", f"/v1/events/{_seg(event_id)}", _model(schemas.EventDetail))


def search(
    q: str,
    *,
    venue: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Page[schemas.SearchHit]]:
    """Markets whose question or event title holds the words; `status` may be "any"."""
    return Call("GET", "/v1/search", _page(schemas.SearchHit), _clean(locals()))


def top(
    *, venue: str | None = None, n: int | None = None, min_volume: float | None = None
) -> Call[schemas.TopMarkets]:
    """The top markets per venue and overall by 24 h volume: the first `n` of each (the
    API answers 20 when `n` is not given, and refuses more than 100)."""
    return Call("GET", "/v1/top", _model(schemas.TopMarkets), _clean(locals()))


def venues() -> Call[schemas.Venues]:
    return Call("GET", "/v1/venues", _model(schemas.Venues))


def movers(*, window: str | None = None, limit: int | None = None) -> Call[schemas.Movers]:
    """The largest price moves over `window` (1h, 24h, 7d)."""
    return Call("GET", "/v1/movers", _model(schemas.Movers), _clean(locals()))


def trending(*, limit: int | None = None) -> Call[schemas.Trending]:
    return Call("GET", "/v1/trending", _model(schemas.Trending), _clean(locals()))


def arbitrage(
    *,
    min_edge: float | None = None,
    min_size: float | None = None,
    venue: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Any]:
    """Arbitrage opportunities (status open, best edge first, or closed)."""
    return Call("GET", "/v1/arbitrage", _json, _clean(locals()))


def stats() -> Call[schemas.Stats]:
    return Call("GET", "/v1/stats", _model(schemas.Stats))


def legacy_price(
    condition_id: str, *, max_age_seconds: float | None = None
) -> Call[schemas.LegacyPrice]:
    params = _clean({"conditionId": condition_id, "maxAgeSeconds": max_age_seconds})
    return Call("GET", "/api/polymarket/price", _model(schemas.LegacyPrice), params)


def legacy_prices(
    condition_ids: Sequence[str], *, tier: str | None = None, max_age_seconds: float | None = None
) -> Call[schemas.LegacyBatchPrices]:
    payload = _clean({"conditionIds": list(condition_ids), "tier": tier})
    if max_age_seconds is not None:
        payload["maxAgeSeconds"] = max_age_seconds
    return Call("POST", "/api/markets/prices", _model(schemas.LegacyBatchPrices), json=payload)


def refresh(
    venue: str, *, scope: str = "quotes", ids: Sequence[Id] | None = None
) -> Call[schemas.RefreshResult]:
    """Refresh from the venue now (needs an admin API key)."""
    payload: dict[str, Any] = {"venue": venue, "scope": scope}
    if ids is not None:
        payload["ids"] = list(ids)
    return Call(
        "POST", "/v1/admin/refresh", _model(schemas.RefreshResult), json=payload, retry=False
    )


def matches(
    *,
    status: str | None = None,
    venue: str | None = None,
    min_confidence: float | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[Any]:
    """One page of cross-venue matches (status proposed, confirmed or rejected)."""
    return Call("GET", "/v1/matches", _json, _clean(locals()))


def market_matches(market_id: Id) -> Call[Any]:
    """The matches one market takes part in."""
    return Call("GET", f"/v1/markets/{_seg(market_id)}/matches", _json)


def _decide(match_id: int, decision: str, decided_by: str | None, note: str | None) -> Call[Any]:
    payload = _clean({"decided_by": decided_by, "note": note})
    return Call("POST", f"/v1/matches/{match_id}/{decision}", _json, json=payload, retry=False)


def confirm_match(
    match_id: int, *, decided_by: str | None = None, note: str | None = None
) -> Call[Any]:
    """Confirm a proposed match (needs an admin API key)."""
    return _decide(match_id, "confirm", decided_by, note)


def reject_match(
    match_id: int, *, decided_by: str | None = None, note: str | None = None
) -> Call[Any]:
    """Reject a proposed match (needs an admin API key)."""
    return _decide(match_id, "reject", decided_by, note)


# ---------------------------------------------------------------- research, accounts and the database


def research(
    market_id: Id,
    *,
    type: str | None = None,
    since: When | None = None,
    until: When | None = None,
    limit: int | None = None,
) -> Call[Any]:
    """A market's research, newest first (expired research is not served)."""
    params = _clean({"type": type, "since": since, "until": until, "limit": limit})
    return Call("GET", f"/v1/markets/{_seg(market_id)}/research", _json, params)


def add_research(
    market_id: Id,
    research_data: str,
    *,
    research_type: str | None = None,
    sources: list[Any] | None = None,
    expires_at: When | None = None,
    ttl_seconds: float | None = None,
) -> Call[Any]:
    """Keep research gathered for a market (needs a key allowed to write research)."""
    payload = _body(
        {
            "research_data": research_data,
            "research_type": research_type,
            "sources": sources,
            "expires_at": expires_at,
            "ttl_seconds": ttl_seconds,
        }
    )
    return Call("POST", f"/v1/markets/{_seg(market_id)}/research", _json, json=payload, retry=False)


def research_item(research_id: str) -> Call[Any]:
    """One piece of research (410 once it has expired)."""
    return Call("GET", f"/v1/research/{_seg(research_id)}", _json)


def analyses(
    market_id: Id,
    *,
    recommendation: str | None = None,
    since: When | None = None,
    until: When | None = None,
    archived: bool | None = None,
    limit: int | None = None,
) -> Call[Any]:
    """A market's analyses (archived=True reads the archive)."""
    params = _clean(
        {
            "recommendation": recommendation,
            "since": since,
            "until": until,
            "archived": archived,
            "limit": limit,
        }
    )
    return Call("GET", f"/v1/markets/{_seg(market_id)}/analyses", _json, params)


def add_analysis(
    market_id: Id,
    query_text: str,
    *,
    analysis_result: dict[str, Any] | None = None,
    confidence_score: float | None = None,
    recommendation: str | None = None,
    processing_time_ms: int | None = None,
    llm_tokens_used: int | None = None,
    research_id: str | None = None,
    conclusion: dict[str, Any] | None = None,
) -> Call[Any]:
    """Record an analysis of a market (needs a key allowed to write research)."""
    payload = _body(
        {
            "query_text": query_text,
            "analysis_result": analysis_result,
            "confidence_score": confidence_score,
            "recommendation": recommendation,
            "processing_time_ms": processing_time_ms,
            "llm_tokens_used": llm_tokens_used,
            "research_id": research_id,
            "conclusion": conclusion,
        }
    )
    return Call("POST", f"/v1/markets/{_seg(market_id)}/analyses", _json, json=payload, retry=False)


def analysis(analysis_id: str) -> Call[Any]:
    """One analysis with its conclusion."""
    return Call("GET", f"/v1/analyses/{_seg(analysis_id)}", _json)


def add_conclusion(
    analysis_id: str,
    conclusion: str,
    *,
    sentiment: str | None = None,
    supporting_data: dict[str, Any] | None = None,
) -> Call[Any]:
    """The one conclusion of an analysis (a second is refused with 409)."""
    payload = _body(
        {
            "conclusion": conclusion,
            "sentiment": sentiment,
            "supporting_data": supporting_data,
        }
    )
    return Call(
        "POST", f"/v1/analyses/{_seg(analysis_id)}/conclusion", _json, json=payload, retry=False
    )


def accounts() -> Call[Any]:
    """Every account with its level (admin key)."""
    return Call("GET", "/v1/admin/accounts", _json)


def create_account(name: str, *, level: str | None = None) -> Call[Any]:
    """Create an account at a level (admin key)."""
    payload = _body({"name": name, "level": level})
    return Call("POST", "/v1/admin/accounts", _json, json=payload, retry=False)


def set_account_level(name: str, level: str) -> Call[Any]:
    """Change an account's level (admin key)."""
    payload = _body({"level": level})
    return Call("PATCH", f"/v1/admin/accounts/{_seg(name)}", _json, json=payload, retry=False)


def keys(*, account: str | None = None, revoked: bool | None = None) -> Call[Any]:
    """API keys, never their secrets (admin key)."""
    params = _clean({"account": account, "revoked": revoked})
    return Call("GET", "/v1/admin/keys", _json, params)


def create_key(
    account: str,
    *,
    name: str | None = None,
    level: str | None = None,
    expires_at: When | None = None,
) -> Call[Any]:
    """A new API key for an account; its secret is in this answer only (admin key)."""
    payload = _body(
        {
            "account": account,
            "name": name,
            "level": level,
            "expires_at": expires_at,
        }
    )
    return Call("POST", "/v1/admin/keys", _json, json=payload, retry=False)


def revoke_key(key: str) -> Call[Any]:
    """Revoke an API key (admin key)."""
    return Call("DELETE", f"/v1/admin/keys/{_seg(key)}", _json, retry=False)


def audit(
    *,
    account: str | None = None,
    route: str | None = None,
    object: str | None = None,
    status: int | None = None,
    errors: bool | None = None,
    since: When | None = None,
    until: When | None = None,
    before: int | None = None,
    limit: int | None = None,
) -> Call[Any]:
    """The audit log of writes and admin actions, newest first (admin key)."""
    params = _clean(
        {
            "account": account,
            "route": route,
            "object": object,
            "status": status,
            "errors": errors,
            "since": since,
            "until": until,
            "before": before,
            "limit": limit,
        }
    )
    return Call("GET", "/v1/admin/audit", _json, params)


def database(*, top: int | None = None, long_seconds: float | None = None) -> Call[Any]:
    """The database's sizes, slow statements, connections and backups (admin key)."""
    params = _clean({"top": top, "long_seconds": long_seconds})
    return Call("GET", "/v1/admin/db", _json, params)


def status() -> Call[schemas.HubStatus]:
    """Per venue: budget use, jobs, sync errors, quarantine, freshness; the database's size."""
    return Call("GET", "/v1/status", _model(schemas.HubStatus))


def healthz() -> Call[schemas.Health]:
    return Call("GET", "/healthz", _model(schemas.Health))


def readyz() -> Call[schemas.Health]:
    return Call("GET", "/readyz", _model(schemas.Health))


# (method, path template) of every route the client covers; see the module docstring.
ROUTES: dict[str, tuple[str, str]] = {
    "markets": ("GET", "/v1/markets"),
    "market": ("GET", "/v1/markets/{market_id}"),
    "outcomes": ("GET", "/v1/markets/{market_id}/outcomes"),
    "quote": ("GET", "/v1/markets/{market_id}/quote"),
    "price": ("GET", "/v1/markets/{market_id}/price"),
    "live_price": ("GET", "/v1/markets/{market_id}/price/live"),
    "prices": ("POST", "/v1/prices"),
    "history": ("GET", "/v1/markets/{market_id}/history"),
    "trades": ("GET", "/v1/markets/{market_id}/trades"),
    "book": ("GET", "/v1/markets/{market_id}/book"),
    "price_at": ("GET", "/v1/markets/{market_id}/price/at"),
    "events": ("GET", "/v1/events"),
    "event": ("GET", "/v1/events/{event_id}"),
    "search": ("GET", "/v1/search"),
    "top": ("GET", "/v1/top"),
    "venues": ("GET", "/v1/venues"),
    "movers": ("GET", "/v1/movers"),
    "trending": ("GET", "/v1/trending"),
    "arbitrage": ("GET", "/v1/arbitrage"),
    "stats": ("GET", "/v1/stats"),
    "legacy_price": ("GET", "/api/polymarket/price"),
    "legacy_prices": ("POST", "/api/markets/prices"),
    "refresh": ("POST", "/v1/admin/refresh"),
    "matches": ("GET", "/v1/matches"),
    "market_matches": ("GET", "/v1/markets/{market_id}/matches"),
    "confirm_match": ("POST", "/v1/matches/{match_id}/confirm"),
    "reject_match": ("POST", "/v1/matches/{match_id}/reject"),
    "research": ("GET", "/v1/markets/{market_id}/research"),
    "add_research": ("POST", "/v1/markets/{market_id}/research"),
    "research_item": ("GET", "/v1/research/{research_id}"),
    "analyses": ("GET", "/v1/markets/{market_id}/analyses"),
    "add_analysis": ("POST", "/v1/markets/{market_id}/analyses"),
    "analysis": ("GET", "/v1/analyses/{analysis_id}"),
    "add_conclusion": ("POST", "/v1/analyses/{analysis_id}/conclusion"),
    "accounts": ("GET", "/v1/admin/accounts"),
    "create_account": ("POST", "/v1/admin/accounts"),
    "set_account_level": ("PATCH", "/v1/admin/accounts/{name}"),
    "keys": ("GET", "/v1/admin/keys"),
    "create_key": ("POST", "/v1/admin/keys"),
    "revoke_key": ("DELETE", "/v1/admin/keys/{key}"),
    "audit": ("GET", "/v1/admin/audit"),
    "database": ("GET", "/v1/admin/db"),
    "status": ("GET", "/v1/status"),
    "healthz": ("GET", "/healthz"),
    "readyz": ("GET", "/readyz"),
}
