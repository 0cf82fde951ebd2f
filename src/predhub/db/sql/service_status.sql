-- The API's status report (GET /v1/status): small reads by index and gold rows, so
-- the page that polls it costs the database next to nothing. Requests, jobs and
-- quarantine counts are shared with `predhub status` (scheduler_status.sql).

-- name: freshness
-- Each venue's freshness per priority and as a whole ('*'), as the gold refresh keeps it.
SELECT venue, sync_priority, markets, open_markets, never_quoted, newest_quote_at,
       newest_metadata_at, quote_age_p50, quote_age_p90, measured_at, refreshed_at
FROM gold.venue_freshness ORDER BY venue, sync_priority

-- name: latest_quarantine
-- The newest quarantined item of each venue (one probe of the venue's index each).
SELECT v.venue, q.created_at, q.endpoint, q.item_id, left(q.reason, 300) AS reason
FROM (SELECT unnest($1::text[]) AS venue) v
CROSS JOIN LATERAL (
    SELECT created_at, endpoint, item_id, reason FROM ops.quarantine
    WHERE venue = v.venue ORDER BY created_at DESC LIMIT 1
) q

-- name: recent_errors
-- The newest $2 jobs of each venue whose last attempt failed, with the error (a partial
-- index holds only such jobs): retried ones are queued again, given-up ones failed.
SELECT v.venue, j.id, j.kind, j.status, j.attempts, left(j.last_error, 300) AS error,
       coalesce(j.finished_at, j.started_at, j.created_at) AS at
FROM (SELECT unnest($1::text[]) AS venue) v
CROSS JOIN LATERAL (
    SELECT id, kind, status, attempts, last_error, finished_at, started_at, created_at
    FROM ops.jobs WHERE venue = v.venue AND last_error IS NOT NULL
    ORDER BY id DESC LIMIT $2
) j
ORDER BY v.venue, j.id DESC

-- name: database
-- The database's size on disk and the time of reading (the report's `as_of`).
SELECT pg_database_size(current_database()) AS size_bytes, now() AS at
