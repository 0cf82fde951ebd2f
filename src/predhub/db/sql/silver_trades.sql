-- Silver trades writer: append-only, deduplicated by the venue's trade key
-- (predhub.ingest.silver.trades).

-- name: trade_targets
-- The silver ids of the batch's markets with their outcomes' ids, by index and token,
-- in one query, so trades can be COPYed straight in.
SELECT m.venue, m.native_id, m.id AS market_id, o.idx, o.token_id, o.id AS outcome_id
FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS k (venue, native_id)
JOIN silver.markets m ON m.venue = k.venue AND m.native_id = k.native_id
LEFT JOIN silver.outcomes o ON o.market_id = m.id

-- name: stored_trade_keys
-- Stored trades that could repeat the batch's: per market, those at or after the batch's
-- oldest trade of that market. One index range scan a market (a page of new trades finds
-- none), not one probe a trade. A repeat this misses (a venue re-dating a trade) still
-- cannot be stored twice: the COPY meets the unique key and the batch takes the staged path.
SELECT t.venue, t.trade_key
FROM unnest($1::bigint[], $2::timestamptz[]) AS k (market_id, since)
JOIN silver.trades t ON t.market_id = k.market_id AND t.executed_at >= k.since

-- name: notify_trades
-- Tells the live feeds on {channel} which markets gained trades (delivered at commit).
SELECT pg_notify({channel}, m::text) FROM unnest($1::bigint[]) AS m

-- name: insert_staged_trades
-- The always-correct path, after a concurrent writer stored some of the same trades:
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
        SELECT 1 FROM silver.trades cur WHERE cur.venue = r.venue AND cur.trade_key = r.trade_key
    )
    ORDER BY venue, trade_key
    ON CONFLICT (venue, trade_key) DO NOTHING
    RETURNING market_id
), gained AS (
    SELECT market_id, pg_notify({channel}, market_id::text) FROM ins GROUP BY market_id
)
SELECT (SELECT count(*) FROM ins) AS inserted,
       (SELECT coalesce(array_agg(market_id), '{}') FROM gained) AS markets,
       (SELECT coalesce(array_agg(ord), '{}') FROM res WHERE market_id IS NULL) AS unresolved
