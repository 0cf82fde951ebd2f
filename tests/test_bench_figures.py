"""The benchmarks' side-by-side ratios divide like by like."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from _figures import ratio_columns, side_by_side


def test_one_runs_sizes_give_largest_over_smallest() -> None:
    assert ratio_columns(["5,500", "55,000", "550,000"]) == [
        ("largest/smallest", "550,000", "5,500")
    ]


def test_two_versions_are_compared_size_by_size_never_across_sizes() -> None:
    labels = ["before-5,500", "before-55,000", "after-5,500", "after-55,000", "after-550,000"]
    assert ratio_columns(labels) == [
        ("5,500 after-/before-", "after-5,500", "before-5,500"),
        ("55,000 after-/before-", "after-55,000", "before-55,000"),
    ]
    table = side_by_side(
        {
            "before-5,500": {"cycle ms": 2.0},
            "before-55,000": {"cycle ms": 20.0},
            "after-5,500": {"cycle ms": 1.0},
            "after-55,000": {"cycle ms": 5.0},
            "after-550,000": {"cycle ms": 50.0},
        }
    )
    row = table.splitlines()[1].split()
    assert row[-2:] == ["0.50", "0.25"]  # not 50 / 2
