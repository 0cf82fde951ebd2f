"""The base of a venue served from one base URL through one `VenueHttp`.

Most adapters talk to a single host named by their `url` setting, with the
rate limits their descriptor declares for it; building that client, closing
it and reading one market (a 404 being no market, not a failure) is the same
for them, so it lives here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import structlog
from pydantic import SecretStr

from predhub.models import DataError, RawResponse
from predhub.settings import Settings
from predhub.venues.base import Fetched, Venue
from predhub.venues.descriptor import VenueDescriptor
from predhub.venues.errors import VenueNotFound
from predhub.venues.http import RequestSigner, VenueHttp
from predhub.venues.normalize import fetched_from

log = structlog.get_logger(__name__)

T = TypeVar("T")


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
            signer=self.request_signer(settings),
        )

    def secret_headers(self, settings: Settings) -> Mapping[str, SecretStr | None] | None:
        """Headers carrying a secret (an API key) on every call; none by default."""
        return None

    def request_signer(self, settings: Settings) -> RequestSigner | None:
        """What signs this venue's requests (see `VenueHttp`); none by default."""
        return None

    async def close(self) -> None:
        await self.http.close()

    async def _one_market(
        self,
        endpoint: str,
        path: str,
        parse: Callable[[Any, RawResponse], tuple[list[T], list[DataError]]],
        **market: str,
    ) -> Fetched[T]:
        """One market's resource at `path`; a market the venue does not know is nothing.

        The venue answers 404 for a market it dropped (or never had): that is
        not a failure of the call, so it is logged with the market's id and
        the result is empty.
        """
        try:
            body, raw = await self.http.get_json(endpoint, path)
        except VenueNotFound:
            log.info("market_not_found", venue=self.name, **market)
            return Fetched()
        return fetched_from(self.name, endpoint, body, raw, lambda: parse(body, raw))
