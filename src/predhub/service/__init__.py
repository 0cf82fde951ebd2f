"""The market data service: database-first reads with freshness tiers and single-flight refresh."""
