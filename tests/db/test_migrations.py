"""Migrations: from empty to the committed schema dump, and idempotent."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from predhub.db import migrate
from predhub.db.connect import connect
from predhub.db.schema_dump import dump_schema

SCHEMA_DUMP = Path(migrate.__file__).with_name("schema.sql")


async def _tables(conn: asyncpg.Connection) -> set[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('bronze','silver','gold','ops') AND table_type = 'BASE TABLE'"
    )
    return {(r["table_schema"], r["table_name"]) for r in rows}


async def test_migrating_from_empty_gives_the_committed_schema(empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        assert await migrate.status(conn) == migrate.SchemaStatus(
            current=None,
            latest=migrate.available_migrations()[-1].version,
            pending=migrate.available_migrations(),
        )
        applied = await migrate.upgrade(conn)
        assert [m.version for m in applied] == [m.version for m in migrate.available_migrations()]
        dumped = await dump_schema(conn)
        assert dumped == SCHEMA_DUMP.read_text(encoding="utf-8"), (
            "the migrated schema differs from src/predhub/db/schema.sql; if the change is "
            "meant, refresh it with `predhub db dump-schema > src/predhub/db/schema.sql` "
            "against a freshly migrated database"
        )
        exts = {r["extname"] for r in await conn.fetch("SELECT extname FROM pg_extension")}
        assert not exts & {"pg_trgm", "unaccent"}  # nothing uses them; no server must have them
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


async def test_the_dump_shows_a_schema_change(empty_db_url: str) -> None:
    """The comparison above can fail: a column added by hand appears in the dump."""
    conn = await connect(empty_db_url)
    try:
        await migrate.upgrade(conn)
        before = await dump_schema(conn)
        await conn.execute("ALTER TABLE silver.trades ADD COLUMN fee numeric DEFAULT 0")
        after = await dump_schema(conn)
    finally:
        await conn.close()
    assert before != after and "    fee numeric DEFAULT 0" in after
