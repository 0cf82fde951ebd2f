"""The service on the real pipeline: venue adapters and ingestion against the simulator over HTTP.

Upstream calls are counted by the simulator itself (`stats()`), so "exactly one
refresh" means exactly the requests one refresh makes, as the venue saw them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest
from service_support import running_service
from structlog.testing import capture_logs

from predhub.ingest.pipeline import Ingestor
from predhub.service.freshness import CacheState
from predhub.service.metrics import REFRESH_BUGS
from predhub.service.service import MarketDataService
from predhub.service.singleflight import INTERNAL_REASON
from predhub.service.tiers import Freshness
from predhub.sim.testing import SimHandle
from predhub.venues.budget import minute_of, venue_cap_per_minute
from predhub.venues.polymarket import parse as polymarket_parse
from predhub.venues.registry import build_venue

T2A = Freshness("T2a", 2.0)
VENUES = ("polymarket", "kalshi")


@pytest.fixture
async def loaded(sim: SimHandle, pool: asyncpg.Pool) -> AsyncIterator[SimHandle]:
    """The simulator's polymarket and kalshi catalogues ingested into a fresh database."""
    settings = sim.settings(enabled_venues=",".join(VENUES))
    for name in VENUES:
        venue = build_venue(name, settings)
        try:
            await Ingestor(pool, venue, settings).static_load()
        finally:
            await venue.close()
    sim.reset_stats()
    yield sim


@pytest.fixture
async def sim_service(
    loaded: SimHandle, pool: asyncpg.Pool, db_url: str
) -> AsyncIterator[MarketDataService]:
    settings = loaded.settings(enabled_venues=",".join(VENUES), http_max_retries=0)
    async with running_service(pool, db_url, settings) as svc:
        yield svc


async def _open_ids(pool: asyncpg.Pool, venue: str, n: int) -> list[int]:
    rows = await pool.fetch(
        "SELECT id FROM silver.markets WHERE venue = $1 AND status = 'open' ORDER BY id LIMIT $2",
        venue,
        n,
    )
    return [int(r["id"]) for r in rows]


async def _make_stale(pool: asyncpg.Pool, ids: list[int], svc: MarketDataService) -> None:
    """Age the rows, then wait for the change notification to reach the service's cache."""
    await pool.execute(
        "UPDATE silver.market_sync SET quotes_synced_at = now() - interval '1 hour' "
        "WHERE market_id = ANY($1::bigint[])",
        ids,
    )
    for _ in range(200):
        if all(svc.cache.get(i) is None for i in ids):
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the cache was not invalidated")


async def _refresh_counted(
    svc: MarketDataService, sim: SimHandle, pool: asyncpg.Pool, market_id: int, venue: str
) -> int:
    """Refresh one stale market through the service; the requests the venue saw."""
    await _make_stale(pool, [market_id], svc)
    sim.reset_stats()
    answer = await svc.price(str(market_id), T2A)
    assert answer.cache is CacheState.REFRESHED
    sent = sim.count(venue)
    assert sent >= 1
    return sent


async def test_100_concurrent_requests_cost_one_refresh_upstream(
    sim_service: MarketDataService, loaded: SimHandle, pool: asyncpg.Pool
) -> None:
    for venue in VENUES:
        (market_id,) = await _open_ids(pool, venue, 1)
        # What one refresh of this market costs upstream, measured alone.
        one_refresh = await _refresh_counted(sim_service, loaded, pool, market_id, venue)
        await _make_stale(pool, [market_id], sim_service)
        loaded.reset_stats()
        answers = await asyncio.gather(
            *(sim_service.price(str(market_id), T2A) for _ in range(100))
        )
        assert {a.cache for a in answers} == {CacheState.REFRESHED}
        assert loaded.count(venue) == one_refresh


async def test_batch_of_300_stale_ids_makes_a_handful_of_calls(
    sim_service: MarketDataService, loaded: SimHandle, pool: asyncpg.Pool
) -> None:
    rows = await pool.fetch(
        "SELECT id FROM silver.markets WHERE status = 'open' ORDER BY venue, id LIMIT 300"
    )
    ids = [int(r["id"]) for r in rows]
    assert len(ids) == 300
    await _make_stale(pool, ids, sim_service)
    loaded.reset_stats()
    answers = await sim_service.prices([str(i) for i in ids], T2A)
    assert all(a.cache is CacheState.REFRESHED for a in answers)
    calls = loaded.stats()["total"]
    assert 2 <= calls <= 15, loaded.stats()
    synced = await pool.fetchval(
        "SELECT count(*) FROM silver.market_sync WHERE market_id = ANY($1::bigint[]) "
        "AND quotes_synced_at > now() - interval '1 minute'",
        ids,
    )
    assert synced == 300


async def test_venue_outage_serves_stale_with_the_reason(
    sim_service: MarketDataService, loaded: SimHandle, pool: asyncpg.Pool
) -> None:
    (market_id,) = await _open_ids(pool, "kalshi", 1)
    await _make_stale(pool, [market_id], sim_service)
    loaded.set_faults({"venue": "kalshi", "kind": "error", "status": 503})
    answers = await asyncio.gather(*(sim_service.price(str(market_id), T2A) for _ in range(20)))
    for answer in answers:
        doc = orjson.loads(answer.body or b"")
        assert doc["stale"] is True and doc["cache"] == "stale"
        assert "kalshi" in doc["stale_reason"]
        assert doc["outcomes"], "the last known quotes are still served"
    loaded.clear_faults()


async def _early_in_a_minute() -> None:
    """Wait out the last seconds of a minute, so a test's budget row stays the current one."""
    now = datetime.now(UTC)
    if now.second >= 50:
        await asyncio.sleep(60.5 - now.second - now.microsecond / 1e6)


async def _used(pool: asyncpg.Pool, venue: str, minute: datetime) -> int | None:
    """The requests booked against `venue` in `minute` (None: no row)."""
    value: int | None = await pool.fetchval(
        "SELECT requests FROM ops.venue_usage WHERE venue = $1 AND minute = $2", venue, minute
    )
    return value


async def test_refreshes_draw_from_the_venues_shared_budget(
    sim_service: MarketDataService, loaded: SimHandle, pool: asyncpg.Pool
) -> None:
    """API refreshes book their requests where workers do, and stop at the venue's cap."""
    venue = "polymarket"
    settings = loaded.settings(enabled_venues=",".join(VENUES))
    cap = venue_cap_per_minute(venue, settings)
    first, second = await _open_ids(pool, venue, 2)
    await _early_in_a_minute()
    minute = minute_of(datetime.now(UTC))
    await pool.execute("DELETE FROM ops.venue_usage WHERE venue = $1", venue)

    sent = await _refresh_counted(sim_service, loaded, pool, first, venue)
    assert await _used(pool, venue, minute) == sent

    # Workers (or other API processes) have spent the rest of this minute's budget.
    await pool.execute(
        "UPDATE ops.venue_usage SET requests = $3 WHERE venue = $1 AND minute = $2",
        venue,
        minute,
        cap,
    )
    await _make_stale(pool, [second], sim_service)
    loaded.reset_stats()
    doc = orjson.loads((await sim_service.price(str(second), T2A)).body or b"")
    assert loaded.count(venue) == 0, "no request goes out past the cap"
    assert doc["stale"] is True and doc["cache"] == "stale"
    assert "budget" in doc["stale_reason"] and venue in doc["stale_reason"]
    assert doc["outcomes"], "the last known quotes are still served"
    assert await _used(pool, venue, minute) == cap


async def test_a_bug_during_a_refresh_serves_the_stored_row_with_a_generic_reason(
    sim_service: MarketDataService,
    loaded: SimHandle,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A genuine bug is not a venue failure: logged with its traceback, counted, not worded."""
    (market_id,) = await _open_ids(pool, "polymarket", 1)
    await _make_stale(pool, [market_id], sim_service)

    def broken(*_args: object, **_kwargs: object) -> object:
        return 1 / 0

    monkeypatch.setattr(polymarket_parse, "parse_side_prices", broken)
    bugs = REFRESH_BUGS.labels("polymarket")._value.get()
    with capture_logs() as logs:
        doc = orjson.loads((await sim_service.price(str(market_id), T2A)).body or b"")
    assert doc["stale"] is True and doc["cache"] == "stale"
    assert doc["stale_reason"] == INTERNAL_REASON
    assert doc["outcomes"], "the stored quotes are still served"
    (logged,) = [e for e in logs if e["event"] == "service.refresh_bug"]
    assert isinstance(logged["exc_info"], ZeroDivisionError)
    assert logged["exc_info"].__traceback__ is not None
    assert REFRESH_BUGS.labels("polymarket")._value.get() == bugs + 1


async def test_market_and_event_documents_carry_pictures_tags_and_the_venue_page(
    sim_service: MarketDataService, pool: asyncpg.Pool
) -> None:
    row = await pool.fetchrow(
        "SELECT m.id, m.slug, e.slug AS event_slug, e.native_id AS event_native_id "
        "FROM silver.markets m JOIN silver.events e ON e.id = m.event_id "
        "WHERE m.venue = 'polymarket' AND m.status = 'open' ORDER BY m.id LIMIT 1"
    )
    answer = await sim_service.price(str(row["id"]), Freshness("T3", 3600.0))
    assert answer.body is not None
    doc = orjson.loads(answer.body)
    assert doc["url"] == f"https://polymarket.com/event/{row['event_slug']}/{row['slug']}"
    assert doc["image_url"].startswith("https://") and doc["icon_url"].startswith("https://")
    assert doc["venue_tags"], "the event's Polymarket tags"
    event = await sim_service.event(f"polymarket:{row['event_native_id']}")
    assert event is not None
    assert event["url"] == f"https://polymarket.com/event/{row['event_slug']}"
    assert event["image_url"].startswith("https://")
    (kalshi_id,) = await _open_ids(pool, "kalshi", 1)
    kalshi = await sim_service.price(str(kalshi_id), Freshness("T3", 3600.0))
    assert kalshi.body is not None
    kdoc = orjson.loads(kalshi.body)
    assert kdoc["url"].startswith("https://kalshi.com/markets/")
    assert kdoc["venue_tags"], "Kalshi's category and series"
