"""Kalshi: pure parsers in `parse`, the adapter in `venue`."""

from predhub.venues.kalshi.venue import KalshiVenue

__all__ = ["KalshiVenue"]
