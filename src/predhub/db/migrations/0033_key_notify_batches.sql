-- A change to an account announces every one of its keys.
--
-- ops.account_changed() sent the account's key ids as one NOTIFY payload cut
-- at 7,000 characters (a payload must stay under 8,000 bytes): an account with
-- more keys than fit (several hundred, with long ids) had the rest left out,
-- and the cut could fall inside an id. A blocked account's left-out keys stayed
-- admitted from every process's memory until their re-check
-- (API_KEY_CACHE_SECONDS). The ids now go in as many notifications as they
-- need, 300 whole ids each (at most 20 characters an id with its comma: 6,000
-- characters). Listeners are unchanged: each payload is a list of key ids.
CREATE OR REPLACE FUNCTION ops.account_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids text;
BEGIN
    FOR ids IN
        SELECT string_agg(id::text, ',' ORDER BY id)
        FROM (
            SELECT id, (row_number() OVER (ORDER BY id) - 1) / 300 AS batch
            FROM ops.api_keys WHERE account_id = OLD.id
        ) numbered
        GROUP BY batch
        ORDER BY batch
    LOOP
        PERFORM pg_notify('predhub_keys', ids);
    END LOOP;
    RETURN NULL;
END;
$$;
