"""The database away for a moment: the bot keeps running, keeps the update
(Telegram gets no confirmation for it), and answers it once when the database
is back. No apology and no traceback reach the person."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config.load import DatabaseConfig
from bot.runtime.core import Handled, Incoming
from bot.runtime.leadership import TELEGRAM_POLL
from dialogs.kernel.events import Text
from dialogs.kernel.i18n import translate
from storage.errors import is_unavailable
from tests import databases
from tests.fakes.postgres import PostgresServer
from tests.fakes.telegram_api import FakeTelegram
from tests.runtime.interrupted_intake import at_lieu_question, place_answered_once
from tests.transports.telegram.harness import bot_config, choose, running_bot, until


async def test_postgresql_stopped_then_restarted(
    tg: FakeTelegram,
    postgres_server: PostgresServer,
    tmp_path: Path,
) -> None:
    databases.attach(postgres_server)
    url = databases.url(tmp_path, engine=databases.POSTGRESQL)  # dropped after the test
    config = dataclasses.replace(bot_config(tg, tmp_path), database=DatabaseConfig(url=url))
    async with running_bot(config) as service:
        alice = tg.user("Alice", language_code="fr")
        await at_lieu_question(alice)
        await asyncio.to_thread(postgres_server.stop)
        try:
            # The lock of the polling role goes with the server: this process may
            # no longer be the only poller, so it stops asking (bot/runtime/leadership.py)
            # and the updates wait at Telegram until the server and the role are back.
            await until(lambda: not service.leadership.holds(TELEGRAM_POLL), "polling stopped")
            await alice.say("La Friche")
            await alice.say("44000")
            await asyncio.sleep(1.0)
            assert len(tg.pending_updates()) == 2  # nothing confirmed to Telegram
            await alice.expect_silence(0.5)
        finally:
            await asyncio.to_thread(postgres_server.start)
        await place_answered_once(service, tg, alice)
        # The bot never stopped: the conversation goes on.
        assert "Quel est votre rôle" in ((await choose(alice, "Oui, c'est ça")).plain_text or "")


async def test_sqlite_file_locked_for_a_moment(tg: FakeTelegram, tmp_path: Path) -> None:
    """Another process (a backup, a maintenance command) holds the write lock:
    the bot waits on SQLite's busy timeout and answers once."""
    url = databases.sqlite_url(tmp_path, "bot.sqlite3")  # about SQLite, in both passes
    config = dataclasses.replace(bot_config(tg, tmp_path), database=DatabaseConfig(url=url))
    async with running_bot(config) as service:
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
        await place_answered_once(service, tg, alice)


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


async def test_a_bug_is_apologised_for_once_and_not_retried(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    """Only a database outage is tried again: a bug would fail the same way, so
    the person gets one apology and the next update goes on."""
    async with running_bot(bot_config(tg, tmp_path)) as bot:
        tries: list[str] = []
        handle = bot.runtime.handle

        async def buggy(incoming: Incoming) -> Handled:
            tries.append(incoming.update_key)
            if isinstance(incoming.event, Text) and incoming.event.text == "boum":
                raise RuntimeError("a bug")
            return await handle(incoming)

        bot.runtime.handle = buggy  # type: ignore[method-assign]
        alice = tg.user("Alice", language_code="fr")
        await alice.say("boum")
        apology = await alice.wait_reply()
        assert apology.plain_text == translate("fr", "error.technical")
        assert len(tries) == 1
        await alice.say("bonjour")
        welcome = await alice.wait_reply()
        assert welcome.plain_text != apology.plain_text and welcome.buttons
        assert len(tries) == 2
