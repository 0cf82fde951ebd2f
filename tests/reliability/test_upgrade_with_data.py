"""A database an earlier release migrated and filled upgrades to this release with its data.

For every earlier schema version N, an empty database is migrated up to N
only, filled with rows valid at N (an event, a market with its outcomes,
quotes, price history, trades, an order book, bronze responses and a load),
then upgraded to the latest version. Every row must still be there, and the
market must read back through the current API: its detail, price, trades,
outcomes and search (whose vector a later migration rebuilt).
"""

from __future__ import annotations

import httpx
import pytest

from predhub.api.app import create_app
from predhub.db import migrate
from predhub.db.connect import connect
from predhub.settings import Settings

EARLIER_VERSIONS = [m.version for m in migrate.available_migrations()][:-1]
QUESTION = "Will the harbour bridge reopen before the regatta?"
TABLES = (
    "bronze.api_responses",
    "bronze.response_sightings",
    "silver.events",
    "silver.markets",
    "silver.outcomes",
    "silver.quotes",
    "silver.price_history",
    "silver.trades",
    "silver.order_book_snapshots",
    "ops.loads",
    "ops.sync_state",
)

# Only columns every schema version has (those of the first migration), so the
# rows are valid at whichever version they are written; the market's sync state goes
# where that version keeps it (its row before 0016, silver.market_sync since).
FILL = f"""
INSERT INTO ops.loads (venue, kind, status, finished_at) VALUES ('kalshi', 'static', 'done', now());
INSERT INTO bronze.api_responses (venue, endpoint, params, status, fetched_at, content_hash, payload)
VALUES ('kalshi', '/markets', '{{"limit": 1}}', 200, now(), '\\x01', '{{"markets": []}}'),
       ('kalshi', '/trades', '{{}}', 200, now(), '\\x02', NULL);
INSERT INTO bronze.response_sightings (response_id, fetched_at)
SELECT id, now() FROM bronze.api_responses;
INSERT INTO silver.events (venue, native_id, title, category)
VALUES ('kalshi', 'EVT-HARBOUR', 'Harbour bridge', 'Infrastructure');
INSERT INTO silver.markets (venue, native_id, event_id, event_native_id, event_title, ticker,
                            question, category, status, end_at, volume_total, volume_24h)
SELECT 'kalshi', 'HARBOUR-26', id, 'EVT-HARBOUR', 'Harbour bridge', 'HARBOUR-26',
       '{QUESTION}', 'Infrastructure', 'open', now() + interval '30 days', 1234.5, 56.7
FROM silver.events WHERE native_id = 'EVT-HARBOUR';
DO $$
BEGIN
    IF to_regclass('silver.market_sync') IS NULL THEN
        UPDATE silver.markets SET sync_priority = 'normal', quotes_synced_at = now(),
            trades_synced_at = now(), trades_watermark = 'trade-2';
    ELSE
        UPDATE silver.market_sync SET sync_priority = 'normal', quotes_synced_at = now(),
            trades_synced_at = now(), trades_watermark = 'trade-2';
    END IF;
END $$;
INSERT INTO silver.outcomes (market_id, idx, label)
SELECT id, i, CASE i WHEN 0 THEN 'Yes' ELSE 'No' END
FROM silver.markets, generate_series(0, 1) AS i WHERE native_id = 'HARBOUR-26';
INSERT INTO silver.quotes (outcome_id, market_id, best_bid, best_ask, mid, last, price,
                           observed_at, fetched_at)
SELECT o.id, o.market_id, 0.41 + o.idx * 0.17, 0.43 + o.idx * 0.17, 0.42 + o.idx * 0.17,
       0.42 + o.idx * 0.17, 0.42 + o.idx * 0.17, now(), now()
FROM silver.outcomes o;
INSERT INTO silver.price_history (outcome_id, ts, price)
SELECT o.id, now() - make_interval(hours => h), 0.40 FROM silver.outcomes o, generate_series(1, 3) h;
INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size, side, executed_at)
SELECT 'kalshi', o.market_id, o.id, 'trade-' || n, 0.42, 10 * n, 'buy',
       now() - make_interval(mins => n)
FROM silver.outcomes o, generate_series(1, 2) n WHERE o.idx = 0;
INSERT INTO silver.order_book_snapshots (market_id, outcome_id, observed_at, fetched_at,
                                         best_bid, best_ask, bids, asks)
SELECT market_id, id, now(), now(), 0.41, 0.43, '[[0.41, 100]]', '[[0.43, 80]]'
FROM silver.outcomes WHERE idx = 0;
INSERT INTO ops.sync_state (venue, kind, watermark) VALUES ('kalshi', 'delta', '2026-01-01');
"""


async def counts(url: str) -> dict[str, int]:
    conn = await connect(url)
    try:
        return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}
    finally:
        await conn.close()


async def read_back(url: str) -> None:
    settings = Settings(_env_file=None, database_only_mode=True)  # type: ignore[call-arg]
    app = create_app(settings, database_url=url)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        key = "kalshi:HARBOUR-26"
        detail = await client.get(f"/v1/markets/{key}")
        assert detail.status_code == 200, detail.text
        assert QUESTION in detail.text
        outcomes = await client.get(f"/v1/markets/{key}/outcomes")
        assert outcomes.status_code == 200, outcomes.text
        assert "Yes" in outcomes.text and "No" in outcomes.text
        price = await client.get(f"/v1/markets/{key}/price")
        assert price.status_code == 200, price.text
        assert "0.42" in price.text
        trades = await client.get(f"/v1/markets/{key}/trades")
        assert trades.status_code == 200, trades.text
        assert "trade-1" in trades.text and "trade-2" in trades.text
        found = await client.get("/v1/search", params={"q": "harbour bridge"})
        assert found.status_code == 200, found.text
        assert "HARBOUR-26" in found.text
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text


@pytest.mark.parametrize("version", EARLIER_VERSIONS)
async def test_upgrade_keeps_data_written_at_an_earlier_version(
    version: int, empty_db_url: str
) -> None:
    conn = await connect(empty_db_url)
    try:
        applied = await migrate.upgrade(conn, target=version)
        assert [m.version for m in applied] == [v for v in EARLIER_VERSIONS if v <= version]
        assert (await migrate.status(conn)).current == version
        await conn.execute(FILL)
    finally:
        await conn.close()
    before = await counts(empty_db_url)
    assert all(before.values()), before
    conn = await connect(empty_db_url)
    try:
        later = await migrate.upgrade(conn)
        assert later and (await migrate.status(conn)).up_to_date
    finally:
        await conn.close()
    assert await counts(empty_db_url) == before
    conn = await connect(empty_db_url)
    try:  # the sync state moved to its narrow row, whatever the version it was written at
        moved = await conn.fetchrow(
            "SELECT trades_watermark, quotes_synced_at FROM silver.market_sync"
        )
    finally:
        await conn.close()
    assert moved is not None and moved["trades_watermark"] == "trade-2"
    assert moved["quotes_synced_at"] is not None
    await read_back(empty_db_url)


async def test_unknown_target_is_a_clear_error(empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        with pytest.raises(migrate.MigrationError, match="no migration has version 999"):
            await migrate.upgrade(conn, target=999)
        assert (await migrate.status(conn)).current is None
    finally:
        await conn.close()
