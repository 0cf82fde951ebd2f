"""A job that needs more requests than it reserved never takes the venue past its budget."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import asyncpg
import pytest

from predhub.ingest.pipeline import Ingestor
from predhub.sim.testing import running_simulator
from predhub.venues import budget
from predhub.venues.polymarket import adapter
from predhub.venues.registry import build_venue

from .simtools import FakeClock, assert_trades_match_truth, tiny_world

CAP = 8  # requests a minute


async def test_trade_paging_waits_for_the_next_minute_instead_of_passing_the_cap(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of five trades make every market's sync take several requests; each
    job reserved one. The simulator's own request counts, minute by minute, stay
    within the cap, and every trade still arrives, once."""
    monkeypatch.setattr(adapter, "TRADES_PAGE", 5)
    clock = FakeClock(datetime(2026, 5, 1, 12, 0, 30, tzinfo=UTC))
    with running_simulator(tiny_world(polymarket_markets=12, polymarket_events=4)) as sim:
        settings = sim.settings(enabled_venues="polymarket", rate_limit_scale=20.0)
        venue = build_venue("polymarket", settings)
        try:
            ingestor = Ingestor(pool, venue, settings)
            await ingestor.static_load()
            ids = [r["id"] for r in await pool.fetch("SELECT id FROM silver.markets ORDER BY id")]
            per_minute: Counter[datetime] = Counter()
            counted = 0

            def book_minute() -> None:
                nonlocal counted
                now = sim.count("polymarket", "/trades")
                per_minute[budget.minute_of(clock())] += now - counted
                counted = now

            async def sleep(seconds: float) -> None:
                book_minute()
                clock.advance(seconds)

            sim.reset_stats()
            account = budget.VenueBudget(pool, "polymarket", cap=CAP, clock=clock, sleep=sleep)
            allowances = []
            for market_id in ids:  # one job per market, as a tiny budget plans them
                # As the worker does: reserve the job's estimate (one request), or
                # leave the job for the next minute.
                while not await account.reserve(1):
                    await sleep(60 - clock().second)
                allowance = account.allowance(reserved=1)
                allowances.append(allowance)
                with budget.drawing(allowance):
                    await ingestor.sync_trades([market_id])
                await allowance.release()
            book_minute()
        finally:
            await venue.close()

        assert sum(per_minute.values()) > 2 * CAP, "the syncs needed several minutes' budget"
        assert max(per_minute.values()) <= CAP, per_minute
        assert sum(a.waited for a in allowances) > 0
        usage = await pool.fetch("SELECT minute, requests FROM ops.venue_usage ORDER BY minute")
        assert all(r["requests"] <= CAP for r in usage), [dict(r) for r in usage]
        # What was booked is what the venue saw (reservations not used were given back).
        assert {r["minute"]: r["requests"] for r in usage} == dict(per_minute)
        assert await assert_trades_match_truth(pool, sim, "polymarket") > 0
