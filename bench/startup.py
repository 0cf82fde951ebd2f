"""Cold and warm start of the embedded PostgreSQL with migrations.

cold: an empty data directory (initdb, start, create extensions, apply every migration)
warm: an existing data directory whose server is stopped (start, check migrations)
attach: a server already running (a second process attaching)

Usage: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from predhub.db import migrate
from predhub.db.connect import connect
from predhub.db.embedded import EmbeddedPostgres
from predhub.logging import configure_logging


async def _migrate(url: str) -> None:
    conn = await connect(url)
    try:
        await migrate.upgrade(conn)
    finally:
        await conn.close()


def timed_start(data_dir: Path) -> tuple[float, EmbeddedPostgres]:
    started = time.perf_counter()
    server = EmbeddedPostgres(data_dir)
    running = server.ensure_running()
    asyncio.run(_migrate(running.url))
    return time.perf_counter() - started, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configure_logging("WARNING")
    cold: list[float] = []
    warm: list[float] = []
    attach: list[float] = []
    for _ in range(args.runs):
        root = Path(tempfile.mkdtemp(prefix="predhub-bench-"))
        try:
            seconds, server = timed_start(root)
            cold.append(seconds)
            seconds, _attached = timed_start(root)
            attach.append(seconds)
            server.stop()
            seconds, server = timed_start(root)
            warm.append(seconds)
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print(f"embedded PostgreSQL start with migrations, {args.runs} runs (median / max seconds)")
    for name, values in (("cold", cold), ("warm", warm), ("attach", attach)):
        print(f"  {name:<7} {statistics.median(values):6.2f} / {max(values):6.2f}")


if __name__ == "__main__":
    main()
