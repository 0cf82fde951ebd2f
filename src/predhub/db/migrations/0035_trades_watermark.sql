-- Gold's trades watermark no longer skips a trade whose transaction commits late.
--
-- Trade ids come from the identity's sequence as rows are written; transactions
-- commit in another order. Gold read the trades past its watermark and moved the
-- watermark to the highest id it saw, so a writer that had taken a lower id and
-- committed afterwards was never read (its market's candles, volumes and totals
-- missed the trade). The watermark now only moves up to ids every writer of
-- which has finished (predhub.gold.trades): each refresh notes the sequence's
-- value and then its own transaction id (pending_id, pending_xid), and a later
-- refresh trusts every id up to pending_id once no transaction older than
-- pending_xid is running. Nothing is added per trade row.
--
-- That rule needs a writer to hold its transaction id before it takes trade ids
-- (a transaction gets one only at its first write, which the identity's default
-- is evaluated before): a statement trigger, once per INSERT or COPY, sees to it.

ALTER TABLE ops.gold_refresh ADD COLUMN pending_id bigint, ADD COLUMN pending_xid xid8;

CREATE FUNCTION silver.trades_writer_xid() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN NULL;
END;
$$;

CREATE TRIGGER trades_writer_xid
    BEFORE INSERT ON silver.trades
    FOR EACH STATEMENT EXECUTE FUNCTION silver.trades_writer_xid();
