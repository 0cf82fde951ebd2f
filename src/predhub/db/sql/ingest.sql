-- Bookkeeping and read-backs of the ingestion pipeline (predhub.ingest): load runs,
-- watermarks, quarantine, the markets a load works on and their sync stamps.

-- name: begin_load
-- Opens an ops.loads row; its id tags the bronze responses the load stores.
INSERT INTO ops.loads (venue, kind) VALUES ($1, $2) RETURNING id

-- name: finish_load
-- Closes a load with its status, its stats as jsonb and the error that ended it, if any.
UPDATE ops.loads SET finished_at = now(), status = $2, stats = $3::text::jsonb, error = $4
WHERE id = $1

-- name: get_watermark
-- Where the last delta load of this venue and kind stopped.
SELECT watermark FROM ops.sync_state WHERE venue = $1 AND kind = $2

-- name: set_watermark
-- Records where a delta load stopped, so the next one resumes after it.
INSERT INTO ops.sync_state (venue, kind, watermark) VALUES ($1, $2, $3)
ON CONFLICT (venue, kind) DO UPDATE SET watermark = excluded.watermark, updated_at = now()

-- name: insert_quarantine
-- Keeps items that failed validation with their bronze response and reason; nothing is
-- dropped silently. Arrays, one element per item.
INSERT INTO ops.quarantine (bronze_id, venue, endpoint, item_id, reason, item)
SELECT b, v, e, i, r, j::jsonb
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
     AS u(b, v, e, i, r, j)

-- name: held_markets
-- The venue address (ids, slug, outcome indexes and tokens) and sync state of the
-- requested markets, the form adapters need to fetch them again.
SELECT m.id, m.native_id, m.condition_id, m.ticker, m.slug, m.event_native_id, m.status,
       s.trades_watermark,
       coalesce(array_agg(o.idx ORDER BY o.idx) FILTER (WHERE o.id IS NOT NULL), '{}') AS idx,
       coalesce(array_agg(o.token_id ORDER BY o.idx) FILTER (WHERE o.id IS NOT NULL), '{}')
           AS tokens
FROM silver.markets m
JOIN silver.market_sync s ON s.market_id = m.id
LEFT JOIN silver.outcomes o ON o.market_id = m.id
WHERE m.venue = $1 AND m.id = ANY($2::bigint[])
GROUP BY m.id, s.trades_watermark

-- name: market_ids_by_native
-- Silver ids of a venue's markets named by their native ids.
SELECT native_id, id FROM silver.markets WHERE venue = $1 AND native_id = ANY($2::text[])

-- name: stamp_synced
-- Records that these markets' {column} data was synced at $2 (read by the scheduler): a
-- narrow row each, never the wide market row. Rows are locked in id order, as every stamp
-- does, so two stamping transactions cannot deadlock. {column} is one of the sync-time
-- columns named in code, never input.
UPDATE silver.market_sync s SET {column} = $2
FROM (SELECT market_id FROM silver.market_sync WHERE market_id = ANY($1::bigint[])
      ORDER BY market_id FOR UPDATE) l
WHERE s.market_id = l.market_id

-- name: advance_trades
-- A market's trades are synced up to a watermark (kept when the page gave none).
UPDATE silver.market_sync SET trades_watermark = coalesce($2, trades_watermark),
    trades_synced_at = now()
WHERE market_id = $1

-- name: advance_trades_many
-- Several markets' trades are synced, each up to its own watermark (kept where none is
-- given); rows are locked in id order, as every stamp does.
UPDATE silver.market_sync m SET trades_watermark = coalesce(w.watermark, m.trades_watermark),
    trades_synced_at = now()
FROM (SELECT s.id, s.watermark
      FROM unnest($1::bigint[], $2::text[]) AS s(id, watermark)
      JOIN (SELECT market_id FROM silver.market_sync WHERE market_id = ANY($1::bigint[])
            ORDER BY market_id FOR UPDATE) l
        ON l.market_id = s.id) w
WHERE m.market_id = w.id

-- name: markets_never_trades_synced
-- A venue's markets whose trades were never synced, busiest first, for the backfill.
SELECT m.id FROM silver.market_sync s JOIN silver.markets m ON m.id = s.market_id
WHERE s.venue = $1 AND s.trades_synced_at IS NULL
ORDER BY m.volume_24h DESC NULLS LAST, m.id

-- name: markets_never_history_synced
-- A venue's markets whose price history was never synced, busiest first, for the backfill.
SELECT m.id FROM silver.market_sync s JOIN silver.markets m ON m.id = s.market_id
WHERE s.venue = $1 AND s.history_synced_at IS NULL
ORDER BY m.volume_24h DESC NULLS LAST, m.id

-- name: markets_to_sweep
-- Markets past their end (or closed) whose resolution is not final, to re-read: every hour
-- while they ended recently ($2 is how far back "recently" reaches), and, once older, those
-- never re-read during that window (a market that resolved while the hub was down). Only
-- unresolved markets are scanned (markets_closing_idx), so the cost follows them, not the
-- catalogue.
SELECT m.id FROM silver.markets m JOIN silver.market_sync s ON s.market_id = m.id
WHERE m.venue = $1
  AND m.status IN ('open', 'closed')
  AND (m.status = 'closed' OR m.end_at < now())
  AND (m.end_at IS NULL OR m.end_at > now() - $2::interval
       OR s.metadata_synced_at IS NULL OR s.metadata_synced_at < m.end_at + $2::interval)
ORDER BY m.end_at DESC NULLS LAST

-- name: busiest_open_markets
-- The N busiest open markets of a venue (all of them when $2 is NULL), for a trades load.
SELECT id FROM silver.markets WHERE venue = $1 AND status = 'open'
ORDER BY volume_24h DESC NULLS LAST, id LIMIT $2

-- name: history_pending
-- Of these markets (a history load's page), the ones whose trades still need reading (never
-- synced, or last synced before the market ended) and whose price history was never synced.
SELECT m.id,
       (s.trades_synced_at IS NULL OR m.end_at IS NULL OR s.trades_synced_at < m.end_at) AS trades,
       s.history_synced_at IS NULL AS history,
       m.end_at
FROM silver.markets m JOIN silver.market_sync s ON s.market_id = m.id
WHERE m.venue = $1 AND m.id = ANY($2::bigint[])
ORDER BY m.id
