"""Named SQL queries read from `.sql` files, so SQL lives beside SQL and not in Python strings.

Each file in `predhub/db/sql/` holds several queries. A query starts with a
`-- name: <query_name>` line, then at least one `-- ` comment line saying what
the query does and why, then the statement itself, up to the next `-- name:`
line or the end of the file:

    -- name: mark_run_done
    -- A finished run records its counts so the next run can resume after it.
    UPDATE ingest_runs SET finished_at = now() WHERE run_id = $1

Comment lines before the first `-- name:` line describe the whole file.
A file is parsed once, on first `load()`, so a module that binds its queries
at import time (`_Q = load("bronze")`, then `_Q.insert_page`) fails at import
on a duplicate, missing or empty query rather than on the first request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from predhub.db.errors import QueryFileError, UnknownQuery

_PACKAGE = "predhub.db"
_FOLDER = "sql"
_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>\S*)\s*$")
_VALID_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_VALID_STEM = re.compile(r"^[a-z_][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class NamedQuery:
    """One statement of a `.sql` file with the comment that explains it."""

    name: str
    doc: str
    sql: str


class Queries:
    """The named queries of one `.sql` file, by `queries["name"]` or `queries.name`."""

    def __init__(self, source: str, queries: Mapping[str, NamedQuery]) -> None:
        self._source = source
        self._queries: Mapping[str, NamedQuery] = MappingProxyType(dict(queries))

    @property
    def source(self) -> str:
        """The file the queries came from, for error messages."""
        return self._source

    @property
    def names(self) -> tuple[str, ...]:
        """Every query name, in file order."""
        return tuple(self._queries)

    def query(self, name: str) -> NamedQuery:
        """The statement with its docstring; an unknown name names the file and what it has."""
        try:
            return self._queries[name]
        except KeyError:
            known = ", ".join(self._queries) or "none"
            raise UnknownQuery(
                f"{self._source} has no query named {name!r} (it has: {known})"
            ) from None

    def __getitem__(self, name: str) -> str:
        return self.query(name).sql

    def __getattr__(self, name: str) -> str:
        # Only called when normal lookup fails; dunder and private names are never queries,
        # so copy/pickle probing gets a plain AttributeError.
        if name.startswith("_"):
            raise AttributeError(name)
        return self.query(name).sql

    def __contains__(self, name: object) -> bool:
        return name in self._queries

    def __iter__(self) -> Iterator[str]:
        return iter(self._queries)

    def __len__(self) -> int:
        return len(self._queries)

    def __repr__(self) -> str:
        return f"Queries({self._source!r}, {len(self._queries)} queries)"


def parse(text: str, source: str) -> Queries:
    """Split the text of a `.sql` file into named queries, rejecting anything ambiguous."""
    header: list[str] = []
    sections: list[tuple[str, int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _NAME_LINE.match(line.strip())
        if match is None:
            (sections[-1][2] if sections else header).append(line)
            continue
        name = match["name"]
        if not _VALID_NAME.match(name):
            raise QueryFileError(f"{source}:{number}: query name {name!r} must be lower_snake_case")
        if hasattr(Queries, name):
            raise QueryFileError(
                f"{source}:{number}: query name {name!r} would hide Queries.{name}; rename it"
            )
        if any(name == seen for seen, _, _ in sections):
            raise QueryFileError(f"{source}:{number}: query {name!r} is defined twice")
        sections.append((name, number, []))
    for line in header:
        if line.strip() and not line.lstrip().startswith("--"):
            raise QueryFileError(
                f"{source}: SQL before the first '-- name:' line: {line.strip()!r}"
            )
    if not sections:
        raise QueryFileError(f"{source}: no '-- name:' queries")
    return Queries(source, {name: _section(source, name, at, body) for name, at, body in sections})


def _section(source: str, name: str, at: int, body: list[str]) -> NamedQuery:
    """One query: its leading comment lines are the docstring, the rest the statement."""
    doc_lines: list[str] = []
    rest = list(body)
    while rest and (not rest[0].strip() or rest[0].lstrip().startswith("--")):
        line = rest.pop(0).strip()
        if line:
            doc_lines.append(line[2:].strip())
    doc = " ".join(part for part in doc_lines if part)
    if not doc:
        raise QueryFileError(
            f"{source}:{at}: query {name!r} needs a '-- ' comment line after its name "
            f"saying what it does"
        )
    sql = "\n".join(rest).strip().rstrip(";").rstrip()
    if not sql:
        raise QueryFileError(f"{source}:{at}: query {name!r} has no statement")
    return NamedQuery(name, doc, sql)


def render(template: str, **parts: str) -> str:
    """Fill the `{placeholder}`s of a query template with SQL fragments.

    For what bind parameters cannot carry: identifiers and column lists. The
    fragments must be built from code constants, never from input; callers
    assert that where they build them. A placeholder without a fragment, or a
    fragment without a placeholder, is an error. `'{}'` (an empty array
    literal) is not a placeholder.
    """
    wanted = set(_PLACEHOLDER.findall(template))
    if wanted != set(parts):
        missing = ", ".join(sorted(wanted - set(parts))) or "none"
        extra = ", ".join(sorted(set(parts) - wanted)) or "none"
        raise QueryFileError(f"template placeholders not matched: missing {missing}; extra {extra}")
    return _PLACEHOLDER.sub(lambda m: parts[m[1]], template)


@functools.cache
def load(name: str) -> Queries:
    """The queries of `predhub/db/sql/<name>.sql`, parsed once per process."""
    if not _VALID_STEM.match(name):
        raise QueryFileError(f"query file name {name!r} must be a lower_snake_case file stem")
    entry = resources.files(_PACKAGE) / _FOLDER / f"{name}.sql"
    if not entry.is_file():
        raise QueryFileError(f"no query file {_FOLDER}/{name}.sql in {_PACKAGE}")
    return parse(entry.read_text(encoding="utf-8"), f"{_FOLDER}/{name}.sql")


def available() -> list[str]:
    """The stems of every query file shipped in the package, for checks that cover them all."""
    folder = resources.files(_PACKAGE) / _FOLDER
    return sorted(
        entry.name.removesuffix(".sql")
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(".sql")
    )


def rows_affected(status: str) -> int:
    """Rows a command status reports (`DELETE 5`, `INSERT 0 5`, `UPDATE 5`: 5)."""
    return int(status.rsplit(" ", 1)[-1])
