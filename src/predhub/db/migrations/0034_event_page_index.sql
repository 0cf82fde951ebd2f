-- The events list's order as an index: total volume (unknown last), then id, both
-- descending, as GET /v1/events pages. Without it every page read the whole events
-- table and sorted it to return 50 rows (a top-N sort over the catalogue per request);
-- with it a page is the next 50 entries of the index, whatever the catalogue's size.
-- Filters (venue, status, category) are checked on the rows the walk yields.

CREATE INDEX events_volume_order_idx ON silver.events
    ((coalesce(volume_total, -1)) DESC, id DESC);
