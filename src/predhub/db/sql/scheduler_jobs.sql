-- The job queue in ops.jobs (predhub.scheduler.jobs, process): enqueue with dedupe,
-- claim with leases (FOR UPDATE SKIP LOCKED), finish, requeue and prune.
-- Times come in as parameters so the engine can run on a simulated clock.

-- name: enqueue
-- Inserts many jobs in one statement from parallel arrays; a job whose dedupe key is live (queued
-- or running) is skipped by the partial unique index.
INSERT INTO ops.jobs (venue, kind, dedupe_key, market_ids, priority, cost, cycle, payload,
                      run_after)
SELECT j.venue, j.kind, j.dedupe_key, j.markets::bigint[], j.priority, j.cost, j.cycle,
       j.payload, j.run_after
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[],
            $7::bigint[], $8::jsonb[], $9::timestamptz[])
    AS j(venue, kind, dedupe_key, markets, priority, cost, cycle, payload, run_after)
ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running') DO NOTHING
RETURNING id;

-- name: claim
-- Leases up to $4 runnable jobs of venue $1 to owner $2: queued ones whose time has come and
-- running ones whose lease expired (their worker died); SKIP LOCKED so workers never share a job.
WITH picked AS (
    SELECT id FROM ops.jobs
    WHERE venue = $1
      AND ((status = 'queued' AND run_after <= $3)
           OR (status = 'running' AND lease_expires_at < $3))
    ORDER BY priority DESC, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE ops.jobs j
SET status = 'running', lease_owner = $2, lease_expires_at = $3::timestamptz + $5::float8 * interval '1 second',
    attempts = j.attempts + 1, started_at = $3
FROM picked
WHERE j.id = picked.id
RETURNING j.*;

-- name: extend_lease
-- Keeps a long job's lease alive; no row changes when another worker took it over.
UPDATE ops.jobs SET lease_expires_at = $3::timestamptz + $4::float8 * interval '1 second' WHERE id = $1 AND lease_owner = $2 AND status = 'running';

-- name: complete
-- Marks a job done; no row changes when the lease had passed to another worker.
UPDATE ops.jobs SET status = 'done', finished_at = $3, lease_expires_at = NULL, last_error = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'running';

-- name: fail
-- Requeues a failed job after $5 seconds, or gives up after $4 attempts; returns the new status
-- (no row when the lease had passed on).
UPDATE ops.jobs
SET status = CASE WHEN attempts >= $4::int THEN 'failed' ELSE 'queued' END,
    run_after = $3::timestamptz + $5::float8 * interval '1 second',
    finished_at = CASE WHEN attempts >= $4::int THEN $3::timestamptz END,
    lease_owner = NULL, lease_expires_at = NULL, last_error = left($6, 2000)
WHERE id = $1 AND lease_owner = $2 AND status = 'running'
RETURNING status;

-- name: release
-- Gives a claimed job back untouched (no budget left); it does not count as an attempt.
UPDATE ops.jobs SET status = 'queued', run_after = $3, lease_owner = NULL, lease_expires_at = NULL, attempts = greatest(attempts - 1, 0) WHERE id = $1 AND lease_owner = $2 AND status = 'running';

-- name: busy_markets
-- Markets in live jobs of the venue, by job kind, so the planner leaves them out.
SELECT kind, unnest(market_ids) AS market_id FROM ops.jobs WHERE venue = $1 AND status IN ('queued', 'running');

-- name: drop_unstarted
-- Deletes planned jobs no worker has started, so the planner can redo them; a job being claimed
-- is locked by its claimer and survives.
DELETE FROM ops.jobs WHERE venue = $1 AND status = 'queued' AND attempts = 0 AND cycle IS NOT NULL;

-- name: queued_cost
-- Requests already waiting in the queue for the venue, so the planner does not overfill it.
SELECT coalesce(sum(cost), 0) FROM ops.jobs WHERE venue = $1 AND status = 'queued';

-- name: prune
-- Deletes finished jobs older than $1, so the queue stays small.
DELETE FROM ops.jobs WHERE status IN ('done', 'failed') AND finished_at < $1;

-- name: next_due
-- When the venue's earliest queued retry or expiring lease falls due, so a draining run waits no
-- longer than needed.
SELECT min(CASE WHEN status = 'queued' THEN run_after ELSE lease_expires_at END) AS due FROM ops.jobs WHERE venue = $1 AND status IN ('queued', 'running');
