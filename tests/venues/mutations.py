"""Hypothesis strategies that break recorded venue pages the ways a drifting venue would.

A mutation picks a place in a real page (any key or list slot, at any depth)
and drops it, nulls it, gives it another type, an absurd number (huge,
negative, NaN, infinite, as a number or as text), odd unicode, or wraps it in
a list or object; several may stack. `truncated_text` cuts the page's JSON
text short, as a dropped connection would.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]

ODD_TEXT = [
    "",
    " ",
    "\x00",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "0x10",
    "١٢٣",  # Arabic-Indic digits: int() accepts them, Decimal too
    "½",
    "💥",
    "\u202e1",
    "9" * 400,
    "2026-13-45T99:99:99Z",
    "[1, 2",
    '["a"]',
    "{}",
    "null",
    "true",
]
ODD_NUMBERS = [
    0,
    -1,
    -(10**30),
    10**30,
    2**63,
    -(2**63) - 1,
    10**400,
    1e308,
    -1e308,
    5e-324,
    float("nan"),
    float("inf"),
    float("-inf"),
    0.1,
    1.0000001,
    -0.0,
]

odd_values: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(ODD_NUMBERS),
    st.integers(),
    st.floats(),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=12),
    st.just([]),
    st.just({}),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.one_of(st.none(), st.integers()), max_size=2),
)


def places(doc: Any, path: Path = ()) -> list[Path]:
    """Every path into `doc`: the root, each object key and each list slot."""
    out = [path]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(places(value, (*path, key)))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out.extend(places(value, (*path, index)))
    return out


def _get(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _set(doc: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _drop(doc: Any, path: Path) -> Any:
    if not path:
        return None
    del _get(doc, path[:-1])[path[-1]]
    return doc


def _place(doc: Any) -> st.SearchStrategy[Path]:
    """A place to break: half the time any place, half the time one of a field name's
    places, so that a field seen once is picked as often as one repeated in every item."""
    everywhere = places(doc)
    by_name: dict[str | int, list[Path]] = {}
    for path in everywhere:
        if path and isinstance(path[-1], str):
            by_name.setdefault(path[-1], []).append(path)
    if not by_name:
        return st.sampled_from(everywhere)
    named = st.sampled_from(sorted(by_name, key=str)).flatmap(
        lambda name: st.sampled_from(by_name[name])
    )
    return st.one_of(st.sampled_from(everywhere), named)


@st.composite
def mutated(draw: st.DrawFn, page: Any, max_mutations: int = 3) -> Any:
    """A copy of `page` with one to `max_mutations` places broken."""
    doc = copy.deepcopy(page)
    for _ in range(draw(st.integers(min_value=1, max_value=max_mutations))):
        where = draw(_place(doc))
        how = draw(
            st.sampled_from(
                ["drop", "null", "replace", "replace", "replace", "wrap_list", "wrap_object"]
            )
        )
        if how == "drop":
            doc = _drop(doc, where)
        elif how == "null":
            doc = _set(doc, where, None)
        elif how == "replace":
            doc = _set(doc, where, draw(odd_values))
        elif how == "wrap_list":
            doc = _set(doc, where, [_get(doc, where)])
        else:
            doc = _set(doc, where, {"value": _get(doc, where)})
    return doc


@st.composite
def truncated_text(draw: st.DrawFn, page: Any) -> str:
    """The page's JSON text cut short somewhere (never the whole of it)."""
    text = json.dumps(page)
    return text[: draw(st.integers(min_value=0, max_value=len(text) - 1))]
