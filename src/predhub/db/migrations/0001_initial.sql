-- predhub initial schema: the medallion layers and operational state.
-- Prices are probabilities in [0, 1] (numeric), money is numeric USD, every
-- time is timestamptz (UTC). Surrogate keys are ours; native ids are the venue's.

CREATE SCHEMA IF NOT EXISTS bronze;
CREATE SCHEMA IF NOT EXISTS silver;
CREATE SCHEMA IF NOT EXISTS gold;
CREATE SCHEMA IF NOT EXISTS ops;

-- ---------------------------------------------------------------- bronze
-- Every raw venue response, stored once per distinct content.
CREATE TABLE bronze.api_responses (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue         text        NOT NULL,
    endpoint      text        NOT NULL,
    params        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status        smallint    NOT NULL,
    fetched_at    timestamptz NOT NULL,
    content_hash  bytea       NOT NULL,
    payload       jsonb,
    raw_text      text,                 -- only for bodies that are not JSON
    load_id       bigint,
    CONSTRAINT api_responses_content_hash_key UNIQUE (content_hash)
);
CREATE INDEX api_responses_venue_fetched_idx ON bronze.api_responses (venue, fetched_at);

-- A payload seen again is not stored again; the sighting is recorded here.
CREATE TABLE bronze.response_sightings (
    response_id   bigint      NOT NULL REFERENCES bronze.api_responses (id) ON DELETE CASCADE,
    fetched_at    timestamptz NOT NULL,
    load_id       bigint
);
CREATE INDEX response_sightings_response_idx ON bronze.response_sightings (response_id);

-- ---------------------------------------------------------------- silver
CREATE TABLE silver.events (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue              text        NOT NULL,
    native_id          text        NOT NULL,
    slug               text,
    title              text        NOT NULL,
    description        text,
    category           text,
    tags               text[]      NOT NULL DEFAULT '{}',
    start_at           timestamptz,
    end_at             timestamptz,
    neg_risk           boolean     NOT NULL DEFAULT false,
    mutually_exclusive boolean     NOT NULL DEFAULT false,
    status             text        NOT NULL DEFAULT 'open',
    volume_total       numeric,
    extra              jsonb       NOT NULL DEFAULT '{}'::jsonb,
    bronze_id          bigint,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_venue_native_key UNIQUE (venue, native_id),
    CONSTRAINT events_status_check CHECK (status IN ('open', 'closed', 'resolved', 'voided'))
);
CREATE INDEX events_slug_idx ON silver.events (venue, slug);

CREATE TABLE silver.markets (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue                text        NOT NULL,
    native_id            text        NOT NULL,
    event_id             bigint REFERENCES silver.events (id) ON DELETE SET NULL,
    event_native_id      text,
    event_title          text,
    condition_id         text,       -- Polymarket condition id / Limitless condition id
    ticker               text,       -- Kalshi ticker
    slug                 text,
    question             text        NOT NULL,
    description          text,
    category             text,
    status               text        NOT NULL DEFAULT 'open',
    end_at               timestamptz,
    venue_updated_at     timestamptz,
    volume_total         numeric,
    volume_24h           numeric,
    liquidity            numeric,
    open_interest        numeric,
    fee_bps              numeric,
    tick_size            numeric,
    -- resolution block
    winning_outcome      smallint,
    is_void              boolean     NOT NULL DEFAULT false,
    payouts              jsonb,
    resolution_source    text,
    resolved_at          timestamptz,
    -- freshness engine
    sync_priority        text        NOT NULL DEFAULT 'normal',
    metadata_synced_at   timestamptz,
    quotes_synced_at     timestamptz,
    trades_synced_at     timestamptz,
    books_synced_at      timestamptz,
    history_synced_at    timestamptz,
    trades_watermark     text,        -- venue cursor or timestamp of the newest trade held
    interest_at          timestamptz, -- last time an API caller asked for this market
    extra                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    bronze_id            bigint,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    search_vector        tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(question, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(event_title, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(description, '')), 'C')
    ) STORED,
    CONSTRAINT markets_venue_native_key UNIQUE (venue, native_id),
    CONSTRAINT markets_status_check CHECK (status IN ('open', 'closed', 'resolved', 'voided')),
    CONSTRAINT markets_priority_check CHECK (sync_priority IN ('high', 'normal', 'low', 'archived'))
);
CREATE INDEX markets_event_idx ON silver.markets (event_id);
CREATE INDEX markets_condition_idx ON silver.markets (condition_id) WHERE condition_id IS NOT NULL;
CREATE INDEX markets_ticker_idx ON silver.markets (ticker) WHERE ticker IS NOT NULL;
CREATE INDEX markets_slug_idx ON silver.markets (slug) WHERE slug IS NOT NULL;
CREATE INDEX markets_status_volume_idx ON silver.markets (venue, status, volume_24h DESC NULLS LAST);
-- no sync timestamp is indexed: refreshing one must stay a HOT update of the row
CREATE INDEX markets_priority_idx ON silver.markets (venue, sync_priority);
CREATE INDEX markets_search_idx ON silver.markets USING gin (search_vector);

CREATE TABLE silver.outcomes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    market_id   bigint   NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    idx         smallint NOT NULL,
    label       text     NOT NULL,
    token_id    text,
    CONSTRAINT outcomes_market_idx_key UNIQUE (market_id, idx)
);
CREATE INDEX outcomes_token_idx ON silver.outcomes (token_id) WHERE token_id IS NOT NULL;

-- Current best prices per outcome; one row each, updated in place.
CREATE TABLE silver.quotes (
    outcome_id   bigint PRIMARY KEY REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    market_id    bigint      NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    best_bid     numeric,
    best_ask     numeric,
    mid          numeric,
    last         numeric,
    price        numeric,     -- the venue's display price (probability)
    observed_at  timestamptz NOT NULL,
    fetched_at   timestamptz NOT NULL,
    bronze_id    bigint,
    CONSTRAINT quotes_range_check CHECK (
        (best_bid IS NULL OR best_bid BETWEEN 0 AND 1) AND
        (best_ask IS NULL OR best_ask BETWEEN 0 AND 1) AND
        (mid IS NULL OR mid BETWEEN 0 AND 1) AND
        (last IS NULL OR last BETWEEN 0 AND 1) AND
        (price IS NULL OR price BETWEEN 0 AND 1))
);
CREATE INDEX quotes_market_idx ON silver.quotes (market_id);

CREATE TABLE silver.price_history (
    outcome_id  bigint      NOT NULL REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    ts          timestamptz NOT NULL,
    price       numeric     NOT NULL CHECK (price BETWEEN 0 AND 1),
    source      text        NOT NULL DEFAULT 'venue',  -- venue history, or our own quote samples
    bronze_id   bigint,
    PRIMARY KEY (outcome_id, ts)
);

CREATE TABLE silver.trades (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue        text        NOT NULL,
    market_id    bigint      NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    outcome_id   bigint REFERENCES silver.outcomes (id) ON DELETE SET NULL,
    trade_key    text        NOT NULL,  -- venue trade id, or transaction hash plus index
    price        numeric     NOT NULL CHECK (price BETWEEN 0 AND 1),
    size         numeric     NOT NULL,
    side         text,
    executed_at  timestamptz NOT NULL,
    tx_hash      text,
    extra        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    bronze_id    bigint,
    CONSTRAINT trades_venue_key UNIQUE (venue, trade_key)
);
CREATE INDEX trades_market_time_idx ON silver.trades (market_id, executed_at DESC);

CREATE TABLE silver.order_book_snapshots (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    market_id    bigint      NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    outcome_id   bigint      NOT NULL REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    observed_at  timestamptz NOT NULL,
    fetched_at   timestamptz NOT NULL,
    best_bid     numeric,
    best_ask     numeric,
    bids         jsonb       NOT NULL,   -- [[price, size], ...] best first
    asks         jsonb       NOT NULL,
    book_hash    text,
    bronze_id    bigint,
    CONSTRAINT order_book_outcome_time_key UNIQUE (outcome_id, observed_at)
);

-- ---------------------------------------------------------------- ops
CREATE TABLE ops.loads (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue        text        NOT NULL,
    kind         text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text        NOT NULL DEFAULT 'running',
    stats        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error        text
);

CREATE TABLE ops.quarantine (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bronze_id    bigint,
    venue        text        NOT NULL,
    endpoint     text        NOT NULL,
    item_id      text,
    reason       text        NOT NULL,
    item         jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_venue_idx ON ops.quarantine (venue, created_at);

-- Watermarks of incremental loads (delta by venue, and similar).
CREATE TABLE ops.sync_state (
    venue        text        NOT NULL,
    kind         text        NOT NULL,
    watermark    text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, kind)
);

-- Work claimed by workers with leases (FOR UPDATE SKIP LOCKED with an expiry).
CREATE TABLE ops.jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue            text        NOT NULL,
    kind             text        NOT NULL,
    dedupe_key       text        NOT NULL,
    payload          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    priority         integer     NOT NULL DEFAULT 0,
    run_after        timestamptz NOT NULL DEFAULT now(),
    status           text        NOT NULL DEFAULT 'queued',
    lease_owner      text,
    lease_expires_at timestamptz,
    attempts         integer     NOT NULL DEFAULT 0,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    CONSTRAINT jobs_status_check CHECK (status IN ('queued', 'running', 'done', 'failed'))
);
CREATE UNIQUE INDEX jobs_active_dedupe_idx ON ops.jobs (dedupe_key) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_claim_idx ON ops.jobs (status, run_after, priority DESC);

-- Upstream requests per venue and minute, for budgets and `predhub status`.
CREATE TABLE ops.venue_usage (
    venue        text        NOT NULL,
    minute       timestamptz NOT NULL,
    requests     integer     NOT NULL DEFAULT 0,
    errors       integer     NOT NULL DEFAULT 0,
    retries      integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (venue, minute)
);

-- Freshness tiers, overridable per deployment (defaults come from settings).
CREATE TABLE ops.freshness_tiers (
    name             text PRIMARY KEY,
    max_age_seconds  double precision NOT NULL CHECK (max_age_seconds >= 0),
    description      text
);

CREATE TABLE ops.api_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    key_hash    text        NOT NULL UNIQUE,   -- sha256 hex of the key; the key itself is never stored
    scopes      text[]      NOT NULL DEFAULT '{admin}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- ---------------------------------------------------------------- gold
CREATE VIEW gold.top_markets AS
SELECT m.id, m.venue, m.native_id, m.question, m.slug, m.category, m.status,
       m.volume_24h, m.volume_total, m.liquidity, m.end_at,
       rank() OVER (PARTITION BY m.venue ORDER BY m.volume_24h DESC NULLS LAST) AS venue_rank
FROM silver.markets m
WHERE m.status = 'open';
