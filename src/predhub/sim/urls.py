"""Where each simulated venue lives under the simulator's one HTTP server.

Every venue is mounted under its own path prefix so that one port serves the
whole world; the adapters only ever see a base URL, exactly as with the real
venues.
"""

from __future__ import annotations

PREFIXES: dict[str, str] = {
    "POLYMARKET_GAMMA_URL": "/polymarket/gamma",
    "POLYMARKET_CLOB_URL": "/polymarket/clob",
    "POLYMARKET_DATA_URL": "/polymarket/data",
    "KALSHI_URL": "/kalshi/trade-api/v2",
    "LIMITLESS_URL": "/limitless",
    "OPINION_URL": "/opinion/openapi",
}
WS_PREFIXES: dict[str, str] = {
    "POLYMARKET_WS_URL": "/polymarket/ws/market",
    "KALSHI_WS_URL": "/kalshi/trade-api/ws/v2",
    "LIMITLESS_WS_URL": "/limitless/ws",
}


def adapter_env(host: str, port: int) -> dict[str, str]:
    """Settings that point predhub's adapters at a simulator on host:port."""
    env = {name: f"http://{host}:{port}{path}" for name, path in PREFIXES.items()}
    env.update({name: f"ws://{host}:{port}{path}" for name, path in WS_PREFIXES.items()})
    env["OPINION_API_KEY"] = "sim-key"
    return env
