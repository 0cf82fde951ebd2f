-- The search lists leave the markets' write path: the worker keeps them from the
-- market change stream (migration 0030), as gold and the matcher read it.
--
-- Migration 0029's insert and update triggers wrote a market's search_words rows
-- in the writing transaction: one index entry per word of its question and event
-- title, about doubling the cost of inserting a market. Now a reader named
-- 'search' (ops.change_readers) takes the markets changed since its last read,
-- compares each market's rows with its current words, venue, status and volume
-- bucket, and writes only the difference, saving its snapshot in the same
-- transaction (predhub.db.search_words). A new or changed market enters the
-- busiest-first lists within one upkeep round; meanwhile search finds it through
-- the text index whenever the lists hold fewer matches than the page's end.
--
-- The reader reads a market's rows by its id, so the lists get an index by market:
-- written by the worker, not by the market writes. A deleted market's rows still go
-- with it in its own statement (the reader never sees a deleted market: its row is
-- gone), now by that index, so rows the reader wrote for an older version of the
-- market go too.

DROP TRIGGER markets_inserted_search_words ON silver.markets;
DROP FUNCTION silver.markets_inserted_search_words();
DROP TRIGGER markets_search_words ON silver.markets;
DROP FUNCTION silver.market_search_words_changed();

CREATE INDEX search_words_market ON silver.search_words (market_id);

CREATE OR REPLACE FUNCTION silver.markets_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM silver.outcomes WHERE market_id IN (SELECT id FROM old_rows);
    DELETE FROM silver.market_sync WHERE market_id IN (SELECT id FROM old_rows);
    DELETE FROM silver.search_words WHERE market_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END;
$$;

-- Every market committed now has its rows (the triggers kept them until this
-- statement's lock on the markets); a transaction still running, which writes its
-- markets after this one commits, is in the snapshot's running list and read later.
INSERT INTO ops.change_readers (name, seen) VALUES ('search', pg_current_snapshot());
