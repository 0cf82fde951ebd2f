"""Kalshi: the descriptor in `descriptor`, pure parsers in `parse`, the adapter in `venue`."""
