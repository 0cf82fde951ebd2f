-- Ingestion: room for in-place updates, and the indexes the loads look up by.

-- Sync bookkeeping (metadata/trades/books/history stamps, the trade watermark)
-- updates market rows in place; free space on each page lets those updates be
-- HOT (no new index entries, including the search indexes).
ALTER TABLE silver.markets SET (fillfactor = 80);

-- The backfill and the resolution sweep look for these markets.
CREATE INDEX IF NOT EXISTS markets_history_pending_idx ON silver.markets (venue)
    WHERE history_synced_at IS NULL;
CREATE INDEX IF NOT EXISTS markets_closing_idx ON silver.markets (venue, end_at)
    WHERE status IN ('open', 'closed');
