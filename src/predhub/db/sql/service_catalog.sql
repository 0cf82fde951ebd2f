-- What the API lists (predhub.service.catalog): market ids by filters and sorts, events,
-- full-text search, the top markets per venue, venue freshness and the admin refresh's
-- targets. Market documents themselves come from the snapshot cache, so these return ids.
-- {where}, {sort_key}, {order} and {limit} are filled by the service from its own
-- fragments and parameter numbers, never from input.

-- name: market_page
-- One page of market ids with their sort key, ordered by it then by id (a total order, so the
-- keyset cursor in {where} pages without gaps); one row more than the page says there is more.
-- The price changes (c) are the rollup's, kept per market in gold.market_changes.
SELECT m.id, {sort_key} AS sort_key FROM silver.markets m LEFT JOIN gold.market_changes c ON c.market_id = m.id {where} ORDER BY sort_key {order}, m.id {order} LIMIT {limit};

-- name: event_page
-- One page of events by total volume (unknown volume last), then id, with their sort key.
SELECT e.id, e.venue, e.native_id, e.slug, e.title, e.description, e.category,
    e.tags, e.start_at, e.end_at, e.status, e.volume_total,
    e.extra->>'image_url' AS image_url, e.extra->>'icon_url' AS icon_url,
    (SELECT count(*) FROM silver.markets m WHERE m.event_id = e.id) AS market_count, coalesce(e.volume_total, -1) AS sort_key FROM silver.events e {where} ORDER BY sort_key DESC, e.id DESC LIMIT {limit};

-- name: event_by_id
-- One event by our id.
SELECT e.id, e.venue, e.native_id, e.slug, e.title, e.description, e.category,
    e.tags, e.start_at, e.end_at, e.status, e.volume_total,
    e.extra->>'image_url' AS image_url, e.extra->>'icon_url' AS icon_url,
    (SELECT count(*) FROM silver.markets m WHERE m.event_id = e.id) AS market_count FROM silver.events e WHERE e.id = $1;

-- name: event_by_native_id
-- One event by venue $1 and its native id $2.
SELECT e.id, e.venue, e.native_id, e.slug, e.title, e.description, e.category,
    e.tags, e.start_at, e.end_at, e.status, e.volume_total,
    e.extra->>'image_url' AS image_url, e.extra->>'icon_url' AS icon_url,
    (SELECT count(*) FROM silver.markets m WHERE m.event_id = e.id) AS market_count FROM silver.events e WHERE e.venue = $1 AND e.native_id = $2;

-- name: event_by_slug
-- One event by slug or native id on any venue; the busiest wins when several match.
SELECT e.id, e.venue, e.native_id, e.slug, e.title, e.description, e.category,
    e.tags, e.start_at, e.end_at, e.status, e.volume_total,
    e.extra->>'image_url' AS image_url, e.extra->>'icon_url' AS icon_url,
    (SELECT count(*) FROM silver.markets m WHERE m.event_id = e.id) AS market_count FROM silver.events e WHERE e.slug = $1 OR e.native_id = $1 ORDER BY e.volume_total DESC NULLS LAST LIMIT 1;

-- name: event_market_ids
-- An event's markets, busiest first, at most 1000.
SELECT id FROM silver.markets WHERE event_id = $1 ORDER BY volume_24h DESC NULLS LAST, id LIMIT 1000;

-- name: search
-- Markets matching the words of $1 (web-search syntax) among venues $2 and statuses $3,
-- by relevance then 24 h volume, with their rank. Only candidates are ranked, and they
-- are read by key, so the work follows the page and the query's words, not how many
-- markets match:
-- - for each word of the query, venue and status, the first $5 markets of the word's
--   list (silver.search_words, read by silver.search_walk, migration 0029: the
--   markets with the word in their question first, then busiest first by a bucket of
--   the 24 h volume, then id), a range of one btree that stops there; every market
--   carrying the word when it has fewer, so a rarer word ranks exactly. Each candidate,
--   read by its id, is tested with `@@` against
--   the whole query, so every query word matches (a walk of a word the query negates
--   finds only markets the test drops);
-- - only when those give fewer matches than the page's end (words that rarely meet,
--   a venue or status where the words' busiest lists hold few matches): the first $4
--   matches the text index yields (silver.search_matches, migration 0027), whose cost
--   follows the query's matches.
-- $6 limit, $7 offset.
WITH query AS MATERIALIZED (
    SELECT websearch_to_tsquery('english', $1) AS q
), walked AS MATERIALIZED (
    SELECT DISTINCT x.market_id
    FROM silver.search_walk(
        ARRAY(SELECT DISTINCT w.lexeme FROM unnest(to_tsvector('english', $1)) w),
        $2::text[], $3::text[], $5::integer
    ) x
), fetched AS MATERIALIZED (
    -- The candidates by key (an id list, so the primary key is the plan at any size):
    -- joined with the `@@` test in one step, the planner could read the query's whole
    -- match list from the text index and hash it against the candidates instead.
    SELECT m.id, m.search_vector, m.volume_24h FROM silver.markets m
    WHERE m.id = ANY(ARRAY(SELECT market_id FROM walked))
      AND m.venue = ANY($2::text[]) AND m.status = ANY($3::text[])
), ranked AS MATERIALIZED (
    SELECT f.id, ts_rank(f.search_vector, query.q) AS rank, f.volume_24h
    FROM fetched f, query
    WHERE f.search_vector @@ query.q
), matched AS (
    SELECT f.id, f.rank, f.volume_24h
    FROM silver.search_matches((SELECT q FROM query), $2::text[], $3::text[], $4::integer) f
    WHERE (SELECT count(*) FROM ranked) < $6::bigint + $7::bigint
), found AS (
    SELECT * FROM ranked UNION SELECT * FROM matched
)
SELECT id, rank FROM found
ORDER BY rank DESC, volume_24h DESC NULLS LAST, id
LIMIT $6 OFFSET $7;

-- name: venue_stats
-- Per venue: markets, open markets, newest syncs and open quote age percentiles from
-- the gold row the worker keeps by difference (one lookup, whatever the catalogue's
-- size), and markets wanted in the last $1 minutes (a range of the interest index).
SELECT f.venue, f.markets, f.open_markets, f.newest_quote_at, f.newest_metadata_at,
       f.newest_trade_at,
       f.quote_age_p50 AS p50, f.quote_age_p90 AS p90, f.measured_at, f.refreshed_at,
       coalesce(h.hot, 0) AS hot
FROM gold.venue_freshness f
LEFT JOIN (
    SELECT venue, count(*) AS hot FROM silver.market_sync
    WHERE interest_at > now() - make_interval(mins => $1) GROUP BY venue
) h ON h.venue = f.venue
WHERE f.sync_priority = '*';

-- name: market_venues
-- The venue of each of the given markets (the admin refresh checks ids against its venue).
SELECT id, venue FROM silver.markets WHERE id = ANY($1::bigint[]);

-- name: market_rules
-- A market's rules as its venue words them, and where its resolution is read from:
-- only the market's own page shows them (too long for every price answer).
SELECT description, resolution_source FROM silver.markets WHERE id = $1;

-- name: top_open_markets
-- A venue's $2 busiest open markets: the admin refresh's default targets.
SELECT id FROM silver.markets WHERE venue = $1 AND status = 'open' ORDER BY volume_24h DESC NULLS LAST, id LIMIT $2;

-- name: store_key
-- Stores a new API key's hash under a unique name (the key itself is never stored).
INSERT INTO ops.api_keys (name, key_hash, scopes) VALUES ($1, $2, $3);
