"""Stopping a process's background loops.

The API's interest flusher and change listener, and the worker's venue loops,
each run tasks for the process; stopping one cancels it and waits until it
has unwound, so nothing it holds (a connection, a pending flush) outlives the
stop.

The wait is bounded and the cancellation repeated while it lasts: a task can
miss a cancellation (on Python 3.11, `asyncio.wait_for` returns the awaited
result when that result and the cancel arrive in the same step of the loop),
and a task that missed it runs on, often in a loop that retries a database
that has gone. A task cancelled in the middle of a query also waits, shielded,
in asyncpg's release of the connection until the server confirms the cancel,
which a frozen database never does; a second cancel ends that wait. A single
cancel followed by an unbounded wait kept a stopping process alive forever.
"""

from __future__ import annotations

import asyncio

import structlog

log = structlog.get_logger(__name__)

STOP_SECONDS = 5.0  # how long a stop waits for a task to unwind before leaving it
RECANCEL_SECONDS = 0.5  # a task still running this long after a cancel is cancelled again


async def cancel_and_wait(task: asyncio.Task[None] | None, *, within: float = STOP_SECONDS) -> None:
    """Cancel `task` (if any) and wait, at most `within` seconds, for it to finish unwinding.

    A task that failed is logged rather than raised: a stop goes on to release
    the rest. The caller's own cancellation is never swallowed.
    """
    if task is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not task.done():
        left = deadline - loop.time()
        if left <= 0:
            log.warning("task.stop_timed_out", task=task.get_name(), seconds=within)
            return
        task.cancel()
        await asyncio.wait({task}, timeout=min(RECANCEL_SECONDS, left))
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("task.failed", task=task.get_name(), error=repr(exc))
