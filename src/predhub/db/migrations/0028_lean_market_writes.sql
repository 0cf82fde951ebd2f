-- A new market costs fewer per-row checks and trigger calls.
--
-- Measured per new market (EXPLAIN ANALYZE of 5,500 inserts): the row-level
-- search-vector trigger took about as long as the two to_tsvector calls it
-- makes (PL/pgSQL's call overhead), and three foreign-key checks ran per
-- market (its event, its sync row's reference, each of its two outcomes'
-- references), each a lookup and a row lock on the market just inserted by
-- the same statement. Together they were about a third of the markets write
-- path. Every index on the wide row serves a read path (ids: condition id,
-- ticker, slug; event pages; the list and its default sort; the sweep's
-- closing queue; search) and stays.
--
-- 1. The search vector is a stored generated column again, over the question
--    and the event title only (0005 had dropped the description): computed by
--    the executor without a trigger call. A market row is written only when
--    its content changed (its fingerprint), so the recomputation on update
--    costs a changed row, never an unchanged one.
ALTER TABLE silver.markets DROP COLUMN search_vector;  -- drops markets_search_idx with it
DROP FUNCTION silver.market_search_vector() CASCADE;   -- and both triggers
ALTER TABLE silver.markets ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(question, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(event_title, '')), 'B')
) STORED;
CREATE INDEX markets_search_idx ON silver.markets USING gin (search_vector)
    WITH (gin_pending_list_limit = 512);  -- as 0027 set it

-- 2. Outcomes, sync rows and the market's event reference are written only by
--    predhub's writers, with ids they read or reserved in the same transaction
--    (as trades have been since 0005): the per-row reference checks go, and
--    what their ON DELETE clauses did is done once per statement instead.
ALTER TABLE silver.outcomes DROP CONSTRAINT outcomes_market_id_fkey;
ALTER TABLE silver.market_sync DROP CONSTRAINT market_sync_market_id_fkey;
ALTER TABLE silver.markets DROP CONSTRAINT markets_event_id_fkey;

CREATE FUNCTION silver.markets_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM silver.outcomes WHERE market_id IN (SELECT id FROM old_rows);
    DELETE FROM silver.market_sync WHERE market_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_deleted_children
    AFTER DELETE ON silver.markets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.markets_deleted();

-- TRUNCATE silver.markets (CASCADE) empties its children as the references did (by
-- DELETE: the statement's own cascade holds the tables that reference outcomes).
CREATE FUNCTION silver.markets_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM silver.outcomes;
    DELETE FROM silver.market_sync;
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_truncated_children
    AFTER TRUNCATE ON silver.markets
    FOR EACH STATEMENT EXECUTE FUNCTION silver.markets_truncated();

CREATE FUNCTION silver.events_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE silver.markets SET event_id = NULL WHERE event_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_deleted_markets
    AFTER DELETE ON silver.events
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.events_deleted();

-- 3. One statement trigger queues a new market everywhere (its sync row, the
--    gold refresh, the matcher) instead of three, each reading the new rows.
DROP FUNCTION silver.market_sync_inserted() CASCADE;  -- markets_inserted_sync
DROP FUNCTION silver.markets_inserted() CASCADE;      -- markets_inserted_gold
DROP FUNCTION silver.match_markets_inserted() CASCADE;  -- markets_inserted_match

CREATE FUNCTION silver.markets_inserted_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO silver.market_sync (market_id, venue)
    SELECT id, venue FROM new_rows ORDER BY id;
    INSERT INTO ops.gold_changes (market_id)
    SELECT id FROM new_rows ORDER BY id
    ON CONFLICT DO NOTHING;
    INSERT INTO ops.match_changes (market_id)
    SELECT id FROM new_rows ORDER BY id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_inserted
    AFTER INSERT ON silver.markets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.markets_inserted_all();
