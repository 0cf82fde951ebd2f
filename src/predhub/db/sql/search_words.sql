-- The search lists (silver.search_words, migrations 0029 and 0036), kept by the
-- worker from the market change stream (predhub.db.search_words).

-- name: keep
-- Make the rows of markets $1 their current words, venue, status and volume bucket,
-- writing only the difference: a market whose listed columns did not change (a
-- volume update within its bucket, a price) writes nothing. The markets are locked
-- against deletion for the statement's transaction, so a market deleted meanwhile
-- either loses these rows by its delete trigger or is not listed here (a deleted
-- row is skipped). The two sets written are disjoint, so the insert never meets a
-- row the delete removes. Returns the rows deleted and inserted.
WITH m AS (
    SELECT id, venue, status, search_vector, volume_24h FROM silver.markets
    WHERE id = ANY($1::bigint[])
    FOR KEY SHARE
), want AS (
    SELECT w.lexeme COLLATE "C" AS lexeme, m.venue, m.status, 'A' = ANY(w.weights) AS heavy,
           silver.search_bucket(m.volume_24h) AS bucket, m.id AS market_id
    FROM m, unnest(m.search_vector) w
), have AS (
    SELECT s.lexeme, s.venue, s.status, s.heavy, s.bucket, s.market_id
    FROM silver.search_words s WHERE s.market_id = ANY($1::bigint[])
), gone AS (
    DELETE FROM silver.search_words s
    USING (SELECT * FROM have EXCEPT SELECT * FROM want) g
    WHERE s.lexeme = g.lexeme AND s.venue = g.venue AND s.status = g.status
      AND s.heavy = g.heavy AND s.bucket = g.bucket AND s.market_id = g.market_id
    RETURNING 1
), added AS (
    INSERT INTO silver.search_words (lexeme, venue, status, heavy, bucket, market_id)
    SELECT * FROM want EXCEPT SELECT * FROM have
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone) AS deleted, (SELECT count(*) FROM added) AS inserted

-- name: all_market_ids
-- Every market, for a reader that starts over (its snapshot was ahead of the server's).
SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM silver.markets

-- name: orphans
-- Rows of markets that no longer exist, dropped when the reader starts over.
DELETE FROM silver.search_words s
WHERE NOT EXISTS (SELECT 1 FROM silver.markets m WHERE m.id = s.market_id)
