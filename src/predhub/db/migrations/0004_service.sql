-- The market data service: notifications that keep every API process's cache correct.
--
-- Each statement that changes what a market's answer shows sends one
-- NOTIFY predhub_market_changed with the ids it touched (comma-separated, in
-- chunks that stay under NOTIFY's payload limit). Statement-level triggers with
-- transition tables cost one notification per statement, not one per row, and
-- changes to bookkeeping columns alone (interest_at, the *_synced_at columns
-- other than quotes') notify nothing.

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

CREATE OR REPLACE FUNCTION silver.markets_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM silver.notify_market_ids(ARRAY(
        SELECT DISTINCT n.id
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.status, n.question, n.slug, n.quotes_synced_at, n.metadata_synced_at,
               n.winning_outcome, n.is_void, n.resolved_at, n.end_at, n.volume_24h,
               n.volume_total, n.liquidity, n.event_id, n.event_title, n.category)
              IS DISTINCT FROM
              (o.status, o.question, o.slug, o.quotes_synced_at, o.metadata_synced_at,
               o.winning_outcome, o.is_void, o.resolved_at, o.end_at, o.volume_24h,
               o.volume_total, o.liquidity, o.event_id, o.event_title, o.category)
        ORDER BY n.id));
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_changed_notify
    AFTER UPDATE ON silver.markets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.markets_changed();

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
