"""The venue descriptors are the single source of truth about venues.

Settings, planner budgets, the API's venue parameter, id discovery and the
simulator are all derived from them; these tests check the derivations, the
fee models against the venues' documented examples, and that no source file
outside a venue's own adapter package and simulator plug-in names the venue.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from predhub.scheduler.budget import profile_for, venue_profile
from predhub.service.discover import NOT_NAMED, venue_keys
from predhub.settings import VENUE_NAMES, Settings
from predhub.sim.plugins import plugin, sim_venues
from predhub.venues.descriptor import UnknownVenue, descriptor, descriptors, venue_names
from predhub.venues.registry import build_venue

SRC = Path(__file__).resolve().parents[2] / "src" / "predhub"

# Files that may name a venue although they are not its own. Each needs a reason.
NAMING_EXCEPTIONS: dict[str, set[str]] = {
    # The legacy route's path, /api/<venue>/price, is a published URL that existing
    # apps call: it is part of the API's contract, not a fact about the venue.
    "api/routers/compat.py": {"polymarket"},
    # The client calls that same published legacy route by its path.
    "client/calls.py": {"polymarket"},
    # An applied migration never changes (its checksum is recorded in every database);
    # its column comments say which venue ids the columns first held.
    "db/migrations/0001_initial.sql": {"polymarket", "kalshi", "limitless"},
    # Same: this applied migration derives the price in SQL with one venue's display
    # spread (10c) written in; a later migration should read it from the descriptors.
    "db/migrations/0006_price_source.sql": {"polymarket"},
    # The schema dump shows that migration's function as the database holds it.
    "db/schema.sql": {"polymarket"},
}


def own_files(name: str) -> set[Path]:
    """A venue's adapter package and its simulator plug-in module(s)."""
    files = set((SRC / "venues" / name).rglob("*.py"))
    files |= set((SRC / "sim").glob(f"{name}.py")) | set((SRC / "sim").glob(f"{name}_*.py"))
    return files


@pytest.mark.parametrize("name", venue_names())
def test_no_file_outside_a_venues_own_names_it(name: str) -> None:
    """Strings, identifiers, comments, case-insensitive, in every source file (Python,
    SQL, the dashboard): a venue is named only at home."""
    pattern = re.compile(re.escape(name), re.IGNORECASE)
    allowed = own_files(name) | {
        SRC / path for path, names in NAMING_EXCEPTIONS.items() if name in names
    }
    sources = [p for p in sorted(SRC.rglob("*")) if p.is_file() and p.suffix != ".pyc"]
    assert any(p.suffix == ".sql" for p in sources) and any(p.suffix == ".html" for p in sources)
    offenders = [
        str(path.relative_to(SRC))
        for path in sources
        if path not in allowed and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"{name} is named outside its adapter and simulator plug-in"


def test_every_venue_has_its_adapter_and_simulator_plug_in() -> None:
    assert venue_names() == VENUE_NAMES == sim_venues()
    for desc in descriptors():
        assert (SRC / "venues" / desc.name / "descriptor.py").is_file()
        assert plugin(desc.name).name == desc.name
        adapter = build_venue(desc.name, Settings())
        assert adapter.has == desc.has


def test_planner_and_limiter_agree_on_the_rate() -> None:
    """One figure per venue: the profile's rate is the limiter's own for its endpoint."""
    for desc in descriptors():
        host, endpoint = desc.planner.budget_endpoint
        assert venue_profile(desc.name).requests_per_second == desc.limits[host][endpoint].rate
    assert venue_profile("limitless").requests_per_second == 5.0
    assert venue_profile("polymarket").requests_per_second == 20.0  # Data API /trades


def test_unknown_venues_fail_loudly() -> None:
    with pytest.raises(UnknownVenue, match="known: polymarket, kalshi"):
        descriptor("foo")
    with pytest.raises(UnknownVenue):
        profile_for("foo", Settings())
    with pytest.raises(ValidationError, match="unknown venue 'foo'; venues are polymarket"):
        Settings(venue_request_budgets="foo=3")
    with pytest.raises(ValidationError, match="unknown venue 'foo'; venues are polymarket"):
        Settings(enabled_venues="kalshi,foo")


def test_enabled_venues_foo_is_a_one_line_settings_error() -> None:
    env = {**os.environ, "ENABLED_VENUES": "foo"}
    result = subprocess.run(
        [sys.executable, "-m", "predhub.cli", "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert "ENABLED_VENUES" in lines[0] and "venues are polymarket, kalshi" in lines[0]


def test_settings_keep_the_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "POLYMARKET_GAMMA_URL": "http://gamma.test",
        "KALSHI_URL": "http://kalshi.test",
        "OPINION_API_KEY": "k-123",
        "POLYMARKET_TOP_N": "7",
        "OPINIONTRADE_TOP_N": "3",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.venue("polymarket").url("gamma_url") == "http://gamma.test"
    assert settings.venue("kalshi").url() == "http://kalshi.test"
    secret = settings.venue("opinion").secret("api_key")
    assert secret is not None and secret.get_secret_value() == "k-123"
    assert settings.venue("polymarket").top_n == 7
    assert settings.venue("opinion").top_n == 3
    assert settings.venue("limitless").top_n == descriptor("limitless").settings.top_n
    assert settings.venues == list(VENUE_NAMES)


def test_id_forms_come_from_the_descriptors() -> None:
    ticker, condition = "KXBTC-25DEC31-T100000", "0x" + "ab" * 32
    assert venue_keys(ticker, VENUE_NAMES) == [("kalshi", ticker)]
    assert venue_keys(condition, VENUE_NAMES) == [("polymarket", condition)]
    assert venue_keys(condition, ["kalshi"]) == []  # its venue is not enabled
    assert venue_keys("some-slug", VENUE_NAMES) == []
    assert "a Kalshi ticker" in NOT_NAMED and "a Polymarket condition id" in NOT_NAMED


# --- fees: the documented examples -------------------------------------------------------


def test_kalshi_fee_rounds_up_to_a_hundredth_of_a_cent() -> None:
    """A recorded taker fill of 1 contract at 0.52 paid 0.017500 (0.017472 rounded up)."""
    fees = descriptor("kalshi").fees
    assert fees.fee(1, 0.52) == pytest.approx(0.0175)
    assert fees.fee(100, 0.5) == pytest.approx(1.75)  # 0.07 × 100 × 0.25, already on the step
    assert fees.fee(0, 0.5) == 0


def test_polymarket_fee_is_quadratic_at_the_markets_rate() -> None:
    """Crypto markets (rate 0.07): 1.75 USDC per 100 shares at 0.50."""
    fees = descriptor("polymarket").fees
    assert fees.fee(100, 0.5) == pytest.approx(1.75)
    assert fees.fee(100, 0.99) < fees.fee(100, 0.5)  # cheapest at the extremes
    assert fees.with_rate(0.0).fee(100, 0.5) == 0  # geopolitics: fee-free


def test_opinion_fee_peaks_at_one_percent_with_a_minimum() -> None:
    """r = 4 %: at p = 0.5 the fee is 1 % of volume; a small trade pays the $0.25 minimum."""
    fees = descriptor("opinion").fees
    assert fees.fee(1000, 0.5) == pytest.approx(10.0)
    assert fees.fee(10, 0.5) == pytest.approx(0.25)


def test_limitless_fee_is_a_share_of_the_notional() -> None:
    """CLOB orders default to feeRateBps 300: 3 % of the money traded."""
    fees = descriptor("limitless").fees
    assert fees.fee(100, 0.5) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        fees.fee(1, 1.5)


def test_deep_links() -> None:
    links = descriptor("polymarket").links
    assert links.event_url(event_slug="fed-rates") == "https://polymarket.com/event/fed-rates"
    assert (
        links.market_url(event_slug="fed-rates", market_slug="cut-in-june")
        == "https://polymarket.com/event/fed-rates/cut-in-june"
    )
    assert (
        descriptor("limitless").links.market_url(market_slug="btc-100k")
        == "https://limitless.exchange/markets/btc-100k"
    )
    assert (
        descriptor("opinion").links.market_url(market_id="1274")
        == "https://app.opinion.trade/detail?topicId=1274"
    )


def test_a_link_missing_a_field_its_template_needs_is_none() -> None:
    """No broken link (`/event//`): the page shows none instead."""
    links = descriptor("polymarket").links
    assert links.market_url(market_slug="cut-in-june") is None
    assert links.event_url() is None
    assert descriptor("kalshi").links.market_url(market_id="KXFED-25JUN-T4") is None
    assert (
        descriptor("kalshi").links.market_url(event_id="KXFED-25JUN")
        == "https://kalshi.com/markets/KXFED-25JUN"
    )


# --- fees of one market, from the fields its venue stores ------------------------------


def test_kalshi_multiplier_comes_from_settings_then_the_market() -> None:
    kalshi = descriptor("kalshi")
    assert kalshi.fees_for({}).fee(100, 0.5) == pytest.approx(1.75)
    half = kalshi.fees_for({"series_ticker": "KXBTCD"}, {"KXBTCD": 0.5})
    assert half.fee(100, 0.5) == pytest.approx(0.875)
    assert kalshi.fees_for({"fee_multiplier": 2}).fee(100, 0.5) == pytest.approx(3.5)
    # a recorded fill of 1 @ 0.52 paid 0.0175 whatever else the market carries
    assert kalshi.fees_for({"series_ticker": "OTHER"}, {"KXBTCD": 0.5}).fee(
        1, 0.52
    ) == pytest.approx(0.0175)


def test_polymarket_fee_schedule_is_read_from_the_gamma_market() -> None:
    """Recorded Gamma markets carry feeSchedule rates 0.07, 0.05 and 0.04, or feesEnabled false."""
    poly = descriptor("polymarket")
    crypto = poly.fees_for({"feesEnabled": True, "feeSchedule": {"rate": 0.07, "exponent": 1}})
    assert crypto.fee(100, 0.5) == pytest.approx(1.75)
    sports = poly.fees_for({"feeSchedule": {"rate": 0.05, "exponent": 1}})
    assert sports.fee(100, 0.5) == pytest.approx(1.25)
    assert sports.fee(3, 0.37) == pytest.approx(0.03497)  # 0.0349650 up to 5 dp
    assert poly.fees_for({"feesEnabled": False}).fee(100, 0.5) == 0
    squared = poly.fees_for({"feeSchedule": {"rate": 0.25, "exponent": 2}})
    assert squared.fee(100, 0.5) == pytest.approx(1.5625)  # 100 × 0.25 × 0.0625
    assert poly.fees_for({}).fee(100, 0.5) == pytest.approx(1.75)  # unknown: the crypto rate


def test_limitless_fee_flag_and_opinion_default() -> None:
    assert descriptor("limitless").fees_for({"fee": False}).fee(100, 0.5) == 0
    assert descriptor("limitless").fees_for({"fee": True}).fee(100, 0.5) == pytest.approx(1.5)
    assert descriptor("opinion").fees_for({}).fee(10, 0.5) == pytest.approx(0.25)
