-- Point-in-time recovery of the embedded server: whether the running server archives
-- its WAL (and where), WAL positions, and the state of a server replaying WAL.

-- name: archive_settings
-- Whether the server archives WAL and with which command (a base backup is useless without).
SELECT current_setting('archive_mode') AS mode, current_setting('archive_command') AS command

-- name: server_clock
-- The server's own time: recovery compares a target time with commit times on this clock.
SELECT clock_timestamp()

-- name: current_wal_file
-- The WAL segment being written now; a base backup taken next needs none older than it.
SELECT pg_walfile_name(pg_current_wal_lsn())

-- name: mark_commit
-- A transaction that commits nothing but its id: recovery stops at the first commit past
-- its target time, so the archive must hold one written after any time asked for.
SELECT pg_current_xact_id()

-- name: switch_wal
-- Close the current WAL segment so it is archived now; the name of the segment closed.
SELECT pg_walfile_name(pg_switch_wal())

-- name: archiver_state
-- The archiver's last success and failure, to wait for a segment to reach the archive.
SELECT last_archived_wal, last_failed_wal, failed_count FROM pg_stat_archiver

-- name: recovery_state
-- Whether the server still replays WAL, and the commit time of the last transaction replayed.
SELECT pg_is_in_recovery() AS in_recovery, pg_last_xact_replay_timestamp() AS replayed_to

-- name: reset_restore_command
-- After promotion: recovery's settings leave postgresql.auto.conf (one statement each,
-- as ALTER SYSTEM runs outside any transaction block).
ALTER SYSTEM RESET restore_command

-- name: reset_recovery_target_time
-- After promotion: the target time is spent.
ALTER SYSTEM RESET recovery_target_time

-- name: reset_recovery_target_action
-- After promotion: the target action is spent.
ALTER SYSTEM RESET recovery_target_action
