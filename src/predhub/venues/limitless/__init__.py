"""Limitless: pure parsers in `parse`, the adapter in `venue`."""

from predhub.venues.limitless.venue import LimitlessVenue

__all__ = ["LimitlessVenue"]
