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
-- only changed rows are written, and only narrow ones (silver.market_sync). When a market enters
-- or leaves 'high', the venue's name is sent on predhub_high_markets (at commit) so its live
-- stream resubscribes at once, not on a timer.
WITH rules AS (
    SELECT m.id,
           CASE
               WHEN m.status IN ('resolved', 'voided')
                    AND coalesce(m.resolved_at, m.end_at, m.venue_updated_at, m.updated_at) >= $5
                    THEN 'low'
               WHEN m.status IN ('resolved', 'voided') THEN 'archived'
               WHEN s.interest_at >= $2 THEN 'high'
               WHEN m.status = 'open' AND (
                        coalesce(m.volume_24h, 0) >= $3
                        OR (m.end_at IS NOT NULL AND m.end_at > $6 AND m.end_at <= $4)) THEN 'high'
               WHEN m.status = 'open' THEN 'normal'
               WHEN coalesce(m.end_at, m.venue_updated_at, m.updated_at) >= $5 THEN 'normal'
               ELSE 'low'
           END AS priority,
           s.sync_priority AS was
    FROM silver.markets m JOIN silver.market_sync s ON s.market_id = m.id
    WHERE m.venue = $1
), changed AS (
    UPDATE silver.market_sync s SET sync_priority = r.priority
    FROM rules r
    WHERE s.market_id = r.id AND r.was IS DISTINCT FROM r.priority
    RETURNING r.was, r.priority
), told AS (
    SELECT pg_notify('predhub_high_markets', $1)
    WHERE EXISTS (SELECT 1 FROM changed WHERE was = 'high' OR priority = 'high')
)
SELECT (SELECT count(*) FROM changed) AS changed, (SELECT count(*) FROM told) AS told;

-- name: high_priority_markets
-- The venue's open high-priority markets to stream, busiest first, at most $2.
SELECT m.id FROM silver.market_sync s JOIN silver.markets m ON m.id = s.market_id
WHERE s.venue = $1 AND s.sync_priority = 'high' AND m.status = 'open'
ORDER BY m.volume_24h DESC NULLS LAST, m.id
LIMIT $2;

-- name: forget_trades_synced
-- A stream resyncs: the markets' trades are marked never synced, so the planner fetches them
-- first, and their quotes are no longer the stream's, so the REST re-read may write them.
UPDATE silver.market_sync SET trades_synced_at = NULL, quotes_streamed_until = NULL
WHERE market_id = ANY($1::bigint[]);

-- name: forget_quotes_synced
-- Marks the markets' quotes as never synced, so the planner re-reads them over REST.
UPDATE silver.market_sync SET quotes_synced_at = NULL WHERE market_id = ANY($1::bigint[]);

-- name: stamp_quotes_synced
-- Stamps the markets' quotes as synced at $2 (a stream message is a fresh quote) and as the
-- stream's until $3 (other writers leave them alone until then).
UPDATE silver.market_sync SET quotes_synced_at = $2, quotes_streamed_until = $3
WHERE market_id = ANY($1::bigint[]);

-- name: stamp_synced
-- Stamps one data kind of the markets as synced at $2 after a job loaded it; {column} is the
-- kind's `<kind>_synced_at` column, from the scheduler's own kind list.
UPDATE silver.market_sync SET {column} = $2 WHERE market_id = ANY($1::bigint[]);

-- name: due_market_states
-- The planner's input: the (market, kind) pairs due by $6 (now plus the wait for the next
-- cycle), the $8 most valuable first (what the cycle's budget could take, plus the busy
-- markets the planner leaves out). $2..$5 are parallel arrays of priority, kind, cadence in
-- seconds and value (the planner's priority value times kind value); a pair's score is its
-- overdue ratio times that value, a never-synced pair being $7 cadences overdue, as in the
-- planner. Each kind's best pairs within a priority are a prefix of that group, so the
-- planner chunks them as it would the whole set. One scan of the narrow sync rows and a
-- top-N sort: only those pairs reach Python, so its work follows the budget, not the
-- catalogue.
WITH c AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[])
        AS c (priority, kind, cadence, value)
)
SELECT s.market_id, s.sync_priority, k.kind, k.synced
FROM silver.market_sync s
CROSS JOIN LATERAL (VALUES ('quotes', s.quotes_synced_at), ('trades', s.trades_synced_at),
                           ('books', s.books_synced_at),
                           ('metadata', s.metadata_synced_at)) AS k (kind, synced)
JOIN c ON c.priority = s.sync_priority AND c.kind = k.kind
WHERE s.venue = $1 AND s.sync_priority <> 'archived'
  AND (k.synced IS NULL OR k.synced <= $6::timestamptz - make_interval(secs => c.cadence))
ORDER BY c.value * CASE WHEN k.synced IS NULL THEN $7::float8
                        ELSE extract(epoch FROM $6::timestamptz - k.synced) / c.cadence END DESC,
         s.market_id
LIMIT $8;

-- name: count_markets
-- How many markets the venue has, to tell a first load from a later one.
SELECT count(*) FROM silver.markets WHERE venue = $1;

-- name: try_plan_lock
-- Takes the venue's planning lock for this transaction if free, so one worker plans a venue at a
-- time.
SELECT pg_try_advisory_xact_lock(hashtext($1));
