-- Where streaming replicas stand against their primary, for routing API reads.

-- name: primary_lsn
-- The primary's current WAL position: a replica that has replayed up to it
-- holds everything committed when this was read (as a byte position).
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::int8 AS lsn

-- name: replica_position
-- A standby's replayed WAL position and the commit time of the last
-- transaction it replayed (the primary's clock); NULL positions when the
-- server is not a standby at all.
SELECT pg_is_in_recovery() AS in_recovery,
       pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::int8 AS replay_lsn,
       pg_last_xact_replay_timestamp() AS replayed_at
