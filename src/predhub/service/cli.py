"""`predhub export trades|markets|history`: a venue's data as Parquet, CSV or NDJSON files.

Trades and history are cut into time slices (a day by default), one file per
slice in the output folder, so a long export can stop anywhere and resume:
a slice is written to a `.part` file and renamed when complete, and a run
skips the slices whose file is already there. The folder reads as one table
in DuckDB (`read_parquet('OUT/*.parquet')`), pandas (`read_parquet('OUT')`)
and polars (`scan_parquet('OUT/*.parquet')`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from predhub.db.connect import create_pool, resolve_database
from predhub.runtime import run_async
from predhub.service import export
from predhub.service.errors import BadExport
from predhub.service.when import parse_when
from predhub.settings import get_settings
from predhub.venues.descriptor import venue_names

console = Console(stderr=True)
KINDS = ("trades", "markets", "history")
SLICES_AT_ONCE = 2
_SLICE = re.compile(r"(\d{1,4})([hd])")


def slices(
    since: datetime, until: datetime, width: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """[since, until) cut into consecutive slices of `width` (the last may be shorter)."""
    start = since
    while start < until:
        end = min(start + width, until)
        yield start, end
        start = end


def slice_width(text: str) -> timedelta:
    found = _SLICE.fullmatch(text.strip().lower())
    if not found or int(found.group(1)) == 0:
        raise BadExport(f"--slice {text!r}: expected hours or days, e.g. 6h, 1d, 7d")
    n = int(found.group(1))
    return timedelta(hours=n) if found.group(2) == "h" else timedelta(days=n)


def slice_name(kind: str, venue: str, start: datetime, end: datetime, fmt: str) -> str:
    def stamp(t: datetime) -> str:
        return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    return f"{kind}-{venue}-{stamp(start)}-{stamp(end)}.{export.EXTENSIONS[fmt]}"  # type: ignore[index]


def _check(kind: str, venue: str, fmt: str) -> None:
    if kind not in KINDS:
        raise BadExport(f"unknown export {kind!r}: one of {', '.join(KINDS)}")
    if venue not in venue_names():
        raise BadExport(f"unknown venue {venue!r}: one of {', '.join(venue_names())}")
    if fmt not in export.FORMATS:
        raise BadExport(f"unknown format {fmt!r}: one of {', '.join(export.FORMATS)}")


def _time(text: str | None, flag: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_when(text)
    except ValueError as exc:
        raise BadExport(f"{flag}: {exc}") from None


async def _write(pool: object, query: export.BulkQuery, fmt: export.Format, target: Path) -> int:
    """One file, through a `.part` file renamed when complete; the rows written."""
    part = target.with_name(target.name + ".part")
    counter = [0]
    # Writes are local and a batch at a time: the file is written from the event loop.
    with open(part, "wb") as out:  # noqa: ASYNC230
        async for data in export.encode_copy(pool, query, fmt, counter=counter):  # type: ignore[arg-type]
            out.write(data)
    part.replace(target)
    return counter[0]


async def run_export(
    kind: str,
    venue: str,
    out: Path,
    *,
    fmt: export.Format,
    since: datetime | None,
    until: datetime | None,
    width: timedelta,
    url: str,
    progress: Progress | None = None,
) -> tuple[int, int, int]:
    """Write the export; returns (files written, files already there, rows written).

    `SLICES_AT_ONCE` slices are exported side by side, in order, each on its own
    connection: while one slice's rows stream and are encoded, the next one's
    query is already running (a slice's sort answers nothing until it is done).
    """
    pool = await create_pool(url, min_size=1, max_size=SLICES_AT_ONCE)
    written = skipped = rows = 0
    try:
        if kind == "markets":
            target = out / f"markets-{venue}.{export.EXTENSIONS[fmt]}"
            rows += await _write(pool, export.venue_markets(venue), fmt, target)
            return 1, 0, rows
        assert since is not None and until is not None
        parts = list(slices(since, until, width))
        task = progress.add_task(f"{kind} {venue}", total=len(parts)) if progress else None
        make = export.venue_trades if kind == "trades" else export.venue_history
        todo: list[tuple[datetime, datetime, Path]] = []
        for start, end in parts:
            target = out / slice_name(kind, venue, start, end, fmt)
            if target.exists():
                skipped += 1
            else:
                todo.append((start, end, target))
        if progress is not None and task is not None:
            progress.update(task, advance=skipped)
        queue = iter(todo)

        async def worker() -> None:
            nonlocal rows, written
            for start, end, target in queue:  # shared: each slice is taken once, in order
                # Await first, then add: `rows += await ...` would read `rows` before
                # the other worker's slice finished, and lose its count.
                done = await _write(pool, make(venue, start, end), fmt, target)
                rows += done
                written += 1
                if progress is not None and task is not None:
                    progress.update(task, advance=1, description=f"{kind} {venue} ({rows:,} rows)")

        async with asyncio.TaskGroup() as group:  # a failed slice stops the others
            for _ in range(min(SLICES_AT_ONCE, len(todo))):
                group.create_task(worker())
    finally:
        await pool.close()
    return written, skipped, rows


def _return_large_blocks() -> None:
    """Have glibc map every block over 128 KB on its own and unmap it when freed.

    Batches are a few MB of bytes made and freed in two threads; by default glibc
    soon serves such sizes from its heaps, which then hold the freed space and
    lift the command's resident memory by tens of MB. Elsewhere this does nothing."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


_M_MMAP_THRESHOLD = -3


def export_cmd(
    kind: Annotated[str, typer.Argument(help="trades, markets or history")],
    out: Annotated[Path, typer.Argument(help="Output folder (created; one file per slice)")],
    venue: Annotated[str, typer.Option("--venue", help="The venue to export")],
    since: Annotated[
        str | None, typer.Option("--since", help="Start (trades, history): 2026-01-01, ...")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End, exclusive; default now")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet, csv or ndjson")] = "parquet",
    slice_: Annotated[
        str, typer.Option("--slice", help="Time slice per file (resumable unit), e.g. 6h, 1d")
    ] = "1d",
) -> None:
    """Export a venue's trades, markets or price history to files, resumably."""
    _check(kind, venue, fmt)
    width = slice_width(slice_)
    start, end = _time(since, "--since"), _time(until, "--until")
    if kind != "markets":
        if start is None:
            raise BadExport(f"export {kind} needs --since (e.g. --since 2026-01-01)")
        end = end or datetime.now(UTC)
        if start >= end:
            raise BadExport(f"--since {start.isoformat()} is not before --until {end.isoformat()}")
    url = resolve_database(get_settings()).url
    out.mkdir(parents=True, exist_ok=True)
    _return_large_blocks()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=False) as progress:
        written, skipped, rows = run_async(
            run_export(
                kind,
                venue,
                out,
                fmt=fmt,  # type: ignore[arg-type]
                since=start,
                until=end,
                width=width,
                url=url,
                progress=progress,
            )
        )
    console.print(
        f"{rows:,} rows in {written} new file(s), {skipped} already there, under {out}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
