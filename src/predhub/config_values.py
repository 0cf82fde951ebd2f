"""Parsers for settings written as structured strings, run when settings load.

An environment variable is one string, but several settings hold a list, a
table or a URL. Each is parsed here into a typed value once, when `Settings`
is built, so a mistake stops the process at start-up with a message saying
what is allowed, and the code that uses a setting never parses it again.
Every parser raises `ValueError` with a short reason; pydantic adds the
variable's name and value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal, cast, get_args
from urllib.parse import SplitResult, urlsplit

from predhub.venues.descriptor import venue_names
from predhub.venues.ratelimit import RateLimit, parse_overrides

VENUE_NAMES = venue_names()  # from the venue registry
StaticDay = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "daily"]
WEEKDAYS: tuple[str, ...] = get_args(StaticDay)[:7]
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAILY = frozenset({"daily", "*", "every", "all"})
HTTP_SCHEMES = frozenset({"http", "https"})
WS_SCHEMES = frozenset({"ws", "wss"})
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})


def _items(text: str, separators: str) -> list[str]:
    for sep in separators[1:]:
        text = text.replace(sep, separators[0])
    return [item.strip() for item in text.split(separators[0]) if item.strip()]


def _known_venue(name: str) -> str:
    venue = name.strip().lower()
    if venue not in VENUE_NAMES:
        raise ValueError(f"unknown venue {name.strip()!r}; venues are {', '.join(VENUE_NAMES)}")
    return venue


def parse_venue_list(value: object) -> tuple[str, ...]:
    """`venue_a,venue_b` (or a sequence) into known venue names, duplicates dropped."""
    names = _items(value, ",") if isinstance(value, str) else [str(v) for v in _iter(value)]
    return tuple(dict.fromkeys(_known_venue(name) for name in names))


def _iter(value: object) -> Iterable[object]:
    if isinstance(value, list | tuple | set | frozenset):
        return value
    raise ValueError("must be a comma-separated list")


def _venue_numbers(value: object, unit: str, *, zero_ok: bool) -> dict[str, float]:
    """`venue=number,...` (commas or semicolons, or a dict) into {venue: number}."""
    if isinstance(value, dict):
        items = [f"{k}={v}" for k, v in value.items()]
    elif isinstance(value, str):
        items = _items(value, ",;")
    else:
        raise ValueError(f"must be venue={unit},...")
    want = "a number of at least 0" if zero_ok else "a positive number"
    out: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not sep or not math.isfinite(number) or number < 0 or (number == 0 and not zero_ok):
            raise ValueError(f"bad item {item!r}: want venue={unit} with {want}")
        out[_known_venue(name)] = number
    return out


def parse_request_budgets(value: object) -> dict[str, float]:
    """`venue=requests_per_second,...` (commas or semicolons) into {venue: rate}."""
    return _venue_numbers(value, "requests_per_second", zero_ok=False)


def parse_volume_floors(value: object) -> dict[str, float]:
    """`venue=usd,...` (commas or semicolons) into {venue: floor}; a floor may be 0."""
    return _venue_numbers(value, "usd", zero_ok=True)


def parse_fee_multipliers(value: object) -> dict[str, float]:
    """`SERIES=multiplier,...` (commas or semicolons) into {series: multiplier}; 0 is fee-free."""
    if isinstance(value, dict):
        items = [f"{k}={v}" for k, v in value.items()]
    elif isinstance(value, str):
        items = _items(value, ",;")
    else:
        raise ValueError("must be SERIES=multiplier,...")
    out: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not sep or not name.strip() or not math.isfinite(number) or number < 0:
            raise ValueError(f"bad item {item!r}: want SERIES=multiplier with a number >= 0")
        out[name.strip()] = number
    return out


def parse_rate_limits(value: object) -> dict[str, dict[str, RateLimit]]:
    """`venue:endpoint=requests/seconds;...` into {venue: {endpoint: limit}}."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ValueError("must be venue:endpoint=requests/seconds;...")
    parsed = parse_overrides(value)
    for venue, limits in parsed.items():
        _known_venue(venue)
        for endpoint, limit in limits.items():
            if endpoint != "*" and not endpoint.startswith("/"):
                raise ValueError(f"bad endpoint {endpoint!r}: want '*' or a path such as /markets")
            if not (math.isfinite(limit.requests) and math.isfinite(limit.per_seconds)):
                raise ValueError(f"bad rate limit for {venue}:{endpoint}: must be finite")
    return parsed


def parse_static_day(value: object) -> StaticDay:
    """A weekday (`sun`, `Sunday`) or `daily` into its three-letter form or `daily`."""
    text = str(value).strip().lower()
    if text in _DAILY:
        return "daily"
    if text in _FULL_DAYS:
        text = text[:3]
    if text in get_args(StaticDay):
        return cast(StaticDay, text)
    raise ValueError("must be a weekday (mon, tue, wed, thu, fri, sat, sun) or daily")


def _split_url(value: str) -> SplitResult:
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    return parts


def check_url(value: str, schemes: frozenset[str]) -> str:
    """A URL with one of `schemes` and a host."""
    parts = _split_url(value)
    if parts.scheme.lower() not in schemes or not parts.hostname:
        want = " or ".join(f"{s}://" for s in sorted(schemes))
        raise ValueError(f"must be a URL starting with {want} and naming a host")
    return value.strip()


def check_postgres_url(value: str) -> str:
    """A PostgreSQL connection URL (`postgresql://` or `postgres://`).

    The host may be left out (`postgresql:///db?host=/run/postgresql` reaches
    a Unix socket), so only the scheme and the port are checked.
    """
    parts = _split_url(value)
    if parts.scheme.lower() not in POSTGRES_SCHEMES:
        raise ValueError("must be a URL starting with postgresql:// or postgres://")
    return value.strip()


def parse_postgres_urls(value: object) -> tuple[str, ...]:
    """`url_a,url_b` (or a sequence) into PostgreSQL URLs, each checked, duplicates dropped.

    A URL whose password holds a comma must percent-encode it (`%2C`), as any
    URL may; a bad entry is named by its position so the one line finds it.
    """
    items = _items(value, ",") if isinstance(value, str) else [str(v) for v in _iter(value)]
    out: list[str] = []
    for position, item in enumerate(items, 1):
        try:
            out.append(check_postgres_url(item))
        except ValueError as exc:
            raise ValueError(f"entry {position} {_masked(item)!r}: {exc}") from None
    return tuple(dict.fromkeys(out))


def _masked(url: str) -> str:
    """A URL with any password hidden, to quote it in an error."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in creds:
        return url
    return f"{scheme}://{creds.split(':', 1)[0]}:********@{host}"


def format_rate_limits(limits: dict[str, dict[str, RateLimit]]) -> str:
    """The `VENUE_RATE_LIMITS` syntax of parsed limits (for `predhub config`)."""
    return ";".join(
        f"{venue}:{endpoint}={limit.requests:g}/{limit.per_seconds:g}"
        for venue, by_endpoint in limits.items()
        for endpoint, limit in by_endpoint.items()
    )


ACCESS_LEVELS = ("admin", "vip", "whitelist", "blocked")
DEFAULT_LEVEL_PERMISSIONS = "admin=read+write+admin,vip=read+write,whitelist=read,blocked="
DEFAULT_LEVEL_LIMITS = "admin=6000/600,vip=1200/120,whitelist=300/30"
Permission = Literal["read", "write", "admin"]
PERMISSIONS: tuple[str, ...] = get_args(Permission)


def _level_items(value: object, shape: str) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        items = [f"{k}={v}" for k, v in value.items()]
    elif isinstance(value, str):
        items = _items(value, ",;")
    else:
        raise ValueError(f"must be {shape}")
    out: list[tuple[str, str]] = []
    for item in items:
        level, sep, text = item.partition("=")
        level = level.strip().lower()
        if not sep or level not in ACCESS_LEVELS:
            raise ValueError(
                f"bad item {item!r}: want {shape} with a level among {', '.join(ACCESS_LEVELS)}"
            )
        out.append((level, text.strip()))
    return out


def parse_level_permissions(value: object) -> dict[str, frozenset[str]]:
    """`level=read+write+admin,...` into {level: permissions}; unlisted levels keep the defaults."""
    if isinstance(value, dict) and all(isinstance(v, frozenset) for v in value.values()):
        return value
    out: dict[str, frozenset[str]] = {}
    items = _level_items(DEFAULT_LEVEL_PERMISSIONS, "") + _level_items(
        value, "level=read+write+admin,..."
    )
    for level, text in items:
        wanted = frozenset(p.strip().lower() for p in text.replace("|", "+").split("+") if p)
        unknown = wanted - set(PERMISSIONS)
        if unknown:
            raise ValueError(
                f"unknown permission {sorted(unknown)[0]!r} for {level}:"
                f" permissions are {', '.join(PERMISSIONS)}"
            )
        out[level] = wanted
    out["blocked"] = frozenset()  # a blocked account may do nothing, whatever is written
    return out


def parse_level_limits(value: object) -> dict[str, tuple[int, int]]:
    """`level=requests/refreshes,...` per minute into {level: (requests, refreshes)};
    unlisted levels keep the defaults."""
    if isinstance(value, dict) and all(isinstance(v, tuple) for v in value.values()):
        return value
    out: dict[str, tuple[int, int]] = {}
    shape = "level=requests/refreshes,... (per minute)"
    for level, text in _level_items(DEFAULT_LEVEL_LIMITS, "") + _level_items(value, shape):
        requests, sep, refreshes = text.partition("/")
        try:
            pair = (int(requests), int(refreshes) if sep else 0)
        except ValueError:
            pair = (-1, -1)
        if pair[0] < 1 or pair[1] < 0:
            raise ValueError(
                f"bad limit {level}={text!r}: want requests/refreshes per minute,"
                " requests at least 1, refreshes at least 0"
            )
        out[level] = pair
    return out


def format_level_permissions(value: dict[str, frozenset[str]]) -> str:
    return ",".join(f"{level}={'+'.join(sorted(p))}" for level, p in value.items())


def format_level_limits(value: dict[str, tuple[int, int]]) -> str:
    return ",".join(f"{level}={r}/{f}" for level, (r, f) in value.items())
