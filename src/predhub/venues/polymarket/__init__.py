"""Polymarket: pure parsers in `parse`, HTTP I/O in `adapter`, the live feed in `stream`."""

from predhub.venues.polymarket.adapter import PolymarketVenue

__all__ = ["PolymarketVenue"]
