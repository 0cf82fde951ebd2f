"""The incremental refresh: recompute what the changed markets touch, nothing else.

A refresh takes the markets written since its last read of the market change
stream (`predhub.db.changes`: no queue row per market write), the ids queued in
the change log (by quotes, books, sync stamps and the re-queues) and the
markets with trades past the trades watermark (`predhub.gold.trades`: it
skips no trade whose writer commits late), recomputes those markets'
`gold.market_stats` rows, moves their contribution to venue and category
totals and to each venue's freshness (counts, and a histogram of quote syncs by
second that the age percentiles are read from) by difference (old rows out, new
rows in), recomputes their events, and
rebuilds the small ranked tables (top, movers, trending) from indexes. Every
statement is bounded by the number of changed markets or by the size of a
ranked table, so the refresh costs the same on a catalogue ten times larger.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from predhub.db import changes as change_stream
from predhub.db.queries import load, render
from predhub.gold.arbitrage import ArbitrageConfig, ArbitrageReport, cycle
from predhub.gold.categories import normalise
from predhub.gold.trades import save as save_trades
from predhub.gold.trades import take_mark, traded

Q = load("gold")

WINDOWS = ("1h", "24h", "7d")
_MOVERS_QUERY = {w: render(Q.insert_movers, window=w) for w in WINDOWS}


@dataclass(frozen=True, slots=True)
class GoldConfig:
    """What the ranked tables keep: per-venue N and floors, overall N, the noise floor."""

    venues: tuple[str, ...]
    top_n: Mapping[str, int]
    floors: Mapping[str, float]
    overall_n: int = 500
    min_volume: float = 1_000.0
    ranked: int = 100
    batch: int = 50_000
    arbitrage: ArbitrageConfig | None = None  # None: no arbitrage cycle


@dataclass(slots=True)
class RefreshReport:
    """What one refresh did."""

    markets: int = 0
    events: int = 0
    seconds: float = 0.0
    busy: bool = False  # another transaction held gold's change reader: nothing done
    market_ids: list[int] = field(default_factory=list)
    arbitrage: ArbitrageReport | None = None


async def mark_all(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    """Queue every market for the next refresh (a full rebuild)."""
    await conn.execute(Q.mark_all_changed)


async def mark_active(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    """Queue the markets whose moves or recent activity change as time passes."""
    await conn.execute(Q.mark_active_changed)


async def _categories(conn: asyncpg.Connection, ids: Sequence[int]) -> dict[int, str]:
    rows = await conn.fetch(Q.category_inputs, list(ids))
    return {
        int(r["id"]): normalise(
            category=r["category"],
            event_category=r["event_category"],
            tags=list(r["tags"]),
            series=r["series"],
            titles=(r["event_title"], r["question"]),
        )
        for r in rows
    }


async def refresh(conn: asyncpg.Connection, config: GoldConfig, *, now: datetime) -> RefreshReport:
    """One incremental refresh in one transaction (the caller holds the lease)."""
    started = time.perf_counter()
    report = RefreshReport()
    async with conn.transaction():
        await conn.execute(Q.lock_refresh)
        mark = await take_mark(conn)  # before this transaction writes anything
        written = await change_stream.take(conn, "gold", config.batch)
        if written is change_stream.BUSY:
            # another transaction reads as gold (it holds the reader, not this lock):
            # nothing was taken, and this round folds nothing
            report.busy = True
            report.seconds = time.perf_counter() - started
            return report
        if written is change_stream.START_OVER:  # the stream starts over: every market once
            await mark_all(conn)
            written = []
        changed = {int(r["market_id"]) for r in await conn.fetch(Q.take_changes, config.batch)}
        changed.update(written)
        trades = await traded(conn, mark)
        changed.update(trades.market_ids)
        events = {int(r["event_id"]) for r in await conn.fetch(Q.take_event_changes, config.batch)}
        ids = sorted(changed)
        if ids:
            categories = await _categories(conn, ids)
            ids = [i for i in ids if i in categories]
        if ids:
            events.update(int(r["event_id"]) for r in await conn.fetch(Q.old_event_ids, ids))
            old = await conn.fetchrow(Q.old_groups, ids)
            await conn.execute(Q.subtract_venue_stats, ids, now)
            await conn.execute(Q.subtract_category_stats, ids, now)
            await conn.execute(Q.subtract_freshness, ids, now)
            await conn.execute(Q.subtract_quote_seconds, ids)
            await conn.execute(Q.upsert_market_stats, ids, [categories[i] for i in ids], now)
            await conn.execute(Q.add_venue_stats, ids, now)
            await conn.execute(Q.add_category_stats, ids, now)
            await conn.execute(Q.add_freshness, ids, now)
            await conn.execute(Q.add_quote_seconds, ids)
            new = await conn.fetchrow(Q.new_groups, ids)
            events.update(int(e) for e in new["events"])
            touched = sorted({*old["venues"], *new["venues"]})
            await conn.execute(Q.venue_as_of, touched)
            await conn.execute(Q.freshness_percentiles, touched, now)
            await conn.execute(Q.category_as_of, sorted({*old["categories"], *new["categories"]}))
        if events:
            event_ids = sorted(events)
            await conn.execute(Q.delete_events, event_ids)
            await conn.execute(Q.insert_events, event_ids, now)
        if ids or events:
            await _rebuild_ranked(conn, config, now)
        if config.arbitrage is not None:
            # every changed market, also those the stats skip: a book or a status
            # change re-prices (or closes) the opportunities it is a leg of
            report.arbitrage = await cycle(conn, config.arbitrage, sorted(changed), now=now)
        await save_trades(conn, trades)
    report.markets = len(ids)
    report.events = len(events)
    report.market_ids = ids
    report.seconds = time.perf_counter() - started
    return report


async def _rebuild_ranked(conn: asyncpg.Connection, config: GoldConfig, now: datetime) -> None:
    """Rewrite the top, movers and trending tables from market_stats' indexes."""
    venues = list(config.venues)
    floors = [float(config.floors.get(v, 0.0)) for v in venues]
    await conn.execute(Q.clear_top)
    await conn.execute(
        Q.insert_top_per_venue, venues, [int(config.top_n.get(v, 0)) for v in venues], floors, now
    )
    await conn.execute(Q.insert_top_overall, venues, floors, config.overall_n, now)
    await conn.execute(Q.clear_movers)
    for window in WINDOWS:
        await conn.execute(_MOVERS_QUERY[window], config.min_volume, config.ranked, now)
    await conn.execute(Q.clear_trending)
    await conn.execute(Q.insert_trending, config.min_volume, config.ranked, now)
