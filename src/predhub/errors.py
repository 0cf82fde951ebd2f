"""The root of every error predhub raises, and what the caller should do about it.

Every exception class under `predhub` derives from `PredhubError` and from
exactly one of the mix-ins below, which say how to react without parsing a
message or knowing the stage that raised it:

- `Retriable`: a transient failure; try again later (reschedule, serve stale).
- `Fatal`: retrying will not help; fix the request, the adapter or the code.
- `SkippableData`: one item of venue data is bad; quarantine it and go on.
- `UsageError`: the user can fix it (a setting, an argument, a request);
  the CLI prints it as one line and exits 2, the API answers 4xx.

Each stage keeps its own errors in its own `errors.py`. A stage's base class
(`VenueError`, `ServiceError`, ...) is declared `abstract=True`: it groups the
stage's errors for `except`, carries no mix-in and is never raised itself.
A class's docstring is its default message.

Anything that is not a `PredhubError` is a bug: callers that must survive
one (the CLI, a refresh) log it with its traceback instead of turning it into
an ordinary failure.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Retriable:
    """Mix-in: a transient failure; try again later."""


class Fatal:
    """Mix-in: retrying will not help; fix the request, the adapter or the code."""


class SkippableData:
    """Mix-in: one item of venue data is bad; quarantine it and go on."""


class UsageError:
    """Mix-in: the user can fix it; one line, exit code 2 (or a 4xx)."""


MIXINS: tuple[type, ...] = (Retriable, Fatal, SkippableData, UsageError)


class PredhubError(Exception):
    """Something went wrong in predhub."""

    abstract: ClassVar[bool] = True

    def __init_subclass__(cls, *, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.abstract = abstract

    def __init__(self, message: str | None = None) -> None:
        if type(self).abstract:
            raise TypeError(f"{type(self).__name__} groups errors; raise one of its subclasses")
        self.message = message or default_message(type(self))
        super().__init__(self.message)


def default_message(cls: type[BaseException]) -> str:
    """The first paragraph of the class's docstring, on one line."""
    doc = (cls.__doc__ or cls.__name__).strip().split("\n\n", 1)[0]
    return " ".join(doc.split())


def mixins_of(cls: type[BaseException]) -> list[type]:
    """The what-to-do mix-ins a class derives from (exactly one unless abstract)."""
    return [m for m in MIXINS if issubclass(cls, m)]


class UsageProblem(PredhubError, UsageError):
    """A problem the user can fix."""
