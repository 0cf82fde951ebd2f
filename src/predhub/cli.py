"""The `predhub` command line.

Each stage contributes its own sub-commands from `predhub/<stage>/cli.py`
through a `register(app)` function; `build_app()` calls them, so importing a
stage registers nothing by side effect and no stage imports this module.
Configuration and connection problems become one readable line and exit code 2.
"""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from predhub import hub
from predhub.api import cli as api_cli
from predhub.db.connect import connect, resolve_database
from predhub.db.schema_dump import dump_schema
from predhub.errors import PredhubError, UsageError
from predhub.ingest import cli as ingest_cli
from predhub.match import cli as match_cli
from predhub.runtime import load_settings, run_async, schema_status, upgrade_schema
from predhub.scheduler import cli as scheduler_cli
from predhub.service import cli as service_cli
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
    applied = run_async(upgrade_schema(db.url))
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
    if field == "database_url" and isinstance(value, str):
        value = mask_url(value)
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
