"""`predhub serve` and `predhub keys create`."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from predhub.api.keys import create_key
from predhub.db.connect import connect, resolve_database
from predhub.errors import UsageProblem
from predhub.ports import ensure_port_free
from predhub.runtime import run_async, upgrade_schema
from predhub.service.errors import KeyNameTaken
from predhub.settings import get_settings

console = Console()
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's multiprocess mode


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
    keys_app = typer.Typer(help="Admin API keys.", no_args_is_help=True)
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
        run_async(upgrade_schema(db.url))
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
                loop="uvloop",
                http="httptools",
            )

    @keys_app.command("create")
    def keys_create(
        name: Annotated[str, typer.Argument(help="A name to recognise the key by")],
    ) -> None:
        """Create an admin API key; it is printed once and only its sha256 is stored."""
        db = resolve_database(get_settings())
        run_async(upgrade_schema(db.url))

        async def _create() -> str:
            conn = await connect(db.url)
            try:
                return await create_key(conn, name)
            except KeyNameTaken as exc:
                raise UsageProblem(f"a key named {name!r} exists already") from exc
            finally:
                await conn.close()

        key = run_async(_create())
        console.print(key, highlight=False, soft_wrap=True)
        console.print("[dim]store it now: it is not shown again[/]", highlight=False)
