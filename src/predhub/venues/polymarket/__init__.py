"""Polymarket: the descriptor in `descriptor`, pure parsers in `parse`, HTTP I/O in
`adapter`, the live feed in `stream`."""
