"""Every setting is checked when settings load, and `predhub config` names what is read.

A configuration mistake must stop any command at start-up with one line
naming the variable as the user wrote it, the value and what is allowed
(exit code 2) — never a traceback, never a silently ignored value.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from predhub.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def _clean_env() -> dict[str, str]:
    """The environment without any predhub variable, so only the test's values count."""
    names = {name for field in Settings.model_fields for name in Settings.env_names(field)}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env["COLUMNS"] = "1000"  # the config table is not wrapped
    return env


def _predhub(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI; should it start anything after all, its whole group is stopped."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "predhub", *args],
        env=env,
        cwd=cwd,  # a directory without a .env file
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


BAD_SETTINGS: list[tuple[str, str, str]] = [
    # (variable, value, a word of the explanation)
    ("DATABASE_URL", "mysql://x@y/z", "postgresql://"),
    ("DATABASE_URL", "notaurl", "postgresql://"),
    ("DATABASE_URL", "postgresql://u@h:port/d", "port"),
    ("VENUE_REQUEST_BUDGETS", "garbage", "venue=requests_per_second"),
    ("VENUE_REQUEST_BUDGETS", "polymarket=-1", "positive"),
    ("VENUE_REQUEST_BUDGETS", "nowhere=5", "unknown venue"),
    ("TOP_VOLUME_FLOORS", "kalshi=-1", "at least 0"),
    ("TOP_VOLUME_FLOORS", "nowhere=5", "unknown venue"),
    ("FEE_MULTIPLIERS", "KXBTCD=-1", "SERIES=multiplier"),
    ("FEE_MULTIPLIERS", "KXBTCD", "SERIES=multiplier"),
    ("ARBITRAGE_MIN_CONFIDENCE", "1.5", "less than or equal to 1"),
    ("GOLD_HOT_SECONDS", "0", "greater than 0"),
    ("VENUE_RATE_LIMITS", "nonsense", "venue:endpoint=requests/seconds"),
    ("VENUE_RATE_LIMITS", "polymarket:/markets=0/1", "positive"),
    ("VENUE_RATE_LIMITS", "foo:*=5/1", "unknown venue"),
    ("VENUE_RATE_LIMITS", "kalshi:markets=5/1", "endpoint"),
    ("STATIC_SCHEDULE_DAY", "funday", "weekday"),
    ("STATIC_SCHEDULE_HOUR", "24", "less than or equal to 23"),
    ("TIER_T1_SECONDS", "-5", "greater than 0"),
    ("TIER_T4_SECONDS", "0", "greater than 0"),
    ("ENABLED_VENUES", "polymarket,foo", "unknown venue"),
    ("API_PORT", "70000", "65535"),
    ("SIM_PORT", "-1", "greater than or equal to 0"),
    ("POSTGRES_PORT", "0", "greater than or equal to 1"),
    ("PREDHUB_EMBEDDED_PG_PORT", "65536", "65535"),
    ("PREDHUB_DATA_DIR", "", "directory"),
    ("DATA_DIR", " ", "directory"),
    ("DB_POOL_MAX", "1", "DB_POOL_MIN"),
    ("DATABASE_READ_URLS", "postgresql://r1/db,http://r2/db", "entry 2"),
    ("DATABASE_READ_URLS", "postgresql://r1:notaport/db", "port"),
    ("DATABASE_READ_MAX_LAG_SECONDS", "0", "greater than 0"),
    ("DATABASE_SESSION_URL", "mysql://x@y/z", "postgresql://"),
    ("DB_STATEMENT_CACHE_SIZE", "-1", "greater than or equal to 0"),
    ("DB_POOL_MIN", "0", "greater than or equal to 1"),
    ("POLYMARKET_GAMMA_URL", "ftp://gamma", "http://"),
    ("KALSHI_URL", "kalshi.com", "https://"),
    ("LIMITLESS_WS_URL", "https://ws.limitless.exchange", "wss://"),
    ("HTTP_TIMEOUT_SECONDS", "inf", "finite"),
    ("WORKER_BUDGET_SHARE", "1.5", "less than or equal to 1"),
    ("HTTP_BACKOFF_MAX_SECONDS", "0.1", "HTTP_BACKOFF_BASE_SECONDS"),
    ("TOP_N_MARKETS", "lots", "integer"),
    ("STATIC_SCHEDULE_ENABLED", "perhaps", "boolean"),
    ("LOG_LEVEL", "loud", "DEBUG"),
    ("POSTGRES_USER", "", "at least 1"),
    ("API_HOST", "", "at least 1"),
    ("ACCESS_LEVEL_LIMITS", "vip=lots", "requests/refreshes per minute"),
    ("ACCESS_LEVEL_LIMITS", "guest=5/1", "a level among"),
    ("ACCESS_LEVEL_PERMISSIONS", "vip=read+fly", "unknown permission"),
    ("BACKUP_HOUR", "24", "less than or equal to 23"),
]


@pytest.mark.parametrize(("name", "value", "hint"), BAD_SETTINGS)
def test_bad_setting_is_one_line_naming_it_exit_2(
    tmp_path: Path, name: str, value: str, hint: str
) -> None:
    env = {**_clean_env(), name: value}
    result = _predhub("config", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"invalid setting {name}=" in lines[0]
    assert hint in lines[0]


@pytest.mark.parametrize(
    "command",
    [("worker", "--once"), ("serve",), ("demo",), ("db", "status")],
    ids=lambda args: " ".join(args),
)
def test_every_command_refuses_bad_settings_the_same_way(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {
        **_clean_env(),
        "STATIC_SCHEDULE_DAY": "funday",
        # should the command start anyway, it stays out of everyone's way
        "PREDHUB_DATA_DIR": str(tmp_path),
        "API_PORT": str(_free_port()),
        "SIM_PORT": str(_free_port()),
    }
    result = _predhub(*command, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("predhub: invalid setting STATIC_SCHEDULE_DAY='funday': ")
    assert "weekday" in lines[0]


def test_database_password_is_masked_in_the_error(tmp_path: Path) -> None:
    env = {**_clean_env(), "DATABASE_URL": "mysql://app:s3cret@db/hub"}
    result = _predhub("config", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "s3cret" not in result.stderr
    assert "mysql://app:********@db/hub" in result.stderr


def test_replica_passwords_are_masked_in_the_error(tmp_path: Path) -> None:
    env = {**_clean_env(), "DATABASE_READ_URLS": "postgresql://app:s3cret@r1/hub,mysql://r2/x"}
    result = _predhub("config", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "s3cret" not in result.stderr
    assert "postgresql://app:********@r1/hub" in result.stderr


def test_structured_settings_are_typed_when_loaded() -> None:
    settings = Settings(
        enabled_venues=" Kalshi, polymarket,kalshi ",
        venue_request_budgets="polymarket=3; kalshi=2.5",
        venue_rate_limits="opinion:*=10/1;polymarket:/markets=150/10",
        static_schedule_day="Wednesday",
        _env_file=None,
    )
    assert settings.venues == ["kalshi", "polymarket"]
    assert settings.venue_request_budgets == {"polymarket": 3.0, "kalshi": 2.5}
    markets = settings.venue_rate_limits["polymarket"]["/markets"]
    assert (markets.requests, markets.per_seconds) == (150, 10)
    assert settings.static_schedule_day == "wed"
    shown = settings.display()
    assert shown["ENABLED_VENUES"] == "kalshi,polymarket"
    assert shown["VENUE_REQUEST_BUDGETS"] == "polymarket=3,kalshi=2.5"
    assert shown["VENUE_RATE_LIMITS"] == "opinion:*=10/1;polymarket:/markets=150/10"
    with pytest.raises(ValidationError):
        Settings(db_pool_min=5, db_pool_max=4, _env_file=None)


# A valid value, different from the default, for settings whose type alone
# does not give one (see `_changed_value`).
SPECIAL_VALUES: dict[str, str] = {
    "DATABASE_URL": "postgresql://someone@elsewhere:6543/other",
    "DATABASE_SESSION_URL": "postgresql://someone@server:5432/other",
    "DATABASE_READ_URLS": "postgresql://r1:5432/other,postgresql://r2:5432/other",
    "PREDHUB_DATA_DIR": "{tmp}/other-data",
    "STATIC_SCHEDULE_DAY": "wed",
    "ENABLED_VENUES": "kalshi",
    "VENUE_RATE_LIMITS": "kalshi:*=5/1",
    "VENUE_REQUEST_BUDGETS": "kalshi=3",
    "TOP_VOLUME_FLOORS": "kalshi=5000",
    "FEE_MULTIPLIERS": "KXBTCD=0.5",
    "ACCESS_LEVEL_PERMISSIONS": "whitelist=read+write",
    "ACCESS_LEVEL_LIMITS": "vip=10/1",
    "LOG_LEVEL": "WARNING",
    "LOG_JSON": "true",
    "API_HOST": "0.0.0.0",
    "SIM_HOST": "0.0.0.0",
    "KALSHI_PRIVATE_KEY_FILE": "{tmp}/kalshi-key.pem",  # written by the test
}


def _write_test_key(path: Path) -> None:
    """A throw-away RSA private key, as Kalshi hands one out (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


def _changed_value(field: str, name: str, tmp_path: Path) -> str:
    if name in SPECIAL_VALUES:
        return SPECIAL_VALUES[name].format(tmp=tmp_path)
    info = Settings.model_fields[field]
    default: Any = info.get_default(call_default_factory=True)
    if Settings.is_secret(field):
        return "some-secret"
    if isinstance(default, bool):
        return "false" if default else "true"
    if isinstance(default, int):
        return str(default + 1)
    if isinstance(default, float):
        return str(default / 2)
    if isinstance(default, str) and default.startswith(("http", "ws")):
        return default.rstrip("/") + "/changed"
    return "changed"


def _config_table(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    rows: dict[str, str] = {}
    for line in result.stdout.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃]", line)]
        if len(cells) == 4 and re.fullmatch(r"[A-Z0-9_]+", cells[1]):
            rows[cells[1]] = cells[2]
    return rows


def test_config_prints_exactly_the_variables_that_are_read(tmp_path: Path) -> None:
    env = _clean_env()
    before = _config_table(_predhub("config", env=env, cwd=tmp_path))
    fields = {Settings.env_names(field)[0]: field for field in Settings.model_fields}
    assert set(before) == set(fields), "config lists one row per setting, by its variable"
    changed = {name: _changed_value(fields[name], name, tmp_path) for name in before}
    _write_test_key(tmp_path / "kalshi-key.pem")
    after = _config_table(_predhub("config", env={**env, **changed}, cwd=tmp_path))
    unchanged = sorted(name for name in before if after[name] == before[name])
    assert unchanged == [], f"setting these printed names changed nothing: {unchanged}"


def test_readme_configuration_table_names_only_real_variables() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    read = {name for field in Settings.model_fields for name in Settings.env_names(field)}
    assert named, "the README has a configuration table"
    assert sorted(named - read) == []


def test_readme_configuration_table_names_every_variable() -> None:
    """The other half: each setting has its line (its first, documented name)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    missing = [
        Settings.env_names(field)[0]
        for field in Settings.model_fields
        if not named & set(Settings.env_names(field))
    ]
    assert missing == []


def _kalshi_key_error(tmp_path: Path, **env: str) -> str:
    result = _predhub("config", env={**_clean_env(), **env}, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_kalshi_private_key_file_is_checked_when_settings_load(tmp_path: Path) -> None:
    """Unreadable, not a key, not RSA, or without its key id: one line naming the variable."""
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    not_rsa = tmp_path / "ec.pem"
    not_rsa.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    good = tmp_path / "good.pem"
    _write_test_key(good)
    cases = [
        ({"KALSHI_PRIVATE_KEY_FILE": str(tmp_path / "missing.pem")}, "cannot read"),
        ({"KALSHI_PRIVATE_KEY_FILE": str(garbage)}, "not an unencrypted PEM private key"),
        ({"KALSHI_PRIVATE_KEY_FILE": str(not_rsa)}, "not an RSA private key"),
    ]
    for env, hint in cases:
        line = _kalshi_key_error(tmp_path, KALSHI_API_KEY="key-id-1", **env)
        assert line.startswith("predhub: invalid setting KALSHI_PRIVATE_KEY_FILE="), line
        assert hint in line
    line = _kalshi_key_error(tmp_path, KALSHI_PRIVATE_KEY_FILE=str(good))
    assert "KALSHI_PRIVATE_KEY_FILE" in line and "needs KALSHI_API_KEY" in line
    line = _kalshi_key_error(tmp_path, KALSHI_API_KEY="key-id-1")
    assert "KALSHI_PRIVATE_KEY_FILE" in line and "when KALSHI_API_KEY is" in line
    # nothing of the key file's content is ever in the message
    assert "not a key" not in line
    ok = _predhub(
        "config",
        env={**_clean_env(), "KALSHI_API_KEY": "key-id-1", "KALSHI_PRIVATE_KEY_FILE": str(good)},
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert "BEGIN" not in ok.stdout and "key-id-1" not in ok.stdout
