"""Market id resolution: any id form a caller holds, to our market id, in one query.

Accepted forms, tried in this order (the first that matches wins, so our own
numeric id is never mistaken for a venue's):

1. our id (`123`);
2. `venue:native_id` (`<venue>:KXBTC-25DEC31-T100000`, `<venue>:0xabc...`);
3. an on-chain condition id (`0x` + 64 hex digits);
4. an outcome token id (on-chain token ids are long decimal strings);
5. a ticker;
6. a bare native id of any venue;
7. a slug.

When one form matches several markets (a slug used by two venues), the one
with the highest 24 h volume wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import asyncpg

from predhub.db.queries import load
from predhub.service.errors import MalformedId
from predhub.settings import VENUE_NAMES

_Q = load("service_reads")

MAX_ID_LENGTH = 256
MAX_ID_DIGITS = 18  # every 18-digit number fits a PostgreSQL bigint
_ASCII_DIGITS = re.compile(r"[0-9]+")
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII, no spaces or controls

RESOLVE_SQL = _Q.resolve_ids


def ascii_int(text: str | bytes, max_digits: int = MAX_ID_DIGITS) -> int | None:
    """The number `text` spells in ASCII digits (at most `max_digits`), else None.

    `str.isdigit()` also accepts superscripts, circled and Arabic-Indic digits,
    which `int()` rejects or silently reads as other numbers; every numeric id
    that arrives from outside goes through here instead.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not 0 < len(text) <= max_digits or not _ASCII_DIGITS.fullmatch(text):
        return None
    return int(text)


def validate_id(raw: str) -> str:
    """A usable id, or `MalformedId` saying what is wrong with it."""
    key = raw.strip()
    if not key:
        raise MalformedId("a market id must not be empty", id=raw)
    if len(key) > MAX_ID_LENGTH:
        raise MalformedId(f"a market id is at most {MAX_ID_LENGTH} characters", id=raw[:64])
    if not _PRINTABLE.match(key):
        raise MalformedId("a market id holds visible ASCII characters only", id=raw[:64])
    if key.startswith("-") or key == ":":
        raise MalformedId("not a market id", id=raw)
    if ":" in key:
        venue, native = key.split(":", 1)
        if venue.lower() not in VENUE_NAMES or not native:
            raise MalformedId(
                f"'venue:native_id' ids name one of {', '.join(VENUE_NAMES)} and a native id",
                id=raw,
            )
    return key


def parse_venue_ref(key: str) -> tuple[str, str] | None:
    """`("venue", "NATIVE")` for a `venue:native_id` key, else None."""
    if ":" not in key:
        return None
    venue, native = key.split(":", 1)
    return venue.lower(), native


async def resolve_ids(
    conn: asyncpg.Connection | asyncpg.Pool, keys: Sequence[str]
) -> dict[str, int]:
    """Map each validated key to our market id; keys that match nothing are left out."""
    if not keys:
        return {}
    unique = list(dict.fromkeys(keys))
    rows = await conn.fetch(RESOLVE_SQL, unique, list(VENUE_NAMES))
    return {row["k"]: int(row["id"]) for row in rows}
