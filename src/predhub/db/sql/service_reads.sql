-- The market data service's own reads and writes (predhub.service): snapshots, id
-- resolution, freshness tiers, interest marks and the locks of the refresh single-flight.

-- name: lock_discovery
-- Serialises discovery of one id across processes, so a never-seen market is fetched once.
SELECT pg_advisory_xact_lock($1, hashtext($2));

-- name: resolve_ids
-- Maps each id form (ours, venue:native_id, condition id, token id, ticker, slug) to our market
-- id in one round trip; the busiest market wins an ambiguous slug.
WITH keys AS (
    SELECT k, ord FROM unnest($1::text[]) WITH ORDINALITY AS t(k, ord)
), candidates AS (
    SELECT keys.k, m.id, 1 AS rank, m.volume_24h FROM keys
      JOIN silver.markets m ON m.id = CASE WHEN keys.k ~ '^[0-9]{1,18}$' THEN keys.k::bigint END
    UNION ALL
    SELECT keys.k, m.id, 2, m.volume_24h FROM keys
      JOIN silver.markets m
        ON strpos(keys.k, ':') > 0
       AND m.venue = lower(split_part(keys.k, ':', 1))
       AND m.native_id = substr(keys.k, strpos(keys.k, ':') + 1)
    UNION ALL
    SELECT keys.k, m.id, 3, m.volume_24h FROM keys
      JOIN silver.markets m ON m.condition_id IN (keys.k, lower(keys.k))
    UNION ALL
    SELECT keys.k, o.market_id, 4, m.volume_24h FROM keys
      JOIN silver.outcomes o ON o.token_id = keys.k
      JOIN silver.markets m ON m.id = o.market_id
    UNION ALL
    SELECT keys.k, m.id, 5, m.volume_24h FROM keys
      JOIN silver.markets m ON m.ticker IN (keys.k, upper(keys.k))
    UNION ALL
    SELECT keys.k, m.id, 6, m.volume_24h FROM keys
      JOIN silver.markets m ON m.native_id = keys.k AND m.venue = ANY($2::text[])
    UNION ALL
    SELECT keys.k, m.id, 7, m.volume_24h FROM keys
      JOIN silver.markets m ON m.slug = keys.k
)
SELECT DISTINCT ON (k) k, id
FROM candidates
ORDER BY k, rank, volume_24h DESC NULLS LAST, id;

-- name: ping
-- A round trip on the LISTEN connection, to notice a dead one.
SELECT 1;

-- name: freshness_tiers
-- The freshness tiers with their configured maximum ages.
SELECT name, max_age_seconds FROM ops.freshness_tiers;

-- name: market_snapshots
-- One row per market: the columns of a price answer, outcomes with their quotes, the
-- price changes the history rollup keeps, and the pictures, tags and event slug (for the
-- venue page's link) the market document shows.
SELECT m.id, m.venue, m.native_id, m.condition_id, m.ticker, m.slug, m.question, m.status,
       m.event_id, m.event_title, m.category, m.end_at, m.volume_24h, m.volume_total,
       m.liquidity, m.winning_outcome, m.is_void, m.resolved_at, sy.quotes_synced_at,
       m.payouts::text AS payouts, m.resolution_source, m.event_native_id,
       e.slug AS event_slug, m.extra->>'image_url' AS image_url,
       m.extra->>'icon_url' AS icon_url,
       coalesce(m.extra->'venue_tags', to_jsonb(e.tags))::text AS venue_tags,
       q.as_of, coalesce(q.outcomes, '[]'::json) AS outcomes,
       c.change_1h, c.change_24h, c.change_7d
FROM silver.markets m
LEFT JOIN silver.market_sync sy ON sy.market_id = m.id
LEFT JOIN silver.events e ON e.id = m.event_id
LEFT JOIN gold.market_changes c ON c.market_id = m.id
LEFT JOIN LATERAL (
    SELECT max(qq.observed_at) AS as_of,
           json_agg(json_build_object(
               'index', o.idx, 'label', o.label, 'token_id', o.token_id,
               'price', qq.price, 'best_bid', qq.best_bid, 'best_ask', qq.best_ask,
               'mid', qq.mid, 'last', qq.last, 'price_source', qq.price_source)
               ORDER BY o.idx) AS outcomes
    FROM silver.outcomes o
    LEFT JOIN silver.quotes qq ON qq.outcome_id = o.id
    WHERE o.market_id = m.id
) q ON true
WHERE m.id = ANY($1::bigint[]);

-- name: still_stale
-- Ids (of those given) whose quotes were synced before $2 (the caller's arrival minus its max
-- age) and that still trade; a row refreshed after the caller asked is fresh enough for it.
SELECT m.id FROM silver.markets m JOIN silver.market_sync s ON s.market_id = m.id
WHERE m.id = ANY($1::bigint[])
  AND m.status = 'open'
  AND (s.quotes_synced_at IS NULL OR s.quotes_synced_at < $2::timestamptz);

-- name: try_locks
-- The ids whose refresh lock this transaction got without waiting.
SELECT k FROM unnest($1::bigint[]) AS t(k)
WHERE pg_try_advisory_xact_lock($2::int, (k & 2147483647)::int);

-- name: wait_locks
-- Waits for the refresh locks of every id (sorted by the caller, so no lock-order deadlock).
SELECT count(*) FROM (
    SELECT pg_advisory_xact_lock($2::int, (k & 2147483647)::int)
    FROM unnest($1::bigint[]) AS t(k)  -- the caller sorts the ids: no lock-order deadlock
) s;

-- name: mark_interest
-- Marks markets as wanted now, at most once per $2 seconds each, so the scheduler keeps them
-- fresh. A narrow row each: interest never rewrites the wide market row.
UPDATE silver.market_sync SET interest_at = now()
WHERE market_id = ANY($1::bigint[])
  AND (interest_at IS NULL OR interest_at < now() - make_interval(secs => $2));
