"""The dashboard in a real browser: the system's Chromium driven by Playwright.

Every page is opened against a live API on a seeded database; every link and
control is used once; search, filters, sorting, pages and the CSV export are
checked against what the API answers; a match is confirmed with a typed key;
a price written to the database (and announced with NOTIFY, as ingestion does)
must reach the market page, over the WebSocket and over the polling fallback.
Screenshots of every page are kept under `test-artifacts/dashboard/`.

Skipped, with the reason in pytest's summary, where Chromium or Playwright is
missing (CI installs Chromium with the system's package manager).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from api_support import ADMIN_KEY

from predhub.db import partitions
from predhub.gold.arbitrage import ArbitrageConfig
from predhub.gold.history import rollup
from predhub.gold.refresh import GoldConfig, refresh
from predhub.ingest.quarantine import quarantine
from predhub.match.run import MatchConfig, run
from predhub.models import DataError
from predhub.scheduler import jobs
from predhub.service.testing import SeedMarket, seed_market, write_quote
from predhub.settings import Settings
from predhub.venues.budget import book, budget_per_minute, reserve
from predhub.venues.descriptor import venue_names

CHROMIUM = os.environ.get("PREDHUB_CHROMIUM", "/usr/bin/chromium")
try:
    from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    async_playwright = None  # type: ignore[assignment]

_missing = (
    "Playwright is not installed (pip install -e '.[test]')"
    if async_playwright is None
    else f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set PREDHUB_CHROMIUM)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM))
    else None
)
pytestmark = pytest.mark.skipif(
    _missing is not None, reason=f"dashboard browser tests skipped: {_missing}"
)

ARTIFACTS = Path(
    os.environ.get("PREDHUB_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
) / ("dashboard")
V1, V2 = venue_names()[0], venue_names()[1]
NOW = datetime.now(UTC)
TOPICS = ("Bitcoin above {n}k", "Fed cuts rates by {n} bps", "Rain in Harbor City on day {n}")
CATEGORIES = ("Crypto", "Economics", "Weather")


@dataclass
class Site:
    base: str
    hero: int  # a market with history, trades, a book, rules, a venue link and a match
    event: int
    match: int
    ids: list[int] = field(default_factory=list)
    other: int = 0  # the hero's match on the other venue: no trade, no link to its venue


HERO_RULES = "Resolves YES if the Bitcoin index closes above $91,234 on March 5, 2027."


async def _seed(conn: asyncpg.Connection) -> dict[str, Any]:
    ids = []
    for i in range(60):
        p = round(0.03 + (i * 37 % 94) / 100, 2)
        ids.append(
            await seed_market(
                conn,
                SeedMarket(
                    venue=(V1, V2)[i % 2],
                    native_id=f"m{i}",
                    question=TOPICS[i % 3].format(n=i) + "?",
                    category=CATEGORIES[i % 3],
                    volume_24h=1000.0 * (i + 1),
                    end_at=NOW + timedelta(days=i % 20 + 1, hours=i),
                    event_native_id=f"ev{i // 6}",
                    event_title=f"Event number {i // 6}",
                    prices=(p, round(1 - p, 2)),
                    synced_ago=1,
                ),
            )
        )
        # the price now and a day ago: the rollup's price and 24 h change (the price filters)
        for ago, price in ((timedelta(minutes=1), p), (timedelta(hours=25), 0.5)):
            await partitions.ensure(conn, partitions.PRICE_HISTORY, [NOW - ago])
            await conn.execute(
                "INSERT INTO silver.price_history (outcome_id, ts, price) SELECT id, $2, $3"
                " FROM silver.outcomes WHERE market_id = $1 AND idx = 0",
                ids[-1],
                NOW - ago,
                Decimal(str(price)),
            )
    end = datetime(2027, 3, 5, 20, tzinfo=UTC)
    hero = await seed_market(
        conn,
        SeedMarket(
            V1,
            "hero",
            "Will Bitcoin be above $91,234 on March 5?",
            slug="bitcoin-above-91234-on-march-5",
            description=HERO_RULES,
            category="Crypto",
            volume_24h=900_000,
            end_at=end,
            event_native_id="ev-btc",
            event_title="Bitcoin on March 5",
            synced_ago=1,
        ),
    )
    other = await seed_market(
        conn,
        SeedMarket(
            V2,
            "hero-b",
            "BTC price above 91234 on Mar 5, 2027?",
            end_at=end,
            prices=(0.55, 0.45),
            synced_ago=3600,  # an hour old: marked stale beside the hero, with why
        ),
    )
    # the event's slug: the venue's link template for the hero's page needs it
    await conn.execute(
        "UPDATE silver.events SET slug = 'bitcoin-on-march-5' WHERE id ="
        " (SELECT event_id FROM silver.markets WHERE id = $1)",
        hero,
    )
    await run(conn, MatchConfig(venues=(V1, V2)), now=NOW, full=True)
    match_id = await conn.fetchval(
        "SELECT id FROM gold.market_matches WHERE status = 'proposed' ORDER BY confidence DESC"
    )
    outcome = await conn.fetchval(
        "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", hero
    )
    for n in range(24 * 12):  # a day of points every five minutes, and a trade an hour
        at = NOW - timedelta(minutes=5 * n)
        price = Decimal(str(round(0.5 + 0.1 * ((n % 24) - 12) / 12, 3)))
        await conn.execute(
            "INSERT INTO silver.price_history (outcome_id, ts, price) VALUES ($1, $2, $3)",
            outcome,
            at,
            price,
        )
        if n % 12 == 0:
            await conn.execute(
                "INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size,"
                " side, executed_at) VALUES ($1, $2, $3, $4, $5, $6, 'buy', $7)",
                V1,
                hero,
                outcome,
                f"t{n}",
                price,
                Decimal(10 + n),
                at,
            )
    await conn.execute(
        "INSERT INTO silver.order_book_snapshots (market_id, outcome_id, observed_at, fetched_at,"
        " bids, asks) VALUES ($1, $2, now(), now(), $3::jsonb, $4::jsonb)",
        hero,
        outcome,
        '[["0.59", "100"], ["0.58", "250"], ["0.55", "400"]]',
        '[["0.61", "120"], ["0.63", "300"], ["0.70", "500"]]',
    )
    # a confirmed pair whose YES and NO asks cost less than the dollar they pay
    yes = await seed_market(
        conn, SeedMarket(V1, "arb-a", "Arb pair A?", extra={"feesEnabled": False})
    )
    no = await seed_market(conn, SeedMarket(V2, "arb-b", "Arb pair B?"))
    for market, idx, asks in ((yes, 0, "0.40"), (yes, 1, "0.99"), (no, 0, "0.99"), (no, 1, "0.50")):
        await conn.execute(
            "INSERT INTO silver.order_book_snapshots (market_id, outcome_id, observed_at,"
            " fetched_at, bids, asks) SELECT $1, id, now(), now(), '[]', $3::jsonb"
            " FROM silver.outcomes WHERE market_id = $1 AND idx = $2",
            market,
            idx,
            f'[["{asks}", "100"]]',
        )
    await conn.execute(
        "INSERT INTO gold.market_matches (market_a, market_b, relation, confidence, status,"
        " decided_by, decided_at) VALUES ($1, $2, 'same', 1, 'confirmed', 't', now())",
        *sorted((yes, no)),
    )
    await rollup(conn, Settings(), now=datetime.now(UTC), force=True)
    config = GoldConfig(
        venues=(V1, V2),
        top_n={V1: 10, V2: 10},
        floors={V1: 0.0, V2: 0.0},
        arbitrage=ArbitrageConfig(),
    )
    await refresh(conn, config, now=datetime.now(UTC))
    event_id = await conn.fetchval("SELECT event_id FROM silver.markets WHERE id = $1", hero)
    # a second proposal, to reject (whatever else the matcher proposed)
    await conn.execute(
        "INSERT INTO gold.market_matches (market_a, market_b, relation, confidence, status)"
        " VALUES ($1, $2, 'same', 0.6, 'proposed')"
        " ON CONFLICT (market_a, market_b) DO UPDATE SET status = 'proposed',"
        " decided_at = NULL, decided_by = NULL",
        *sorted((ids[0], ids[1])),
    )
    return {
        "ids": ids,
        "hero": hero,
        "match": int(match_id),
        "event": int(event_id),
        "other": other,
    }


@pytest.fixture
async def site(live_url: str, conn: asyncpg.Connection) -> Site:
    seeded = await _seed(conn)
    return Site(
        f"http://{live_url}",
        seeded["hero"],
        seeded["event"],
        seeded["match"],
        seeded["ids"],
        seeded["other"],
    )


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        await launched.close()


@dataclass
class Tab:
    page: Page
    errors: list[str]

    def clean(self) -> None:
        assert self.errors == [], self.errors


@pytest.fixture
async def tab(browser: Browser) -> AsyncIterator[Tab]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on(
        "response",
        lambda r: errors.append(f"answer {r.status}: {r.url}") if r.status >= 400 else None,
    )
    yield Tab(page, errors)
    await context.close()


def _iso(text: str | None) -> datetime:
    assert text, "no time"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _shown_as_of(page: Page) -> datetime:
    try:
        await page.wait_for_function(
            "document.getElementById('asof-time') && document.getElementById('asof-time').dateTime",
            timeout=10_000,
        )
    except Exception as exc:
        body = await page.locator("body").inner_text()
        raise AssertionError(f"no 'Data as of' on {page.url}: {body[:600]}") from exc
    return _iso(await page.locator("#asof-time").get_attribute("datetime"))


async def _api(base: str, path: str) -> Any:
    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.get(path)
        assert r.status_code == 200, r.text
        return r.json()


def _oldest_fetched(docs: list[dict[str, Any]]) -> datetime:
    return min(_iso(d["fetched_at"] or d["as_of"]) for d in docs)


async def _api_as_of(site: Site, path: str) -> datetime:
    """What the page's "Data as of" must agree with: the API's own stamp for its data."""
    if path == "/":
        return _iso((await _api(site.base, "/v1/top?n=10"))["as_of"])
    if path == "/markets":
        return _oldest_fetched((await _api(site.base, "/v1/markets?status=open&limit=50"))["data"])
    if path.startswith("/market?"):
        return _iso((await _api(site.base, f"/v1/markets/{site.hero}/price"))["fetched_at"])
    if path.startswith("/event?"):
        return _iso((await _api(site.base, f"/v1/events/{site.event}"))["as_of"])
    if path == "/arbitrage":
        return _iso((await _api(site.base, "/v1/arbitrage"))["as_of"])
    if path == "/status":
        return _iso((await _api(site.base, "/v1/status"))["as_of"])
    return datetime.now(UTC)  # the events list is as of its reading


def _pages(site: Site) -> list[str]:
    return [
        "/",
        "/markets",
        f"/market?id={site.hero}",
        "/events",
        f"/event?id={site.event}",
        "/arbitrage",
        "/status",
    ]


# Every page and control of the dashboard in one browser session: minutes on a busy
# machine, so its own ceiling is above the suite's 300 s.
@pytest.mark.timeout(900)
async def test_every_page_says_data_as_of_and_uses_every_control(site: Site, tab: Tab) -> None:
    page = tab.page
    links: set[str] = set()
    for path in _pages(site):
        response = await page.goto(site.base + path)
        assert response is not None and response.status == 200, path
        shown = await _shown_as_of(page)
        expected = await _api_as_of(site, path)
        assert abs((shown - expected).total_seconds()) < 5, (path, shown, expected)
        assert "Data as of" in await page.locator("#asof").inner_text()
        assert "UTC" in await page.locator("#asof-time").inner_text()
        await page.wait_for_load_state("networkidle")
        # pages with prices go live; the others say how they keep current
        await page.wait_for_function(
            "document.getElementById('live').textContent !== 'connecting…'", timeout=5000
        )
        name = path.strip("/").split("?")[0] or "home"
        await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        # every control once: buttons (a decision without a key is refused on the page)
        buttons = page.locator("main button:visible")
        for i in range(await buttons.count()):
            button = buttons.nth(i)
            if await button.is_enabled():
                await button.click()
        await page.wait_for_load_state("networkidle")
        for href in await page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            if href.startswith(site.base) and "format=csv" not in href:
                links.add(href.split("#")[0])  # "Skip to content" is the page itself
        tab.clean()
    # every link once: each page of the dashboard it names opens, and each API link answers
    for href in sorted(links):
        if "/v1/" in href or "/docs" in href or "/metrics" in href:
            async with httpx.AsyncClient() as client:
                assert (await client.get(href)).status_code == 200, href
            continue
        response = await page.goto(href)
        assert response is not None and response.status == 200, href
        await _shown_as_of(page)
    tab.clean()


async def test_a_market_or_event_page_without_an_id_says_so(site: Site, tab: Tab) -> None:
    """Opened bare, the market and event pages name what is missing and do not claim to be
    connecting to a feed they will never open."""
    page = tab.page
    for path, text in (("/market", "No market given"), ("/event", "No event given")):
        response = await page.goto(site.base + path)
        assert response is not None and response.status == 200, path
        await page.locator("#notice", has_text=text).wait_for(timeout=5000)
        assert await page.locator("#live").inner_text() == "nothing to follow", path
    tab.clean()


async def test_the_age_keeps_counting_and_the_nav_reaches_every_page(site: Site, tab: Tab) -> None:
    page = tab.page
    await page.goto(site.base + "/markets")
    await _shown_as_of(page)
    first = await page.locator("#asof-age").inner_text()
    await page.wait_for_function(
        f"document.getElementById('asof-age').textContent !== {first!r}", timeout=5000
    )
    for label, path in (
        ("Events", "/events"),
        ("Status", "/status"),
        ("Arbitrage & matches", "/arbitrage"),
        ("Home", "/"),
        ("Markets", "/markets"),
    ):
        await page.get_by_role("link", name=label, exact=True).click()
        await page.wait_for_url(site.base + path)
        await _shown_as_of(page)
    tab.clean()


async def _rows(page: Page, selector: str = "#markets tbody tr") -> list[list[str]]:
    rows = await page.eval_on_selector_all(
        selector, "trs => trs.map(tr => [...tr.children].map(td => td.textContent.trim()))"
    )
    return [r for r in rows if len(r) > 1]


async def _rows_once(
    page: Page, shown: Any, selector: str = "#markets tbody tr", seconds: float = 10.0
) -> list[list[str]]:
    """The table's rows once `shown(rows)` holds, or as they are after `seconds`: the page
    may still be drawing an answer that arrived (or a poll's answer may have come first)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        rows = await _rows(page, selector)
        if shown(rows) or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def _reloaded(page: Page, action: Any) -> None:
    async with page.expect_response(lambda r: "/v1/markets?" in r.url or "/v1/search?" in r.url):
        await action()
    await page.wait_for_load_state("networkidle")


async def test_screener_searches_filters_sorts_pages_and_exports(site: Site, tab: Tab) -> None:
    page = tab.page
    await page.goto(site.base + "/markets")
    await _shown_as_of(page)
    assert len(await _rows(page)) == 50

    # search: suggestions while typing, then the results
    await page.get_by_label("Search questions and events").fill("bitcoin")
    await page.locator("#suggestions li").first.wait_for()
    assert "Bitcoin" in await page.locator("#suggestions").inner_text()
    # the keyboard walks the suggestions and back to the box
    box = page.get_by_label("Search questions and events")
    suggestions = page.locator("#suggestions a")
    await box.press("ArrowDown")
    assert await suggestions.first.evaluate("a => a === document.activeElement")
    await page.keyboard.press("ArrowDown")
    assert await suggestions.nth(1).evaluate("a => a === document.activeElement")
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("ArrowUp")
    assert await box.evaluate("q => q === document.activeElement")
    await _reloaded(page, lambda: page.get_by_role("button", name="Search", exact=True).click())

    def bitcoin_only(rows: list[list[str]]) -> bool:
        return bool(rows) and all("Bitcoin" in r[0] or "BTC" in r[0] for r in rows)

    assert bitcoin_only(await _rows_once(page, bitcoin_only))
    await _reloaded(page, lambda: page.get_by_role("button", name="Clear search").click())

    # filter by venue: every row is of that venue
    await page.get_by_label("Venue").select_option(V2)
    await _reloaded(page, lambda: page.get_by_role("button", name="Apply filters").click())
    rows = await _rows_once(page, lambda rows: bool(rows) and {r[1] for r in rows} == {V2})
    assert rows and {r[1] for r in rows} == {V2}
    await page.get_by_label("Venue").select_option("")

    # sort both ways
    header = page.locator("th[data-sort=volume_24h]")
    await _reloaded(page, lambda: header.get_by_role("button").click())
    assert await header.get_attribute("aria-sort") == "ascending"
    api_asc = await _api(site.base, "/v1/markets?status=open&sort=-volume_24h&limit=50")
    ascending = [m["question"] for m in api_asc["data"]]
    rows = await _rows_once(page, lambda rows: [r[0] for r in rows] == ascending)
    assert [r[0] for r in rows] == ascending
    await _reloaded(page, lambda: header.get_by_role("button").click())
    assert await header.get_attribute("aria-sort") == "descending"

    # pages of 25: the second differs from the first, and back again
    await page.get_by_label("Per page").select_option("25")
    await _reloaded(page, lambda: page.get_by_role("button", name="Apply filters").click())
    first = await _rows_once(page, lambda rows: len(rows) == 25)
    await _reloaded(page, lambda: page.get_by_role("button", name="Next page").click())
    second = await _rows_once(page, lambda rows: bool(rows) and rows[0][0] != first[0][0])
    assert len(first) == 25 and second and not {r[0] for r in first} & {r[0] for r in second}
    assert "page 2" in await page.locator("#pageno").inner_text()
    # this view as CSV: the rows shown on this page, in their order, nothing more
    view = await _download(page, "Export this view as CSV")
    assert _questions(view) == [r[0] for r in second]
    await _reloaded(page, lambda: page.get_by_role("button", name="Previous page").click())
    back = await _rows_once(page, lambda rows: [r[0] for r in rows] == [r[0] for r in first])
    assert [r[0] for r in back] == [r[0] for r in first]

    # presets: coin flips are priced 40-60¢
    await _reloaded(page, lambda: page.get_by_role("button", name="Coin flips 40–60¢").click())

    def coin_flips(rows: list[list[str]]) -> bool:
        return bool(rows) and all(40 <= float(r[3].rstrip("¢")) <= 60 for r in rows)

    assert coin_flips(await _rows_once(page, coin_flips))

    # export: the view's filters, as CSV; and every matching market, in the view's order
    exported = await _download(page, "Export this view as CSV")
    api_flips = await _api(
        site.base, "/v1/markets?status=open&min_price=0.4&max_price=0.6&limit=500"
    )
    assert {int(r["market_id"]) for r in exported} == {m["id"] for m in api_flips["data"]}
    every = await _download(page, "Export every matching market as CSV")
    assert _questions(every) == [m["question"] for m in api_flips["data"]]
    tab.clean()


async def _download(page: Page, link: str) -> list[dict[str, str]]:
    """The CSV a link of the page downloads, as rows."""
    async with page.expect_download() as download:
        await page.get_by_role("link", name=link).click()
    path = await (await download.value).path()
    text = await asyncio.to_thread(Path(path).read_text)
    return list(csv.DictReader(io.StringIO(text)))


def _questions(rows: list[dict[str, str]]) -> list[str]:
    """Each market's question once, in the file's order (a row per outcome)."""
    return list(dict.fromkeys(r["question"] for r in rows))


async def test_a_new_price_reaches_the_market_page_live(
    site: Site, tab: Tab, conn: asyncpg.Connection
) -> None:
    page = tab.page
    await page.goto(f"{site.base}/market?id={site.hero}")
    await _shown_as_of(page)
    await page.wait_for_function("document.getElementById('live').textContent.startsWith('live')")
    assert await page.locator("#chart canvas").count() >= 1
    assert len(await _rows(page, "#trades tbody tr")) == 24
    other = await page.locator("#other").inner_text()
    assert "BTC price above" in other and "60 min ago · stale: over 10 min old" in other, other
    assert await page.locator("#other .age.stale").count() == 1
    await write_quote(conn, site.hero, [0.83, 0.17])  # upsert and NOTIFY, as ingestion does
    cell = page.locator("#outcomes tbody tr").first.locator("td").nth(1)
    await page.wait_for_function(
        "document.querySelector('#outcomes tbody tr td:nth-child(2)').textContent === '83.0¢'",
        timeout=2000,
    )
    assert await cell.inner_text() == "83.0¢"
    tab.clean()


async def test_the_page_says_when_live_updates_drop_and_polls(
    site: Site, tab: Tab, conn: asyncpg.Connection
) -> None:
    page = tab.page

    async def refuse(ws: Any) -> None:
        await ws.close()

    await page.route_web_socket("**/v1/ws", refuse)
    await page.goto(f"{site.base}/market?id={site.hero}")
    await _shown_as_of(page)
    notice = page.locator("#notice")
    await notice.get_by_text("Live updates lost").wait_for()
    await write_quote(conn, site.hero, [0.27, 0.73])
    await page.wait_for_function(
        "document.querySelector('#outcomes tbody tr td:nth-child(2)').textContent === '27.0¢'",
        timeout=15000,
    )


async def test_a_match_is_confirmed_with_a_typed_key(site: Site, tab: Tab) -> None:
    page = tab.page
    await page.goto(site.base + "/arbitrage")
    await _shown_as_of(page)
    row = page.locator(f"#matches tr[data-id='{site.match}']")
    await row.wait_for()
    await page.get_by_label("Admin key (needed to decide)").fill("wrong-key")
    await row.get_by_role("button", name=f"Confirm match {site.match}").click()
    await page.locator("#decision").get_by_text("not confirmed").wait_for()
    await page.get_by_label("Admin key (needed to decide)").fill(ADMIN_KEY)
    await row.get_by_role("button", name=f"Confirm match {site.match}").click()
    await page.locator("#decision").get_by_text("confirmed by admin").wait_for()
    decided = await _api(site.base, "/v1/matches?status=confirmed")
    assert site.match in [m["id"] for m in decided["data"]]
    assert "confirmed" in await page.locator(f"#matches tr[data-id='{site.match}']").inner_text()
    # and another one shown rejected, with the same key
    shown = await _api(site.base, "/v1/matches?status=proposed&limit=25")
    doubtful = next(m["id"] for m in shown["data"] if m["id"] != site.match)
    other = page.locator(f"#matches tr[data-id='{doubtful}']")
    await other.get_by_role("button", name=f"Reject match {doubtful}").click()
    await page.locator("#decision").get_by_text("rejected by admin").wait_for()
    rejected = await _api(site.base, "/v1/matches?status=rejected")
    assert doubtful in [m["id"] for m in rejected["data"]]
    assert "rejected" in await page.locator(f"#matches tr[data-id='{doubtful}']").inner_text()
    # 401 is the expected answer to the wrong key: the console names the failed request
    assert all("401" in e for e in tab.errors), tab.errors


async def test_the_layout_holds_at_a_phones_width(site: Site, browser: Browser) -> None:
    context = await browser.new_context(viewport={"width": 375, "height": 740})
    page = await context.new_page()
    try:
        for path in _pages(site):
            await page.goto(site.base + path)
            await _shown_as_of(page)
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 380, (path, width)  # wide tables scroll inside their card
            # keyboard: the first Tab reaches "Skip to content", which leads into the page;
            # the next from the top reaches the navigation
            await page.keyboard.press("Tab")
            assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
            await page.keyboard.press("Tab")
            focused = await page.evaluate("document.activeElement.closest('nav') !== null")
            assert focused, path
            await page.keyboard.press("Shift+Tab")
            await page.keyboard.press("Enter")
            assert await page.evaluate("document.activeElement.id") == "main", path
        await page.screenshot(path=str(ARTIFACTS / "phone-status.png"))
        unlabeled = await page.goto(site.base + "/markets")
        assert unlabeled is not None
        await _shown_as_of(page)
        missing = await page.evaluate(
            "[...document.querySelectorAll('input, select')].filter(e => !e.labels || !e.labels.length)"
            ".map(e => e.id)"
        )
        assert missing == [], missing
    finally:
        await context.close()


async def test_no_asset_comes_from_elsewhere(site: Site, tab: Tab) -> None:
    page = tab.page
    origins: set[str] = set()
    page.on("request", lambda r: origins.add(r.url.split("/")[2]))
    for path in _pages(site):
        await page.goto(site.base + path)
        await _shown_as_of(page)
    await asyncio.sleep(0.2)
    assert origins == {site.base.split("/")[2]}, origins


async def _operate(conn: asyncpg.Connection, site: Site) -> dict[str, Any]:
    """A worker's traces through the scheduler's own calls: requests booked against the
    budget, jobs queued, running, retried after an error and given up, items quarantined."""
    now = datetime.now(UTC)
    if now.second >= 40:  # the page must read the booked requests within the same minute
        await asyncio.sleep(61 - now.second - now.microsecond / 1e6)
        now = datetime.now(UTC)
    settings = Settings()
    assert await reserve(conn, V1, 7, cap=budget_per_minute(V1, settings), now=now)
    await book(conn, V1, now=now, errors=2, retries=1)
    await jobs.enqueue(
        conn,
        [jobs.NewJob(V1, "quotes", f"status-{i}", market_ids=(site.ids[i],)) for i in range(5)],
        now=now,
    )
    claimed = await jobs.claim(conn, V1, "w1", now=now, lease_seconds=60, limit=3)
    retry, give_up = claimed[0], claimed[1]  # the third stays running
    await jobs.fail(
        conn, retry, "w1", now=now, error="HTTP 502 from venue", retry_in=30, max_attempts=3
    )
    await jobs.fail(
        conn,
        give_up,
        "w1",
        now=now,
        error="HTTP 429: budget exhausted",
        retry_in=30,
        max_attempts=1,
    )
    await quarantine(
        conn,
        [
            DataError(V2, "/markets", f"bad-{i}", f"price out of range: 1.{i}", item={"p": i})
            for i in range(3)
        ],
    )
    return {"minute": 7, "budget": budget_per_minute(V1, settings)}


async def test_status_shows_budget_jobs_errors_quarantine_and_size(
    site: Site, tab: Tab, conn: asyncpg.Connection
) -> None:
    traces = await _operate(conn, site)
    page = tab.page
    await page.goto(site.base + "/status")
    shown = await _shown_as_of(page)
    api = await _api(site.base, "/v1/status")
    assert abs((shown - _iso(api["as_of"])).total_seconds()) < 5
    venues = {v["venue"]: v for v in api["venues"]}
    assert venues[V1]["requests_last_minute"] == traces["minute"]
    assert venues[V1]["jobs"] == {"queued": 3, "running": 1, "failed": 1}
    assert venues[V2]["quarantine"]["count"] == 3

    async def row(table: str, venue: str) -> list[str]:
        cells = (
            await page.locator(f"#{table} tbody tr", has_text=venue)
            .first.locator("td")
            .all_inner_texts()
        )
        return [c.strip() for c in cells]

    # budget: this minute's requests against the workers' budget, errors and retries
    await page.locator("#budget-table tbody tr").first.wait_for()
    budget = await row("budget-table", V1)
    assert budget[1:3] == [str(traces["minute"]), f"{traces['budget']:,}"]
    assert budget[3].endswith(f"{round(100 * traces['minute'] / traces['budget'])} %")
    assert budget[5:7] == ["2", "1"]
    # jobs: four queued at first; one retried is queued again, one gave up, one runs
    assert (await row("jobs-table", V1))[1:] == ["3", "1", "1"]
    # errors: both failures and what happens next; their texts only with the admin key
    errors = await page.locator("#errors-table tbody").inner_text()
    assert "to retry" in errors and "gave up" in errors
    assert "HTTP 502" not in errors and errors.count("hidden (admin key)") == 2
    assert "admin key only" in await page.locator("#details-note").inner_text()
    # quarantine: the count and the newest item, its age counting
    quarantined = await row("quarantine-table", V2)
    assert quarantined[1] == "3" and "s ago" in quarantined[2]
    assert "bad-2" in quarantined[3] and quarantined[4] == "hidden (admin key)"
    await page.get_by_label("Admin key (shows error texts)").fill("wrong-key")
    await page.get_by_role("button", name="Show texts").click()
    await page.locator("#details-note").get_by_text("The key was refused").wait_for()
    await page.get_by_label("Admin key (shows error texts)").fill(ADMIN_KEY)
    await page.get_by_role("button", name="Show texts").click()
    await page.locator("#errors-table tbody", has_text="HTTP 502 from venue").wait_for()
    errors = await page.locator("#errors-table tbody").inner_text()
    assert "HTTP 429: budget exhausted" in errors and "hidden" not in errors
    assert (await row("quarantine-table", V2))[4] == "price out of range: 1.2"
    # staleness per venue and priority, from the gold row the refresh keeps
    staleness = await page.locator("#staleness-table tbody").inner_text()
    assert V1 in staleness and "all" in staleness and "normal" in staleness
    # the database's size, as PostgreSQL reports it
    size = api["database"]["size_bytes"]
    assert size == pytest.approx(
        await conn.fetchval("SELECT pg_database_size(current_database())"), rel=0.2
    )
    ready = await page.locator("#ready").inner_text()
    shown_mib = re.search(r"database size\s+([\d.]+) MiB", ready)
    assert shown_mib, ready
    assert float(shown_mib.group(1)) == pytest.approx(size / 1024**2, rel=0.05)
    # the wrong key's 401 is the one failed request the console names
    assert all("401" in e for e in tab.errors), tab.errors


async def test_polling_reads_fresh_answers_not_the_browsers_cache(
    site: Site, tab: Tab, conn: asyncpg.Connection
) -> None:
    """Price answers may be cached for what is left of their tier (`max-age`): the page's
    polling must still read every answer from the server, never from the browser's cache."""
    async with httpx.AsyncClient(base_url=site.base) as client:
        answer = await client.get(f"/v1/markets/{site.hero}/price")
    assert answer.headers["cache-control"].startswith("max-age="), answer.headers
    page = tab.page
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    cached: list[str] = []
    answered: list[str] = []

    def on_response(event: dict[str, Any]) -> None:
        response = event["response"]
        if "/v1/markets/" in response["url"] and "/price" in response["url"]:
            answered.append(response["url"])
            if response.get("fromDiskCache") or response.get("status") == 304:
                cached.append(response["url"])

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.requestServedFromCache", lambda e: cached.append(e["requestId"]))

    async def refuse(ws: Any) -> None:
        await ws.close()

    await page.route_web_socket("**/v1/ws", refuse)
    await page.goto(f"{site.base}/market?id={site.hero}")
    await _shown_as_of(page)
    await page.locator("#notice").get_by_text("Live updates lost").wait_for()
    await write_quote(conn, site.hero, [0.64, 0.36])
    # well within the answer's max-age: a cached copy would still say the old price
    await page.wait_for_function(
        "document.querySelector('#outcomes tbody tr td:nth-child(2)').textContent === '64.0¢'",
        timeout=12000,
    )
    assert len(answered) >= 2 and cached == [], (answered, cached)


async def test_the_market_page_shows_rules_the_venue_link_and_says_what_is_missing(
    site: Site, tab: Tab
) -> None:
    page = tab.page
    await page.goto(f"{site.base}/market?id={site.hero}")
    await _shown_as_of(page)
    await page.locator("#rules", has_text=HERO_RULES).wait_for()
    detail = await _api(site.base, f"/v1/markets/{site.hero}")
    assert detail["rules"] == HERO_RULES
    # the venue's link template, filled from the market's and its event's slugs
    link = page.get_by_role("link", name=f"Open on {V1}")
    assert await link.get_attribute("href") == detail["url"]
    assert detail["url"].endswith("/bitcoin-on-march-5/bitcoin-above-91234-on-march-5")
    # the chart spans the range asked for (a day), not years around a few candles
    await page.locator("#chart canvas").first.wait_for()
    label = await page.locator("#chart").get_attribute("aria-label")
    assert label, "no chart label"
    spans = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d)", label)
    start, end = (datetime.fromisoformat(t).replace(tzinfo=UTC) for t in spans)
    assert timedelta(hours=23) < end - start < timedelta(hours=25), label

    # a market with no rules, no trade and no slug its venue's template needs
    await page.goto(f"{site.base}/market?id={site.other}")
    await _shown_as_of(page)
    await page.locator("#rules", has_text="No rules text from the venue.").wait_for()
    await page.locator("#venue-link", has_text=f"No link to this market's page on {V2}").wait_for()
    await page.locator("#trades tbody", has_text="No trade recorded yet").wait_for()
    assert await page.locator("#venue-link a").count() == 0
    tab.clean()


async def test_home_fills_its_top_markets_once_the_first_sync_lands(
    live_url: str, tab: Tab, conn: asyncpg.Connection
) -> None:
    """A new hub's first minute: nothing is loaded, then markets arrive before gold's first
    refresh; the page says so, then lists them without a reload."""
    page = tab.page
    base = f"http://{live_url}"
    await page.goto(base + "/")
    await _shown_as_of(page)
    await page.locator("#top tbody", has_text="No market loaded yet").wait_for()
    await seed_market(
        conn, SeedMarket(V1, "first", "The first market synced?", volume_24h=1e6, synced_ago=1)
    )
    await page.locator("#top tbody a", has_text="The first market synced?").wait_for(timeout=15000)
    tab.clean()
