-- Reads of the gold tables for the API: small ranked tables and one-row lookups.

-- name: top_scopes
-- Several top-markets scopes in one round trip: each scope ($1) best first up to its
-- limit ($2, same order), at or above a volume ($3).
SELECT t.scope, t.market_id, t.venue, t.volume_24h, t.as_of, t.refreshed_at
FROM unnest($1::text[], $2::int[]) AS s(scope, n)
CROSS JOIN LATERAL (
    SELECT scope, market_id, venue, volume_24h, as_of, refreshed_at
    FROM gold.top_markets_snapshot
    WHERE scope = s.scope AND volume_24h >= $3 ORDER BY rank LIMIT s.n
) t

-- name: movers
-- One window's largest moves, largest first.
SELECT market_id, venue, move, price, volume_24h, as_of, refreshed_at FROM gold.movers
WHERE time_window = $1 ORDER BY rank LIMIT $2

-- name: trending
-- Markets whose trading grew most against the previous 24 h.
SELECT market_id, venue, notional_24h, notional_prev_24h, trades_24h, trades_prev_24h,
       traders_24h, traders_prev_24h, score, as_of, refreshed_at
FROM gold.trending ORDER BY rank LIMIT $1

-- name: venue_stats
-- Per-venue totals with each venue's share of the 24 h volume.
SELECT venue, markets, open_markets, open_interest, volume_24h, volume_total, liquidity,
       CASE WHEN sum(volume_24h) OVER () > 0 THEN volume_24h / sum(volume_24h) OVER () END AS share,
       newest_as_of, as_of, refreshed_at
FROM gold.venue_stats WHERE markets > 0 ORDER BY volume_24h DESC, venue

-- name: category_stats
-- Per-category totals across venues with each category's share of the 24 h volume.
SELECT category, markets, open_markets, open_interest, volume_24h, volume_total, liquidity,
       CASE WHEN sum(volume_24h) OVER () > 0 THEN volume_24h / sum(volume_24h) OVER () END AS share,
       newest_as_of, as_of, refreshed_at
FROM gold.category_stats WHERE markets > 0 ORDER BY volume_24h DESC, category

-- name: event
-- One event's aggregates.
SELECT markets, open_markets, venues, volume_total, volume_24h, liquidity, leading_market_id,
       leading_outcome, leading_probability, probability_spread, end_at, status,
       resolved_markets, as_of, refreshed_at
FROM gold.events_snapshot WHERE event_id = $1
