"""The shipped alert rules are well formed and use metrics the worker exports; the exporter works."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import subprocess
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml

from predhub.models import SyncPriority
from predhub.scheduler import exporter
from predhub.settings import Settings

RULES = Path(__file__).resolve().parents[2] / "ops" / "alerts.yml"
# The names an expression refers to: identifiers before `{`, `[` or a space, minus PromQL words.
_NAME = re.compile(r"\b([a-z_][a-z0-9_]*)\b(?=\s*[{\[)\s>*<+-]|$)")
PROMQL = {"and", "or", "unless", "delta", "time", "by", "on", "ignoring", "rate", "increase"}
EXTERNAL = {"node_filesystem_avail_bytes", "node_filesystem_size_bytes"}


def _rules() -> list[dict[str, object]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_every_rule_has_what_a_person_needs() -> None:
    rules = _rules()
    names = {str(r["alert"]) for r in rules}
    wanted = {
        "VenueSyncsFailing",
        "StalenessPastTarget",
        "QuarantineGrowing",
        "BackupTooOld",
        "DiskNearlyFull",
    }
    assert {f"Predhub{n}" for n in wanted} <= names
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"\d+[smh]", str(rule["for"])), rule
        assert rule["labels"]["severity"] in {"page", "warn"}  # type: ignore[index]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]  # type: ignore[index]


def test_rules_use_only_exported_metrics() -> None:
    exported = set(exporter.METRIC_NAMES)
    for rule in _rules():
        expr = str(rule["expr"])
        used = {m for m in _NAME.findall(expr) if "_" in m and m not in PROMQL}
        used = {m for m in used if m.startswith(("predhub_", "node_"))}
        assert used, rule["alert"]
        assert used <= exported | EXTERNAL, (rule["alert"], used - exported - EXTERNAL)
    assert "high" in {p.value for p in SyncPriority}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_every_alert_fires_when_it_should_and_only_then() -> None:
    """ops/alerts.test.yml feeds each rule a series that should page and one that should not."""
    tests = RULES.with_name("alerts.test.yml")
    result = subprocess.run(
        ["promtool", "test", "rules", tests.name],
        capture_output=True,
        text=True,
        check=False,
        cwd=tests.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = {str(rule["alert"]) for rule in _rules()}
    covered = set(re.findall(r"alertname: (\w+)", tests.read_text()))
    assert covered == alerts, alerts ^ covered


async def test_the_worker_serves_its_metrics(pool: asyncpg.Pool) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(_env_file=None, worker_metrics_port=port, api_host="127.0.0.1")  # type: ignore[call-arg]
    stop = asyncio.Event()
    task = asyncio.create_task(exporter.run_exporter(pool, settings, stop))
    text = ""
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                stamp = re.search(r"^predhub_worker_metrics_updated_timestamp (\S+)$", text, re.M)
                if stamp and float(stamp.group(1)) > 0:
                    break
            await asyncio.sleep(0.1)
    stop.set()
    await task
    assert "predhub_last_backup_age_seconds -1.0" in text
    assert 'predhub_worker_jobs{state="queued",venue="' in text
