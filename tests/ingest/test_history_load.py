"""`predhub ingest history`: the closed catalogue with its history, from the simulator over HTTP.

The simulator's `closed` markets resolved before its world started, each
with trades; the load must bring every one of them (with its resolution and
every trade) into silver, resume after a kill without duplicating anything,
and stay within the venue's request budget.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from predhub.ingest.catalogue import CHECKPOINT_KIND, Checkpoint
from predhub.ingest.pipeline import Ingestor
from predhub.ingest.refs import ref_of
from predhub.sim.config import SimConfig
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.base import Capability, NotSupported, Venue
from predhub.venues.budget import VenueBudget, drawing, published_per_second
from predhub.venues.descriptor import descriptor, venue_names
from predhub.venues.polymarket import adapter as polymarket_adapter
from predhub.venues.polymarket.adapter import BULK_TRADES_MARKETS
from predhub.venues.registry import build_venue

CLOSED = {"polymarket": 240, "kalshi": 240, "opinion": 40}
FINAL = ("resolved", "voided")


@pytest.fixture(scope="module")
def archive() -> Iterator[SimHandle]:
    """A small world with old closed markets on three venues; time stands still."""
    with running_simulator(SimConfig.small(seed=5, closed=CLOSED)) as handle:
        yield handle


@pytest.fixture
async def make(archive: SimHandle) -> AsyncIterator[Any]:
    built: list[Venue] = []

    def build(name: str, **overrides: Any) -> Venue:
        venue = build_venue(name, archive.settings(**overrides))
        built.append(venue)
        return venue

    yield build
    for venue in built:
        await venue.close()


def closed_truth(sim: SimHandle, venue: str, *, trades: bool = False) -> dict[str, Any]:
    """The venue's markets a closed listing must hold: final ones (and closed ones where listed)."""
    wanted = FINAL if venue == "opinion" else (*FINAL, "closed")
    return {
        m["market"]: m
        for m in sim.truth(venue=venue, trades=trades)["markets"]
        if m["status"] in wanted
    }


async def silver_markets(pool: asyncpg.Pool, venue: str) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch(
        "SELECT native_id, status, winning_outcome, is_void, payouts, resolved_at "
        "FROM silver.markets WHERE venue = $1",
        venue,
    )
    return {r["native_id"]: r for r in rows}


async def trade_counts(pool: asyncpg.Pool, venue: str) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT m.native_id, count(t.*) AS n, count(DISTINCT t.trade_key) AS keys "
        "FROM silver.markets m JOIN silver.trades t ON t.market_id = m.id "
        "WHERE m.venue = $1 GROUP BY m.native_id",
        venue,
    )
    assert all(r["n"] == r["keys"] for r in rows), "a trade stored twice"
    return {r["native_id"]: r["n"] for r in rows}


@pytest.mark.parametrize("name", list(CLOSED))
async def test_history_load_brings_every_closed_market_with_resolution_and_trades(
    name: str, archive: SimHandle, make: Any, pool: asyncpg.Pool
) -> None:
    venue = make(name)
    summary, report = await Ingestor(pool, venue, archive.settings()).history_load()
    assert report.complete and summary.failures == 0
    truth = closed_truth(archive, name)
    held = await silver_markets(pool, name)
    missing = set(truth) - set(held)
    assert not missing, f"{len(missing)} closed markets not loaded, e.g. {sorted(missing)[:3]}"
    for native_id, t in truth.items():
        row = held[native_id]
        assert row["status"] == t["status"], native_id
        if t["status"] == "resolved":
            assert row["winning_outcome"] == t["winner"], native_id
            assert row["is_void"] is False
        if t["status"] == "voided":
            assert row["is_void"] is True and row["winning_outcome"] is None, native_id
    if Capability.TRADES in descriptor(name).has:
        counts = await trade_counts(pool, name)
        for native_id, t in truth.items():
            assert counts.get(native_id, 0) == t["trade_count"], native_id
        assert sum(counts.values()) > 0
    checkpoint = Checkpoint.parse(
        await pool.fetchval(
            "SELECT watermark FROM ops.sync_state WHERE venue = $1 AND kind = $2",
            name,
            CHECKPOINT_KIND,
        )
    )
    assert checkpoint.cursor is None and checkpoint.completed_from is not None


async def test_a_killed_history_load_resumes_where_it_stopped_without_duplicates(
    archive: SimHandle, make: Any, pool: asyncpg.Pool
) -> None:
    venue = make("polymarket")
    venue.markets_page_size = 20  # type: ignore[attr-defined]
    ingestor = Ingestor(pool, venue, archive.settings())
    task = asyncio.create_task(ingestor.history_load())
    pages = 0
    while pages < 3 and not task.done():  # kill it once a few pages are in
        await asyncio.sleep(0.01)
        pages = await pool.fetchval(
            "SELECT count(*) FROM bronze.api_responses WHERE venue = 'polymarket' "
            "AND endpoint = '/markets/keyset' AND params->>'closed' = 'true'"
        )
    assert not task.done(), "the walk ended before it could be killed"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = Checkpoint.parse(
        await pool.fetchval(
            "SELECT watermark FROM ops.sync_state WHERE venue = 'polymarket' AND kind = $1",
            CHECKPOINT_KIND,
        )
    )
    assert stored.cursor, "the killed walk left a checkpoint to resume from"
    summary, report = await ingestor.history_load()
    assert report.resumed and report.complete and summary.failures == 0
    truth = closed_truth(archive, "polymarket")
    held = await silver_markets(pool, "polymarket")
    assert set(truth) <= set(held)
    assert report.markets < len(truth), "the second run started over instead of resuming"
    counts = await trade_counts(pool, "polymarket")
    for native_id, t in truth.items():
        assert counts.get(native_id, 0) == t["trade_count"], native_id


async def test_a_complete_walk_is_followed_by_walks_of_newly_closed_markets_only(
    archive: SimHandle, make: Any, pool: asyncpg.Pool
) -> None:
    venue = make("kalshi")
    ingestor = Ingestor(pool, venue, archive.settings())
    first, full = await ingestor.history_load()
    again, later = await ingestor.history_load()
    assert full.complete and later.complete and later.since is not None
    assert later.markets < full.markets
    assert again.requests < first.requests


async def test_the_history_load_stays_within_the_venue_budget(
    archive: SimHandle, make: Any, pool: asyncpg.Pool
) -> None:
    venue = make("kalshi", venue_request_budgets={"kalshi": 0.5})
    settings = archive.settings(venue_request_budgets={"kalshi": 0.5})
    now = [datetime(2026, 9, 1, tzinfo=UTC)]

    def clock() -> datetime:
        return now[0]

    async def sleep(seconds: float) -> None:  # simulated minutes pass instead of real ones
        now[0] += timedelta(seconds=seconds)
        await asyncio.sleep(0)

    budget = VenueBudget.for_workers(pool, "kalshi", settings, clock=clock, sleep=sleep)
    allowance = budget.allowance()
    with drawing(allowance):
        summary, report = await Ingestor(pool, venue, settings).history_load()
    await allowance.release()
    assert report.complete and summary.failures == 0
    usage = await pool.fetch(
        "SELECT minute, requests FROM ops.venue_usage WHERE venue = 'kalshi' ORDER BY minute"
    )
    assert len(usage) > 1, "the load needed more than one minute's budget"
    assert max(r["requests"] for r in usage) <= budget.cap
    assert sum(r["requests"] for r in usage) >= summary.requests


def test_every_venue_with_a_closed_listing_is_loaded_above() -> None:
    """A venue that gains a closed listing must join `CLOSED`, so its history load is tested."""
    listing = {n for n in venue_names() if Capability.CLOSED_MARKETS in descriptor(n).has}
    assert listing == set(CLOSED)


async def test_a_venue_without_a_closed_listing_says_so_and_the_worker_skips_it(
    archive: SimHandle, make: Any, pool: asyncpg.Pool
) -> None:
    venue = make("limitless")
    assert Capability.CLOSED_MARKETS not in venue.has
    ingestor = Ingestor(pool, venue, archive.settings())
    with pytest.raises(NotSupported, match="lists no closed markets"):
        await ingestor.history_load()
    summary = await ingestor.background_history()
    assert summary.requests == 0 and summary.fetched == 0


async def test_polymarket_reads_the_trades_of_many_markets_a_request(
    archive: SimHandle, make: Any, pool: asyncpg.Pool
) -> None:
    """Never-synced markets share Data API requests: about one per hundred markets, not one each."""
    venue = make("polymarket")
    archive.reset_stats()
    summary, report = await Ingestor(pool, venue, archive.settings()).history_load()
    assert report.complete and summary.failures == 0
    trades_requests = archive.count("polymarket", "/trades")
    assert 0 < trades_requests <= report.pages * math.ceil(report.markets / BULK_TRADES_MARKETS)
    assert archive.count("polymarket", "/prices-history") == 2 * report.history_markets
    counts = await trade_counts(pool, "polymarket")
    for native_id, t in closed_truth(archive, "polymarket").items():
        assert counts.get(native_id, 0) == t["trade_count"], native_id


async def test_kalshi_reads_the_price_history_of_a_hundred_markets_a_request(
    archive: SimHandle, make: Any, pool: asyncpg.Pool
) -> None:
    """The live set's candlesticks come batched; the archive's, one market a request."""
    venue = make("kalshi")
    archive.reset_stats()
    summary, report = await Ingestor(pool, venue, archive.settings()).history_load()
    assert report.complete and summary.failures == 0
    cutoff = archive.world()["now"] - 30 * 86400  # the simulator's historical cutoff
    truth = closed_truth(archive, "kalshi")
    archived = [m for m in truth.values() if m["close_at"] < cutoff]
    live = len(truth) - len(archived)
    assert archived and live
    batched = archive.count("kalshi", "/markets/candlesticks")
    assert 0 < batched <= report.pages + live // 100
    # the archive's candlesticks: under /historical, asked there first (no live 404 on the way)
    assert archive.count("kalshi", "/historical/markets/{ticker}/candlesticks") == len(archived)
    assert archive.count("kalshi", "/series/{series_ticker}/markets/{ticker}/candlesticks") == 0
    assert archive.count("kalshi", "/historical/cutoff") == 1
    unsynced = await pool.fetchval(
        "SELECT count(*) FROM silver.markets m JOIN silver.market_sync s ON s.market_id = m.id "
        "WHERE m.venue = 'kalshi' AND m.status <> 'open' AND s.history_synced_at IS NULL"
    )
    assert unsynced == 0
    points = await pool.fetchval(
        "SELECT count(DISTINCT o.market_id) FROM silver.price_history h "
        "JOIN silver.outcomes o ON o.id = h.outcome_id "
        "JOIN silver.markets m ON m.id = o.market_id WHERE m.venue = 'kalshi'"
    )
    assert points > live // 2  # batched answers reach silver, not only the stamps


async def test_bulk_trades_past_the_reachable_offsets_halve_the_markets(
    archive: SimHandle, make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With pages of 4 reachable to offset 4, a set holding more than 8 trades is split.

    Each market with at most 8 trades comes back whole; one with more keeps
    its newest 8 and says the older ones are unreachable.
    """
    monkeypatch.setattr(polymarket_adapter, "BULK_TRADES_PAGE", 4)
    monkeypatch.setattr(polymarket_adapter, "TRADES_OFFSET_CAP", 4)
    venue = make("polymarket")
    truth = closed_truth(archive, "polymarket", trades=True)
    refs = []
    async for page in venue.closed_markets():
        refs += [ref_of(m) for m in page.items if m.native_id in truth]
    small = [r for r in refs if 0 < truth[r.native_id]["trade_count"] <= 8][:6]
    big = [r for r in refs if truth[r.native_id]["trade_count"] > 8][:1]
    assert len(small) == 6 and big, "the archive holds markets of both sizes"
    got = await venue.trades_of_markets([*small, *big])
    by_market: dict[str, set[str]] = {}
    for trade in got.fetched.items:
        by_market.setdefault(trade.market_native_id, set()).add(trade.trade_key)
    for ref in small:
        assert len(by_market[ref.native_id]) == truth[ref.native_id]["trade_count"]
        newest = max(t["ts_ms"] for t in truth[ref.native_id]["trades"])
        assert got.watermarks[ref.native_id].startswith(f"{newest // 1000}|")
    assert len(by_market[big[0].native_id]) == 8
    assert [e.item_id for e in got.fetched.errors] == [big[0].condition_id]
    assert "unreachable" in got.fetched.errors[0].reason


def _frozen_minutes() -> tuple[Any, Any, list[datetime]]:
    """A clock that stands still until the budget sleeps: then simulated minutes pass."""
    now = [datetime(2026, 9, 1, tzinfo=UTC)]

    def clock() -> datetime:
        return now[0]

    async def sleep(seconds: float) -> None:
        now[0] += timedelta(seconds=seconds)
        await asyncio.sleep(0)

    return clock, sleep, now


async def _run_by_hand(
    archive: SimHandle, make: Any, pool: asyncpg.Pool, rps: float | None = None
) -> tuple[VenueBudget, VenueBudget, Any, Any]:
    """Kalshi's history load run by hand (`--rps`) beside workers held to a tiny budget
    (half a request a second), on a clock that stands still until a budget waits: the
    workers' budget, the run's, its allowance and its summary. The run completed."""
    settings = archive.settings(venue_request_budgets={"kalshi": 0.5})
    venue = make("kalshi", venue_request_budgets={"kalshi": 0.5})
    clock, sleep, _ = _frozen_minutes()
    workers = VenueBudget.for_workers(pool, "kalshi", settings, clock=clock, sleep=sleep)
    budget = VenueBudget.for_history(pool, "kalshi", settings, rps=rps)
    budget.clock, budget.sleep = clock, sleep
    own = published_per_second("kalshi") * settings.rate_limit_scale if rps is None else rps
    assert budget.cap == workers.cap + math.floor(own * 60)  # its rate on top of the workers'
    allowance = budget.allowance(block=max(5, budget.cap // 60))
    with drawing(allowance):
        summary, report = await Ingestor(pool, venue, settings).history_load()
    await allowance.release()
    assert report.complete and summary.failures == 0
    return workers, budget, allowance, summary


async def test_a_history_load_run_by_hand_is_not_held_to_the_workers_share(
    archive: SimHandle, make: Any, pool: asyncpg.Pool
) -> None:
    """The workers' share of a tiny budget would spread this load over many minutes; the
    operator's run has the venue's published limits as its own and finishes in one, every
    request counted in the shared minute row. A worker then finds the minute spent."""
    workers, _, allowance, summary = await _run_by_hand(archive, make, pool)
    assert summary.requests > workers.cap  # more than the workers may send in a minute
    assert allowance.waited == 0  # and it never waited for a next minute
    usage = await pool.fetch("SELECT minute, requests FROM ops.venue_usage WHERE venue = 'kalshi'")
    assert [r["requests"] for r in usage] == [summary.requests]  # counted in the shared row
    assert not await workers.reserve(1)  # running workers give way to it


async def test_a_history_load_run_by_hand_keeps_to_its_own_rate(
    archive: SimHandle, make: Any, pool: asyncpg.Pool
) -> None:
    """`--rps 0.5` (30 a minute on top of the workers' share) spreads the load over minutes."""
    _, budget, _, summary = await _run_by_hand(archive, make, pool, rps=0.5)
    usage = await pool.fetch(
        "SELECT minute, requests FROM ops.venue_usage WHERE venue = 'kalshi' ORDER BY minute"
    )
    assert len(usage) > 1, "the load needed more than one minute at its own rate"
    assert max(r["requests"] for r in usage) <= budget.cap
    assert sum(r["requests"] for r in usage) == summary.requests
