-- What a venue worker reads and stamps (predhub.scheduler.worker, priority, periodic, streams):
-- market states for the planner, sync priorities, periodic slots and the stream set.

-- name: claim_schedule_slot
-- Claims slot $3 of a periodic schedule for the venue; one process wins a slot, and the previous
-- watermark says whether it is the first ever.
INSERT INTO ops.sync_state AS s (venue, kind, watermark, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (venue, kind) DO UPDATE SET watermark = EXCLUDED.watermark,
                                        updated_at = EXCLUDED.updated_at
WHERE s.watermark IS NULL OR s.watermark::bigint < EXCLUDED.watermark::bigint
RETURNING (xmax = 0) AS first;

-- name: priority_rules_seen
-- Records the thresholds the priority rules of the venue were last applied with ($2) and the
-- latest time they were applied at ($3); says whether every market must be re-derived
-- (thresholds changed, or a clock gone back more than a minute), as a stored "priority until"
-- holds only for the thresholds and times it was computed with. The minute lets workers whose
-- clocks differ slightly plan the same venue in turn without that; a threshold seen a few
-- milliseconds late is harmless. On the first run every row is due already (new rows are).
WITH was AS (
    SELECT watermark, updated_at FROM ops.sync_state WHERE venue = $1 AND kind = 'priority_rules'
), verdict AS (
    SELECT EXISTS (SELECT 1 FROM was
                   WHERE watermark IS DISTINCT FROM $2
                      OR updated_at > $3::timestamptz + interval '1 minute') AS everything
), saved AS (
    INSERT INTO ops.sync_state AS s (venue, kind, watermark, updated_at)
    VALUES ($1, 'priority_rules', $2, $3)
    ON CONFLICT (venue, kind) DO UPDATE SET
        watermark = EXCLUDED.watermark,
        updated_at = CASE WHEN (SELECT everything FROM verdict) THEN EXCLUDED.updated_at
                          ELSE greatest(s.updated_at, EXCLUDED.updated_at) END
)
SELECT everything FROM verdict;

-- name: recompute_priorities
-- Re-derives sync_priority from status, dates, volume and interest for the markets of the
-- venue whose inputs changed (logged in ops.priority_changes) or whose priority is due ($2 is
-- now: a time threshold of the rules passed), at most $7 of each (NULL: no limit), the oldest
-- first, so a cycle's work is bounded and the rest follows in the next cycles; or all of them
-- when $8 (the thresholds changed). $3 is the interest window, $4 the high volume, $5 the closing
-- window, $6 the recent-close window. Rows and markets are read by key lists (= ANY of an
-- array), so the plan stays index lookups whatever the estimates. Each row also gets the next
-- time its priority may change with no change of its inputs (the first threshold after now;
-- a threshold met on "at least" turns one microsecond after it), so later cycles read only
-- rows whose time came. A row is written only when its priority or that time moves; rows are
-- locked in id order, as every stamp does, and written only if no one wrote them since they
-- were read (their xmin); the log entries read are deleted, but for a row so skipped, which
-- the next cycle takes again. When a market enters or leaves 'high', the venue's name is sent
-- on predhub_high_markets (at commit) so its live stream resubscribes at once, not on a timer.
WITH logged AS (
    SELECT id, market_id FROM ops.priority_changes WHERE venue = $1 ORDER BY id LIMIT $7
), due AS (
    SELECT s.xmin AS seen, s.market_id, s.sync_priority AS was, s.priority_until AS was_until,
           s.interest_at
    FROM silver.market_sync s
    WHERE s.market_id = ANY (ARRAY(
        SELECT market_id FROM logged
        UNION
        SELECT market_id FROM (
            SELECT market_id FROM silver.market_sync
            WHERE venue = $1
              AND priority_until <= CASE WHEN $8 THEN 'infinity' ELSE $2::timestamptz END
            ORDER BY priority_until
            LIMIT $7) AS d))
), inputs AS (
    SELECT d.*, m.status, m.end_at, m.volume_24h,
           coalesce(m.resolved_at, m.end_at, m.venue_updated_at, m.updated_at) AS settled_at,
           coalesce(m.end_at, m.venue_updated_at, m.updated_at) AS stopped_at
    FROM due d JOIN silver.markets m ON m.id = d.market_id
    WHERE m.id = ANY (ARRAY(SELECT market_id FROM due))
), rules AS (
    SELECT i.market_id, i.seen, i.was, i.was_until,
           CASE
               WHEN i.status IN ('resolved', 'voided')
                    AND i.settled_at >= $2::timestamptz - $6::interval THEN 'low'
               WHEN i.status IN ('resolved', 'voided') THEN 'archived'
               WHEN i.interest_at >= $2::timestamptz - $3::interval THEN 'high'
               WHEN i.status = 'open' AND (
                        coalesce(i.volume_24h, 0) >= $4
                        OR (i.end_at IS NOT NULL AND i.end_at > $2::timestamptz
                            AND i.end_at <= $2::timestamptz + $5::interval)) THEN 'high'
               WHEN i.status = 'open' THEN 'normal'
               WHEN i.stopped_at >= $2::timestamptz - $6::interval THEN 'normal'
               ELSE 'low'
           END AS priority,
           coalesce((
               SELECT min(t) FROM (VALUES
                   (CASE WHEN i.status IN ('resolved', 'voided')
                         THEN i.settled_at + $6::interval + interval '1 microsecond' END),
                   (CASE WHEN i.status NOT IN ('resolved', 'voided')
                         THEN i.interest_at + $3::interval + interval '1 microsecond' END),
                   (CASE WHEN i.status = 'open' THEN i.end_at - $5::interval END),
                   (CASE WHEN i.status = 'open' THEN i.end_at END),
                   (CASE WHEN i.status NOT IN ('open', 'resolved', 'voided')
                         THEN i.stopped_at + $6::interval + interval '1 microsecond' END)
               ) AS v (t)
               WHERE t > $2::timestamptz), 'infinity') AS until
    FROM inputs i
), moved AS (
    SELECT * FROM rules WHERE (was, was_until) IS DISTINCT FROM (priority, until)
), locked AS (
    SELECT s.ctid AS tid, s.xmin AS latest, s.market_id
    FROM silver.market_sync s
    WHERE s.market_id = ANY (ARRAY(SELECT market_id FROM moved))
    ORDER BY s.market_id
    FOR UPDATE
), changed AS (
    UPDATE silver.market_sync s SET sync_priority = r.priority, priority_until = r.until
    FROM moved r JOIN locked l ON l.market_id = r.market_id
    WHERE s.ctid = l.tid AND l.latest = r.seen
    RETURNING r.market_id, r.was, r.priority
), cleared AS (
    DELETE FROM ops.priority_changes
    WHERE id = ANY (ARRAY(
        SELECT l.id FROM logged l
        WHERE l.market_id NOT IN (SELECT market_id FROM moved
                                  EXCEPT SELECT market_id FROM changed)))
), told AS (
    SELECT pg_notify('predhub_high_markets', $1)
    WHERE EXISTS (SELECT 1 FROM changed WHERE was = 'high' OR priority = 'high')
)
SELECT (SELECT count(*) FROM changed WHERE was IS DISTINCT FROM priority) AS changed,
       (SELECT count(*) FROM changed) AS written,
       (SELECT count(*) FROM told) AS told;

-- name: high_priority_markets
-- The venue's open high-priority markets to stream, busiest first, at most $2.
SELECT m.id FROM silver.market_sync s JOIN silver.markets m ON m.id = s.market_id
WHERE s.venue = $1 AND s.sync_priority = 'high' AND m.status = 'open'
ORDER BY m.volume_24h DESC NULLS LAST, m.id
LIMIT $2;

-- name: forget_trades_synced
-- A stream resyncs: the markets' trades are marked never synced, so the planner fetches them
-- first, and their quotes are no longer the stream's, so the REST re-read may write them.
UPDATE silver.market_sync SET trades_synced_at = NULL, quotes_streamed_until = NULL
WHERE market_id = ANY($1::bigint[]);

-- name: forget_quotes_synced
-- Marks the markets' quotes as never synced, so the planner re-reads them over REST.
UPDATE silver.market_sync SET quotes_synced_at = NULL WHERE market_id = ANY($1::bigint[]);

-- name: stamp_quotes_synced
-- Stamps the markets' quotes as synced at $2 (a stream message is a fresh quote) and as the
-- stream's until $3 (other writers leave them alone until then).
UPDATE silver.market_sync SET quotes_synced_at = $2, quotes_streamed_until = $3
WHERE market_id = ANY($1::bigint[]);

-- name: stamp_synced
-- Stamps one data kind of the markets as synced at $2 after a job loaded it; {column} is the
-- kind's `<kind>_synced_at` column, from the scheduler's own kind list.
UPDATE silver.market_sync SET {column} = $2 WHERE market_id = ANY($1::bigint[]);

-- name: due_jobs
-- The planner's candidate jobs: the (market, kind) pairs due by $6 (now plus the wait for the
-- next cycle), the $8 most valuable first (what the cycle's budget could take, plus the busy
-- markets left out), cut into jobs of $10 markets per priority and kind, so the worker receives
-- jobs, not pairs. $2..$5 are parallel arrays of priority, kind, cadence in seconds and value
-- (the planner's priority value times kind value); a pair's score is its overdue ratio times
-- that value, a never-synced pair being $7 cadences overdue, as in the planner. Within one
-- priority and kind the score follows the stamp's age, so each group's best pairs are its
-- never-synced ones and its oldest stamps: two index ranges of the group's (venue,
-- sync_priority, <kind>_synced_at, market_id) index, each read only up to the group's take ($9:
-- what the cycle's room could take of that group; a branch whose kind is not the group's is
-- not run). A cycle reads at most twice the takes, whatever the catalogue's size. Of the best
-- pairs, those in live jobs ($11/$12: kind and market, parallel) are left out, and each group's
-- rest is chunked best first, as `planner.plan_due` chunks them: each job's markets in order,
-- with the first one's stamp (its score). The score's age is date_part's float, not extract's
-- numeric, which cost a fifth of the statement.
WITH c AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $9::int[], $10::int[])
        AS c (priority, kind, cadence, value, take, size)
), picked AS (
    SELECT c.priority, c.kind, c.size, p.market_id, p.synced,
           c.value * CASE WHEN p.synced IS NULL THEN $7::float8
                          ELSE date_part('epoch', $6::timestamptz - p.synced) / c.cadence END AS score
    FROM c CROSS JOIN LATERAL (
        (SELECT market_id, quotes_synced_at FROM silver.market_sync
         WHERE c.kind = 'quotes' AND venue = $1 AND sync_priority = c.priority
           AND sync_priority <> 'archived' AND quotes_synced_at IS NULL
         ORDER BY quotes_synced_at, market_id LIMIT c.take)
        UNION ALL
        (SELECT market_id, quotes_synced_at FROM silver.market_sync
         WHERE c.kind = 'quotes' AND venue = $1 AND sync_priority = c.priority
           AND sync_priority <> 'archived'
           AND quotes_synced_at <= $6::timestamptz - make_interval(secs => c.cadence)
         ORDER BY quotes_synced_at, market_id LIMIT c.take)
        UNION ALL
        (SELECT market_id, trades_synced_at FROM silver.market_sync
         WHERE c.kind = 'trades' AND venue = $1 AND sync_priority = c.priority
           AND sync_priority <> 'archived' AND trades_synced_at IS NULL
         ORDER BY trades_synced_at, market_id LIMIT c.take)
        UNION ALL
        (SELECT market_id, trades_synced_at FROM silver.market_sync
         WHERE c.kind = 'trades' AND venue = $1 AND sync_priority = c.priority
           AND sync_priority <> 'archived'
           AND trades_synced_at <= $6::timestamptz - make_interval(secs => c.cadence)
         ORDER BY trades_synced_at, market_id LIMIT c.take)
        UNION ALL
        (SELECT market_id, books_synced_at FROM silver.market_sync
         WHERE c.kind = 'books' AND venue = $1 AND sync_priority = c.priority
           AND sync_priority <> 'archived' AND books_synced_at IS NULL
         ORDER BY books_synced_at, market_id LIMIT c.take)
        UNION ALL
        (SELECT market_id, books_synced_at FROM silver.market_sync
         WHERE c.kind = 'books' AND venue = $1 AND sync_priority = c.priority
           AND sync_priority <> 'archived'
           AND books_synced_at <= $6::timestamptz - make_interval(secs => c.cadence)
         ORDER BY books_synced_at, market_id LIMIT c.take)
        UNION ALL
        (SELECT market_id, metadata_synced_at FROM silver.market_sync
         WHERE c.kind = 'metadata' AND venue = $1 AND sync_priority = c.priority
           AND sync_priority <> 'archived' AND metadata_synced_at IS NULL
         ORDER BY metadata_synced_at, market_id LIMIT c.take)
        UNION ALL
        (SELECT market_id, metadata_synced_at FROM silver.market_sync
         WHERE c.kind = 'metadata' AND venue = $1 AND sync_priority = c.priority
           AND sync_priority <> 'archived'
           AND metadata_synced_at <= $6::timestamptz - make_interval(secs => c.cadence)
         ORDER BY metadata_synced_at, market_id LIMIT c.take)
    ) AS p (market_id, synced)
), best AS (
    SELECT * FROM picked ORDER BY score DESC, market_id LIMIT $8
), free AS (
    SELECT priority, kind, market_id, synced,
           (row_number() OVER (PARTITION BY priority, kind ORDER BY score DESC, market_id) - 1)
               / size AS chunk,
           score
    FROM best b
    WHERE NOT EXISTS (
        SELECT 1 FROM unnest($11::text[], $12::bigint[]) AS busy (kind, market_id)
        WHERE busy.kind = b.kind AND busy.market_id = b.market_id)
)
SELECT priority AS sync_priority, kind,
       array_agg(market_id ORDER BY score DESC, market_id) AS market_ids,
       (array_agg(synced ORDER BY score DESC, market_id))[1] AS synced
FROM free
GROUP BY priority, kind, chunk;

-- name: count_markets
-- How many markets the venue has, to tell a first load from a later one.
SELECT count(*) FROM silver.markets WHERE venue = $1;

-- name: try_plan_lock
-- Takes the venue's planning lock for this transaction if free, so one worker plans a venue at a
-- time.
SELECT pg_try_advisory_xact_lock(hashtext($1));
