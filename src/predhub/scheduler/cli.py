"""`predhub worker` and `predhub status`."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from predhub.db.connect import close_pool, connect, create_pool, resolve_database
from predhub.errors import UsageProblem
from predhub.runtime import run_async, upgrade_schema
from predhub.settings import Settings, get_settings
from predhub.venues.descriptor import venue_names

console = Console()


def _venues(settings: Settings, chosen: list[str] | None) -> list[str]:
    if not chosen:
        return settings.venues
    names = [v.strip().lower() for item in chosen for v in item.split(",") if v.strip()]
    unknown = [n for n in names if n not in settings.venues]
    if unknown:
        raise UsageProblem(
            f"venue {', '.join(unknown)} is not enabled (ENABLED_VENUES={','.join(settings.venues)})"
        )
    return names


async def _worker(settings: Settings, venues: list[str], once: bool) -> None:
    from predhub.scheduler.process import run_worker

    db = resolve_database(settings)
    await upgrade_schema(db.session_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    pool = await create_pool(db.url, min_size=1, max_size=settings.db_pool_max)
    try:
        reports = await run_worker(
            pool, settings, venues=venues, once=once, stop=stop, database_url=db.url
        )
        for r in reports:
            console.print(
                f"{r.venue}: {r.jobs_done} jobs done, {r.jobs_failed} failed, "
                f"{r.requests} requests" + (" (breaker open)" if r.breaker_open else ""),
                highlight=False,
            )
    finally:
        await close_pool(pool)  # bounded: a stop must not wait on a database that froze


async def _status(settings: Settings) -> None:
    from predhub.scheduler.status import collect_status, render

    db = resolve_database(settings)
    conn = await connect(db.url)
    try:
        report = await collect_status(conn, settings, datetime.now(UTC))
    finally:
        await conn.close()
    render(report, console)


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker(
        once: Annotated[bool, typer.Option(help="Run one cycle, finish its jobs, exit")] = False,
        venue: Annotated[
            list[str] | None,
            typer.Option(
                help="Only this venue (repeatable or comma-separated): " + ", ".join(venue_names())
            ),
        ] = None,
    ) -> None:
        """Keep the database fresh: priorities, budgets, jobs and live streams (until Ctrl-C)."""
        settings = get_settings()
        run_async(_worker(settings, _venues(settings, venue), once))

    @app.command("status")
    def status() -> None:
        """Freshness per venue and priority, requests against budgets, errors, quarantine."""
        run_async(_status(get_settings()))
