-- Arbitrage opportunities: covering legs across matched markets (and within a
-- venue's mutually exclusive sets) that pay more than they cost after fees
-- and depth.
--
-- One row per opportunity episode: `key` names the combination (a match and
-- its sides, or an event and its side); while it lasts its row is updated in
-- place (`last_seen`, figures, legs), and when it ends `closed_at` and
-- `close_reason` are set and the row stays for history until retention
-- removes it. A new episode of the same combination is a new row.

CREATE TABLE gold.arbitrage_opportunities (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key           text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('cross_venue', 'neg_risk')),
    relation      text        NOT NULL,
    match_id      bigint,
    event_id      bigint,
    venues        text[]      NOT NULL,
    market_ids    bigint[]    NOT NULL,
    edge          numeric     NOT NULL,  -- profit per contract after fees, at `size`
    size          numeric     NOT NULL,  -- the largest size with a positive edge
    profit        numeric     NOT NULL,  -- total profit at `size`
    cost          numeric     NOT NULL,  -- what the legs cost at `size`, fees included
    fees          numeric     NOT NULL,
    payout        numeric     NOT NULL,  -- the least the legs pay at `size`
    legs          jsonb       NOT NULL,
    risks         jsonb       NOT NULL DEFAULT '[]'::jsonb,
    as_of         timestamptz NOT NULL,  -- the oldest leg's observation
    opened_at     timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    closed_at     timestamptz,
    close_reason  text,
    CHECK ((closed_at IS NULL) = (close_reason IS NULL))
);
-- one open episode per combination
CREATE UNIQUE INDEX arbitrage_open_key_idx ON gold.arbitrage_opportunities (key)
    WHERE closed_at IS NULL;
CREATE INDEX arbitrage_open_markets_idx ON gold.arbitrage_opportunities USING gin (market_ids)
    WHERE closed_at IS NULL;
CREATE INDEX arbitrage_open_edge_idx ON gold.arbitrage_opportunities (edge DESC, id DESC)
    WHERE closed_at IS NULL;
CREATE INDEX arbitrage_open_as_of_idx ON gold.arbitrage_opportunities (as_of)
    WHERE closed_at IS NULL;
CREATE INDEX arbitrage_closed_idx ON gold.arbitrage_opportunities (closed_at)
    WHERE closed_at IS NOT NULL;

-- Matches are read by either market and by status for the cycle.
CREATE INDEX IF NOT EXISTS market_matches_a_idx ON gold.market_matches (market_a);

-- A new order book (from a poll or a stream) and a book sync that found the
-- book unchanged both queue the market for the next gold refresh, so the
-- arbitrage cycle re-prices what the book moved and keeps fresh what it
-- re-confirmed.
CREATE FUNCTION silver.books_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ops.gold_changes (market_id)
    SELECT DISTINCT market_id FROM new_rows ORDER BY market_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER order_book_inserted_gold
    AFTER INSERT ON silver.order_book_snapshots
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION silver.books_changed();

CREATE FUNCTION silver.books_synced() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ops.gold_changes (market_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER markets_books_synced_gold
    AFTER UPDATE ON silver.markets
    FOR EACH ROW WHEN (NEW.books_synced_at IS DISTINCT FROM OLD.books_synced_at)
    EXECUTE FUNCTION silver.books_synced();
