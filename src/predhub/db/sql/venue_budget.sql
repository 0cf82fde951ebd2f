-- The per-minute request budget of each venue in ops.venue_usage (predhub.venues.budget),
-- shared by every worker and API process so together they stay under the venue's limit.

-- name: reserve_requests
-- Reserves $3 requests of this minute's budget unless the total would pass $4; returns the
-- minute's total (NULL when refused), atomically across workers.
INSERT INTO ops.venue_usage AS u (venue, minute, requests) VALUES ($1, $2, $3)
ON CONFLICT (venue, minute) DO UPDATE SET requests = u.requests + EXCLUDED.requests
WHERE u.requests + EXCLUDED.requests <= $4
RETURNING requests;

-- name: book_usage
-- Records requests beyond a reservation (or given back when negative), errors and retries for the
-- minute, so the status report and the cap see them.
INSERT INTO ops.venue_usage AS u (venue, minute, requests, errors, retries)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (venue, minute) DO UPDATE SET
    requests = u.requests + EXCLUDED.requests,
    errors = u.errors + EXCLUDED.errors,
    retries = u.retries + EXCLUDED.retries;

-- name: minute_requests
-- Requests already counted for the venue in this minute.
SELECT requests FROM ops.venue_usage WHERE venue = $1 AND minute = $2;
