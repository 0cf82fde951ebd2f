"""SQL of the ingestion pipeline and the database layer lives in named `.sql` files.

A statement written as a Python string literal in these packages is one the
query files do not show; a named query no code loads is dead SQL.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from predhub.db.queries import available, load

SRC = Path(__file__).resolve().parents[2] / "src" / "predhub"
TESTS = Path(__file__).resolve().parents[1]
CHECKED = (SRC / "ingest", SRC / "db")
STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|COPY|CREATE)\b")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants: prose, not SQL, even when it starts with COPY."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def sql_literals(source: str) -> list[tuple[int, str]]:
    """String constants (f-strings by their first part) that start an SQL statement."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    skip = docs | parts
    hits: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                text = first.value
        if text is not None and STATEMENT.match(text):
            hits.append((node.lineno, text.strip().splitlines()[0]))
    return hits


def test_the_scan_finds_statements_but_not_docstrings() -> None:
    source = (
        '"""COPY rows in: a docstring."""\n'
        'A = "SELECT 1"\n'
        'B = f"""\n  UPDATE t SET {c} = 1"""\n'
        'C = "selected"\n'
        "def f():\n"
        '    """Insert things."""\n'
        '    return "  WITH x AS (SELECT 1) SELECT * FROM x"\n'
    )
    assert [line for line, _ in sql_literals(source)] == [2, 3, 8]


@pytest.mark.parametrize(
    "path",
    sorted(p for folder in CHECKED for p in folder.rglob("*.py")),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_no_sql_statement_literals(path: Path) -> None:
    hits = sql_literals(path.read_text(encoding="utf-8"))
    assert not hits, f"SQL belongs in predhub/db/sql/*.sql, found: {hits}"


def test_every_named_query_is_used() -> None:
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for folder in (SRC, TESTS)
        for p in folder.rglob("*.py")
        if p.name != "test_sql_in_files.py"
    )
    unused = [
        f"{stem}.{name}"
        for stem in available()
        for name in load(stem).names
        if not re.search(rf"\b{re.escape(name)}\b", code)
    ]
    assert not unused, f"named queries nothing uses: {unused}"
