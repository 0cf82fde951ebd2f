"""Errors of the database layer: reaching, starting and migrating PostgreSQL.

Each is something the operator fixes (a URL, a server, an extension), so the
CLI prints it as one line and exits 2.
"""

from __future__ import annotations

import asyncpg

from predhub.errors import Fatal, PredhubError, UsageError

# What a database that failed or went away raises under a running process (the
# socket refused or reset, a connection closed under a query, a server error, a
# terminated session's connection reused): an outage to retry or report in one
# line, not a bug in predhub.
DATABASE_FAILURES: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


class DatabaseError(PredhubError, abstract=True):
    """The database is not usable."""


class DatabaseUnavailable(DatabaseError, UsageError):
    """The database could not be reached."""


class EmbeddedPostgresError(DatabaseError, UsageError):
    """The embedded PostgreSQL could not be started."""


class MigrationError(DatabaseError, UsageError):
    """The schema could not be brought up to date."""


class QueryFileError(DatabaseError, Fatal):
    """A `.sql` file of named queries is malformed: a bug in the package, not in the input."""


class UnknownQuery(DatabaseError, Fatal, AttributeError):
    """Code asked for a query name that its `.sql` file does not define.

    Also an `AttributeError`, so that attribute access (`queries.some_name`)
    behaves like any other missing attribute for `hasattr` and `getattr`.
    """


class BackupRefused(DatabaseError, UsageError):
    """The backup or restore cannot start as asked (a file, a target database, a tool)."""


class BackupFailed(DatabaseError, UsageError):
    """pg_dump or pg_restore failed; its own message says why."""
