"""The venue simulator: an offline world that speaks each venue's real API."""
