"""The benchmarks' side-by-side ratios divide like by like, and the growth chart draws them."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import re
import xml.etree.ElementTree as ET

import pytest

from _figures import growth_chart, ratio_columns, side_by_side


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


def test_the_growth_chart_plots_each_figure_over_its_smallest_size() -> None:
    results = {
        "before-5,500": {"cycle ms": 9.0},
        "5,500": {"cycle ms": 2.0, "p99 ms": 4.0, "once": 1.0},
        "55,000": {"cycle ms": 20.0, "p99 ms": 4.0},
        "550,000": {"cycle ms": 200.0, "p99 ms": 2.0},
    }
    figures = (("cycle ms", "cycle"), ("p99 ms", "p99"), ("once", "measured at one size"))
    svg = growth_chart(results, figures=figures)
    root = ET.fromstring(svg)  # well-formed SVG
    ns = "{http://www.w3.org/2000/svg}"
    lines = root.findall(f"{ns}polyline")
    assert len(lines) == 2  # a figure measured at one size has no line
    texts = [t.text or "" for t in root.iter(f"{ns}text")]
    assert "cycle (100.00×)" in texts and "p99 (0.50×)" in texts
    assert "measured at one size" not in " ".join(texts)
    assert {"5,500", "55,000", "550,000"} <= set(texts)  # the other label's column is not a size

    def ys(line: ET.Element) -> list[float]:
        return [float(p.split(",")[1]) for p in re.split(r"\s+", line.attrib["points"].strip())]

    growing, flat = ys(lines[0]), ys(lines[1])
    assert growing[0] > growing[1] > growing[2]  # higher on the page: a larger ratio
    assert flat[0] == flat[1] < flat[2]


def test_the_growth_chart_needs_two_sizes() -> None:
    with pytest.raises(ValueError, match="two sizes"):
        growth_chart({"5,500": {"cycle ms": 1.0}})
