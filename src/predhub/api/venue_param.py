"""The API's venue parameter: an Enum built from the venue registry.

An Enum (rather than `str`) makes FastAPI reject an unknown venue with a 422
that lists the allowed names, and makes OpenAPI list them; building it from
the registry means a new venue appears here without an edit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from predhub.venues.descriptor import venue_names

if TYPE_CHECKING:  # for the type checker a venue is its name
    VenueName = str
else:
    VenueName = StrEnum("VenueName", {name: name for name in venue_names()})


def venue_value(venue: VenueName | None) -> str | None:
    """The plain name of a venue parameter (JSON encoders and SQL want a `str`)."""
    return None if venue is None else str(venue)
