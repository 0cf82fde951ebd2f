"""`predhub demo` and `predhub run`: the whole hub under one supervisor.

The supervisor resolves the database (starting the embedded server when no
DATABASE_URL is set), applies migrations, then runs each component as a child
process of its own (`predhub sim`, `predhub worker`, `predhub serve`) pointed
at that database. Separate processes keep the components honest: they share
nothing but PostgreSQL, exactly as they would on several machines. Ctrl-C
stops the children first and the embedded server last.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Annotated

import httpx
import typer
from rich.console import Console

from predhub.db.connect import Database, resolve_database
from predhub.settings import get_settings

console = Console()


@dataclass
class Component:
    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None


def _sim_env(host: str, port: int) -> dict[str, str]:
    from predhub.sim.urls import adapter_env

    return adapter_env(host, port)


class Supervisor:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.components: list[Component] = []
        self._stopping = False

    def start(self, component: Component) -> None:
        env = {**os.environ, **component.env, "DATABASE_URL": self.db.url}
        cmd = [sys.executable, "-m", "predhub", *component.args]
        # A process group of its own: Ctrl-C reaches the supervisor alone, which
        # then stops each component once, in order. (Sharing the terminal's
        # group, the API got a second SIGINT from `stop` and uvicorn skipped
        # its graceful shutdown.)
        component.process = subprocess.Popen(cmd, env=env, process_group=0)
        self.components.append(component)

    def stop(self) -> None:
        """Stop components in reverse start order (the simulator last), then the database."""
        if self._stopping:
            return
        self._stopping = True
        for comp in reversed(self.components):
            if comp.process is None:
                continue
            if comp.process.poll() is None:
                comp.process.send_signal(signal.SIGINT)
            try:
                comp.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                comp.process.kill()
                comp.process.wait()
        self.db.close()

    def wait(self) -> int:
        """Block until Ctrl-C or until a component dies; returns the exit code."""
        while True:
            for comp in self.components:
                if comp.process is not None and comp.process.poll() is not None:
                    console.print(f"[red]{comp.name} exited with {comp.process.returncode}[/]")
                    return 1
            time.sleep(0.5)


def wait_until_answering(url: str, seconds: float = 60) -> bool:
    """Poll a URL until it answers, so that clients do not start against a closed port."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _migrate(db: Database) -> None:
    from predhub.cli import _upgrade, run_async

    run_async(_upgrade(db.url))


def run_hub(*, offline: bool, speed: float, seed: int) -> None:
    settings = get_settings()
    db = resolve_database(settings, stop_at_exit=False)
    supervisor = Supervisor(db)

    def _on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        _migrate(db)
        console.print("[bold]predhub is up[/]")
        where = "embedded PostgreSQL" if db.is_embedded else "configured PostgreSQL"
        console.print(f"  database   {where}: {_mask(db.url)}")
        if db.embedded is not None:
            console.print(f"  data dir   {db.embedded.pgdata}")
        env: dict[str, str] = {}
        if offline:
            env = _sim_env(settings.sim_host, settings.sim_port)
            supervisor.start(
                Component(
                    "simulator",
                    [
                        "sim",
                        "--port",
                        str(settings.sim_port),
                        "--speed",
                        str(speed),
                        "--seed",
                        str(seed),
                        "--quiet",
                    ],
                )
            )
            sim_url = f"http://{settings.sim_host}:{settings.sim_port}"
            if not wait_until_answering(f"{sim_url}/admin/stats"):
                console.print("[red]the simulator did not start[/]")
                raise typer.Exit(1)
            console.print(f"  simulator  {sim_url}/")
        supervisor.start(Component("worker", ["worker"], env=env))
        console.print("  worker     syncing " + ", ".join(settings.venues))
        supervisor.start(Component("api", ["serve"], env=env))
        base = f"http://{settings.api_host}:{settings.api_port}"
        console.print(f"  API        {base}/v1   docs {base}/docs   dashboard {base}/")
        console.print("Press Ctrl-C to stop.")
        code = supervisor.wait()
    except KeyboardInterrupt:
        code = 0
        console.print("\nstopping...")
    finally:
        supervisor.stop()
        console.print("stopped")
    raise typer.Exit(code)


def _mask(url: str) -> str:
    from predhub.settings import mask_url

    return mask_url(url)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        speed: Annotated[
            float, typer.Option(help="Simulated time runs this many times faster")
        ] = 1.0,
        seed: Annotated[int, typer.Option(help="Simulator seed")] = 7,
    ) -> None:
        """Run the whole hub offline: embedded database, venue simulator, workers and API."""
        run_hub(offline=True, speed=speed, seed=seed)

    @app.command("run")
    def run() -> None:
        """Run the hub against the live venues."""
        run_hub(offline=False, speed=1.0, seed=0)
