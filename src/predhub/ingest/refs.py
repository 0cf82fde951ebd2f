"""Reading back what silver holds about markets, in the form venues address them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from predhub.db.queries import load
from predhub.models import Market
from predhub.venues.base import MarketRef, OutcomeRef

_Q = load("ingest")


@dataclass(slots=True, frozen=True)
class HeldMarket:
    """A silver market with its venue address and sync state."""

    id: int
    ref: MarketRef
    status: str
    trades_watermark: str | None


async def held_markets(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, market_ids: Sequence[int]
) -> list[HeldMarket]:
    """The requested markets of `venue`, in the order asked; unknown ids are skipped."""
    rows = await conn.fetch(_Q.held_markets, venue, list(market_ids))
    by_id = {
        r["id"]: HeldMarket(
            id=r["id"],
            ref=MarketRef(
                native_id=r["native_id"],
                outcomes=tuple(
                    OutcomeRef(index=i, token_id=t)
                    for i, t in zip(r["idx"], r["tokens"], strict=True)
                ),
                condition_id=r["condition_id"],
                ticker=r["ticker"],
                slug=r["slug"],
                event_native_id=r["event_native_id"],
            ),
            status=r["status"],
            trades_watermark=r["trades_watermark"],
        )
        for r in rows
    }
    return [by_id[i] for i in dict.fromkeys(market_ids) if i in by_id]


def ref_of(market: Market) -> MarketRef:
    """The address of a market just parsed from a venue."""
    return MarketRef(
        native_id=market.native_id,
        outcomes=tuple(OutcomeRef(index=o.index, token_id=o.token_id) for o in market.outcomes),
        condition_id=market.condition_id,
        ticker=market.ticker,
        slug=market.slug,
        event_native_id=market.event_native_id,
    )


async def ids_by_native(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, native_ids: Sequence[str]
) -> dict[str, int]:
    rows = await conn.fetch(
        _Q.market_ids_by_native,
        venue,
        list(native_ids),
    )
    return {r["native_id"]: r["id"] for r in rows}
