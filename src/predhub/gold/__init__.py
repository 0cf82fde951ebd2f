"""Gold analytics: top markets, price history, cross-venue matches, arbitrage."""
