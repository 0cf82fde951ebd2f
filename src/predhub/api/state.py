"""What one API process holds while it runs, built in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from predhub.api.access import AccessControl
from predhub.api.ws import FanOut
from predhub.service.notify import Listener
from predhub.service.refresh import Refresher
from predhub.service.service import MarketDataService
from predhub.settings import Settings


@dataclass
class ApiState:
    settings: Settings
    service: MarketDataService
    listener: Listener
    fanout: FanOut
    refresher: Refresher | None
    access: AccessControl | None = None
