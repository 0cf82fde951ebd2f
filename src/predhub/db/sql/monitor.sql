-- Database health for `predhub db monitor` and GET /v1/admin/db: sizes, bloat,
-- slow statements, connections, long transactions, replication and backups.

-- name: table_sizes
-- The largest tables with their index and total sizes and live/dead row estimates.
SELECT n.nspname AS schema, c.relname AS table,
       pg_total_relation_size(c.oid) AS total_bytes,
       pg_relation_size(c.oid) AS table_bytes,
       pg_indexes_size(c.oid) AS index_bytes,
       coalesce(s.n_live_tup, 0) AS live_rows, coalesce(s.n_dead_tup, 0) AS dead_rows,
       CASE WHEN coalesce(s.n_live_tup, 0) + coalesce(s.n_dead_tup, 0) = 0 THEN 0
            ELSE round(s.n_dead_tup::numeric / (s.n_live_tup + s.n_dead_tup), 3) END AS dead_share,
       s.last_autovacuum
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
ORDER BY pg_total_relation_size(c.oid) DESC LIMIT $1

-- name: index_sizes
-- The largest indexes and how often they were scanned (an unused big index is a cost).
SELECT s.schemaname AS schema, s.relname AS table, s.indexrelname AS index,
       pg_relation_size(s.indexrelid) AS bytes, s.idx_scan AS scans
FROM pg_stat_user_indexes s
ORDER BY pg_relation_size(s.indexrelid) DESC LIMIT $1

-- name: statements_available
-- Whether pg_stat_statements is installed in this database.
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')

-- name: slow_statements
-- The statements with the highest mean time (needs the pg_stat_statements extension).
SELECT left(query, 300) AS query, calls, round(mean_exec_time::numeric, 3) AS mean_ms,
       round(total_exec_time::numeric, 1) AS total_ms
FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT $1

-- name: connections
-- Connections to this database by state.
SELECT coalesce(state, 'background') AS state, count(*) AS connections
FROM pg_stat_activity WHERE datname = current_database()
GROUP BY 1 ORDER BY 2 DESC

-- name: long_transactions
-- Transactions open longer than $1 seconds (they hold back vacuum).
SELECT pid, usename AS "user", state, extract(epoch FROM now() - xact_start) AS seconds,
       left(query, 200) AS query
FROM pg_stat_activity
WHERE xact_start IS NOT NULL AND now() - xact_start > $1 * interval '1 second'
  AND pid <> pg_backend_pid()
ORDER BY xact_start LIMIT 20

-- name: replication
-- Replicas streaming from this server and how far behind each is.
SELECT application_name, client_addr::text, state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS lag_bytes,
       extract(epoch FROM replay_lag) AS lag_seconds
FROM pg_stat_replication

-- name: database_size
-- This database's size on disk.
SELECT pg_database_size(current_database())

-- name: last_backup
-- The newest successful backup.
SELECT path, finished_at, bytes FROM ops.backups WHERE status = 'done'
ORDER BY finished_at DESC LIMIT 1

-- name: backups_known
-- Whether this database has the backups record (an unmigrated one does not).
SELECT to_regclass('ops.backups') IS NOT NULL
