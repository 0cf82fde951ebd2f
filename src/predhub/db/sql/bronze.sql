-- Bronze: raw venue responses stored once per distinct content, repeats as sightings
-- (predhub.ingest.bronze).

-- name: sight_known
-- Records a sighting for every response whose content is stored already and returns
-- their ids, so re-polled unchanged pages never send their payloads. $1: content
-- hashes, $2: fetch times, $3: the load.
WITH known AS (
    SELECT id, content_hash FROM bronze.api_responses WHERE content_hash = ANY($1::bytea[])
), seen AS (
    INSERT INTO bronze.response_sightings (response_id, fetched_at, load_id)
    SELECT k.id, i.fetched_at, $3::bigint
    FROM unnest($1::bytea[], $2::timestamptz[]) AS i (content_hash, fetched_at)
    JOIN known k USING (content_hash)
)
SELECT id, content_hash FROM known

-- name: reserve_response_ids
-- Reserves $1 ids from the responses' sequence, so new contents can be COPYed straight in.
SELECT nextval(pg_get_serial_sequence('bronze.api_responses', 'id')) FROM generate_series(1, $1)

-- name: merge_staged_responses
-- The staged path, taken when a concurrent writer stored one of the batch's contents:
-- new contents are inserted, and every staged row that was not the first copy of a
-- newly inserted content becomes a sighting of the stored one.
WITH first AS (
    SELECT content_hash, min(ord) AS ord FROM ingest_bronze_in GROUP BY content_hash
), ins AS (
    INSERT INTO bronze.api_responses
        (venue, endpoint, params, status, fetched_at, content_hash, payload, raw_text, load_id)
    SELECT b.venue, b.endpoint, b.params::jsonb, b.status, b.fetched_at, b.content_hash,
           b.payload::jsonb, b.raw_text, b.load_id
    -- hash order (against deadlocks between writers) without sorting the payloads
    FROM (SELECT ord FROM first ORDER BY content_hash) f
    CROSS JOIN LATERAL (SELECT * FROM ingest_bronze_in x WHERE x.ord = f.ord) b
    ON CONFLICT (content_hash) DO NOTHING
    RETURNING id, content_hash
), known AS (
    SELECT id, content_hash FROM ins
    UNION ALL
    SELECT r.id, r.content_hash FROM bronze.api_responses r
    WHERE r.content_hash IN (SELECT content_hash FROM ingest_bronze_in)
), seen AS (
    INSERT INTO bronze.response_sightings (response_id, fetched_at, load_id)
    SELECT k.id, b.fetched_at, b.load_id
    FROM ingest_bronze_in b JOIN known k USING (content_hash) JOIN first f USING (content_hash)
    WHERE NOT (b.ord = f.ord AND b.content_hash IN (SELECT content_hash FROM ins))
)
SELECT b.ord, k.id, (b.ord = f.ord AND i.id IS NOT NULL) AS new
FROM ingest_bronze_in b
JOIN known k USING (content_hash)
JOIN first f USING (content_hash)
LEFT JOIN ins i USING (content_hash)

-- name: response_ids_by_hash
-- Ids of contents a concurrent writer stored after the merge statement's snapshot.
SELECT id, content_hash FROM bronze.api_responses WHERE content_hash = ANY($1)

-- name: insert_sighting
-- One repeat of a stored content (executemany: one row per repeat).
INSERT INTO bronze.response_sightings (response_id, fetched_at, load_id) VALUES ($1, $2, $3)
