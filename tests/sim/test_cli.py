"""`predhub sim --env` prints export lines the adapters' settings accept."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from predhub.cli import build_app
from predhub.settings import Settings
from predhub.sim.config import SimConfig
from predhub.sim.plugins import plugin


def test_env_prints_exports_for_the_adapters() -> None:
    result = CliRunner().invoke(build_app(), ["sim", "--env", "--port", "8123"])
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if x]
    assert all(x.startswith("export ") for x in lines)
    values = dict(x.removeprefix("export ").split("=", 1) for x in lines)
    assert values["KALSHI_URL"] == "http://127.0.0.1:8123/kalshi/trade-api/v2"
    settings = Settings(**{k.lower(): v for k, v in values.items()})
    assert settings.polymarket_gamma_url.endswith("/polymarket/gamma")
    assert settings.opinion_api_key is not None


def test_per_venue_counts_name_a_known_venue() -> None:
    """`--markets VENUE=N`: a venue the registry does not know is a one-line usage error."""
    result = subprocess.run(
        [sys.executable, "-m", "predhub.cli", "sim", "--env", "--markets", "foo=3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "want VENUE=N with VENUE one of polymarket, kalshi" in result.stderr + result.stdout


def test_per_venue_counts_reach_the_world() -> None:
    config = SimConfig(kalshi_markets=7, markets={"opinion": 3})
    assert config.markets["kalshi"] == 7 and config.markets["opinion"] == 3
    assert config.markets["polymarket"] == plugin("polymarket").markets
    with pytest.raises(ValidationError, match="unknown venue counts"):
        SimConfig(foo_markets=3)
