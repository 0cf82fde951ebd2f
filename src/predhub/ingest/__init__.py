"""Ingestion: raw responses into bronze, normalized rows into silver, and the loads."""
