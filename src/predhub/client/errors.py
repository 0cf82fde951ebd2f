"""Errors of the Python client: one class per kind of answer, matching the API's error codes.

Every failed answer carries the API's `code`, `message`, `details` and HTTP
`status`; the class says what to do (fix the request, wait and retry, report
a bug), like every error of the project.
"""

from __future__ import annotations

from typing import Any

from predhub.errors import Fatal, PredhubError, Retriable, UsageError


class HubClientError(PredhubError, abstract=True):
    """The hub did not answer the client's request as asked."""

    status: int = 0
    code: str = "client_error"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int = 0,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        if code is not None:
            self.code = code
        self.details = details or {}


class HubBadRequest(HubClientError, UsageError):
    """The hub refused the request's parameters (400, 422): fix them."""

    code = "bad_request"


class HubNotFound(HubClientError, UsageError):
    """No such market, event or route (404)."""

    code = "not_found"


class HubUnauthorized(HubClientError, UsageError):
    """The route needs a valid API key (401, 403)."""

    code = "unauthorized"


class HubTooLarge(HubClientError, UsageError):
    """The request is too large (413, 431): send fewer ids or smaller headers."""

    code = "payload_too_large"


class HubUnavailable(HubClientError, Retriable):
    """The hub is busy or its database is away (429, 502, 503, 504); retry shortly."""

    code = "unavailable"


class HubServerError(HubClientError, Fatal):
    """The hub failed on this request (500): a bug to report, retrying will not help."""

    code = "internal_error"


class HubUnreachable(HubClientError, Retriable):
    """The hub could not be reached or did not answer in time."""

    code = "unreachable"


class MissingExtra(PredhubError, UsageError):
    """An optional library is not installed; the message names the extra to install."""


_BY_STATUS: dict[int, type[HubClientError]] = {
    400: HubBadRequest,
    422: HubBadRequest,
    404: HubNotFound,
    405: HubNotFound,
    401: HubUnauthorized,
    403: HubUnauthorized,
    413: HubTooLarge,
    431: HubTooLarge,
    429: HubUnavailable,
    502: HubUnavailable,
    503: HubUnavailable,
    504: HubUnavailable,
}
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def error_for(status: int, body: Any) -> HubClientError:
    """The exception for an error answer in the API's one shape (or any other body)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    cls = _BY_STATUS.get(status) or (HubServerError if status >= 500 else HubBadRequest)
    message = str(error.get("message") or f"HTTP {status}")
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    return cls(message, status=status, code=error.get("code"), details=details)
