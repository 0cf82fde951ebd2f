"""Errors of the cross-venue matcher, each saying what the caller should do."""

from __future__ import annotations

from predhub.errors import PredhubError, UsageError


class MatchError(PredhubError, abstract=True):
    """The matcher could not do what was asked."""


class PairsFileError(MatchError, UsageError):
    """A pairs file has a bad line; fix the line it names and load it again."""
