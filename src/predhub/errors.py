"""Errors shared by every stage's command line."""

from __future__ import annotations


class UsageProblem(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""
