"""Quotes implied by other responses: a listing's prices, a book's best levels."""

from __future__ import annotations

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
