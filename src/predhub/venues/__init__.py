"""Venue adapters behind one interface, and the shared resilient HTTP layer."""
