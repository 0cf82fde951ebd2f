"""The default client budgets keep a venue's own limiter from ever answering 429."""

from __future__ import annotations

import asyncio
import time

import pytest

from predhub.sim.config import SimConfig
from predhub.sim.testing import running_simulator
from predhub.venues.registry import build_venue

# (venue, an endpoint every read spends budget on, the venue's documented requests/second)
CASES = [("kalshi", "/markets", 20.0), ("opinion", "/market", 15.0)]


@pytest.mark.parametrize(("name", "endpoint", "limit"), CASES)
async def test_a_client_pushing_as_hard_as_it_may_meets_no_429(
    name: str, endpoint: str, limit: float
) -> None:
    """Forty concurrent readers for three seconds, default settings, the venue's own
    rate limiter on: every request is answered, none refused."""
    with running_simulator(SimConfig.small(rate_limits=True, seed=3)) as sim:
        venue = build_venue(name, sim.settings(http_max_retries=0))
        http = venue.http  # type: ignore[attr-defined]
        deadline = time.monotonic() + 3.0

        async def reader() -> int:
            done = 0
            while time.monotonic() < deadline:
                await http.get_json(endpoint, params={"limit": 1})
                done += 1
            return done

        try:
            answered = sum(await asyncio.gather(*(reader() for _ in range(40))))
        finally:
            await venue.close()
        assert sim.count(name, status=429) == 0
        # The budget was really spent: close to the venue's limit, not far under it.
        assert answered >= 0.7 * limit * 3.0
