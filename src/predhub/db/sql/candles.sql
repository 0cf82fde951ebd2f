-- Candles of one outcome, each interval from the finest resolution it needs: 1- and
-- 5-minute candles from the points themselves, 15-minute from gold.market_price_history,
-- hourly and 4-hour from the hourly rollup, daily from the daily rollup. Every query
-- takes $1 market id, $2 outcome index, $3 seconds a candle, $4 start, $5 end. Prices
-- come back as float8: the API serves JSON numbers, and decoding thousands of numerics
-- per answer costs more than the query.

-- name: candles_points
-- Candles binned from the history points, with the traded size of each. Open and close
-- are the points whose neighbour in time lies in another candle (lag and lead over the
-- index order), so no candle sorts its own points.
WITH o AS (
    SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = $2
), pts AS (
    SELECT t, price, t IS DISTINCT FROM lag(t) OVER w AS first,
           t IS DISTINCT FROM lead(t) OVER w AS last
    FROM (
        SELECT date_bin(make_interval(secs => $3::float8), h.ts, 'epoch'::timestamptz) AS t,
               h.ts, h.price
        FROM silver.price_history h
        WHERE h.outcome_id = (SELECT id FROM o) AND h.ts >= $4 AND h.ts < $5
    ) x
    WINDOW w AS (ORDER BY ts)
), p AS (
    SELECT t, max(price) FILTER (WHERE first) AS open, max(price) AS high, min(price) AS low,
           max(price) FILTER (WHERE last) AS close, count(*)::int AS points
    FROM pts GROUP BY t
), v AS (
    SELECT date_bin(make_interval(secs => $3::float8), tr.executed_at, 'epoch'::timestamptz) AS t,
           sum(tr.size) AS volume
    FROM silver.trades tr
    WHERE tr.market_id = $1 AND tr.outcome_id = (SELECT id FROM o)
      AND tr.executed_at >= $4 AND tr.executed_at < $5
    GROUP BY 1
)
SELECT p.t, p.open::float8, p.high::float8, p.low::float8, p.close::float8, p.points,
       v.volume::float8
FROM p LEFT JOIN v ON v.t = p.t
ORDER BY p.t

-- name: candles_rollup
-- Candles from one rollup table: {table} is gold.market_price_history (15-minute),
-- its _1h or its _1d, named in code, never input.
SELECT date_bin(make_interval(secs => $3::float8), r.bucket, 'epoch'::timestamptz) AS t,
       ((array_agg(r.open ORDER BY r.bucket))[1])::float8 AS open, max(r.high)::float8 AS high,
       min(r.low)::float8 AS low, ((array_agg(r.close ORDER BY r.bucket DESC))[1])::float8 AS close,
       sum(r.points)::int AS points, sum(r.volume)::float8 AS volume
FROM {table} r
WHERE r.outcome_id = (SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = $2)
  AND r.bucket >= $4 AND r.bucket < $5
GROUP BY 1 ORDER BY 1

-- name: price_before
-- The outcome's last known price before $3, where a filled range starts from.
SELECT h.price::float8 FROM silver.price_history h
WHERE h.outcome_id = (SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = $2)
  AND h.ts < $3
ORDER BY h.ts DESC LIMIT 1

-- name: close_before
-- The same from the 15-minute rollup, for ranges older than the points kept.
SELECT r.close::float8 FROM gold.market_price_history r
WHERE r.outcome_id = (SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = $2)
  AND r.bucket < $3
ORDER BY r.bucket DESC LIMIT 1

-- name: price_at
-- Each outcome's price at $2 from history first: its latest point at or before then,
-- or the close of its latest 15-minute candle ended by then (points are pruned
-- before candles), whichever is later; else its latest trade at or before then.
-- Says which answered. The latest point (silver.price_latest) answers a time after
-- it without opening a weekly partition; only an earlier time walks the weeks back,
-- and an outcome without a latest point has no point to look for.
WITH hist AS (
    SELECT o.id AS outcome_id, o.idx, o.market_id,
           CASE WHEN r.ts IS NULL OR (h.ts IS NOT NULL AND h.ts >= r.ts) THEN h.price
                ELSE r.close END AS price,
           CASE WHEN r.ts IS NULL OR (h.ts IS NOT NULL AND h.ts >= r.ts) THEN h.ts
                ELSE r.ts END AS ts
    FROM silver.outcomes o
    LEFT JOIN silver.price_latest l ON l.outcome_id = o.id
    LEFT JOIN LATERAL (
        SELECT l.price, l.ts WHERE l.ts <= $2
        UNION ALL
        (SELECT price, ts FROM silver.price_history
         WHERE outcome_id = o.id AND ts <= $2 AND l.ts > $2 ORDER BY ts DESC LIMIT 1)
        LIMIT 1) h ON true
    LEFT JOIN LATERAL (
        SELECT close, bucket + interval '15 minutes' AS ts FROM gold.market_price_history
        WHERE outcome_id = o.id AND bucket <= $2 - interval '15 minutes'
        ORDER BY bucket DESC LIMIT 1) r ON true
    WHERE o.market_id = $1
)
SELECT hist.idx,
       coalesce(hist.price, t.price) AS price,
       coalesce(hist.ts, t.executed_at) AS ts,
       CASE WHEN hist.ts IS NOT NULL THEN 'history'
            WHEN t.executed_at IS NOT NULL THEN 'trades' END AS source
FROM hist
LEFT JOIN LATERAL (
    SELECT price, executed_at FROM silver.trades
    WHERE hist.ts IS NULL AND market_id = hist.market_id AND outcome_id = hist.outcome_id
      AND executed_at <= $2
    ORDER BY executed_at DESC LIMIT 1) t ON true
ORDER BY hist.idx
