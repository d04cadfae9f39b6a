"""Engine, sessions and the unit of work.

A unit of work is one transaction; repositories never commit, the caller's
`async with db.unit()` block does, once. SQLite transactions start with
BEGIN IMMEDIATE so that two writers queue on the busy timeout instead of
failing on a lock upgrade.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

from storage.repos.assignments import AssignmentsRepo
from storage.repos.cases import CasesRepo
from storage.repos.catalog import CatalogRepo
from storage.repos.conversations import ConversationsRepo
from storage.repos.coordination import CoordinationRepo
from storage.repos.inbox import InboxRepo
from storage.repos.inscriptions import InscriptionsRepo
from storage.repos.interventions import InterventionsRepo
from storage.repos.matrix import MatrixRepo
from storage.repos.nudges import NudgesRepo
from storage.repos.outbox import OutboxRepo
from storage.repos.people import PeopleRepo
from storage.repos.privacy import PrivacyRepo
from storage.repos.reports import ReportsRepo
from storage.session import DbSession
from storage.sqlite_units import BEGIN_IMMEDIATE, SqliteUnits, sqlite_pragmas

R = TypeVar("R")


class _Repo(Generic[R]):
    """A repository of the unit of work, made on first use and then kept (the
    instance attribute shadows this non-data descriptor)."""

    def __init__(self, factory: Callable[[DbSession], R]) -> None:
        self.factory = factory
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, uow: UnitOfWork, owner: type) -> R:
        repo = self.factory(uow.session)
        uow.__dict__[self.name] = repo
        return repo


class UnitOfWork:
    """One transaction's session and its repositories (an update touches four
    or five of them, so each is made when first asked for)."""

    people = _Repo(PeopleRepo)
    conversations = _Repo(ConversationsRepo)
    inbox = _Repo(InboxRepo)
    cases = _Repo(CasesRepo)
    outbox = _Repo(OutboxRepo)
    nudges = _Repo(NudgesRepo)
    catalog = _Repo(CatalogRepo)
    assignments = _Repo(AssignmentsRepo)
    matrix = _Repo(MatrixRepo)
    coordination = _Repo(CoordinationRepo)
    privacy = _Repo(PrivacyRepo)
    reports = _Repo(ReportsRepo)
    interventions = _Repo(InterventionsRepo)
    inscriptions = _Repo(InscriptionsRepo)

    def __init__(self, session: DbSession) -> None:
        self.session = session


# Seconds a write waits for SQLite's lock held by another process.
SQLITE_TIMEOUT = 30


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> AsyncEngine:
    # hide_parameters: a database error's message (logged) would otherwise quote
    # the statement's values, i.e. what people typed.
    if is_sqlite(url):
        # Units of work on a WAL file go through storage/sqlite_units.py; this
        # engine serves migrations, and units of work if the file is not in WAL.
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_TIMEOUT}, hide_parameters=True
        )
        _sqlite_events(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_events(engine: AsyncEngine) -> None:
    event.listen(engine.sync_engine, "connect", sqlite_pragmas)

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        # Writers queue on the lock's busy timeout instead of failing on an upgrade.
        conn.exec_driver_sql(BEGIN_IMMEDIATE)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time and every unit of work is a writer
        # (BEGIN IMMEDIATE). Queueing them here, in order, costs nothing; letting
        # them collide costs the busy handler's sleeps (1 to 100 ms each), which
        # halved the outbox's throughput once sends ran concurrently.
        self._writer = asyncio.Lock() if is_sqlite(url) else None
        # The fast path of SQLite units of work (storage/sqlite_units.py).
        self._loop_units = SqliteUnits(url, timeout=SQLITE_TIMEOUT) if is_sqlite(url) else None
        self._writer_task: asyncio.Task[object] | None = None

    @property
    def sync_engines(self) -> tuple[Engine, ...]:
        """Every engine statements go through, for event listeners (tests)."""
        engines: tuple[Engine, ...] = (self.engine.sync_engine,)
        if self._loop_units is not None:
            engines += (self._loop_units.engine,)
        return engines

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UnitOfWork]:
        if self._writer is None:
            async with self.sessions() as session, session.begin():
                yield UnitOfWork(session)
            return
        if self._writer_task is not None and self._writer_task is asyncio.current_task():
            # Would wait for itself forever: a unit of work inside another.
            raise RuntimeError("nested unit of work on SQLite")
        async with self._writer:
            self._writer_task = asyncio.current_task()
            try:
                if self._loop_units is not None and self._loop_units.wal():
                    async with self._loop_units.session() as loop_session:
                        yield UnitOfWork(loop_session)
                else:
                    async with self.sessions() as session, session.begin():
                        yield UnitOfWork(session)
            finally:
                self._writer_task = None

    async def ping(self) -> None:
        """`SELECT 1` in a unit of work: raises when the database does not answer
        (on SQLite it also waits for the writer in hand, which a healthy bot
        releases within milliseconds)."""
        async with self.unit() as uow:
            await uow.session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._loop_units is not None:
            self._loop_units.dispose()
        await self.engine.dispose()
