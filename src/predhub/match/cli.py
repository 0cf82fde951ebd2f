"""`predhub match run|export|import`: run the matcher and move confirmed pairs between hubs."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from predhub.db.connect import connect, resolve_database
from predhub.errors import UsageProblem
from predhub.match.exchange import export_confirmed, import_confirmed, parse_export
from predhub.match.run import MatchConfig, run
from predhub.runtime import run_async, upgrade_schema
from predhub.settings import Settings, get_settings

console = Console()


def config_from(settings: Settings) -> MatchConfig:
    """The matcher's knobs from settings."""
    from predhub.scheduler.maintenance import match_config

    return match_config(settings)


def register(app: typer.Typer) -> None:
    match_app = typer.Typer(help="Cross-venue matching.", no_args_is_help=True)
    app.add_typer(match_app, name="match")

    @match_app.command("run")
    def run_cmd(
        full: Annotated[bool, typer.Option("--full", help="Re-match every open market")] = False,
    ) -> None:
        """Match the markets that changed since the last run (or all, with --full)."""
        settings = get_settings()
        db = resolve_database(settings)

        async def go() -> str:
            await upgrade_schema(db.session_url)
            conn = await connect(db.url)
            try:
                r = await run(conn, config_from(settings), now=datetime.now(UTC), full=full)
            finally:
                await conn.close()
            if r.busy:
                return "another transaction is reading the matcher's changes: nothing done"
            rel = ", ".join(f"{k} {v}" for k, v in sorted(r.relations.items())) or "none"
            return (
                f"{'full' if full else 'incremental'} run: {r.markets} markets, "
                f"{r.candidates} candidates, {r.proposed} stored ({rel}), "
                f"{r.deleted} dropped, {r.seconds:.2f} s"
            )

        console.print(run_async(go()))

    @match_app.command("export")
    def export_cmd(
        file: Annotated[Path, typer.Argument(help="JSON Lines file to write ('-': stdout)")],
    ) -> None:
        """Write the confirmed pairs, keyed by venue and native id."""
        db = resolve_database(get_settings())

        async def go() -> list[dict[str, Any]]:
            conn = await connect(db.url)
            try:
                return await export_confirmed(conn)
            finally:
                await conn.close()

        rows = run_async(go())
        text = b"".join(orjson.dumps(r) + b"\n" for r in rows)
        if str(file) == "-":
            sys.stdout.buffer.write(text)
        else:
            file.write_bytes(text)
            console.print(f"exported {len(rows)} confirmed pairs to {file}")

    @match_app.command("import")
    def import_cmd(
        file: Annotated[Path, typer.Argument(help="JSON Lines file written by `match export`")],
    ) -> None:
        """Record the file's pairs as confirmed matches (all or nothing)."""
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageProblem(f"cannot read {file}: {exc}") from exc
        entries = parse_export(lines)
        db = resolve_database(get_settings())

        async def go() -> int:
            conn = await connect(db.url)
            try:
                return await import_confirmed(conn, entries)
            finally:
                await conn.close()

        console.print(f"imported {run_async(go())} confirmed pairs from {file}")
