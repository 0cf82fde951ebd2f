"""The service's SQL, named; one statement per purpose."""

from __future__ import annotations

# One row per market: the columns of a price answer, outcomes with their quotes.
MARKET_SNAPSHOTS = """
SELECT m.id, m.venue, m.native_id, m.condition_id, m.ticker, m.slug, m.question, m.status,
       m.event_id, m.event_title, m.category, m.end_at, m.volume_24h, m.volume_total,
       m.liquidity, m.winning_outcome, m.is_void, m.resolved_at, m.quotes_synced_at,
       q.as_of, coalesce(q.outcomes, '[]'::json) AS outcomes
FROM silver.markets m
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
WHERE m.id = ANY($1::bigint[])
"""

# Ids (of those given) whose quotes were synced before $2 (the oldest sync the
# caller accepts: its arrival minus its max age) and that still trade. Compared
# with the caller's arrival, not with now(): a row refreshed after the caller
# asked is fresh enough for it, whatever its age by the time it is checked.
STILL_STALE = """
SELECT id FROM silver.markets
WHERE id = ANY($1::bigint[])
  AND status = 'open'
  AND (quotes_synced_at IS NULL OR quotes_synced_at < $2::timestamptz)
"""

SYNCED_AT = "SELECT id, quotes_synced_at FROM silver.markets WHERE id = ANY($1::bigint[])"

TRY_LOCKS = """
SELECT k FROM unnest($1::bigint[]) AS t(k)
WHERE pg_try_advisory_xact_lock($2::int, (k & 2147483647)::int)
"""

WAIT_LOCKS = """
SELECT count(*) FROM (
    SELECT pg_advisory_xact_lock($2::int, (k & 2147483647)::int)
    FROM unnest($1::bigint[]) AS t(k)  -- the caller sorts the ids: no lock-order deadlock
) s
"""

MARK_INTEREST = """
UPDATE silver.markets SET interest_at = now()
WHERE id = ANY($1::bigint[])
  AND (interest_at IS NULL OR interest_at < now() - make_interval(secs => $2))
"""
