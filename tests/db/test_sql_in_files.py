"""SQL of the ingestion pipeline and the database layer lives in named `.sql` files.

A statement written as a Python string literal in these packages is one the
query files do not show; a named query no code loads is dead SQL.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from predhub.db.queries import Queries, available, load

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


LOADERS = {"load", "load_queries"}


def used_query_names(source: str) -> set[str]:
    """Query names a module reads from what `load(...)` returned.

    `q = load("x")` at module level, then `q.name`, `q["name"]` or
    `q.query("name")`; or straight off the call, `load("x").name`.
    """
    tree = ast.parse(source)

    def is_load(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) in LOADERS
        )

    bound = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign) and is_load(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def is_queries(node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id in bound) or is_load(node)

    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_queries(node.value):
            if not hasattr(Queries, node.attr):  # not .query, .names, ...
                used.add(node.attr)
        elif isinstance(node, ast.Subscript) and is_queries(node.value):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                used.add(node.slice.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "query"
            and is_queries(node.func.value)
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            used.add(str(node.args[0].value))
    return used


def test_the_usage_scan_sees_every_access_form() -> None:
    source = (
        "from predhub.db.queries import load\n"
        '_Q = load("x")\n'
        "def f(conn):\n"
        "    conn.fetch(_Q.by_attr)\n"
        '    conn.fetch(_Q["by_key"])\n'
        '    conn.fetch(_Q.query("by_call").sql)\n'
        '    conn.fetch(load("y").straight)\n'
        "    other.not_a_query\n"
        "def by_name_only(): ...\n"
    )
    assert used_query_names(source) == {"by_attr", "by_key", "by_call", "straight"}


def test_every_named_query_is_used() -> None:
    used: set[str] = set()
    for folder in (SRC, TESTS):
        for path in folder.rglob("*.py"):
            used |= used_query_names(path.read_text(encoding="utf-8"))
    unused = [
        f"{stem}.sql: {name}"
        for stem in available()
        for name in load(stem).names
        if name not in used
    ]
    assert not unused, f"named queries no code reads: {unused}"
