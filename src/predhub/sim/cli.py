"""`predhub sim`: serve the simulated venues on one local port."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from predhub.errors import UsageProblem
from predhub.ports import ensure_port_free
from predhub.settings import get_settings
from predhub.sim.urls import accept_credentials, adapter_env

console = Console()


def _defaults(kind: str) -> str:
    from predhub.sim.plugins import plugins

    if kind == "markets":
        return ", ".join(f"{p.name}={p.markets}" for p in plugins())
    return ", ".join(f"{p.name}={p.events}" for p in plugins() if p.events is not None)


def _counts(items: list[str] | None, option: str) -> dict[str, int]:
    """`["venue=N", ...]` as a dict; a bad item is a usage error naming the venues."""
    from predhub.sim.plugins import sim_venues

    out: dict[str, int] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep or name not in sim_venues() or not value.strip().isdigit():
            raise UsageProblem(
                f"{option} {item!r}: want VENUE=N with VENUE one of {', '.join(sim_venues())}"
            )
        out[name] = int(value)
    return out


def _closed_counts(items: list[str] | None) -> dict[str, int]:
    """`--closed N` for every venue, `--closed VENUE=N` for one (later items win)."""
    from predhub.sim.plugins import sim_venues

    out: dict[str, int] = {}
    for item in items or []:
        if item.strip().isdigit():
            out.update(dict.fromkeys(sim_venues(), int(item)))
        else:
            out.update(_counts([item], "--closed"))
    return out


def register(app: typer.Typer) -> None:
    @app.command("sim")
    def sim_cmd(
        host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
        port: Annotated[int | None, typer.Option(help="Port (default SIM_PORT)")] = None,
        seed: Annotated[int, typer.Option(help="World seed")] = 7,
        speed: Annotated[float, typer.Option(help="Simulated seconds per real second")] = 1.0,
        markets: Annotated[
            list[str] | None,
            typer.Option(
                help="VENUE=N active markets of a venue (repeatable); defaults: "
                + _defaults("markets")
            ),
        ] = None,
        events: Annotated[
            list[str] | None,
            typer.Option(
                help="VENUE=N events of a venue (repeatable); defaults: " + _defaults("events")
            ),
        ] = None,
        closed: Annotated[
            list[str] | None,
            typer.Option(
                help="N (every venue) or VENUE=N: markets closed and resolved before the start, "
                "with their trades and price history (repeatable; default 0)"
            ),
        ] = None,
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
        credentials: Annotated[
            Path | None,
            typer.Option(
                help="A directory for test key pairs of venues that sign requests (made there "
                "on first use): the simulator accepts them, and --env prints the settings "
                "that sign with them"
            ),
        ] = None,
    ) -> None:
        """Run the offline venue simulator (every venue in the registry)."""
        settings = get_settings()
        host = host or settings.sim_host
        port = settings.sim_port if port is None else port
        counts = {
            "markets": _counts(markets, "--markets"),
            "events": _counts(events, "--events"),
            "closed": _closed_counts(closed),
        }
        if env:
            for name, value in adapter_env(host, port, credentials).items():
                typer.echo(f"export {name}={value}")
            return
        from predhub.sim.config import SimConfig
        from predhub.sim.runtime import Sim
        from predhub.sim.testing import make_server

        config = SimConfig(
            seed=seed,
            speed=speed,
            markets=counts["markets"],
            events=counts["events"],
            closed=counts["closed"],
            latency_scale=latency_scale,
            rate_limits=not no_rate_limits,
        )
        ensure_port_free(host, port, "SIM_PORT" if port == settings.sim_port else "--port")
        sim = Sim(config)
        if credentials is not None:
            accept_credentials(sim, credentials)
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
            for name, value in adapter_env(host, bound, credentials).items():
                if not name.endswith("_KEY"):
                    console.print(f"  {name:<22} {value}")
        try:
            server.run(sockets=[sock])
        finally:
            sim.close()
