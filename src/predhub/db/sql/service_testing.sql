-- Rows written by the service test helpers (predhub.service.testing): what ingestion
-- would have written, so service and API tests can start from a known database.

-- name: upsert_event
-- Inserts (or finds) a test event and returns its id.
INSERT INTO silver.events (venue, native_id, title, category)
VALUES ($1, $2, $3, $4)
ON CONFLICT (venue, native_id) DO UPDATE SET title = EXCLUDED.title
RETURNING id;

-- name: insert_market
-- Inserts a test market (with its venue-specific `extra`) and returns its id.
INSERT INTO silver.markets (venue, native_id, question, status, condition_id, ticker,
    slug, category, description, event_id, event_native_id, event_title, volume_24h,
    volume_total, liquidity, end_at, winning_outcome, resolved_at, extra)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,
    CASE WHEN $4 = 'resolved' THEN $18::timestamptz END, $19::text::jsonb)
RETURNING id;

-- name: stamp_market_synced
-- Stamps a test market's quotes and metadata as synced at $2 in its sync row (made by the
-- insert's trigger), as a load would.
UPDATE silver.market_sync SET quotes_synced_at = $2, metadata_synced_at = $2
WHERE market_id = $1;

-- name: insert_outcome
-- Inserts one outcome of a test market and returns its id.
INSERT INTO silver.outcomes (market_id, idx, label, token_id) VALUES ($1, $2, $3, $4) RETURNING id;

-- name: insert_quote
-- Inserts an outcome's quote as ingestion would.
INSERT INTO silver.quotes (outcome_id, market_id, best_bid, best_ask, mid, price,
    price_source, observed_at, fetched_at)
VALUES ($1, $2, $3, $4, $5, $5, 'mid', $6, $6);

-- name: outcomes_of_market
-- A market's outcomes in order.
SELECT id, idx FROM silver.outcomes WHERE market_id = $1 ORDER BY idx;

-- name: upsert_quote
-- Writes an outcome's new price as ingestion would after fetching quotes.
INSERT INTO silver.quotes (outcome_id, market_id, mid, price, observed_at,
    fetched_at)
VALUES ($1, $2, $3, $3, $4, $4)
ON CONFLICT (outcome_id) DO UPDATE SET mid = EXCLUDED.mid,
    price = EXCLUDED.price, observed_at = EXCLUDED.observed_at,
    fetched_at = EXCLUDED.fetched_at;

-- name: stamp_quotes_synced
-- Stamps the market's quotes as synced at $2.
UPDATE silver.market_sync SET quotes_synced_at = $2 WHERE market_id = $1;

-- name: notify_quotes
-- Tells every listening process the market's quotes changed, as ingestion does.
SELECT pg_notify('predhub_quotes', $1);
