"""Stopping the service's background loops.

The interest flusher and the change listener each run one task for the
process; stopping one cancels it and waits until it has unwound, so nothing
it holds (a connection, a pending flush) outlives `stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel `task` (if any) and wait for it to finish unwinding."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
