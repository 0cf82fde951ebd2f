"""Figures kept across runs and printed side by side, for the benchmarks that compare sizes.

`--json FILE` lets a later run (another branch, another size) add its columns to an
earlier run's, so both scripts that print sizes side by side keep and print them alike.
"""

from __future__ import annotations

import json
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


def side_by_side(
    results: dict[str, dict[str, float]],
    cell: int = 14,
    order: Callable[[list[str]], Iterable[str]] = sorted,
) -> str:
    """Every figure by column (size, with its run's label), side by side, ratio last / first."""
    labels = list(results)
    names: list[str] = []
    for figures in results.values():
        names += [k for k in figures if k not in names]
    width = max(len(n) for n in names) + 2
    lines = ["".ljust(width) + "".join(f"{c:>{cell}}" for c in labels) + f"{'last/first':>12}"]
    for name in order(names):
        cells = [results[c].get(name) for c in labels]
        row = name.ljust(width) + "".join(
            f"{v:>{cell},.2f}" if v is not None else f"{'-':>{cell}}" for v in cells
        )
        first, last = cells[0], cells[-1]
        ratio = f"{last / first:>12.2f}" if first and last is not None else f"{'-':>12}"
        lines.append(row + ratio)
    return "\n".join(lines)
