-- A market write queues nothing: gold and the matcher read the markets that
-- changed since they last looked, from the market rows themselves.
--
-- Until now the insert trigger wrote two more rows per new market
-- (ops.gold_changes and ops.match_changes, each with its key and an ON
-- CONFLICT probe) and row triggers did the same per changed market. Now each
-- market row carries the id of the transaction that last wrote it
-- (change_xid: a 64-bit transaction id, which never wraps), indexed. Each
-- reader keeps, in ops.change_readers, the snapshot it last read in: a market
-- is new to the reader when its change_xid was not committed in that
-- snapshot and is committed in the reader's current one. Transaction ids are
-- assigned in start order, not commit order, so a reader cannot keep one
-- number: the snapshot lists the transactions that were still running, and
-- their rows are taken by a later read, once they committed. The reader saves
-- its new snapshot in the transaction that consumes the markets, so a crash
-- before its commit leaves both as they were, and the readers' advisory locks
-- keep one reader of each kind at a time. See predhub.ingest.changes.
--
-- Quotes, books and the sync rows keep feeding ops.gold_changes (other write
-- paths); so do the full and the warm re-queues. ops.match_changes goes: the
-- matcher now keeps a digest of what it last indexed of each market
-- (gold.match_inputs) and re-indexes a changed market only when the columns it
-- reads changed, as the WHEN clause of the row trigger dropped here did.

-- Existing rows carry xid 1: seen by both readers (their pending changes, if
-- any, wait in the queues, which gold still reads and the matcher's are moved below).
ALTER TABLE silver.markets ADD COLUMN change_xid xid8 NOT NULL DEFAULT '1';
ALTER TABLE silver.markets ALTER COLUMN change_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX markets_change_idx ON silver.markets (change_xid);

CREATE TABLE ops.change_readers (
    name text PRIMARY KEY,
    seen pg_snapshot NOT NULL
);
INSERT INTO ops.change_readers (name, seen) VALUES ('gold', '2:2:'), ('match', '2:2:');

-- Any UPDATE of a market's row stamps it, also one that names no change_xid
-- (predhub's writers set it themselves, so this trigger's function never runs
-- on their path: the WHEN clause is false).
CREATE FUNCTION silver.market_change_stamped() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END;
$$;

CREATE TRIGGER markets_change_stamped
    BEFORE UPDATE ON silver.markets
    FOR EACH ROW WHEN (NEW.change_xid = OLD.change_xid)
    EXECUTE FUNCTION silver.market_change_stamped();

CREATE OR REPLACE FUNCTION silver.events_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE silver.markets SET event_id = NULL, change_xid = pg_current_xact_id()
    WHERE event_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END;
$$;

-- The insert trigger makes the sync rows only.
CREATE OR REPLACE FUNCTION silver.markets_inserted_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO silver.market_sync (market_id, venue)
    SELECT id, venue FROM new_rows ORDER BY id;
    RETURN NULL;
END;
$$;

-- A changed row still announces itself (the API's caches listen) and queues the event
-- it left; gold finds the market itself by its change_xid.
CREATE OR REPLACE FUNCTION silver.market_row_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('predhub_market_changed', NEW.id::text);
    IF OLD.event_id IS DISTINCT FROM NEW.event_id AND OLD.event_id IS NOT NULL THEN
        INSERT INTO ops.gold_event_changes (event_id) VALUES (OLD.event_id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;

-- The matcher's digest of a market: the columns the dropped trigger watched.
CREATE FUNCTION gold.match_input_digest(m silver.markets) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended(format('%L %L %L %L %L %L %L %L',
        m.question, m.description, m.event_title, extract(epoch FROM m.end_at), m.status,
        m.resolution_source, m.extra ->> 'yes_sub_title', m.extra ->> 'groupItemTitle'), 0)
$$;

CREATE TABLE gold.match_inputs (
    market_id bigint PRIMARY KEY,
    digest bigint NOT NULL
);

DROP FUNCTION silver.match_market_changed() CASCADE;  -- markets_changed_match

-- What the matcher had indexed is its digest now; markets still waiting in its queue
-- get none, and a stamp, so its next run takes them.
INSERT INTO gold.match_inputs (market_id, digest)
SELECT m.id, gold.match_input_digest(m) FROM silver.markets m
WHERE NOT EXISTS (SELECT 1 FROM ops.match_changes c WHERE c.market_id = m.id);
UPDATE silver.markets SET change_xid = pg_current_xact_id()
WHERE id IN (SELECT market_id FROM ops.match_changes);
DROP TABLE ops.match_changes;
