"""The API's stop runs every step, newest first, whatever one of them does."""

from __future__ import annotations

import asyncio

from predhub.api.shutdown import ShutdownSteps


async def test_every_step_runs_though_one_fails_and_one_never_ends() -> None:
    ran: list[str] = []

    async def step(name: str) -> None:
        ran.append(name)

    async def fails() -> None:
        ran.append("fails")
        raise ConnectionRefusedError("the database has gone")

    async def never_ends() -> None:
        ran.append("never_ends")
        await asyncio.Event().wait()  # a query on a socket nobody answers

    stops = ShutdownSteps(within=0.2)
    stops.push("pool", lambda: step("pool"))
    stops.push("never_ends", never_ends)
    stops.push("fails", fails)
    stops.push("access", lambda: step("access"))
    await stops.run()
    assert ran == ["access", "fails", "never_ends", "pool"]

    await stops.run()  # each step runs once
    assert ran == ["access", "fails", "never_ends", "pool"]
