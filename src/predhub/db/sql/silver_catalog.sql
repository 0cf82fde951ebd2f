-- Silver catalogue writers: events, markets and their outcomes
-- (predhub.ingest.silver.catalog).

-- name: upsert_by_native_id
-- Template of the events and markets upserts (filled in from their column lists):
-- rows identical to the stored ones are filtered out by a join first, so they cost
-- neither a row lock nor a generated-column computation. Changed rows that exist are
-- UPDATEd by id, and only new rows go through INSERT ... ON CONFLICT (an INSERT that
-- meets a conflict has already computed the proposed row's search vector, which the
-- UPDATE computes again). Rows to update are locked in (venue, native_id) order first,
-- the order the INSERT uses too, so concurrent writers cannot deadlock; the ON CONFLICT
-- clause covers a row a concurrent writer inserted meanwhile.
WITH src AS ({source}
), delta AS (
    SELECT s.*, cur.id AS cur_id FROM src s
    LEFT JOIN {target} cur ON cur.venue = s.venue AND cur.native_id = s.native_id
    WHERE cur.id IS NULL OR ({cur}) IS DISTINCT FROM ({src})
), locked AS MATERIALIZED (
    SELECT x.id FROM {target} x
    WHERE x.id IN (SELECT cur_id FROM delta WHERE cur_id IS NOT NULL)
    ORDER BY x.venue, x.native_id
    FOR UPDATE
), upd AS (
    UPDATE {target} AS {alias} SET {upd_sets}, updated_at = now()
    FROM delta d
    WHERE {alias}.id = d.cur_id AND {alias}.id IN (SELECT id FROM locked)
      AND ({old}) IS DISTINCT FROM ({fresh})
    RETURNING {alias}.id
), ins AS (
    INSERT INTO {target} AS {alias} ({col_list})
    SELECT {col_list} FROM delta WHERE cur_id IS NULL ORDER BY venue, native_id
    ON CONFLICT (venue, native_id) DO UPDATE SET {sets}, updated_at = now()
    WHERE ({old}) IS DISTINCT FROM ({new})
    RETURNING id, (xmax = 0) AS inserted
)
SELECT id, false AS inserted FROM upd
UNION ALL
SELECT id, inserted FROM ins

-- name: staged_events
-- The source of the events upsert: the staged events, jsonb columns cast.
SELECT {columns} FROM ingest_events_in

-- name: staged_markets
-- The source of the markets upsert: the staged markets with their events' ids.
SELECT {columns}, ev.id AS event_id
FROM ingest_markets_in t
LEFT JOIN silver.events ev ON ev.venue = t.venue AND ev.native_id = t.event_native_id

-- name: stamp_markets_synced
-- Every market of a listing batch was synced at $1, changed or not: a narrow row each
-- (silver.market_sync), so an unchanged market costs no write of its wide row. Locked in
-- id order, as every stamp does. Markets the batch COPYed in are not among them: their
-- sync rows were born stamped (reserve_market_ids).
UPDATE silver.market_sync s SET metadata_synced_at = $1
FROM (SELECT market_id FROM silver.market_sync WHERE market_id = ANY($2::bigint[])
      ORDER BY market_id FOR UPDATE) l
WHERE s.market_id = l.market_id

-- name: existing_markets
-- The batch's markets that exist, and whether their content is identical (same
-- fingerprint): identical ones are dropped before anything is staged.
SELECT m.id, m.venue, m.native_id, m.row_fingerprint IS NOT DISTINCT FROM k.fingerprint AS same
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k (venue, native_id, fingerprint)
JOIN silver.markets m ON m.venue = k.venue AND m.native_id = k.native_id

-- name: ensure_event_ids
-- New markets' events: creates the missing ones (minimal: never overwriting a full event
-- the events listing wrote) and returns the ids of all of them.
WITH k AS (
    SELECT DISTINCT ON (venue, native_id) venue, native_id, title, bronze_id
    FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
        AS k (venue, native_id, title, bronze_id)
    ORDER BY venue, native_id
), ins AS (
    INSERT INTO silver.events (venue, native_id, title, bronze_id)
    SELECT venue, native_id, coalesce(title, native_id), bronze_id FROM k
    ON CONFLICT (venue, native_id) DO NOTHING
    RETURNING venue, native_id, id
)
SELECT venue, native_id, id FROM ins
UNION ALL
SELECT e.venue, e.native_id, e.id FROM k JOIN silver.events e USING (venue, native_id)

-- name: reserve_market_ids
-- Reserves $1 ids from the markets' sequence, so new markets can be COPYed straight in,
-- and sets the metadata_synced_at ($2, ISO 8601 text, or '' for none) that the insert
-- trigger gives the sync rows of the next markets insert of this transaction, then clears
-- (migration 0037): set in the COPY's savepoint, so a failed COPY takes it back. The
-- sequence is looked up once: per id, the lookup cost twenty times the nextval.
WITH s AS MATERIALIZED (
    SELECT pg_get_serial_sequence('silver.markets', 'id')::regclass AS seq,
           set_config('predhub.new_markets_synced_at', $2::text, true) AS synced
)
SELECT nextval(s.seq) FROM s, generate_series(1, $1)

-- name: minimal_events_of_staged_markets
-- Staged markets may reference events only their own listing names: creates minimal
-- ones (never overwriting a full event the events listing wrote).
WITH ins AS (
    INSERT INTO silver.events (venue, native_id, title, bronze_id)
    SELECT DISTINCT ON (venue, event_native_id)
           venue, event_native_id, coalesce(event_title, event_native_id), bronze_id
    FROM ingest_markets_in
    WHERE event_native_id IS NOT NULL
    ORDER BY venue, event_native_id
    ON CONFLICT (venue, native_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM ins

-- name: upsert_staged_outcomes
-- Writes the staged outcomes that are new or changed; returns the markets whose
-- outcomes changed.
WITH up AS (
    INSERT INTO silver.outcomes AS o (market_id, idx, label, token_id)
    SELECT m.id, t.idx, t.label, t.token_id
    FROM ingest_outcomes_in t
    JOIN silver.markets m ON m.venue = t.venue AND m.native_id = t.market_native_id
    LEFT JOIN silver.outcomes cur ON cur.market_id = m.id AND cur.idx = t.idx
    WHERE cur.id IS NULL OR (cur.label, cur.token_id) IS DISTINCT FROM (t.label, t.token_id)
    ORDER BY m.id, t.idx
    ON CONFLICT (market_id, idx) DO UPDATE SET label = excluded.label, token_id = excluded.token_id
    WHERE (o.label, o.token_id) IS DISTINCT FROM (excluded.label, excluded.token_id)
    RETURNING market_id
)
SELECT DISTINCT market_id FROM up
