-- The served price and the rule that produced it.
--
-- A quote's price was written as each writer had it: a listing's display
-- price, a batch endpoint's midpoint, a stream's last trade. Writers that
-- carry only part of a quote (order books, streams) merge into the stored
-- row, so a fresh book could sit next to a price from an older writer, and a
-- price outside its own bid/ask was served as if coherent. The price is now
-- derived in the database from the merged row, by the venue's documented
-- display rule, whichever writer wrote last, and `price_source` says which
-- rule produced it:
--
--   mid         the midpoint of the stored best bid and ask;
--   last_trade  the last trade: the spread is wider than the venue displays
--               a midpoint for (Polymarket: 10c), or one side of the book is
--               missing;
--   display     the venue's own displayed price, when no bid, ask or last
--               trade is known (an AMM price, a listing's outcome price).

ALTER TABLE silver.quotes ADD COLUMN price_source text
    CONSTRAINT quotes_price_source_check CHECK (price_source IN ('mid', 'last_trade', 'display'));

-- The widest spread a venue still displays the midpoint for; past it the
-- venue displays the last trade. Polymarket documents 10c; the others
-- display the midpoint whenever both sides are quoted.
CREATE FUNCTION silver.display_spread_limit(venue text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE venue WHEN 'polymarket' THEN 0.10 ELSE 1 END
$$;

CREATE FUNCTION silver.quote_price_source(
    venue text, bid numeric, ask numeric, last numeric, shown numeric
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN bid IS NOT NULL AND ask IS NOT NULL
             AND ask - bid <= silver.display_spread_limit(venue) THEN 'mid'
        WHEN last IS NOT NULL THEN 'last_trade'
        WHEN bid IS NOT NULL AND ask IS NOT NULL THEN 'mid'
        WHEN shown IS NOT NULL THEN 'display'
    END
$$;

CREATE FUNCTION silver.quote_price(
    venue text, bid numeric, ask numeric, last numeric, shown numeric
) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE silver.quote_price_source(venue, bid, ask, last, shown)
        WHEN 'mid' THEN (bid + ask) / 2
        WHEN 'last_trade' THEN last
        WHEN 'display' THEN shown
    END
$$;

UPDATE silver.quotes q
SET price = silver.quote_price(m.venue, q.best_bid, q.best_ask, q.last, q.price),
    price_source = silver.quote_price_source(m.venue, q.best_bid, q.best_ask, q.last, q.price)
FROM silver.markets m
WHERE m.id = q.market_id;
