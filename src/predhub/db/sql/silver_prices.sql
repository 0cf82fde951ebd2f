-- Silver price writers: current quotes, price history and order books
-- (predhub.ingest.silver.prices). Each merges a staged batch; staged rows whose market or
-- outcome silver does not hold come back as `unresolved` (their `ord`s).

-- name: upsert_staged_quotes
-- Template of the quotes upsert, filled in per mode from the price columns: only quotes
-- whose prices change are written; price and price_source are derived from the merged
-- row by the venue's display rule (silver.quote_price); each market with a changed quote
-- is announced on {channel} once, delivered when the transaction commits. Unless the writer
-- is the live stream ({streamed}), quotes of markets a stream owns now are left alone.
WITH res AS (
    SELECT t.*, o.id AS outcome_id, o.market_id, s.quotes_streamed_until
    FROM ingest_quotes_in t
    LEFT JOIN silver.markets m ON m.venue = t.venue AND m.native_id = t.market_native_id
    LEFT JOIN silver.outcomes o ON o.market_id = m.id AND o.idx = t.outcome_index
    LEFT JOIN silver.market_sync s ON s.market_id = m.id
), up AS (
    INSERT INTO silver.quotes AS q
        (outcome_id, market_id, {prices}, price_source, observed_at, fetched_at,
         bronze_id)
    SELECT r.outcome_id, r.market_id, {fresh}, {fresh_source},
           r.observed_at, r.fetched_at, r.bronze_id
    FROM res r LEFT JOIN silver.quotes cur ON cur.outcome_id = r.outcome_id
    WHERE r.outcome_id IS NOT NULL
      AND (cur.outcome_id IS NULL OR ({cur}) IS DISTINCT FROM ({incoming}))
      AND ({streamed} OR r.quotes_streamed_until IS NULL OR r.quotes_streamed_until <= now())
    ORDER BY r.outcome_id
    ON CONFLICT (outcome_id) DO UPDATE SET {sets}, price_source = {source},
        observed_at = excluded.observed_at, fetched_at = excluded.fetched_at,
        bronze_id = excluded.bronze_id
    WHERE ({old}) IS DISTINCT FROM ({new})
    RETURNING market_id, (xmax = 0) AS inserted
), changed AS (
    SELECT market_id, pg_notify({channel}, market_id::text) FROM up GROUP BY market_id
)
SELECT (SELECT count(*) FROM up WHERE inserted) AS inserted,
       (SELECT count(*) FROM up WHERE NOT inserted) AS updated,
       (SELECT coalesce(array_agg(market_id), '{}') FROM changed) AS markets,
       (SELECT coalesce(array_agg(ord), '{}') FROM res WHERE outcome_id IS NULL) AS unresolved

-- name: venue_of_quote
-- The venue of the stored quote `q` a conflicting insert meets, whose display rule
-- derives its price (a scalar subquery inside upsert_staged_quotes).
SELECT m.venue FROM silver.markets m WHERE m.id = q.market_id

-- name: upsert_staged_history
-- Stores staged price history points, one per outcome and timestamp; a point already
-- stored with the same price and source is left as it is.
WITH res AS (
    SELECT t.*, o.id AS outcome_id, o.market_id
    FROM ingest_history_in t
    LEFT JOIN silver.markets m ON m.venue = t.venue AND m.native_id = t.market_native_id
    LEFT JOIN silver.outcomes o ON o.market_id = m.id AND o.idx = t.outcome_index
), stored AS (
    -- points stored already (RETURNING cannot read xmax from a partitioned table)
    SELECT h.outcome_id, h.ts FROM res r
    JOIN silver.price_history h ON h.outcome_id = r.outcome_id AND h.ts = r.ts
), up AS (
    INSERT INTO silver.price_history AS h (outcome_id, ts, price, source, bronze_id)
    SELECT outcome_id, ts, price, 'venue', bronze_id FROM res WHERE outcome_id IS NOT NULL
    ORDER BY outcome_id, ts
    ON CONFLICT (outcome_id, ts) DO UPDATE SET price = excluded.price,
        source = excluded.source, bronze_id = excluded.bronze_id
    WHERE (h.price, h.source) IS DISTINCT FROM (excluded.price, excluded.source)
    RETURNING outcome_id, ts
), counted AS (
    SELECT (s.outcome_id IS NULL) AS inserted
    FROM up u LEFT JOIN stored s ON s.outcome_id = u.outcome_id AND s.ts = u.ts
)
SELECT (SELECT count(*) FROM counted WHERE inserted) AS inserted,
       (SELECT count(*) FROM counted WHERE NOT inserted) AS updated,
       (SELECT coalesce(array_agg(ord), '{}') FROM res WHERE outcome_id IS NULL) AS unresolved

-- name: insert_staged_books
-- Appends staged order book snapshots; one identical to the outcome's latest snapshot
-- (silver.order_book_latest) adds nothing and is skipped.
WITH res AS (
    SELECT t.*, o.id AS outcome_id, o.market_id
    FROM ingest_books_in t
    LEFT JOIN silver.markets m ON m.venue = t.venue AND m.native_id = t.market_native_id
    LEFT JOIN silver.outcomes o ON o.market_id = m.id AND o.idx = t.outcome_index
), ins AS (
    INSERT INTO silver.order_book_snapshots AS s
        (market_id, outcome_id, observed_at, fetched_at, best_bid, best_ask, bids, asks,
         book_hash, bronze_id)
    SELECT r.market_id, r.outcome_id, r.observed_at, r.fetched_at, r.best_bid, r.best_ask,
           r.bids::jsonb, r.asks::jsonb, r.book_hash, r.bronze_id
    FROM res r
    WHERE r.outcome_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM silver.order_book_latest latest
        WHERE latest.outcome_id = r.outcome_id
          AND latest.bids = r.bids::jsonb AND latest.asks = r.asks::jsonb
    )
    ORDER BY r.outcome_id
    ON CONFLICT (outcome_id, observed_at) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS inserted,
       (SELECT coalesce(array_agg(ord), '{}') FROM res WHERE outcome_id IS NULL) AS unresolved
