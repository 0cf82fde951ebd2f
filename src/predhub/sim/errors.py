"""Errors of the venue simulator."""

from __future__ import annotations

from typing import Any

from predhub.errors import PredhubError, UsageError


class Reply(PredhubError, UsageError):
    """A non-200 answer in the venue's own error shape; raise it from a handler.

    The simulated client asked for something the venue refuses: the handler
    raises this and the app answers `status` with `body`.
    """

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"status {status}")
        self.status = status
        self.body = body
