"""Silver writers: bulk upserts of the unified model into the silver schema."""

from predhub.ingest.silver.catalog import upsert_events, upsert_markets
from predhub.ingest.silver.common import WriteResult
from predhub.ingest.silver.prices import (
    QUOTES_CHANNEL,
    insert_books,
    upsert_price_history,
    upsert_quotes,
)
from predhub.ingest.silver.trades import TRADES_CHANNEL, insert_trades

__all__ = [
    "QUOTES_CHANNEL",
    "TRADES_CHANNEL",
    "WriteResult",
    "insert_books",
    "insert_trades",
    "upsert_events",
    "upsert_markets",
    "upsert_price_history",
    "upsert_quotes",
]
