-- The gold layer's refresh and reads: every statement touches the markets that
-- changed (by id) or reads a small ranked table by index, never the whole catalogue.

-- name: take_changes
-- The markets queued since the last refresh (by quotes, books, sync stamps and the
-- re-queues; market writes are read from the change stream), taken (deleted) in the
-- refresh's transaction: a failed refresh rolls back and leaves them for the next one.
DELETE FROM ops.gold_changes c
WHERE c.market_id IN (SELECT market_id FROM ops.gold_changes ORDER BY market_id LIMIT $1)
RETURNING c.market_id

-- name: take_event_changes
-- Events whose own columns changed since the last refresh, taken like the markets.
DELETE FROM ops.gold_event_changes c
WHERE c.event_id IN (SELECT event_id FROM ops.gold_event_changes ORDER BY event_id LIMIT $1)
RETURNING c.event_id

-- name: traded_markets
-- Markets with trades past the watermark $1 (a range scan of the trades' key), and,
-- in the same snapshot, whether every transaction older than the pending mark's $2
-- has finished (settled: every id up to the mark is committed and read here) or the
-- mark is ahead of the server (a restore into a cluster whose counter is behind).
SELECT coalesce(array_agg(DISTINCT market_id), '{}') AS market_ids,
       coalesce(pg_snapshot_xmin(pg_current_snapshot()) > $2::bigint::text::xid8, false)
           AS settled,
       coalesce(pg_snapshot_xmax(pg_current_snapshot()) < $2::bigint::text::xid8, false)
           AS ahead
FROM silver.trades WHERE id > $1

-- name: trades_mark
-- The trade ids taken so far, then this transaction's id: every writer that took one
-- of those ids held an older transaction id (silver.trades_writer_xid). The scan of
-- the CTE yields its row before the projection assigns the transaction id. No mark
-- (a null xid) when the transaction already had an id: it would not be younger.
WITH taken AS MATERIALIZED (
    SELECT coalesce(pg_sequence_last_value(
               pg_get_serial_sequence('silver.trades', 'id')::regclass), 0) AS last_id,
           pg_current_xact_id_if_assigned() IS NULL AS fresh
)
SELECT last_id, CASE WHEN fresh THEN pg_current_xact_id()::text::bigint END AS xid
FROM taken

-- name: mark_all_changed
-- A full rebuild: every market is changed once.
INSERT INTO ops.gold_changes (market_id) SELECT id FROM silver.markets ON CONFLICT DO NOTHING

-- name: mark_active_changed
-- Markets whose moves or 48 h activity can change with time alone (the windows slide),
-- queued for the next refresh; quiet markets are left alone.
INSERT INTO ops.gold_changes (market_id)
SELECT market_id FROM gold.market_stats
WHERE status = 'open' AND (coalesce(move_7d, 0) <> 0 OR trades_24h + trades_prev_24h > 0)
ON CONFLICT DO NOTHING

-- name: category_inputs
-- What a changed market's normalised category is derived from: its own category,
-- its event's category, tags and series, and the titles.
SELECT m.id, m.category, e.category AS event_category, coalesce(e.tags, '{}') AS tags,
       coalesce(m.extra ->> 'series_ticker', e.extra ->> 'series_ticker') AS series,
       m.question, coalesce(m.event_title, e.title) AS event_title
FROM silver.markets m LEFT JOIN silver.events e ON e.id = m.event_id
WHERE m.id = ANY($1::bigint[])

-- name: old_event_ids
-- The events the changed markets belonged to at the last refresh (a market may have moved).
SELECT DISTINCT event_id FROM gold.market_stats
WHERE market_id = ANY($1::bigint[]) AND event_id IS NOT NULL

-- name: subtract_venue_stats
-- Take the changed markets' previous contribution out of their venues' totals.
UPDATE gold.venue_stats v
SET markets = v.markets - d.markets, open_markets = v.open_markets - d.open_markets,
    open_interest = v.open_interest - d.open_interest, volume_24h = v.volume_24h - d.volume_24h,
    volume_total = v.volume_total - d.volume_total, liquidity = v.liquidity - d.liquidity,
    refreshed_at = $2
FROM (
    SELECT venue AS key, count(*) AS markets, count(*) FILTER (WHERE status = 'open') AS open_markets,
           sum(open_interest) AS open_interest, sum(volume_24h) AS volume_24h,
           sum(volume_total) AS volume_total, sum(liquidity) AS liquidity
    FROM gold.market_stats WHERE market_id = ANY($1::bigint[]) GROUP BY venue
) d
WHERE v.venue = d.key

-- name: subtract_category_stats
-- Take the changed markets' previous contribution out of their categories' totals.
UPDATE gold.category_stats v
SET markets = v.markets - d.markets, open_markets = v.open_markets - d.open_markets,
    open_interest = v.open_interest - d.open_interest, volume_24h = v.volume_24h - d.volume_24h,
    volume_total = v.volume_total - d.volume_total, liquidity = v.liquidity - d.liquidity,
    refreshed_at = $2
FROM (
    SELECT category AS key, count(*) AS markets,
           count(*) FILTER (WHERE status = 'open') AS open_markets,
           sum(open_interest) AS open_interest, sum(volume_24h) AS volume_24h,
           sum(volume_total) AS volume_total, sum(liquidity) AS liquidity
    FROM gold.market_stats WHERE market_id = ANY($1::bigint[]) GROUP BY category
) d
WHERE v.category = d.key

-- name: old_groups
-- The venues and categories the changed markets belonged to at the last refresh.
SELECT coalesce(array_agg(DISTINCT venue), '{}') AS venues,
       coalesce(array_agg(DISTINCT category), '{}') AS categories
FROM gold.market_stats WHERE market_id = ANY($1::bigint[])

-- name: upsert_market_stats
-- Recompute the changed markets' rows from silver: figures, leading outcome, moves
-- over 1 h, 24 h and 7 d from the price history, and trades of the last 48 h.
-- $1 ids, $2 their categories (same order), $3 now.
WITH ids AS (
    SELECT id, category FROM unnest($1::bigint[], $2::text[]) AS t(id, category)
), base AS (
    SELECT m.id, m.venue, m.event_id, ids.category, m.status, m.question, m.end_at,
           coalesce(m.volume_24h, 0) AS volume_24h, coalesce(m.volume_total, 0) AS volume_total,
           coalesce(m.liquidity, 0) AS liquidity, coalesce(m.open_interest, 0) AS open_interest,
           coalesce(sy.quotes_synced_at, sy.metadata_synced_at, m.updated_at) AS as_of,
           sy.sync_priority, sy.quotes_synced_at, sy.metadata_synced_at
    FROM ids JOIN silver.markets m ON m.id = ids.id
    LEFT JOIN silver.market_sync sy ON sy.market_id = m.id
), lead_q AS (
    SELECT DISTINCT ON (q.market_id) q.market_id, o.label, q.price
    FROM silver.quotes q JOIN silver.outcomes o ON o.id = q.outcome_id
    WHERE q.market_id = ANY($1::bigint[]) AND q.price IS NOT NULL
    ORDER BY q.market_id, q.price DESC, o.idx
), yes AS (
    SELECT o.market_id, o.id AS outcome_id, q.price AS quote_price,
           l.ts AS latest_ts, l.price AS latest_price  -- the latest point: no partition read
    FROM silver.outcomes o LEFT JOIN silver.quotes q ON q.outcome_id = o.id
    LEFT JOIN silver.price_latest l ON l.outcome_id = o.id
    WHERE o.market_id = ANY($1::bigint[]) AND o.idx = 0
), moves AS (
    SELECT y.market_id, y.quote_price, p.now_price,
           p.now_price - p.price_1h AS move_1h,
           p.now_price - p.price_24h AS move_24h,
           p.now_price - p.price_7d AS move_7d
    FROM yes y
    CROSS JOIN LATERAL (
        SELECT
            CASE WHEN y.latest_ts <= $3 THEN y.latest_price
                 WHEN y.latest_ts IS NOT NULL THEN
                (SELECT h.price FROM silver.price_history h
                 WHERE h.outcome_id = y.outcome_id AND h.ts <= $3 ORDER BY h.ts DESC LIMIT 1)
            END AS now_price,
            coalesce(
                (SELECT h.price FROM silver.price_history h WHERE h.outcome_id = y.outcome_id
                   AND h.ts <= $3::timestamptz - interval '1 hour' ORDER BY h.ts DESC LIMIT 1),
                (SELECT h.price FROM silver.price_history h WHERE h.outcome_id = y.outcome_id
                   AND h.ts > $3::timestamptz - interval '1 hour' ORDER BY h.ts LIMIT 1)) AS price_1h,
            coalesce(
                (SELECT h.price FROM silver.price_history h WHERE h.outcome_id = y.outcome_id
                   AND h.ts <= $3::timestamptz - interval '24 hours' ORDER BY h.ts DESC LIMIT 1),
                (SELECT h.price FROM silver.price_history h WHERE h.outcome_id = y.outcome_id
                   AND h.ts > $3::timestamptz - interval '24 hours' ORDER BY h.ts LIMIT 1)) AS price_24h,
            coalesce(
                (SELECT h.price FROM silver.price_history h WHERE h.outcome_id = y.outcome_id
                   AND h.ts <= $3::timestamptz - interval '7 days' ORDER BY h.ts DESC LIMIT 1),
                (SELECT h.price FROM silver.price_history h WHERE h.outcome_id = y.outcome_id
                   AND h.ts > $3::timestamptz - interval '7 days' ORDER BY h.ts LIMIT 1)) AS price_7d
    ) p
), activity AS (
    SELECT t.market_id,
           count(*) FILTER (WHERE t.executed_at > $3::timestamptz - interval '24 hours') AS trades_24h,
           count(*) FILTER (WHERE t.executed_at <= $3::timestamptz - interval '24 hours') AS trades_prev_24h,
           coalesce(sum(t.price * t.size)
               FILTER (WHERE t.executed_at > $3::timestamptz - interval '24 hours'), 0) AS notional_24h,
           coalesce(sum(t.price * t.size)
               FILTER (WHERE t.executed_at <= $3::timestamptz - interval '24 hours'), 0) AS notional_prev_24h,
           count(DISTINCT t.extra ->> 'proxyWallet')
               FILTER (WHERE t.executed_at > $3::timestamptz - interval '24 hours') AS traders_24h,
           count(DISTINCT t.extra ->> 'proxyWallet')
               FILTER (WHERE t.executed_at <= $3::timestamptz - interval '24 hours') AS traders_prev_24h,
           count(t.extra ->> 'proxyWallet') AS with_trader,
           max(t.executed_at) AS last_trade_at
    FROM silver.trades t
    WHERE t.market_id = ANY($1::bigint[])
      AND t.executed_at > $3::timestamptz - interval '48 hours' AND t.executed_at <= $3
    GROUP BY t.market_id
)
INSERT INTO gold.market_stats AS s (
    market_id, venue, event_id, category, status, question, end_at, volume_24h, volume_total,
    liquidity, open_interest, leading_outcome, leading_price, yes_price, move_1h, move_24h,
    move_7d, trades_24h, trades_prev_24h, notional_24h, notional_prev_24h, traders_24h,
    traders_prev_24h, trend_score, as_of, refreshed_at, sync_priority, quotes_synced_at,
    metadata_synced_at, last_trade_at)
SELECT b.id, b.venue, b.event_id, b.category, b.status, b.question, b.end_at, b.volume_24h,
       b.volume_total, b.liquidity, b.open_interest, l.label, l.price,
       coalesce(mv.quote_price, mv.now_price), mv.move_1h, mv.move_24h, mv.move_7d,
       coalesce(a.trades_24h, 0), coalesce(a.trades_prev_24h, 0),
       coalesce(a.notional_24h, 0), coalesce(a.notional_prev_24h, 0),
       CASE WHEN a.with_trader > 0 THEN a.traders_24h END,
       CASE WHEN a.with_trader > 0 THEN a.traders_prev_24h END,
       CASE WHEN a.trades_24h > 0 THEN a.notional_24h - a.notional_prev_24h END,
       b.as_of, $3, b.sync_priority, b.quotes_synced_at, b.metadata_synced_at, a.last_trade_at
FROM base b
LEFT JOIN lead_q l ON l.market_id = b.id
LEFT JOIN moves mv ON mv.market_id = b.id
LEFT JOIN activity a ON a.market_id = b.id
ON CONFLICT (market_id) DO UPDATE SET
    venue = EXCLUDED.venue, event_id = EXCLUDED.event_id, category = EXCLUDED.category,
    status = EXCLUDED.status, question = EXCLUDED.question, end_at = EXCLUDED.end_at,
    volume_24h = EXCLUDED.volume_24h, volume_total = EXCLUDED.volume_total,
    liquidity = EXCLUDED.liquidity, open_interest = EXCLUDED.open_interest,
    leading_outcome = EXCLUDED.leading_outcome, leading_price = EXCLUDED.leading_price,
    yes_price = EXCLUDED.yes_price, move_1h = EXCLUDED.move_1h, move_24h = EXCLUDED.move_24h,
    move_7d = EXCLUDED.move_7d, trades_24h = EXCLUDED.trades_24h,
    trades_prev_24h = EXCLUDED.trades_prev_24h, notional_24h = EXCLUDED.notional_24h,
    notional_prev_24h = EXCLUDED.notional_prev_24h, traders_24h = EXCLUDED.traders_24h,
    traders_prev_24h = EXCLUDED.traders_prev_24h, trend_score = EXCLUDED.trend_score,
    as_of = EXCLUDED.as_of, refreshed_at = EXCLUDED.refreshed_at,
    sync_priority = EXCLUDED.sync_priority, quotes_synced_at = EXCLUDED.quotes_synced_at,
    metadata_synced_at = EXCLUDED.metadata_synced_at, last_trade_at = EXCLUDED.last_trade_at

-- name: add_venue_stats
-- Add the changed markets' new contribution to their venues' totals.
INSERT INTO gold.venue_stats AS v (venue, markets, open_markets, open_interest, volume_24h,
                                   volume_total, liquidity, newest_as_of, refreshed_at)
SELECT venue, count(*), count(*) FILTER (WHERE status = 'open'), sum(open_interest),
       sum(volume_24h), sum(volume_total), sum(liquidity), max(as_of), $2
FROM gold.market_stats WHERE market_id = ANY($1::bigint[]) GROUP BY venue
ON CONFLICT (venue) DO UPDATE SET
    markets = v.markets + EXCLUDED.markets, open_markets = v.open_markets + EXCLUDED.open_markets,
    open_interest = v.open_interest + EXCLUDED.open_interest,
    volume_24h = v.volume_24h + EXCLUDED.volume_24h,
    volume_total = v.volume_total + EXCLUDED.volume_total,
    liquidity = v.liquidity + EXCLUDED.liquidity,
    newest_as_of = greatest(v.newest_as_of, EXCLUDED.newest_as_of),
    refreshed_at = EXCLUDED.refreshed_at

-- name: add_category_stats
-- Add the changed markets' new contribution to their categories' totals.
INSERT INTO gold.category_stats AS v (category, markets, open_markets, open_interest, volume_24h,
                                      volume_total, liquidity, newest_as_of, refreshed_at)
SELECT category, count(*), count(*) FILTER (WHERE status = 'open'), sum(open_interest),
       sum(volume_24h), sum(volume_total), sum(liquidity), max(as_of), $2
FROM gold.market_stats WHERE market_id = ANY($1::bigint[]) GROUP BY category
ON CONFLICT (category) DO UPDATE SET
    markets = v.markets + EXCLUDED.markets, open_markets = v.open_markets + EXCLUDED.open_markets,
    open_interest = v.open_interest + EXCLUDED.open_interest,
    volume_24h = v.volume_24h + EXCLUDED.volume_24h,
    volume_total = v.volume_total + EXCLUDED.volume_total,
    liquidity = v.liquidity + EXCLUDED.liquidity,
    newest_as_of = greatest(v.newest_as_of, EXCLUDED.newest_as_of),
    refreshed_at = EXCLUDED.refreshed_at

-- name: subtract_freshness
-- Take the changed markets' previous rows out of their venue's freshness counts, per
-- priority and for the venue as a whole ('*'). $1 ids, $2 now.
UPDATE gold.venue_freshness f
SET markets = f.markets - d.markets, open_markets = f.open_markets - d.open_markets,
    never_quoted = f.never_quoted - d.never_quoted, refreshed_at = $2
FROM (
    SELECT venue, coalesce(sync_priority, '*') AS priority, count(*) AS markets,
           count(*) FILTER (WHERE status = 'open') AS open_markets,
           count(*) FILTER (WHERE status = 'open' AND quotes_synced_at IS NULL) AS never_quoted
    FROM gold.market_stats
    WHERE market_id = ANY($1::bigint[]) AND sync_priority IS NOT NULL
    GROUP BY GROUPING SETS ((venue, sync_priority), (venue))
) d
WHERE f.venue = d.venue AND f.sync_priority = d.priority

-- name: subtract_quote_seconds
-- Take the changed open markets out of the histogram of quote syncs: a second that
-- empties is deleted, the others lose their count (disjoint rows, one statement).
WITH d AS (
    SELECT venue, sync_priority, date_trunc('second', quotes_synced_at) AS second,
           count(*) AS markets
    FROM gold.market_stats
    WHERE market_id = ANY($1::bigint[]) AND status = 'open' AND quotes_synced_at IS NOT NULL
      AND sync_priority IS NOT NULL
    GROUP BY 1, 2, 3
), gone AS (
    DELETE FROM gold.quote_sync_seconds b USING d
    WHERE b.venue = d.venue AND b.sync_priority = d.sync_priority AND b.second = d.second
      AND b.markets <= d.markets
    RETURNING b.venue
)
UPDATE gold.quote_sync_seconds b SET markets = b.markets - d.markets
FROM d
WHERE b.venue = d.venue AND b.sync_priority = d.sync_priority AND b.second = d.second
  AND b.markets > d.markets

-- name: add_freshness
-- Add the changed markets' new rows to their venue's freshness counts; the newest
-- syncs and the newest trade (of the last 48 h) only move forward. $1 ids, $2 now.
INSERT INTO gold.venue_freshness AS f (venue, sync_priority, markets, open_markets, never_quoted,
                                       newest_quote_at, newest_metadata_at, newest_trade_at,
                                       refreshed_at)
SELECT venue, coalesce(sync_priority, '*'), count(*), count(*) FILTER (WHERE status = 'open'),
       count(*) FILTER (WHERE status = 'open' AND quotes_synced_at IS NULL),
       max(quotes_synced_at), max(metadata_synced_at), max(last_trade_at), $2
FROM gold.market_stats WHERE market_id = ANY($1::bigint[])
GROUP BY GROUPING SETS ((venue, sync_priority), (venue))
ON CONFLICT (venue, sync_priority) DO UPDATE SET
    markets = f.markets + EXCLUDED.markets, open_markets = f.open_markets + EXCLUDED.open_markets,
    never_quoted = f.never_quoted + EXCLUDED.never_quoted,
    newest_quote_at = greatest(f.newest_quote_at, EXCLUDED.newest_quote_at),
    newest_metadata_at = greatest(f.newest_metadata_at, EXCLUDED.newest_metadata_at),
    newest_trade_at = greatest(f.newest_trade_at, EXCLUDED.newest_trade_at),
    refreshed_at = EXCLUDED.refreshed_at

-- name: add_quote_seconds
-- Add the changed open markets to the histogram of quote syncs.
INSERT INTO gold.quote_sync_seconds AS b (venue, sync_priority, second, markets)
SELECT venue, sync_priority, date_trunc('second', quotes_synced_at), count(*)
FROM gold.market_stats
WHERE market_id = ANY($1::bigint[]) AND status = 'open' AND quotes_synced_at IS NOT NULL
GROUP BY 1, 2, 3
ON CONFLICT (venue, sync_priority, second) DO UPDATE SET markets = b.markets + EXCLUDED.markets

-- name: freshness_percentiles
-- The touched venues' open-quote age p50 and p90 at $2, per priority and as a whole,
-- read off the histogram newest second first (nearest rank, to the second: a
-- second's markets count as synced in its middle). Costs the venues' histogram rows.
WITH g AS (
    SELECT venue, sync_priority, second, markets
    FROM gold.quote_sync_seconds WHERE venue = ANY($1::text[])
    UNION ALL
    SELECT venue, '*', second, sum(markets)
    FROM gold.quote_sync_seconds WHERE venue = ANY($1::text[]) GROUP BY venue, second
), c AS (
    SELECT venue, sync_priority, second,
           sum(markets) OVER (PARTITION BY venue, sync_priority ORDER BY second DESC
                              ROWS UNBOUNDED PRECEDING) AS upto,
           sum(markets) OVER (PARTITION BY venue, sync_priority) AS total
    FROM g
), q AS (
    SELECT venue, sync_priority,
           max(second) FILTER (WHERE upto >= 0.5 * total) AS s50,
           max(second) FILTER (WHERE upto >= 0.9 * total) AS s90
    FROM c GROUP BY venue, sync_priority
)
UPDATE gold.venue_freshness f
SET quote_age_p50 = greatest(0, extract(epoch FROM $2::timestamptz - q.s50) - 0.5),
    quote_age_p90 = greatest(0, extract(epoch FROM $2::timestamptz - q.s90) - 0.5),
    measured_at = $2
FROM gold.venue_freshness f2 LEFT JOIN q
     ON q.venue = f2.venue AND q.sync_priority = f2.sync_priority
WHERE f.venue = ANY($1::text[]) AND f2.venue = f.venue AND f2.sync_priority = f.sync_priority

-- name: new_groups
-- The venues, categories and events the changed markets belong to now.
SELECT coalesce(array_agg(DISTINCT venue), '{}') AS venues,
       coalesce(array_agg(DISTINCT category), '{}') AS categories,
       coalesce(array_agg(DISTINCT event_id) FILTER (WHERE event_id IS NOT NULL), '{}') AS events
FROM gold.market_stats WHERE market_id = ANY($1::bigint[])

-- name: venue_as_of
-- Each touched venue's oldest input among its open markets (one index probe each).
UPDATE gold.venue_stats v
SET as_of = (SELECT min(s.as_of) FROM gold.market_stats s
             WHERE s.venue = v.venue AND s.status = 'open')
WHERE v.venue = ANY($1::text[])

-- name: category_as_of
-- Each touched category's oldest input among its open markets (one index probe each).
UPDATE gold.category_stats v
SET as_of = (SELECT min(s.as_of) FROM gold.market_stats s
             WHERE s.category = v.category AND s.status = 'open')
WHERE v.category = ANY($1::text[])

-- name: delete_events
-- Drop the snapshot rows of the events being recomputed (a market may have left one).
DELETE FROM gold.events_snapshot WHERE event_id = ANY($1::bigint[])

-- name: insert_events
-- Recompute events from their markets' rows: totals, the leading outcome of the most
-- likely market and the spread of the markets' probabilities.
INSERT INTO gold.events_snapshot (
    event_id, venue, title, category, markets, open_markets, venues, volume_total, volume_24h,
    liquidity, leading_market_id, leading_outcome, leading_probability, probability_spread,
    end_at, status, resolved_markets, as_of, refreshed_at)
SELECT e.id, e.venue, e.title, agg.category, agg.markets, agg.open_markets, agg.venues,
       agg.volume_total, agg.volume_24h, agg.liquidity, lead.market_id, lead.leading_outcome,
       lead.leading_price, agg.spread, coalesce(e.end_at, agg.end_at), e.status,
       agg.resolved_markets, agg.as_of, $2
FROM silver.events e
CROSS JOIN LATERAL (
    SELECT count(*)::int AS markets, (count(*) FILTER (WHERE s.status = 'open'))::int AS open_markets,
           array_agg(DISTINCT s.venue ORDER BY s.venue) AS venues,
           sum(s.volume_total) AS volume_total, sum(s.volume_24h) AS volume_24h,
           sum(s.liquidity) AS liquidity,
           max(s.yes_price) - min(s.yes_price) AS spread, max(s.end_at) AS end_at,
           (count(*) FILTER (WHERE s.status IN ('resolved', 'voided')))::int AS resolved_markets,
           min(s.as_of) AS as_of, mode() WITHIN GROUP (ORDER BY s.category) AS category
    FROM gold.market_stats s WHERE s.event_id = e.id
) agg
LEFT JOIN LATERAL (
    SELECT s.market_id, s.leading_outcome, s.leading_price
    FROM gold.market_stats s
    WHERE s.event_id = e.id AND s.leading_price IS NOT NULL
    ORDER BY (s.status = 'open') DESC, s.leading_price DESC, s.volume_24h DESC, s.market_id
    LIMIT 1
) lead ON true
WHERE e.id = ANY($1::bigint[]) AND agg.markets > 0

-- name: clear_top
-- The top snapshot is small and rebuilt whole from the volume indexes.
DELETE FROM gold.top_markets_snapshot

-- name: insert_top_per_venue
-- Top N of each venue by 24 h volume at or above the venue's floor.
-- $1 venues, $2 their N, $3 their floors, $4 now.
INSERT INTO gold.top_markets_snapshot (scope, rank, market_id, venue, volume_24h, as_of, refreshed_at)
SELECT v.venue, row_number() OVER (PARTITION BY v.venue ORDER BY t.volume_24h DESC, t.market_id),
       t.market_id, v.venue, t.volume_24h, t.as_of, $4
FROM unnest($1::text[], $2::int[], $3::numeric[]) AS v(venue, n, floor)
CROSS JOIN LATERAL (
    SELECT s.market_id, s.volume_24h, s.as_of FROM gold.market_stats s
    WHERE s.venue = v.venue AND s.status = 'open' AND s.volume_24h >= v.floor
    ORDER BY s.volume_24h DESC, s.market_id LIMIT v.n
) t

-- name: insert_top_overall
-- Top N across venues, each market at or above its venue's floor.
-- $1 venues, $2 their floors, $3 N, $4 now.
INSERT INTO gold.top_markets_snapshot (scope, rank, market_id, venue, volume_24h, as_of, refreshed_at)
SELECT '*', row_number() OVER (ORDER BY t.volume_24h DESC, t.market_id), t.market_id, t.venue,
       t.volume_24h, t.as_of, $4
FROM (
    SELECT s.market_id, s.venue, s.volume_24h, s.as_of
    FROM gold.market_stats s
    JOIN unnest($1::text[], $2::numeric[]) AS f(venue, floor) ON f.venue = s.venue
    WHERE s.status = 'open' AND s.volume_24h >= f.floor
    ORDER BY s.volume_24h DESC, s.market_id LIMIT $3
) t

-- name: clear_movers
-- Movers are a few ranked rows per window, rebuilt whole from the move indexes.
DELETE FROM gold.movers

-- name: insert_movers
-- The largest moves over one window among open markets trading at least the minimum
-- volume; {window} is one of the windows named in code (1h, 24h, 7d), never input.
INSERT INTO gold.movers (time_window, rank, market_id, venue, move, price, volume_24h, as_of, refreshed_at)
SELECT '{window}', row_number() OVER (ORDER BY abs(t.move_{window}) DESC, t.market_id), t.market_id,
       t.venue, t.move_{window}, t.yes_price, t.volume_24h, t.as_of, $3
FROM (SELECT * FROM gold.market_stats s
      WHERE s.status = 'open' AND s.volume_24h >= $1 AND s.move_{window} <> 0
      ORDER BY abs(s.move_{window}) DESC NULLS LAST, s.market_id LIMIT $2) t

-- name: clear_trending
-- Trending is a few ranked rows, rebuilt whole from the score index.
DELETE FROM gold.trending

-- name: insert_trending
-- Open markets whose last 24 h of trading grew most over the 24 h before, among
-- those trading at least the minimum volume.
INSERT INTO gold.trending (rank, market_id, venue, notional_24h, notional_prev_24h, trades_24h,
                           trades_prev_24h, traders_24h, traders_prev_24h, score, as_of,
                           refreshed_at)
SELECT row_number() OVER (ORDER BY t.trend_score DESC, t.market_id), t.market_id, t.venue,
       t.notional_24h, t.notional_prev_24h, t.trades_24h, t.trades_prev_24h, t.traders_24h,
       t.traders_prev_24h, t.trend_score, t.as_of, $3
FROM (SELECT * FROM gold.market_stats s
      WHERE s.status = 'open' AND s.trend_score IS NOT NULL AND s.volume_24h >= $1
      ORDER BY s.trend_score DESC NULLS LAST, s.market_id LIMIT $2) t

-- name: claim_refresh
-- Take the named refresh when its cadence has come and no live lease holds it:
-- one worker at a time, however many run. With $6, a refresh that found nothing
-- to fold (a new hub before its first load) is due again as soon as changes
-- wait (queued, or markets written since gold's last read of the change stream,
-- predhub.db.changes), so the ranked tables fill right after the first load instead
-- of a cadence later. Returns the trades watermark.
INSERT INTO ops.gold_refresh AS r (name, lease_owner, lease_expires_at, last_started_at)
VALUES ($1, $2, $3::timestamptz + $4::float8 * interval '1 second', $3)
ON CONFLICT (name) DO UPDATE SET
    lease_owner = EXCLUDED.lease_owner, lease_expires_at = EXCLUDED.lease_expires_at,
    last_started_at = EXCLUDED.last_started_at
WHERE (r.lease_expires_at IS NULL OR r.lease_expires_at < $3)
  AND (r.last_finished_at IS NULL
       OR r.last_started_at <= $3::timestamptz - $5::float8 * interval '1 second'
       OR ($6::boolean AND r.last_markets = 0
           AND (EXISTS (SELECT 1 FROM ops.gold_changes)
                OR EXISTS (SELECT 1 FROM silver.markets m, ops.change_readers c
                           WHERE c.name = 'gold' AND m.change_xid >= pg_snapshot_xmin(c.seen)
                             AND NOT pg_visible_in_snapshot(m.change_xid, c.seen)))))
RETURNING r.watermark

-- name: finish_refresh
-- Release the lease and record what the refresh did.
UPDATE ops.gold_refresh
SET lease_owner = NULL, lease_expires_at = NULL, last_finished_at = $3, last_markets = $4,
    last_seconds = $5, watermark = greatest(watermark, $6)
WHERE name = $1 AND lease_owner = $2

-- name: release_refresh
-- Give a failed refresh's lease back so the next cycle may try again.
UPDATE ops.gold_refresh SET lease_owner = NULL, lease_expires_at = NULL
WHERE name = $1 AND lease_owner = $2

-- name: trades_watermark
-- The trades already folded into gold (every id up to the watermark is), and the
-- pending mark a later refresh may move the watermark up to.
SELECT watermark, pending_id, pending_xid::text::bigint AS pending_xid
FROM ops.gold_refresh WHERE name = 'trades'

-- name: save_watermark
-- Record the trades folded in by a refresh and the next pending mark.
INSERT INTO ops.gold_refresh AS r (name, watermark, pending_id, pending_xid)
VALUES ('trades', $1, $2, $3::bigint::text::xid8)
ON CONFLICT (name) DO UPDATE SET watermark = greatest(r.watermark, EXCLUDED.watermark),
    pending_id = EXCLUDED.pending_id, pending_xid = EXCLUDED.pending_xid

-- name: refresh_state
-- Every gold refresh's last run, for `predhub status` and the API.
SELECT name, last_started_at, last_finished_at, last_markets, last_seconds, watermark
FROM ops.gold_refresh ORDER BY name

-- name: lock_refresh
-- Refreshes apply differences to the totals, so two must never interleave: the
-- hot and warm cadences (possibly on two workers) queue on this lock.
SELECT pg_advisory_xact_lock(hashtext('predhub.gold.refresh'))
