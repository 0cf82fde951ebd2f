"""Errors of the market data service, each classified by what the caller should do.

A class's docstring is its default message; the API turns each into one HTTP
status and error code, so a caller never has to parse a message.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """The market data service could not answer."""

    code = "service_error"
    status = 500

    def __init__(self, message: str | None = None, **details: Any) -> None:
        super().__init__(message or (self.__doc__ or self.code).strip())
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = details


class BadRequest(ServiceError):
    """The request is malformed."""

    code = "bad_request"
    status = 400


class MalformedId(BadRequest):
    """The market id is malformed."""

    code = "malformed_id"


class UnknownTier(BadRequest):
    """The freshness tier is unknown."""

    code = "unknown_tier"


class TooManyIds(BadRequest):
    """Too many ids in one request."""

    code = "too_many_ids"


class NotFound(ServiceError):
    """No such market."""

    code = "not_found"
    status = 404
