"""`/healthz` and `/metrics` on the bot's HTTP server, in polling mode (the
server runs in both modes when `[http] listen` is set). Metrics are read back
with Prometheus' own parser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import BotService
from bot.runtime.clock import FakeClock
from tests.fakes.telegram_api import FakeTelegram
from tests.transports.http.support import (
    eventually,
    get,
    healthz,
    polling_config,
    sample,
    scrape,
)
from tests.transports.telegram.harness import choose, full_intake, next_question, running_bot

TELEGRAM = {"transport": "telegram"}


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[BotService]:
    async with running_bot(polling_config(tg, tmp_path), clock=FakeClock()) as service:
        yield service


async def gauge(bot: BotService, name: str) -> float:
    return sample(await scrape(bot), name)


async def test_healthz_reports_the_database_and_the_loops(bot: BotService) -> None:
    status, body = await healthz(bot)
    assert status == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert {"telegram-poll", "outbox", "nudges"} <= set(body["tasks"])
    assert set(body["tasks"].values()) == {"running"}
    # Polling mode: no webhook path, and the server answers nothing else.
    assert (await get(bot, "/telegram/hook"))[0] in (404, 405)
    assert (await get(bot, "/"))[0] == 404


async def test_metrics_count_updates_and_read_the_queues(tg: FakeTelegram, bot: BotService) -> None:
    assert isinstance(bot.clock, FakeClock)
    samples = await scrape(bot)
    for outcome in ("handled", "duplicate", "error"):
        assert sample(samples, "aiguillage_updates_total", outcome=outcome, **TELEGRAM) == 0
    assert sample(samples, "aiguillage_outbox_pending") == 0
    assert sample(samples, "aiguillage_nudges_due") == 0
    assert sample(samples, "aiguillage_database_up") == 1

    alice = tg.user("Alice", language_code="fr")
    await full_intake(alice)
    await choose(alice, "Confirmer")
    await tg.wait_delivered()
    sent = len(tg._history)  # every update Alice's client sent
    samples = await scrape(bot)
    assert sample(samples, "aiguillage_updates_total", outcome="handled", **TELEGRAM) == sent
    assert sample(samples, "aiguillage_updates_total", outcome="error", **TELEGRAM) == 0
    name = "aiguillage_handler_duration_seconds"
    assert sample(samples, f"{name}_count", **TELEGRAM) == sent
    assert sample(samples, f"{name}_bucket", le="+Inf", **TELEGRAM) == sent
    assert sample(samples, f"{name}_sum", **TELEGRAM) > 0
    assert sample(samples, f"{name}_bucket", le="0.001", **TELEGRAM) <= sent

    async def outbox_empty() -> bool:
        return await gauge(bot, "aiguillage_outbox_pending") == 0

    await eventually(outbox_empty)

    # Telegram fails a send: the reply waits in the outbox for its retry.
    tg.fail_next("sendMessage", 502)
    await alice.say("/statut")

    async def retry_planned() -> bool:
        async with bot.db.unit() as uow:
            due = await uow.outbox.next_due_at("telegram")
        return due is not None and due > bot.clock.now()

    await eventually(retry_planned)
    assert await gauge(bot, "aiguillage_outbox_pending") == 1
    bot.clock.advance(timedelta(minutes=1))
    bot.dispatcher.kick()
    status = await next_question(alice)
    assert "AIG-0001" in (status.plain_text or "")
    await eventually(outbox_empty)

    # Three days later the first follow-up question is due until the worker runs.
    assert await gauge(bot, "aiguillage_nudges_due") == 0
    bot.clock.advance(timedelta(days=4))
    assert await gauge(bot, "aiguillage_nudges_due") == 1
    await bot.nudges.run_due()
    await next_question(alice)
    assert await gauge(bot, "aiguillage_nudges_due") == 0


async def test_healthz_fails_when_polling_died(tg: FakeTelegram, bot: BotService) -> None:
    assert (await healthz(bot))[0] == 200
    # The token is revoked with @BotFather: getUpdates answers 401 and polling stops.
    tg.token = "999999:revoked"
    poll = next(task for task in bot.leadership.tasks() if task.get_name() == "telegram-poll")
    await asyncio.wait([poll], timeout=10)
    status, body = await healthz(bot)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["tasks"]["telegram-poll"] == "stopped"
