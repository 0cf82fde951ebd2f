-- What the cross-venue matcher needs beside gold.market_matches: which markets
-- changed since its last run, and an inverted index of each open market's
-- blocking tokens, so candidates are found by shared rare tokens (cost follows
-- the plausible pairs, not the product of the catalogues).

-- Markets whose matching inputs changed (text, close, status, YES label), taken
-- by the matcher's incremental run; the gold refresh has its own log.
CREATE TABLE ops.match_changes (
    market_id   bigint      PRIMARY KEY,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION silver.match_markets_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ops.match_changes (market_id)
    SELECT id FROM new_rows ORDER BY id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_inserted_match
    AFTER INSERT ON silver.markets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.match_markets_inserted();

CREATE FUNCTION silver.match_market_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ops.match_changes (market_id) VALUES (NEW.id)
    ON CONFLICT (market_id) DO UPDATE SET changed_at = EXCLUDED.changed_at;
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_changed_match
    AFTER UPDATE ON silver.markets
    FOR EACH ROW
    WHEN ((NEW.question, NEW.description, NEW.event_title, NEW.end_at, NEW.status,
           NEW.resolution_source, NEW.extra ->> 'yes_sub_title', NEW.extra ->> 'groupItemTitle')
          IS DISTINCT FROM
          (OLD.question, OLD.description, OLD.event_title, OLD.end_at, OLD.status,
           OLD.resolution_source, OLD.extra ->> 'yes_sub_title', OLD.extra ->> 'groupItemTitle'))
    EXECUTE FUNCTION silver.match_market_changed();

-- Blocking tokens of open markets (folded words, team keys, numbers, name pairs).
-- Rebuilt per market when it changes; a token shared by too many markets is
-- ignored at query time.
CREATE TABLE gold.match_tokens (
    token      text        NOT NULL,
    market_id  bigint      NOT NULL,
    venue      text        NOT NULL,
    end_at     timestamptz,
    PRIMARY KEY (token, market_id)
);
CREATE INDEX match_tokens_market_idx ON gold.match_tokens (market_id);

-- Markets that existed before this migration are all changed once.
INSERT INTO ops.match_changes (market_id) SELECT id FROM silver.markets;
