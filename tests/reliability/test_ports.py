"""A port already taken: one line naming the port and the setting that moves it, exit 2."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from predhub.db.embedded import read_running

from .demo_support import demo_env, free_port, predhub_cmd


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        predhub_cmd(*args), env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


@pytest.mark.parametrize("variable", ["API_PORT", "SIM_PORT"])
def test_demo_on_a_taken_port_says_which_and_starts_nothing(
    data_dir: Path, taken_port: int, variable: str
) -> None:
    result = _run(["demo"], demo_env(data_dir, **{variable: str(taken_port)}))
    line = _one_line(result)
    assert str(taken_port) in line and variable in line
    assert "predhub is up" not in result.stdout
    assert read_running(data_dir / "pgdata") is None, "nothing was started"


def test_demo_on_a_taken_embedded_database_port(data_dir: Path, taken_port: int) -> None:
    env = demo_env(data_dir, PREDHUB_EMBEDDED_PG_PORT=str(taken_port))
    line = _one_line(_run(["demo"], env))
    assert str(taken_port) in line and "PREDHUB_EMBEDDED_PG_PORT" in line


def test_serve_on_a_taken_port(taken_port: int) -> None:
    # The port is checked before the database is even looked for.
    env = demo_env(Path("/nonexistent"), API_PORT=str(taken_port))
    env["DATABASE_URL"] = f"postgresql://u@127.0.0.1:{free_port()}/x"
    line = _one_line(_run(["serve"], env))
    assert str(taken_port) in line and "API_PORT" in line


def test_sim_on_a_taken_port(taken_port: int) -> None:
    env = demo_env(Path("/nonexistent"), SIM_PORT=str(taken_port))
    line = _one_line(_run(["sim", "--quiet"], env))
    assert str(taken_port) in line and "SIM_PORT" in line
