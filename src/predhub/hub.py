"""`predhub demo` and `predhub run`: the whole hub under one supervisor.

The supervisor resolves the database (starting the embedded server when no
DATABASE_URL is set), applies migrations, then runs each component as a child
process of its own (`predhub sim`, `predhub worker`, `predhub serve`) pointed
at that database. Separate processes keep the components honest: they share
nothing but PostgreSQL, exactly as they would on several machines. Ctrl-C or
SIGTERM stops the children first and the embedded server last. Should the
supervisor itself be killed, the children and the embedded server stop too:
each child asks the kernel for SIGTERM when its parent dies (Linux), and a
watchdog stops the embedded server when the supervisor's pipe closes.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from predhub.db.connect import Database, resolve_database
from predhub.ports import ensure_port_free
from predhub.runtime import run_async, upgrade_schema
from predhub.settings import Settings, get_settings, mask_url
from predhub.sim.urls import adapter_env

console = Console()


@dataclass
class Component:
    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _child_setup() -> Callable[[], None] | None:
    """What a child runs before exec: SIGTERM when the supervisor dies, even by SIGKILL.

    Only Linux has prctl; elsewhere the children outlive a killed supervisor.
    libc is loaded here, in the parent: the forked child only makes the call.
    A supervisor that died before the call is caught by the parent check.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return die_with_parent


def _check_ports(settings: Settings, *, offline: bool) -> None:
    ensure_port_free(settings.api_host, settings.api_port, "API_PORT")
    if offline:
        ensure_port_free(settings.sim_host, settings.sim_port, "SIM_PORT")


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
        component.process = subprocess.Popen(
            cmd, env=env, process_group=0, preexec_fn=_child_setup()
        )
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


def wait_until_answering(
    url: str, seconds: float = 60, process: subprocess.Popen[bytes] | None = None
) -> bool:
    """Poll a URL until it answers, so that clients do not start against a closed port.

    Gives up at once when the process that should answer has exited.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _install_stop_handlers() -> None:
    """SIGINT and SIGTERM stop the hub, even when SIGINT was ignored on entry.

    A shell script's background job (`predhub demo &`) starts with SIGINT
    ignored, and Python then installs no KeyboardInterrupt handler; setting our
    own makes Ctrl-C work there too.
    """

    def _on_signal(signum: int, _frame: object) -> None:
        # Once stopping, later signals are ignored so the orderly stop runs to its end.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def run_hub(*, offline: bool, speed: float, seed: int) -> None:
    settings = get_settings()
    _check_ports(settings, offline=offline)
    _install_stop_handlers()
    db: Database | None = None
    supervisor: Supervisor | None = None
    code = 0
    try:
        db = resolve_database(settings, stop_at_exit=False)
        if db.embedded is not None:
            db.embedded.stop_with_this_process()
        supervisor = Supervisor(db)
        run_async(upgrade_schema(db.session_url))
        env: dict[str, str] = {}
        lines: list[str] = []
        if offline:
            # a test key pair for the venues that sign (a signed stream needs one), made
            # for this run only and removed when it stops
            keys = Path(tempfile.mkdtemp(prefix="predhub-demo-keys-"))
            atexit.register(shutil.rmtree, keys, ignore_errors=True)
            env = adapter_env(settings.sim_host, settings.sim_port, keys)
            sim = Component(
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
                    "--credentials",
                    str(keys),
                ],
            )
            supervisor.start(sim)
            sim_url = f"http://{settings.sim_host}:{settings.sim_port}"
            if not wait_until_answering(f"{sim_url}/admin/stats", process=sim.process):
                console.print("[red]the simulator did not start[/]")
                raise typer.Exit(1)
            lines.append(f"  simulator  {sim_url}/")
        worker_env = dict(env)
        if offline and "HISTORY_LOAD_ENABLED" not in os.environ:
            # the demo walks the simulator's closed markets slowly in the background
            worker_env["HISTORY_LOAD_ENABLED"] = "true"
        supervisor.start(Component("worker", ["worker"], env=worker_env))
        lines.append("  worker     syncing " + ", ".join(settings.venues))
        api = Component("api", ["serve"], env=env)
        supervisor.start(api)
        base = f"http://{settings.api_host}:{settings.api_port}"
        if not wait_until_answering(f"{base}/healthz", process=api.process):
            console.print("[red]the API did not start[/]")
            raise typer.Exit(1)
        lines.append(f"  API        {base}/v1   docs {base}/docs   dashboard {base}/")
        console.print("[bold]predhub is up[/]")
        where = "embedded PostgreSQL" if db.is_embedded else "configured PostgreSQL"
        console.print(f"  database   {where}: {mask_url(db.url)}")
        if db.embedded is not None:
            console.print(f"  data dir   {db.embedded.pgdata}")
        for line in lines:
            console.print(line)
        console.print("Press Ctrl-C to stop.")
        code = supervisor.wait()
    except KeyboardInterrupt:
        console.print("\nstopping...")
    except typer.Exit as exc:
        code = exc.exit_code
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if supervisor is not None:
            supervisor.stop()
            console.print("stopped")
        elif db is not None:
            db.close()
    raise typer.Exit(code)


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
