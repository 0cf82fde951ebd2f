-- Cross-venue matches: which market on one venue pays when a market on
-- another venue pays.
--
-- The matcher proposes pairs with a relation and a confidence; people confirm
-- or reject them. A decision (status confirmed or rejected, with who and when)
-- always wins over the algorithm: recomputation updates only rows whose status
-- is still 'proposed', so a decision survives every rerun. Each pair is stored
-- once, with the lower market id as `market_a`; `relation` reads from a to b
-- ('subset' means a's YES implies b's YES).

CREATE TABLE gold.market_matches (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    market_a      bigint      NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    market_b      bigint      NOT NULL REFERENCES silver.markets (id) ON DELETE CASCADE,
    -- The outcome of each market whose payout the relation speaks of (the YES
    -- side of a binary market, or one outcome of a multi-outcome market).
    outcome_a     bigint      REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    outcome_b     bigint      REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    relation      text        NOT NULL
                  CHECK (relation IN ('same', 'inverse', 'subset', 'superset', 'related')),
    confidence    real        NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    features      jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- similarity scores and extracted terms
    notes         jsonb       NOT NULL DEFAULT '[]'::jsonb,  -- differences a person should check
    status        text        NOT NULL DEFAULT 'proposed'
                  CHECK (status IN ('proposed', 'confirmed', 'rejected')),
    decided_by    text,
    decided_at    timestamptz,
    computed_at   timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (market_a < market_b),
    CHECK ((status = 'proposed') = (decided_at IS NULL)),
    UNIQUE (market_a, market_b)
);
CREATE INDEX market_matches_b_idx ON gold.market_matches (market_b);
CREATE INDEX market_matches_status_idx ON gold.market_matches (status, confidence DESC);
