"""Checks an item must pass before silver: what the schema would reject, caught per item.

Adapters already turn malformed venue items into `DataError`s; these checks
guard the database's own constraints (prices in [0, 1], required text, no NUL
characters) so that one bad item is quarantined instead of failing its batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from predhub.models import (
    DataError,
    Event,
    Market,
    MarketStatus,
    OrderBook,
    PricePoint,
    Quote,
    Trade,
)

T = TypeVar("T")
_STATUSES = {s.value for s in MarketStatus}
_ZERO, _ONE = Decimal(0), Decimal(1)


def _probability(name: str, value: Decimal | None) -> str | None:
    if value is None:
        return None
    if not value.is_finite() or not (0 <= value <= 1):
        return f"{name} {value} is not a probability in [0, 1]"
    return None


def _text(name: str, value: str | None, *, required: bool = False) -> str | None:
    if value is None or value == "":
        return f"{name} is missing" if required else None
    if "\x00" in value:
        return f"{name} contains a NUL character"
    return None


def _first(*problems: str | None) -> str | None:
    return next((p for p in problems if p), None)


def check_event(e: Event) -> str | None:
    return _first(
        _text("native_id", e.native_id, required=True),
        _text("title", e.title, required=True),
        None if str(e.status) in _STATUSES else f"unknown status {e.status!r}",
    )


def _market_ok(m: Market) -> bool:
    """Whether `m` passes every check of `check_market`, by a few comparisons.

    Markets come by the ten thousand a listing: the common, valid case is let
    through without building the per-check messages (as `check_trade` does).
    """
    native_id, question, description = m.native_id, m.question, m.description
    if not (
        native_id
        and question
        and "\x00" not in native_id
        and "\x00" not in question
        and (not description or "\x00" not in description)
        and m.status in _STATUSES
    ):
        return False
    seen: set[int] = set()
    for o in m.outcomes:
        price = o.price
        if (
            not o.label
            or o.index in seen
            or (price is not None and not (price.is_finite() and _ZERO <= price <= _ONE))
        ):
            return False
        seen.add(o.index)
    for price in (m.best_bid, m.best_ask, m.last_price):
        if price is not None and not (price.is_finite() and _ZERO <= price <= _ONE):
            return False
    return True


def check_market(m: Market) -> str | None:
    return None if _market_ok(m) else market_problem(m)


def market_problem(m: Market) -> str | None:
    """The first problem of `m`, checked one by one (what `check_market` reports)."""
    indexes = [o.index for o in m.outcomes]
    return _first(
        _text("native_id", m.native_id, required=True),
        _text("question", m.question, required=True),
        _text("description", m.description),
        None if str(m.status) in _STATUSES else f"unknown status {m.status!r}",
        None if len(indexes) == len(set(indexes)) else "duplicate outcome index",
        next((f"outcome {o.index} has no label" for o in m.outcomes if not o.label), None),
        next(
            (p for o in m.outcomes if (p := _probability(f"outcome {o.index} price", o.price))),
            None,
        ),
        _probability("best_bid", m.best_bid),
        _probability("best_ask", m.best_ask),
        _probability("last_price", m.last_price),
    )


def check_quote(q: Quote) -> str | None:
    return _first(
        _text("market_native_id", q.market_native_id, required=True),
        _probability("best_bid", q.best_bid),
        _probability("best_ask", q.best_ask),
        _probability("mid", q.mid),
        _probability("last", q.last),
        _probability("price", q.price),
    )


def check_trade(t: Trade) -> str | None:
    # Trades come by the hundred thousand: let the common, valid case through
    # with a few comparisons before building the per-check messages.
    price, size = t.price, t.size
    if (
        t.trade_key
        and t.market_native_id
        and "\x00" not in t.trade_key
        and "\x00" not in t.market_native_id
        and (price is None or (price.is_finite() and 0 <= price <= 1))
        and size is not None
        and size.is_finite()
        and size >= 0
        and t.executed_at is not None
    ):
        return None
    return _first(
        _text("trade_key", t.trade_key, required=True),
        _text("market_native_id", t.market_native_id, required=True),
        _probability("price", t.price),
        None if t.size is not None and t.size.is_finite() and t.size >= 0 else "bad size",
        None if t.executed_at is not None else "executed_at is missing",
    )


def check_point(p: PricePoint) -> str | None:
    return _first(
        _text("market_native_id", p.market_native_id, required=True),
        _probability("price", p.price) if p.price is not None else "price is missing",
    )


def check_book(b: OrderBook) -> str | None:
    for side, levels in (("bid", b.bids), ("ask", b.asks)):
        for level in levels:
            problem = _probability(f"{side} price", level.price)
            if problem:
                return problem
    return _text("market_native_id", b.market_native_id, required=True)


def partition(
    items: Iterable[T],
    check: Callable[[T], str | None],
    *,
    item_id: Callable[[T], str | None],
    endpoint: str = "",
) -> tuple[list[T], list[DataError]]:
    """Split items into those that pass `check` and `DataError`s for the rest."""
    good: list[T] = []
    bad: list[DataError] = []
    for item in items:
        problem = check(item)
        if problem is None:
            good.append(item)
        else:
            bad.append(rejected(item, problem, item_id=item_id(item), endpoint=endpoint))
    return good, bad


def rejected(item: Any, reason: str, *, item_id: str | None, endpoint: str = "") -> DataError:
    """A `DataError` for a parsed item that silver cannot take."""
    raw = getattr(item, "raw", None)
    return DataError(
        venue=getattr(item, "venue", ""),
        endpoint=raw.endpoint if raw is not None else endpoint,
        item_id=item_id,
        reason=reason,
        item=_describe(item),
        raw=raw,
    )


def _describe(item: Any) -> Any:
    slots: Sequence[str] = getattr(item, "__slots__", ())
    if not slots:
        return item
    return {name: getattr(item, name) for name in slots if name != "raw"}
