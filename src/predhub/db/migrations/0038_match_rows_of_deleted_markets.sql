-- What the matcher keeps of a market goes with the market.
--
-- gold.match_inputs (a digest of the market's matching inputs, migration 0030) and
-- gold.match_tokens (its blocking tokens) carry no reference to silver.markets:
-- the matcher writes them in its own run. A deleted market's rows stayed: its
-- digest for good, its tokens until the next full run, each counted in every
-- token's rarity meanwhile. The matcher never sees a deleted market on the change
-- stream (its row is gone), so the market's own statement removes them, as it
-- removes the market's other children (migration 0028), by the tables' market
-- indexes (the digests' primary key, match_tokens_market_idx); a TRUNCATE of the
-- markets empties both.

CREATE OR REPLACE FUNCTION silver.markets_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM silver.outcomes WHERE market_id IN (SELECT id FROM old_rows);
    DELETE FROM silver.market_sync WHERE market_id IN (SELECT id FROM old_rows);
    DELETE FROM silver.search_words WHERE market_id IN (SELECT id FROM old_rows);
    DELETE FROM gold.match_inputs WHERE market_id IN (SELECT id FROM old_rows);
    DELETE FROM gold.match_tokens WHERE market_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION silver.markets_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM silver.outcomes;
    DELETE FROM silver.market_sync;
    TRUNCATE silver.search_words;
    TRUNCATE gold.match_tokens, gold.match_inputs;
    RETURN NULL;
END;
$$;

-- Rows of markets deleted before this migration.
DELETE FROM gold.match_inputs i
WHERE NOT EXISTS (SELECT 1 FROM silver.markets m WHERE m.id = i.market_id);
DELETE FROM gold.match_tokens t
WHERE NOT EXISTS (SELECT 1 FROM silver.markets m WHERE m.id = t.market_id);
