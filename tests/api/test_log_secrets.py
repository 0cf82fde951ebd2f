"""`predhub serve` with every kind of secret configured logs none of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from api_support import free_port, wait_until_ready
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ADMIN_SECRET = "adm-9f3Kq2LzXw71"
WRONG_KEY = "wrong-4Hh8Pq0Tz5"
DB_SECRET = "dbpw-Zr6Yt3Mn8Q"
KALSHI_SECRET = "kal-Vb2Nc7Xs4R"
OPINION_SECRET = "opi-Lm5Gd9Jw1E"


def _with_password(url: str, password: str) -> tuple[str, str]:
    """`url` with a password (the one it has, if any: the server may check it)."""
    parts = urlsplit(url)
    if parts.password:
        return url, parts.password
    netloc = f"{parts.username or 'postgres'}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), password


def test_serve_logs_no_secret(db_url: str, tmp_path: Path) -> None:
    url, db_password = _with_password(db_url, DB_SECRET)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_file = tmp_path / "kalshi.pem"
    key_file.write_bytes(pem)
    key_lines = [line for line in pem.decode().splitlines()[1:-1] if line]
    port = free_port()
    unreachable = "http://127.0.0.1:9"  # no venue call leaves the machine
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ADMIN_API_KEY": ADMIN_SECRET,
        "POSTGRES_PASSWORD": DB_SECRET,
        "KALSHI_API_KEY": KALSHI_SECRET,
        "KALSHI_PRIVATE_KEY_FILE": str(key_file),
        "KALSHI_SIGN_ALL_REQUESTS": "true",
        "OPINION_API_KEY": OPINION_SECRET,
        "KALSHI_URL": unreachable,
        "OPINION_URL": unreachable,
        "POLYMARKET_GAMMA_URL": unreachable,
        "POLYMARKET_CLOB_URL": unreachable,
        "LIMITLESS_URL": unreachable,
        "API_PORT": str(port),
        "LOG_LEVEL": "DEBUG",
        "LOG_JSON": "true",
        "HTTP_MAX_RETRIES": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "predhub", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, proc)
        with httpx.Client(base_url=base, timeout=30) as client:
            refresh = {"venue": "kalshi", "ids": ["kalshi:NOPE"]}
            statuses = [
                client.post("/v1/admin/refresh", json=refresh, headers={"X-API-Key": WRONG_KEY}),
                client.post(
                    "/v1/admin/refresh",
                    json=refresh,
                    headers={"Authorization": f"Bearer {WRONG_KEY}"},
                ),
                client.post("/v1/admin/refresh", json=refresh, headers={"X-API-Key": ADMIN_SECRET}),
                client.get("/v1/markets/kalshi:NOPE/price/live"),
                client.get("/v1/venues"),
                client.get("/metrics"),
            ]
            assert [r.status_code for r in statuses[:2]] == [401, 401]
            assert statuses[2].status_code == 200, statuses[2].text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert "predhub API on" in output and len(output.splitlines()) > 2, output
    for secret in (ADMIN_SECRET, WRONG_KEY, db_password, KALSHI_SECRET, OPINION_SECRET, *key_lines):
        leaked = [line for line in output.splitlines() if secret in line]
        assert not leaked, leaked
