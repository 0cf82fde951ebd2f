-- Retention: what the worker prunes on its own, each by a setting, and the record
-- of each prune for `predhub status`.

-- name: claim_run
-- Take a periodic run ($1: its claim row, named with a leading `_` so the status
-- leaves it out) when its interval has come (one worker at a time: the conditional
-- upsert lets one claimer through per interval).
INSERT INTO ops.retention_runs AS r (name, last_run_at) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET last_run_at = EXCLUDED.last_run_at
WHERE r.last_run_at <= $2::timestamptz - $3::float8 * interval '1 second'
RETURNING r.name

-- name: thin_book_snapshots
-- Order-book snapshots older than the cutoff keep the first of each outcome's hour;
-- only the span since the previous cutoff is read again ($2, an hour before it).
DELETE FROM silver.order_book_snapshots s
WHERE s.observed_at < $1 AND s.observed_at >= $2
  AND EXISTS (
      SELECT 1 FROM silver.order_book_snapshots k
      WHERE k.outcome_id = s.outcome_id
        AND k.observed_at >= date_trunc('hour', s.observed_at)
        AND k.observed_at < s.observed_at)

-- name: prune_loads
-- Finished loads older than the cutoff (running ones are kept whatever their age).
DELETE FROM ops.loads WHERE started_at < $1 AND status <> 'running'

-- name: prune_quarantine
-- Quarantined items older than the cutoff.
DELETE FROM ops.quarantine WHERE created_at < $1

-- name: record_prune
-- One prune's outcome: rows this run and in all.
INSERT INTO ops.retention_runs AS r (name, last_run_at, rows_pruned, total_pruned)
VALUES ($1, $2, $3, $3)
ON CONFLICT (name) DO UPDATE SET last_run_at = EXCLUDED.last_run_at,
    rows_pruned = EXCLUDED.rows_pruned, total_pruned = r.total_pruned + EXCLUDED.rows_pruned

-- name: last_prune
-- When a prune last ran (the book thinning resumes from its previous cutoff).
SELECT last_run_at FROM ops.retention_runs WHERE name = $1

-- name: retention_state
-- Every prune's last run and rows, for `predhub status`.
SELECT name, last_run_at, rows_pruned, total_pruned FROM ops.retention_runs
WHERE left(name, 1) <> '_' ORDER BY name
