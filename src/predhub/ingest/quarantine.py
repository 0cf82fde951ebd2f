"""ops.quarantine: items that failed validation, kept with their bronze response.

Nothing is dropped silently: an adapter's `DataError`, an item silver cannot
take, or an item naming a market we do not hold lands here with the reason,
and the rest of its page is ingested.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from predhub.db.queries import load
from predhub.ingest.silver.common import dumps
from predhub.models import DataError

_Q = load("ingest")


def _item_json(error: DataError) -> str | None:
    if error.item is None:
        return None
    return dumps(error.item).replace("\\u0000", "")


async def quarantine(conn: asyncpg.Connection, errors: Sequence[DataError]) -> int:
    """Record `errors` (their raw responses must already be in bronze)."""
    if not errors:
        return 0
    await conn.execute(
        _Q.insert_quarantine,
        [e.raw.bronze_id if e.raw else None for e in errors],
        [e.venue for e in errors],
        [e.endpoint for e in errors],
        [e.item_id for e in errors],
        [e.reason.replace("\x00", "") for e in errors],
        [_item_json(e) for e in errors],
    )
    return len(errors)
