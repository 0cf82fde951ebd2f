-- The API's status report (GET /v1/status): small reads by index and gold rows, so
-- the page that polls it costs the database next to nothing. Requests, jobs and
-- quarantine counts are shared with `predhub status` (scheduler_status.sql).

-- name: report
-- The whole report in one round trip (the page polls it; on a busy machine each trip
-- costs more than these reads): each part is a JSON array of rows. {usage}, {jobs} and
-- {quarantine} are the counts `predhub status` prints (scheduler_status.sql; $1 is this
-- minute), {gold} and {prunes} the upkeep's last runs; $2 the venues, $3 errors per venue.
-- The database's size only when $4: pg_database_size() stats every file of every relation
-- (partitions make that hundreds), most of this statement's time, so the service measures
-- it at most once a minute and serves the figure with its age in between.
SELECT now() AS at,
       CASE WHEN $4::boolean THEN pg_database_size(current_database()) END AS size_bytes,
       (SELECT coalesce(json_agg(t), '[]') FROM ({usage}) t) AS usage,
       (SELECT coalesce(json_agg(t), '[]') FROM ({jobs}) t) AS jobs,
       (SELECT coalesce(json_agg(t), '[]') FROM ({quarantine}) t) AS quarantine,
       (SELECT coalesce(json_agg(t ORDER BY t.venue, t.sync_priority), '[]') FROM (
            SELECT venue, sync_priority, markets, open_markets, never_quoted, newest_quote_at,
                   newest_metadata_at, newest_trade_at, quote_age_p50, quote_age_p90, measured_at, refreshed_at
            FROM gold.venue_freshness) t) AS freshness,
       -- the newest quarantined item of each venue (one probe of the venue's index each)
       (SELECT coalesce(json_agg(t), '[]') FROM (
            SELECT v.venue, q.created_at, q.endpoint, q.item_id, left(q.reason, 300) AS reason
            FROM unnest($2::text[]) AS v(venue)
            CROSS JOIN LATERAL (
                SELECT created_at, endpoint, item_id, reason FROM ops.quarantine
                WHERE venue = v.venue ORDER BY created_at DESC LIMIT 1) q) t) AS latest,
       -- the newest jobs of each venue whose last attempt failed (a partial index holds
       -- only those): retried ones are queued again, given-up ones failed
       (SELECT coalesce(json_agg(t ORDER BY t.venue, t.id DESC), '[]') FROM (
            SELECT v.venue, j.id, j.kind, j.status, j.attempts, left(j.last_error, 300) AS error,
                   coalesce(j.finished_at, j.started_at, j.created_at) AS at
            FROM unnest($2::text[]) AS v(venue)
            CROSS JOIN LATERAL (
                SELECT id, kind, status, attempts, last_error, finished_at, started_at, created_at
                FROM ops.jobs WHERE venue = v.venue AND last_error IS NOT NULL
                ORDER BY id DESC LIMIT $3) j) t) AS errors,
       (SELECT coalesce(json_agg(t), '[]') FROM ({gold}) t) AS gold,
       (SELECT coalesce(json_agg(t), '[]') FROM ({prunes}) t) AS prunes
