-- Sync bookkeeping leaves the wide market row.
--
-- Each market's sync state (its priority, the last sync of each data kind,
-- the trades watermark and the last time an API caller asked for it) was kept
-- in silver.markets, a row of about 900 bytes with nine indexes and a search
-- vector. Every static load stamped metadata_synced_at on every market, and
-- every quote refresh stamped quotes_synced_at, so an unchanged venue
-- rewrote its whole catalogue (a new row version and an entry in every index
-- each time). The state now lives in silver.market_sync, one narrow row per
-- market (about 100 bytes), whose only indexes are on columns the stamps do
-- not write: a stamp is a HOT update of a small row, the wide row and its
-- indexes are written only when a market's content changes, and the
-- freshness engine's updates touch narrow rows alone.
CREATE TABLE silver.market_sync (
    market_id          bigint      PRIMARY KEY REFERENCES silver.markets (id) ON DELETE CASCADE,
    venue              text        NOT NULL,  -- the market's, copied once: planner reads stay here
    sync_priority      text        NOT NULL DEFAULT 'normal',
    metadata_synced_at timestamptz,
    quotes_synced_at   timestamptz,
    trades_synced_at   timestamptz,
    books_synced_at    timestamptz,
    history_synced_at  timestamptz,
    trades_watermark   text,        -- venue cursor or timestamp of the newest trade held
    interest_at        timestamptz, -- last time an API caller asked for this market
    CONSTRAINT market_sync_priority_check
        CHECK (sync_priority IN ('high', 'normal', 'low', 'archived'))
) WITH (fillfactor = 70);  -- room on each page, so stamps stay HOT updates

INSERT INTO silver.market_sync (market_id, venue, sync_priority, metadata_synced_at,
    quotes_synced_at, trades_synced_at, books_synced_at, history_synced_at, trades_watermark,
    interest_at)
SELECT id, venue, sync_priority, metadata_synced_at, quotes_synced_at, trades_synced_at,
       books_synced_at, history_synced_at, trades_watermark, interest_at
FROM silver.markets
ORDER BY id;

-- The planner and the stream set read a venue's markets by priority; the backfill
-- finds markets never history-synced (the predicate changes once per market).
CREATE INDEX market_sync_venue_priority_idx ON silver.market_sync (venue, sync_priority);
CREATE INDEX market_sync_history_pending_idx ON silver.market_sync (venue)
    WHERE history_synced_at IS NULL;
-- Markets wanted lately, counted per venue by the status routes (a range, not a scan).
CREATE INDEX market_sync_interest_idx ON silver.market_sync (interest_at)
    WHERE interest_at IS NOT NULL;

-- Every new market gets its sync row in the statement that inserts it (COPY included).
CREATE FUNCTION silver.market_sync_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO silver.market_sync (market_id, venue)
    SELECT id, venue FROM new_rows ORDER BY id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_inserted_sync
    AFTER INSERT ON silver.markets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.market_sync_inserted();

-- The API's caches and gold's rows show a market's quote and metadata sync times
-- (as_of, age): a new stamp announces the market and queues it for gold, as any shown
-- change of the wide row does (silver.market_row_changed).
CREATE FUNCTION silver.market_sync_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('predhub_market_changed', NEW.market_id::text);
    INSERT INTO ops.gold_changes (market_id) VALUES (NEW.market_id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER market_sync_changed_notify
    AFTER UPDATE ON silver.market_sync
    FOR EACH ROW
    WHEN ((NEW.quotes_synced_at, NEW.metadata_synced_at, NEW.sync_priority)
          IS DISTINCT FROM (OLD.quotes_synced_at, OLD.metadata_synced_at, OLD.sync_priority))
    EXECUTE FUNCTION silver.market_sync_changed();

-- A book sync that found the book unchanged still makes it current for arbitrage.
CREATE FUNCTION silver.market_sync_books_synced() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ops.gold_changes (market_id) VALUES (NEW.market_id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER market_sync_books_synced_gold
    AFTER UPDATE ON silver.market_sync
    FOR EACH ROW WHEN (NEW.books_synced_at IS DISTINCT FROM OLD.books_synced_at)
    EXECUTE FUNCTION silver.market_sync_books_synced();

DROP TRIGGER markets_books_synced_gold ON silver.markets;
DROP FUNCTION silver.books_synced();

-- The shown-change notification of the wide row, without the stamps.
DROP TRIGGER markets_changed_notify ON silver.markets;
CREATE TRIGGER markets_changed_notify
    AFTER UPDATE ON silver.markets
    FOR EACH ROW
    WHEN ((NEW.status, NEW.question, NEW.slug, NEW.winning_outcome, NEW.is_void,
           NEW.resolved_at, NEW.end_at, NEW.volume_24h, NEW.volume_total, NEW.liquidity,
           NEW.event_id, NEW.event_title, NEW.category)
          IS DISTINCT FROM
          (OLD.status, OLD.question, OLD.slug, OLD.winning_outcome, OLD.is_void,
           OLD.resolved_at, OLD.end_at, OLD.volume_24h, OLD.volume_total, OLD.liquidity,
           OLD.event_id, OLD.event_title, OLD.category))
    EXECUTE FUNCTION silver.market_row_changed();

-- Dropping the columns drops their indexes (interest, history pending, priority).
ALTER TABLE silver.markets
    DROP COLUMN trades_synced_at,
    DROP COLUMN books_synced_at,
    DROP COLUMN history_synced_at,
    DROP COLUMN trades_watermark,
    DROP COLUMN interest_at,
    DROP COLUMN sync_priority,
    DROP COLUMN quotes_synced_at,
    DROP COLUMN metadata_synced_at;
