-- The market change stream (migration 0030): each market row carries the id of the
-- transaction that last wrote it (change_xid); a reader (gold, the matcher) keeps the
-- snapshot it last read in and takes the markets whose change_xid was not committed
-- then and is committed now (predhub.db.changes).

-- name: lock_reader_or_skip
-- The reader's last snapshot, its row locked for the reading transaction (one reader of
-- a name at a time). No row while another transaction holds it: that one is reading,
-- and this read takes nothing this round instead of waiting for a large batch.
SELECT seen::text FROM ops.change_readers WHERE name = $1 FOR UPDATE SKIP LOCKED

-- name: reader_exists
-- After lock_reader_or_skip found no row: locked by another (busy), or no such reader.
SELECT EXISTS (SELECT 1 FROM ops.change_readers WHERE name = $1)

-- name: lock_reader
-- The same row, waiting for it (a full read, asked for on purpose, catches the reader up).
SELECT seen::text FROM ops.change_readers WHERE name = $1 FOR UPDATE

-- name: current_snapshot
-- The transactions committed now: what this read may take, taken after the lock.
SELECT pg_current_snapshot()::text

-- name: changed_markets
-- Markets whose last write ($1: the reader's snapshot, $2: now) is new to the reader,
-- in transaction order, every market of the transaction that reaches $3 markets
-- included (a transaction's markets are never split). A range of the change index
-- from the oldest transaction still running at the reader's last read; `last` is
-- the newest transaction taken when the limit cut the read short, else NULL.
WITH c AS (
    SELECT id, change_xid FROM silver.markets
    WHERE change_xid >= pg_snapshot_xmin($1::text::pg_snapshot)
      AND change_xid < pg_snapshot_xmax($2::text::pg_snapshot)
      AND NOT pg_visible_in_snapshot(change_xid, $1::text::pg_snapshot)
      AND pg_visible_in_snapshot(change_xid, $2::text::pg_snapshot)
), cut AS (
    SELECT change_xid FROM c ORDER BY change_xid OFFSET $3 - 1 LIMIT 1
)
SELECT c.id, (SELECT change_xid FROM cut)::text::bigint AS last
FROM c
WHERE (SELECT change_xid FROM cut) IS NULL OR c.change_xid <= (SELECT change_xid FROM cut)
ORDER BY c.id

-- name: save_reader
-- What the reader has taken, saved in the transaction that consumes it.
UPDATE ops.change_readers SET seen = $2::text::pg_snapshot WHERE name = $1

