"""Reading a market's terms from its text: pure functions, no I/O.

Two markets pay on the same event only if they agree on every term that
decides the payout: the subject (person, team, asset, office, place), the
threshold or band and its direction (`>` is not `>=`), the date or window
("on Dec 31" is not "by Dec 31"), the resolution source, and the side. This
module turns a question (plus the YES label of a bracket or outcome, the
event title, the rules and the close date) into those terms, so that the
relation between two markets is decided by comparing terms, not by how many
words their titles share.
"""

from __future__ import annotations

import calendar
import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from predhub.match.lexicon import (
    DEMONYMS,
    GENERIC_CAPS,
    OFFICES,
    PHRASES,
    SOURCES,
    STOPWORDS,
    TEAMS,
)

INF = float("inf")
MONTHS = {
    name: i
    for i in range(1, 13)
    for name in (calendar.month_name[i].lower(), calendar.month_abbr[i].lower())
}
MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_NUM = (
    r"(\$)?\s?(\d[\d,]*(?:\.\d+)?)\s?"
    r"(k|m|b|t|trillion|billion|million|thousand|%|bps|bp|basis points|inches|inch|°f|°|usd)?(?![a-z])"
)


@dataclass(frozen=True, slots=True)
class MarketText:
    """What the matcher reads of one market (all optional but the question)."""

    question: str
    outcome: str | None = None  # the YES side's label (a bracket, a team, a candidate)
    event_title: str | None = None
    rules: str | None = None
    end_date: date | None = None


@dataclass(frozen=True, slots=True)
class Threshold:
    """`value op`: YES pays when the measured quantity is `op value` (unit as read)."""

    op: str  # '>', '>=', '<', '<='
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class Window:
    """When the event must happen: on a day, by a deadline, or within a period."""

    kind: str  # 'on' | 'by' | 'in'
    start: date | None
    end: date | None
    label: str = ""  # e.g. 'first 100 days' when no date can be computed


@dataclass(frozen=True, slots=True)
class Game:
    """A game between two sides and the side whose win pays YES (None: unknown)."""

    sides: frozenset[str]
    yes: str | None
    league: str | None
    no_draw: bool  # a league or format where every game has a winner
    two_sided: bool  # both sides are named in the market
    day: date | None
    kind: str = ""  # 'spread', 'total' ... when the market is not the plain winner


@dataclass(frozen=True, slots=True)
class Terms:
    """Everything about a market that decides whether another pays on the same event."""

    text: str  # the folded question (and YES label)
    tokens: frozenset[str]  # content words, for similarity and blocking
    entities: frozenset[str]  # folded proper names of the question
    context: frozenset[str]  # every word of question, label, event title and rules
    thresholds: tuple[Threshold, ...] = ()
    band: tuple[float, float, str] | None = None  # [lo, hi) and unit
    fed_move: tuple[float, float] | None = None  # signed basis points, inclusive
    window: Window | None = None
    period: str | None = None  # 'YYYY-MM' of a meeting or a data month
    years: frozenset[int] = frozenset()
    negated: bool = False
    game: Game | None = None
    offices: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    qualifiers: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    contest: bool = False  # "who wins X": identified by the contest, not by a deadline
    end_date: date | None = None
    blocking: frozenset[str] = field(default_factory=frozenset)


_PHRASE_MAP = {old: new for old, new in PHRASES}
_PHRASE_RE = re.compile(
    r"(?<![a-z0-9])(?:"
    + "|".join(re.escape(old) for old in sorted(_PHRASE_MAP, key=len, reverse=True))
    + r")(?![a-z0-9])"
)


_DEMOCRAT = re.compile(r"\bdemocrats?\b")
_REPUBLICAN = re.compile(r"\brepublicans?\b")
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Lower-case ASCII with one spelling per alias (accents and dashes folded)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("**", "")
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("≥", ">= ").replace("≤", "<= ")
    text = _PHRASE_RE.sub(lambda m: _PHRASE_MAP[m[0]], " " + text.lower() + " ")
    text = _DEMOCRAT.sub("democratic", text)
    text = _REPUBLICAN.sub("republican", text)
    return _SPACES.sub(" ", text).strip()


_WORD = re.compile(r"[a-z0-9][a-z0-9'.&]*[a-z0-9]|[a-z0-9]")


def words(text: str) -> list[str]:
    """The words of folded text ("trump's" is "trump"); a word starts and ends alphanumeric."""
    return _WORD.findall(text.replace("'s", "") if "'s" in text else text)


# --- teams --------------------------------------------------------------------------

_TEAM_INDEX: dict[str, list[tuple[str, str]]] = {}
for _league, _city, _nick in TEAMS:
    # "Los Angeles C" marks a city shared by two teams of one league
    _place = re.sub(r" [A-Z]$", "", _city).lower()
    for _alias in (_nick.lower(), _place, f"{_place} {_nick.lower()}"):
        _TEAM_INDEX.setdefault(_alias, []).append((_league, _nick.lower()))


def _team_choices(side: str) -> list[tuple[str, str]]:
    side = fold(side).strip(" ?.!").removeprefix("the ")
    if side in _TEAM_INDEX:
        return _TEAM_INDEX[side]
    return []


def _fold_sides(a: str, b: str) -> tuple[str, str, str | None]:
    """Each side's team key, using the league both sides share to break ties."""
    ca, cb = _team_choices(a), _team_choices(b)
    for la, ka in ca:
        for lb, kb in cb:
            if la == lb:
                return ka, kb, la
    ka = ca[0][1] if len(ca) == 1 else _side_key(a)
    kb = cb[0][1] if len(cb) == 1 else _side_key(b)
    return ka, kb, None


def _side_key(side: str) -> str:
    return " ".join(words(fold(side).removeprefix("the ")))


def fold_team(side: str, league: str | None) -> str:
    for lg, key in _team_choices(side):
        if league is None or lg == league:
            return key
    return _side_key(side)


_ESPORTS = re.compile(
    r"^(lol|league of legends|cs2|csgo|cs:go|dota ?2?|valorant|tennis|atp|wta)\s*:"
)
_GAME_VS = re.compile(
    r"^(?:(?P<prefix>[a-z0-9 ]{2,20}):\s*)?(?P<a>[a-z0-9.'& ]+?)\s+(?P<sep>vs\.?|v\.?|at|@)\s+"
    r"(?P<b>[a-z0-9.'& ]+?)(?:\s+(?:winner|win))?\s*(?:\((?P<kind>[a-z ]+)\))?\s*\??$"
)
_GAME_BEAT = re.compile(
    r"^will (?:the )?(?P<a>[a-z0-9.'& ]+?) (?:beat|defeat) (?:the )?(?P<b>[a-z0-9.'& ]+?)"
    r"(?: on (?P<day>.+?))?\??$"
)
_GAME_WIN_ON = re.compile(r"^will (?:the )?(?P<a>[a-z0-9.'& ]+?) win on (?P<day>[0-9a-z ,-]+)\??$")


_NOT_A_SIDE = re.compile(r"\b(will|who|what|which|price|above|below)\b")


def _game(q: str, outcome: str | None, day: date | None) -> Game | None:
    """Read a game market: 'A vs. B', 'A at B Winner?', 'Will A beat B', 'Will A win on D'."""
    m = _GAME_VS.match(q)
    if m and not _NOT_A_SIDE.search(m["a"] + " " + m["b"]):
        a, b, league = _fold_sides(m["a"], m["b"])
        if a == b:
            return None
        yes = fold_team(outcome, league) if outcome else None
        if yes is not None and yes not in (a, b):
            yes = _closest(yes, (a, b))
        two_way = league is not None or m["sep"] in ("at", "@") or bool(_ESPORTS.match(q))
        if m["prefix"] and _ESPORTS.match(m["prefix"] + ":"):
            two_way = True
        return Game(frozenset((a, b)), yes, league, two_way, True, day, m["kind"] or "")
    m = _GAME_BEAT.match(q)
    if m:
        a, b, league = _fold_sides(m["a"], m["b"])
        if a != b:
            return Game(frozenset((a, b)), a, league, league is not None, True, day)
    m = _GAME_WIN_ON.match(q)
    if m:
        a = fold_team(m["a"], None)
        return Game(frozenset((a,)), a, None, False, False, day)
    return None


def _closest(key: str, options: tuple[str, str]) -> str | None:
    from rapidfuzz import fuzz

    best = max(options, key=lambda o: fuzz.partial_ratio(key, o))
    return best if fuzz.partial_ratio(key, best) >= 80 else None


# --- numbers ------------------------------------------------------------------------

_SCALE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "million": 1e6,
    "b": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "trillion": 1e12,
}


def _number(dollar: str | None, raw: str, suffix: str | None) -> tuple[float, str]:
    value = float(raw.replace(",", ""))
    suffix = (suffix or "").strip()
    money = "$" if dollar else ""
    if suffix in _SCALE:
        return value * _SCALE[suffix], money
    unit = {
        "%": "%",
        "bps": "bps",
        "bp": "bps",
        "basis points": "bps",
        "inches": "in",
        "inch": "in",
        "in": "in",
        "°f": "deg",
        "°": "deg",
        "usd": "$",
    }.get(suffix, money)
    return value, unit


_OPS: tuple[tuple[str, str], ...] = (
    (r"(?:less than or equal to|at most|no more than|<=)\s?" + _NUM, "<="),
    (r"(?:at least|no less than|>=)\s?" + _NUM, ">="),
    (_NUM + r"\s?(?:or more|or above|or higher|or greater|\+)", ">="),
    (_NUM + r"\s?(?:or less|or below|or lower|or fewer|or under)", "<="),
    (r"(?:above|more than|greater than|over|exceeds?|surpass(?:es)?|higher than|>)\s?" + _NUM, ">"),
    (r"(?:below|less than|under|fewer than|lower than|<)\s?" + _NUM, "<"),
)
_OPS_RE = tuple((re.compile(pattern), op) for pattern, op in _OPS)
_BAND = re.compile(r"(?:between\s)?" + _NUM + r"\s?(?:and|to|-)\s?" + _NUM)


def _band(text: str) -> tuple[float, float, str] | None:
    for m in _BAND.finditer(text):
        lo, u1 = _number(m[1], m[2], m[3])
        hi, u2 = _number(m[4] or m[1], m[5], m[6])
        if not lo < hi:
            continue
        unit = u1 or u2
        return lo, _exclusive_upper(m[5], hi), unit
    return None


def _exclusive_upper(raw: str, hi: float) -> float:
    """'10 to 14.9' and '0.88 to 0.8999' mean [lo, 15) and [lo, 0.90): close the gap."""
    if "." in raw:
        decimals = raw.split(".", 1)[1]
        if decimals.endswith("9") and (set(decimals) == {"9"} or decimals.endswith("99")):
            return round(hi + 10.0 ** -len(decimals), 10)
    return hi


def _thresholds(text: str) -> tuple[Threshold, ...]:
    found: list[tuple[int, Threshold]] = []
    taken: list[tuple[int, int]] = []
    for pattern, op in _OPS_RE:
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            value, unit = _number(m[1], m[2], m[3])
            taken.append((m.start(), m.end()))
            found.append((m.start(), Threshold(op, value, unit)))
    found.sort(key=lambda x: x[0])
    return tuple(t for _, t in found)


_FED = re.compile(r"\b(fed|interest rates?|rates)\b")
_FED_HOLD = re.compile(r"\b(no change|hold|holds|pause|unchanged|maintain)\b")
_FED_DOWN = re.compile(r"\b(cut|cuts|decrease|decreases|lower|lowers|reduce)\b")
_FED_UP = re.compile(r"\b(hike|hikes|increase|increases|raise|raises)\b")
_FED_BPS = re.compile(r"(>|more than |over )?\s?(\d+)\s?(\+)?\s?(?:bps|bp|basis points)")


def _fed_move(text: str) -> tuple[float, float] | None:
    """A Fed decision as an interval of signed basis points (moves come in 25 bp steps)."""
    if not _FED.search(text) or "upper bound" in text:
        return None
    if _FED_HOLD.search(text):
        return (0.0, 0.0)
    down = _FED_DOWN.search(text)
    up = _FED_UP.search(text)
    if not (down or up) or (down and up):
        return None
    sign = -1.0 if down else 1.0
    m = _FED_BPS.search(text)
    if m is None:
        lo, hi = 25.0, INF
    else:
        n = float(m[2])
        if m[1]:
            lo, hi = n + 25.0, INF
        elif m[3]:
            lo, hi = n, INF
        else:
            lo, hi = n, n
    if lo == 0.0 and hi == 0.0:
        return (0.0, 0.0)
    return (sign * hi, sign * lo) if sign < 0 else (lo, hi)


# --- dates --------------------------------------------------------------------------

_DAY_FIRST = re.compile(rf"\b(\d{{1,2}}) ({_MONTH_RE})\.?,? (\d{{4}})\b")
_MONTH_DAY = re.compile(rf"\b({_MONTH_RE})\.? (\d{{1,2}})(?:st|nd|rd|th)?\b(?:,? (\d{{4}}))?")
_MONTH_YEAR = re.compile(rf"\b({_MONTH_RE})\.? (\d{{4}})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _infer_year(month: int, day: int, end: date | None) -> int:
    """A date without a year is the one nearest before the market's close."""
    if end is None:
        return date.today().year
    year = end.year
    try:
        if date(year, month, day) > end + timedelta(days=31):
            year -= 1
    except ValueError:
        pass
    return year


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


_PRE = r"(on|by|before|until|in|at|no later than|prior to|through|during|of|after)?\s?"
_PRE_ISO = re.compile(_PRE + _ISO.pattern)
_PRE_DAY_FIRST = re.compile(_PRE + _DAY_FIRST.pattern)
_PRE_MONTH_DAY = re.compile(_PRE + _MONTH_DAY.pattern)
_PRE_MONTH_YEAR = re.compile(_PRE + _MONTH_YEAR.pattern)
_MEETING = re.compile(rf"\b({_MONTH_RE})\.? (\d{{4}}) meeting\b")
_FIRST_N = re.compile(r"first (\d+) (days|months)")
_END_OF_YEAR = re.compile(r"\b(?:at )?the end of (\d{4})\b")
_PREP_YEAR = re.compile(r"\b(before|by|in|of|during|until|through)\s(\d{4})\b")
_PREP_MONTH = re.compile(rf"\b(before|by|in|during|until|through)\s({_MONTH_RE})\b")


def _window(text: str, end: date | None) -> tuple[Window | None, str | None]:
    """The date window of the question and, separately, a meeting or data month."""
    m: re.Match[str] | None
    period = None
    for mt in _MEETING.finditer(text):
        period = f"{int(mt[2]):04d}-{MONTHS[mt[1]]:02d}"
    first = _FIRST_N.search(text)
    if first:
        return Window("by", None, None, f"first {first[1]} {first[2]}"), period
    for m in _PRE_ISO.finditer(text):
        d = _safe(int(m[2]), int(m[3]), int(m[4]))
        if d:
            return _dated(m[1], d), period
    for m in _PRE_DAY_FIRST.finditer(text):
        d = _safe(int(m[4]), MONTHS[m[3]], int(m[2]))
        if d:
            return _dated(m[1], d), period
    for m in _PRE_MONTH_DAY.finditer(text):
        month, day = MONTHS[m[2]], int(m[3])
        if day > 31:
            continue
        year = int(m[4]) if m[4] else _infer_year(month, day, end)
        d = _safe(year, month, day)
        if d:
            return _dated(m[1], d), period
    for m in _PRE_MONTH_YEAR.finditer(text):
        month, year = MONTHS[m[2]], int(m[3])
        if m[0].endswith("meeting"):
            continue
        if (m[1] or "") in ("before", "prior to"):
            prev = date(year, month, 1) - timedelta(days=1)
            return Window("by", None, prev), period
        if (m[1] or "") in ("by", "until", "through"):
            return Window("by", None, _month_end(year, month)), period
        if period is None:
            period = f"{year:04d}-{month:02d}"
    m = _END_OF_YEAR.search(text)
    if m:
        return Window("on", date(int(m[1]), 12, 31), date(int(m[1]), 12, 31)), period
    m = _PREP_YEAR.search(text)
    if m:
        year = int(m[2])
        if m[1] == "before":
            return Window("by", None, date(year - 1, 12, 31)), period
        return Window("by", None, date(year, 12, 31)), period
    m = _PREP_MONTH.search(text)
    if m:
        month = MONTHS[m[2]]
        year = _infer_year(month, 1, end)
        if m[1] == "before":
            return Window("by", None, date(year, month, 1) - timedelta(days=1)), period
        if m[1] in ("by", "until", "through"):
            return Window("by", None, _month_end(year, month)), period
        if period is None:
            year = end.year if end else year
            if end and date(year, month, 1) > end:
                year -= 1
            period = f"{year:04d}-{month:02d}"
    return None, period


def _dated(prep: str | None, d: date) -> Window:
    if prep in ("by", "until", "no later than", "through"):
        return Window("by", None, d)
    if prep in ("before", "prior to"):
        return Window("by", None, d - timedelta(days=1))
    return Window("on", d, d)


# --- names --------------------------------------------------------------------------

_CAPS = re.compile(r"\b[A-Z][\w.'&/-]*(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w.'&/-]*)*")


def _entities(raw: str) -> set[str]:
    out: set[str] = set()
    if not raw.isascii():
        raw = unicodedata.normalize("NFKD", raw)
        raw = "".join(c for c in raw if not unicodedata.combining(c))
    for phrase in _CAPS.findall(raw):
        for w in words(fold(phrase)):
            if w in GENERIC_CAPS or w in STOPWORDS or len(w) < 2 or w.isdigit():
                continue
            out.add(DEMONYMS.get(w, w))
    return out


_QUALIFIERS = re.compile(
    r"\b(second|third|fourth|runner-up|core|headline|monthly|annual|yoy|seasonally|"
    r"spread|total|handicap|popular vote|electoral|margin|turnout|nominee|primary|"
    r"announce|announces|announcement|resign|impeach|impeached|convicted|indicted|"
    r"extension|extended|reunion|another|other)\b"
)
_CONTEST = re.compile(
    r"\b(win|elected|election|electoral|champion|championship|finals?|cup|oscars?|grammys?|emmys?|"
    r"award|prize|nominee|primary|most seats|next (?:president|prime minister|leader|pope|"
    r"chancellor)|mvp|ballon)\b"
)
_NEGATION = re.compile(r"\b(not|n't|never|lose|loses|fail|fails|stay below|no longer)\b")


# a year is four digits standing alone: not the decimals of a price ("$0.2013")
_YEAR = re.compile(r"(?<![\d.,])\b(?:19|20)\d{2}\b(?![.,]\d)")
_YEAR_20 = re.compile(r"(?<![\d.,])\b(20\d{2})\b(?![.,]\d)")

_MONTH_DAY_TEXT = re.compile(rf"\b({_MONTH_RE})\.? \d{{1,2}}(?:,? \d{{4}})?")
_NOT_A_NUMBER = re.compile(r"\b\d+(?:st|nd|rd|th)\b|\b\d{1,2}\s?(?:am|pm)\b|\bu-3\b|\b\d+ days\b")

_OFFICE_KEYS = dict(OFFICES)
_OFFICE_RE = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in sorted(_OFFICE_KEYS, key=len, reverse=True)) + r")\b"
)


def extract(m: MarketText) -> Terms:
    """Read a market's terms (see the module docstring)."""
    question = (m.question or "").strip()
    label = (m.outcome or "").strip()
    q = fold(question)
    lab = fold(label) if label else ""
    text = f"{q} {lab}".strip()
    rules = fold(m.rules or "")
    event = fold(m.event_title or "")
    window, period = _window(q, m.end_date)
    if window is None and lab:
        window, p2 = _window(lab, m.end_date)
        period = period or p2
    fed = _fed_move(text)
    numeric = _ISO.sub(" ", text)
    numeric = _MONTH_DAY_TEXT.sub(" ", numeric)
    numeric = _YEAR.sub(" ", numeric)
    numeric = _NOT_A_NUMBER.sub(" ", numeric)
    band = thresholds = None
    if fed is None:
        band = _band(lab) if lab else None
        thresholds = _thresholds(lab) if lab else ()
        if band is None and not thresholds:
            band = _band(numeric)
            thresholds = () if band else _thresholds(numeric)
    years = frozenset(int(y) for y in _YEAR_20.findall(text))
    game = _game(q, label or None, window.start if window and window.kind == "on" else m.end_date)
    offices = frozenset(_OFFICE_KEYS[m] for m in _OFFICE_RE.findall(q))
    places = frozenset(DEMONYMS[w] for w in words(q) if w in DEMONYMS)
    entities = _entities(question) | (_entities(label) if label else set())
    entities |= set(places)
    quals = frozenset(_QUALIFIERS.findall(text))
    padded = f" {rules} {q} "
    srcs = frozenset(key for spelling, key in SOURCES.items() if spelling in padded)
    text_words = words(text)
    toks = frozenset(
        w for w in text_words if w not in STOPWORDS and len(w) > 1 and not w.isdigit()
    ) | {DEMONYMS[w] for w in text_words if w in DEMONYMS}
    rule_words = words(rules) if rules else []
    context = frozenset(text_words).union(words(event) if event else (), rule_words) | {
        DEMONYMS[w] for w in itertools.chain(text_words, rule_words) if w in DEMONYMS
    }
    blocking = set(toks)
    if game:
        blocking |= {f"team:{s}" for s in game.sides}
    for t in thresholds or ():
        blocking.add(f"n:{t.value:g}")
    if band:
        blocking.add(f"n:{band[0]:g}")
    return Terms(
        text=text,
        tokens=toks,
        entities=frozenset(entities),
        context=context,
        thresholds=tuple(thresholds or ()),
        band=band,
        fed_move=fed,
        window=window,
        period=period,
        years=years,
        negated=bool(_NEGATION.search(q)),
        game=game,
        offices=offices,
        places=places,
        qualifiers=quals,
        sources=srcs,
        contest=bool(_CONTEST.search(text)),
        end_date=m.end_date,
        blocking=frozenset(blocking),
    )
