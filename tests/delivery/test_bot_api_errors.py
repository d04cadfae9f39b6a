"""The Bot API misbehaving: getUpdates answering 502, 500, 429, cut connections
and answers lost on the way back (a timeout after Telegram did the work); sends
cut or timed out. The poll loop survives and resumes; no update is lost or
handled twice. (Sends answered 429 and 502 are in tests/delivery/test_outbox_delivery.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import BotService
from bot.config.load import Config
from bot.runtime.clock import FakeClock
from storage.models.core import OutboxMessage, ProcessedUpdate
from tests.fakes.telegram_api import FakeTelegram
from tests.runtime.flaky_proxy import Fault, FlakyProxy
from tests.runtime.interrupted_intake import at_lieu_question, place_answered_once
from tests.transports.telegram.harness import bot_config, choose, next_question, running_bot, until


class RunningClock(FakeClock):
    """Flows like the wall clock; `advance` jumps over retry delays."""

    def __init__(self) -> None:
        super().__init__(datetime.now(UTC))
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._now + timedelta(seconds=time.monotonic() - self._t0)


@pytest.fixture
async def proxy(tg: FakeTelegram) -> AsyncIterator[FlakyProxy]:
    async with FlakyProxy(tg.port) as found:
        yield found


def through(proxy: FlakyProxy, config: Config) -> Config:
    telegram = dataclasses.replace(
        config.telegram, api_base_url=proxy.base_url, file_base_url=proxy.base_file_url
    )
    return dataclasses.replace(config, telegram=telegram)


@pytest.fixture
async def bot(tg: FakeTelegram, proxy: FlakyProxy, tmp_path: Path) -> AsyncIterator[BotService]:
    config = through(proxy, bot_config(tg, tmp_path))
    async with running_bot(config, clock=RunningClock()) as service:
        yield service


async def test_get_updates_errors_are_survived(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    await at_lieu_question(alice)
    # The poll in flight passes; the next ones fail in turn.
    tg.fail_next("getUpdates", status=502)
    tg.fail_next("getUpdates", status=500)
    tg.fail_next("getUpdates", status=429, retry_after=1)
    await alice.say("La Friche")
    await alice.say("44000")
    await place_answered_once(bot, tg, alice)
    assert tg.stats.injected == 3
    assert tg.stats.rate_limited == 1


async def test_cut_connection_and_lost_answer_of_get_updates(
    tg: FakeTelegram, proxy: FlakyProxy, bot: BotService
) -> None:
    """The worst case: Telegram handed the updates out, the answer was lost, the
    bot timed out. They come again (not confirmed) and are handled once."""
    alice = tg.user("Alice", language_code="fr")
    await at_lieu_question(alice)
    proxy.next("getUpdates", Fault.CUT)
    proxy.next("getUpdates", Fault.LOST)
    await until(lambda: ("getupdates", Fault.CUT) in proxy.played, "a cut poll")
    # The bot waits a second after the cut: both messages go into the lost answer.
    await alice.say("La Friche")
    await alice.say("44000")
    await until(lambda: ("getupdates", Fault.LOST) in proxy.played, "a lost poll answer")
    await place_answered_once(bot, tg, alice)


async def test_cut_and_timed_out_sends_are_retried(
    tg: FakeTelegram, proxy: FlakyProxy, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await at_lieu_question(alice)
    assert isinstance(bot.clock, RunningClock)

    # Cut before reaching Telegram: retried after its backoff, received once.
    proxy.next("sendMessage", Fault.CUT)
    await alice.say("La Friche")
    await until(lambda: ("sendmessage", Fault.CUT) in proxy.played, "a cut send")
    bot.clock.advance(timedelta(seconds=5))
    bot.dispatcher.kick()
    place = await next_question(alice, timeout=20)
    assert "Où se trouve" in (place.plain_text or "")

    # Reached Telegram, answer lost: the bot cannot know, and sends again after
    # the timeout. The person reads it at least once (Telegram has no
    # idempotency key; see docs/architecture.md), and the conversation goes on.
    proxy.next("sendMessage", Fault.LOST)
    await alice.say("44000")
    confirm = await next_question(alice, timeout=20)
    assert "Loire-Atlantique" in (confirm.plain_text or "")
    await until(lambda: ("sendmessage", Fault.LOST) in proxy.played, "a lost send answer")

    async def all_sent() -> bool:
        async with bot.db.unit() as uow:
            states = (await uow.session.scalars(select(OutboxMessage.state))).all()
        return set(states) == {"sent"}

    deadline = time.monotonic() + 30
    while not await all_sent():
        assert time.monotonic() < deadline, "outbox rows never all sent"
        bot.clock.advance(timedelta(seconds=5))
        bot.dispatcher.kick()
        await asyncio.sleep(0.2)
    texts = [m.plain_text or "" for m in alice.messages]
    assert sum("Où se trouve" in t for t in texts) == 1
    assert 1 <= sum("Loire-Atlantique" in t for t in texts) <= 2
    async with bot.db.unit() as uow:
        claimed = await uow.session.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert claimed == len(tg._history)
    if alice.pending_replies:  # the copy of the lost send
        await alice.wait_replies(len(alice.pending_replies))
    question = await choose(alice, "Oui, c'est ça")
    assert "rôle" in (question.plain_text or "")
