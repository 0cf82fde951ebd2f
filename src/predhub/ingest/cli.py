"""`predhub ingest ...`: the loads, by hand.

    predhub ingest static <venue>
    predhub ingest delta <venue> -v
    predhub ingest trades <venue> --limit 100
    predhub ingest backfill <venue>
    predhub ingest sweep <venue>
    predhub ingest history <venue> [--since 2026-01-01]

Each command resolves the database (embedded unless DATABASE_URL is set),
brings the schema up to date, runs one load and prints its summary table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from predhub.db.connect import DatabaseUnavailable, create_pool, resolve_database
from predhub.db.queries import load as load_queries
from predhub.errors import UsageProblem
from predhub.ingest.summary import COUNTERS, LoadSummary
from predhub.runtime import load_settings, run_async, upgrade_schema
from predhub.settings import get_settings
from predhub.venues.base import VenueError
from predhub.venues.descriptor import venue_names
from predhub.venues.registry import UnknownVenue, build_venue

if TYPE_CHECKING:
    from predhub.ingest.pipeline import Ingestor

console = Console()
ingest_app = typer.Typer(help="Load venue data into bronze and silver.", no_args_is_help=True)

Verbose = Annotated[bool, typer.Option("-v", "--verbose", help="Debug logging")]
VenueName = Annotated[
    str, typer.Argument(help=", ".join(venue_names()[:-1]) + " or " + venue_names()[-1])
]

# One load, given the ingestor (the pipeline is imported lazily to keep the CLI fast).
Load = Callable[["Ingestor"], Awaitable[LoadSummary]]
_Q = load_queries("ingest")


def summary_table(title: str, summary: LoadSummary) -> Table:
    table = Table(title=title)
    for name in (*COUNTERS, "seconds"):
        table.add_column(name, justify="right")
    figures = summary.as_dict()
    table.add_row(
        *(
            f"{figures[name]:.2f}" if name == "seconds" else str(figures[name])
            for name in (*COUNTERS, "seconds")
        )
    )
    return table


async def _run(venue_name: str, kind: str, load: Load) -> LoadSummary:
    from predhub.ingest.pipeline import Ingestor  # the pipeline's imports are slow; load on use

    settings = get_settings()
    try:
        venue = build_venue(venue_name, settings)
    except UnknownVenue as exc:
        raise UsageProblem(str(exc.args[0])) from None
    db = resolve_database(settings)
    await upgrade_schema(db.session_url)
    pool = await create_pool(db.url, min_size=1, max_size=settings.db_pool_max)
    try:
        return await load(Ingestor(pool, venue, settings))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailable(f"database error during the {kind} load: {exc}") from exc
    except VenueError as exc:
        raise UsageProblem(f"{venue_name}: {exc}") from exc
    finally:
        await venue.close()
        await pool.close()


def _command(venue: str, kind: str, verbose: bool, load: Load) -> None:
    if verbose:
        load_settings(verbose=True)
    summary = run_async(_run(venue, kind, load))
    console.print(summary_table(f"{kind} load of {venue}", summary))
    summary.raise_failures()  # one line saying which calls failed, exit 1


@ingest_app.command("static")
def static_cmd(venue: VenueName, verbose: Verbose = False) -> None:
    """The whole active catalogue, then quotes for every active outcome."""
    _command(venue, "static", verbose, lambda ing: ing.static_load(progress=True))


@ingest_app.command("delta")
def delta_cmd(venue: VenueName, verbose: Verbose = False) -> None:
    """Markets changed since the last run's watermark, plus quotes for the active ones."""
    _command(venue, "delta", verbose, lambda ing: ing.delta_load(progress=True))


@ingest_app.command("trades")
def trades_cmd(
    venue: VenueName,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Only the N busiest open markets")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """New trades of open markets, from each market's watermark."""

    async def load(ing: Ingestor) -> LoadSummary:
        rows = await ing.pool.fetch(_Q.busiest_open_markets, ing.name, limit)
        return await ing.sync_trades([r["id"] for r in rows])

    _command(venue, "trades", verbose, load)


@ingest_app.command("backfill")
def backfill_cmd(venue: VenueName, verbose: Verbose = False) -> None:
    """Price history of markets never synced (resumable)."""
    _command(venue, "backfill", verbose, lambda ing: ing.backfill_history())


@ingest_app.command("sweep")
def sweep_cmd(venue: VenueName, verbose: Verbose = False) -> None:
    """Re-read recently closed markets until their resolution is final."""
    _command(venue, "sweep", verbose, lambda ing: ing.resolution_sweep())


@ingest_app.command("history")
def history_cmd(
    venue: VenueName,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only markets that closed on or after this date (YYYY-MM-DD or ISO time)",
        ),
    ] = None,
    rps: Annotated[
        float | None,
        typer.Option(
            "--rps",
            help=(
                "Requests per second this run may send, on top of the workers' share "
                "(default HISTORY_LOAD_RPS; 0: the venue's published limits)"
            ),
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Every closed and resolved market the venue still lists, with trades and price history.

    Resumable: the walk's cursor is checkpointed after each page, so a run
    stopped at any point continues where it stopped. The run is the
    operator's: it is paced by the venue's published per-endpoint limits (and
    Retry-After), or by `--rps`, not by the workers' share of the budget; its
    requests count in the venue's shared minute budget, so workers running
    against the same database give way while it runs.
    """
    bound = _since(since)
    if rps is not None and not rps >= 0:
        raise UsageProblem(f"--rps {rps}: want requests per second, 0 or more (HISTORY_LOAD_RPS)")
    lines: list[str] = []

    async def load(ing: Ingestor) -> LoadSummary:
        from predhub.ingest.catalogue import summary_line
        from predhub.venues.budget import VenueBudget, drawing

        budget = VenueBudget.for_history(ing.pool, ing.name, ing.settings, rps)
        # reserve about a second's worth at a time: one row update, not one a request
        allowance = budget.allowance(block=max(5, budget.cap // 60))
        try:
            with drawing(allowance):
                summary, report = await ing.history_load(since=bound, progress=True)
        finally:
            await allowance.release()
        lines.append(summary_line(report, summary))
        return summary

    if verbose:
        load_settings(verbose=True)
    summary = run_async(_run(venue, "history", load))
    console.print(summary_table(f"history load of {venue}", summary))
    for line in lines:
        console.print(line)
    summary.raise_failures()


def _since(text: str | None) -> datetime | None:
    """`--since` as an aware time (a bare date is midnight UTC); a bad value is a usage error."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageProblem(f"--since {text!r}: want a date (YYYY-MM-DD) or an ISO time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
