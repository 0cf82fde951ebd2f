"""The Python client of the predhub API.

    from predhub.client import Client
    with Client("http://127.0.0.1:8000") as hub:
        page = hub.markets(status="open", limit=100)
        frame = page.to_pandas()            # pip install 'predhub[pandas]'

`AsyncClient` has the same methods for asyncio, and `subscribe` for the live feed.
"""

from predhub.client.calls import Candles, Page
from predhub.client.core import AsyncClient, Client
from predhub.client.errors import (
    HubBadRequest,
    HubClientError,
    HubNotFound,
    HubServerError,
    HubTooLarge,
    HubUnauthorized,
    HubUnavailable,
    HubUnreachable,
    MissingExtra,
)

__all__ = [
    "AsyncClient",
    "Candles",
    "Client",
    "HubBadRequest",
    "HubClientError",
    "HubNotFound",
    "HubServerError",
    "HubTooLarge",
    "HubUnauthorized",
    "HubUnavailable",
    "HubUnreachable",
    "MissingExtra",
    "Page",
]
