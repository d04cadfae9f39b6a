"""Helpers for the bot's HTTP server in end-to-end tests: configurations with
`[http] listen` on a free loopback port (and webhook mode), GETs of /healthz and
/metrics, the metrics read back with Prometheus' own parser."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.app import BotService
from bot.config.http import HttpConfig
from bot.config.load import Config, DatabaseConfig
from tests.fakes.telegram_api import FakeTelegram
from tests.transports.telegram.harness import bot_config

WEBHOOK_URL = "https://aiguillage.example.org/telegram/hook"
SECRET = "Webhook_secret-for-tests-0123456789"
LOOPBACK = HttpConfig(host="127.0.0.1", port=0)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def polling_config(tg: FakeTelegram, data_dir: Path, db_url: str | None = None) -> Config:
    config = dataclasses.replace(bot_config(tg, data_dir), http=LOOPBACK)
    if db_url is not None:
        config = dataclasses.replace(config, database=DatabaseConfig(url=db_url))
    return config


def webhook_config(tg: FakeTelegram, data_dir: Path, db_url: str | None = None) -> Config:
    config = polling_config(tg, data_dir, db_url)
    telegram = dataclasses.replace(
        config.telegram, mode="webhook", webhook_url=WEBHOOK_URL, webhook_secret=SECRET
    )
    return dataclasses.replace(config, telegram=telegram)


def base_url(bot: BotService) -> str:
    assert bot.http is not None
    return f"http://127.0.0.1:{bot.http.port}"


async def get(bot: BotService, path: str) -> tuple[int, str, str]:
    """(status, content type header, body)."""
    async with aiohttp.ClientSession() as session, session.get(base_url(bot) + path) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def healthz(bot: BotService) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url(bot) + "/healthz") as response,
    ):
        return response.status, await response.json()


async def scrape(bot: BotService) -> Samples:
    status, content_type, body = await get(bot, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def eventually(probe: Any, timeout: float = 10.0) -> None:
    """Until `await probe()` is true (state that another task will reach)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await probe():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
