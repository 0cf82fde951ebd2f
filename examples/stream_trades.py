"""Stream a market's quotes and trades as they are ingested (reconnects by itself).

Usage: python examples/stream_trades.py MARKET_ID [http://127.0.0.1:8000]
"""

import asyncio
import sys

from predhub.api.asyncapi import Quote, Resync, Trades
from predhub.client import AsyncClient


async def main() -> None:
    async with AsyncClient(sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8000") as hub:
        async for update in hub.subscribe([sys.argv[1]]):
            if isinstance(update, Trades):
                for trade in update.trades:
                    print(trade.executed_at, trade.side, trade.price, trade.size)
            elif isinstance(update, Quote):
                print("quote", [o.price for o in update.data.outcomes])
            elif isinstance(update, Resync):
                print("resync:", update.reason)


asyncio.run(main())
