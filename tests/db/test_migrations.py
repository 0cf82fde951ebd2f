"""Migrations: from empty to the declared schema, and idempotent."""

from __future__ import annotations

import asyncpg

from predhub.db import migrate
from predhub.db.connect import connect

DECLARED_TABLES = {
    ("bronze", "api_responses"),
    ("bronze", "response_sightings"),
    ("silver", "events"),
    ("silver", "markets"),
    ("silver", "outcomes"),
    ("silver", "quotes"),
    ("silver", "price_history"),
    ("silver", "trades"),
    ("silver", "order_book_snapshots"),
    ("ops", "loads"),
    ("ops", "quarantine"),
    ("ops", "sync_state"),
    ("ops", "jobs"),
    ("ops", "schema_migrations"),
    ("ops", "freshness_tiers"),
    ("ops", "api_keys"),
}


async def _tables(conn: asyncpg.Connection) -> set[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('bronze','silver','gold','ops') AND table_type = 'BASE TABLE'"
    )
    return {(r["table_schema"], r["table_name"]) for r in rows}


async def test_migrating_from_empty_gives_declared_schema(empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        assert await migrate.status(conn) == migrate.SchemaStatus(
            current=None,
            latest=migrate.available_migrations()[-1].version,
            pending=migrate.available_migrations(),
        )
        applied = await migrate.upgrade(conn)
        assert [m.version for m in applied] == [m.version for m in migrate.available_migrations()]
        assert await _tables(conn) >= DECLARED_TABLES
        exts = {r["extname"] for r in await conn.fetch("SELECT extname FROM pg_extension")}
        assert {"pg_trgm", "unaccent"} <= exts
        st = await migrate.status(conn)
        assert st.up_to_date and st.current == st.latest
    finally:
        await conn.close()


async def test_upgrade_is_idempotent(empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        await migrate.upgrade(conn)
        before = await _tables(conn)
        count = await conn.fetchval("SELECT count(*) FROM ops.schema_migrations")
        assert await migrate.upgrade(conn) == []
        assert await _tables(conn) == before
        assert await conn.fetchval("SELECT count(*) FROM ops.schema_migrations") == count
    finally:
        await conn.close()


async def test_full_text_search_covers_question_and_event_title(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO silver.markets (venue, native_id, question, event_title, description) "
        "VALUES ('polymarket', '1', 'Will the Fed cut rates?', 'FOMC December meeting', 'Rates')"
    )
    by_question = await conn.fetchval(
        "SELECT count(*) FROM silver.markets WHERE search_vector @@ plainto_tsquery('english', 'cut')"
    )
    by_event = await conn.fetchval(
        "SELECT count(*) FROM silver.markets WHERE search_vector @@ plainto_tsquery('english', 'FOMC')"
    )
    assert (by_question, by_event) == (1, 1)


async def test_prices_outside_unit_interval_are_rejected(conn: asyncpg.Connection) -> None:
    market_id = await conn.fetchval(
        "INSERT INTO silver.markets (venue, native_id, question) VALUES ('kalshi','K','q') RETURNING id"
    )
    outcome_id = await conn.fetchval(
        "INSERT INTO silver.outcomes (market_id, idx, label) VALUES ($1, 0, 'Yes') RETURNING id",
        market_id,
    )
    try:
        await conn.execute(
            "INSERT INTO silver.quotes (outcome_id, market_id, price, observed_at, fetched_at) "
            "VALUES ($1, $2, 1.5, now(), now())",
            outcome_id,
            market_id,
        )
    except asyncpg.CheckViolationError:
        pass
    else:
        raise AssertionError("a price of 1.5 was accepted")
