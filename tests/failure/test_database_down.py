"""The database away for a moment: the bot keeps running, keeps the update
(Telegram gets no confirmation for it), and answers it once when the database
is back. No apology and no traceback reach the person."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import BotService
from bot.config import DatabaseConfig
from storage.errors import is_unavailable
from storage.models import Conversation, ProcessedUpdate
from tests import databases
from tests.e2e.harness import TOKEN, answer, bot_config, choose, next_question
from tests.fakes.postgres import PostgresServer
from tests.fakes.telegram_api import FakeTelegram, FakeUser

APOLOGY = "problème technique"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


async def eventually(check: object, what: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def at_lieu_question(user: FakeUser) -> None:
    await answer(user, "/start")
    question = await choose(user, "J'accepte")
    assert "Comment s'appelle" in (question.plain_text or "")


async def check_answered_once(service: BotService, tg: FakeTelegram, user: FakeUser) -> None:
    async with service.db.unit() as uow:
        row = await uow.session.scalar(select(Conversation))
        claimed = await uow.session.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert row is not None and row.state["answers"]["lieu_name"] == "La Friche"
    assert row.state["stage"] == "place_confirm"
    assert claimed == len(tg._history)
    texts = [m.plain_text or "" for m in user.messages]
    assert not any(APOLOGY in t for t in texts)
    assert sum("Où se trouve" in t for t in texts) == 1
    assert sum("Loire-Atlantique" in t for t in texts) == 1


async def test_postgresql_stopped_then_restarted(
    tg: FakeTelegram,
    postgres_server: PostgresServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    databases.attach(postgres_server)
    url = databases.url(tmp_path, engine=databases.POSTGRESQL)  # dropped after the test
    config = dataclasses.replace(bot_config(tg, tmp_path), database=DatabaseConfig(url=url))
    service = BotService(config, rate_limit=False)
    await service.start()
    try:
        alice = tg.user("Alice", language_code="fr")
        await at_lieu_question(alice)
        await asyncio.to_thread(postgres_server.stop)
        try:
            caplog.set_level(logging.WARNING, logger="bot.telegram")
            await alice.say("La Friche")
            await alice.say("44000")
            await eventually(lambda: "kept for later" in caplog.text, "the update kept for later")
            assert len(tg.pending_updates()) == 2  # nothing confirmed to Telegram
            await alice.expect_silence(0.5)
        finally:
            await asyncio.to_thread(postgres_server.start)
        place = await next_question(alice, timeout=30)
        assert "Où se trouve" in (place.plain_text or "")
        confirm = await next_question(alice, timeout=30)
        assert "Loire-Atlantique" in (confirm.plain_text or "")
        await tg.wait_delivered(timeout=10)
        await alice.expect_silence(0.5)
        await check_answered_once(service, tg, alice)
        # The bot never stopped: the conversation goes on.
        assert "Quel est votre rôle" in ((await choose(alice, "Oui, c'est ça")).plain_text or "")
    finally:
        await service.stop()


async def test_sqlite_file_locked_for_a_moment(tg: FakeTelegram, tmp_path: Path) -> None:
    """Another process (a backup, a maintenance command) holds the write lock:
    the bot waits on SQLite's busy timeout and answers once."""
    url = databases.sqlite_url(tmp_path, "bot.sqlite3")  # about SQLite, in both passes
    config = dataclasses.replace(bot_config(tg, tmp_path), database=DatabaseConfig(url=url))
    service = BotService(config, rate_limit=False)
    await service.start()
    try:
        alice = tg.user("Alice", language_code="fr")
        await at_lieu_question(alice)
        holder = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            await alice.say("La Friche")
            await alice.say("44000")
            await alice.expect_silence(1.0)  # locked: nothing can be recorded
            assert tg.pending_updates()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        got = await next_question(alice, timeout=30)
        assert "Où se trouve" in (got.plain_text or ""), alice.dump()
        assert "Loire-Atlantique" in ((await next_question(alice, timeout=30)).plain_text or "")
        await tg.wait_delivered(timeout=10)
        await alice.expect_silence(0.5)
        await check_answered_once(service, tg, alice)
    finally:
        await service.stop()


async def test_what_counts_as_unavailable(tmp_path: Path) -> None:
    """Waiting is right for a locked file or a refused connection; a broken
    query must not block every update behind it."""
    path = tmp_path / "x.sqlite3"
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.05})
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("CREATE TABLE t (x INTEGER)")
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(Exception) as locked:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
        assert is_unavailable(locked.value)
        holder.execute("ROLLBACK")
        with pytest.raises(Exception) as broken:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT * FROM no_such_table"))
        assert not is_unavailable(broken.value)
    finally:
        holder.close()
        await engine.dispose()
    assert is_unavailable(ConnectionRefusedError(111, "Connect call failed"))
    assert not is_unavailable(ValueError("a bug"))
