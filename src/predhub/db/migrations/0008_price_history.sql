-- Price history that keeps itself: quote samples, rollups and price changes.
--
-- Every quote write samples `silver.price_history` (source 'quote'): a point
-- when the price changed or the outcome's sampling bucket (1 minute for
-- high-priority markets, 15 minutes otherwise) has passed since its latest
-- point. Venue history from the backfill lands there too (source 'venue').
-- Each write also records the 15-minute buckets it touched in
-- `silver.price_history_dirty`; the rollup recomputes exactly those buckets
-- (and the hours and days around them) and deletes what it took, so its cost
-- follows the change, never the length of history.

CREATE TABLE silver.price_history_dirty (
    outcome_id  bigint      NOT NULL REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    bucket      timestamptz NOT NULL,  -- start of the touched 15-minute bucket
    PRIMARY KEY (outcome_id, bucket)
);

CREATE FUNCTION silver.price_history_touched() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO silver.price_history_dirty (outcome_id, bucket)
    SELECT DISTINCT outcome_id, date_bin('15 minutes', ts, 'epoch'::timestamptz)
    FROM new_rows ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER price_history_inserted
    AFTER INSERT ON silver.price_history
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.price_history_touched();
CREATE TRIGGER price_history_updated
    AFTER UPDATE ON silver.price_history
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.price_history_touched();

-- OHLC per outcome and bucket. `volume` is the traded size in the bucket when
-- the venue reports trades (NULL otherwise); `points` counts the history points.
CREATE TABLE gold.market_price_history (          -- 15 minutes
    outcome_id  bigint      NOT NULL REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    market_id   bigint      NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    bucket      timestamptz NOT NULL,
    open        numeric     NOT NULL,
    high        numeric     NOT NULL,
    low         numeric     NOT NULL,
    close       numeric     NOT NULL,
    volume      numeric,
    points      integer     NOT NULL,
    PRIMARY KEY (outcome_id, bucket)
);
CREATE INDEX market_price_history_market_idx ON gold.market_price_history (market_id, bucket);

CREATE TABLE gold.market_price_history_1h (LIKE gold.market_price_history INCLUDING ALL);
ALTER TABLE gold.market_price_history_1h
    ADD FOREIGN KEY (outcome_id) REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    ADD FOREIGN KEY (market_id) REFERENCES silver.markets (id) ON DELETE CASCADE;

CREATE TABLE gold.market_price_history_1d (LIKE gold.market_price_history INCLUDING ALL);
ALTER TABLE gold.market_price_history_1d
    ADD FOREIGN KEY (outcome_id) REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    ADD FOREIGN KEY (market_id) REFERENCES silver.markets (id) ON DELETE CASCADE;

-- A market's price changes over 1 hour, 24 hours and 7 days, of its first
-- outcome (the "yes" side of a binary market), in probability points
-- (0.05 = five cents). Kept by the rollup for the markets it touched, so the
-- API sorts and serves them without reading history per request.
CREATE TABLE gold.market_changes (
    market_id   bigint      PRIMARY KEY REFERENCES silver.markets (id) ON DELETE CASCADE,
    price       numeric,               -- the latest history price
    change_1h   numeric,
    change_24h  numeric,
    change_7d   numeric,
    as_of       timestamptz NOT NULL,  -- the latest history point the figures use
    updated_at  timestamptz NOT NULL
);
CREATE INDEX market_changes_1h_idx ON gold.market_changes (change_1h);
CREATE INDEX market_changes_24h_idx ON gold.market_changes (change_24h);
CREATE INDEX market_changes_7d_idx ON gold.market_changes (change_7d);

-- The rollup's lease (one worker at a time) and its last run, for status.
CREATE TABLE ops.history_rollup (
    name              text PRIMARY KEY,
    lease_owner       text,
    lease_expires_at  timestamptz,
    last_run_at       timestamptz,
    last_buckets      integer     NOT NULL DEFAULT 0,
    last_markets      integer     NOT NULL DEFAULT 0,
    last_pruned       bigint      NOT NULL DEFAULT 0
);
INSERT INTO ops.history_rollup (name) VALUES ('rollup');

-- History that existed before this migration is rolled up once.
INSERT INTO silver.price_history_dirty (outcome_id, bucket)
SELECT DISTINCT outcome_id, date_bin('15 minutes', ts, 'epoch'::timestamptz)
FROM silver.price_history
ON CONFLICT DO NOTHING;

-- Pruning finds old points by time: a BRIN index is a few pages for millions of
-- mostly time-ordered rows and costs the write path next to nothing.
CREATE INDEX price_history_ts_brin ON silver.price_history USING brin (ts);
