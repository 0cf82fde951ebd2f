"""Helpers for running the engine against the simulator: a steerable clock, truth vs silver."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

from predhub.sim.config import SimConfig
from predhub.sim.testing import SimHandle


def slot_start(now: datetime | None = None) -> datetime:
    """One second into the hour `now` (default: the wall time) falls in.

    The worker's schedules are cut at fixed instants: the per-minute budget,
    history walks every HISTORY_LOAD_INTERVAL_SECONDS (a divisor of an hour in
    the tests), delta loads and resolution sweeps every hour. A fake clock
    started at the bare wall time lands anywhere in those slots, so a test
    whose steps add up to a minute crosses a boundary it never meant to cross
    in about one run in a hundred (a delta load appears, the minute's budget
    resets). Started here, steps adding up to less than 59 seconds stay in the
    first minute, and steps short of an interval stay in its first slot; a test
    that means to cross a boundary advances past it on purpose. The start stays
    within the hour before the wall time, near the rows the database stamps with
    now().
    """
    at = now or datetime.now(UTC)
    return at.replace(minute=0, second=1, microsecond=0)


class FakeClock:
    """A clock the test moves by hand (the engine takes any `() -> datetime`).

    It starts at `start`, by default at `slot_start()`: aligned, so a test's
    steps cross the schedules' boundaries only where the test says so.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or slot_start()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def truth_trades(sim: SimHandle, venue: str) -> dict[str, Counter[str]]:
    """Every trade id the simulator holds, per market native id."""
    out: dict[str, Counter[str]] = {}
    for m in sim.truth(venue)["markets"]:
        out[m["market"]] = Counter(t["trade_id"] for t in m["trades"])
    return out


async def silver_trades(
    pool: asyncpg.Pool | asyncpg.Connection, venue: str
) -> dict[str, Counter[str]]:
    """Every trade silver holds, per market native id (duplicates would count twice).

    A trade is named as the simulator names it: the venue's trade id, or the
    transaction hash where the venue has no trade id (Polymarket).
    """
    rows = await pool.fetch(
        "SELECT m.native_id, coalesce(t.tx_hash, t.trade_key) AS trade_key FROM silver.trades t JOIN silver.markets m ON m.id = t.market_id"
        " WHERE t.venue = $1",
        venue,
    )
    out: dict[str, Counter[str]] = {}
    for r in rows:
        out.setdefault(r["native_id"], Counter())[r["trade_key"]] += 1
    return out


async def assert_trades_match_truth(pool: asyncpg.Pool, sim: SimHandle, venue: str) -> int:
    """Silver's trades equal the truth for every market silver holds; returns trades compared."""
    held = {
        r["native_id"]
        for r in await pool.fetch("SELECT native_id FROM silver.markets WHERE venue = $1", venue)
    }
    assert held, "no markets were loaded"
    truth = truth_trades(sim, venue)
    stored = await silver_trades(pool, venue)
    assert set(stored) <= held
    mismatched = {
        m: (sum(truth.get(m, Counter()).values()), sum(stored.get(m, Counter()).values()))
        for m in held
        if truth.get(m, Counter()) != stored.get(m, Counter())
    }
    if mismatched:
        state = await pool.fetch(
            "SELECT m.native_id, m.status, s.sync_priority, s.trades_synced_at,"
            " s.trades_watermark, s.metadata_synced_at, m.created_at FROM silver.markets m"
            " JOIN silver.market_sync s ON s.market_id = m.id"
            " WHERE m.venue = $1 AND m.native_id = ANY($2::text[])",
            venue,
            list(mismatched)[:5],
        )
        details = [dict(r) for r in state]
        raise AssertionError(
            f"markets whose trades differ (truth, silver): {dict(list(mismatched.items())[:5])}; "
            f"their sync state: {details}"
        )
    return sum(sum(stored.get(m, Counter()).values()) for m in held)


def tiny_world(**overrides: object) -> SimConfig:
    """A world small enough that a full sync of a venue takes a second or two."""
    base: dict[str, object] = {
        "polymarket_markets": 60,
        "polymarket_events": 20,
        "kalshi_markets": 50,
        "limitless_markets": 10,
        "opinion_markets": 10,
    }
    base.update(overrides)
    return SimConfig.small(**base)
