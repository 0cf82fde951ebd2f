"""Words the generated markets are made of: topics, titles and identifiers.

Generation only needs plausible, varied, deterministic text; the vocabulary is
small on purpose. Identifiers are derived from hashes of the seed and a
purpose string, so the same seed always yields the same ids.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

ASSETS = [
    ("Bitcoin", "BTC", 90_000.0),
    ("Ethereum", "ETH", 3_200.0),
    ("Solana", "SOL", 180.0),
    ("XRP", "XRP", 2.4),
    ("Dogecoin", "DOGE", 0.22),
]
FIRST = [
    "Alex",
    "Maria",
    "Tomas",
    "Ines",
    "Noah",
    "Lena",
    "Omar",
    "Priya",
    "Kofi",
    "Elena",
    "Jonas",
    "Sofia",
    "Mateo",
    "Aiko",
    "Ravi",
    "Zara",
    "Lukas",
    "Nadia",
    "Diego",
    "Hana",
]
LAST = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Alvarez",
    "Novak",
    "Haddad",
    "Kowalski",
    "Mensah",
    "Rossi",
    "Petrov",
    "Silva",
    "Nakamura",
    "Brennan",
    "Duarte",
    "Keller",
    "Osei",
    "Varga",
    "Ibsen",
    "Castillo",
]
PLACES = [
    "Norland",
    "Estovia",
    "Karamir",
    "Valdoria",
    "Ostrava",
    "Belmonte",
    "Tesmania",
    "Quorra",
    "Lusitar",
    "Marrow",
]
OFFICES = ["presidential", "mayoral", "parliamentary", "gubernatorial"]
CITIES = [
    "Harbor City",
    "Lakeside",
    "Port Ellis",
    "Redmont",
    "Granite Falls",
    "Sunvale",
    "Northgate",
]
MASCOTS = [
    "Hawks",
    "Wolves",
    "Comets",
    "Tigers",
    "Mariners",
    "Foxes",
    "Giants",
    "Rangers",
    "Owls",
    "Storm",
]
LEAGUES = [
    ("National Basketball League", "NBL"),
    ("Premier Football League", "PFL"),
    ("Continental Hockey Cup", "CHC"),
]
ACTIONS = [
    "announce a run for office",
    "resign",
    "sign the trade agreement",
    "visit the summit",
    "release the new album",
    "reach 100M followers",
]
FED_OUTCOMES = ["cut rates by 50+ bps", "cut rates by 25 bps", "hold rates", "hike rates"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(slots=True)
class MarketSpec:
    question: str
    label: str  # the outcome within its event (groupItemTitle), or "" for a lone market
    strike: float | None = None
    # what the market pays on, as a person reads it: two markets with equal keys are
    # one proposition (a `date` in it is the question's day; its year is read from
    # the market's close when the question names none)
    key: tuple[object, ...] | None = None


@dataclass(slots=True)
class EventSpec:
    kind: str
    category: str
    title: str
    exclusive: bool  # exactly one market resolves YES (neg-risk)
    markets: list[MarketSpec] = field(default_factory=list)
    series: str = ""


def digest(seed: int, *parts: object) -> bytes:
    h = hashlib.blake2b(digest_size=32)
    h.update(str(seed).encode())
    for p in parts:
        h.update(b"\x00" + str(p).encode())
    return h.digest()


def hex_id(seed: int, *parts: object, nbytes: int = 32) -> str:
    return "0x" + digest(seed, *parts)[:nbytes].hex()


def token_id(seed: int, *parts: object) -> str:
    """A 76-77 digit decimal id, like on-chain ERC-1155 position ids."""
    return str(int.from_bytes(digest(seed, "token", *parts), "big") % 10**77)


def uuid_like(seed: int, *parts: object) -> str:
    h = digest(seed, *parts)[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def slugify(text: str) -> str:
    text = text.lower().replace("$", "dollar").replace("%", "pct")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:90]


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def team(rng: random.Random) -> str:
    return f"{rng.choice(CITIES)} {rng.choice(MASCOTS)}"


def two_teams(rng: random.Random) -> tuple[str, str]:
    """Two different teams for one game.

    Each side is drawn as before (the same draws, so a seed's world keeps its
    shape); when the away side shares the home side's city or nickname, which
    reads as one team playing itself, it moves to the next city or nickname.
    """
    home_city, home_mascot = rng.choice(CITIES), rng.choice(MASCOTS)
    away_city, away_mascot = rng.choice(CITIES), rng.choice(MASCOTS)
    if away_city == home_city:
        away_city = CITIES[(CITIES.index(home_city) + 1) % len(CITIES)]
    if away_mascot == home_mascot:
        away_mascot = MASCOTS[(MASCOTS.index(home_mascot) + 1) % len(MASCOTS)]
    return f"{home_city} {home_mascot}", f"{away_city} {away_mascot}"


def day_text(ts: float) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    return f"{MONTHS[d.month - 1]} {d.day}"


def day_of(ts: float) -> date:
    """The calendar day (UTC) a question names, as its key records it."""
    return datetime.fromtimestamp(ts, UTC).date()


def money(x: float) -> str:
    if x >= 100:
        return f"${x:,.0f}"
    return f"${x:,.4g}"


def strikes(rng: random.Random, base: float, n: int) -> list[float]:
    step = base * rng.choice([0.01, 0.02, 0.025, 0.05])
    centre = base * rng.uniform(0.9, 1.1)
    digits = 0 if base >= 100 else 4
    return [round(centre + (i - n // 2) * step, digits) for i in range(n)]


def _unused(name: str, seen: set[str], pool: list[str]) -> str:
    """The next name of `pool` after `name` not taken yet (one event never lists a name twice).

    A number appended to a taken name would read as the same person or team to
    anyone matching markets, so a list longer than the pool is the only case left
    that numbers them.
    """
    start = pool.index(name) if name in pool else 0
    for i in range(1, len(pool) + 1):
        candidate = pool[(start + i) % len(pool)]
        if candidate not in seen:
            return candidate
    return f"{name} {len(seen)}"


def make_event(rng: random.Random, kind: str, n: int, close_at: float) -> EventSpec:
    """An event of `kind` with `n` markets (n is honoured for multi-market kinds)."""
    day = day_text(close_at)
    year = datetime.fromtimestamp(close_at, UTC).year
    if kind == "crypto_ladder":
        name, sym, base = rng.choice(ASSETS)
        ev = EventSpec(kind, "Crypto", f"{name} above ___ on {day}?", False, series=f"KX{sym}D")
        for k in strikes(rng, base, n):
            ev.markets.append(
                MarketSpec(
                    f"Will {name} be above {money(k)} on {day}?",
                    money(k),
                    k,
                    ("above", name, k, day_of(close_at)),
                )
            )
        return ev
    if kind == "crypto_range":
        name, sym, base = rng.choice(ASSETS)
        ev = EventSpec(kind, "Crypto", f"{name} price range on {day}?", True, series=f"KX{sym}")
        ks = strikes(rng, base, n + 1)
        for lo, hi in itertools.pairwise(ks):
            label = f"{money(lo)}-{money(hi)}"
            ev.markets.append(
                MarketSpec(
                    f"Will {name} be between {label} on {day}?",
                    label,
                    lo,
                    ("band", name, lo, hi, day_of(close_at)),
                )
            )
        return ev
    if kind == "election":
        place, office = rng.choice(PLACES), rng.choice(OFFICES)
        ev = EventSpec(
            kind, "Politics", f"{place} {office} election winner {year}", True, series="KXELECT"
        )
        seen: set[str] = set()
        while len(ev.markets) < n:
            who = person(rng)
            if who in seen:
                who = _unused(who, seen, [f"{f} {last}" for f in FIRST for last in LAST])
            seen.add(who)
            ev.markets.append(
                MarketSpec(
                    f"Will {who} win the {year} {place} {office} election?",
                    who,
                    key=("win", who, place, office, year),
                )
            )
        return ev
    if kind == "champion":
        league, short = rng.choice(LEAGUES)
        ev = EventSpec(kind, "Sports", f"{league} champion {year}", True, series=f"KX{short}")
        seen_t: set[str] = set()
        while len(ev.markets) < n:
            t = team(rng)
            if t in seen_t:
                t = _unused(t, seen_t, [f"{c} {m}" for c in CITIES for m in MASCOTS])
            seen_t.add(t)
            ev.markets.append(
                MarketSpec(
                    f"Will the {t} win the {league} {year}?", t, key=("champion", t, league, year)
                )
            )
        return ev
    if kind == "fed":
        month = MONTHS[datetime.fromtimestamp(close_at, UTC).month - 1]
        ev = EventSpec(
            kind, "Economics", f"Fed decision in {month} {year}?", True, series="KXFEDDECISION"
        )
        for o in (FED_OUTCOMES * 2)[: max(2, min(n, 4))]:
            ev.markets.append(
                MarketSpec(
                    f"Will the Fed {o} after the {month} {year} meeting?",
                    o,
                    key=("fed", o, month, year),
                )
            )
        return ev
    if kind == "weather":
        city = rng.choice(CITIES)
        ev = EventSpec(
            kind, "Weather", f"Highest temperature in {city} on {day}?", True, series="KXHIGHT"
        )
        lo = rng.randint(40, 80)
        for i in range(n):
            label = f"{lo + 2 * i}-{lo + 2 * i + 1}°F"
            ev.markets.append(
                MarketSpec(
                    f"Will the highest temperature in {city} be {label} on {day}?",
                    label,
                    lo + 2 * i,
                    ("temperature", city, lo + 2 * i, day_of(close_at)),
                )
            )
        return ev
    if kind == "match":
        a, b = two_teams(rng)
        ev = EventSpec(kind, "Sports", f"{a} vs. {b}", False, series="KXGAME")
        ev.markets.append(
            MarketSpec(
                f"Will the {a} beat the {b} on {day}?", "", key=("beat", a, b, day_of(close_at))
            )
        )
        return ev
    who, what = person(rng), rng.choice(ACTIONS)
    ev = EventSpec("action", "Culture", f"Will {who} {what} by {day}?", False, series="KXMENTION")
    ev.markets.append(MarketSpec(ev.title, "", key=("action", who, what, day_of(close_at))))
    return ev


MULTI_KINDS = ["crypto_range", "election", "champion", "fed", "weather", "crypto_ladder"]
SINGLE_KINDS = ["match", "action", "crypto_ladder"]
