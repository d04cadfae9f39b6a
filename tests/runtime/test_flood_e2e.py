"""Flood limit end to end: python-telegram-bot against the fake Bot API. One
person sends 50 messages at once; another does an intake meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import BotService
from bot.runtime.clock import FakeClock
from bot.runtime.flood import FloodLimit
from storage.models.core import Conversation, ProcessedUpdate
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.transports.telegram.harness import answer, bot_config, choose, full_intake, running_bot

WARNING = "Doucement"


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[BotService]:
    # A clock that does not move: the whole flood arrives "in the same second".
    async with running_bot(bot_config(tg, tmp_path), clock=FakeClock()) as service:
        yield service


async def settle(tg: FakeTelegram, user: FakeUser) -> None:
    """Every update confirmed and the outbox drained for this person."""
    await tg.wait_delivered(timeout=20)
    await asyncio.sleep(0.3)
    while user.pending_replies:
        await user.wait_replies(len(user.pending_replies))
        await asyncio.sleep(0.3)


async def test_fifty_messages_at_once_get_one_warning_and_others_are_served(
    tg: FakeTelegram, bot: BotService
) -> None:
    burst = FloodLimit().burst
    alice = tg.user("Alice", language_code="fr")
    bob = tg.user("Bob", language_code="fr")
    await answer(alice, "/start")
    await choose(alice, "J'accepte")  # Alice is asked the name of her place

    async def flood() -> None:
        for number in range(50):
            await alice.say(f"Lieu numéro {number}")

    # Bob's whole intake runs while Alice's flood is being handled.
    _, summary = await asyncio.gather(flood(), full_intake(bob, lieu="Le Bazar"))
    assert "Le Bazar" in (summary.plain_text or "")
    await settle(tg, alice)

    texts = [m.plain_text or "" for m in alice.messages]
    warnings = [t for t in texts if WARNING in t]
    assert len(warnings) == 1
    assert "je n'ai pas lu les derniers" in warnings[0]
    # Read: the welcome, the place name, then one answer per admitted message
    # ("Lieu numéro 17" reads as département 17); the rest only got the warning.
    assert len(texts) == 2 + (burst - 2) + 1
    assert WARNING in texts[-1] and "(17)" in texts[-2]
    assert not any(f"({n})" in t for t in texts for n in range(burst - 2, 50))
    async with bot.db.unit() as uow:
        row = await uow.session.scalar(
            select(Conversation).where(Conversation.address == str(alice.id))
        )
        claimed = await uow.session.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert row is not None
    # Nothing past the burst was taken as an answer.
    state = str(row.state)
    assert all(f"Lieu numéro {n}" not in state for n in range(burst - 2, 50))
    # Every update was claimed, read or not: a redelivery is not read later.
    assert claimed == len(tg._history)

    # Bob confirms meanwhile and gets his reference.
    done = await choose(bob, "Confirmer")
    assert "AIG-0001" in (done.plain_text or "")

    # Calm again: Alice is read again.
    assert isinstance(bot.clock, FakeClock)
    bot.clock.advance(timedelta(seconds=FloodLimit().calm_seconds))
    helped = await answer(alice, "/aide")
    assert "Commandes" in (helped.plain_text or "")
    await settle(tg, alice)
    assert sum(WARNING in (m.plain_text or "") for m in alice.messages) == 1
    assert tg.unanswered_callbacks() == []


async def test_button_presses_in_a_flood_get_a_toast_and_one_warning(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    welcome = await answer(alice, "/start")
    for _ in range(FloodLimit().burst + 5):
        await alice.press("Je refuse", message=welcome)
    await tg.wait_delivered(timeout=20)
    await asyncio.sleep(0.3)
    toasts = [a.text for a in alice.callback_answers]
    assert sum(WARNING in t for t in toasts) == 6  # /start took one token
    assert tg.unanswered_callbacks() == []
    await settle(tg, alice)
    assert sum(WARNING in (m.plain_text or "") for m in alice.messages) == 1
    # Still refused after the flood, read again after calm.
    assert isinstance(bot.clock, FakeClock)
    bot.clock.advance(timedelta(seconds=FloodLimit().calm_seconds))
    again = await answer(alice, "/start")
    assert "Aiguillage" in (again.plain_text or "")
