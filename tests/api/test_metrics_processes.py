"""/metrics with several API worker processes: every scrape reports all of them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
from api_support import free_port, wait_until_ready


def _healthz_count(text: str) -> float:
    return sum(
        float(m.group(1))
        for m in re.finditer(
            r'^predhub_http_requests_total\{[^}]*route="/healthz"[^}]*\} (\S+)$', text, re.M
        )
    )


def test_two_workers_report_the_requests_both_served(db_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DATABASE_ONLY_MODE": "true",
        "API_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "predhub", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, proc)
        before = _healthz_count(httpx.get(f"{base}/metrics").text)
        for _ in range(200):  # fresh connections, so both workers take some
            with httpx.Client() as client:
                assert client.get(f"{base}/healthz").status_code == 200
        for _ in range(6):  # whichever worker answers the scrape
            with httpx.Client() as client:
                text = client.get(f"{base}/metrics").text
            assert _healthz_count(text) - before == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
