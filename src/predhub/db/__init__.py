"""Connections, the embedded server, migrations and named SQL."""
