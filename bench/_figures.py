"""Figures kept across runs and printed side by side, for the benchmarks that compare sizes.

`--json FILE` lets a later run (another branch, another size) add its columns to an
earlier run's, so both scripts that print sizes side by side keep and print them alike.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def kept_results(json_path: str | None) -> tuple[dict[str, Any], Callable[[], None]]:
    """The figures already in `json_path` (empty without one), and a `save` that writes them back."""
    path = Path(json_path) if json_path else None
    results: dict[str, Any] = {}
    if path is not None and path.exists():
        results = json.loads(path.read_text())

    def save() -> None:
        if path is not None:
            path.write_text(json.dumps(results, indent=1))

    return results, save


_SIZE = re.compile(r"^(.*?)(\d[\d,]*)$")


def ratio_columns(labels: list[str]) -> list[tuple[str, str, str]]:
    """Which columns a ratio may divide: (header, numerator column, denominator column).

    A column is named by its run's label and its size (`after-55,000`). One run's
    columns differ by size alone: the ratio is the largest size over the smallest
    (how the figure grows). Runs of several versions joined with `--json` differ by
    label: a ratio of one label's largest size over another's smallest would mix
    both, so there is one ratio per size, the last label over the first (what the
    change did), and none where a size was measured under one label only.
    """
    split = [_SIZE.match(c) for c in labels]
    if not labels or any(m is None for m in split):
        return [("last/first", labels[-1], labels[0])] if len(labels) > 1 else []
    runs: dict[str, dict[str, str]] = {}
    for column, m in zip(labels, split, strict=True):
        assert m is not None
        runs.setdefault(m.group(1), {})[m.group(2)] = column
    if len(runs) == 1:
        (columns,) = runs.values()
        by_size = sorted(columns, key=lambda size: int(size.replace(",", "")))
        if len(by_size) < 2:
            return []
        return [("largest/smallest", columns[by_size[-1]], columns[by_size[0]])]
    first, last = next(iter(runs.values())), list(runs.values())[-1]
    first_label, last_label = next(iter(runs)), list(runs)[-1]
    return [
        (f"{size} {last_label or '-'}/{first_label or '-'}", last[size], first[size])
        for size in first
        if size in last
    ]


def side_by_side(
    results: dict[str, dict[str, float]],
    cell: int = 14,
    order: Callable[[list[str]], Iterable[str]] = sorted,
) -> str:
    """Every figure by column (size, with its run's label), side by side, then the
    ratios that compare like with like (`ratio_columns`)."""
    labels = list(results)
    ratios = ratio_columns(labels)
    names: list[str] = []
    for figures in results.values():
        names += [k for k in figures if k not in names]
    width = max(len(n) for n in names) + 2
    rcell = max([12] + [len(h) + 2 for h, _, _ in ratios])
    lines = [
        "".ljust(width)
        + "".join(f"{c:>{cell}}" for c in labels)
        + "".join(f"{h:>{rcell}}" for h, _, _ in ratios)
    ]
    for name in order(names):
        cells = [results[c].get(name) for c in labels]
        row = name.ljust(width) + "".join(
            f"{v:>{cell},.2f}" if v is not None else f"{'-':>{cell}}" for v in cells
        )
        for _, top, bottom in ratios:
            a, b = results[top].get(name), results[bottom].get(name)
            row += f"{a / b:>{rcell}.2f}" if a is not None and b else f"{'-':>{rcell}}"
        lines.append(row)
    return "\n".join(lines)


# The figures `growth_chart` draws by default: the measures whose goal is about
# growth, each divided by its value at the smallest size.
GROWTH_FIGURES: tuple[tuple[str, str], ...] = (
    ("2 delta, 100 changed: wall s", "delta cycle, 100 markets changed"),
    ("3 planning cycle: median ms", "planning cycle (median)"),
    ("4 cached single read p99 ms", "cached single read p99"),
    ("4 batch of 1,000 p99 ms", "batch of 1,000 p99"),
    ("4 search p99 ms", "search p99"),
    ("4 week of hourly candles p99 ms", "week of hourly candles p99"),
    ("5 bytes per market, with bronze", "bytes per market (with bronze)"),
    ("5 MB per million trades (no bronze: generated)", "bytes per million trades"),
)
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def growth_chart(
    results: dict[str, dict[str, float]],
    label: str = "",
    figures: tuple[tuple[str, str], ...] = GROWTH_FIGURES,
    title: str = "Cost against catalogue size, relative to the smallest size",
) -> str:
    """An SVG line chart: each figure of one run's columns (`label` then a size) divided
    by its value at the smallest size, against the size, both axes logarithmic.

    A dashed diagonal marks a cost that grows with the catalogue, a dotted line the
    goals' 1.5 times: a flat line is a cost that follows the change, not the catalogue.
    Drawn by hand (a few dozen SVG elements) so the benchmarks need no plotting library.
    """
    sizes: dict[int, str] = {}
    for column in results:
        m = _SIZE.match(column)
        if m is not None and m.group(1) == label:
            sizes[int(m.group(2).replace(",", ""))] = column
    xs = sorted(sizes)
    if len(xs) < 2:
        raise ValueError(f"a chart needs two sizes or more under the label {label!r}")
    series: list[tuple[str, list[tuple[int, float]]]] = []
    for name, text in figures:
        base = results[sizes[xs[0]]].get(name)
        points = [
            (x, value / base)
            for x in xs
            if base and (value := results[sizes[x]].get(name)) is not None and value > 0
        ]
        if len(points) >= 2:
            series.append((text, points))
    width, height, left, right, top, bottom = 800, 440, 70, 290, 40, 50
    x0, x1 = math.log10(xs[0]), math.log10(xs[-1])
    lowest = min([0.1] + [y for _, points in series for _, y in points])
    y_lo = float(math.floor(math.log10(lowest)))
    y_hi = max(2.0, math.log10(xs[-1] / xs[0]) + 0.3)

    def px(x: float) -> float:
        return left + (math.log10(x) - x0) / (x1 - x0) * (width - left - right)

    def py(y: float) -> float:
        clamped = min(max(math.log10(y), y_lo), y_hi)
        return top + (y_hi - clamped) / (y_hi - y_lo) * (height - top - bottom)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="14" font-weight="bold">{title}</text>',
    ]
    for power in range(math.floor(y_lo), math.ceil(y_hi) + 1):
        y = 10.0**power
        if y_lo <= power <= y_hi:
            out.append(
                f'<line x1="{left}" x2="{width - right}" y1="{py(y):.1f}" y2="{py(y):.1f}"'
                ' stroke="#ddd"/>'
                f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}×</text>'
            )
    for x in xs:
        out.append(
            f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{top}" y2="{height - bottom}"'
            ' stroke="#ddd"/>'
            f'<text x="{px(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{x:,}</text>'
        )
    out.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" text-anchor="middle">'
        "markets in the database</text>"
    )
    out.append(
        f'<line x1="{px(xs[0]):.1f}" y1="{py(1):.1f}" x2="{px(xs[-1]):.1f}"'
        f' y2="{py(xs[-1] / xs[0]):.1f}" stroke="#888" stroke-dasharray="6 4"/>'
        f'<line x1="{left}" x2="{width - right}" y1="{py(1.5):.1f}" y2="{py(1.5):.1f}"'
        ' stroke="#888" stroke-dasharray="2 3"/>'
    )
    legend = [("grows with the catalogue", "#888", "6 4"), ("goal: 1.5×", "#888", "2 3")]
    for (text, points), colour in zip(series, _COLOURS, strict=False):
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out += [
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in points
        ]
        legend.append((f"{text} ({points[-1][1]:.2f}×)", colour, ""))
    for i, (text, colour, dash) in enumerate(legend):
        y = top + 10 + 20 * i
        style = f' stroke-dasharray="{dash}"' if dash else ' stroke-width="2"'
        out.append(
            f'<line x1="{width - right + 12}" x2="{width - right + 36}" y1="{y}" y2="{y}"'
            f' stroke="{colour}"{style}/>'
            f'<text x="{width - right + 42}" y="{y + 4}">{text}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)
