"""Shared fixtures: the database engine of the session (``--db``, see tests/databases.py), and
a migrated database on SQLite and on a private PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrate import upgrade
from tests import databases

pytest_plugins = ["tests.fakes.postgres", "tests.transports.telegram.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=databases.ENGINES,
        default=os.environ.get(databases.ENV_ENGINE) or None,
        help=(
            "run every test on this database engine (default: $AIGUILLAGE_TEST_DB; unset: "
            "SQLite for the e2e tests, both engines for the `database` fixture)"
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    selected = config.getoption("--db")
    if selected is not None and selected not in databases.ENGINES:  # from the environment
        raise pytest.UsageError(
            f"{databases.ENV_ENGINE}={selected!r}: expected one of {', '.join(databases.ENGINES)}"
        )
    databases.selected = selected


def pytest_report_header(config: pytest.Config) -> str:
    return f"database engine: {databases.selected or 'sqlite (database fixture: both)'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The SQLite pass needs no PostgreSQL at all: tests about PostgreSQL itself (they ask for
    # the server directly) run in the PostgreSQL pass only, not twice.
    if databases.selected != databases.SQLITE:
        return
    kept, dropped = [], []
    for item in items:
        uses_server = "postgres_server" in getattr(item, "fixturenames", ())
        (dropped if uses_server else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database" in metafunc.fixturenames:
        metafunc.parametrize("database", databases.engines_for_database_fixture(), indirect=True)


@pytest.fixture(autouse=True)
def _test_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    """On PostgreSQL, helpers create their databases on the session's server; each test's
    databases are dropped after it (this fixture is set up first, torn down last)."""
    if databases.session_engine() == databases.POSTGRESQL:
        databases.attach(request.getfixturevalue("postgres_server"))
    try:
        yield
    finally:
        databases.drop_created()


@pytest.fixture
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database, once per engine of the session (both by default)."""
    engine: str = request.param
    if engine == databases.POSTGRESQL:
        databases.attach(request.getfixturevalue("postgres_server"))
    db = Database(databases.url(tmp_path, "test.sqlite3", engine=engine))
    await upgrade(db)
    try:
        yield db
    finally:
        await db.dispose()
