"""Several bot processes on one PostgreSQL: due nudges are claimed with
FOR UPDATE SKIP LOCKED, so each is asked exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from bot.followup.nudges import NudgeWorker
from bot.runtime.core import Runtime
from storage.db import Database
from storage.migrate import upgrade
from storage.models.core import OutboxMessage
from tests.fakes import postgres as pg
from tests.followup.support import build_world


async def test_four_workers_on_postgresql_ask_each_nudge_once(
    postgres_server: pg.PostgresServer,
) -> None:
    url = postgres_server.create_database("nudges_workers")
    main = Database(url)
    await upgrade(main)
    world = build_world(main)
    for chat in range(3001, 3121):
        await world.make_case(chat=chat)
    world.clock.advance(timedelta(days=3))
    # Each "process" has its own engine, hence its own connections and locks.
    engines = [Database(url) for _ in range(4)]
    workers = [
        NudgeWorker(db, world.clock, Runtime(db, world.clock, world.followup), world.followup)
        for db in engines
    ]
    try:
        handled = await asyncio.gather(*(w.run_due() for w in workers))
        assert sum(handled) == 120
        assert sum(1 for n in handled if n > 0) >= 2  # the work was really shared
        async with main.unit() as uow:
            rows = (await uow.session.scalars(select(OutboxMessage))).all()
            assert await uow.nudges.count("sent") == 120
        per_chat = Counter(row.address for row in rows)
        assert len(per_chat) == 120 and set(per_chat.values()) == {1}
    finally:
        for db in engines:
            await db.dispose()
        await main.dispose()
