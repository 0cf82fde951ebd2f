-- The cross-venue matcher: its change log, its inverted index of blocking tokens,
-- candidate pairs found through shared rare tokens, and gold.market_matches.
-- Every statement is bounded by the markets that changed or by the pairs that
-- share a token few markets carry; decided rows (confirmed, rejected) are never
-- written by the matcher.

-- name: lock_match
-- One matcher run at a time (a transaction-scoped advisory lock).
SELECT pg_advisory_xact_lock(7370616)

-- name: changed_inputs
-- Of the markets written since the last run, those whose matching inputs changed (or
-- that the matcher never read): their digests are stored in the run's transaction, so
-- a failed run leaves them to the next one.
WITH d AS (
    SELECT m.id, gold.match_input_digest(m) AS digest
    FROM silver.markets m WHERE m.id = ANY($1::bigint[])
), up AS (
    INSERT INTO gold.match_inputs AS i (market_id, digest)
    SELECT id, digest FROM d ORDER BY id
    ON CONFLICT (market_id) DO UPDATE SET digest = excluded.digest
    WHERE i.digest <> excluded.digest
    RETURNING i.market_id
)
SELECT market_id FROM up

-- name: reset_inputs
-- A full run reads every market: every digest is rewritten from what it reads (after
-- truncate_tokens, which empties the digests too).
INSERT INTO gold.match_inputs (market_id, digest)
SELECT m.id, gold.match_input_digest(m) FROM silver.markets m

-- name: inputs
-- What the matcher reads of the given markets: text, close, status, the YES label of a
-- bracket or grouped outcome, and the outcomes (the YES side is the first).
SELECT m.id, m.venue, m.status, m.question, coalesce(m.event_title, e.title) AS event_title,
       m.description, m.end_at,
       coalesce(m.extra ->> 'yes_sub_title', m.extra ->> 'groupItemTitle') AS yes_label,
       coalesce(array_agg(o.id ORDER BY o.idx) FILTER (WHERE o.id IS NOT NULL), '{}') AS outcome_ids,
       coalesce(array_agg(o.label ORDER BY o.idx) FILTER (WHERE o.id IS NOT NULL), '{}') AS outcome_labels
FROM silver.markets m
LEFT JOIN silver.events e ON e.id = m.event_id
LEFT JOIN silver.outcomes o ON o.market_id = m.id
WHERE m.id = ANY($1::bigint[])
GROUP BY m.id, e.title

-- name: open_ids
-- Every open market of the listed venues (a full run's input).
SELECT id FROM silver.markets WHERE status = 'open' AND venue = ANY($1::text[]) ORDER BY id

-- name: truncate_tokens
-- A full run rebuilds the whole token index and every digest.
TRUNCATE gold.match_tokens, gold.match_inputs

-- name: delete_tokens
-- A changed market's old tokens go before its new ones are written.
DELETE FROM gold.match_tokens WHERE market_id = ANY($1::bigint[])

-- name: analyze_tokens
-- After a full run rebuilt the token index: fresh planner statistics, so that the
-- incremental runs that follow read it by key instead of scanning it.
ANALYZE gold.match_tokens
-- name: indexed_markets
-- The document count of the token weights ln(count / markets carrying the token): the
-- planner's estimate of silver's markets (the weights need its order of magnitude, and
-- reading it costs nothing however large the catalogue), counted only before any ANALYZE.
SELECT CASE WHEN c.reltuples > 0 THEN c.reltuples::bigint
            ELSE (SELECT count(*) FROM silver.markets) END
FROM pg_class c WHERE c.oid = 'silver.markets'::regclass

-- name: candidates_all
-- Pairs of markets on different venues sharing tokens that at most $1 markets carry,
-- closing within $2 seconds of each other, scored by the summed rarity of what they
-- share ($5 markets indexed); each market keeps its $3 best pairs scoring at least $4.
WITH df AS (
    SELECT token, ln($5::float8 / count(*)) AS w
    FROM gold.match_tokens
    GROUP BY token
    HAVING count(*) BETWEEN 2 AND $1
), pairs AS (
    SELECT a.market_id AS a, b.market_id AS b, sum(df.w) AS score
    FROM df
    JOIN gold.match_tokens a ON a.token = df.token
    JOIN gold.match_tokens b
      ON b.token = df.token AND b.market_id > a.market_id AND b.venue <> a.venue
    WHERE a.end_at IS NULL OR b.end_at IS NULL
       OR abs(extract(epoch FROM a.end_at - b.end_at)) <= $2
    GROUP BY a.market_id, b.market_id
), ranked AS (
    SELECT a, b, score,
           row_number() OVER (PARTITION BY a ORDER BY score DESC, b) AS ra,
           row_number() OVER (PARTITION BY b ORDER BY score DESC, a) AS rb
    FROM pairs WHERE score >= $4
)
SELECT a, b, score FROM ranked WHERE ra <= $3 OR rb <= $3

-- name: candidates_for
-- The same candidates for the changed markets $1 only: each of their tokens is counted
-- from the index by key, stopping past $2 (a common token does not block, however
-- common), so the cost follows the changed markets, not the catalogue.
WITH mine AS MATERIALIZED (
    SELECT token, market_id, venue, end_at FROM gold.match_tokens WHERE market_id = ANY($1::bigint[])
), df AS MATERIALIZED (
    SELECT t.token, ln($6::float8 / c.n) AS w
    FROM (SELECT DISTINCT token FROM mine) t
    CROSS JOIN LATERAL (
        SELECT count(*) AS n
        FROM (SELECT 1 FROM gold.match_tokens x WHERE x.token = t.token LIMIT $2 + 1) s
    ) c
    WHERE c.n BETWEEN 2 AND $2
), pairs AS (
    -- each kept token's markets are read by key (at most $2 of them, as counted)
    SELECT a.market_id AS a, b.market_id AS b, sum(df.w) AS score
    FROM df
    JOIN mine a ON a.token = df.token
    CROSS JOIN LATERAL (
        SELECT x.market_id, x.venue, x.end_at FROM gold.match_tokens x
        WHERE x.token = df.token LIMIT $2
    ) b
    WHERE b.venue <> a.venue AND b.market_id <> a.market_id
      AND (a.end_at IS NULL OR b.end_at IS NULL
           OR abs(extract(epoch FROM a.end_at - b.end_at)) <= $3)
    GROUP BY a.market_id, b.market_id
), ranked AS (
    SELECT a, b, score, row_number() OVER (PARTITION BY a ORDER BY score DESC, b) AS r
    FROM pairs WHERE score >= $5
)
SELECT least(a, b) AS a, greatest(a, b) AS b, max(score) AS score
FROM ranked WHERE r <= $4 GROUP BY least(a, b), greatest(a, b)

-- name: upsert_matches
-- Write the proposals ($7 features and $8 notes: JSON arrays in the same order); a row
-- a person decided (confirmed or rejected) is left as it is.
INSERT INTO gold.market_matches AS mm
    (market_a, market_b, outcome_a, outcome_b, relation, confidence, features, notes, computed_at)
SELECT u.a, u.b, u.oa, u.ob, u.rel, u.conf, $7::jsonb -> (u.n::int - 1),
       $8::jsonb -> (u.n::int - 1), $9
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::real[])
     WITH ORDINALITY AS u (a, b, oa, ob, rel, conf, n)
ON CONFLICT (market_a, market_b) DO UPDATE SET
    outcome_a = EXCLUDED.outcome_a, outcome_b = EXCLUDED.outcome_b,
    relation = EXCLUDED.relation, confidence = EXCLUDED.confidence,
    features = EXCLUDED.features, notes = EXCLUDED.notes, computed_at = EXCLUDED.computed_at
WHERE mm.status = 'proposed'

-- name: delete_stale_all
-- After a full run: proposals it did not make again are gone (decided rows stay).
DELETE FROM gold.market_matches WHERE status = 'proposed' AND computed_at < $1

-- name: delete_stale_for
-- After an incremental run: proposals touching the changed markets that it did not
-- make again are gone (decided rows stay).
DELETE FROM gold.market_matches
WHERE status = 'proposed' AND computed_at < $2
  AND (market_a = ANY($1::bigint[]) OR market_b = ANY($1::bigint[]))
