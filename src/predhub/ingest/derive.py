"""Quotes implied by other responses: a listing's prices, a book's best levels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from predhub.models import Market, OrderBook, Quote


def listing_quotes(market: Market) -> list[Quote]:
    """The prices a market listing carries, as partial quotes.

    Only the first (YES) outcome takes the listing's best bid/ask/last; the
    others take their display price alone, so a listing never invents book
    prices that the batch quote endpoints would then contradict.
    """
    observed = market.raw.fetched_at if market.raw else market.updated_at or datetime.now(UTC)
    out: list[Quote] = []
    for o in market.outcomes:
        yes = o.index == 0
        q = Quote(
            venue=market.venue,
            market_native_id=market.native_id,
            outcome_index=o.index,
            observed_at=observed,
            token_id=o.token_id,
            best_bid=market.best_bid if yes else None,
            best_ask=market.best_ask if yes else None,
            last=market.last_price if yes else None,
            price=o.price,
            raw=market.raw,
        )
        if any(v is not None for v in (q.best_bid, q.best_ask, q.last, q.price)):
            out.append(q)
    return out


def book_quote(book: OrderBook) -> Quote | None:
    """The best bid and ask of a book, as a partial quote."""
    if book.best_bid is None and book.best_ask is None:
        return None
    return book.quote()


def fold_quotes(quotes: Iterable[Quote]) -> list[Quote]:
    """Partial quotes of the same outcome, in the order they were said, as one each.

    The writer keeps one row per outcome from a batch (the last), so a stream's
    `price_change` (bid and ask) followed by its `last_trade_price` (last only)
    would lose the bid and ask; folded, each price is the last one said.
    """
    out: dict[tuple[str, str, int], Quote] = {}
    for q in quotes:
        key = (q.venue, q.market_native_id, q.outcome_index)
        prev = out.get(key)
        if prev is None:
            out[key] = q
            continue
        out[key] = replace(
            q,
            token_id=q.token_id or prev.token_id,
            best_bid=prev.best_bid if q.best_bid is None else q.best_bid,
            best_ask=prev.best_ask if q.best_ask is None else q.best_ask,
            mid=prev.mid if q.mid is None else q.mid,
            last=prev.last if q.last is None else q.last,
            price=prev.price if q.price is None else q.price,
            raw=q.raw or prev.raw,
        )
    return list(out.values())


def stream_quotes(books: Iterable[OrderBook], quotes: Iterable[Quote]) -> list[Quote]:
    """One stream message's quotes in the order they hold: its books' best levels, then
    the quotes it states outright."""
    return [*(q for b in books if (q := book_quote(b)) is not None), *quotes]
