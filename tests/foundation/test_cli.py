"""The command line: bad configuration is one line and exit code 2; Ctrl-C stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from predhub import cli
from predhub.db.embedded import read_running
from predhub.errors import UsageProblem
from predhub.ingest.errors import LoadFailedRetriable
from predhub.settings import Settings
from predhub.venues.errors import RetriableError


def _predhub(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "predhub", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def test_non_numeric_setting_is_one_line_exit_2(tmp_path: Path) -> None:
    result = _predhub("config", env={"TOP_N_MARKETS": "lots", "PREDHUB_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "TOP_N_MARKETS" in lines[0] and "Traceback" not in result.stderr


def test_unreachable_database_is_one_line_exit_2() -> None:
    port = _free_port()  # nothing listens there
    result = _predhub("db", "status", env={"DATABASE_URL": f"postgresql://u@127.0.0.1:{port}/x"})
    assert result.returncode == 2
    assert "cannot connect to the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_postgres_variables_build_the_url_and_config_masks_secrets() -> None:
    settings = Settings(
        postgres_host="db.internal",
        postgres_user="app",
        postgres_password="s3cret",
        postgres_db="hub",
        postgres_port=6543,
        _env_file=None,
    )
    assert settings.explicit_database_url() == "postgresql://app:s3cret@db.internal:6543/hub"
    masked = settings.masked()
    assert masked["postgres_password"] == "********"
    assert "s3cret" not in repr(masked)
    with_url = Settings(database_url="postgresql://u:pw@h:1/d", _env_file=None)
    assert with_url.masked()["database_url"] == "postgresql://u:********@h:1/d"


def test_demo_starts_migrated_database_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PREDHUB_DATA_DIR": str(tmp_path),
        "API_PORT": str(_free_port()),
        "SIM_PORT": str(_free_port()),
        "LOG_JSON": "true",
    }
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "predhub", "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a group of its own, as a terminal's foreground job has
    )
    output: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        assert any("Press Ctrl-C" in line for line in output), "".join(output)
        assert any("embedded PostgreSQL" in line for line in output)
        running = read_running(tmp_path / "pgdata")
        assert running is not None
        assert _answers(f"http://127.0.0.1:{env['API_PORT']}/healthz"), "".join(output)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        rest, _ = proc.communicate(timeout=60)
        output.append(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(output)
    assert "Traceback" not in "".join(output), "every component shuts down gracefully"
    assert read_running(tmp_path / "pgdata") is None, "".join(output)[-3000:]


def _main_raising(
    exc: BaseException, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    def command() -> None:
        raise exc

    monkeypatch.setattr(cli, "build_app", lambda: command)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err


def test_the_cli_catches_the_error_root_usage_errors_exit_2_others_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _main_raising(UsageProblem("no such flag"), monkeypatch, capsys)
    assert code == 2 and err.strip() == "predhub: no such flag"
    failed = LoadFailedRetriable("kalshi", [RetriableError("down", venue="kalshi", status=503)])
    code, err = _main_raising(failed, monkeypatch, capsys)
    assert code == 1 and err.strip().startswith("predhub: kalshi did not answer")
    assert "Traceback" not in err


def test_a_negative_history_rate_is_one_line_exit_2(tmp_path: Path) -> None:
    result = _predhub(
        "ingest", "history", "kalshi", "--rps", "-1", env={"PREDHUB_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "--rps" in lines[0] and "HISTORY_LOAD_RPS" in lines[0]
