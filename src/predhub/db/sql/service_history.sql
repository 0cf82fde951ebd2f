-- A market's history as the API serves it (predhub.service.history): trades newest
-- first, order books now or then, and the trades feed of the WebSocket fan-out (candles
-- and prices at a time are in candles.sql).

-- name: trades_page
-- The first page of a market's trades, newest first; one row more than the page says
-- whether there is a next one.
SELECT t.id, t.trade_key, o.idx AS outcome, t.price, t.size, t.side, t.executed_at,
       t.tx_hash
FROM silver.trades t LEFT JOIN silver.outcomes o ON o.id = t.outcome_id
WHERE t.market_id = $1
ORDER BY t.executed_at DESC, t.id DESC LIMIT $2;

-- name: trades_page_after
-- A later page of a market's trades: those before the cursor's ($3 executed_at, $4 id),
-- a keyset so pages stay stable while new trades arrive.
SELECT t.id, t.trade_key, o.idx AS outcome, t.price, t.size, t.side, t.executed_at,
       t.tx_hash
FROM silver.trades t LEFT JOIN silver.outcomes o ON o.id = t.outcome_id
WHERE t.market_id = $1 AND (t.executed_at, t.id) < ($3, $4)
ORDER BY t.executed_at DESC, t.id DESC LIMIT $2;

-- name: books
-- Each outcome's latest order book: from the narrow table the snapshots' trigger keeps,
-- so the current book reads no snapshot partition.
SELECT o.idx, b.observed_at, b.best_bid, b.best_ask, b.bids, b.asks
FROM silver.order_book_latest b JOIN silver.outcomes o ON o.id = b.outcome_id
WHERE b.market_id = $1
ORDER BY o.idx;

-- name: books_at
-- Each outcome's latest order book snapshot at or before $2: per outcome, the newest
-- partitions first, stopping at the first snapshot found (partitions after $2 are pruned).
SELECT o.idx, b.observed_at, b.best_bid, b.best_ask, b.bids, b.asks
FROM silver.outcomes o
CROSS JOIN LATERAL (
    SELECT s.observed_at, s.best_bid, s.best_ask, s.bids, s.asks
    FROM silver.order_book_snapshots s
    WHERE s.outcome_id = o.id AND s.observed_at <= $2
    ORDER BY s.observed_at DESC LIMIT 1
) b
WHERE o.market_id = $1
ORDER BY o.idx;

-- name: trades_after
-- New trades of many markets in one read: for each market $1[i], those with an id above
-- $2[i] (the last one sent), oldest first, capped so one burst stays one bounded read.
SELECT t.id, t.market_id, t.trade_key, o.idx AS outcome, t.price, t.size, t.side,
       t.executed_at, t.tx_hash
FROM silver.trades t
JOIN unnest($1::bigint[], $2::bigint[]) AS w(market_id, after)
  ON t.market_id = w.market_id AND t.id > w.after
LEFT JOIN silver.outcomes o ON o.id = t.outcome_id
ORDER BY t.id
LIMIT 5000;

-- name: last_trade_id
-- The id of a market's newest trade (0 when none), where a new subscriber's feed starts.
SELECT coalesce(max(id), 0) FROM silver.trades WHERE market_id = $1;
