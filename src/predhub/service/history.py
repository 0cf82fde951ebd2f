"""A market's history, read for the API: candles, trades, order books, prices at a time.

These reads are plain database reads (history never needs a venue refresh);
they live in the service so that the API layer never talks to the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import asyncpg

from predhub.db.queries import load
from predhub.service import candles, export
from predhub.service.payload import iso, number

_Q = load("service_history")


@dataclass(frozen=True, slots=True)
class Candle:
    t: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    points: int


@dataclass(frozen=True, slots=True)
class Trade:
    id: int
    market_id: int
    trade_key: str | None
    outcome: int | None
    price: Decimal | None
    size: Decimal | None
    side: str | None
    executed_at: datetime
    tx_hash: str | None

    @classmethod
    def from_row(cls, row: asyncpg.Record, market_id: int | None = None) -> Trade:
        return cls(
            id=int(row["id"]),
            market_id=int(row["market_id"]) if market_id is None else market_id,
            trade_key=row["trade_key"],
            outcome=row["outcome"],
            price=row["price"],
            size=row["size"],
            side=row["side"],
            executed_at=row["executed_at"],
            tx_hash=row["tx_hash"],
        )

    def document(self) -> dict[str, Any]:
        """The trade as the API and the WebSocket feed show it."""
        return {
            "id": self.id,
            "trade_key": self.trade_key,
            "outcome": self.outcome,
            "price": number(self.price),
            "size": number(self.size),
            "side": self.side,
            "executed_at": iso(self.executed_at),
            "tx_hash": self.tx_hash,
        }


@dataclass(frozen=True, slots=True)
class Book:
    outcome: int
    observed_at: datetime
    best_bid: Decimal | None
    best_ask: Decimal | None
    bids: object  # levels as stored: [[price, size], ...] or [{"price", "size"}, ...]
    asks: object


@dataclass(frozen=True, slots=True)
class PriceAt:
    """An outcome's price at a time: from history first, its last trade second."""

    outcome: int
    price: Decimal | None
    ts: datetime | None
    source: Literal["history", "trades", "none"]


class HistoryReads:
    """History reads of `MarketDataService` (needs its `pool` and `read_pool`).

    Reads go to `read_pool` (a replica when one is fit); those that follow a
    notification from the primary, or decide access, read the primary itself.
    """

    pool: asyncpg.Pool

    @property
    def read_pool(self) -> asyncpg.Pool:
        raise NotImplementedError

    async def candles(
        self,
        market_id: int,
        *,
        interval: str,
        outcome: int,
        start: datetime,
        end: datetime,
        fill: bool = False,
    ) -> list[Candle]:
        """The outcome's candles over [start, end) (see `predhub.service.candles`)."""
        found = await candles.candles(
            self.read_pool, market_id, outcome, interval, start, end, fill=fill
        )
        return [
            Candle(c["t"], c["open"], c["high"], c["low"], c["close"], c["volume"], c["points"])
            for c in found
        ]

    def export_trades(self, market_id: int, fmt: export.Format) -> AsyncIterator[bytes]:
        """All of a market's trades, newest first, streamed in `fmt` (see `export`)."""
        return export.encode_copy(self.read_pool, export.market_trades(market_id), fmt)

    async def trades(
        self, market_id: int, *, limit: int, before: tuple[datetime, int] | None = None
    ) -> list[Trade]:
        """Up to `limit` trades, newest first, older than the `before` keyset when given."""
        if before is None:
            rows = await self.read_pool.fetch(_Q.trades_page, market_id, limit)
        else:
            rows = await self.read_pool.fetch(_Q.trades_page_after, market_id, limit, *before)
        return [Trade.from_row(r, market_id) for r in rows]

    async def books(self, market_id: int, at: datetime | None = None) -> list[Book]:
        if at is None:
            rows = await self.read_pool.fetch(_Q.books, market_id)
        else:
            rows = await self.read_pool.fetch(_Q.books_at, market_id, at)
        return [
            Book(r["idx"], r["observed_at"], r["best_bid"], r["best_ask"], r["bids"], r["asks"])
            for r in rows
        ]

    async def prices_at(self, market_id: int, at: datetime) -> list[PriceAt]:
        return [
            PriceAt(r["idx"], r["price"], r["ts"], r["source"] or "none")
            for r in await candles.price_at(self.read_pool, market_id, at)
        ]

    async def trades_after(self, marks: dict[int, int]) -> list[Trade]:
        """New trades of each market after the trade id it maps to, oldest first."""
        ids = sorted(marks)
        rows = await self.pool.fetch(_Q.trades_after, ids, [marks[i] for i in ids])
        return [Trade.from_row(r) for r in rows]

    async def last_trade_id(self, market_id: int) -> int:
        return int(await self.pool.fetchval(_Q.last_trade_id, market_id))
