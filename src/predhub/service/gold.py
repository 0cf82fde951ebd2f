"""Reads of the gold tables: what the API's ranked and aggregate answers are made of.

Each answer carries `as_of` (the oldest venue observation behind it) and
`refreshed_at` (when the worker computed it), so a caller can tell a quiet
market from a stalled refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from predhub.db.queries import load
from predhub.service.errors import UnknownWindow
from predhub.service.payload import plain

Q = load("gold_read")
ARB = load("arbitrage")
# the windows the worker keeps in gold.movers
WINDOWS = ("1h", "24h", "7d")


def _rows(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in r.items()} for r in rows]


def stamps(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The oldest `as_of` and the newest `refreshed_at` of the rows (None when empty)."""
    as_of = [r["as_of"] for r in rows if r.get("as_of")]
    refreshed = [r["refreshed_at"] for r in rows if r.get("refreshed_at")]
    return {
        "as_of": min(as_of) if as_of else None,
        "refreshed_at": max(refreshed) if refreshed else None,
    }


class GoldReader:
    """The gold tables, read through the service's read pool (a replica when one is fit)."""

    def __init__(self, pool: asyncpg.Pool | Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        """A pool, or the pool of each read when given a function choosing one."""
        return self._pool() if callable(self._pool) else self._pool

    async def top_scopes(
        self, limits: dict[str, int], *, min_volume: float
    ) -> dict[str, list[dict[str, Any]]]:
        """Several scopes (scope -> limit) in one query, each best first."""
        out: dict[str, list[dict[str, Any]]] = {scope: [] for scope in limits}
        rows = await self.pool.fetch(Q.top_scopes, list(limits), list(limits.values()), min_volume)
        for row in _rows(rows):
            out[row.pop("scope")].append(row)
        return out

    async def movers(self, window: str, *, limit: int) -> list[dict[str, Any]]:
        if window not in WINDOWS:
            raise UnknownWindow(
                f"unknown window {window!r}; allowed: {', '.join(WINDOWS)}", allowed=list(WINDOWS)
            )
        return _rows(await self.pool.fetch(Q.movers, window, limit))

    async def trending(self, *, limit: int) -> list[dict[str, Any]]:
        return _rows(await self.pool.fetch(Q.trending, limit))

    async def stats(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "venues": _rows(await self.pool.fetch(Q.venue_stats)),
            "categories": _rows(await self.pool.fetch(Q.category_stats)),
        }

    async def event(self, event_id: int) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(Q.event, event_id)
        return None if row is None else {k: plain(v) for k, v in row.items()}

    async def arbitrage(
        self,
        *,
        closed: bool,
        min_edge: float,
        min_size: float,
        venue: str | None,
        after: tuple[Decimal | datetime, int] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Open opportunities best edge first, or closed ones newest first, after a keyset."""
        query = ARB.list_closed if closed else ARB.list_open
        key, last_id = after if after is not None else (None, None)
        rows = await self.pool.fetch(
            query, Decimal(str(min_edge)), Decimal(str(min_size)), venue, key, last_id, limit
        )
        return [opportunity(r) for r in rows]

    async def arbitrage_by_ids(self, ids: list[int]) -> list[dict[str, Any]]:
        return [opportunity(r) for r in await self.pool.fetch(ARB.by_ids, ids)]


def opportunity(row: asyncpg.Record) -> dict[str, Any]:
    """One opportunity as served: figures as numbers, legs and risks as lists, its state."""
    doc = {k: plain(v) for k, v in row.items()}
    for key in ("legs", "risks"):
        value = row[key]
        doc[key] = orjson.loads(value) if isinstance(value, str) else value
    for key in ("edge", "size", "profit", "cost", "fees", "payout"):
        doc[key] = float(row[key])
    doc["status"] = "open" if row["closed_at"] is None else "closed"
    return doc
