"""The named-query loader: files parse once, and a malformed file fails loudly at load."""

from __future__ import annotations

import pytest

from predhub.db.queries import (
    Queries,
    QueryFileError,
    UnknownQuery,
    available,
    load,
    parse,
    render,
)

GOOD = """\
-- A file header comment is allowed before the first query.

-- name: first_query
-- Says what it does.
-- A second comment line continues the docstring.
SELECT 1;

-- name: second_query
-- Another one.
SELECT $1::int
  + 1
"""


def test_parses_named_queries_with_their_docstrings() -> None:
    queries = parse(GOOD, "good.sql")
    assert queries.names == ("first_query", "second_query")
    assert queries["first_query"] == "SELECT 1"
    assert queries.second_query == "SELECT $1::int\n  + 1"
    assert queries.query("first_query").doc == (
        "Says what it does. A second comment line continues the docstring."
    )
    assert "second_query" in queries
    assert list(queries) == ["first_query", "second_query"]


def test_unknown_name_names_the_file_and_what_it_has() -> None:
    queries = parse(GOOD, "good.sql")
    with pytest.raises(UnknownQuery, match=r"good\.sql has no query named 'third'.*first_query"):
        queries["third"]
    with pytest.raises(AttributeError, match="third"):
        queries.third  # noqa: B018
    assert not hasattr(queries, "__wrapped__")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- name: a\n-- doc\nSELECT 1\n-- name: a\n-- doc\nSELECT 2\n", "'a' is defined twice"),
        ("-- name: a\nSELECT 1\n", "needs a '-- ' comment line"),
        ("-- name: a\n-- doc only\n", "has no statement"),
        ("SELECT 0\n-- name: a\n-- doc\nSELECT 1\n", "SQL before the first"),
        ("-- name: Bad-Name\n-- doc\nSELECT 1\n", "lower_snake_case"),
        ("-- name:\n-- doc\nSELECT 1\n", "lower_snake_case"),
        ("-- just a comment\n", "no '-- name:' queries"),
        ("-- name: names\n-- doc\nSELECT 1\n", "would hide Queries.names"),
    ],
)
def test_malformed_files_are_rejected(text: str, message: str) -> None:
    with pytest.raises(QueryFileError, match=message):
        parse(text, "bad.sql")


def test_load_reads_a_shipped_file_once() -> None:
    first = load("migrate")
    assert isinstance(first, Queries)
    assert load("migrate") is first
    assert "record_migration" in first


def test_load_of_a_missing_file_is_a_clear_error() -> None:
    with pytest.raises(QueryFileError, match=r"no query file sql/nope\.sql"):
        load("nope")
    with pytest.raises(QueryFileError, match="file stem"):
        load("../migrations/0001")


def test_every_shipped_file_parses() -> None:
    stems = available()
    assert "migrate" in stems
    for stem in stems:
        assert load(stem).names


def test_render_fills_placeholders_and_leaves_array_literals() -> None:
    sql = render("SELECT {cols}, '{}'::int[] FROM {table}", cols="a, b", table="t")
    assert sql == "SELECT a, b, '{}'::int[] FROM t"
    with pytest.raises(QueryFileError, match="missing table"):
        render("SELECT 1 FROM {table}")
    with pytest.raises(QueryFileError, match="extra cols"):
        render("SELECT 1", cols="a")
