-- A planning cycle follows what is due and what changed, not the catalogue.
--
-- The priority rules joined every market of the venue each cycle, and the due
-- (market, kind) pairs were found by reading every sync row of the venue and
-- sorting them. Now each sync row keeps the time its priority may next change
-- with no change of its inputs (priority_until: a time threshold of the rules,
-- such as a closing window opening, interest cooling down or a recent close
-- ageing into archive), and a change of the inputs (the market's status,
-- dates or volume, logged; an API caller's interest) makes it due at once.
-- The rules then read only the logged and due rows, index ranges. The due
-- pairs of each priority and kind are an index range too, oldest stamp
-- first, read with a limit: a cycle reads what the budget could take,
-- wherever it sits.
--
-- The trade: the stamps (`<kind>_synced_at`) are indexed, so a stamp is no
-- longer a HOT update; it writes an entry in each of the row's indexes. The
-- per-kind indexes leave archived markets out (never polled), so the bulk of
-- a large catalogue costs them nothing, and they lead with (venue,
-- sync_priority), so the index on those two alone goes (the open high
-- markets of the stream set are a range of the quotes index).
ALTER TABLE silver.market_sync
    ADD COLUMN priority_until timestamptz NOT NULL DEFAULT '-infinity';  -- new rows: due now

DROP INDEX silver.market_sync_venue_priority_idx;
CREATE INDEX market_sync_priority_due_idx ON silver.market_sync (venue, priority_until);
CREATE INDEX market_sync_quotes_due_idx
    ON silver.market_sync (venue, sync_priority, quotes_synced_at, market_id)
    WHERE sync_priority <> 'archived';
CREATE INDEX market_sync_trades_due_idx
    ON silver.market_sync (venue, sync_priority, trades_synced_at, market_id)
    WHERE sync_priority <> 'archived';
CREATE INDEX market_sync_books_due_idx
    ON silver.market_sync (venue, sync_priority, books_synced_at, market_id)
    WHERE sync_priority <> 'archived';
CREATE INDEX market_sync_metadata_due_idx
    ON silver.market_sync (venue, sync_priority, metadata_synced_at, market_id)
    WHERE sync_priority <> 'archived';

-- A change of what the rules read on the market row is logged (like gold's
-- change tables) for the venue's next planning cycle. An append-only log,
-- not a write of the sync row: the market's writer takes no lock on sync
-- rows (stamps lock those in id order; a load's market order is its own), and
-- the cycle deletes exactly the entries it read, so one logged after its read
-- waits for the next cycle. The row's updated_at is read only when it has
-- neither end nor venue update time.
CREATE TABLE ops.priority_changes (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue     text   NOT NULL,
    market_id bigint NOT NULL
);
CREATE INDEX priority_changes_venue_idx ON ops.priority_changes (venue, id);

CREATE FUNCTION silver.market_priority_inputs_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ops.priority_changes (venue, market_id) VALUES (NEW.venue, NEW.id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_priority_inputs_changed
    AFTER UPDATE ON silver.markets
    FOR EACH ROW
    WHEN ((NEW.status, NEW.end_at, NEW.resolved_at, NEW.venue_updated_at, NEW.volume_24h)
          IS DISTINCT FROM
          (OLD.status, OLD.end_at, OLD.resolved_at, OLD.venue_updated_at, OLD.volume_24h)
          OR (NEW.updated_at IS DISTINCT FROM OLD.updated_at
              AND coalesce(NEW.end_at, NEW.venue_updated_at) IS NULL))
    EXECUTE FUNCTION silver.market_priority_inputs_changed();

-- An API caller's interest makes the priority due in the same row write (the
-- sync row is being written anyway).
CREATE FUNCTION silver.market_sync_interest_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.priority_until := '-infinity';
    RETURN NEW;
END;
$$;

CREATE TRIGGER market_sync_interest_due
    BEFORE UPDATE ON silver.market_sync
    FOR EACH ROW WHEN (NEW.interest_at IS DISTINCT FROM OLD.interest_at)
    EXECUTE FUNCTION silver.market_sync_interest_changed();
