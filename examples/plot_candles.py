"""Plot a market's hourly candles (matplotlib optional: without it, the table is printed).

Usage: python examples/plot_candles.py MARKET_ID [http://127.0.0.1:8000]
"""

import sys

from predhub.client import Client

market_id = sys.argv[1]
with Client(sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8000") as hub:
    frame = hub.history(market_id, interval="1h", range="7d").to_pandas()
try:
    import matplotlib.pyplot as plt
except ImportError:
    print(frame)
else:
    frame.plot(x="t", y="close", title=f"market {market_id}")
    plt.savefig(f"candles-{market_id}.png")
    print(f"wrote candles-{market_id}.png")
