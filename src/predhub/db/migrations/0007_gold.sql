-- The gold layer: pre-computed answers the API reads as they are, refreshed by
-- the worker from what changed in silver since the last refresh.
--
-- Change log. The triggers that already announce a market's shown columns and
-- its quotes (0004) also record the market id in ops.gold_changes, one row
-- per market however often it changed; new markets and changed events are
-- recorded the same way. A refresh takes the ids it finds, recomputes those
-- markets' rows and their events' and deletes what it took in the same
-- transaction, so its cost follows the change, not the catalogue. Trades are
-- read past a watermark on their identity instead (no trigger on the busiest
-- write path).

CREATE TABLE ops.gold_changes (
    market_id   bigint PRIMARY KEY,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ops.gold_event_changes (
    event_id    bigint PRIMARY KEY,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION silver.market_row_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('predhub_market_changed', NEW.id::text);
    INSERT INTO ops.gold_changes (market_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    IF OLD.event_id IS DISTINCT FROM NEW.event_id AND OLD.event_id IS NOT NULL THEN
        INSERT INTO ops.gold_event_changes (event_id) VALUES (OLD.event_id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION silver.quotes_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM silver.notify_market_ids(ARRAY(
        SELECT DISTINCT market_id FROM new_rows ORDER BY market_id));
    INSERT INTO ops.gold_changes (market_id)
    SELECT DISTINCT market_id FROM new_rows ORDER BY market_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE FUNCTION silver.markets_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ops.gold_changes (market_id)
    SELECT id FROM new_rows ORDER BY id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_inserted_gold
    AFTER INSERT ON silver.markets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.markets_inserted();

CREATE FUNCTION silver.event_row_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ops.gold_event_changes (event_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_changed_gold
    AFTER UPDATE ON silver.events
    FOR EACH ROW
    WHEN ((NEW.title, NEW.status, NEW.end_at, NEW.category, NEW.tags)
          IS DISTINCT FROM (OLD.title, OLD.status, OLD.end_at, OLD.category, OLD.tags))
    EXECUTE FUNCTION silver.event_row_changed();

-- Markets that existed before this migration are all changed once.
INSERT INTO ops.gold_changes (market_id) SELECT id FROM silver.markets;

-- Which refresh ran when, who holds it (a lease, so one worker at a time),
-- and the trades watermark.
CREATE TABLE ops.gold_refresh (
    name              text PRIMARY KEY,
    lease_owner       text,
    lease_expires_at  timestamptz,
    last_started_at   timestamptz,
    last_finished_at  timestamptz,
    last_markets      integer     NOT NULL DEFAULT 0,
    last_seconds      double precision,
    watermark         bigint      NOT NULL DEFAULT 0
);

-- Each retention job's last run, for `predhub status`.
CREATE TABLE ops.retention_runs (
    name          text PRIMARY KEY,
    last_run_at   timestamptz NOT NULL,
    rows_pruned   bigint      NOT NULL DEFAULT 0,
    total_pruned  bigint      NOT NULL DEFAULT 0
);
-- Loads and quarantine entries are pruned by age.
CREATE INDEX IF NOT EXISTS loads_started_idx ON ops.loads (started_at);
CREATE INDEX IF NOT EXISTS quarantine_created_idx ON ops.quarantine (created_at);
CREATE INDEX IF NOT EXISTS order_book_observed_idx ON silver.order_book_snapshots (observed_at);

-- ---------------------------------------------------------------- gold tables
DROP VIEW IF EXISTS gold.top_markets;

-- One row per market: the figures every gold answer is built from. `as_of`
-- is when the venue data behind the row was observed (the quote sync, else
-- the metadata sync); `refreshed_at` when the row was computed.
CREATE TABLE gold.market_stats (
    market_id          bigint PRIMARY KEY,
    venue              text        NOT NULL,
    event_id           bigint,
    category           text        NOT NULL,
    status             text        NOT NULL,
    question           text        NOT NULL,
    end_at             timestamptz,
    volume_24h         numeric     NOT NULL DEFAULT 0,
    volume_total       numeric     NOT NULL DEFAULT 0,
    liquidity          numeric     NOT NULL DEFAULT 0,
    open_interest      numeric     NOT NULL DEFAULT 0,
    leading_outcome    text,
    leading_price      numeric,
    yes_price          numeric,
    move_1h            numeric,
    move_24h           numeric,
    move_7d            numeric,
    trades_24h         integer     NOT NULL DEFAULT 0,
    trades_prev_24h    integer     NOT NULL DEFAULT 0,
    notional_24h       numeric     NOT NULL DEFAULT 0,
    notional_prev_24h  numeric     NOT NULL DEFAULT 0,
    traders_24h        integer,
    traders_prev_24h   integer,
    trend_score        numeric,
    as_of              timestamptz,
    refreshed_at       timestamptz NOT NULL
);
CREATE INDEX market_stats_event_idx ON gold.market_stats (event_id) WHERE event_id IS NOT NULL;
CREATE INDEX market_stats_venue_volume_idx ON gold.market_stats (venue, volume_24h DESC, market_id)
    WHERE status = 'open';
CREATE INDEX market_stats_volume_idx ON gold.market_stats (volume_24h DESC, market_id)
    WHERE status = 'open';
CREATE INDEX market_stats_category_idx ON gold.market_stats (lower(category));
-- the warm pass re-queues the markets whose figures can change with time alone
CREATE INDEX market_stats_active_idx ON gold.market_stats (market_id)
    WHERE status = 'open' AND (coalesce(move_7d, 0) <> 0 OR trades_24h + trades_prev_24h > 0);
CREATE INDEX market_stats_venue_asof_idx ON gold.market_stats (venue, as_of) WHERE status = 'open';
CREATE INDEX market_stats_category_asof_idx ON gold.market_stats (category, as_of)
    WHERE status = 'open';
CREATE INDEX market_stats_move_1h_idx ON gold.market_stats (abs(move_1h) DESC NULLS LAST)
    WHERE status = 'open';
CREATE INDEX market_stats_move_24h_idx ON gold.market_stats (abs(move_24h) DESC NULLS LAST)
    WHERE status = 'open';
CREATE INDEX market_stats_move_7d_idx ON gold.market_stats (abs(move_7d) DESC NULLS LAST)
    WHERE status = 'open';
CREATE INDEX market_stats_trend_idx ON gold.market_stats (trend_score DESC NULLS LAST)
    WHERE status = 'open';

-- Top N per venue (scope = the venue) and overall (scope = '*') by 24 h volume.
CREATE TABLE gold.top_markets_snapshot (
    scope         text        NOT NULL,
    rank          integer     NOT NULL,
    market_id     bigint      NOT NULL,
    venue         text        NOT NULL,
    volume_24h    numeric     NOT NULL,
    as_of         timestamptz,
    refreshed_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, rank)
);

CREATE TABLE gold.events_snapshot (
    event_id             bigint PRIMARY KEY,
    venue                text        NOT NULL,
    title                text        NOT NULL,
    category             text        NOT NULL,
    markets              integer     NOT NULL,
    open_markets         integer     NOT NULL,
    venues               text[]      NOT NULL,
    volume_total         numeric     NOT NULL,
    volume_24h           numeric     NOT NULL,
    liquidity            numeric     NOT NULL,
    leading_market_id    bigint,
    leading_outcome      text,
    leading_probability  numeric,
    probability_spread   numeric,
    end_at               timestamptz,
    status               text        NOT NULL,
    resolved_markets     integer     NOT NULL,
    as_of                timestamptz,
    refreshed_at         timestamptz NOT NULL
);

-- The largest moves per window ('1h', '24h', '7d'), largest first.
CREATE TABLE gold.movers (
    time_window   text        NOT NULL,
    rank          integer     NOT NULL,
    market_id     bigint      NOT NULL,
    venue         text        NOT NULL,
    move          numeric     NOT NULL,
    price         numeric,
    volume_24h    numeric     NOT NULL,
    as_of         timestamptz,
    refreshed_at  timestamptz NOT NULL,
    PRIMARY KEY (time_window, rank)
);

CREATE TABLE gold.venue_stats (
    venue             text PRIMARY KEY,
    markets           integer     NOT NULL DEFAULT 0,
    open_markets      integer     NOT NULL DEFAULT 0,
    open_interest     numeric     NOT NULL DEFAULT 0,
    volume_24h        numeric     NOT NULL DEFAULT 0,
    volume_total      numeric     NOT NULL DEFAULT 0,
    liquidity         numeric     NOT NULL DEFAULT 0,
    newest_as_of      timestamptz,
    as_of             timestamptz,
    refreshed_at      timestamptz NOT NULL
);

CREATE TABLE gold.category_stats (
    category          text PRIMARY KEY,
    markets           integer     NOT NULL DEFAULT 0,
    open_markets      integer     NOT NULL DEFAULT 0,
    open_interest     numeric     NOT NULL DEFAULT 0,
    volume_24h        numeric     NOT NULL DEFAULT 0,
    volume_total      numeric     NOT NULL DEFAULT 0,
    liquidity         numeric     NOT NULL DEFAULT 0,
    newest_as_of      timestamptz,
    as_of             timestamptz,
    refreshed_at      timestamptz NOT NULL
);

-- 24 h activity against the previous 24 h, most grown first.
CREATE TABLE gold.trending (
    rank               integer PRIMARY KEY,
    market_id          bigint      NOT NULL,
    venue              text        NOT NULL,
    notional_24h       numeric     NOT NULL,
    notional_prev_24h  numeric     NOT NULL,
    trades_24h         integer     NOT NULL,
    trades_prev_24h    integer     NOT NULL,
    traders_24h        integer,
    traders_prev_24h   integer,
    score              numeric     NOT NULL,
    as_of              timestamptz,
    refreshed_at       timestamptz NOT NULL
);
