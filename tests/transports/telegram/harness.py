"""Helpers for end-to-end tests: the bot against the fake Bot API, as a person
would use it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import BotService
from bot.config.load import Config, DatabaseConfig, TelegramConfig
from tests import databases
from tests.fakes.telegram_api import BotMessage, FakeTelegram, FakeUser

TOKEN = "123456:TEST-token"


def bot_config(tg: FakeTelegram, data_dir: Path) -> Config:
    return Config(
        data_dir=data_dir,
        telegram=TelegramConfig(
            token=TOKEN,
            api_base_url=tg.base_url,
            file_base_url=tg.base_file_url,
            poll_timeout=1,
        ),
        database=DatabaseConfig(url=databases.url(data_dir)),
    )


@asynccontextmanager
async def running_bot(config: Config, **options: Any) -> AsyncIterator[BotService]:
    """The bot service started in this process (no send pacing unless asked), stopped
    on the way out; `options` go to `BotService` (clock, pacer…)."""
    service = BotService(config, **{"rate_limit": False, **options})
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def until(check: Any, what: str, timeout: float = 20.0) -> None:
    """Until `check()` is true (state that another task will reach)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.02)


async def next_question(user: FakeUser, timeout: float = 30.0) -> BotMessage:
    """The next new message from the bot, skipping edits of earlier ones. The wait
    is long because a bot started as a subprocess on a loaded machine may take more
    than 10 s to answer its first update; a reply that comes sooner ends it."""
    while True:
        reply = await user.wait_reply(timeout=timeout)
        if not reply.edited:
            return reply


async def answer(user: FakeUser, text: str) -> BotMessage:
    await user.say(text)
    return await next_question(user)


async def choose(user: FakeUser, label: str) -> BotMessage:
    await user.press(label)
    return await next_question(user)


async def full_intake(
    user: FakeUser, place: str = "29200", lieu: str = "La Fabrique"
) -> BotMessage:
    """Walk a whole intake in French; returns the summary message."""
    welcome = await answer(user, "/start")
    assert "Aiguillage" in (welcome.plain_text or "")
    await choose(user, "J'accepte")
    await answer(user, lieu)
    confirm = await answer(user, place)
    assert "C'est bien ça" in (confirm.plain_text or "")
    await choose(user, "Oui, c'est ça")
    await choose(user, "Bénévole")
    await user.press("Gestion")
    await user.wait_reply()  # the keyboard redrawn with the theme ticked
    await choose(user, "Valider")
    await answer(user, "Nos adhésions sont dans un tableur que plus personne ne comprend.")
    await choose(user, "Rien pour l'instant")
    await answer(user, "Un outil simple pour les bénévoles.")
    await answer(user, "Pas de budget")
    await user.press("Découvrir des ressources")
    await user.wait_reply()
    await choose(user, "Valider")
    summary = await choose(user, "Dans le mois")
    assert "Votre fiche" in (summary.plain_text or "")
    return summary


class BotProcess:
    """`aiguillage run` as a real subprocess, to kill -9 and start again."""

    def __init__(self, tg: FakeTelegram, data_dir: Path) -> None:
        self.data_dir = data_dir
        # The file `aiguillage run` would pick by default, or a PostgreSQL database.
        self.database_url = databases.url(data_dir, "aiguillage.sqlite3")
        self.env = {
            **os.environ,
            "AIGUILLAGE_TELEGRAM_TOKEN": TOKEN,
            "AIGUILLAGE_TELEGRAM_API_BASE_URL": tg.base_url,
            "AIGUILLAGE_TELEGRAM_FILE_BASE_URL": tg.base_file_url,
            "AIGUILLAGE_DATA_DIR": str(data_dir),
            "AIGUILLAGE_DATABASE_URL": self.database_url,
        }
        self.config = data_dir / "config.toml"
        self.config.write_text('[telegram]\npoll_timeout = 1\n[bot]\nlog_level = "INFO"\n')
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "bot.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli.commands", "run", "--config", str(self.config)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 10)
