"""Webhook mode, end to end: the fake Bot API POSTs updates to the bot's HTTP
server like Telegram behind a reverse proxy, with the secret token; an update is
acknowledged (200) only once committed, and 500 makes Telegram send it again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import BotService
from bot.transports.telegram.transport import TRANSPORT
from storage.models.core import ProcessedUpdate
from tests.fakes.postgres import PostgresServer
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.transports.http.support import (
    SECRET,
    WEBHOOK_URL,
    base_url,
    eventually,
    healthz,
    sample,
    scrape,
    webhook_config,
)
from tests.transports.telegram.harness import answer, bot_config, choose, next_question


async def start_webhook_bot(
    tg: FakeTelegram, data_dir: Path, db_url: str | None = None
) -> BotService:
    service = BotService(webhook_config(tg, data_dir, db_url), rate_limit=False)
    await service.start()
    # The reverse proxy: Telegram's HTTPS calls reach the bot's loopback port.
    tg.route_webhook(base_url(service))
    return service


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[BotService]:
    service = await start_webhook_bot(tg, tmp_path)
    try:
        yield service
    finally:
        await service.stop()


async def processed(bot: BotService) -> int:
    async with bot.db.unit() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0)


def statuses(tg: FakeTelegram, update_id: int) -> list[int]:
    return [status for uid, status in tg.webhook_deliveries if uid == update_id]


async def test_a_conversation_through_the_webhook(tg: FakeTelegram, bot: BotService) -> None:
    assert tg.webhook["url"] == WEBHOOK_URL
    assert tg.webhook["secret_token"] == SECRET
    assert tg.webhook["allowed_updates"] == ["message", "callback_query"]

    alice = tg.user("Alice", language_code="fr")
    welcome = await answer(alice, "/start")
    assert "Aiguillage" in (welcome.plain_text or "")
    await choose(alice, "J'accepte")
    await answer(alice, "La Fabrique")
    confirm = await answer(alice, "29200")
    assert "C'est bien ça" in (confirm.plain_text or "")

    await tg.wait_delivered()
    assert tg.stats.calls["getUpdates"] == 0
    assert [status for _, status in tg.webhook_deliveries] == [200] * 4
    assert tg.unanswered_callbacks() == []
    assert await processed(bot) == 4
    assert bot.metrics.count(TRANSPORT, "handled") == 4


async def test_a_call_without_the_secret_is_refused(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    forged = {
        "update_id": 999_001,
        "message": {
            "message_id": 1,
            "from": alice.user_json,
            "chat": alice.chat,
            "date": 1_767_000_000,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    assert await tg.post_webhook(forged, secret_token="not-the-secret") == 403
    assert await tg.post_webhook(forged, secret_token=SECRET[:-1]) == 403
    assert await tg.post_webhook(forged, secret_token=None) == 403
    await alice.expect_silence(0.3)
    assert await processed(bot) == 0
    assert sum(bot.metrics.updates.values()) == 0

    # The same body with the secret is an update like any other.
    assert await tg.post_webhook(forged, secret_token=SECRET) == 200
    welcome = await next_question(alice)
    assert "Aiguillage" in (welcome.plain_text or "")
    # A body that is not an update is refused without a retry.
    assert await tg.post_webhook({"hello": "world"}, secret_token=SECRET) == 400


async def test_the_same_update_twice_is_handled_once(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    await answer(alice, "/start")
    await alice.press("J'accepte")
    await next_question(alice)
    await tg.wait_delivered()
    tap = max(tg._history)  # update_id -> body, as Telegram sent it
    # Telegram sends it again (our 200 was lost on the way back).
    tg.redeliver(tap)
    await tg.wait_delivered()
    await alice.expect_silence(0.3)
    assert statuses(tg, tap) == [200, 200]
    assert await processed(bot) == 2
    assert bot.metrics.count(TRANSPORT, "handled") == 2
    assert bot.metrics.count(TRANSPORT, "duplicate") == 1
    samples = await scrape(bot)
    labels = {"transport": "telegram"}
    assert sample(samples, "aiguillage_updates_total", outcome="duplicate", **labels) == 1
    assert sample(samples, "aiguillage_handler_duration_seconds_count", **labels) == 3


class Rollback(Exception):
    """Raised to leave a unit of work without committing it."""


async def test_no_acknowledgement_before_the_commit(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    update_id = tg._next_update_id  # the id Alice's message will get
    # Another transaction holds the claim of that update, uncommitted: the bot's
    # unit of work waits for it (the SQLite writer lock; a unique key on PostgreSQL).
    with contextlib.suppress(Rollback):
        async with bot.db.unit() as uow:
            await uow.inbox.claim(TRANSPORT, str(update_id), bot.clock.now())
            await alice.say("/start")
            await asyncio.sleep(0.4)
            assert tg.pending_updates() == [update_id]
            assert statuses(tg, update_id) == []
            raise Rollback
    welcome = await next_question(alice)
    assert "Aiguillage" in (welcome.plain_text or "")
    await tg.wait_delivered()
    assert statuses(tg, update_id) == [200]


async def test_database_down_answers_500_and_telegram_sends_again(
    tg: FakeTelegram, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database("webhook_outage")
    bot = await start_webhook_bot(tg, tmp_path, db_url=url)
    try:
        alice = tg.user("Alice", language_code="fr")
        await answer(alice, "/start")
        assert (await healthz(bot))[0] == 200

        postgres_server.stop()
        try:
            status, body = await healthz(bot)
            assert status == 503
            assert body["database"] == "error"
            samples = await scrape(bot)
            assert sample(samples, "aiguillage_database_up") == 0
            assert ("aiguillage_outbox_pending", frozenset()) not in samples

            await alice.press("J'accepte")
            tap = max(tg._history)

            async def refused_twice() -> bool:
                return statuses(tg, tap).count(500) >= 2

            await eventually(refused_twice, timeout=30)
            # Nothing lost, so no apology: the answer comes when the database is back.
            await alice.expect_silence(0.3)
        finally:
            postgres_server.start()

        # Telegram's next try goes through: the answer comes, and only once.
        question = await next_question(alice, timeout=30)
        assert "Comment s'appelle votre tiers-lieu" in (question.plain_text or "")
        await tg.wait_delivered(timeout=30)
        assert statuses(tg, tap)[-1] == 200
        assert statuses(tg, tap).count(200) == 1
        await alice.expect_silence(0.3)

        async def healthy() -> bool:
            return (await healthz(bot))[0] == 200

        await eventually(healthy, timeout=30)
        assert bot.metrics.count(TRANSPORT, "error") >= 2
    finally:
        await bot.stop()


async def test_polling_after_webhook_mode_deletes_the_webhook(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    # The bot ran in webhook mode before; it is switched back to polling.
    webhook_bot = await start_webhook_bot(tg, tmp_path / "before")
    await webhook_bot.stop()
    assert tg.webhook["url"] == WEBHOOK_URL
    polling = BotService(bot_config(tg, tmp_path / "after"), rate_limit=False)
    await polling.start()
    try:
        alice: FakeUser = tg.user("Alice", language_code="fr")
        welcome = await answer(alice, "/start")
        assert "Aiguillage" in (welcome.plain_text or "")
        assert tg.webhook["url"] == ""
        assert tg.stats.sent["deleteWebhook"] == 1
    finally:
        await polling.stop()
