"""`predhub serve` and `predhub keys create|list|revoke|level`."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from predhub.api.keys import issue_key
from predhub.db.connect import connect, resolve_database
from predhub.errors import UsageError, UsageProblem
from predhub.ports import ensure_port_free
from predhub.runtime import run_async, upgrade_schema
from predhub.service import accounts
from predhub.service.accounts import AccountStore
from predhub.service.catalog import Connection
from predhub.service.errors import ServiceError
from predhub.settings import get_settings

console = Console()
T = TypeVar("T")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's multiprocess mode
# A stopping server waits this long for requests and WebSockets under way, then
# cancels them: without a bound one request waiting on a database that has gone
# (or a client that never closes its socket) kept the process alive.
GRACEFUL_SHUTDOWN_SECONDS = 5


@contextlib.contextmanager
def _shared_metrics(processes: int) -> Iterator[None]:
    """Several workers: a directory where each writes its metrics, so /metrics sums them.

    The workers inherit the variable (a directory the operator set is kept);
    the directory is emptied on start, as prometheus_client requires.
    """
    if processes <= 1:
        yield
        return
    own = MULTIPROC_ENV not in os.environ
    path = os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="predhub-metrics-")
    for stale in Path(path).glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = path
    try:
        yield
    finally:
        if own:
            del os.environ[MULTIPROC_ENV]
            shutil.rmtree(path, ignore_errors=True)


def register(app: typer.Typer) -> None:
    keys_app = typer.Typer(help="API keys and account levels.", no_args_is_help=True)
    app.add_typer(keys_app, name="keys")

    @app.command("serve")
    def serve(
        host: Annotated[str | None, typer.Option(help="Default API_HOST")] = None,
        port: Annotated[int | None, typer.Option(help="Default API_PORT")] = None,
        workers: Annotated[int | None, typer.Option(help="Default API_WORKERS")] = None,
    ) -> None:
        """Serve the HTTP API (migrates the database first)."""
        import uvicorn  # only `serve` needs the server; other commands start faster without it

        settings = get_settings()
        bind_host = host or settings.api_host
        bind_port = settings.api_port if port is None else port
        ensure_port_free(bind_host, bind_port, "API_PORT" if port is None else "--port")
        db = resolve_database(settings)
        run_async(upgrade_schema(db.session_url))
        os.environ["DATABASE_URL"] = db.url  # every worker builds its app from the environment
        console.print(f"predhub API on http://{bind_host}:{bind_port}/  (docs at /docs)")
        processes = workers or settings.api_workers
        with _shared_metrics(processes):
            uvicorn.run(
                "predhub.api.app:app_from_env",
                factory=True,
                host=bind_host,
                port=bind_port,
                workers=processes,
                log_level=settings.log_level.lower(),
                access_log=False,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                loop="uvloop",
                http="httptools",
            )

    @keys_app.command("create")
    def keys_create(
        name: Annotated[str, typer.Argument(help="A name to recognise the key by")],
        account: Annotated[
            str | None, typer.Option(help="The account it belongs to (default: NAME)")
        ] = None,
        level: Annotated[
            str | None,
            typer.Option(help="admin, vip, whitelist or blocked; a new account's default: admin"),
        ] = None,
        expires_days: Annotated[
            float | None, typer.Option("--expires-days", min=0.0, help="Expire after N days")
        ] = None,
    ) -> None:
        """Create an API key; it is printed once and only its sha256 is stored."""
        owner = account or name
        expires = None if expires_days is None else datetime.now(UTC) + timedelta(days=expires_days)

        async def _create(conn: Connection) -> tuple[str, dict[str, Any]]:
            known = await accounts.account(conn, owner)
            wanted = level or (None if known is not None else "admin")
            return await issue_key(
                AccountStore(conn), account=owner, name=name, level=wanted, expires_at=expires
            )

        key, row = _with_conn(_create)
        console.print(key, highlight=False, soft_wrap=True)
        console.print(
            f"[dim]key {row['name']} (id {row['id']}) of account {row['account']}"
            f" at level {row['level']}; store it now: it is not shown again[/]",
            highlight=False,
        )

    @keys_app.command("list")
    def keys_list(
        account: Annotated[str | None, typer.Option(help="Only this account's keys")] = None,
        revoked: Annotated[bool, typer.Option(help="Include revoked keys")] = False,
    ) -> None:
        """List API keys (never the keys themselves) with their account, level and times."""

        async def _list(conn: Connection) -> list[dict[str, Any]]:
            return await accounts.list_keys(conn, account_name=account, include_revoked=revoked)

        rows = _with_conn(_list)
        table = Table(
            "id", "name", "account", "level", "created", "last used", "expires", "revoked"
        )
        for r in rows:
            table.add_row(
                str(r["id"]),
                r["name"],
                r["account"],
                r["level"],
                *(
                    str(r[c] or "")
                    for c in ("created_at", "last_used_at", "expires_at", "revoked_at")
                ),
            )
        console.print(table)

    @keys_app.command("revoke")
    def keys_revoke(
        key: Annotated[str, typer.Argument(help="The key's name or id")],
    ) -> None:
        """Revoke an API key; every API process refuses it at once."""

        async def _revoke(conn: Connection) -> dict[str, Any]:
            return await accounts.revoke_key(conn, key)

        row = _with_conn(_revoke)
        console.print(f"revoked key {row['name']} (id {row['id']}) at {row['revoked_at']}")

    @keys_app.command("level")
    def keys_level(
        account: Annotated[str, typer.Argument(help="The account's name")],
        level: Annotated[str, typer.Argument(help="admin, vip, whitelist or blocked")],
    ) -> None:
        """Set an account's level (blocked: every key of it is refused)."""

        async def _set(conn: Connection) -> dict[str, Any]:
            return await accounts.set_level(conn, account, level)

        row = _with_conn(_set)
        console.print(f"account {row['name']} is now {row['level']}")


def _with_conn(action: Callable[[Connection], Awaitable[T]]) -> T:
    """Run `action` on a connection to the migrated database; its usage errors are one line."""
    db = resolve_database(get_settings())
    run_async(upgrade_schema(db.session_url))

    async def _run() -> T:
        conn = await connect(db.url)
        try:
            return await action(conn)
        except ServiceError as exc:
            if isinstance(exc, UsageError):
                raise UsageProblem(exc.message) from exc
            raise
        finally:
            await conn.close()

    return run_async(_run())
