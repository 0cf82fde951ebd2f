"""Errors of a venue call, classified by what the caller should do.

- `RetriableError`: try again later (429, 5xx, timeouts, dropped connections,
  a body that was not JSON). The HTTP layer has already retried it with
  backoff before raising, so the caller should reschedule, not loop.
- `FatalError`: retrying will not help (4xx other than 429, a cursor loop);
  fix the request or the adapter.
- `BreakerOpen`: the venue failed repeatedly and calls fail fast until the
  breaker half-opens; skip this venue for now.
- `NotSupported`: the adapter does not offer this capability; skip it.
- A single bad item in a page raises `ItemInvalid` inside the parser, which
  turns it into a `predhub.models.DataError` in `Fetched.errors`
  (skippable, quarantined); it never leaves the adapter.

All derive from `VenueError` and so from `predhub.errors.PredhubError`, with
the mix-in that says what to do. Each class's docstring is its default message.
"""

from __future__ import annotations

from predhub.errors import (
    Fatal,
    PredhubError,
    Retriable,
    SkippableData,
    UsageError,
    default_message,
)


class VenueError(PredhubError, abstract=True):
    """A venue call failed."""


class NotSupported(VenueError, Fatal):
    """The venue does not offer this capability."""


class UnknownVenue(PredhubError, UsageError):
    """No venue adapter has this name."""


class VenuePackageInvalid(PredhubError, Fatal):
    """A venue package does not declare a valid descriptor: a bug in the package."""


class ItemInvalid(VenueError, SkippableData):
    """An item of a venue response failed validation."""

    def __init__(self, reason: str, item_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.item_id = item_id


class EnvelopeError(VenueError, Fatal):
    """The venue answered with a non-zero code in its envelope: the request was refused."""

    def __init__(self, code: object, msg: str) -> None:
        super().__init__(f"code {code}: {msg}")
        self.code = code
        self.msg = msg


class VenueCallError(VenueError, abstract=True):
    """A venue call failed."""

    def __init__(
        self,
        message: str | None = None,
        *,
        venue: str = "",
        endpoint: str = "",
        status: int | None = None,
    ) -> None:
        self.venue = venue
        self.endpoint = endpoint
        self.status = status
        text = message or default_message(type(self))
        where = " ".join(p for p in (venue, endpoint) if p)
        if status is not None:
            where = f"{where} [{status}]" if where else f"[{status}]"
        super().__init__(f"{where}: {text}" if where else text)


class RetriableError(VenueCallError, Retriable):
    """The venue failed transiently; try again later."""

    def __init__(
        self,
        message: str | None = None,
        *,
        venue: str = "",
        endpoint: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, venue=venue, endpoint=endpoint, status=status)
        self.retry_after = retry_after


class RateLimited(RetriableError):
    """The venue answered 429 Too Many Requests."""


class BudgetSpent(RetriableError):
    """The hub's own request budget for this venue is spent for this minute."""


class NotJsonError(RetriableError):
    """The venue answered with a body that is not JSON."""

    def __init__(
        self,
        excerpt: str,
        *,
        venue: str = "",
        endpoint: str = "",
        status: int | None = None,
    ) -> None:
        self.excerpt = excerpt
        super().__init__(
            f"body is not JSON: {excerpt!r}", venue=venue, endpoint=endpoint, status=status
        )


class FatalError(VenueCallError, Fatal):
    """The venue rejected the request; retrying will not help."""


class VenueNotFound(FatalError):
    """The venue has no such resource (404)."""


class CursorLoop(FatalError):
    """The venue returned a pagination cursor it had already returned."""


class BreakerOpen(VenueError, Retriable):
    """The venue's circuit breaker is open: failing fast until it half-opens."""

    def __init__(self, venue: str, retry_in: float) -> None:
        self.venue = venue
        self.retry_in = retry_in
        super().__init__(f"{venue}: circuit breaker open, next probe in {retry_in:.1f}s")
