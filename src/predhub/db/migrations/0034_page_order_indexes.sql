-- Two lists' orders as indexes, so a page costs its own rows, not the whole table.
--
-- Events (GET /v1/events): total volume (unknown last), then id, both descending.
-- Without it every page read the whole events table and top-N sorted it to return 50
-- rows. Filters (venue, status, category) are checked on the rows the walk yields.
--
-- Matches (GET /v1/matches, the review list): confidence, then id, both descending.
-- Without it every page joined every match to both its markets and sorted them all
-- (11,000 matches on the demo: 230 ms for 25 rows); with it the page walks the index
-- and joins only its own rows.

CREATE INDEX events_volume_order_idx ON silver.events
    ((coalesce(volume_total, -1)) DESC, id DESC);

CREATE INDEX market_matches_confidence_idx ON gold.market_matches (confidence DESC, id DESC);
