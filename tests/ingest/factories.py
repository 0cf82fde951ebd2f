"""Hand-built unified model objects for the writer tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from predhub.models import Market, Outcome, Quote, RawResponse, Trade

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def raw(endpoint: str = "/markets", body: Any = None, **params: Any) -> RawResponse:
    return RawResponse(
        venue="polymarket",
        endpoint=endpoint,
        params=params,
        status=200,
        fetched_at=T0,
        body=body if body is not None else {"page": params},
    )


def market(i: int, *, question: str | None = None, page: RawResponse | None = None) -> Market:
    return Market(
        venue="polymarket",
        native_id=f"m{i}",
        question=question or f"Will thing {i} happen?",
        outcomes=[
            Outcome(0, "Yes", token_id=f"t{i}y", price=Decimal("0.4")),
            Outcome(1, "No", token_id=f"t{i}n", price=Decimal("0.6")),
        ],
        event_native_id=f"e{i // 10}",
        event_title=f"Event {i // 10}",
        condition_id=f"0xc{i}",
        slug=f"thing-{i}",
        end_at=T0 + timedelta(days=30),
        volume_24h=Decimal(i * 10),
        extra={"n": i},
        raw=page,
    )


def quote(i: int, idx: int, price: str, *, page: RawResponse | None = None) -> Quote:
    p = Decimal(price)
    return Quote(
        venue="polymarket",
        market_native_id=f"m{i}",
        outcome_index=idx,
        observed_at=T0,
        best_bid=p - Decimal("0.01"),
        best_ask=p + Decimal("0.01"),
        price=p,
        raw=page,
    )


def trade(i: int, k: int, *, page: RawResponse | None = None) -> Trade:
    return Trade(
        venue="polymarket",
        market_native_id=f"m{i}",
        trade_key=f"tx{i}-{k}",
        price=Decimal("0.5"),
        size=Decimal(k + 1),
        executed_at=T0 + timedelta(seconds=k),
        outcome_index=k % 2,
        side="buy",
        raw=page,
    )
