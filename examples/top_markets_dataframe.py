"""Fetch the top markets into a pandas DataFrame (pip install 'predhub[pandas]').

Usage: python examples/top_markets_dataframe.py [http://127.0.0.1:8000]
"""

import sys

from predhub.client import Client

with Client(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000") as hub:
    page = hub.markets(status="open", sort="volume_24h", limit=100)
    frame = page.to_pandas()
    print(frame[["venue", "question", "volume_24h", "outcome_0_label", "outcome_0_price"]].head(20))
