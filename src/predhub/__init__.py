"""predhub: a self-hosted, database-first data hub for prediction markets."""

__version__ = "0.1.0"
