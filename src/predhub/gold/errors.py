"""Errors of the gold layer."""

from __future__ import annotations


class GoldError(Exception):
    """Base of the gold layer's errors."""


class UnknownWindow(GoldError, ValueError):
    """A movers window that is not one of the windows gold keeps."""

    def __init__(self, window: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"unknown window {window!r}; allowed: {', '.join(allowed)}")
        self.window = window
        self.allowed = allowed
