"""Field normalizers shared by the venue parsers, and page-level error capture.

Venues disagree on how they spell a number (a fixed-point string, a JSON
float, a percent, a raw 6-decimal integer) and a time (ISO-8601 with any
number of fractional digits, unix seconds, unix milliseconds, sometimes as a
string). These helpers turn each spelling into the unified model's types and
raise `ItemInvalid` with a short reason on anything else, so a parser never
guesses and a drifted field never becomes a silently wrong value.

`parse_page` is what keeps a bad item from losing its page: each item that
raises becomes a `DataError`, the rest are returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from predhub.models import DataError, Event, Market, RawResponse
from predhub.venues.base import Fetched
from predhub.venues.errors import ItemInvalid as ItemInvalid

T = TypeVar("T")

ZERO = Decimal(0)
ONE = Decimal(1)


def obj(value: Any, what: str = "item") -> Mapping[str, Any]:
    """The value as a JSON object, or ItemInvalid."""
    if not isinstance(value, Mapping):
        raise ItemInvalid(f"{what} is {type(value).__name__}, expected an object")
    return value


def req(item: Mapping[str, Any], key: str) -> Any:
    """A field that must be present and not null."""
    value = item.get(key)
    if value is None:
        raise ItemInvalid(f"missing field {key!r}")
    return value


def req_str(item: Mapping[str, Any], key: str) -> str:
    value = req(item, key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ItemInvalid(f"field {key!r} is {type(value).__name__}, expected a string")
    text = str(value)
    if not text:
        raise ItemInvalid(f"field {key!r} is empty")
    return text


def opt_str(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ItemInvalid(f"field {key!r} is {type(value).__name__}, expected a string")
    return str(value)


def opt_list(item: Mapping[str, Any], key: str) -> list[Any]:
    """A list field; absent or null reads as empty."""
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ItemInvalid(f"field {key!r} is {type(value).__name__}, expected a list")
    return value


def decimal(value: Any, what: str = "value") -> Decimal:
    """A finite Decimal from a numeric string or JSON number.

    Strings keep their exact digits ("0.5600" stays Decimal("0.5600")); floats
    go through `repr`, so 0.1 becomes Decimal("0.1") rather than its binary
    expansion. Booleans, NaN and infinities are refused.
    """
    if isinstance(value, bool):
        raise ItemInvalid(f"{what} is a boolean, expected a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ItemInvalid(f"{what} is not finite")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ItemInvalid(f"{what} is not finite")
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ItemInvalid(f"{what} {value[:40]!r} is not a number") from None
        if not result.is_finite():
            raise ItemInvalid(f"{what} {value[:40]!r} is not finite")
        return result
    raise ItemInvalid(f"{what} is {type(value).__name__}, expected a number")


def price(value: Any, what: str = "price") -> Decimal:
    """A probability in [0, 1], digits kept exactly."""
    result = decimal(value, what)
    if not ZERO <= result <= ONE:
        raise ItemInvalid(f"{what} {value!r} is outside [0, 1]")
    return result


def percent_price(value: Any, what: str = "price") -> Decimal:
    """A probability given in percent (0..100), scaled exactly to [0, 1]."""
    result = decimal(value, what)
    if not ZERO <= result <= 100:
        raise ItemInvalid(f"{what} {value!r} is outside [0, 100]")
    return result.scaleb(-2)


def amount(value: Any, what: str = "amount") -> Decimal:
    """A non-negative quantity (money, contracts, shares)."""
    result = decimal(value, what)
    if result < 0:
        raise ItemInvalid(f"{what} {value!r} is negative")
    return result


def raw_units(value: Any, decimals: int, what: str = "amount") -> Decimal:
    """An on-chain integer amount (e.g. USDC with 6 decimals) in whole units."""
    return amount(value, what).scaleb(-decimals)


def opt(item: Mapping[str, Any], key: str, conv: Callable[[Any, str], T]) -> T | None:
    """Convert a field when present and not null/empty."""
    value = item.get(key)
    if value is None or value == "":
        return None
    return conv(value, key)


def complement(p: Decimal) -> Decimal:
    """1 - p for a probability; Decimal keeps p's decimal places ("0.8700" -> "0.1300")."""
    return ONE - p


def iso_time(value: Any, what: str = "time") -> datetime:
    """An aware UTC datetime from ISO-8601 text ('Z', any fraction, space separator)."""
    if not isinstance(value, str):
        raise ItemInvalid(f"{what} is {type(value).__name__}, expected ISO-8601 text")
    text = value.strip()
    if text.endswith(("+00", "-00")) and len(text) > 3 and text[-3] in "+-":
        text += ":00"  # "2020-11-09 17:55:41+00"
    try:
        result = datetime.fromisoformat(text)
    except ValueError:
        raise ItemInvalid(f"{what} {value[:40]!r} is not an ISO-8601 time") from None
    if result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    return result.astimezone(UTC)


def unix_seconds(value: Any, what: str = "time") -> datetime:
    seconds = decimal(value, what)
    try:
        return datetime.fromtimestamp(float(seconds), UTC)
    except (OverflowError, OSError, ValueError):
        raise ItemInvalid(f"{what} {value!r} is out of range") from None


def unix_millis(value: Any, what: str = "time") -> datetime:
    return unix_seconds(decimal(value, what).scaleb(-3), what)


def to_unix(moment: datetime) -> int:
    """Whole unix seconds of an aware datetime."""
    return int(moment.timestamp())


def parse_page(
    venue: str,
    endpoint: str,
    items: Iterable[Any],
    parse: Callable[[Any], T],
    item_id: Callable[[Any], str | None],
    raw: RawResponse | None = None,
) -> tuple[list[T], list[DataError]]:
    """Parse every item; each one that fails becomes a `DataError`, never the whole page."""
    parsed: list[T] = []
    errors: list[DataError] = []
    for item in items:
        try:
            parsed.append(parse(item))
        except ItemInvalid as exc:
            errors.append(
                DataError(
                    venue=venue,
                    endpoint=endpoint,
                    item_id=exc.item_id or item_id(item),
                    reason=exc.reason,
                    item=item,
                    raw=raw,
                )
            )
    return parsed, errors


def parse_grouped_page(
    venue: str,
    endpoint: str,
    items: Iterable[Any],
    parse: Callable[[Any], tuple[Event | None, list[Market], list[DataError]]],
    item_id: Callable[[Any], str | None],
) -> tuple[list[Event], list[Market], list[DataError]]:
    """A page whose entries are a market, or an event holding markets.

    Each entry parses to its event (if any), its markets and the errors of its
    children; a child error takes the page's endpoint, so it is reported where
    it was read, and an entry that fails as a whole is one `DataError`.
    """
    events: list[Event] = []
    markets: list[Market] = []
    parsed, errors = parse_page(venue, endpoint, items, parse, item_id)
    for event, children, child_errors in parsed:
        if event is not None:
            events.append(event)
        markets.extend(children)
        for err in child_errors:
            err.endpoint = endpoint
        errors.extend(child_errors)
    return events, markets, errors


def finest_interval(seconds: int, intervals: Iterable[tuple[int, str]], coarsest: str) -> str:
    """The venue's finest interval name not finer than `seconds`.

    `intervals` pairs each named interval with its length, finest first; a
    span longer than all of them gets `coarsest`.
    """
    for limit, name in intervals:
        if seconds <= limit:
            return name
    return coarsest


def key_id(*keys: str) -> Callable[[Any], str | None]:
    """An item-id reader trying `keys` in order, for `parse_page`."""

    def read(item: Any) -> str | None:
        if isinstance(item, Mapping):
            for key in keys:
                value = item.get(key)
                if value is not None and not isinstance(value, dict | list):
                    return str(value)
        return None

    return read


def page_list(body: Any, key: str | None) -> list[Any]:
    """The item list of a page body (`body[key]`, or the body itself when key is None)."""
    value = body if key is None else obj(body, "response body").get(key)
    if not isinstance(value, list):
        where = "response body" if key is None else f"field {key!r}"
        raise ItemInvalid(f"{where} is {type(value).__name__}, expected a list")
    return value


def page_error(
    venue: str, endpoint: str, exc: ItemInvalid, body: Any, raw: RawResponse | None
) -> DataError:
    """A whole response that failed validation (wrong shape), kept as one data error."""
    return DataError(venue, endpoint, exc.item_id, f"page: {exc.reason}", body, raw)


def with_raw(items: Iterable[Any], raw: RawResponse) -> None:
    """Point parsed objects and data errors at the response they came from."""
    for item in items:
        if getattr(item, "raw", None) is None:
            item.raw = raw


def fetched_from(
    venue: str,
    endpoint: str,
    body: Any,
    raw: RawResponse,
    parse: Callable[[], tuple[list[T], list[DataError]]],
) -> Fetched[T]:
    """One response's items and data errors, each pointing at the response.

    A response that fails as a whole (wrong shape) is kept as one data error,
    so a caller gathering many responses loses only that one.
    """
    out: Fetched[T] = Fetched(raw=[raw])
    try:
        out.items, out.errors = parse()
    except ItemInvalid as exc:
        out.errors.append(page_error(venue, endpoint, exc, body, raw))
        return out
    with_raw([*out.items, *out.errors], raw)
    return out


def media(item: Mapping[str, Any], *, image: str, icon: str) -> dict[str, str]:
    """The item's picture and icon URLs as `image_url` / `icon_url` (where they are http URLs).

    Kept in a market's or event's `extra`, from which the API serves them.
    """
    out: dict[str, str] = {}
    for name, key in (("image_url", image), ("icon_url", icon)):
        value = item.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            out[name] = value
    return out
