"""The HTTP and WebSocket API over the market data service."""
