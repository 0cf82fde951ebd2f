"""The API's stop: every step runs, and the whole stop ends within a bound.

A stopping API flushes key usage, stops its loops and closes its pools, and
each of those may talk to the database. When the database has gone (its
server stopped with the hub, or a host that froze), an unbounded step waits
forever: a query on a socket nobody answers, a pool's close that waits for a
connection to be released. A process that was told to stop must stop, so each
step gets what is left of one shared budget (and a short minimum once it is
spent, enough for a close that needs no answer), and a step that fails or
overruns is logged and the next one still runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

SHUTDOWN_SECONDS = 6.0  # the whole lifespan stop; with the requests' 5 s, under the hub's 15 s
MIN_STEP_SECONDS = 0.5  # what a step still gets once the budget is spent

Step = Callable[[], Awaitable[object]]


class ShutdownSteps:
    """Stop steps registered as things start, run last-registered first."""

    def __init__(self, within: float = SHUTDOWN_SECONDS) -> None:
        self.within = within
        self._steps: list[tuple[str, Step]] = []

    def push(self, name: str, step: Step) -> None:
        self._steps.append((name, step))

    async def run(self) -> None:
        """Run every step once, newest first, within the shared budget."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.within
        steps, self._steps = self._steps, []
        for name, step in reversed(steps):
            seconds = max(deadline - loop.time(), MIN_STEP_SECONDS)
            try:
                async with asyncio.timeout(seconds):
                    await step()
            except TimeoutError:
                log.warning("api.shutdown_step_timed_out", step=name, seconds=round(seconds, 1))
            except Exception as exc:  # a failed step must not keep the next from running
                log.warning("api.shutdown_step_failed", step=name, error=repr(exc))
