"""`predhub venues ...`: what each venue adapter can do, and whether its venue answers."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from predhub.errors import UsageProblem
from predhub.runtime import run_async
from predhub.settings import Settings, get_settings
from predhub.venues.base import Capability, Venue, VenueError
from predhub.venues.descriptor import descriptor
from predhub.venues.registry import build_venue, venue_classes, venue_names

console = Console()


async def _ping(venue: Venue, limit_seconds: float) -> str:
    try:
        async with asyncio.timeout(limit_seconds):
            ok = await venue.ping()
    except TimeoutError:
        return "no answer (timeout)"
    except VenueError as exc:
        return f"error: {exc}"
    finally:
        await venue.close()
    return "answers" if ok else "no answer"


async def check(settings: Settings, names: list[str]) -> dict[str, str]:
    """{venue: reachability}, all venues probed at once."""
    venues = [build_venue(n, settings) for n in names]
    limit = settings.http_timeout_seconds
    results = await asyncio.gather(*(_ping(v, limit) for v in venues))
    return dict(zip(names, results, strict=True))


async def signing_status(settings: Settings, names: list[str]) -> dict[str, str]:
    """{venue: what it signs now, or what signing would add} for venues that can sign."""
    out: dict[str, str] = {}
    for name in names:
        desc = descriptor(name)
        if Capability.SIGNED_REQUESTS not in desc.has:
            continue
        venue = build_venue(name, settings)
        signs = venue.signing()
        await venue.close()
        if signs is not None:
            out[name] = f"{name}: signing {signs}"
            continue
        spec = desc.settings
        needed = " and ".join(spec.field(k).upper() for k in spec.together) or "credentials"
        out[name] = (
            f"{name}: requests are unsigned (public endpoints, polling); set {needed}"
            f" to add {desc.signing_adds}"
        )
    return out


async def stream_status(settings: Settings, names: list[str]) -> dict[str, str]:
    """{venue: whether its live stream opens as configured} ("-" where it has none)."""
    out: dict[str, str] = {}
    for name in names:
        venue = build_venue(name, settings)
        if Capability.LIVE_STREAM not in venue.has:
            out[name] = "-"
        else:
            out[name] = "yes" if venue.can_stream() else "no (credentials unset: polled)"
        await venue.close()
    return out


def capability_table(
    names: list[str], status: dict[str, str], streams: dict[str, str] | None = None
) -> Table:
    table = Table("capability", *names, title="predhub venues")
    classes = venue_classes()
    for cap in Capability:
        table.add_row(cap.value, *("yes" if cap in classes[n].has else "-" for n in names))
    if streams is not None:
        table.add_row("streams now", *(streams.get(n, "-") for n in names))
    table.add_row("base URL", *(status.get(n, "not checked") for n in names), end_section=True)
    return table


def register(app: typer.Typer) -> None:
    venues_app = typer.Typer(help="Venue adapters: capabilities and reachability.")
    app.add_typer(venues_app, name="venues")

    @venues_app.command("list")
    def list_cmd() -> None:
        """The venues predhub has adapters for."""
        for name in venue_names():
            console.print(name)

    @venues_app.command("check")
    def check_cmd(
        venue: Annotated[
            list[str] | None, typer.Option("--venue", help="Only these venues (repeatable)")
        ] = None,
    ) -> None:
        """Print each venue's capabilities and whether its configured base URL answers."""
        names = venue or venue_names()
        unknown = [n for n in names if n not in venue_names()]
        if unknown:
            raise UsageProblem(f"unknown venue {unknown[0]!r}; known: {', '.join(venue_names())}")
        settings = get_settings()
        status = run_async(check(settings, names))
        streams = run_async(stream_status(settings, names))
        console.print(capability_table(names, status, streams))
        for line in run_async(signing_status(settings, names)).values():
            console.print(line, highlight=False, soft_wrap=True)
        if not all(s == "answers" for s in status.values()):
            raise typer.Exit(1)
