"""The contract every venue adapter passes, over real HTTP against the venue simulator.

Parametrized by `venue_names()`: a new adapter module gets these tests for
free. Each test builds a fresh adapter (fresh breaker) with fast backoff and
steers the shared simulator through its fault admin endpoint, clearing the
faults afterwards.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from predhub.models import DataError, Market
from predhub.settings import Settings
from predhub.sim.config import FaultRule, SimConfig
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.base import Capability, Venue
from predhub.venues.errors import BreakerOpen, NotJsonError, RetriableError
from predhub.venues.http import VenueHttp
from predhub.venues.registry import UnknownVenue, build_venue, venue_names

VENUES = venue_names()

# A field each venue's market parser requires (removed to simulate schema drift).
DRIFT_FIELD = {
    "polymarket": "question",
    "kalshi": "status",
    "limitless": "title",
    "opinion": "marketTitle",
}


@pytest.fixture(scope="module")
def world() -> Iterator[SimHandle]:
    """A world big enough that every venue's market listing takes several pages."""
    config = SimConfig.small(polymarket_markets=1100, polymarket_events=300, kalshi_markets=1100)
    with running_simulator(config) as handle:
        yield handle


@pytest.fixture
def sim(world: SimHandle) -> Iterator[SimHandle]:
    world.clear_faults()
    world.reset_stats()
    yield world
    world.clear_faults()


def fast(sim: SimHandle, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "http_timeout_seconds": 10.0,  # generous: a loaded CI machine serves big pages slowly
        "http_max_retries": 4,
        "http_backoff_base_seconds": 0.01,
        "http_backoff_max_seconds": 2.0,
        "breaker_failure_threshold": 20,
        "breaker_reset_seconds": 0.3,
    }
    values.update(overrides)
    return sim.settings(**values)


@pytest.fixture
async def make(sim: SimHandle) -> AsyncIterator[Any]:
    built: list[Venue] = []

    def build(name: str, **overrides: Any) -> Venue:
        venue = build_venue(name, fast(sim, **overrides))
        built.append(venue)
        return venue

    yield build
    for venue in built:
        await venue.close()


def http_of(venue: Venue) -> VenueHttp:
    http = getattr(venue, "http", None)
    assert isinstance(http, VenueHttp), "an adapter exposes its VenueHttp as `.http`"
    return http


async def first_page(venue: Venue) -> tuple[list[Market], list[DataError]]:
    async for page in venue.list_markets():
        return page.items, page.errors
    return [], []


async def all_pages(venue: Venue) -> tuple[list[Market], list[DataError], int]:
    items: list[Market] = []
    errors: list[DataError] = []
    pages = 0
    async for page in venue.list_markets():
        items += page.items
        errors += page.errors
        pages += 1
        assert page.raw, "every page carries its raw responses"
        assert all(r.venue == venue.name and r.status == 200 for r in page.raw)
    return items, errors, pages


def open_ids(sim: SimHandle, name: str) -> set[str]:
    return {
        t["market"] for t in sim.truth(venue=name, trades=False)["markets"] if t["status"] == "open"
    }


def test_every_adapter_is_registered() -> None:
    assert VENUES[:4] == ["polymarket", "kalshi", "limitless", "opinion"]
    for name in VENUES:
        cls = type(build_venue(name, Settings()))
        assert cls.name == name
        assert Capability.LIST_MARKETS in cls.has
    with pytest.raises(UnknownVenue, match="dome"):
        build_venue("dome", Settings())  # shut down in April 2026: no adapter


@pytest.mark.parametrize("name", VENUES)
async def test_paginates_to_the_end(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    items, errors, pages = await all_pages(venue)
    assert errors == []
    ids = [m.native_id for m in items]
    assert len(ids) == len(set(ids)), "no market twice"
    assert set(ids) == open_ids(sim, name)
    assert pages >= 2
    assert all(m.venue == name and m.outcomes for m in items)


@pytest.mark.parametrize("name", VENUES)
async def test_429_without_retry_after_is_retried(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    sim.set_faults(FaultRule(venue=name, kind="rate_limit", count=2))
    items, errors = await first_page(venue)
    assert items and not errors
    assert sim.count(name, status=429) == 2


@pytest.mark.parametrize("name", VENUES)
async def test_429_with_retry_after_waits_as_told(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    sim.set_faults(FaultRule(venue=name, kind="rate_limit", count=1, retry_after=1))
    started = time.monotonic()
    items, _ = await first_page(venue)
    assert items
    assert time.monotonic() - started >= 1.0
    assert sim.count(name, status=429) == 1


@pytest.mark.parametrize("name", VENUES)
async def test_5xx_burst_is_ridden_out(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    sim.set_faults(FaultRule(venue=name, kind="error", status=503, count=3))
    items, errors = await first_page(venue)
    assert items and not errors
    assert sim.count(name, status=503) == 3


@pytest.mark.parametrize("name", VENUES)
async def test_timeouts_and_drops_are_retried(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name, http_timeout_seconds=2.0)
    sim.set_faults(
        FaultRule(venue=name, kind="timeout", seconds=6, count=1),
        FaultRule(venue=name, kind="drop", count=1),
    )
    started = time.monotonic()
    items, errors = await first_page(venue)
    assert items and not errors
    assert time.monotonic() - started < 6  # the client gave up on the held request
    assert sim.count(name, status=0) == 1  # the dropped connection
    assert sim.count(name, status=408) == 1  # the held request, counted when it began


@pytest.mark.parametrize("name", VENUES)
async def test_a_body_that_is_not_json(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name, http_max_retries=1)
    sim.set_faults(FaultRule(venue=name, kind="malformed", count=1))
    items, _ = await first_page(venue)  # a truncated body once: retried
    assert items
    sim.set_faults(FaultRule(venue=name, kind="malformed"))
    with pytest.raises(NotJsonError) as info:
        await first_page(venue)
    assert 0 < len(info.value.excerpt) <= 200


@pytest.mark.parametrize("name", VENUES)
async def test_breaker_opens_fails_fast_and_closes(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name, http_max_retries=0, breaker_failure_threshold=2, breaker_reset_seconds=0.3)
    sim.set_faults(FaultRule(venue=name, kind="error", status=502))
    for _ in range(2):
        with pytest.raises(RetriableError):
            await first_page(venue)
    seen = sim.count(name)
    with pytest.raises(BreakerOpen):
        await first_page(venue)
    assert sim.count(name) == seen, "an open breaker sends nothing"
    sim.clear_faults()
    await asyncio.sleep(0.35)
    items, _ = await first_page(venue)  # the half-open probe succeeds
    assert items
    assert http_of(venue).breaker.state == "closed"


@pytest.mark.parametrize("name", VENUES)
async def test_schema_drift_costs_items_not_pages(name: str, sim: SimHandle, make: Any) -> None:
    assert name in DRIFT_FIELD, f"add a required market field of {name} to DRIFT_FIELD"
    venue = make(name)
    clean, _, clean_pages = await all_pages(venue)
    sim.set_faults(FaultRule(venue=name, kind="missing_field", field=DRIFT_FIELD[name], count=1))
    items, errors, pages = await all_pages(venue)
    assert pages == clean_pages, "the drifted page did not end the run"
    assert errors, "drifted items are reported"
    for e in errors:
        assert e.venue == name and e.endpoint and e.reason and e.item_id
        assert e.raw is not None and e.item is not None
    assert items, "the pages after the drift parse"
    assert {m.native_id for m in items} < {m.native_id for m in clean}


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in its own process (it configures logging for itself)."""
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "predhub.cli", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_venues_check_prints_capabilities_and_reachability(world: SimHandle) -> None:
    result = run_cli(world.env, "venues", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in VENUES:
        assert name in result.stdout
    assert result.stdout.count("answers") == len(VENUES)
    assert "live_stream" in result.stdout
    env = {
        **world.env,
        "KALSHI_URL": "http://127.0.0.1:9/nothing",
        "HTTP_TIMEOUT_SECONDS": "2",
        "HTTP_MAX_RETRIES": "0",
    }
    result = run_cli(env, "venues", "check", "--venue", "kalshi")
    assert result.returncode == 1
    assert "no answer" in result.stdout
