-- Time partitions (predhub.db.partitions): made ahead by the worker and on demand by a
-- write that found none, dropped whole by retention. The plans and the functions that
-- make partitions are in migration 0017.

-- name: ensure_partitions
-- Makes the partitions of $1 (a planned table) holding the times $2 that do not exist
-- yet; returns how many it made.
SELECT ops.ensure_partitions($1::text, $2::timestamptz[])

-- name: ensure_ahead
-- Makes every planned table's partitions from $1's period to its `ahead` periods later.
SELECT ops.ensure_partitions_ahead($1::timestamptz)

-- name: partitions
-- The partitions of $1 with their bounds (oldest first), and whether a concurrent
-- detach of one was interrupted (it must be finished before anything else detaches).
SELECT c.oid::regclass::text AS name,
       substring(pg_get_expr(c.relpartbound, c.oid) FROM $$FROM \('([^']+)'\)$$)::timestamptz AS lo,
       substring(pg_get_expr(c.relpartbound, c.oid) FROM $$TO \('([^']+)'\)$$)::timestamptz AS hi,
       i.inhdetachpending AS detach_pending
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = $1::text::regclass
ORDER BY lo

-- name: count_rows
-- Rows of one partition about to be dropped ({partition}), for the retention record.
SELECT count(*) FROM {partition}

-- name: detach_concurrently
-- Detaches a partition without blocking the parent's readers and writers (not inside a
-- transaction block).
ALTER TABLE {parent} DETACH PARTITION {partition} CONCURRENTLY

-- name: detach
-- Detaches a partition inside the caller's transaction (a brief exclusive lock).
ALTER TABLE {parent} DETACH PARTITION {partition}

-- name: detach_finalize
-- Finishes a concurrent detach that was interrupted.
ALTER TABLE {parent} DETACH PARTITION {partition} FINALIZE

-- name: drop_table
-- Drops a detached partition: its rows go at once, with no row-by-row delete.
DROP TABLE IF EXISTS {partition}
