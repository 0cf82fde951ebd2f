-- A new market's sync row is born with its metadata_synced_at: one write, not two.
--
-- A listing batch stamps every market it holds as metadata-synced. For a new
-- market the insert trigger had just made its sync row (metadata_synced_at
-- NULL), and the stamp then UPDATEd it: a second version of each new sync row,
-- not a HOT one (metadata_synced_at is indexed), with its row trigger's NOTIFY
-- and gold queue row on top, about as costly as making the row.
--
-- Now the writer that COPYs new markets in (predhub.ingest.silver.catalog) sets
-- the transaction-local `predhub.new_markets_synced_at` in the same savepoint,
-- and the insert trigger gives the sync rows it makes that time, then clears the
-- setting: it applies to that one statement only. Every other insert (the staged
-- upsert, tests, fills) leaves it unset and makes the rows unstamped, as before.
-- A failed COPY rolls the setting back with its savepoint, and the writer then
-- stamps the staged path's rows with the UPDATE, as before. Nobody misses the
-- stamp's queue row or NOTIFY for a new market: gold reads new markets from the
-- change stream (migration 0030), and no API cache holds a market not yet written.

CREATE OR REPLACE FUNCTION silver.markets_inserted_all() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    synced timestamptz :=
        nullif(current_setting('predhub.new_markets_synced_at', true), '')::timestamptz;
BEGIN
    IF synced IS NOT NULL THEN
        PERFORM set_config('predhub.new_markets_synced_at', '', true);
    END IF;
    INSERT INTO silver.market_sync (market_id, venue, metadata_synced_at)
    SELECT id, venue, synced FROM new_rows ORDER BY id;
    RETURN NULL;
END;
$$;
