-- Backups and restores: the server's version (to pick matching tools), whether a
-- database is empty, and the record of backups the monitor reports on.

-- name: server_version_num
-- The server's version number (e.g. 150020), whose major part picks pg_dump's version.
SELECT current_setting('server_version_num')::int

-- name: user_tables
-- Tables outside the system schemas: a restore goes only into a database with none.
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'

-- name: record_backup
-- One finished (or failed) backup.
INSERT INTO ops.backups (path, started_at, finished_at, bytes, status, error)
VALUES ($1, $2, now(), $3, $4, $5)

-- name: last_backup
-- When the newest successful backup finished.
SELECT max(finished_at) FROM ops.backups WHERE status = 'done'

-- name: mark_deleted
-- A backup file removed by retention.
UPDATE ops.backups SET status = 'deleted' WHERE path = $1 AND status = 'done'

-- name: server_address
-- Where this session's server listens and as whom (the embedded server trusts local users).
SELECT inet_server_port() AS port, current_user AS "user", current_database() AS database
