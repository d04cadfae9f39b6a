"""Engine, sessions and the unit of work.

A unit of work is one transaction; repositories never commit, the caller's
`async with db.unit()` block does, once. SQLite transactions start with
BEGIN IMMEDIATE so that two writers queue on the busy timeout instead of
failing on a lock upgrade.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
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
from storage.sqlite_driver import LoopConnection, connection_creator


@dataclass(slots=True)
class UnitOfWork:
    session: AsyncSession
    people: PeopleRepo
    conversations: ConversationsRepo
    inbox: InboxRepo
    cases: CasesRepo
    outbox: OutboxRepo
    nudges: NudgesRepo
    catalog: CatalogRepo
    assignments: AssignmentsRepo
    matrix: MatrixRepo
    coordination: CoordinationRepo
    privacy: PrivacyRepo
    reports: ReportsRepo
    interventions: InterventionsRepo
    inscriptions: InscriptionsRepo

    @classmethod
    def over(cls, session: AsyncSession) -> UnitOfWork:
        return cls(
            session=session,
            people=PeopleRepo(session),
            conversations=ConversationsRepo(session),
            inbox=InboxRepo(session),
            cases=CasesRepo(session),
            outbox=OutboxRepo(session),
            nudges=NudgesRepo(session),
            catalog=CatalogRepo(session),
            assignments=AssignmentsRepo(session),
            matrix=MatrixRepo(session),
            coordination=CoordinationRepo(session),
            privacy=PrivacyRepo(session),
            reports=ReportsRepo(session),
            interventions=InterventionsRepo(session),
            inscriptions=InscriptionsRepo(session),
        )


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> AsyncEngine:
    # hide_parameters: a database error's message (logged) would otherwise quote
    # the statement's values, i.e. what people typed.
    if is_sqlite(url):
        # Write transactions run on the event loop, waits for a lock on
        # aiosqlite's thread (storage/sqlite_driver.py); the URL's own
        # arguments still apply.
        engine = create_async_engine(
            url, async_creator=connection_creator(url, timeout=30), hide_parameters=True
        )
        _sqlite_pragmas(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (see on_begin) instead of pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        # Straight to the driver while the write lock is free: a statement's
        # machinery would cost more than SQLite's work. Otherwise as a
        # statement, which waits for the lock off the event loop.
        driver = conn.connection.driver_connection
        if isinstance(driver, LoopConnection) and driver.begin_immediate_now():
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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
        self._writer_task: asyncio.Task[object] | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UnitOfWork]:
        if self._writer is None:
            async with self.sessions() as session, session.begin():
                yield UnitOfWork.over(session)
            return
        if self._writer_task is not None and self._writer_task is asyncio.current_task():
            # Would wait for itself forever: a unit of work inside another.
            raise RuntimeError("nested unit of work on SQLite")
        async with self._writer:
            self._writer_task = asyncio.current_task()
            try:
                async with self.sessions() as session, session.begin():
                    yield UnitOfWork.over(session)
            finally:
                self._writer_task = None

    async def ping(self) -> None:
        """`SELECT 1` in a unit of work: raises when the database does not answer
        (on SQLite it also waits for the writer in hand, which a healthy bot
        releases within milliseconds)."""
        async with self.unit() as uow:
            await uow.session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
