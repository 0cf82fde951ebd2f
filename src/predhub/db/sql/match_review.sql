-- Reading and deciding cross-venue matches (gold.market_matches): the review list,
-- one market's matches, confirm/reject, export and import of confirmed pairs, and the
-- scratch markets a labelled-pairs file is loaded as.

-- name: match_page
-- Matches by confidence (then id), filtered by status, venue (either side) and a
-- minimum confidence, after the keyset ($5 confidence, $6 id) of the previous page.
SELECT mm.id, mm.relation, mm.confidence, mm.status, mm.features, mm.notes,
       mm.decided_by, mm.decided_at, mm.computed_at,
       a.id AS a_id, a.venue AS a_venue, a.native_id AS a_native_id, a.question AS a_question,
       a.end_at AS a_end_at, a.status AS a_status, oa.label AS a_outcome,
       b.id AS b_id, b.venue AS b_venue, b.native_id AS b_native_id, b.question AS b_question,
       b.end_at AS b_end_at, b.status AS b_status, ob.label AS b_outcome
FROM gold.market_matches mm
JOIN silver.markets a ON a.id = mm.market_a
JOIN silver.markets b ON b.id = mm.market_b
LEFT JOIN silver.outcomes oa ON oa.id = mm.outcome_a
LEFT JOIN silver.outcomes ob ON ob.id = mm.outcome_b
WHERE ($1::text IS NULL OR mm.status = $1)
  AND ($2::text IS NULL OR a.venue = $2 OR b.venue = $2)
  AND mm.confidence >= $3
  AND ($5::real IS NULL OR (mm.confidence, mm.id) < ($5::real, $6::bigint))
ORDER BY mm.confidence DESC, mm.id DESC
LIMIT $4

-- name: market_matches
-- Every match one market takes part in, on either side, best first.
SELECT mm.id, mm.relation, mm.confidence, mm.status, mm.features, mm.notes,
       mm.decided_by, mm.decided_at, mm.computed_at,
       a.id AS a_id, a.venue AS a_venue, a.native_id AS a_native_id, a.question AS a_question,
       a.end_at AS a_end_at, a.status AS a_status, oa.label AS a_outcome,
       b.id AS b_id, b.venue AS b_venue, b.native_id AS b_native_id, b.question AS b_question,
       b.end_at AS b_end_at, b.status AS b_status, ob.label AS b_outcome
FROM gold.market_matches mm
JOIN silver.markets a ON a.id = mm.market_a
JOIN silver.markets b ON b.id = mm.market_b
LEFT JOIN silver.outcomes oa ON oa.id = mm.outcome_a
LEFT JOIN silver.outcomes ob ON ob.id = mm.outcome_b
WHERE mm.market_a = $1 OR mm.market_b = $1
ORDER BY mm.confidence DESC, mm.id DESC
LIMIT $2

-- name: decide_match
-- Record a person's decision. A proposal, or a row the same person decided, takes it;
-- a row someone else decided is left alone (the caller reports the conflict).
UPDATE gold.market_matches
SET status = $2, decided_by = $3, decided_at = $4,
    notes = CASE WHEN $5::text IS NULL THEN notes ELSE notes || to_jsonb($5::text) END
WHERE id = $1 AND (status = 'proposed' OR decided_by = $3)
RETURNING id

-- name: match_state
-- Who decided a match, if anyone (to tell "unknown" from "decided by another person").
SELECT id, status, decided_by FROM gold.market_matches WHERE id = $1

-- name: confirmed_pairs
-- Confirmed pairs keyed by venue and native id (what another hub can import).
SELECT mm.relation, mm.confidence, mm.notes, mm.decided_by, mm.decided_at,
       a.venue AS a_venue, a.native_id AS a_native_id, oa.idx AS a_outcome,
       b.venue AS b_venue, b.native_id AS b_native_id, ob.idx AS b_outcome
FROM gold.market_matches mm
JOIN silver.markets a ON a.id = mm.market_a
JOIN silver.markets b ON b.id = mm.market_b
LEFT JOIN silver.outcomes oa ON oa.id = mm.outcome_a
LEFT JOIN silver.outcomes ob ON ob.id = mm.outcome_b
WHERE mm.status = 'confirmed'
ORDER BY mm.id

-- name: market_by_native
-- Our id of a market named by venue and native id, and the id of one of its outcomes.
SELECT m.id, o.id AS outcome_id
FROM silver.markets m
LEFT JOIN silver.outcomes o ON o.market_id = m.id AND o.idx = $3
WHERE m.venue = $1 AND m.native_id = $2

-- name: import_confirmed
-- An imported confirmed pair: a decision, so it wins over any proposal for the pair.
INSERT INTO gold.market_matches AS mm
    (market_a, market_b, outcome_a, outcome_b, relation, confidence, notes, status,
     decided_by, decided_at, features)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'confirmed', $8, $9, '{"imported": true}'::jsonb)
ON CONFLICT (market_a, market_b) DO UPDATE SET
    outcome_a = EXCLUDED.outcome_a, outcome_b = EXCLUDED.outcome_b,
    relation = EXCLUDED.relation, confidence = EXCLUDED.confidence, notes = EXCLUDED.notes,
    status = 'confirmed', decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at

-- name: all_matches
-- Every stored match (the labelled-pairs scorer reads them all; a scratch database).
SELECT market_a, market_b, relation, confidence, status FROM gold.market_matches

-- name: insert_pair_market
-- A market of a labelled-pairs file, written as an open market of its venue.
INSERT INTO silver.markets (venue, native_id, question, description, end_at, status)
VALUES ($1, $2, $3, $4, $5, 'open')
ON CONFLICT (venue, native_id) DO UPDATE SET question = EXCLUDED.question
RETURNING id

-- name: insert_pair_outcome
-- One outcome of a labelled-pairs market (the first is the side the title speaks of).
INSERT INTO silver.outcomes (market_id, idx, label) VALUES ($1, $2, $3)
ON CONFLICT (market_id, idx) DO NOTHING

-- name: market_matches_by_id
-- One match with both markets (the answer to a decision).
SELECT mm.id, mm.relation, mm.confidence, mm.status, mm.features, mm.notes,
       mm.decided_by, mm.decided_at, mm.computed_at,
       a.id AS a_id, a.venue AS a_venue, a.native_id AS a_native_id, a.question AS a_question,
       a.end_at AS a_end_at, a.status AS a_status, oa.label AS a_outcome,
       b.id AS b_id, b.venue AS b_venue, b.native_id AS b_native_id, b.question AS b_question,
       b.end_at AS b_end_at, b.status AS b_status, ob.label AS b_outcome
FROM gold.market_matches mm
JOIN silver.markets a ON a.id = mm.market_a
JOIN silver.markets b ON b.id = mm.market_b
LEFT JOIN silver.outcomes oa ON oa.id = mm.outcome_a
LEFT JOIN silver.outcomes ob ON ob.id = mm.outcome_b
WHERE mm.id = $1
