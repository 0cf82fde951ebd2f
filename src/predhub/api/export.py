"""Answers in CSV, NDJSON or Parquet: `format=` or the matching `Accept` header.

The list, history and trades routes keep JSON as their default; asked for an
export format they stream every matching row with a file name, so `curl -OJ`
or a browser saves it as is. On `/v1/markets` a `limit` given in the query
caps the rows (its `cursor` starts the export where a page ended); elsewhere
the page `limit` and `cursor` do not apply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from starlette.responses import StreamingResponse

from predhub.api.http import HEAD_MARK
from predhub.service.export import EXTENSIONS, MEDIA_TYPES, Format

FormatName = Literal["json", "csv", "ndjson", "parquet"]
FormatQuery = Annotated[
    FormatName | None,
    Query(
        alias="format",
        description="json (default, paged), or csv, ndjson, parquet: every matching row, "
        "streamed. The Accept header (text/csv, application/x-ndjson, "
        "application/vnd.apache.parquet) chooses too.",
    ),
]
_ACCEPT: dict[str, Format] = {
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/vnd.apache.parquet": "parquet",
    "application/parquet": "parquet",
}

# Declared on the routes so the OpenAPI document lists the export media types.
EXPORT_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or the export format asked for",
        "content": {MEDIA_TYPES[f].split(";")[0]: {} for f in ("csv", "ndjson", "parquet")},
    }
}


def export_format(request: Request, asked: FormatName | None) -> Format | None:
    """The export format of this request, or None for the route's JSON."""
    if asked is not None:
        return None if asked == "json" else asked
    accept = request.headers.get("accept", "")
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media == "application/json":
            return None
        found = _ACCEPT.get(media)
        if found is not None:
            return found
    return None


def stream(
    request: Request,
    fmt: Format,
    name: str,
    body: AsyncIterator[bytes] | Iterable[bytes],
) -> StreamingResponse:
    """`body` streamed as a download named `name`.<ext>; nothing for a HEAD."""
    if request.scope.get(HEAD_MARK):
        body = iter(())
    return StreamingResponse(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"content-disposition": f'attachment; filename="{name}.{EXTENSIONS[fmt]}"'},
    )
