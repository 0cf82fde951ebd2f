"""One category vocabulary across venues, derived from labels, tags, series and titles."""

from __future__ import annotations

import pytest

from predhub.gold.categories import OTHER, normalise


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"category": "Crypto"}, "Crypto"),  # a venue's own label
        ({"category": "cryptocurrency"}, "Crypto"),  # a synonym
        ({"category": None, "tags": ["Bitcoin", "Daily"]}, "Crypto"),  # tags only
        ({"category": None, "event_category": "Elections"}, "Politics"),
        ({"category": None, "series": "KXBTCD"}, "Crypto"),  # a series ticker's letters
        ({"category": None, "series": "KXFEDDECISION"}, "Economics"),
        ({"category": None, "titles": ["Will Ethereum close above $5,000?"]}, "Crypto"),
        ({"category": None, "titles": ["Lakers vs. Celtics"]}, "Sports"),
        ({"category": None, "titles": ["Mayor election winner 2027"]}, "Politics"),
        ({"category": "Science and Technology"}, "Science & Tech"),
        ({"category": None, "titles": ["Something nobody can file"]}, OTHER),
    ],
)
def test_normalise(inputs: dict[str, object], expected: str) -> None:
    assert normalise(**inputs) == expected  # type: ignore[arg-type]


def test_a_venue_label_outranks_the_words_of_the_title() -> None:
    assert normalise(category="Sports", titles=["Bitcoin mascot wins the cup?"]) == "Sports"
