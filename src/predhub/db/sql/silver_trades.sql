-- Silver trades writer: append-only, deduplicated by the venue's trade key
-- (predhub.ingest.silver.trades).

-- name: trade_targets
-- The silver ids of the batch's markets with their outcomes' ids, by index and token,
-- in one query, so trades can be COPYed straight in.
SELECT m.venue, m.native_id, m.id AS market_id, o.idx, o.token_id, o.id AS outcome_id
FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS k (venue, native_id)
JOIN silver.markets m ON m.venue = k.venue AND m.native_id = k.native_id
LEFT JOIN silver.outcomes o ON o.market_id = m.id

-- name: lock_markets
-- Serialises the trade writers of each market ($1, sorted by the caller: no lock-order
-- deadlock) to the end of the transaction, so finding the stored keys and storing the
-- rest is one step: two writers of one trade (the stream and the REST sync) cannot both
-- find it missing. $2 is the lock namespace.
SELECT count(*) FROM (
    SELECT pg_advisory_xact_lock($2::int, (k & 2147483647)::int)
    FROM unnest($1::bigint[]) AS t(k)
) s

-- name: stored_trade_keys
-- The batch's trades stored already: the same venue and key within a day of the batch's
-- time (the unique key holds the time too, the partition key). Each probe reads the
-- unique index of the one or two partitions in that window.
SELECT k.venue, k.trade_key
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS k (venue, trade_key, at)
CROSS JOIN LATERAL (
    SELECT 1 FROM silver.trades t
    WHERE t.venue = k.venue AND t.trade_key = k.trade_key
      AND t.executed_at >= k.at - interval '1 day' AND t.executed_at <= k.at + interval '1 day'
    LIMIT 1
) hit

-- name: notify_trades
-- Tells the live feeds on {channel} which markets gained trades (delivered at commit).
SELECT pg_notify({channel}, m::text) FROM unnest($1::bigint[]) AS m

-- name: insert_staged_trades
-- The always-correct path, after the COPY met a trade stored meanwhile:
-- inserts the staged trades no one stored meanwhile and announces on {channel}, once
-- per market, the markets that gained trades.
WITH res AS (
    SELECT t.*, m.id AS market_id, coalesce(oi.id, ot.id) AS outcome_id
    FROM ingest_trades_in t
    LEFT JOIN silver.markets m ON m.venue = t.venue AND m.native_id = t.market_native_id
    -- by index: a hash join, not one index probe per trade
    LEFT JOIN silver.outcomes oi ON oi.market_id = m.id AND oi.idx = t.outcome_index
    -- by token, only for trades that carry no index
    LEFT JOIN LATERAL (
        SELECT o.id FROM silver.outcomes o
        WHERE t.outcome_index IS NULL AND o.market_id = m.id AND o.token_id = t.token_id
        LIMIT 1
    ) ot ON true
), ins AS (
    INSERT INTO silver.trades
        (venue, market_id, outcome_id, trade_key, price, size, side, executed_at, tx_hash,
         extra, bronze_id)
    SELECT venue, market_id, outcome_id, trade_key, price, size, side, executed_at, tx_hash,
           extra::jsonb, bronze_id
    FROM res r WHERE market_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM silver.trades cur
        WHERE cur.venue = r.venue AND cur.trade_key = r.trade_key
          AND cur.executed_at >= r.executed_at - interval '1 day'
          AND cur.executed_at <= r.executed_at + interval '1 day'
    )
    ORDER BY venue, trade_key
    ON CONFLICT (venue, trade_key, executed_at) DO NOTHING
    RETURNING market_id
), gained AS (
    SELECT market_id, pg_notify({channel}, market_id::text) FROM ins GROUP BY market_id
)
SELECT (SELECT count(*) FROM ins) AS inserted,
       (SELECT coalesce(array_agg(market_id), '{}') FROM gained) AS markets,
       (SELECT coalesce(array_agg(ord), '{}') FROM res WHERE market_id IS NULL) AS unresolved
