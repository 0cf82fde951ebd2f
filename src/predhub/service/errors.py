"""Errors of the market data service, each classified by what the caller should do.

A class's docstring is its default message; the API turns each into one HTTP
status and error code, so a caller never has to parse a message.
"""

from __future__ import annotations

from typing import Any

from predhub.errors import Fatal, PredhubError, Retriable, UsageError


class ServiceError(PredhubError, abstract=True):
    """The market data service could not answer."""

    code = "service_error"
    status = 500

    def __init__(self, message: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class BadRequest(ServiceError, UsageError):
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


class BadCandleRange(BadRequest):
    """The candle range is not valid."""


class CandleRangeTooLarge(BadRequest):
    """The range is too large for the interval."""

    code = "range_too_large"


class NotFound(ServiceError, UsageError):
    """Nothing has this id."""

    code = "not_found"
    status = 404


class Conflict(ServiceError, UsageError):
    """The request conflicts with what is stored."""

    code = "conflict"
    status = 409


class MarketNotFound(NotFound):
    """No such market."""


class RefreshUnavailable(ServiceError, Fatal):
    """No refresh path exists for this venue in this deployment."""

    code = "refresh_unavailable"
    status = 503


class RefreshTimedOut(ServiceError, Retriable):
    """The refresh took longer than allowed."""

    code = "refresh_timed_out"
    status = 504


class KeyNameTaken(Conflict):
    """An API key with this name exists already (names identify keys)."""


class UnknownWindow(BadRequest):
    """The movers window is not one gold keeps."""

    code = "unknown_window"


class MatchNotFound(NotFound):
    """No such match."""


class AccountNameTaken(Conflict):
    """An account with this name exists already."""


class AccountNotFound(NotFound):
    """No account has this name."""


class MatchAlreadyDecided(Conflict):
    """Another person has already decided this match."""

    code = "already_decided"


class BadExport(BadRequest):
    """The export cannot be made as asked (a kind, format, venue or time range)."""

    code = "bad_export"


class ApiKeyNotFound(NotFound):
    """No API key has this name or id."""


class ResearchNotFound(NotFound):
    """No research, analysis or conclusion has this id."""


class ResearchExpired(ServiceError, UsageError):
    """This research has expired and is no longer served."""

    code = "expired"
    status = 410


class ConclusionExists(Conflict):
    """This analysis has a conclusion already (one per analysis)."""

    code = "conclusion_exists"
