"""`predhub sim`: serve the simulated venues on one local port."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from predhub.settings import get_settings
from predhub.sim.urls import adapter_env

console = Console()


def register(app: typer.Typer) -> None:
    @app.command("sim")
    def sim_cmd(
        host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
        port: Annotated[int | None, typer.Option(help="Port (default SIM_PORT)")] = None,
        seed: Annotated[int, typer.Option(help="World seed")] = 7,
        speed: Annotated[float, typer.Option(help="Simulated seconds per real second")] = 1.0,
        polymarket: Annotated[int, typer.Option(help="Active Polymarket markets")] = 5_500,
        polymarket_events: Annotated[int, typer.Option(help="Polymarket events")] = 1_500,
        kalshi: Annotated[int, typer.Option(help="Active Kalshi markets")] = 3_000,
        limitless: Annotated[int, typer.Option(help="Active Limitless markets")] = 300,
        opinion: Annotated[int, typer.Option(help="Active Opinion markets")] = 200,
        latency_scale: Annotated[
            float, typer.Option(help="Multiplies each endpoint's latency (0 = none)")
        ] = 1.0,
        no_rate_limits: Annotated[
            bool, typer.Option("--no-rate-limits", help="Do not enforce venue rate limits")
        ] = False,
        env: Annotated[
            bool, typer.Option("--env", help="Print export lines for the adapters and exit")
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing but errors")] = False,
    ) -> None:
        """Run the offline venue simulator (Polymarket, Kalshi, Limitless, Opinion)."""
        settings = get_settings()
        host = host or settings.sim_host
        port = settings.sim_port if port is None else port
        if env:
            for name, value in adapter_env(host, port).items():
                typer.echo(f"export {name}={value}")
            return
        from predhub.sim.config import SimConfig
        from predhub.sim.runtime import Sim
        from predhub.sim.testing import make_server

        config = SimConfig(
            seed=seed,
            speed=speed,
            polymarket_markets=polymarket,
            polymarket_events=polymarket_events,
            kalshi_markets=kalshi,
            limitless_markets=limitless,
            opinion_markets=opinion,
            latency_scale=latency_scale,
            rate_limits=not no_rate_limits,
        )
        from predhub.errors import UsageProblem
        from predhub.ports import ensure_port_free

        ensure_port_free(host, port, "SIM_PORT" if port == settings.sim_port else "--port")
        sim = Sim(config)
        try:
            server, sock = make_server(sim, host, port, log_level="error" if quiet else "warning")
        except OSError as exc:
            sim.close()
            raise UsageProblem(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        bound = sock.getsockname()[1]
        if not quiet:
            console.print(
                f"[bold]predhub simulator[/] seed {seed}, speed {speed}x, admin http://{host}:{bound}/admin/world"
            )
            for name, value in adapter_env(host, bound).items():
                if not name.endswith("_KEY"):
                    console.print(f"  {name:<22} {value}")
        try:
            server.run(sockets=[sock])
        finally:
            sim.close()
