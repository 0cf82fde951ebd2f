-- Bulk exports read a venue's trades one time slice at a time (predhub export trades):
-- a BRIN index on executed_at narrows each slice to the blocks written in that time.
-- Trades arrive roughly in time order, so the index stays small (a few pages for
-- millions of rows) and costs writes next to nothing, unlike a second btree.
CREATE INDEX trades_executed_brin ON silver.trades USING brin (executed_at);
