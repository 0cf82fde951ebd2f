"""Which adapters exist: every `Venue` subclass found in the `predhub.venues` package.

Adding a venue means adding one subpackage under `predhub.venues` with a
`descriptor` module (see `predhub.venues.descriptor`) and a `Venue` subclass
whose `name` and `has` come from it; nothing here changes. Discovery imports every module of the package once (the shared
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
from predhub.settings import Settings
from predhub.venues.base import Venue
from predhub.venues.descriptor import venue_names as descriptor_names
from predhub.venues.errors import UnknownVenue as UnknownVenue

_SKIP = frozenset({"base", "cli", "registry", "descriptor"})


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
    """Venue names in the descriptors' order; each descriptor must have its adapter."""
    classes = venue_classes()
    names = list(descriptor_names())
    missing = [n for n in names if n not in classes]
    extra = sorted(set(classes) - set(names))
    if missing or extra:
        raise RuntimeError(f"adapters and descriptors differ: missing {missing}, extra {extra}")
    return names


def build_venue(name: str, settings: Settings) -> Venue:
    """A ready adapter for `name`; close it with `await venue.close()`."""
    try:
        cls = venue_classes()[name]
    except KeyError:
        raise UnknownVenue(f"unknown venue {name!r}; known: {', '.join(venue_names())}") from None
    return cls(settings)  # type: ignore[call-arg]
