"""Wiring: database, runtime, dispatcher and one transport, started and stopped
in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import IO

from bot.clock import Clock, SystemClock
from bot.config import Config, require_token
from bot.console import TRANSPORT as CONSOLE
from bot.console import ConsoleScreen, ConsoleSender, ConsoleTransport
from bot.outbox import Dispatcher
from bot.runtime import Runtime
from bot.telegram import TRANSPORT as TELEGRAM
from bot.telegram import TelegramTransport
from storage.db import Database, is_sqlite
from storage.migrate import upgrade

log = logging.getLogger(__name__)


async def open_database(config: Config) -> Database:
    if is_sqlite(config.database.url):
        config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.database.url)
    await upgrade(db)
    return db


async def run_chat(
    config: Config,
    out: IO[str] | None = None,
    read_line: object = None,
    clock: Clock | None = None,
) -> None:
    db = await open_database(config)
    try:
        screen = ConsoleScreen(out or sys.stdout)
        clock = clock or SystemClock()
        runtime = Runtime(db, clock)
        dispatcher = Dispatcher(db, clock, {CONSOLE: ConsoleSender(screen)})
        transport = ConsoleTransport(runtime, dispatcher, screen, locale=config.locale)
        await transport.run(read_line=read_line)  # type: ignore[arg-type]
    finally:
        await db.dispose()


class BotService:
    """The Telegram bot: database, runtime, outbox dispatcher and polling, started
    and stopped in order. `run_bot` runs one until a signal; tests run one in
    process against a fake Bot API."""

    def __init__(self, config: Config, clock: Clock | None = None, rate_limit: bool = True) -> None:
        self.config = config
        self.token = require_token(config)
        self.clock = clock or SystemClock()
        self.rate_limit = rate_limit
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.db = await open_database(self.config)
        self.runtime = Runtime(self.db, self.clock)
        self.dispatcher = Dispatcher(self.db, self.clock, {})
        self.transport = TelegramTransport(
            self.config.telegram, self.token, self.runtime, self.dispatcher, self.rate_limit
        )
        self.dispatcher.senders[TELEGRAM] = self.transport.sender
        await self.transport.start()
        self.tasks = [
            asyncio.create_task(self.transport.poll(), name="telegram-poll"),
            asyncio.create_task(self.dispatcher.run(), name="outbox"),
        ]
        log.info("bot started")

    async def wait(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; re-raises if polling or delivery died."""
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                [*self.tasks, stopper], return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopper.cancel()
        for task in done:
            if task is not stopper and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.transport.stop()
        await self.db.dispose()
        log.info("bot stopped")


async def run_bot(config: Config) -> None:
    """Poll Telegram until SIGINT/SIGTERM."""
    service = BotService(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await service.start()
    try:
        await service.wait(stop)
    finally:
        await service.stop()
