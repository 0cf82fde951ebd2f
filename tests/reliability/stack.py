"""The pieces a reliability trial runs: a server of its own, the API and a worker as processes.

Each trial owns its PostgreSQL server (in a temporary directory, on a fixed
port so that a restart comes back where the clients look), because the
trials stop it, kill its sessions or fill its disk, which the session's
shared server must never see.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from predhub.db import migrate
from predhub.db.connect import connect
from predhub.db.embedded import EmbeddedPostgres
from predhub.sim.testing import SimHandle

RECOVERY_BOUND_SECONDS = 5.0  # the API answers again within this of the database's return
REQUEST_TIMEOUT_SECONDS = 10.0  # a read slower than this during an outage counts as a hang


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def dedicated_server(root: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server for one trial, stopped (and its files removed) afterwards."""
    server = EmbeddedPostgres(root, port=free_port())
    server.ensure_running()
    try:
        yield server
    finally:
        server.started_here = True  # a trial may have restarted it: stop whatever runs
        server.stop()


def restart(server: EmbeddedPostgres) -> None:
    """Start a stopped server again on its port (the same URL)."""
    server.ensure_running()


async def migrated(url: str) -> None:
    conn = await connect(url)
    try:
        await migrate.upgrade(conn)
    finally:
        await conn.close()


def stack_env(db_url: str, sim: SimHandle, **extra: str) -> dict[str, str]:
    """The environment of `predhub serve` and `predhub worker` against `db_url` and `sim`."""
    env = {**os.environ, **sim.env}
    env.update(
        DATABASE_URL=db_url,
        ENABLED_VENUES="kalshi",
        WORKER_LEASE_SECONDS="3",
        SCHEDULER_CYCLE_SECONDS="0.5",
        HTTP_BACKOFF_BASE_SECONDS="0.01",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


@dataclass
class Proc:
    """A predhub process whose output goes to a file the test reads afterwards."""

    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


@contextlib.contextmanager
def predhub_process(args: list[str], env: dict[str, str], log_path: Path) -> Iterator[Proc]:
    with open(log_path, "wb") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "predhub.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log_path.parent,
        )
    proc = Proc(popen, log_path)
    try:
        yield proc
    finally:
        proc.stop()


async def wait_until_ready(base_url: str, proc: Proc, within: float = 120) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            assert proc.alive(), f"the API exited:\n{proc.log()[-3000:]}"
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"the API did not become ready:\n{proc.log()[-3000:]}")


async def wait_for_markets(
    url: str, minimum: int, within: float = 120, worker: Proc | None = None
) -> list[str]:
    """Native ids of the markets the worker has loaded, once there are `minimum`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if worker is not None:
            assert worker.alive(), f"the worker exited:\n{worker.log()[-3000:]}"
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            conn = await asyncpg.connect(url)
            try:
                rows = await conn.fetch("SELECT native_id FROM silver.markets ORDER BY id")
            finally:
                await conn.close()
            if len(rows) >= minimum:
                return [r["native_id"] for r in rows]
        await asyncio.sleep(0.3)
    said = f"; the worker said:\n{worker.log()[-3000:]}" if worker is not None else ""
    raise AssertionError(f"fewer than {minimum} markets were loaded in {within} s{said}")


@dataclass
class ReadLog:
    """What the readers saw: status codes, bodies of the failures, hangs."""

    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    unavailable_bodies: list[dict[str, object]] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)


def read_paths(venue: str, native_ids: list[str]) -> list[str]:
    """A mix of the API's read routes over a few markets."""
    ids = [f"{venue}:{n}" for n in native_ids[:5]]
    paths = ["/v1/markets?limit=20", "/v1/search?q=will&limit=5"]
    for key in ids:
        paths += [f"/v1/markets/{key}", f"/v1/markets/{key}/price", f"/v1/markets/{key}/trades"]
    return paths


async def read_forever(base_url: str, paths: list[str], seen: ReadLog) -> None:
    """Cycle through `paths` until cancelled, recording every answer."""
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        while True:
            for path in paths:
                try:
                    response = await client.get(path)
                except httpx.TimeoutException:
                    seen.hangs.append(path)
                    continue
                except httpx.TransportError as exc:
                    seen.transport_errors.append(f"{path}: {exc!r}")
                    await asyncio.sleep(0.05)
                    continue
                seen.statuses[response.status_code] += 1
                if response.status_code >= 500 and response.status_code != 503:
                    seen.server_errors.append(f"{path}: {response.status_code} {response.text}")
                elif response.status_code == 503:
                    seen.unavailable_bodies.append(response.json())
                await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def readers(base_url: str, paths: list[str], count: int = 4) -> AsyncIterator[ReadLog]:
    seen = ReadLog()
    tasks = [asyncio.create_task(read_forever(base_url, paths, seen)) for _ in range(count)]
    try:
        yield seen
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def wait_for_recovery(base_url: str, path: str) -> None:
    """Poll `path` until it answers 200; fail past the bound (a recovery, not a restart)."""
    deadline = time.monotonic() + RECOVERY_BOUND_SECONDS
    last = "no answer"
    async with httpx.AsyncClient(base_url=base_url, timeout=RECOVERY_BOUND_SECONDS) as client:
        while time.monotonic() < deadline:
            try:
                response = await client.get(path)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            await asyncio.sleep(0.1)
    raise AssertionError(
        f"{path} did not answer 200 within {RECOVERY_BOUND_SECONDS} s of the database's "
        f"return; last: {last}"
    )


async def wait_for_listener(base_url: str) -> None:
    """Poll /readyz until the API's LISTEN connection is back; fail past the bound."""
    deadline = time.monotonic() + RECOVERY_BOUND_SECONDS
    last: object = None
    async with httpx.AsyncClient(base_url=base_url, timeout=RECOVERY_BOUND_SECONDS) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                last = (await client.get("/readyz")).json()
                if isinstance(last, dict) and last.get("details", {}).get("listener") is True:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"the LISTEN connection was not re-established: {last}")
