-- How fresh each venue is, as gold rows the API reads in one lookup (GET /v1/venues,
-- GET /v1/status) instead of percentiles over every market per request.
--
-- The gold refresh keeps them by difference, like the venue totals: a changed
-- market's previous row leaves its venue's counts and its second in the
-- histogram of quote syncs, its new row enters them. The quote-age percentiles
-- are read off that histogram (one row per venue, priority and second in which
-- some open market was last quoted), so computing them costs the histogram's
-- size, never the catalogue's.

ALTER TABLE gold.market_stats
    ADD COLUMN sync_priority text,
    ADD COLUMN quotes_synced_at timestamptz,
    ADD COLUMN metadata_synced_at timestamptz,
    ADD COLUMN last_trade_at timestamptz;

-- Open markets by the second of their last quote sync, per venue and priority.
CREATE TABLE gold.quote_sync_seconds (
    venue text NOT NULL,
    sync_priority text NOT NULL,
    second timestamptz NOT NULL,
    markets integer NOT NULL,
    PRIMARY KEY (venue, sync_priority, second)
);

-- Per venue and priority, and per venue as a whole (sync_priority '*'): counts,
-- the newest syncs, and the open markets' quote age percentiles when measured.
CREATE TABLE gold.venue_freshness (
    venue text NOT NULL,
    sync_priority text NOT NULL,
    markets integer NOT NULL DEFAULT 0,
    open_markets integer NOT NULL DEFAULT 0,
    never_quoted integer NOT NULL DEFAULT 0,
    newest_quote_at timestamptz,
    newest_metadata_at timestamptz,
    newest_trade_at timestamptz,
    quote_age_p50 double precision,
    quote_age_p90 double precision,
    measured_at timestamptz,
    refreshed_at timestamptz NOT NULL,
    PRIMARY KEY (venue, sync_priority)
);

-- A market moved to another priority is folded in again, so the per-priority rows
-- follow the planner: a priority change queues the market for gold through silver.market_sync's own
-- trigger (0016), so the venue rows follow it at the next refresh.

-- The status page's recent sync errors per venue: only failing jobs are indexed.
CREATE INDEX jobs_errors_idx ON ops.jobs (venue, id DESC) WHERE last_error IS NOT NULL;

-- Fill from what gold holds now (one pass at upgrade; later refreshes keep it by difference).
UPDATE gold.market_stats s
SET sync_priority = m.sync_priority, quotes_synced_at = m.quotes_synced_at,
    metadata_synced_at = m.metadata_synced_at,
    last_trade_at = (SELECT max(t.executed_at) FROM silver.trades t WHERE t.market_id = s.market_id
                     AND t.executed_at > now() - interval '48 hours' AND t.executed_at <= now())
FROM silver.market_sync m WHERE m.market_id = s.market_id;

INSERT INTO gold.quote_sync_seconds (venue, sync_priority, second, markets)
SELECT venue, sync_priority, date_trunc('second', quotes_synced_at), count(*)
FROM gold.market_stats
WHERE status = 'open' AND quotes_synced_at IS NOT NULL AND sync_priority IS NOT NULL
GROUP BY 1, 2, 3;

INSERT INTO gold.venue_freshness (venue, sync_priority, markets, open_markets, never_quoted,
                                  newest_quote_at, newest_metadata_at, newest_trade_at,
                                  quote_age_p50,
                                  quote_age_p90, measured_at, refreshed_at)
SELECT venue, coalesce(sync_priority, '*'), count(*), count(*) FILTER (WHERE status = 'open'),
       count(*) FILTER (WHERE status = 'open' AND quotes_synced_at IS NULL),
       max(quotes_synced_at), max(metadata_synced_at), max(last_trade_at),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM now() - quotes_synced_at))
           FILTER (WHERE status = 'open'),
       percentile_disc(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM now() - quotes_synced_at))
           FILTER (WHERE status = 'open'),
       now(), now()
FROM gold.market_stats WHERE sync_priority IS NOT NULL
GROUP BY GROUPING SETS ((venue, sync_priority), (venue));
