"""One category vocabulary across venues, derived from what each market carries.

Venues label markets differently or not at all: one sends a category per
event, another only tags, another nothing but a series ticker and a title.
Filtering by category across venues needs one word for one subject, so a
market's category is derived here, purely, from its own category, its
event's category and tags, its series and the words of its title, in that
order of trust. Unknown subjects fall back to `Other`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

OTHER = "Other"

# Venue labels (lower case) that name one of ours directly.
_LABELS: dict[str, str] = {
    "crypto": "Crypto",
    "cryptocurrency": "Crypto",
    "bitcoin": "Crypto",
    "ethereum": "Crypto",
    "politics": "Politics",
    "elections": "Politics",
    "election": "Politics",
    "us-current-affairs": "Politics",
    "world": "World",
    "geopolitics": "World",
    "sports": "Sports",
    "nba": "Sports",
    "nfl": "Sports",
    "soccer": "Sports",
    "economics": "Economics",
    "economy": "Economics",
    "fed": "Economics",
    "finance": "Finance",
    "financials": "Finance",
    "stocks": "Finance",
    "business": "Finance",
    "companies": "Finance",
    "tech": "Science & Tech",
    "technology": "Science & Tech",
    "science": "Science & Tech",
    "science and technology": "Science & Tech",
    "ai": "Science & Tech",
    "culture": "Culture",
    "pop culture": "Culture",
    "entertainment": "Culture",
    "climate": "Climate & Weather",
    "weather": "Climate & Weather",
    "climate and weather": "Climate & Weather",
}

# Words in a series ticker or a title that give the subject away.
_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "Crypto",
        re.compile(
            r"\b(bitcoin|btc|ethereum|eth|solana|sol|xrp|doge|dogecoin|crypto|token|stablecoin)\b"
        ),
    ),
    (
        "Economics",
        re.compile(r"\b(fed|fomc|rates?|inflation|cpi|gdp|unemployment|recession|jobs report)\b"),
    ),
    (
        "Politics",
        re.compile(
            r"\b(election|elect|president|presidential|senate|governor|mayor|congress|"
            r"parliament|prime minister|primary|vote|nominee|party)\b"
        ),
    ),
    (
        "Sports",
        re.compile(
            r"\b(vs\.?|champion|championship|league|cup|nba|nfl|mlb|nhl|premier|playoffs?|"
            r"super bowl|world series|match|game|grand prix|open)\b"
        ),
    ),
    ("Finance", re.compile(r"\b(stock|shares|s&p|nasdaq|dow|earnings|ipo|market cap)\b")),
    ("Climate & Weather", re.compile(r"\b(temperature|hurricane|rain|snow|weather|climate)\b")),
    ("Science & Tech", re.compile(r"\b(ai|openai|gpt|spacex|launch|apple|google|nvidia)\b")),
)

# Series tickers carry the subject in their letters: KXBTCD, KXELECT, KXFEDDECISION.
_SERIES: tuple[tuple[str, str], ...] = (
    ("BTC", "Crypto"),
    ("ETH", "Crypto"),
    ("SOL", "Crypto"),
    ("XRP", "Crypto"),
    ("DOGE", "Crypto"),
    ("ELECT", "Politics"),
    ("PRES", "Politics"),
    ("SENATE", "Politics"),
    ("FED", "Economics"),
    ("CPI", "Economics"),
    ("GDP", "Economics"),
    ("GAME", "Sports"),
    ("NBA", "Sports"),
    ("NFL", "Sports"),
)


def from_label(label: str | None) -> str | None:
    """Our category for a venue's own label or tag, or None when it names none of ours."""
    if not label:
        return None
    key = label.strip().lower()
    if key in _LABELS:
        return _LABELS[key]
    canonical = {value.lower(): value for value in _LABELS.values()}
    return canonical.get(key)


def from_series(series: str | None) -> str | None:
    """Our category from the letters of a series ticker (`KXBTCD` is Crypto)."""
    if not series:
        return None
    upper = series.upper()
    for part, category in _SERIES:
        if part in upper:
            return category
    return None


def from_words(texts: Iterable[str | None]) -> str | None:
    """Our category from the first subject word found in titles or questions."""
    for text in texts:
        if not text:
            continue
        lower = text.lower()
        for category, pattern in _WORDS:
            if pattern.search(lower):
                return category
    return None


def normalise(
    *,
    category: str | None,
    event_category: str | None = None,
    tags: Sequence[str] = (),
    series: str | None = None,
    titles: Sequence[str | None] = (),
) -> str:
    """The one category a market is filed under, whichever venue it comes from."""
    for label in (category, event_category, *tags):
        found = from_label(label)
        if found:
            return found
    return from_series(series) or from_words(titles) or OTHER
