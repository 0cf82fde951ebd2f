"""Opaque cursors: base64url of a small JSON array, checked on the way back in.

A cursor carries the position after the last item of a page (a keyset: the
sort value and the id, or an offset for relevance-ranked results); a cursor
that does not decode, or came from another sort, is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from predhub.api.errors import ApiError

MAX_CURSOR_LENGTH = 512


def encode_cursor(kind: str, *values: Any) -> str:
    raw = orjson.dumps([kind, *values], default=str)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, arity: int) -> list[Any]:
    """The values stored by `encode_cursor(kind, ...)`, or a 400."""
    bad = ApiError(
        400, "bad_cursor", "the cursor is not valid for this request", cursor=cursor[:64]
    )
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise bad
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise bad from exc
    if not isinstance(decoded, list) or len(decoded) != arity + 1 or decoded[0] != kind:
        raise bad
    for value in decoded[1:]:
        if value is not None and not isinstance(value, str | int | float):
            raise bad
    return decoded[1:]
