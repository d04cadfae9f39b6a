"""Helpers for the tests of several bot processes on one database: bots in this
process or as real `aiguillage run` subprocesses, each telling the fake Bot API
who it is (`FakeTelegram.base_url_for`), and what the fake saw of their polls."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from bot.config.cluster import ClusterConfig
from bot.config.load import Config
from tests.fakes.telegram_api import FakeTelegram, FakeUser, PollWindow
from tests.transports.http.support import polling_config
from tests.transports.telegram.harness import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def named_config(tg: FakeTelegram, data_dir: Path, url: str, name: str) -> Config:
    """A polling bot with /healthz, named `name` in [cluster] and towards the fake."""
    config = polling_config(tg, data_dir, url)
    telegram = dataclasses.replace(config.telegram, api_base_url=tg.base_url_for(name))
    return dataclasses.replace(config, telegram=telegram, cluster=ClusterConfig(name=name))


def overlapping_polls(tg: FakeTelegram) -> list[tuple[PollWindow, PollWindow]]:
    """Pairs of getUpdates calls from two different callers open at the same moment."""
    return [
        (a, b)
        for i, a in enumerate(tg.polls)
        for b in tg.polls[i + 1 :]
        if a.caller != b.caller and a.overlaps(b)
    ]


async def start_and_greet(users: list[FakeUser]) -> None:
    """Each person opens the bot; each gets the welcome once (and nothing more)."""
    for user in users:
        await user.say("/start")
    for user in users:
        reply = await user.wait_reply(timeout=30)
        assert "Aiguillage" in (reply.plain_text or ""), user.dump()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BotProcess:
    """`python -m bot.cli run` with its own config file, /healthz on its own port."""

    def __init__(self, tg: FakeTelegram, folder: Path, url: str, name: str) -> None:
        self.name = name
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "config.toml"
        self.config.write_text(
            "\n".join(
                [
                    "[bot]",
                    f'data_dir = "{folder / "data"}"',
                    "[telegram]",
                    f'token = "{TOKEN}"',
                    f'api_base_url = "{tg.base_url_for(name)}"',
                    f'file_base_url = "{tg.base_file_url}"',
                    "poll_timeout = 1",
                    "[http]",
                    f'listen = "127.0.0.1:{self.port}"',
                    "[database]",
                    f'url = "{url}"',
                    "[cluster]",
                    f'name = "{name}"',
                    "",
                ]
            ),
            encoding="utf-8",
        )
        self.log = folder / "bot.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # The file says it all: no AIGUILLAGE_* variable of the test's environment.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIGUILLAGE_")}
        env["AIGUILLAGE_LOCALE"] = "fr"
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--config", str(self.config)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    async def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                await asyncio.to_thread(self.popen.wait, 20)
            except subprocess.TimeoutExpired:
                self.popen.kill()

    async def health(self) -> dict[str, Any] | None:
        """The /healthz body, or None while the process does not answer."""
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
                session.get(f"http://127.0.0.1:{self.port}/healthz") as response,
            ):
                body: dict[str, Any] = await response.json()
                return body
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def roles(self) -> set[str]:
        body = await self.health()
        return set(body["roles"]) if body else set()

    async def until_up(self, timeout: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self.health() is None:
            assert self.popen is not None
            if self.popen.poll() is not None or loop.time() > deadline:
                raise AssertionError(f"{self.name} never answered:\n{self.tail()}")
            await asyncio.sleep(0.1)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]
