"""Which venues exist: every `Venue` subclass found in the `predhub.venues` package.

Adding a venue means adding one module (or subpackage) under
`predhub.venues` whose `Venue` subclass sets `name` and `has`; nothing here
changes. Discovery imports every module of the package once (the shared
infrastructure modules are cheap to import), then collects the concrete
subclasses. Each adapter is built from settings alone: its constructor takes
`(settings: Settings)`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

import predhub.venues as venues_pkg
from predhub.settings import VENUE_NAMES, Settings
from predhub.venues.base import Venue

_SKIP = frozenset({"base", "cli", "registry"})


class UnknownVenue(KeyError):
    """No adapter has this venue name."""


def _subclasses(cls: type[Venue]) -> list[type[Venue]]:
    found: list[type[Venue]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


@cache
def venue_classes() -> dict[str, type[Venue]]:
    """{name: adapter class}, importing the package's modules on first use."""
    prefix = venues_pkg.__name__ + "."
    for info in pkgutil.walk_packages(venues_pkg.__path__, prefix):
        if info.name.rsplit(".", 1)[-1] in _SKIP or info.name.startswith(prefix + "_"):
            continue
        importlib.import_module(info.name)
    classes: dict[str, type[Venue]] = {}
    for cls in _subclasses(Venue):
        name = getattr(cls, "name", None)
        if inspect.isabstract(cls) or not isinstance(name, str):
            continue
        if not cls.__module__.startswith(prefix):
            continue  # test doubles and third-party subclasses are not registered
        if name in classes and classes[name] is not cls:
            raise RuntimeError(f"two adapters named {name!r}: {classes[name]} and {cls}")
        classes[name] = cls
    return classes


def venue_names() -> list[str]:
    """Registered venue names, the well-known ones first in their usual order."""
    names = venue_classes()
    known = [n for n in VENUE_NAMES if n in names]
    return known + sorted(n for n in names if n not in known)


def build_venue(name: str, settings: Settings) -> Venue:
    """A ready adapter for `name`; close it with `await venue.close()`."""
    try:
        cls = venue_classes()[name]
    except KeyError:
        raise UnknownVenue(f"unknown venue {name!r}; known: {', '.join(venue_names())}") from None
    return cls(settings)  # type: ignore[call-arg]
