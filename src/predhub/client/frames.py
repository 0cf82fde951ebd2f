"""DataFrames from results: pandas and polars are optional extras, imported when asked for."""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any

from predhub.client.errors import MissingExtra

TIME_FIELDS = frozenset({"t", "executed_at", "end_at", "fetched_at", "as_of", "ts", "observed_at"})


def require(module: str) -> Any:
    """The optional library `module`, or MissingExtra naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{module} is not installed: pip install 'predhub[{module}]'") from None


def _time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def flatten(row: dict[str, Any]) -> dict[str, Any]:
    """One flat row: outcomes become `outcome_<i>_<field>` columns, nested objects
    `<name>_<field>`, times become datetimes."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if key == "outcomes" and isinstance(value, list):
            for i, outcome in enumerate(value):
                if isinstance(outcome, dict):
                    for name, inner in outcome.items():
                        if name != "index":
                            flat[f"outcome_{i}_{name}"] = inner
        elif isinstance(value, dict):
            for name, inner in value.items():
                flat[f"{key}_{name}"] = inner
        elif key in TIME_FIELDS:
            flat[key] = _time(value)
        else:
            flat[key] = value
    return flat


def to_pandas(rows: list[dict[str, Any]]) -> Any:
    pd = require("pandas")
    return pd.DataFrame([flatten(r) for r in rows])


def to_polars(rows: list[dict[str, Any]]) -> Any:
    pl = require("polars")
    return pl.DataFrame([flatten(r) for r in rows], infer_schema_length=None)
