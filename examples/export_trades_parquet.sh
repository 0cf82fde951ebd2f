#!/bin/sh
# Export a venue's trades of January 2026 to Parquet, one file per day (re-run to resume),
# then read them back with DuckDB or pandas.
set -e
predhub export trades trades-polymarket --venue polymarket --since 2026-01-01 --until 2026-02-01 --format parquet
python -c "import pandas as pd; print(pd.read_parquet('trades-polymarket').describe())"
# duckdb -c "SELECT count(*), sum(size) FROM read_parquet('trades-polymarket/*.parquet')"
# Or one market's trades over HTTP, streamed:
# curl -o trades.parquet 'http://127.0.0.1:8000/v1/markets/42/trades?format=parquet'
