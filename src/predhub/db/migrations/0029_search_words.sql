-- Search reads a word's busiest matches by key, not its whole match list.
--
-- The text index (GIN) is read as a bitmap: a word's whole posting list is built
-- before the first candidate is ranked, so a search cost what its word's matches
-- did (at 550,000 markets a word of the simulated questions between rare and
-- common, such as "bitcoin" with 55,089 matches, made search's p99 4 times that at
-- 5,500). This table is the same words as a btree list per word, venue and status,
-- in the order search wants its candidates: the markets carrying the word in
-- their question first (weight A; the event title's words are B), then busiest
-- first, so the top of a word's list is a range read that stops after the page's
-- candidates, whatever the word's match count.
--
-- The busiest-first order is by a bucket of the 24 h volume (two a doubling:
-- about 41 % wide), not the volume itself: a volume change moves a market's rows
-- only when it crosses a bucket's edge, so the frequent volume updates write
-- nothing here; within a bucket the walk takes the lower ids first. Search ranks
-- the candidates by their exact rank and volume (service_catalog.sql, `search`).
--
-- Kept by the markets' own triggers in the writing transaction: a new market's
-- words by a statement trigger, a changed question, event title,
-- status, venue or volume bucket by a row trigger whose WHEN clause the executor
-- checks without a function call, so an update that changes none of them costs a
-- comparison; deleted and truncated markets' words with their children.

CREATE FUNCTION silver.search_bucket(volume numeric) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN volume IS NULL THEN -1::smallint
        ELSE floor(2 * ln(1 + greatest(volume, 0)::float8) / ln(2))::smallint END
$$;

CREATE TABLE silver.search_words (
    lexeme    text COLLATE "C" NOT NULL,
    venue     text NOT NULL,
    status    text NOT NULL,
    heavy     boolean NOT NULL,   -- in the question (weight A), not only the event title
    bucket    smallint NOT NULL,  -- silver.search_bucket(volume_24h): -1 for unknown
    market_id bigint NOT NULL
);

-- The walk: one range per word, venue and status, read in this order (an
-- index-only scan: the table's rows are never read by a search).
CREATE UNIQUE INDEX search_words_walk ON silver.search_words
    (lexeme, venue, status, heavy DESC, bucket DESC, market_id);

INSERT INTO silver.search_words (lexeme, venue, status, heavy, bucket, market_id)
SELECT w.lexeme, m.venue, m.status, 'A' = ANY(w.weights), silver.search_bucket(m.volume_24h), m.id
FROM silver.markets m, unnest(m.search_vector) w
ORDER BY 1, 2, 3, 4 DESC, 5 DESC, 6;

-- Search's walk: for each of `words`, venue and status, the first `n` markets of the
-- word's list. The ranges must be read in the index's order, so that each stops after
-- `n`: a bitmap scan with a sort, which the planner can take for a table fresh from a
-- bulk load (its visibility map unset) or for a word it thinks rare, reads a word's
-- whole list first, at the cost of its match count. The function's own settings
-- leave the ordered index scan; being a function with settings it is planned apart
-- from the query that calls it (as silver.search_matches is).
CREATE FUNCTION silver.search_walk(words text[], venues text[], statuses text[], n integer)
RETURNS TABLE (market_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $$
    SELECT x.market_id
    FROM unnest(words) AS w (lexeme)
    CROSS JOIN unnest(venues) AS v (venue)
    CROSS JOIN unnest(statuses) AS s (status)
    CROSS JOIN LATERAL (
        SELECT sw.market_id FROM silver.search_words sw
        WHERE sw.lexeme = w.lexeme COLLATE "C" AND sw.venue = v.venue AND sw.status = s.status
        ORDER BY sw.heavy DESC, sw.bucket DESC, sw.market_id
        LIMIT n
    ) x
$$;

-- A new market's words: a statement trigger of its own beside the one that queues the
-- market (the two share the statement's transition table).
CREATE FUNCTION silver.markets_inserted_search_words() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO silver.search_words (lexeme, venue, status, heavy, bucket, market_id)
    SELECT w.lexeme, m.venue, m.status, 'A' = ANY(w.weights),
           silver.search_bucket(m.volume_24h), m.id
    FROM new_rows m, unnest(m.search_vector) w;
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_inserted_search_words
    AFTER INSERT ON silver.markets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.markets_inserted_search_words();

-- A changed market's words: the old row's are deleted by their keys (the walk's
-- index, so no second index by market), the new row's inserted.
CREATE FUNCTION silver.market_search_words_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM silver.search_words s
    USING unnest(OLD.search_vector) w
    WHERE s.lexeme = w.lexeme COLLATE "C" AND s.venue = OLD.venue AND s.status = OLD.status
      AND s.heavy = ('A' = ANY(w.weights))
      AND s.bucket = silver.search_bucket(OLD.volume_24h) AND s.market_id = OLD.id;
    INSERT INTO silver.search_words (lexeme, venue, status, heavy, bucket, market_id)
    SELECT w.lexeme, NEW.venue, NEW.status, 'A' = ANY(w.weights),
           silver.search_bucket(NEW.volume_24h), NEW.id
    FROM unnest(NEW.search_vector) w;
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_search_words
    AFTER UPDATE ON silver.markets
    FOR EACH ROW
    WHEN (OLD.question IS DISTINCT FROM NEW.question
          OR OLD.event_title IS DISTINCT FROM NEW.event_title
          OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.venue IS DISTINCT FROM NEW.venue
          OR silver.search_bucket(OLD.volume_24h) IS DISTINCT FROM silver.search_bucket(NEW.volume_24h))
    EXECUTE FUNCTION silver.market_search_words_changed();

CREATE OR REPLACE FUNCTION silver.markets_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM silver.outcomes WHERE market_id IN (SELECT id FROM old_rows);
    DELETE FROM silver.market_sync WHERE market_id IN (SELECT id FROM old_rows);
    DELETE FROM silver.search_words s
    USING old_rows m, unnest(m.search_vector) w
    WHERE s.lexeme = w.lexeme COLLATE "C" AND s.venue = m.venue AND s.status = m.status
      AND s.heavy = ('A' = ANY(w.weights))
      AND s.bucket = silver.search_bucket(m.volume_24h) AND s.market_id = m.id;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION silver.markets_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM silver.outcomes;
    DELETE FROM silver.market_sync;
    TRUNCATE silver.search_words;
    RETURN NULL;
END;
$$;
