-- What a venue worker reads and stamps (predhub.scheduler.worker, priority, periodic, streams):
-- market states for the planner, sync priorities, periodic slots and the stream set.

-- name: claim_schedule_slot
-- Claims slot $3 of a periodic schedule for the venue; one process wins a slot, and the previous
-- watermark says whether it is the first ever.
INSERT INTO ops.sync_state AS s (venue, kind, watermark, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (venue, kind) DO UPDATE SET watermark = EXCLUDED.watermark,
                                        updated_at = EXCLUDED.updated_at
WHERE s.watermark IS NULL OR s.watermark::bigint < EXCLUDED.watermark::bigint
RETURNING (xmax = 0) AS first;

-- name: recompute_priorities
-- Re-derives sync_priority for every market of the venue from status, dates, volume and interest;
-- only changed rows are written. When a market enters or leaves 'high', the venue's name is sent
-- on predhub_high_markets (at commit) so its live stream resubscribes at once, not on a timer.
WITH rules AS (
    SELECT id, sync_priority AS was,
           CASE
               WHEN status IN ('resolved', 'voided')
                    AND coalesce(resolved_at, end_at, venue_updated_at, updated_at) >= $5
                    THEN 'low'
               WHEN status IN ('resolved', 'voided') THEN 'archived'
               WHEN interest_at >= $2 THEN 'high'
               WHEN status = 'open' AND (
                        coalesce(volume_24h, 0) >= $3
                        OR (end_at IS NOT NULL AND end_at > $6 AND end_at <= $4)) THEN 'high'
               WHEN status = 'open' THEN 'normal'
               WHEN coalesce(end_at, venue_updated_at, updated_at) >= $5 THEN 'normal'
               ELSE 'low'
           END AS priority
    FROM silver.markets
    WHERE venue = $1
), changed AS (
    UPDATE silver.markets m SET sync_priority = r.priority
    FROM rules r
    WHERE m.id = r.id AND m.sync_priority IS DISTINCT FROM r.priority
    RETURNING r.was, r.priority
), told AS (
    SELECT pg_notify('predhub_high_markets', $1)
    WHERE EXISTS (SELECT 1 FROM changed WHERE was = 'high' OR priority = 'high')
)
SELECT (SELECT count(*) FROM changed) AS changed, (SELECT count(*) FROM told) AS told;

-- name: high_priority_markets
-- The venue's open high-priority markets to stream, busiest first, at most $2.
SELECT id FROM silver.markets
WHERE venue = $1 AND sync_priority = 'high' AND status = 'open'
ORDER BY volume_24h DESC NULLS LAST, id
LIMIT $2;

-- name: forget_trades_synced
-- A stream resyncs: the markets' trades are marked never synced, so the planner fetches them
-- first, and their quotes are no longer the stream's, so the REST re-read may write them.
UPDATE silver.markets SET trades_synced_at = NULL, quotes_streamed_until = NULL
WHERE id = ANY($1::bigint[]);

-- name: forget_quotes_synced
-- Marks the markets' quotes as never synced, so the planner re-reads them over REST.
UPDATE silver.markets SET quotes_synced_at = NULL WHERE id = ANY($1::bigint[]);

-- name: stamp_quotes_synced
-- Stamps the markets' quotes as synced at $2 (a stream message is a fresh quote) and as the
-- stream's until $3 (other writers leave them alone until then).
UPDATE silver.markets SET quotes_synced_at = $2, quotes_streamed_until = $3
WHERE id = ANY($1::bigint[]);

-- name: stamp_synced
-- Stamps one data kind of the markets as synced at $2 after a job loaded it; {column} is the
-- kind's `<kind>_synced_at` column, from the scheduler's own kind list.
UPDATE silver.markets SET {column} = $2 WHERE id = ANY($1::bigint[]);

-- name: market_states
-- Every market of the venue with its priority and per-kind sync times: the planner's input.
SELECT id, sync_priority, quotes_synced_at, trades_synced_at, books_synced_at,
       metadata_synced_at
FROM silver.markets
WHERE venue = $1 AND sync_priority <> 'archived';

-- name: count_markets
-- How many markets the venue has, to tell a first load from a later one.
SELECT count(*) FROM silver.markets WHERE venue = $1;

-- name: try_plan_lock
-- Takes the venue's planning lock for this transaction if free, so one worker plans a venue at a
-- time.
SELECT pg_try_advisory_xact_lock(hashtext($1));
