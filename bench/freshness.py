"""Freshness within a budget: p95 quote staleness per priority against its target.

A simulated Polymarket with N active markets (default 5,000), a request budget
of R requests per second (default 10, shared by every data kind the engine
polls), and M simulated minutes (default 10). The engine runs on an injected
clock that moves in step with the simulator's `advance`, so ten simulated
minutes take a minute or two of wall time. Every cycle the quote age of every
market is sampled; the report gives the median and p95 age per priority next
to the priority's cadence (its target), the requests spent against the budget,
and whether the budget was ever exceeded.

Usage: python bench/freshness.py [--markets N] [--rps R] [--minutes M] [--quotes-only]

`--streams` measures something else, in real time against every venue at once:
the staleness of high-priority markets' quotes as a reader of the database sees
it, polling alone and then polling with live streams on (a fresh database
each). Every half second each high-priority market's stored Yes bid and ask
are compared with the simulator's; a market whose stored quote differs from
the venue's has been stale since the first sample that saw the difference.
The report gives p95 staleness per venue for both runs and their ratio; a
venue without a stream (or without the credentials its stream needs) shows
polling in both. Callers' interest makes each venue's five busiest markets
high priority, so small venues have some; markets with no bid or ask stored
(no book at the venue) are not sampled. Two diagnostics follow each venue:
stale samples of markets the stream had not subscribed at the time, and which
writer (the bronze endpoint of the stored quote; none for a batch of stream
messages) last wrote the stale quotes.

Usage: python bench/freshness.py --streams [--seconds S] [--warmup W] [--trade-rate T]
    [--stream-thread]

`--stream-thread` adds a third run with the streams on a thread with an event
loop of their own (as a worker runs them with `STREAM_THREAD`), and a table of
its staleness against the run with the streams on the jobs' loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

from _scratch import run_on_server
from predhub.db import migrate
from predhub.db.connect import connect, create_pool
from predhub.ingest.pipeline import Ingestor
from predhub.logging import configure_logging
from predhub.models import SyncPriority
from predhub.scheduler.cadence import PRIORITY_ORDER, Cadences, DataKind
from predhub.scheduler.streams import StreamConsumer
from predhub.scheduler.streamthread import StreamThread
from predhub.scheduler.worker import VenueWorker
from predhub.sim.config import SimConfig
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.budget import budget_per_minute
from predhub.venues.registry import build_venue


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, url: str) -> None:
    conn = await connect(url)
    await migrate.upgrade(conn)
    await conn.close()
    config = SimConfig.small(
        polymarket_markets=args.markets,
        polymarket_events=max(1, args.markets // 4),
        kalshi_markets=0,
        limitless_markets=0,
        opinion_markets=0,
        seed=args.seed,
    )
    with running_simulator(config) as sim:
        settings = sim.settings(
            enabled_venues="polymarket",
            venue_request_budgets=f"polymarket={args.rps}",
            worker_budget_share=1.0,
            rate_limit_scale=1.0,  # the budget is this run's parameter, not a venue's limit
            scheduler_cycle_seconds=args.cycle,
        )
        pool = await create_pool(url, min_size=2, max_size=12)
        venue = build_venue("polymarket", settings)
        ingestor = Ingestor(pool, venue, settings)
        started = time.perf_counter()
        await ingestor.static_load()
        load_seconds = time.perf_counter() - started
        await pool.execute("DELETE FROM ops.venue_usage")

        clock = SimClock(datetime.now(UTC).replace(microsecond=0))

        async def wait(seconds: float) -> None:
            """A job waiting for the next minute's budget: simulated time passes."""
            clock.now += timedelta(seconds=seconds)
            await asyncio.to_thread(sim.advance, seconds)

        worker = VenueWorker(pool, venue, ingestor, settings, clock=clock, sleep=wait, restamp=True)
        if args.quotes_only:
            worker.kinds = [DataKind.QUOTES]
        await pool.execute(
            "INSERT INTO ops.sync_state (venue, kind, watermark) "
            "SELECT 'polymarket', k, '99999999999' FROM unnest($1::text[]) k",
            ["schedule:delta_load", "schedule:resolution_sweep", "schedule:static_load"],
        )  # the periodic loads are not what this bench measures
        ages: dict[str, list[float]] = {p.value: [] for p in PRIORITY_ORDER}
        steps = int(args.minutes * 60 / args.cycle)
        sim_started = time.perf_counter()
        for step in range(steps):
            await worker.cycle()
            if step * args.cycle >= args.warmup * 60:
                await sample(pool, clock.now, ages)
            clock.now += timedelta(seconds=args.cycle)
            sim.advance(args.cycle)
        wall = time.perf_counter() - sim_started
        usage = await pool.fetch("SELECT minute, requests FROM ops.venue_usage ORDER BY minute")
        counts = await pool.fetch(
            "SELECT sync_priority, count(*) AS n FROM silver.market_sync GROUP BY 1"
        )
        await venue.close()
        await pool.close()

    cap = budget_per_minute("polymarket", settings)
    cadences = Cadences.from_settings(settings)
    n = {r["sync_priority"]: r["n"] for r in counts}
    print(
        f"markets {sum(n.values())} (static load {load_seconds:.1f}s), budget {args.rps} req/s "
        f"= {cap}/min, {args.minutes} simulated min in {wall:.1f}s wall "
        f"({'quotes only' if args.quotes_only else 'all data kinds'})"
    )
    print(f"{'priority':<10}{'markets':>9}{'target':>9}{'median':>9}{'p95':>9}  met")
    for p in PRIORITY_ORDER:
        target = cadences.get(SyncPriority(p), DataKind.QUOTES)
        values = ages[p.value]
        if not values or target is None:
            print(f"{p.value:<10}{n.get(p.value, 0):>9}{'-':>9}{'-':>9}{'-':>9}  -")
            continue
        p95 = percentile(values, 0.95)
        print(
            f"{p.value:<10}{n.get(p.value, 0):>9}{target:>8.0f}s{statistics.median(values):>8.0f}s"
            f"{p95:>8.0f}s  {'yes' if p95 <= target else 'NO'}"
        )
    per_minute = [r["requests"] for r in usage]
    over = [v for v in per_minute if v > cap]
    print(
        f"requests {sum(per_minute)} in {len(per_minute)} min (max {max(per_minute, default=0)}/min, "
        f"cap {cap}/min); minutes over budget: {len(over)}"
    )


async def sample(pool: asyncpg.Pool, now: datetime, ages: dict[str, list[float]]) -> None:
    rows = await pool.fetch(
        "SELECT s.sync_priority, extract(epoch FROM $1 - s.quotes_synced_at) AS age "
        "FROM silver.markets m JOIN silver.market_sync s ON s.market_id = m.id "
        "WHERE m.status = 'open' AND s.quotes_synced_at IS NOT NULL",
        now,
    )
    for r in rows:
        ages[r["sync_priority"]].append(max(0.0, float(r["age"])))


class Samples(dict[str, list[float]]):
    """Staleness samples per venue, and per venue those of markets not streamed at the time."""

    def __init__(self, venues: list[str]) -> None:
        super().__init__({v: [] for v in venues})
        self.unstreamed: dict[str, list[float]] = {v: [] for v in venues}
        # stale samples by what wrote the stale quote (its bronze endpoint)
        self.writers: dict[str, Counter[str]] = {v: Counter() for v in venues}


async def stream_run(
    handle: SimHandle, url: str, *, streams: str, seconds: float, warmup: float
) -> Samples:
    """One run, every venue: staleness samples (s) of high-priority markets per venue.

    `streams`: "off" (polling alone), "loop" (the consumers on the jobs' event
    loop) or "thread" (on a thread with their own loop, as a worker runs them).
    """
    conn = await connect(url)
    await migrate.upgrade(conn)
    await conn.close()
    settings = handle.settings(
        rate_limit_scale=1.0, worker_budget_share=1.0, ws_silence_seconds=10.0
    )
    pool = await create_pool(url, min_size=2, max_size=20)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    venues = [build_venue(name, settings) for name in settings.venues]
    consumers: dict[str, StreamConsumer] = {}
    thread: StreamThread | None = None
    try:
        for venue in venues:
            ingestor = Ingestor(pool, venue, settings)
            await ingestor.static_load()
            worker = VenueWorker(pool, venue, ingestor, settings)
            tasks.append(asyncio.create_task(worker.run(stop)))
            if streams == "loop" and venue.can_stream():
                consumer = consumers[venue.name] = StreamConsumer(pool, venue, ingestor, settings)
                tasks.append(asyncio.create_task(consumer.run(stop)))
        if streams == "thread":
            names = [v.name for v in venues if v.can_stream()]
            thread = StreamThread(settings, url, names, build_venue)
            thread.start()
        await interest(pool)
        await asyncio.sleep(warmup)
        samples = Samples([v.name for v in venues])
        stale_since: dict[tuple[str, str], float] = {}
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = time.monotonic()
            truth = {
                (m["venue"], m["market"]): (
                    m["outcomes"][0]["best_bid"],
                    m["outcomes"][0]["best_ask"],
                )
                for m in (await asyncio.to_thread(handle.truth, None, None, False))["markets"]
            }
            rows = await pool.fetch(
                "SELECT m.id, m.venue, m.native_id, q.best_bid, q.best_ask, b.endpoint"
                " FROM silver.markets m"
                " JOIN silver.outcomes o ON o.market_id = m.id AND o.idx = 0"
                " LEFT JOIN silver.quotes q ON q.outcome_id = o.id"
                " JOIN silver.market_sync s ON s.market_id = m.id"
                " LEFT JOIN bronze.api_responses b ON b.id = q.bronze_id"
                " WHERE s.sync_priority = 'high' AND m.status = 'open'"
                # a market the venue shows no book for (an AMM) has no bid or ask to compare
                " AND (q.best_bid IS NOT NULL OR q.best_ask IS NOT NULL)"
            )
            for r in rows:
                key = (r["venue"], r["native_id"])
                want = truth.get(key)
                held = (
                    None if r["best_bid"] is None else float(r["best_bid"]),
                    None if r["best_ask"] is None else float(r["best_ask"]),
                )
                if want is None or held == want:
                    stale_since.pop(key, None)
                    samples[r["venue"]].append(0.0)
                else:
                    age = now - stale_since.setdefault(key, now)
                    samples[r["venue"]].append(age)
                    samples.writers[r["venue"]][str(r["endpoint"])] += 1
                    if thread is not None:
                        consumers = {c.name: c for c in thread.consumers}
                    streamed = consumers.get(r["venue"])
                    if streamed is not None and r["id"] not in streamed.subscribed:
                        samples.unstreamed[r["venue"]].append(age)
            await asyncio.sleep(max(0.0, 0.5 - (time.monotonic() - now)))
        return samples
    finally:
        stop.set()
        if thread is not None:
            await thread.stopped()
        _, late = await asyncio.wait(tasks, timeout=30)
        for task in late:  # e.g. a resync waiting for the next minute's budget
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        for venue in venues:
            await venue.close()
        await pool.close()


async def interest(pool: asyncpg.Pool) -> None:
    """Callers asked for each venue's five busiest open markets a moment ago (as the API
    records it), so every venue has high-priority markets, small ones included."""
    await pool.execute(
        "UPDATE silver.market_sync SET interest_at = now() WHERE market_id IN ("
        " SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY venue"
        "  ORDER BY volume_24h DESC NULLS LAST, id) AS n FROM silver.markets"
        "  WHERE status = 'open') r WHERE n <= 5)"
    )


async def streams_bench(args: argparse.Namespace, server_url: str) -> None:
    config = SimConfig.small(
        seed=args.seed, speed=1.0, latency_scale=0.2, trades_per_market_hour=args.trade_rate
    )
    results: dict[str, Samples] = {}
    modes = ("off", "loop", "thread") if args.stream_thread else ("off", "loop")
    with running_simulator(config) as handle:
        admin = await asyncpg.connect(server_url)
        try:
            for streams in modes:
                name = f"predhub_bench_fresh_{streams}_{os.getpid()}"
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                await admin.execute(f'CREATE DATABASE "{name}"')
                url = server_url.rsplit("/", 1)[0] + "/" + name
                try:
                    results[streams] = await stream_run(
                        handle, url, streams=streams, seconds=args.seconds, warmup=args.warmup
                    )
                finally:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        streaming = {
            name
            for name in handle.settings().venues
            if build_venue(name, handle.settings()).can_stream()
        }
    print(
        f"p95 quote staleness of high-priority markets, {args.seconds:.0f}s sampled per run "
        f"after {args.warmup:.0f}s warm-up, {args.trade_rate:g} trades per market-hour"
    )
    print(
        f"{'venue':<12}{'stream':>8}{'samples':>9}{'polling':>10}{'streams':>10}{'ratio':>8}"
        f"  goal <5s   stale samples outside the subscription (max)"
    )
    for venue in results["off"]:
        polled, streamed = results["off"][venue], results["loop"][venue]
        if not polled or not streamed:
            print(
                f"{venue:<12}{'-':>8}{'0':>9}{'-':>10}{'-':>10}{'-':>8}  no high-priority markets"
            )
            continue
        a, b = percentile(polled, 0.95), percentile(streamed, 0.95)
        ratio = f"{a / b:.1f}x" if b > 0 else ("1.0x" if a == 0 else "inf")
        has = venue in streaming
        goal = ("yes" if b < 5 else "NO") if has else "n/a (polls)"
        outside = results["loop"].unstreamed[venue]
        writers = ", ".join(f"{k} {n}" for k, n in results["loop"].writers[venue].most_common(4))
        print(
            f"{venue:<12}{'yes' if has else 'no':>8}{len(streamed):>9}{a:>9.1f}s{b:>9.1f}s"
            f"{ratio:>8}  {goal:<9}  {len(outside)} ({max(outside, default=0):.1f}s)"
            if has
            else f"{venue:<12}{'no':>8}{len(streamed):>9}{a:>9.1f}s{b:>9.1f}s{ratio:>8}  {goal}"
        )
        print(f"{'':<12}stale quotes written by: {writers or '-'}")
    if "thread" in results:
        print("streams on the jobs' event loop against streams on a thread of their own (p95)")
        print(
            f"{'venue':<12}{'samples':>9}{'loop':>10}{'thread':>10}{'ratio':>8}  mean loop/thread"
        )
        for venue in results["loop"]:
            looped, threaded = results["loop"][venue], results["thread"][venue]
            if venue not in streaming or not looped or not threaded:
                continue
            a, b = percentile(looped, 0.95), percentile(threaded, 0.95)
            ratio = f"{a / b:.1f}x" if b > 0 else ("1.0x" if a == 0 else "inf")
            ma, mb = statistics.fmean(looped), statistics.fmean(threaded)
            print(
                f"{venue:<12}{len(threaded):>9}{a:>9.2f}s{b:>9.2f}s{ratio:>8}"
                f"  {ma:.2f}s / {mb:.2f}s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", action="store_true", help="polling against streams, real time")
    parser.add_argument(
        "--stream-thread",
        action="store_true",
        help="--streams: a third run with the streams on a thread of their own",
    )
    parser.add_argument("--seconds", type=float, default=90.0, help="--streams: sampled per run")
    parser.add_argument(
        "--trade-rate", type=float, default=120.0, help="--streams: per market-hour"
    )
    parser.add_argument("--markets", type=int, default=5000)
    parser.add_argument("--rps", type=float, default=10.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cycle", type=float, default=5.0, help="simulated seconds per cycle")
    parser.add_argument("--warmup", type=float, default=0.0, help="simulated minutes not sampled")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quotes-only", action="store_true")
    parser.add_argument("--database-url", help="an existing server (default: embedded)")
    args = parser.parse_args()
    configure_logging(os.environ.get("BENCH_LOG_LEVEL", "WARNING"), False)
    bench = streams_bench if args.streams else run
    if args.streams and not args.warmup:
        args.warmup = 30.0
    run_on_server(bench, args, args.database_url)


if __name__ == "__main__":
    main()
