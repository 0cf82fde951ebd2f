"""Stopping the service's loops ends them, even when a cancellation goes missing.

On Python 3.11, `asyncio.wait_for` returns the awaited result instead of
raising when that result and a cancel arrive in the same step of the loop. The
LISTEN watcher waited that way, and a stopping API whose database was stopping
too (the server ends the LISTEN session at the moment the process stops) lost
its stop's cancel: the watcher went on reconnecting to a database that was
gone and `stop()` never returned. The bounds below only say "it returned".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable

from predhub.service.notify import Listener
from predhub.tasks import cancel_and_wait

RETURN_BOUND_SECONDS = 30.0  # liveness only


async def returned(step: Awaitable[object]) -> bool:
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=RETURN_BOUND_SECONDS)
    if task not in done:
        task.cancel()
        return False
    return True


async def test_a_task_that_misses_a_cancellation_is_still_stopped() -> None:
    async def misses_one() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # as 3.11's wait_for can
            await asyncio.sleep(3600)
        await asyncio.sleep(3600)

    task = asyncio.create_task(misses_one())
    await asyncio.sleep(0)
    try:
        assert await returned(cancel_and_wait(task))
        assert task.cancelled()
    finally:
        task.cancel()


async def test_a_failed_task_does_not_fail_the_stop() -> None:
    async def fails() -> None:
        raise ConnectionResetError("the database went away")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await cancel_and_wait(task)  # logged, not raised: the rest of the stop still runs
    assert isinstance(task.exception(), ConnectionResetError)


async def test_the_callers_own_cancellation_goes_through() -> None:
    released = asyncio.Event()

    async def stubborn() -> None:
        while not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await released.wait()

    inner = asyncio.create_task(stubborn())
    outer = asyncio.create_task(cancel_and_wait(inner, within=3600))
    await asyncio.sleep(0.1)
    outer.cancel()
    try:
        assert await returned(asyncio.wait({outer}))
        assert outer.cancelled()
    finally:
        outer.cancel()
        released.set()
        await asyncio.wait({inner}, timeout=RETURN_BOUND_SECONDS)


async def test_listener_stop_returns_when_its_connection_is_lost_as_it_stops(db_url: str) -> None:
    # The loss is reported at different points of the stop's first steps.
    for steps in range(4):
        listener = Listener(db_url)
        await listener.start()
        listener._terminated(None)  # what asyncpg calls when the server ends the session
        for _ in range(steps):
            await asyncio.sleep(0)
        assert await returned(listener.stop()), f"stop() hung ({steps} steps after the loss)"
