"""Generated wording: a game is between two different teams."""

from __future__ import annotations

import random

from predhub.sim.names import CITIES, MASCOTS, make_event

_CLOSE_AT = 1_790_000_000.0


def _sides(title: str) -> tuple[str, str]:
    home, away = title.split(" vs. ")
    return home, away


def test_a_game_names_two_different_teams_for_every_seed() -> None:
    seen_pairs: set[tuple[str, str]] = set()
    for seed in range(2000):
        ev = make_event(random.Random(seed), "match", 1, _CLOSE_AT)
        home, away = _sides(ev.title)
        assert home != away, f"seed {seed}: {ev.title}"
        home_city, away_city = (next(c for c in CITIES if t.startswith(c)) for t in (home, away))
        home_mascot, away_mascot = (next(m for m in MASCOTS if t.endswith(m)) for t in (home, away))
        assert home_city != away_city and home_mascot != away_mascot, f"seed {seed}: {ev.title}"
        assert ev.markets[0].question.startswith(f"Will the {home} beat the {away} on ")
        seen_pairs.add((home, away))
    # The draw still varies with the seed: not one fixed fixture.
    assert len(seen_pairs) > 500
