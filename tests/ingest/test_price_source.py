"""The served price is coherent with the served bid and ask, or labelled otherwise.

Writers carry different parts of a quote (a listing's display price, a book's
best bid and ask, a stream's last trade) and merge into one row; the price is
derived from the merged row by the venue's display rule, with `price_source`
naming the rule, whichever writer came last.
"""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from ingest.factories import T0, market
from predhub.ingest.derive import fold_quotes, stream_quotes
from predhub.ingest.store import Batch, write_batch
from predhub.models import BookLevel, Market, OrderBook, Quote
from predhub.service.payload import market_document
from predhub.service.queries import MARKET_SNAPSHOTS


def _quote(
    venue: str,
    *,
    bid: str | None = None,
    ask: str | None = None,
    last: str | None = None,
    price: str | None = None,
) -> Quote:
    def dec(v: str | None) -> Decimal | None:
        return None if v is None else Decimal(v)

    return Quote(
        venue=venue,
        market_native_id="m1",
        outcome_index=0,
        observed_at=T0,
        best_bid=dec(bid),
        best_ask=dec(ask),
        last=dec(last),
        price=dec(price),
    )


async def _market(conn: asyncpg.Connection, venue: str) -> int:
    m: Market = market(1)
    m.venue = venue
    await _write(conn, Batch(markets=[m]))
    market_id = await conn.fetchval("SELECT id FROM silver.markets WHERE venue = $1", venue)
    return int(market_id)


async def _served(conn: asyncpg.Connection, market_id: int) -> dict[str, object]:
    row = await conn.fetchrow(MARKET_SNAPSHOTS, [market_id])
    assert row is not None
    outcome: dict[str, object] = market_document(row)["outcomes"][0]
    return outcome


async def _write(conn: asyncpg.Connection, batch: Batch) -> None:
    async with conn.transaction():  # the writers stage rows in temporary tables
        await write_batch(conn, batch, fetched_at=T0)


async def test_a_fresh_book_next_to_an_older_listing_price_re_derives_the_price(
    conn: asyncpg.Connection,
) -> None:
    market_id = await _market(conn, "polymarket")
    # Right after start: the listing's price, then the book the scheduler fetched.
    await _write(conn, Batch(fill_quotes=[_quote("polymarket", price="0.65", last="0.65")]))
    await _write(conn, Batch(partial_quotes=[_quote("polymarket", bid="0.66", ask="0.70")]))
    served = await _served(conn, market_id)
    assert served["best_bid"] == 0.66 and served["best_ask"] == 0.70
    assert served["price"] == 0.68
    assert served["price_source"] == "mid"


async def test_polymarket_shows_the_last_trade_past_a_10c_spread(
    conn: asyncpg.Connection,
) -> None:
    market_id = await _market(conn, "polymarket")
    await _write(conn, Batch(quotes=[_quote("polymarket", bid="0.40", ask="0.55", last="0.45")]))
    served = await _served(conn, market_id)
    assert (served["price"], served["price_source"]) == (0.45, "last_trade")
    # The spread narrows to 10c: the midpoint again.
    await _write(conn, Batch(partial_quotes=[_quote("polymarket", bid="0.40", ask="0.48")]))
    served = await _served(conn, market_id)
    assert (served["price"], served["price_source"]) == (0.44, "mid")
    assert served["best_bid"] == 0.40 and served["best_ask"] == 0.48


async def test_other_venues_show_the_midpoint_whenever_both_sides_are_quoted(
    conn: asyncpg.Connection,
) -> None:
    market_id = await _market(conn, "kalshi")
    await _write(conn, Batch(quotes=[_quote("kalshi", bid="0.20", ask="0.60", last="0.90")]))
    served = await _served(conn, market_id)
    assert (served["price"], served["price_source"]) == (0.40, "mid")


async def test_a_price_without_a_book_is_labelled_as_the_venues_display_or_last_trade(
    conn: asyncpg.Connection,
) -> None:
    market_id = await _market(conn, "polymarket")
    await _write(conn, Batch(quotes=[_quote("polymarket", price="0.33")]))
    served = await _served(conn, market_id)
    assert (served["price"], served["price_source"]) == (0.33, "display")
    # One side of the book and a last trade: the last trade, labelled.
    await _write(conn, Batch(quotes=[_quote("polymarket", bid="0.30", last="0.36")]))
    served = await _served(conn, market_id)
    assert (served["price"], served["price_source"]) == (0.36, "last_trade")


async def test_a_stream_owns_its_markets_quotes_until_it_gives_them_back(
    conn: asyncpg.Connection,
) -> None:
    """While a live stream owns a market's quotes, a REST answer (which may have been
    fetched before the stream's last message) does not overwrite them; the stream's own
    messages do; once the ownership lapses or a resync clears it, REST writes again."""
    market_id = await _market(conn, "kalshi")
    await _write(conn, Batch(partial_quotes=[_quote("kalshi", bid="0.40", ask="0.44")]))
    await conn.execute(
        "UPDATE silver.market_sync SET quotes_streamed_until = now() + interval '1 minute'"
        " WHERE market_id = $1",
        market_id,
    )
    await _write(conn, Batch(partial_quotes=[_quote("kalshi", bid="0.30", ask="0.34")]))
    await _write(conn, Batch(quotes=[_quote("kalshi", bid="0.31", ask="0.35")]))
    served = await _served(conn, market_id)
    assert (served["best_bid"], served["best_ask"]) == (0.40, 0.44)  # REST left it alone
    await _write(
        conn, Batch(partial_quotes=[_quote("kalshi", bid="0.41", ask="0.45")], streamed=True)
    )
    served = await _served(conn, market_id)
    assert (served["best_bid"], served["best_ask"]) == (0.41, 0.45)  # the stream writes
    await conn.execute(
        "UPDATE silver.market_sync SET quotes_streamed_until = now() - interval '1 second'"
        " WHERE market_id = $1",
        market_id,
    )
    await _write(conn, Batch(partial_quotes=[_quote("kalshi", bid="0.30", ask="0.34")]))
    served = await _served(conn, market_id)
    assert (served["best_bid"], served["best_ask"]) == (0.30, 0.34)  # lapsed: REST writes


def test_a_batch_of_stream_messages_keeps_every_price_each_message_said() -> None:
    """A price change (bid, ask) then a last trade (last only) of the same outcome, in one
    batch: both survive (the writer keeps one row per outcome from a batch); a book's best
    levels give way to a quote the same message states, and a later book wins again."""
    change = _quote("polymarket", bid="0.41", ask="0.43")
    trade = _quote("polymarket", last="0.42")
    (folded,) = fold_quotes([change, trade])
    assert (folded.best_bid, folded.best_ask, folded.last) == (
        Decimal("0.41"),
        Decimal("0.43"),
        Decimal("0.42"),
    )
    book = OrderBook(
        "polymarket", "m1", 0, T0, [BookLevel(Decimal("0.40"), Decimal(5))], [], token_id="t"
    )
    (said,) = fold_quotes(stream_quotes([book], [change]))
    assert said.best_bid == Decimal("0.41")
    (later,) = fold_quotes([*stream_quotes([], [change]), *stream_quotes([book], [])])
    assert later.best_bid == Decimal("0.40") and later.best_ask == Decimal("0.43")
