"""A signalled API or worker exits, whatever state its database is in.

The hub's supervisor stops its components with a signal, and when the
supervisor itself is killed the kernel sends it (the parent-death signal)
while the watchdog stops the embedded server at the same moment. A stop that
waits on the database (a last flush, a pool's close, a request or a job under
way, the LISTEN watcher) must not wait forever on one that has gone or stopped
answering: the process exits. The bound below only says that it exited at
all; the stop itself is bounded well under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from predhub.db.embedded import EmbeddedPostgres
from predhub.sim.testing import running_simulator
from scheduler.simtools import tiny_world

from .stack import (
    dedicated_server,
    free_port,
    migrated,
    predhub_process,
    stack_env,
    wait_for_markets,
    wait_until_ready,
)

EXIT_BOUND_SECONDS = 60.0  # liveness only: "it exited", not how fast
STOP_ROUNDS = 3  # the signal and the stop race differently each time


def server_processes(server: EmbeddedPostgres) -> list[psutil.Process]:
    """The postmaster and every process it started."""
    assert server.server is not None
    postmaster = psutil.Process(server.server.pid)
    return [postmaster, *postmaster.children(recursive=True)]


@contextlib.contextmanager
def frozen(server: EmbeddedPostgres) -> Iterator[None]:
    """Every server process stopped (SIGSTOP): sockets stay open, nothing answers, as
    on a host that froze; resumed afterwards so that the server can be stopped."""
    processes = server_processes(server)  # the postmaster first: it forks no new backend
    for process in processes:
        process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGCONT)


async def exits(popen: subprocess.Popen[bytes]) -> bool:
    try:
        await asyncio.to_thread(popen.wait, EXIT_BOUND_SECONDS)
    except subprocess.TimeoutExpired:
        return False
    return True


def api_env(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "ENABLED_VENUES": "kalshi", "LOG_LEVEL": "INFO"}


async def test_api_exits_on_sigterm_while_its_database_is_frozen(tmp_path: Path) -> None:
    with dedicated_server(tmp_path / "pg") as server:
        assert server.server is not None
        url = server.server.url
        await migrated(url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = ["serve", "--port", str(port)]
        with predhub_process(args, api_env(url), tmp_path / "api.log") as api:
            await wait_until_ready(base, api)
            async with httpx.AsyncClient(base_url=base, timeout=EXIT_BOUND_SECONDS) as client:
                with frozen(server):
                    # a request under way, waiting on the database, holding a connection
                    pending = asyncio.create_task(client.get("/readyz"))
                    await asyncio.sleep(1.0)
                    assert not pending.done()
                    api.popen.send_signal(signal.SIGTERM)
                    exited = await exits(api.popen)
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                        await pending
            assert exited, f"the API did not exit:\n{api.log()[-3000:]}"
            assert "Traceback" not in api.log(), api.log()[-3000:]


async def test_api_exits_on_sigterm_as_its_database_stops(tmp_path: Path) -> None:
    # What the supervisor's death brings: the signal and the server's fast stop together.
    with dedicated_server(tmp_path / "pg") as server:
        assert server.server is not None
        url = server.server.url
        await migrated(url)
        for round_ in range(STOP_ROUNDS):
            server.ensure_running()
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            args = ["serve", "--port", str(port)]
            log = tmp_path / f"api-{round_}.log"
            with predhub_process(args, api_env(url), log) as api:
                await wait_until_ready(base, api)
                api.popen.send_signal(signal.SIGTERM)
                server.started_here = True
                await asyncio.to_thread(server.stop)
                exited = await exits(api.popen)
                assert exited, f"the API did not exit:\n{api.log()[-3000:]}"
                assert "Traceback" not in api.log(), api.log()[-3000:]


async def test_worker_exits_on_sigterm_while_its_database_is_frozen(tmp_path: Path) -> None:
    with (
        running_simulator(tiny_world(kalshi_markets=20)) as sim,
        dedicated_server(tmp_path / "pg") as server,
    ):
        assert server.server is not None
        url = server.server.url
        await migrated(url)
        env = stack_env(url, sim, LOG_LEVEL="INFO")
        with predhub_process(["worker"], env, tmp_path / "worker.log") as worker:
            await wait_for_markets(url, 5, worker=worker)
            with frozen(server):
                await asyncio.sleep(1.0)  # jobs under way wait on the database
                worker.popen.send_signal(signal.SIGTERM)
                exited = await exits(worker.popen)
            assert exited, f"the worker did not exit:\n{worker.log()[-3000:]}"
