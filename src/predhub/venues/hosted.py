"""The base of a venue served from one base URL through one `VenueHttp`.

Kalshi, Limitless and Opinion each talk to a single host named by their `url`
setting, with the rate limits their descriptor declares for it; building that
client and closing it is the same for all three, so it lives here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr

from predhub.settings import Settings
from predhub.venues.base import Venue
from predhub.venues.descriptor import VenueDescriptor
from predhub.venues.http import VenueHttp


class SingleHostVenue(Venue):
    """A venue whose every call goes to the host of its `url` setting.

    `http` may be given (tests hand in a client on a recorded transport);
    otherwise it is built from the settings and the descriptor's `url` limits.
    """

    descriptor: ClassVar[VenueDescriptor]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Name and capabilities come from the subclass's descriptor, never restated."""
        super().__init_subclass__(**kwargs)
        cls.name = cls.descriptor.name
        cls.has = cls.descriptor.has

    def __init__(self, settings: Settings, http: VenueHttp | None = None) -> None:
        self.settings = settings
        name = self.descriptor.name
        self.http = http or VenueHttp.for_venue(
            name,
            settings.venue(name).url(),
            settings,
            limits=self.descriptor.limits["url"],
            secret_headers=self.secret_headers(settings),
        )

    def secret_headers(self, settings: Settings) -> Mapping[str, SecretStr | None] | None:
        """Headers carrying a secret (an API key) on every call; none by default."""
        return None

    async def close(self) -> None:
        await self.http.close()
