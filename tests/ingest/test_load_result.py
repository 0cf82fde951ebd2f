"""A load's result says which venue calls failed and why, with the errors themselves.

Real ingestion against the simulator over HTTP: a venue call that fails does
not stop the load, and the summary carries the classified error, not a count
to be matched against global metrics.
"""

from __future__ import annotations

import asyncpg
import pytest

from predhub.errors import Fatal, Retriable
from predhub.ingest.errors import LoadFailed, LoadFailedFatal, LoadFailedRetriable
from predhub.ingest.pipeline import Ingestor
from predhub.sim.config import FaultRule
from predhub.sim.testing import SimHandle
from predhub.venues.errors import FatalError, RetriableError
from predhub.venues.registry import build_venue


@pytest.mark.parametrize(
    ("status", "kind", "mixin", "failure"),
    [
        (503, RetriableError, Retriable, LoadFailedRetriable),
        (400, FatalError, Fatal, LoadFailedFatal),
    ],
)
async def test_a_failed_call_is_in_the_load_result_classified(
    sim: SimHandle,
    pool: asyncpg.Pool,
    status: int,
    kind: type[Exception],
    mixin: type,
    failure: type[LoadFailed],
) -> None:
    settings = sim.settings(enabled_venues="kalshi", http_max_retries=0)
    venue = build_venue("kalshi", settings)
    try:
        ingestor = Ingestor(pool, venue, settings)
        loaded = await ingestor.static_load()
        assert loaded.errors == [] and loaded.failure() is None
        ids = [int(r["id"]) for r in await pool.fetch("SELECT id FROM silver.markets LIMIT 5")]

        sim.reset_stats()
        sim.set_faults(FaultRule(venue="kalshi", status=status))
        summary = await ingestor.refresh_quotes(ids)
    finally:
        await venue.close()
        sim.clear_faults()

    assert summary.failures == len(summary.errors) > 0
    assert all(isinstance(e, kind) and isinstance(e, mixin) for e in summary.errors)
    assert all(
        e.status == status for e in summary.errors if isinstance(e, RetriableError | FatalError)
    )
    # The load's own traffic, counted at the request gate: what the venue saw.
    assert summary.requests == sim.count("kalshi")
    with pytest.raises(failure) as raised:
        summary.raise_failures()
    assert raised.value.errors == summary.errors
    assert str(raised.value).startswith("kalshi did not answer")
    assert summary.as_dict()["failures"] == summary.failures
