-- The market data service: notifications that keep every API process's cache correct.
--
-- Each change to what a market's answer shows sends a
-- NOTIFY predhub_market_changed with the ids it touched (comma-separated, in
-- chunks that stay under NOTIFY's payload limit), and changes to bookkeeping
-- columns alone (interest_at, trades and books stamps) notify nothing.

CREATE OR REPLACE FUNCTION silver.notify_market_ids(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    chunk bigint[];
    n integer := coalesce(array_length(ids, 1), 0);
    i integer := 1;
BEGIN
    WHILE i <= n LOOP
        chunk := ids[i:i + 499];
        PERFORM pg_notify('predhub_market_changed', array_to_string(chunk, ','));
        i := i + 500;
    END LOOP;
END;
$$;

-- Markets: a row-level trigger whose WHEN clause skips rows whose shown
-- columns did not change. pg_notify folds identical payloads within one
-- transaction, so a market updated twice in a load is announced once.
-- (A statement-level trigger joining the old and new transition tables was
-- tried first: the join has no statistics and went quadratic on big loads.)
CREATE OR REPLACE FUNCTION silver.market_row_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('predhub_market_changed', NEW.id::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_changed_notify
    AFTER UPDATE ON silver.markets
    FOR EACH ROW
    WHEN ((NEW.status, NEW.question, NEW.slug, NEW.quotes_synced_at, NEW.metadata_synced_at,
           NEW.winning_outcome, NEW.is_void, NEW.resolved_at, NEW.end_at, NEW.volume_24h,
           NEW.volume_total, NEW.liquidity, NEW.event_id, NEW.event_title, NEW.category)
          IS DISTINCT FROM
          (OLD.status, OLD.question, OLD.slug, OLD.quotes_synced_at, OLD.metadata_synced_at,
           OLD.winning_outcome, OLD.is_void, OLD.resolved_at, OLD.end_at, OLD.volume_24h,
           OLD.volume_total, OLD.liquidity, OLD.event_id, OLD.event_title, OLD.category))
    EXECUTE FUNCTION silver.market_row_changed();

CREATE OR REPLACE FUNCTION silver.quotes_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM silver.notify_market_ids(ARRAY(
        SELECT DISTINCT market_id FROM new_rows ORDER BY market_id));
    RETURN NULL;
END;
$$;

CREATE TRIGGER quotes_inserted_notify
    AFTER INSERT ON silver.quotes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.quotes_changed();

CREATE TRIGGER quotes_updated_notify
    AFTER UPDATE ON silver.quotes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.quotes_changed();

CREATE TRIGGER outcomes_changed_notify
    AFTER UPDATE ON silver.outcomes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.quotes_changed();

-- Interest marking looks markets up by recency; the scheduler reads it too.
CREATE INDEX IF NOT EXISTS markets_interest_idx ON silver.markets (interest_at DESC)
    WHERE interest_at IS NOT NULL;
