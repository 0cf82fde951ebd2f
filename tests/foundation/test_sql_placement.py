"""SQL lives in named `.sql` files, and the API reaches the database only through the service.

Static checks over the source: the scheduler, the service and the API hold no
SQL statement as a string literal, and no API module imports the database
driver or touches a pool (`.pool`, `acquire(`, `fetch*(`, `execute(`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import predhub
from predhub.db.queries import available, load

SRC = Path(predhub.__file__).parent
# A statement keyword in capitals, then more text: docstrings ("Insert ...") and
# command tags ("UPDATE 1") are not statements.
STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\s+\S")
COMMAND_TAG = re.compile(r"^(INSERT|UPDATE|DELETE)( \d+)+$")
DRIVER_CALLS = {"acquire", "fetch", "fetchrow", "fetchval", "execute", "executemany"}


def _modules(*stages: str) -> list[Path]:
    return sorted(p for stage in stages for p in (SRC / stage).rglob("*.py"))


def sql_literals(path: Path) -> list[str]:
    """Where a module holds an SQL statement as a string constant (f-string parts included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and STATEMENT.match(node.value)
        and not COMMAND_TAG.match(node.value)
    ]


def database_touches(path: Path) -> list[str]:
    """Where a module imports asyncpg, reads a `.pool` or calls a driver method."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if (
            isinstance(node, ast.Import)
            and any(a.name.split(".")[0] == "asyncpg" for a in node.names)
        ) or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "asyncpg"):
            found.append(f"{where} imports asyncpg")
        elif isinstance(node, ast.Attribute) and node.attr == "pool":
            found.append(f"{where} reads .pool")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in DRIVER_CALLS
        ):
            found.append(f"{where} calls .{node.func.attr}(")
    return found


def test_scheduler_service_and_api_hold_no_sql_statements() -> None:
    found = [hit for path in _modules("scheduler", "service", "api") for hit in sql_literals(path)]
    assert found == []


def test_the_scan_sees_statements_in_strings_and_f_strings(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    body = (
        'A = """\n  SELECT 1"""\nB = f"UPDATE t SET {c} = 1"\nC = "Insert a row."\nD = "UPDATE 1"\n'
    )
    sample.write_text(body, encoding="utf-8")
    assert [hit.split(":")[1] for hit in sql_literals(sample)] == ["1", "3"]


def test_api_modules_never_touch_the_database() -> None:
    found = [hit for path in _modules("api") for hit in database_touches(path)]
    assert found == []


def test_the_database_scan_sees_pools_and_driver_calls(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import asyncpg\nasync def f(s):\n    await s.pool.fetch('x')\n", encoding="utf-8"
    )
    assert len(database_touches(sample)) == 3


def test_every_query_file_loads_with_a_comment_per_query() -> None:
    for stem in available():
        queries = load(stem)
        assert len(queries) > 0
        for name in queries.names:
            assert queries.query(name).doc, f"{stem}.{name} has no comment"
