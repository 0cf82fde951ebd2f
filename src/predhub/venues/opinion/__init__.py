"""Opinion: pure parsers in `parse`, the adapter in `venue`."""

from predhub.venues.opinion.venue import OpinionVenue

__all__ = ["OpinionVenue"]
