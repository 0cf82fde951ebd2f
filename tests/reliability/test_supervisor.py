"""The demo's supervisor: stopped by signals however it was started, and never leaving orphans."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import psutil
import pytest

from predhub.db.embedded import read_running

from .demo_support import (
    Demo,
    answers,
    demo_env,
    eventually,
    gone,
    port_free,
    predhub_cmd,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="parent-death signal is Linux's")


def _kill_leftovers(pids: list[int]) -> None:
    """Never leave a process behind, whatever the test saw."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    return [child.pid for child in psutil.Process(pid).children(recursive=True)]


def test_demo_in_a_scripts_background_stops_on_ctrl_c(data_dir: Path) -> None:
    # A non-interactive shell starts background jobs with SIGINT ignored.
    env = demo_env(data_dir)
    demo = Demo(["sh", "-c", '"$0" -m predhub demo & wait', sys.executable], env)
    watched: list[int] = []
    try:
        assert demo.wait_for("Press Ctrl-C"), demo.output
        watched = _descendants(demo.proc.pid)
        server = read_running(data_dir / "pgdata")
        assert server is not None
        watched.append(server.pid)
        os.killpg(demo.proc.pid, signal.SIGINT)  # Ctrl-C in the script's terminal
        assert demo.wait_for_end_of_output(), "the demo ignored Ctrl-C:\n" + demo.output
        assert eventually(lambda: all(gone(pid) for pid in watched))
    finally:
        _kill_leftovers([demo.proc.pid, *watched])
    assert "stopped" in demo.output
    assert "Traceback" not in demo.output, demo.output
    assert read_running(data_dir / "pgdata") is None


def test_sigterm_stops_the_demo_once_in_order(data_dir: Path) -> None:
    env = demo_env(data_dir)
    demo = Demo(predhub_cmd("demo"), env)
    watched: list[int] = []
    try:
        assert demo.wait_for("Press Ctrl-C"), demo.output
        watched = _descendants(demo.proc.pid)
        demo.proc.send_signal(signal.SIGTERM)
        demo.proc.send_signal(signal.SIGTERM)  # a second one does not cut the stop short
        assert demo.proc.wait(timeout=90) == 0, demo.output
        assert demo.wait_for_end_of_output()
    finally:
        _kill_leftovers([demo.proc.pid, *watched])
    assert demo.output.count("stopping...") == 1
    assert "Traceback" not in demo.output, demo.output
    assert read_running(data_dir / "pgdata") is None


def test_sigkill_of_the_supervisor_leaves_no_orphans_and_the_demo_starts_again(
    data_dir: Path,
) -> None:
    env = demo_env(data_dir)
    api = f"http://127.0.0.1:{env['API_PORT']}"
    demo = Demo(predhub_cmd("demo"), env)
    watched: list[int] = []
    try:
        assert demo.wait_for("Press Ctrl-C"), demo.output
        assert eventually(lambda: answers(f"{api}/readyz")), demo.output
        watched = _descendants(demo.proc.pid)
        server = read_running(data_dir / "pgdata")
        assert server is not None
        watched += [server.pid, *(c.pid for c in psutil.Process(server.pid).children())]

        demo.proc.kill()
        demo.proc.wait()

        alive = lambda: [pid for pid in watched if not gone(pid)]  # noqa: E731
        assert eventually(lambda: not alive()), f"orphans: {alive()}\n{demo.output[-3000:]}"
        assert eventually(lambda: port_free(int(env["API_PORT"])))
        assert eventually(lambda: port_free(int(env["SIM_PORT"])))
        assert port_free(server.port)
        assert not answers(f"{api}/readyz")
        assert read_running(data_dir / "pgdata") is None
    finally:
        _kill_leftovers([demo.proc.pid, *watched])

    again = Demo(predhub_cmd("demo"), env)
    try:
        assert again.wait_for("Press Ctrl-C"), again.output
        assert eventually(lambda: answers(f"{api}/readyz")), again.output
        os.killpg(again.proc.pid, signal.SIGINT)
        assert again.proc.wait(timeout=90) == 0, again.output
    finally:
        if again.proc.poll() is None:
            again.proc.kill()
    assert read_running(data_dir / "pgdata") is None
