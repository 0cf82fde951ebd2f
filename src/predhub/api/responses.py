"""Responses from bytes: the service renders JSON once, the API sends it as is."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, Response

from predhub.api.http import price_headers

JSON = "application/json"


class ORJSONResponse(JSONResponse):
    media_type = JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str)


def raw_json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def price_response(body: bytes) -> Response:
    """A rendered price answer with its `ETag` and tier-derived `Cache-Control`."""
    etag, cache_control = price_headers(body)
    return raw_json(body, headers={"etag": etag.decode(), "cache-control": cache_control.decode()})


def json_response(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content, default=str), status_code=status, media_type=JSON)
