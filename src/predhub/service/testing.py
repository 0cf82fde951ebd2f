"""Helpers that put markets straight into silver, for tests and benchmarks.

They write exactly the rows ingestion writes (market, outcomes, quotes), so the
service and API can be exercised against a real database before, or without,
a venue; they are not used by the running hub.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from predhub.db.queries import load
from predhub.venues.descriptor import venue_names
from predhub.venues.errors import RetriableError

_Q = load("service_testing")


@dataclass
class SeedMarket:
    venue: str = field(default_factory=lambda: venue_names()[0])
    native_id: str = "m1"
    question: str = "Will it rain tomorrow?"
    status: str = "open"
    condition_id: str | None = None
    ticker: str | None = None
    slug: str | None = None
    category: str | None = None
    description: str | None = None
    event_native_id: str | None = None
    event_title: str | None = None
    volume_24h: float | None = 1000.0
    volume_total: float | None = 10000.0
    liquidity: float | None = 500.0
    end_at: datetime | None = None
    outcomes: Sequence[str] = ("Yes", "No")
    token_ids: Sequence[str | None] | None = None
    prices: Sequence[float] | None = (0.6, 0.4)
    synced_ago: float | None = 0.0  # seconds since the last quote fetch; None: never
    winning_outcome: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def _event_id(conn: asyncpg.Connection, m: SeedMarket) -> int | None:
    if m.event_native_id is None:
        return None
    row = await conn.fetchval(
        _Q.upsert_event,
        m.venue,
        m.event_native_id,
        m.event_title or m.event_native_id,
        m.category,
    )
    return int(row)


async def seed_market(conn: asyncpg.Connection, m: SeedMarket) -> int:
    """Insert one market with its outcomes and quotes; returns our market id."""
    now = datetime.now(UTC)
    synced_at = None if m.synced_ago is None else now - timedelta(seconds=m.synced_ago)
    event_id = await _event_id(conn, m)
    market_id = await conn.fetchval(
        _Q.insert_market,
        m.venue,
        m.native_id,
        m.question,
        m.status,
        m.condition_id,
        m.ticker,
        m.slug,
        m.category,
        m.description,
        event_id,
        m.event_native_id,
        m.event_title,
        _dec(m.volume_24h),
        _dec(m.volume_total),
        _dec(m.liquidity),
        m.end_at,
        m.winning_outcome,
        now,
        orjson.dumps(m.extra).decode(),  # as text: any connection, with or without codecs
    )
    if synced_at is not None:
        await conn.execute(_Q.stamp_market_synced, market_id, synced_at)
    tokens = list(m.token_ids) if m.token_ids is not None else [None] * len(m.outcomes)
    for idx, label in enumerate(m.outcomes):
        outcome_id = await conn.fetchval(
            _Q.insert_outcome,
            market_id,
            idx,
            label,
            tokens[idx],
        )
        if m.prices is not None and synced_at is not None:
            price = Decimal(str(m.prices[idx]))
            await conn.execute(
                _Q.insert_quote,
                outcome_id,
                market_id,
                max(Decimal(0), price - Decimal("0.01")),
                min(Decimal(1), price + Decimal("0.01")),
                price,
                synced_at,
            )
    return int(market_id)


async def write_quote(
    conn: asyncpg.Connection, market_id: int, prices: Sequence[float], *, notify: bool = True
) -> None:
    """What ingestion does after fetching quotes: upsert them, stamp the market, notify."""
    now = datetime.now(UTC)
    async with conn.transaction():
        outcomes = await conn.fetch(_Q.outcomes_of_market, market_id)
        for row in outcomes:
            price = Decimal(str(prices[row["idx"]]))
            await conn.execute(
                _Q.upsert_quote,
                row["id"],
                market_id,
                price,
                now,
            )
        await conn.execute(_Q.stamp_quotes_synced, market_id, now)
        if notify:
            await conn.execute(_Q.notify_quotes, str(market_id))


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


class WritingRefresher:
    """Ingestion's side of the refresh contract, against the real database.

    It writes what a venue fetch would (quotes, `quotes_synced_at`, NOTIFY) and
    counts the batch calls it was asked for; `fail` stands for a venue outage.
    Tests of the service's own logic use it; end-to-end tests use the real
    ingestion pipeline on the simulator.
    """

    def __init__(self, pool: asyncpg.Pool, *, latency: float = 0.05) -> None:
        self.pool = pool
        self.latency = latency
        self.calls: list[tuple[str, list[int]]] = []
        self.fail: str | None = None
        self.price = 0.7

    async def refresh_quotes(self, venue: str, market_ids: Sequence[int]) -> None:
        self.calls.append((venue, list(market_ids)))
        await asyncio.sleep(self.latency)
        if self.fail is not None:
            raise RetriableError(self.fail)
        async with self.pool.acquire() as conn:
            for market_id in market_ids:
                await write_quote(conn, market_id, [self.price, round(1 - self.price, 4)])

    async def refresh_markets(self, venue: str, market_ids: Sequence[int]) -> None:
        await self.refresh_quotes(venue, market_ids)

    async def discover(self, venue: str, key: str) -> list[int]:
        """The markets seeded so far are all this venue has: a never-seen id is unknown."""
        self.calls.append((venue, []))
        await asyncio.sleep(self.latency)
        if self.fail is not None:
            raise RetriableError(self.fail)
        return []

    async def close(self) -> None:
        return None
