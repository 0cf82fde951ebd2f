"""`predhub sim --env` prints export lines the adapters' settings accept."""

from __future__ import annotations

from typer.testing import CliRunner

from predhub.cli import app
from predhub.settings import Settings


def test_env_prints_exports_for_the_adapters() -> None:
    result = CliRunner().invoke(app, ["sim", "--env", "--port", "8123"])
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if x]
    assert all(x.startswith("export ") for x in lines)
    values = dict(x.removeprefix("export ").split("=", 1) for x in lines)
    assert values["KALSHI_URL"] == "http://127.0.0.1:8123/kalshi/trade-api/v2"
    settings = Settings(**{k.lower(): v for k, v in values.items()})
    assert settings.polymarket_gamma_url.endswith("/polymarket/gamma")
    assert settings.opinion_api_key is not None
