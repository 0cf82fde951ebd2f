-- Accounts with access levels, their API keys, per-minute rate counters, the
-- audit log, the research store (research, analyses and their archive,
-- conclusions) and the record of backups.
--
-- An account's level (admin, vip, whitelist, blocked) says what its keys may
-- do; what each level allows is configuration, not data. A key belongs to one
-- account; keys made before accounts existed get an account of their own
-- named after them, at the level their scopes gave them.

CREATE TABLE ops.accounts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    level       text        NOT NULL DEFAULT 'whitelist'
                CHECK (level IN ('admin', 'vip', 'whitelist', 'blocked')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE ops.api_keys
    ADD COLUMN account_id   bigint REFERENCES ops.accounts (id) ON DELETE CASCADE,
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN expires_at   timestamptz;
CREATE INDEX api_keys_account_idx ON ops.api_keys (account_id);

INSERT INTO ops.accounts (name, level)
SELECT k.name, CASE WHEN 'admin' = ANY (k.scopes) THEN 'admin' ELSE 'whitelist' END
FROM ops.api_keys k
ON CONFLICT (name) DO NOTHING;
UPDATE ops.api_keys k SET account_id = a.id FROM ops.accounts a
WHERE a.name = k.name AND k.account_id IS NULL;

-- Every API process caches keys it has checked; a change to a key or to its
-- account's level tells them all to forget it (payload: key ids).
CREATE OR REPLACE FUNCTION ops.key_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('predhub_keys', OLD.id::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_keys_changed_notify
    AFTER UPDATE OF revoked_at, expires_at, account_id, scopes OR DELETE ON ops.api_keys
    FOR EACH ROW EXECUTE FUNCTION ops.key_changed();

CREATE OR REPLACE FUNCTION ops.account_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids text;
BEGIN
    SELECT string_agg(id::text, ',') INTO ids FROM ops.api_keys WHERE account_id = OLD.id;
    IF ids IS NOT NULL THEN
        PERFORM pg_notify('predhub_keys', left(ids, 7000));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER accounts_changed_notify
    AFTER UPDATE OF level OR DELETE ON ops.accounts
    FOR EACH ROW EXECUTE FUNCTION ops.account_changed();

-- Requests and upstream refreshes per key and minute, shared by every API
-- process. Processes reserve allowances in chunks, so a row is written once per
-- chunk, not per request. Unlogged: a crash forgets at most a minute of counts.
CREATE UNLOGGED TABLE ops.rate_counts (
    key_id        bigint      NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('requests', 'refreshes')),
    window_start  timestamptz NOT NULL,
    hits          integer     NOT NULL CHECK (hits >= 0),
    PRIMARY KEY (key_id, kind, window_start)
);

-- Every write and admin action: who, when, which route, the object touched,
-- the status answered and the error, if any.
CREATE TABLE ops.audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    account_id  bigint,
    account     text,
    key_id      bigint,
    key_name    text,
    level       text,
    method      text        NOT NULL,
    route       text        NOT NULL,
    object      text,
    status      integer     NOT NULL,
    error       text
);
CREATE INDEX audit_log_at_idx ON ops.audit_log (at DESC);
CREATE INDEX audit_log_account_idx ON ops.audit_log (account_id, at DESC);

-- ---------------------------------------------------------------- research store
CREATE SCHEMA IF NOT EXISTS app;

-- Research gathered for a market: text, structured sources, and when it stops
-- being current (expired research is not served and is deleted by the worker).
CREATE TABLE app.research (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    market_id      bigint      NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    research_type  text        NOT NULL DEFAULT 'current'
                   CHECK (research_type IN ('current', 'historical')),
    research_data  text        NOT NULL,
    sources        jsonb       NOT NULL DEFAULT '[]'::jsonb,
    created_by     bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz
);
CREATE INDEX research_market_idx ON app.research (market_id, created_at DESC);
CREATE INDEX research_expires_idx ON app.research (expires_at) WHERE expires_at IS NOT NULL;

-- An analysis of a market (optionally from research). Analyses older than
-- ANALYSIS_ARCHIVE_DAYS move to app.analysis_archive, which has the same columns.
CREATE TABLE app.analysis (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    market_id           bigint      NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    research_id         uuid        REFERENCES app.research (id) ON DELETE SET NULL,
    query_text          text        NOT NULL,
    analysis_result     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    confidence_score    numeric(3, 2) CHECK (confidence_score BETWEEN 0 AND 1),
    recommendation      text        CHECK (recommendation IN ('BUY_YES', 'BUY_NO', 'HOLD')),
    processing_time_ms  integer     CHECK (processing_time_ms >= 0),
    llm_tokens_used     integer     CHECK (llm_tokens_used >= 0),
    created_by          bigint,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analysis_market_idx ON app.analysis (market_id, created_at DESC);
CREATE INDEX analysis_created_idx ON app.analysis (created_at);

CREATE TABLE app.analysis_archive (
    LIKE app.analysis INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    archived_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
CREATE INDEX analysis_archive_market_idx ON app.analysis_archive (market_id, created_at DESC);

-- One conclusion per analysis (archived or not: the analysis id stays the same
-- when it moves, so the conclusion is not tied to either table by a key).
CREATE TABLE app.conclusions (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    analysis_id      uuid        NOT NULL UNIQUE,
    conclusion       text        NOT NULL,
    sentiment        text        CHECK (sentiment IN ('bullish', 'bearish', 'neutral')),
    supporting_data  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_by       bigint,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- backups
-- Each backup taken by `predhub db backup` or the worker's daily one.
CREATE TABLE ops.backups (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path         text        NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    bytes        bigint,
    status       text        NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'done', 'failed', 'deleted')),
    error        text
);
CREATE INDEX backups_finished_idx ON ops.backups (finished_at DESC) WHERE status = 'done';
