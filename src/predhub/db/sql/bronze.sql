-- Bronze: raw venue responses stored once per distinct content and UTC day (the
-- partition, `fetched_day`), repeats that day as sightings (predhub.ingest.bronze).

-- name: sight_known
-- Records a sighting for every response whose content is stored already that day and
-- returns their ids, so re-polled unchanged pages never send their payloads. $1: content
-- hashes, $2: fetch times, $3: their days, $4: the load, $5: the batch's distinct days
-- (which prune the read to those days' partitions).
WITH batch AS (
    SELECT * FROM unnest($1::bytea[], $2::timestamptz[], $3::timestamptz[])
        AS i (content_hash, fetched_at, fetched_day)
), known AS (
    SELECT r.id, r.content_hash, r.fetched_day FROM bronze.api_responses r
    WHERE r.fetched_day = ANY($5::timestamptz[]) AND r.content_hash = ANY($1::bytea[])
), seen AS (
    INSERT INTO bronze.response_sightings (response_id, fetched_at, fetched_day, load_id)
    SELECT k.id, i.fetched_at, i.fetched_day, $4::bigint
    FROM batch i JOIN known k USING (content_hash, fetched_day)
)
SELECT k.id, k.content_hash, k.fetched_day FROM known k
WHERE (k.content_hash, k.fetched_day) IN (SELECT content_hash, fetched_day FROM batch)

-- name: reserve_response_ids
-- Reserves $1 ids from the responses' sequence, so new contents can be COPYed straight in.
-- The sequence is looked up once, not per id.
WITH s AS MATERIALIZED (
    SELECT pg_get_serial_sequence('bronze.api_responses', 'id')::regclass AS seq
)
SELECT nextval(s.seq) FROM s, generate_series(1, $1)

-- name: merge_staged_responses
-- The staged path, taken when a concurrent writer stored one of the batch's contents:
-- new contents (of their day) are inserted, and every staged row that was not the first
-- copy of a newly inserted content becomes a sighting of the stored one.
WITH first AS (
    SELECT content_hash, fetched_day, min(ord) AS ord FROM ingest_bronze_in
    GROUP BY content_hash, fetched_day
), ins AS (
    INSERT INTO bronze.api_responses
        (venue, endpoint, params, status, fetched_at, fetched_day, content_hash, payload,
         raw_text, load_id)
    SELECT b.venue, b.endpoint, b.params::jsonb, b.status, b.fetched_at, b.fetched_day,
           b.content_hash, b.payload::jsonb, b.raw_text, b.load_id
    -- hash order (against deadlocks between writers) without sorting the payloads
    FROM (SELECT ord FROM first ORDER BY content_hash, fetched_day) f
    CROSS JOIN LATERAL (SELECT * FROM ingest_bronze_in x WHERE x.ord = f.ord) b
    ON CONFLICT (content_hash, fetched_day) DO NOTHING
    RETURNING id, content_hash, fetched_day
), known AS (
    SELECT id, content_hash, fetched_day FROM ins
    UNION ALL
    SELECT r.id, r.content_hash, r.fetched_day FROM bronze.api_responses r
    WHERE r.fetched_day IN (SELECT fetched_day FROM ingest_bronze_in)
      AND (r.content_hash, r.fetched_day) IN (SELECT content_hash, fetched_day FROM ingest_bronze_in)
), seen AS (
    INSERT INTO bronze.response_sightings (response_id, fetched_at, fetched_day, load_id)
    SELECT k.id, b.fetched_at, b.fetched_day, b.load_id
    FROM ingest_bronze_in b JOIN known k USING (content_hash, fetched_day)
    JOIN first f USING (content_hash, fetched_day)
    WHERE NOT (b.ord = f.ord
               AND (b.content_hash, b.fetched_day) IN (SELECT content_hash, fetched_day FROM ins))
)
SELECT b.ord, k.id, (b.ord = f.ord AND i.id IS NOT NULL) AS new
FROM ingest_bronze_in b
JOIN known k USING (content_hash, fetched_day)
JOIN first f USING (content_hash, fetched_day)
LEFT JOIN ins i USING (content_hash, fetched_day)

-- name: response_ids_by_hash
-- Ids of contents ($1, of days $2) a concurrent writer stored after the merge statement's
-- snapshot.
SELECT r.id, r.content_hash, r.fetched_day FROM bronze.api_responses r
JOIN unnest($1::bytea[], $2::timestamptz[]) AS k (content_hash, fetched_day)
  USING (content_hash, fetched_day)
WHERE r.fetched_day = ANY($2::timestamptz[])

-- name: insert_sighting
-- One repeat of a stored content (executemany: one row per repeat).
INSERT INTO bronze.response_sightings (response_id, fetched_at, fetched_day, load_id)
VALUES ($1, $2, $3, $4)
