-- Time partitions for the tables that grow with history: silver.trades,
-- silver.price_history, silver.order_book_snapshots and bronze (responses and
-- their sightings) become PostgreSQL range-partitioned tables on their time
-- column, so a query bounded in time reads only the partitions it needs and
-- retention drops whole partitions instead of deleting row by row.
--
-- Widths (ops.partition_plans), chosen from each table's reads and retention:
--   trades            month  kept forever; read by market over recent days (the
--                            API's pages, gold's 48 hours) or by time slice
--                            (exports). Backfills write years back, so a finer
--                            width would mean hundreds of partitions to plan.
--   price_history     week   points are kept HISTORY_1M_RETENTION_DAYS (14) and
--                            read over hours to days (1- and 5-minute candles);
--                            a week drops soon after it is rolled up and
--                            expired, and keeps the partition count low when
--                            retention is off.
--   order_book_snapshots day  BRONZE_RETENTION_DAYS (30) of heavy JSON books,
--                            thinned after BOOK_SNAPSHOTS_FULL_DAYS (7): days
--                            match both settings.
--   bronze            day    BRONZE_RETENTION_DAYS (30) of raw payloads; a
--                            content is stored once per day (see below).
--
-- There is no default partition: a row for a time no partition covers fails
-- ("no partition of relation ... found for row") and the writer creates the
-- partition and retries (predhub.db.partitions), while the worker keeps each
-- table `ahead` periods in front of now. Unique keys of a partitioned table
-- must hold the partition key, which is why:
--   * trades are unique by (venue, trade_key, executed_at); the writer finds a
--     trade stored already by its key within a day of its time, under a lock
--     per market (predhub.ingest.silver.trades), because the stream and REST
--     stamp one trade with different precision;
--   * bronze stores a content once per UTC day (fetched_day, midnight of
--     fetched_at) and its sightings live in the same day, so a day of bronze is
--     one partition of each table, dropped together;
--   * each outcome's latest order book is also kept in the narrow
--     silver.order_book_latest, so dropping old days never loses the book the
--     API serves as current, and reading the latest book touches no partition.

CREATE TABLE ops.partition_plans (
    parent     text PRIMARY KEY,         -- schema-qualified table
    key_column text NOT NULL,
    width      text NOT NULL CHECK (width IN ('day', 'week', 'month')),
    ahead      integer NOT NULL CHECK (ahead >= 1)
);
INSERT INTO ops.partition_plans (parent, key_column, width, ahead) VALUES
    ('silver.trades', 'executed_at', 'month', 2),
    ('silver.price_history', 'ts', 'week', 4),
    ('silver.order_book_snapshots', 'observed_at', 'day', 7),
    ('bronze.api_responses', 'fetched_day', 'day', 7),
    ('bronze.response_sightings', 'fetched_day', 'day', 7);

-- The partition of `parent` holding `at`: its start (UTC), by the plan's width.
CREATE FUNCTION ops.partition_start(width text, at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (date_trunc(width, at AT TIME ZONE 'UTC')) AT TIME ZONE 'UTC'
$$;

-- Creates the missing partitions of `parent` that hold the given times; returns
-- how many it created. A partition is made as a plain table and ATTACHed (a
-- SHARE UPDATE EXCLUSIVE lock on the parent: reads and writes go on), under one
-- advisory lock so two workers never race on the same name.
CREATE FUNCTION ops.ensure_partitions(parent text, times timestamptz[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    plan ops.partition_plans;
    lo timestamptz;
    hi timestamptz;
    part text;
    nsp text := split_part(parent, '.', 1);
    made integer := 0;
BEGIN
    SELECT * INTO plan FROM ops.partition_plans p WHERE p.parent = ensure_partitions.parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no partition plan for %', parent;
    END IF;
    FOR lo IN
        SELECT DISTINCT ops.partition_start(plan.width, t) FROM unnest(times) AS t
        WHERE t IS NOT NULL ORDER BY 1
    LOOP
        part := split_part(parent, '.', 2) || '_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMMDD');
        CONTINUE WHEN to_regclass(format('%I.%I', nsp, part)) IS NOT NULL;
        PERFORM pg_advisory_xact_lock(hashtext('predhub.partitions'));
        CONTINUE WHEN to_regclass(format('%I.%I', nsp, part)) IS NOT NULL;
        hi := lo + ('1 ' || plan.width)::interval;
        BEGIN
            EXECUTE format(
                'CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                'INCLUDING STORAGE INCLUDING COMPRESSION)', nsp, part, parent);
            EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                           parent, nsp, part, lo, hi);
            made := made + 1;
        EXCEPTION WHEN duplicate_table THEN
            -- made by a writer that committed while this one waited for the lock (the
            -- name lookup above may still have read the catalog as it was before)
            NULL;
        END;
    END LOOP;
    RETURN made;
END;
$$;

-- The partitions from the period before now's (late rows: a trade of 23:59 written after
-- midnight) to `ahead` periods after now's, for every plan.
CREATE FUNCTION ops.ensure_partitions_ahead(now timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    plan ops.partition_plans;
    made integer := 0;
BEGIN
    FOR plan IN SELECT * FROM ops.partition_plans ORDER BY parent LOOP
        made := made + ops.ensure_partitions(plan.parent, ARRAY(
            SELECT ops.partition_start(plan.width, now) + i * ('1 ' || plan.width)::interval
            FROM generate_series(-1, plan.ahead) AS i));
    END LOOP;
    RETURN made;
END;
$$;

-- ------------------------------------------------------------------ trades
ALTER TABLE silver.trades RENAME TO trades_unpartitioned;
ALTER INDEX silver.trades_pkey RENAME TO trades_unpartitioned_pkey;
ALTER INDEX silver.trades_venue_key RENAME TO trades_unpartitioned_venue_key;
ALTER INDEX silver.trades_market_time_idx RENAME TO trades_unpartitioned_market_time_idx;
ALTER INDEX silver.trades_executed_brin RENAME TO trades_unpartitioned_executed_brin;
ALTER SEQUENCE silver.trades_id_seq RENAME TO trades_unpartitioned_id_seq;

CREATE TABLE silver.trades (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    venue       text        NOT NULL,
    market_id   bigint      NOT NULL,
    outcome_id  bigint,
    trade_key   text        NOT NULL,
    price       numeric     NOT NULL,
    size        numeric     NOT NULL,
    side        text,
    executed_at timestamptz NOT NULL,
    tx_hash     text,
    extra       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    bronze_id   bigint,
    CONSTRAINT trades_pkey PRIMARY KEY (id, executed_at),
    CONSTRAINT trades_price_check CHECK (price >= 0 AND price <= 1),
    CONSTRAINT trades_venue_key UNIQUE (venue, trade_key, executed_at)
) PARTITION BY RANGE (executed_at);
-- id too: a market's newest trades page (executed_at DESC, id DESC) then reads each month
-- in index order, newest month first, and stops at the page's end (an ordered Append)
-- instead of opening every month to merge them.
CREATE INDEX trades_market_time_idx ON silver.trades (market_id, executed_at DESC, id DESC);
CREATE INDEX trades_executed_brin ON silver.trades USING brin (executed_at);

SELECT ops.ensure_partitions('silver.trades', ARRAY(
    SELECT DISTINCT ops.partition_start('month', executed_at) FROM silver.trades_unpartitioned));
INSERT INTO silver.trades
    (id, venue, market_id, outcome_id, trade_key, price, size, side, executed_at, tx_hash,
     extra, bronze_id)
OVERRIDING SYSTEM VALUE
SELECT id, venue, market_id, outcome_id, trade_key, price, size, side, executed_at, tx_hash,
       extra, bronze_id
FROM silver.trades_unpartitioned ORDER BY executed_at;
SELECT setval(pg_get_serial_sequence('silver.trades', 'id'),
              greatest((SELECT last_value FROM silver.trades_unpartitioned_id_seq), 1));
DROP TABLE silver.trades_unpartitioned;

-- ----------------------------------------------------------- price history
ALTER TABLE silver.price_history RENAME TO price_history_unpartitioned;
ALTER INDEX silver.price_history_pkey RENAME TO price_history_unpartitioned_pkey;
ALTER INDEX silver.price_history_ts_brin RENAME TO price_history_unpartitioned_ts_brin;
DROP TRIGGER price_history_inserted ON silver.price_history_unpartitioned;
DROP TRIGGER price_history_updated ON silver.price_history_unpartitioned;

CREATE TABLE silver.price_history (
    outcome_id bigint      NOT NULL REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    ts         timestamptz NOT NULL,
    price      numeric     NOT NULL CHECK (price >= 0 AND price <= 1),
    source     text        NOT NULL DEFAULT 'venue',
    bronze_id  bigint,
    CONSTRAINT price_history_pkey PRIMARY KEY (outcome_id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX price_history_ts_brin ON silver.price_history USING brin (ts);

SELECT ops.ensure_partitions('silver.price_history', ARRAY(
    SELECT DISTINCT ops.partition_start('week', ts) FROM silver.price_history_unpartitioned));
INSERT INTO silver.price_history (outcome_id, ts, price, source, bronze_id)
SELECT outcome_id, ts, price, source, bronze_id FROM silver.price_history_unpartitioned
ORDER BY ts;
DROP TABLE silver.price_history_unpartitioned;

CREATE TRIGGER price_history_inserted
    AFTER INSERT ON silver.price_history
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.price_history_touched();
CREATE TRIGGER price_history_updated
    AFTER UPDATE ON silver.price_history
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.price_history_touched();

-- ------------------------------------------------------ order book snapshots
ALTER TABLE silver.order_book_snapshots RENAME TO order_book_snapshots_unpartitioned;
ALTER INDEX silver.order_book_snapshots_pkey RENAME TO order_book_snapshots_unpartitioned_pkey;
ALTER INDEX silver.order_book_outcome_time_key RENAME TO order_book_unpartitioned_outcome_time_key;
ALTER INDEX silver.order_book_observed_idx RENAME TO order_book_unpartitioned_observed_idx;
ALTER SEQUENCE silver.order_book_snapshots_id_seq
    RENAME TO order_book_snapshots_unpartitioned_id_seq;
DROP TRIGGER order_book_inserted_gold ON silver.order_book_snapshots_unpartitioned;

CREATE TABLE silver.order_book_snapshots (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    market_id   bigint      NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    outcome_id  bigint      NOT NULL REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    observed_at timestamptz NOT NULL,
    fetched_at  timestamptz NOT NULL,
    best_bid    numeric,
    best_ask    numeric,
    bids        jsonb       NOT NULL,
    asks        jsonb       NOT NULL,
    book_hash   text,
    bronze_id   bigint,
    CONSTRAINT order_book_snapshots_pkey PRIMARY KEY (id, observed_at),
    CONSTRAINT order_book_outcome_time_key UNIQUE (outcome_id, observed_at)
) PARTITION BY RANGE (observed_at);
CREATE INDEX order_book_observed_idx ON silver.order_book_snapshots (observed_at);

SELECT ops.ensure_partitions('silver.order_book_snapshots', ARRAY(
    SELECT DISTINCT ops.partition_start('day', observed_at)
    FROM silver.order_book_snapshots_unpartitioned));
INSERT INTO silver.order_book_snapshots
    (id, market_id, outcome_id, observed_at, fetched_at, best_bid, best_ask, bids, asks,
     book_hash, bronze_id)
OVERRIDING SYSTEM VALUE
SELECT id, market_id, outcome_id, observed_at, fetched_at, best_bid, best_ask, bids, asks,
       book_hash, bronze_id
FROM silver.order_book_snapshots_unpartitioned ORDER BY observed_at;
SELECT setval(pg_get_serial_sequence('silver.order_book_snapshots', 'id'),
              greatest((SELECT last_value FROM silver.order_book_snapshots_unpartitioned_id_seq), 1));

-- Each outcome's latest snapshot (the book the API serves as current), kept by the
-- snapshots' insert trigger: a newer snapshot replaces it, an older one (a late
-- backfill) does not.
CREATE TABLE silver.order_book_latest (
    outcome_id  bigint PRIMARY KEY REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    market_id   bigint      NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    snapshot_id bigint      NOT NULL,
    observed_at timestamptz NOT NULL,
    fetched_at  timestamptz NOT NULL,
    best_bid    numeric,
    best_ask    numeric,
    bids        jsonb       NOT NULL,
    asks        jsonb       NOT NULL,
    book_hash   text,
    bronze_id   bigint
);
CREATE INDEX order_book_latest_market_idx ON silver.order_book_latest (market_id);

INSERT INTO silver.order_book_latest
SELECT DISTINCT ON (outcome_id) outcome_id, market_id, id, observed_at, fetched_at, best_bid,
       best_ask, bids, asks, book_hash, bronze_id
FROM silver.order_book_snapshots_unpartitioned
ORDER BY outcome_id, observed_at DESC;
DROP TABLE silver.order_book_snapshots_unpartitioned;

CREATE FUNCTION silver.books_latest() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO silver.order_book_latest AS l
    SELECT DISTINCT ON (outcome_id) outcome_id, market_id, id, observed_at, fetched_at,
           best_bid, best_ask, bids, asks, book_hash, bronze_id
    FROM new_rows ORDER BY outcome_id, observed_at DESC
    ON CONFLICT (outcome_id) DO UPDATE SET
        market_id = excluded.market_id, snapshot_id = excluded.snapshot_id,
        observed_at = excluded.observed_at, fetched_at = excluded.fetched_at,
        best_bid = excluded.best_bid, best_ask = excluded.best_ask, bids = excluded.bids,
        asks = excluded.asks, book_hash = excluded.book_hash, bronze_id = excluded.bronze_id
    WHERE excluded.observed_at >= l.observed_at;
    RETURN NULL;
END;
$$;
CREATE TRIGGER order_book_inserted_latest
    AFTER INSERT ON silver.order_book_snapshots
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.books_latest();
CREATE TRIGGER order_book_inserted_gold
    AFTER INSERT ON silver.order_book_snapshots
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.books_changed();

-- ------------------------------------------------------------------ bronze
ALTER TABLE bronze.api_responses RENAME TO api_responses_unpartitioned;
ALTER INDEX bronze.api_responses_pkey RENAME TO api_responses_unpartitioned_pkey;
ALTER INDEX bronze.api_responses_content_hash_key
    RENAME TO api_responses_unpartitioned_content_hash_key;
ALTER INDEX bronze.api_responses_venue_fetched_idx
    RENAME TO api_responses_unpartitioned_venue_fetched_idx;
ALTER SEQUENCE bronze.api_responses_id_seq RENAME TO api_responses_unpartitioned_id_seq;
ALTER TABLE bronze.response_sightings RENAME TO response_sightings_unpartitioned;
ALTER INDEX bronze.response_sightings_response_idx
    RENAME TO response_sightings_unpartitioned_response_idx;

CREATE TABLE bronze.api_responses (
    id           bigint GENERATED BY DEFAULT AS IDENTITY,
    venue        text        NOT NULL,
    endpoint     text        NOT NULL,
    params       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status       smallint    NOT NULL,
    fetched_at   timestamptz NOT NULL,
    -- the UTC midnight of fetched_at: the partition, and the span a content is stored once
    -- in (predhub's writers set it; another writer's rows default to the day they are stored)
    fetched_day  timestamptz NOT NULL DEFAULT ops.partition_start('day', now()),
    content_hash bytea       NOT NULL,
    payload      jsonb,
    raw_text     text,
    load_id      bigint,
    CONSTRAINT api_responses_pkey PRIMARY KEY (id, fetched_day),
    CONSTRAINT api_responses_content_hash_key UNIQUE (content_hash, fetched_day)
) PARTITION BY RANGE (fetched_day);
CREATE INDEX api_responses_venue_fetched_idx ON bronze.api_responses (venue, fetched_at);

-- A payload seen again the same day is not stored again; the sighting is recorded here,
-- in the same day as the response it repeats.
CREATE TABLE bronze.response_sightings (
    response_id bigint      NOT NULL,
    fetched_at  timestamptz NOT NULL,
    fetched_day timestamptz NOT NULL DEFAULT ops.partition_start('day', now()),
    load_id     bigint
) PARTITION BY RANGE (fetched_day);
CREATE INDEX response_sightings_response_idx ON bronze.response_sightings (response_id);

SELECT ops.ensure_partitions(p.parent, ARRAY(
    SELECT DISTINCT ops.partition_start('day', fetched_at) FROM bronze.api_responses_unpartitioned
    UNION
    SELECT DISTINCT ops.partition_start('day', fetched_at)
    FROM bronze.response_sightings_unpartitioned))
FROM (VALUES ('bronze.api_responses'), ('bronze.response_sightings')) AS p (parent);

INSERT INTO bronze.api_responses
    (id, venue, endpoint, params, status, fetched_at, fetched_day, content_hash, payload,
     raw_text, load_id)
SELECT id, venue, endpoint, params, status, fetched_at, ops.partition_start('day', fetched_at),
       content_hash, payload, raw_text, load_id
FROM bronze.api_responses_unpartitioned ORDER BY fetched_at;
SELECT setval(pg_get_serial_sequence('bronze.api_responses', 'id'),
              greatest((SELECT last_value FROM bronze.api_responses_unpartitioned_id_seq), 1));

-- A sighting on a later day than its response's first fetch gets a copy of the
-- response in its own day (the first sighting of that day becomes the copy's fetch),
-- so dropping a day never leaves a later sighting without its payload.
CREATE TEMPORARY TABLE rehomed ON COMMIT DROP AS
SELECT DISTINCT ON (s.response_id, ops.partition_start('day', s.fetched_at))
       s.response_id, ops.partition_start('day', s.fetched_at) AS fetched_day,
       s.fetched_at, s.load_id, nextval(pg_get_serial_sequence('bronze.api_responses', 'id')) AS new_id
FROM bronze.response_sightings_unpartitioned s
JOIN bronze.api_responses r ON r.id = s.response_id
WHERE ops.partition_start('day', s.fetched_at) <> r.fetched_day
ORDER BY s.response_id, ops.partition_start('day', s.fetched_at), s.fetched_at;

INSERT INTO bronze.api_responses
    (id, venue, endpoint, params, status, fetched_at, fetched_day, content_hash, payload,
     raw_text, load_id)
SELECT h.new_id, r.venue, r.endpoint, r.params, r.status, h.fetched_at, h.fetched_day,
       r.content_hash, r.payload, r.raw_text, h.load_id
FROM rehomed h JOIN bronze.api_responses r ON r.id = h.response_id;

INSERT INTO bronze.response_sightings (response_id, fetched_at, fetched_day, load_id)
SELECT coalesce(h.new_id, s.response_id), s.fetched_at, ops.partition_start('day', s.fetched_at),
       s.load_id
FROM bronze.response_sightings_unpartitioned s
LEFT JOIN rehomed h ON h.response_id = s.response_id
                   AND h.fetched_day = ops.partition_start('day', s.fetched_at)
-- the sighting that became its day's copy is that copy's own fetch
WHERE NOT (h.response_id IS NOT NULL AND s.fetched_at = h.fetched_at)
ORDER BY s.fetched_at;

DROP TABLE bronze.response_sightings_unpartitioned;
DROP TABLE bronze.api_responses_unpartitioned;

SELECT ops.ensure_partitions_ahead(now());
