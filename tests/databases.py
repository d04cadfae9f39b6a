"""The database engine a test session runs on, and fresh databases on it.

`make test` runs the whole suite twice: ``pytest --db=sqlite`` (SQLite files in each test's
temporary directory) then ``pytest --db=postgresql`` (databases on the session's private
PostgreSQL, tests/fakes/postgres.py). ``AIGUILLAGE_TEST_DB`` gives the default of ``--db``.
Without either, the e2e helpers use SQLite and the ``database`` fixture runs on both engines,
which is what a developer wants from a plain ``pytest``.

Fixtures and helpers that need a database URL call :func:`url` instead of spelling out a SQLite
path, so that every test that touches a database runs on both engines. On PostgreSQL, the same
``(directory, filename)`` gives the same database for the whole test, like a SQLite file would
(a bot restarted on the same data directory finds its data again); every database created
during a test is dropped after it by the autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported for real by pytest (pytest_plugins), to rewrite its asserts
    from tests.fakes.postgres import PostgresServer

ENV_ENGINE = "AIGUILLAGE_TEST_DB"
SQLITE = "sqlite"
POSTGRESQL = "postgresql"
ENGINES = (SQLITE, POSTGRESQL)

# Set once by tests/conftest.py from --db; None: SQLite for helpers, both for `database`.
selected: str | None = None

_server: PostgresServer | None = None
_created: dict[tuple[Path, str], str] = {}  # this test's PostgreSQL databases, by key


def session_engine() -> str:
    """Where helpers put their databases in this session."""
    return selected or SQLITE


def engines_for_database_fixture() -> list[str]:
    return [selected] if selected else list(ENGINES)


def sqlite_url(directory: Path, filename: str) -> str:
    return f"sqlite+aiosqlite:///{directory / filename}"


def attach(server: PostgresServer) -> None:
    """The PostgreSQL server fresh databases are created on (the session fixture's)."""
    global _server
    _server = server


def url(directory: Path, filename: str = "bot.sqlite3", engine: str | None = None) -> str:
    """A database of this test on the session's engine (or `engine`): a SQLite file
    `directory/filename`, or a PostgreSQL database created on first use for that key."""
    if (engine or session_engine()) == SQLITE:
        return sqlite_url(directory, filename)
    key = (directory.absolute(), filename)
    if key not in _created:
        if _server is None:
            raise RuntimeError("no PostgreSQL server attached: request the postgres_server fixture")
        _created[key] = _server.create_database(f"t_{uuid.uuid4().hex[:12]}")
    return _created[key]


def drop_created() -> None:
    """Drop the PostgreSQL databases created during the test; connections still open (a
    killed bot process, an engine left undisposed) are terminated."""
    names = [created.rsplit("/", 1)[1] for created in _created.values()]
    _created.clear()
    if _server is None or not _server.running:
        return
    for name in names:
        _server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
