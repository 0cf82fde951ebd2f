"""Figures kept across runs and printed side by side, for the benchmarks that compare sizes.

`--json FILE` lets a later run (another branch, another size) add its columns to an
earlier run's, so both scripts that print sizes side by side keep and print them alike.
"""

from __future__ import annotations

import json
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
