-- Indexes for two reads whose cost should follow their answer, not the catalogue.
--
-- Candles: the hourly and daily rollups' primary keys carry the candle's values
-- (INCLUDE), so a range of one outcome's candles is an index-only scan of a few
-- leaf pages. Without them each candle was a heap fetch, and the rollup writes an
-- hour's row for every touched outcome at once, so one outcome's week of hourly rows
-- lies on up to 168 heap pages, read cold on a larger database.
--
-- Search: the text index's pending list (GIN fast update) is read whole by every
-- search; updates of a market that are not HOT (a volume change moves an indexed
-- column) add its row's words to it until a vacuum merges them. A smaller limit
-- (512 kB instead of the server's 4 MB) keeps what every search reads small; a
-- full list is merged into the index by the insert that fills it.

ALTER TABLE gold.market_price_history_1h
    DROP CONSTRAINT market_price_history_1h_pkey,
    ADD CONSTRAINT market_price_history_1h_pkey PRIMARY KEY (outcome_id, bucket)
        INCLUDE (open, high, low, close, points, volume);
ALTER TABLE gold.market_price_history_1d
    DROP CONSTRAINT market_price_history_1d_pkey,
    ADD CONSTRAINT market_price_history_1d_pkey PRIMARY KEY (outcome_id, bucket)
        INCLUDE (open, high, low, close, points, volume);

ALTER INDEX silver.markets_search_idx SET (gin_pending_list_limit = 512);

-- Search's first candidates: up to `n` matches as the text index yields them, with
-- their rank. A plain LIMIT over the match lets the planner prefer a sequential scan
-- that stops early, which costs it one `@@` test per row read: it estimated a common
-- word's 1,000 matches at the cost of the bitmap scan, and took 97 ms where the text
-- index took 1.4 ms. The function's own setting keeps the index path; being a
-- function with a setting it is planned apart from the query that calls it.
CREATE FUNCTION silver.search_matches(query tsquery, venues text[], statuses text[], n integer)
RETURNS TABLE (id bigint, rank real, volume_24h numeric)
LANGUAGE sql STABLE PARALLEL SAFE
SET enable_seqscan = off
AS $$
    SELECT m.id, ts_rank(m.search_vector, query), m.volume_24h
    FROM silver.markets m
    WHERE m.search_vector @@ query AND m.venue = ANY(venues) AND m.status = ANY(statuses)
    LIMIT n
$$;
