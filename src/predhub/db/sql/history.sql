-- Price history that keeps itself: sampling quote writes into silver.price_history,
-- marking the 15-minute buckets each write touched, rolling those buckets up
-- into 15-minute, hourly and daily OHLC, keeping each market's price changes,
-- and pruning each resolution past its retention.

-- name: sample_quotes
-- After a quote write, in its transaction: one history point per staged outcome whose
-- price differs from its latest point, or whose sampling bucket ($1 seconds for
-- high-priority markets, $2 otherwise) has begun since that point; stamped with the
-- write's fetch time (the table's trigger marks the buckets for the rollup). The latest
-- point is the narrow silver.price_latest row the same trigger keeps, so sampling opens
-- no weekly partition to find it.
WITH staged AS (
    SELECT DISTINCT ON (o.id) o.id AS outcome_id, sy.sync_priority, s.fetched_at
    FROM ingest_quotes_in s
    JOIN silver.markets m ON m.venue = s.venue AND m.native_id = s.market_native_id
    JOIN silver.market_sync sy ON sy.market_id = m.id
    JOIN silver.outcomes o ON o.market_id = m.id AND o.idx = s.outcome_index
    ORDER BY o.id, s.fetched_at DESC
), due AS (
    SELECT s.outcome_id, s.fetched_at AS ts, q.price
    FROM staged s
    JOIN silver.quotes q ON q.outcome_id = s.outcome_id
    LEFT JOIN silver.price_latest l ON l.outcome_id = s.outcome_id
    WHERE q.price IS NOT NULL
      AND (l.ts IS NULL OR (s.fetched_at > l.ts AND (
          l.price <> q.price
          OR date_bin(make_interval(secs => CASE WHEN s.sync_priority = 'high' THEN $1::float8
                                                 ELSE $2::float8 END),
                      s.fetched_at, 'epoch'::timestamptz) > l.ts)))
), ins AS (
    INSERT INTO silver.price_history AS h (outcome_id, ts, price, source)
    SELECT outcome_id, ts, price, 'quote' FROM due ORDER BY outcome_id
    ON CONFLICT (outcome_id, ts) DO UPDATE SET price = excluded.price, source = excluded.source
    RETURNING outcome_id, ts
)
SELECT count(*) AS points FROM ins

-- name: mark_trades
-- After trades are written: the 15-minute buckets they fall in are marked, so the
-- rollup counts their volume even when they arrive after the bucket's prices.
INSERT INTO silver.price_history_dirty (outcome_id, bucket)
SELECT DISTINCT k.outcome_id, date_bin('15 minutes', k.executed_at, 'epoch'::timestamptz)
FROM unnest($1::bigint[], $2::timestamptz[]) AS k (outcome_id, executed_at)
JOIN silver.outcomes o ON o.id = k.outcome_id
ORDER BY 1, 2
ON CONFLICT DO NOTHING

-- name: claim_rollup
-- The rollup's lease: the row stays locked by the rolling transaction, so a second
-- worker skips it; nothing is returned before the cadence ($2 seconds) has passed.
SELECT name FROM ops.history_rollup
WHERE name = 'rollup'
  AND (last_run_at IS NULL OR last_run_at <= $1::timestamptz - make_interval(secs => $2::float8))
FOR UPDATE SKIP LOCKED

-- name: take_dirty
-- The buckets to roll up, taken off the dirty set (at most $1 per run, oldest first)
-- into this transaction's temporary table; returns how many.
WITH taken AS (
    DELETE FROM silver.price_history_dirty d
    USING (SELECT outcome_id, bucket FROM silver.price_history_dirty
           ORDER BY bucket, outcome_id LIMIT $1 FOR UPDATE SKIP LOCKED) pick
    WHERE d.outcome_id = pick.outcome_id AND d.bucket = pick.bucket
    RETURNING d.outcome_id, d.bucket
), kept AS (
    INSERT INTO rollup_dirty (outcome_id, market_id, bucket)
    SELECT t.outcome_id, o.market_id, t.bucket
    FROM taken t JOIN silver.outcomes o ON o.id = t.outcome_id
    RETURNING 1
)
SELECT count(*) FROM kept

-- name: rollup_15m
-- 15-minute OHLC of the taken buckets from their points, with the traded size
-- where the venue's trades are known; a bucket whose points were pruned keeps its row.
INSERT INTO gold.market_price_history AS g
    (outcome_id, market_id, bucket, open, high, low, close, volume, points)
SELECT d.outcome_id, d.market_id, d.bucket, p.open, p.high, p.low, p.close, v.volume, p.points
FROM rollup_dirty d
CROSS JOIN LATERAL (
    SELECT (array_agg(h.price ORDER BY h.ts))[1] AS open, max(h.price) AS high,
           min(h.price) AS low, (array_agg(h.price ORDER BY h.ts DESC))[1] AS close,
           count(*)::int AS points
    FROM silver.price_history h
    WHERE h.outcome_id = d.outcome_id AND h.ts >= d.bucket
      AND h.ts < d.bucket + interval '15 minutes'
) p
LEFT JOIN LATERAL (
    SELECT sum(t.size) AS volume FROM silver.trades t
    WHERE t.market_id = d.market_id AND t.outcome_id = d.outcome_id
      AND t.executed_at >= d.bucket AND t.executed_at < d.bucket + interval '15 minutes'
) v ON true
WHERE p.points > 0
ORDER BY d.outcome_id, d.bucket
ON CONFLICT (outcome_id, bucket) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
    volume = excluded.volume, points = excluded.points

-- name: rollup_1h
-- Hourly OHLC of the hours holding a taken bucket, from their 15-minute rows.
INSERT INTO gold.market_price_history_1h AS g
    (outcome_id, market_id, bucket, open, high, low, close, volume, points)
SELECT k.outcome_id, k.market_id, k.hour,
       (array_agg(r.open ORDER BY r.bucket))[1], max(r.high), min(r.low),
       (array_agg(r.close ORDER BY r.bucket DESC))[1], sum(r.volume), sum(r.points)::int
FROM (SELECT DISTINCT outcome_id, market_id, date_trunc('hour', bucket) AS hour
      FROM rollup_dirty) k
JOIN gold.market_price_history r ON r.outcome_id = k.outcome_id
    AND r.bucket >= k.hour AND r.bucket < k.hour + interval '1 hour'
GROUP BY k.outcome_id, k.market_id, k.hour
ORDER BY k.outcome_id, k.hour
ON CONFLICT (outcome_id, bucket) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
    volume = excluded.volume, points = excluded.points

-- name: rollup_1d
-- Daily (UTC) OHLC of the days holding a taken bucket, from their hourly rows.
INSERT INTO gold.market_price_history_1d AS g
    (outcome_id, market_id, bucket, open, high, low, close, volume, points)
SELECT k.outcome_id, k.market_id, k.day,
       (array_agg(r.open ORDER BY r.bucket))[1], max(r.high), min(r.low),
       (array_agg(r.close ORDER BY r.bucket DESC))[1], sum(r.volume), sum(r.points)::int
FROM (SELECT DISTINCT outcome_id, market_id,
             date_bin('1 day', bucket, 'epoch'::timestamptz) AS day
      FROM rollup_dirty) k
JOIN gold.market_price_history_1h r ON r.outcome_id = k.outcome_id
    AND r.bucket >= k.day AND r.bucket < k.day + interval '1 day'
GROUP BY k.outcome_id, k.market_id, k.day
ORDER BY k.outcome_id, k.day
ON CONFLICT (outcome_id, bucket) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
    volume = excluded.volume, points = excluded.points

-- name: update_changes
-- The price changes of the markets the taken buckets belong to, of their first
-- outcome: its latest point against its latest point at or before $1 minus 1 hour,
-- 24 hours and 7 days (the latest point from silver.price_latest when it is not after
-- $1, so the usual case opens no weekly partition for it). Returns the markets updated.
WITH touched AS (
    SELECT DISTINCT market_id FROM rollup_dirty
), figures AS (
    SELECT t.market_id, cur.price, cur.ts,
           cur.price - h1.price AS change_1h, cur.price - h24.price AS change_24h,
           cur.price - h7.price AS change_7d
    FROM touched t
    JOIN silver.outcomes o ON o.market_id = t.market_id AND o.idx = 0
    JOIN silver.price_latest l ON l.outcome_id = o.id
    CROSS JOIN LATERAL (
        SELECT l.price, l.ts WHERE l.ts <= $1
        UNION ALL
        (SELECT h.price, h.ts FROM silver.price_history h
         WHERE h.outcome_id = o.id AND h.ts <= $1 AND l.ts > $1 ORDER BY h.ts DESC LIMIT 1)
        LIMIT 1) cur
    LEFT JOIN LATERAL (
        SELECT h.price FROM silver.price_history h
        WHERE h.outcome_id = o.id AND h.ts <= $1 - interval '1 hour'
        ORDER BY h.ts DESC LIMIT 1) h1 ON true
    LEFT JOIN LATERAL (
        SELECT h.price FROM silver.price_history h
        WHERE h.outcome_id = o.id AND h.ts <= $1 - interval '24 hours'
        ORDER BY h.ts DESC LIMIT 1) h24 ON true
    LEFT JOIN LATERAL (
        SELECT h.price FROM silver.price_history h
        WHERE h.outcome_id = o.id AND h.ts <= $1 - interval '7 days'
        ORDER BY h.ts DESC LIMIT 1) h7 ON true
)
INSERT INTO gold.market_changes AS c
    (market_id, price, change_1h, change_24h, change_7d, as_of, updated_at)
SELECT market_id, price, change_1h, change_24h, change_7d, ts, $1 FROM figures
ORDER BY market_id
ON CONFLICT (market_id) DO UPDATE SET
    price = excluded.price, change_1h = excluded.change_1h,
    change_24h = excluded.change_24h, change_7d = excluded.change_7d,
    as_of = excluded.as_of, updated_at = excluded.updated_at
RETURNING market_id

-- name: finish_rollup
-- Record the run: when, how many buckets and markets, how many rows pruned.
UPDATE ops.history_rollup
SET last_run_at = $1, last_buckets = $2, last_markets = $3, last_pruned = $4,
    lease_owner = $5, lease_expires_at = NULL
WHERE name = 'rollup'

-- name: dirty_between
-- Whether a bucket in [$1, $2) still waits for the rollup (its week of points must stay).
SELECT EXISTS (
    SELECT 1 FROM silver.price_history_dirty WHERE bucket >= $1 AND bucket < $2
)

-- name: add_pruned
-- Adds the points dropped after the rollup committed to its last run's pruned rows.
UPDATE ops.history_rollup SET last_pruned = last_pruned + $1 WHERE name = 'rollup'

-- name: prune_15m
-- 15-minute rows older than $1 (only when their retention is set).
DELETE FROM gold.market_price_history WHERE bucket < $1

-- name: prune_1h
-- Hourly rows older than $1 (only when their retention is set).
DELETE FROM gold.market_price_history_1h WHERE bucket < $1

-- name: create_rollup_temp
-- The buckets one rollup took, for the rest of its transaction.
CREATE TEMP TABLE IF NOT EXISTS rollup_dirty (
    outcome_id bigint NOT NULL, market_id bigint NOT NULL, bucket timestamptz NOT NULL
) ON COMMIT DELETE ROWS

-- name: backfill_candidates
-- A venue's markets never backfilled and in no live or recently failed backfill job,
-- high priority and busiest first, at most $2: each is queued once, and a job cut
-- short resumes with the markets it did not stamp.
SELECT m.id FROM silver.market_sync s JOIN silver.markets m ON m.id = s.market_id
WHERE s.venue = $1 AND s.history_synced_at IS NULL AND s.sync_priority <> 'archived'
  AND NOT EXISTS (
      SELECT 1 FROM ops.jobs j
      WHERE j.venue = $1 AND j.kind = 'backfill' AND j.status IN ('queued', 'running', 'failed')
        AND j.market_ids @> ARRAY[m.id])
  -- one backfill job of a venue at a time: the budget goes to fresh data first
  AND NOT EXISTS (
      SELECT 1 FROM ops.jobs j
      WHERE j.venue = $1 AND j.kind = 'backfill' AND j.status IN ('queued', 'running'))
ORDER BY (s.sync_priority = 'high') DESC, m.volume_24h DESC NULLS LAST, m.id
LIMIT $2
