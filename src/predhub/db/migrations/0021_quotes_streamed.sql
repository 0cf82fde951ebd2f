-- While a live stream carries a market, the stream owns its quotes: a REST
-- response fetched before a stream message but written after it would put an
-- older price back, and nothing would correct it until the market next moved.
-- The stream consumer stamps `quotes_streamed_until` (a little past its next
-- stamp, so a stream that dies unannounced lets polling back in within a
-- minute) and clears it when it resyncs over REST; quote writers other than
-- the stream leave the quotes of such markets alone until then.
-- A sync stamp, so it lives beside the other stamps in the narrow row (0016).
ALTER TABLE silver.market_sync ADD COLUMN quotes_streamed_until timestamptz;
