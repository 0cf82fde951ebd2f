-- Bulk exports (predhub.service.export): plain SELECTs streamed out with COPY ... TO STDOUT
-- (FORMAT csv), so PostgreSQL formats the rows and the hub never holds more than a batch.
-- Times are ISO 8601 in UTC with microseconds, numbers as PostgreSQL prints them; the
-- column lists match the Arrow schemas in predhub.service.export.

-- name: trades_of_market
-- One market's trades, newest first (the order of the trades route's pages).
SELECT t.id, t.venue, t.market_id, o.idx AS outcome, t.price, t.size, t.side,
       to_char(t.executed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS executed_at,
       t.trade_key, t.tx_hash
FROM silver.trades t LEFT JOIN silver.outcomes o ON o.id = t.outcome_id
WHERE t.market_id = $1
ORDER BY t.executed_at DESC, t.id DESC

-- name: trades_of_venue
-- A venue's trades executed in [$2, $3), oldest first; the export command asks one time
-- slice at a time, which the executed_at BRIN index narrows to the slice's blocks.
SELECT t.id, t.venue, t.market_id, o.idx AS outcome, t.price, t.size, t.side,
       to_char(t.executed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS executed_at,
       t.trade_key, t.tx_hash
FROM silver.trades t LEFT JOIN silver.outcomes o ON o.id = t.outcome_id
WHERE t.venue = $1 AND t.executed_at >= $2 AND t.executed_at < $3
ORDER BY t.executed_at, t.id

-- name: markets_of_venue
-- A venue's markets, one row per outcome with its current quote (long format: a fixed
-- set of columns whatever the number of outcomes).
SELECT m.id AS market_id, m.venue, m.native_id, m.condition_id, m.ticker, m.slug, m.question,
       m.category, m.status,
       to_char(m.end_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS end_at,
       m.volume_24h, m.volume_total, m.liquidity, o.idx AS outcome, o.label AS outcome_label,
       o.token_id, q.price, q.best_bid, q.best_ask
FROM silver.markets m
JOIN silver.outcomes o ON o.market_id = m.id
LEFT JOIN silver.quotes q ON q.outcome_id = o.id
WHERE m.venue = $1
ORDER BY m.id, o.idx

-- name: history_of_venue
-- A venue's price history points in [$2, $3), oldest first (the ts BRIN index narrows
-- the scan to the slice).
SELECT o.market_id, o.idx AS outcome,
       to_char(h.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts,
       h.price, h.source
FROM silver.price_history h
JOIN silver.outcomes o ON o.id = h.outcome_id
JOIN silver.markets m ON m.id = o.market_id
WHERE m.venue = $1 AND h.ts >= $2 AND h.ts < $3
ORDER BY h.ts, o.market_id, o.idx
