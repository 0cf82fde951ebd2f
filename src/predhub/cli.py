"""The `predhub` command line.

Each stage contributes its own sub-commands from `predhub/<stage>/cli.py`
through a `register(app)` function; `build_app()` calls them, so importing a
stage registers nothing by side effect and no stage imports this module.
Configuration and connection problems become one readable line and exit code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from predhub import hub
from predhub.api import cli as api_cli
from predhub.db import backup, monitor, pitr
from predhub.db.connect import connect, resolve_database
from predhub.db.embedded import read_running
from predhub.db.errors import BackupRefused
from predhub.db.schema_dump import dump_schema
from predhub.errors import PredhubError, UsageError
from predhub.ingest import cli as ingest_cli
from predhub.match import cli as match_cli
from predhub.runtime import load_settings, run_async, schema_status, upgrade_schema
from predhub.scheduler import cli as scheduler_cli
from predhub.service import cli as service_cli
from predhub.service.when import parse_when
from predhub.settings import Settings, get_settings, mask_url
from predhub.sim import cli as sim_cli
from predhub.venues import cli as venues_cli

console = Console()
err_console = Console(stderr=True)
__all__ = ["build_app", "main"]

# Each stage's `register(app)`, in the order their commands are listed in `--help`.
STAGES = (hub, sim_cli, scheduler_cli, api_cli, service_cli, venues_cli, ingest_cli, match_cli)


def _root(
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Debug logging")] = False,
) -> None:
    load_settings(verbose)


def config_cmd() -> None:
    """Print the effective configuration (secrets masked), by the variable that sets each."""
    settings = get_settings()
    table = Table("variable", "value", title="predhub configuration")
    for name, value in sorted(settings.display().items()):
        table.add_row(name, value)
    console.print(table)


def db_upgrade() -> None:
    """Apply pending migrations (idempotent)."""
    db = resolve_database(get_settings())
    applied = run_async(upgrade_schema(db.session_url))
    if applied:
        for m in applied:
            console.print(f"applied {m.version:04d}_{m.name}")
    else:
        console.print("schema is up to date")


def db_status() -> None:
    """Show the schema version and pending migrations."""
    db = resolve_database(get_settings())
    st = run_async(schema_status(db.url))
    current = f"{st.current:04d}" if st.current is not None else "none"
    console.print(f"database: {'embedded' if db.is_embedded else 'configured'}")
    console.print(f"schema version: {current} (latest {st.latest:04d})")
    for m in st.pending:
        console.print(f"pending: {m.version:04d}_{m.name}")


async def _dump(url: str) -> str:
    conn = await connect(url)
    try:
        return await dump_schema(conn)
    finally:
        await conn.close()


def db_dump_schema() -> None:
    """Print the schema read from the catalogs, as deterministic text (not pg_dump's).

    `predhub db dump-schema > src/predhub/db/schema.sql` against a freshly
    migrated database refreshes the committed dump the tests compare with.
    """
    db = resolve_database(get_settings())
    typer.echo(run_async(_dump(db.url)), nl=False)


def _counted(verb: str) -> Callable[[str], None]:
    """A progress callback numbering each table a tool names."""
    done = 0

    def progress(table: str) -> None:
        nonlocal done
        done += 1
        err_console.print(f"[dim]  {done:4d} {verb} {table}[/]", highlight=False)

    return progress


def _note(line: str) -> None:
    err_console.print(f"[dim]  {line}[/]", highlight=False)


def _archive(settings: Settings) -> Path:
    """The WAL archive of the embedded server; one line when PITR cannot apply."""
    if settings.explicit_database_url():
        raise BackupRefused(
            "point-in-time recovery is built in for the embedded server only (DATABASE_URL is"
            " set); for an external server follow the README's recipe"
        )
    if settings.wal_archive_dir is None:
        raise BackupRefused(
            "PREDHUB_WAL_ARCHIVE_DIR is not set: WAL archiving (and with it point-in-time"
            " recovery) is off"
        )
    return settings.wal_archive_dir


def _base_backup(url: str, archive: Path) -> None:
    made = run_async(pitr.base_backup(url, archive, progress=_note))
    console.print(
        f"base backup {made.path}: {made.bytes / 1e6:.1f} MB, consistent from"
        f" {made.finished_at.isoformat(timespec='seconds')}",
        highlight=False,
    )


def db_backup(
    file: Annotated[
        Path | None, typer.Argument(help="Where to write it; default: a dated file in BACKUP_DIR")
    ] = None,
) -> None:
    """Back the database up (pg_dump, custom format: one consistent snapshot); with
    PREDHUB_WAL_ARCHIVE_DIR, a base backup for point-in-time recovery too."""
    settings = get_settings()
    db = resolve_database(settings)
    target = file or backup.default_backup_path(settings.backups_path(), datetime.now(UTC))
    result = run_async(backup.backup(db.url, target, progress=_counted("dumping")))
    console.print(
        f"backup {result.path}: {result.bytes / 1e6:.1f} MB, {result.tables} tables,"
        f" {result.seconds:.1f} s ({result.tool.parent})",
        highlight=False,
    )
    if db.is_embedded and settings.wal_archive_dir is not None:
        _base_backup(db.url, settings.wal_archive_dir)


def db_basebackup() -> None:
    """A physical base backup of the embedded server into PREDHUB_WAL_ARCHIVE_DIR (PITR)."""
    settings = get_settings()
    archive = _archive(settings)
    db = resolve_database(settings)
    _base_backup(db.url, archive)


def _restore_to(settings: Settings, when: str, target: Path | None, force: bool) -> None:
    archive = _archive(settings)
    try:
        to = parse_when(when)
    except ValueError as exc:
        raise BackupRefused(f"--to {when!r}: {exc}") from None
    pitr.choose_base(pitr.list_base_backups(archive), to, datetime.now(UTC))  # fail fast
    running = read_running(settings.data_dir / "pgdata")
    if running is not None:  # what the server wrote last is not archived yet
        note = run_async(pitr.archive_now(running.url))
        if note:
            _note(note)
    stamp = to.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = target or settings.data_dir.with_name(f"{settings.data_dir.name}-at-{stamp}")
    result = run_async(pitr.restore_to(archive, target, to, force=force, progress=_note))
    version = "none" if result.schema_version is None else f"{result.schema_version:04d}"
    replayed = "no transaction" if result.replayed_to is None else result.replayed_to.isoformat()
    console.print(
        f"restored {result.target} to {to.isoformat()}: base backup {result.base.path.name},"
        f" {result.segments} WAL segments, last transaction replayed {replayed},"
        f" {result.seconds:.1f} s; schema {version}. Use it with"
        f" PREDHUB_DATA_DIR={result.target}",
        highlight=False,
    )


def db_restore(
    file: Annotated[
        Path | None, typer.Argument(help="A backup made by `predhub db backup`")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="TIME",
            help="Point-in-time recovery of the embedded server to TIME (ISO, UTC unless"
            " zoned) into a new data directory, from PREDHUB_WAL_ARCHIVE_DIR",
        ),
    ] = None,
    target: Annotated[
        Path | None,
        typer.Option(
            "--target",
            help="With --to: the new data directory (default: beside PREDHUB_DATA_DIR,"
            " named after TIME)",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace what a non-empty database holds")
    ] = False,
) -> None:
    """Restore a backup into an empty database (one transaction: all or nothing), or
    with --to TIME the embedded server's database as it was at TIME."""
    settings = get_settings()
    if (file is None) == (to is None):
        raise BackupRefused("give a backup FILE or --to TIME (not both)")
    if to is not None:
        _restore_to(settings, to, target, force)
        return
    assert file is not None
    db = resolve_database(settings)
    result = run_async(backup.restore(db.url, file, force=force, progress=_counted("restoring")))
    version = "none" if result.schema_version is None else f"{result.schema_version:04d}"
    state = "current" if result.schema_current else "behind: run `predhub db upgrade`"
    console.print(
        f"restored {result.path}: {result.tables} tables in {result.seconds:.1f} s;"
        f" schema {version} ({state})",
        highlight=False,
    )


def db_monitor(
    top: Annotated[int, typer.Option(min=1, max=200, help="Rows per list")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON")] = False,
) -> None:
    """Database health: sizes, bloat, slow statements, connections, replication, backups."""
    db = resolve_database(get_settings())

    async def _report() -> dict[str, Any]:
        conn = await connect(db.url)
        try:
            return await monitor.report(conn, top=top)
        finally:
            await conn.close()

    found = run_async(_report())
    if as_json:
        typer.echo(json.dumps(found, indent=2, default=str))
        return
    console.print(f"database size: {found['database_bytes'] / 1e6:.1f} MB")
    for section in (
        "tables",
        "indexes",
        "slow_statements",
        "connections",
        "long_transactions",
        "replication",
    ):
        rows = found[section]
        if not rows:
            console.print(f"{section.replace('_', ' ')}: none")
            continue
        table = Table(*rows[0].keys(), title=section.replace("_", " "))
        for row in rows:
            table.add_row(*(str(v) for v in row.values()))
        console.print(table)
    if found["slow_statements_note"]:
        console.print(f"[yellow]{found['slow_statements_note']}[/]", highlight=False)
    last = found["last_backup"]
    console.print(
        "last backup: none"
        if last is None
        else f"last backup: {last['path']} ({last['age_seconds'] / 3600:.1f} h ago)",
        highlight=False,
    )


def build_app() -> typer.Typer:
    """The whole command tree: the root's own commands, then each stage's."""
    app = typer.Typer(
        name="predhub",
        help="A self-hosted, database-first data hub for prediction markets.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.callback()(_root)
    app.command("config")(config_cmd)
    db_app = typer.Typer(help="Database schema and migrations.", no_args_is_help=True)
    db_app.command("upgrade")(db_upgrade)
    db_app.command("status")(db_status)
    db_app.command("dump-schema")(db_dump_schema)
    db_app.command("backup")(db_backup)
    db_app.command("basebackup")(db_basebackup)
    db_app.command("restore")(db_restore)
    db_app.command("monitor")(db_monitor)
    app.add_typer(db_app, name="db")
    for stage in STAGES:
        stage.register(app)
    return app


def _fail(message: str, *, code: int = 2) -> NoReturn:
    err_console.print(f"predhub: {message}", style="bold red", highlight=False, soft_wrap=True)
    raise SystemExit(code)


def describe_validation_error(exc: ValidationError) -> str:
    """One line: the variable as the user spelled it, its value (secrets masked), what is allowed."""
    errors = exc.errors()
    first = errors[0]
    loc = str(first["loc"][0]) if first["loc"] else ""
    field = Settings.field_for(loc) if loc else None
    name = Settings.env_name_as_set(field) if field else (loc.upper() or "setting")
    value = first.get("input")
    if field in ("database_url", "database_session_url") and isinstance(value, str):
        value = mask_url(value)
    elif field == "database_read_urls" and isinstance(value, str):
        value = ",".join(mask_url(url) for url in value.split(","))
    elif field is not None and Settings.is_secret(field):
        value = "********"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid setting {name}={value!r}: {message}{more}"


def main() -> None:
    """Entry point: a predhub error is one line; one the user can fix exits 2, others 1."""
    try:
        build_app()()
    except ValidationError as exc:
        _fail(describe_validation_error(exc))
    except PredhubError as exc:
        _fail(str(exc), code=2 if isinstance(exc, UsageError) else 1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
