-- The scheduler status report (predhub.scheduler.status): a handful of grouped reads.

-- name: staleness
-- Markets per venue and priority with, per data kind, age percentiles and never-synced counts;
-- {columns} is filled from the scheduler's own kind list.
SELECT venue, sync_priority, count(*) AS markets,
{columns}
FROM silver.market_sync
GROUP BY venue, sync_priority;

-- name: usage
-- Requests in this minute and in the last hour per venue, with errors and retries.
SELECT venue,
       coalesce(sum(requests) FILTER (WHERE minute = $1), 0) AS minute_requests,
       coalesce(sum(requests), 0) AS hour_requests,
       coalesce(sum(errors), 0) AS hour_errors,
       coalesce(sum(retries), 0) AS hour_retries
FROM ops.venue_usage WHERE minute > $1 - interval '1 hour'
GROUP BY venue;

-- name: jobs
-- Queued, running and failed jobs per venue (done jobs, the bulk of the table until
-- retention prunes them, are left to the index: the status page reads this too).
SELECT venue,
       count(*) FILTER (WHERE status = 'queued') AS queued,
       count(*) FILTER (WHERE status = 'running') AS running,
       count(*) FILTER (WHERE status = 'failed') AS failed
FROM ops.jobs WHERE status IN ('queued', 'running', 'failed') GROUP BY venue;

-- name: quarantine
-- Quarantined rows per venue (bad data that ingestion set aside).
SELECT venue, count(*) AS n FROM ops.quarantine GROUP BY venue;
