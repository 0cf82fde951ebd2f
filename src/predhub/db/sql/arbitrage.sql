-- The arbitrage cycle (predhub.gold.arbitrage) and its reads: every statement is bounded
-- by the markets that changed, the matches and events they belong to, and the open
-- opportunities; none reads the whole catalogue.

-- name: pairs_for_markets
-- Matches the cycle prices: confirmed ones, and proposed ones at or above the
-- confidence setting, with a relation that has covering legs, touching a changed market.
SELECT id, market_a, market_b, outcome_a, outcome_b, relation, notes
FROM gold.market_matches
WHERE (market_a = ANY($1::bigint[]) OR market_b = ANY($1::bigint[]))
  AND relation IN ('same', 'inverse', 'subset', 'superset')
  AND (status = 'confirmed' OR (status = 'proposed' AND confidence >= $2))

-- name: pairs_by_id
-- The same matches by id (open opportunities re-checked without a change of their own);
-- a match rejected or demoted since is left out, which closes its opportunities.
SELECT id, market_a, market_b, outcome_a, outcome_b, relation, notes
FROM gold.market_matches
WHERE id = ANY($1::bigint[])
  AND relation IN ('same', 'inverse', 'subset', 'superset')
  AND (status = 'confirmed' OR (status = 'proposed' AND confidence >= $2))

-- name: sets_for_markets
-- Mutually exclusive events (neg-risk sets) holding a changed market, or named by id,
-- with every market of the event.
SELECT e.id AS event_id, e.venue, array_agg(m.id ORDER BY m.id) AS market_ids
FROM silver.events e JOIN silver.markets m ON m.event_id = e.id
WHERE (e.neg_risk OR e.mutually_exclusive)
  AND (e.id IN (SELECT c.event_id FROM silver.markets c
                WHERE c.id = ANY($1::bigint[]) AND c.event_id IS NOT NULL)
       OR e.id = ANY($2::bigint[]))
GROUP BY e.id, e.venue
HAVING count(*) >= 2

-- name: open_to_recheck
-- Open opportunities the cycle must look at again: those on a changed market, and
-- those whose oldest leg is about to be (or is) older than the freshness window.
SELECT id, key, match_id, event_id
FROM gold.arbitrage_opportunities
WHERE closed_at IS NULL AND (market_ids && $1::bigint[] OR as_of < $2)

-- name: leg_inputs
-- Each market's status, fee fields and outcomes with the latest order book of each:
-- the book's asks, and when it was last known current (its snapshot, or a later sync
-- that found it unchanged).
SELECT m.id, m.venue, m.status, m.end_at, m.resolution_source, m.extra,
       sy.books_synced_at, coalesce(e.extra ->> 'series_ticker', '') AS event_series,
       o.id AS outcome_id, o.idx, o.label, b.asks, b.observed_at
FROM silver.markets m
LEFT JOIN silver.market_sync sy ON sy.market_id = m.id
JOIN silver.outcomes o ON o.market_id = m.id
LEFT JOIN silver.events e ON e.id = m.event_id
LEFT JOIN silver.order_book_latest b ON b.outcome_id = o.id
WHERE m.id = ANY($1::bigint[])
ORDER BY m.id, o.idx

-- name: upsert_open
-- Opens a new opportunity or updates the open one of the same key in place; returns
-- the ids of those just opened (announced on predhub_arbitrage).
WITH incoming AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
                         $6::text[], $7::text[], $8::numeric[], $9::numeric[],
                         $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[],
                         $14::text[], $15::text[], $16::timestamptz[])
        AS t(key, kind, relation, match_id, event_id, venues, market_ids, edge, size,
             profit, cost, fees, payout, legs, risks, as_of)
), updated AS (
    UPDATE gold.arbitrage_opportunities a
    SET edge = i.edge, size = i.size, profit = i.profit, cost = i.cost, fees = i.fees,
        payout = i.payout, legs = i.legs::jsonb, risks = i.risks::jsonb, as_of = i.as_of,
        venues = i.venues::text[], market_ids = i.market_ids::bigint[], last_seen = $17
    FROM incoming i
    WHERE a.key = i.key AND a.closed_at IS NULL
    RETURNING a.key
), opened AS (
    INSERT INTO gold.arbitrage_opportunities
        (key, kind, relation, match_id, event_id, venues, market_ids, edge, size, profit,
         cost, fees, payout, legs, risks, as_of, opened_at, last_seen)
    SELECT i.key, i.kind, i.relation, i.match_id, i.event_id, i.venues::text[],
           i.market_ids::bigint[], i.edge, i.size, i.profit, i.cost, i.fees, i.payout,
           i.legs::jsonb, i.risks::jsonb, i.as_of, $17, $17
    FROM incoming i
    WHERE i.key NOT IN (SELECT key FROM updated)
    ORDER BY i.key
    RETURNING id
)
SELECT id, pg_notify('predhub_arbitrage', id::text) FROM opened

-- name: close_keys
-- Closes the open opportunities of these keys with a reason each; they stay for history.
WITH gone AS (
    SELECT * FROM unnest($1::text[], $2::text[]) AS t(key, reason)
), closed AS (
    UPDATE gold.arbitrage_opportunities a
    SET closed_at = $3, close_reason = g.reason
    FROM gone g
    WHERE a.key = g.key AND a.closed_at IS NULL
    RETURNING a.id
)
SELECT id, pg_notify('predhub_arbitrage', id::text) FROM closed

-- name: prune_closed
-- Closed opportunities past retention are deleted, oldest first, a batch at a time.
DELETE FROM gold.arbitrage_opportunities
WHERE id IN (SELECT id FROM gold.arbitrage_opportunities
             WHERE closed_at IS NOT NULL AND closed_at < $1
             ORDER BY closed_at LIMIT $2)

-- name: list_open
-- Open opportunities, best edge first, with filters and a keyset after (edge, id).
SELECT id, key, kind, relation, match_id, event_id, venues, market_ids, edge, size,
       profit, cost, fees, payout, legs, risks, as_of, opened_at, last_seen, closed_at,
       close_reason
FROM gold.arbitrage_opportunities
WHERE closed_at IS NULL
  AND edge >= $1 AND size >= $2
  AND ($3::text IS NULL OR $3 = ANY(venues))
  AND ($4::numeric IS NULL OR (edge, id) < ($4, $5::bigint))
ORDER BY edge DESC, id DESC
LIMIT $6

-- name: list_closed
-- Closed opportunities (history), newest closing first, with the same filters and a
-- keyset after (closed_at, id).
SELECT id, key, kind, relation, match_id, event_id, venues, market_ids, edge, size,
       profit, cost, fees, payout, legs, risks, as_of, opened_at, last_seen, closed_at,
       close_reason
FROM gold.arbitrage_opportunities
WHERE closed_at IS NOT NULL
  AND edge >= $1 AND size >= $2
  AND ($3::text IS NULL OR $3 = ANY(venues))
  AND ($4::timestamptz IS NULL OR (closed_at, id) < ($4, $5::bigint))
ORDER BY closed_at DESC, id DESC
LIMIT $6

-- name: by_ids
-- Opportunities by id (the WebSocket topic reads what a notification named).
SELECT id, key, kind, relation, match_id, event_id, venues, market_ids, edge, size,
       profit, cost, fees, payout, legs, risks, as_of, opened_at, last_seen, closed_at,
       close_reason
FROM gold.arbitrage_opportunities
WHERE id = ANY($1::bigint[])
ORDER BY id
