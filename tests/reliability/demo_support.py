"""Start `predhub demo` as a user would, in a temporary data dir on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PREDHUB_DATA_DIR": str(data_dir),
        "API_PORT": str(free_port()),
        "SIM_PORT": str(free_port()),
        "LOG_JSON": "true",
        **extra,
    }
    env.pop("DATABASE_URL", None)
    return env


def predhub_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "predhub", *args]


class Demo:
    """A running `predhub demo` (or a shell around it) whose output is read as it comes.

    A thread drains the output, so the children never block on a full pipe
    after the test stops looking.
    """

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a group of its own, as a terminal's foreground job has
        )
        self.lines: list[str] = []
        self.closed = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
        self.closed.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, marker: str, seconds: float = 180) -> bool:
        """Whether a line containing marker appears before the output ends."""
        return eventually(
            lambda: any(marker in line for line in self.lines) or self.closed.is_set(), seconds
        ) and any(marker in line for line in self.lines)

    def wait_for_end_of_output(self, seconds: float = 90) -> bool:
        """Every process holding the output (the demo and its children) has exited."""
        return self.closed.wait(seconds)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def gone(pid: int) -> bool:
    """Exited (a zombie left for an absent parent to reap counts as exited)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def eventually(condition: object, seconds: float = 60) -> bool:
    """Poll a condition until it holds or the bounded wait runs out."""
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())
