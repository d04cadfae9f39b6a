"""Follow-up end to end: python-telegram-bot against the fake Bot API, a person
who confirmed a request gets the nudge, answers it, and the timeline holds it."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import BotService
from bot.config.followup import CoordinatorsConfig, FollowupConfig
from bot.runtime.clock import FakeClock
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.followup.e2e_support import GRACE, POLICY, nudge_after, timeline
from tests.transports.telegram.harness import (
    answer,
    bot_config,
    choose,
    full_intake,
    next_question,
)
from tests.transports.telegram.test_buttons import forge_press, now_shown, settle


@pytest.fixture
async def bot(tg: FakeTelegram, coordinator: FakeUser, tmp_path: Path) -> AsyncIterator[BotService]:
    config = dataclasses.replace(
        bot_config(tg, tmp_path),
        followup=FollowupConfig(policy=POLICY, grace=GRACE),
        coordinators=CoordinatorsConfig(telegram_ids=(coordinator.id,)),
    )
    service = BotService(config, clock=FakeClock(), rate_limit=False)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def confirmed_request(user: FakeUser) -> None:
    await full_intake(user)
    await choose(user, "Confirmer")
    await asyncio.sleep(0.3)  # proposals may follow the confirmation
    if user.pending_replies:
        await user.wait_replies(len(user.pending_replies))


async def test_nudge_cest_lance_and_impact_questions(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    await confirmed_request(alice)
    nudge = await nudge_after(bot, alice, timedelta(seconds=90))
    assert "AIG-0001" in (nudge.plain_text or "")
    # No catalog here: nothing was proposed, and she asked for no contact.
    assert "avancer sur votre demande" in (nudge.plain_text or "")
    assert nudge.labels == [
        "C'est lancé 🚀",
        "En cours",
        "Pas encore",
        "J'ai besoin d'aide",
        "Relancez-moi plus tard",
    ]
    bravo = await choose(alice, "C'est lancé")
    assert "Bravo" in (bravo.plain_text or "")
    assert "heures" not in (bravo.plain_text or "")  # too early to ask what changed
    # Verified: the 5-minute nudge never comes; the impact one does.
    assert isinstance(bot.clock, FakeClock)
    bot.clock.advance(timedelta(minutes=6))
    assert await bot.nudges.run_due() == 0  # the 5-minute row was cancelled
    await alice.expect_silence(0.3)
    first = await nudge_after(bot, alice, timedelta(seconds=900 - 360 - 90))
    assert "ressources libres" in (first.plain_text or "")
    hours = await answer(alice, "Dolibarr remplace notre vieux tableur")
    assert "heures par mois" in (hours.plain_text or "")
    contacts = await choose(alice, "5 à 10 h")
    assert "nouveaux contacts" in (contacts.plain_text or "")
    done = await answer(alice, "2, une ressourcerie et un fablab")
    assert "Merci beaucoup" in (done.plain_text or "")
    assert tg.unanswered_callbacks() == []

    events = await timeline(bot)
    kinds = [k for k, _ in events]
    assert kinds[0] == "submitted"
    assert kinds[-8:] == [
        "nudge_sent",
        "nudge_answer",
        "action_verified",
        "nudge_sent",
        "impact",
        "impact",
        "impact",
        "nudge_answer",
    ]
    impacts = [d for k, d in events if k == "impact"]
    assert [d["field"] for d in impacts] == ["ressources", "heures", "contacts"]
    assert impacts[1]["range"] == "5-10" and impacts[2]["value"] == 2
    bot.clock.advance(timedelta(days=10))
    assert await bot.nudges.run_due() == 0
    await alice.expect_silence(0.3)
    # The old buttons are answered politely and change nothing.
    await alice.press("En cours", message=nudge)
    toast = await alice.wait_callback_answer()
    assert "déjà répondu" in toast.text


async def test_help_and_blocked_person_reach_the_coordinator(
    tg: FakeTelegram, bot: BotService, coordinator: FakeUser
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await confirmed_request(alice)
    await nudge_after(bot, alice, timedelta(seconds=90))
    await choose(alice, "J'ai besoin d'aide")
    alert = await coordinator.wait_reply()
    assert "AIG-0001" in (alert.plain_text or "") and "aide" in (alert.plain_text or "")

    # The nudges stopped with the request for help; the coordinator answers,
    # but Alice has blocked the bot meanwhile.
    tg.block(alice)
    await coordinator.say("/repondre AIG-0001 Je vous appelle demain ?")
    blocked = await next_question(coordinator)
    if "bloqué" not in (blocked.plain_text or ""):
        blocked = await coordinator.wait_reply()
    assert "bloqué" in (blocked.plain_text or "")
    kinds = [k for k, _ in await timeline(bot)]
    assert "contact_blocked" in kinds and "escalated" in kinds
    await coordinator.expect_silence(0.3)


async def test_stale_or_forged_nudge_presses_leave_the_live_keyboard(
    tg: FakeTelegram, bot: BotService
) -> None:
    """Issue 14 item 1 for nudges: an unknown nudge id, a malformed press, an
    answered nudge's button pressed on the live nudge, or a double tap get a
    toast; the keyboard on screen stays as it is."""
    alice = tg.user("Alice", language_code="fr")
    await confirmed_request(alice)
    first = await nudge_after(bot, alice, timedelta(seconds=90))
    labels = first.labels
    first_id = first.callback_data[0].split(":")[1]
    for data in ("f:999:lance", f"f:{first_id}", f"f:{first_id}:boom", "f:x:lance"):
        forge_press(tg, alice, first, data, chat=alice)
    await settle(tg, alice)
    assert [a.text for a in alice.callback_answers][-4:] == ["Ce bouton n'est plus actif."] * 4
    assert now_shown(alice, first).labels == labels

    await choose(alice, "En cours")
    second = await nudge_after(bot, alice, timedelta(seconds=300 - 90))
    assert second.message_id != first.message_id and second.labels == labels
    # The first nudge's button, forged onto the live second one: answered already.
    forge_press(tg, alice, second, f"f:{first_id}:lance", chat=alice)
    await settle(tg, alice)
    assert "déjà répondu" in alice.callback_answers[-1].text
    assert now_shown(alice, second).labels == labels

    # A double tap: the second press of the same button gets a toast, nothing more.
    await alice.press("Pas encore", message=second)
    await alice.press("Pas encore", message=second)
    noted = await next_question(alice)
    assert "c'est noté" in (noted.plain_text or "")
    await settle(tg, alice)
    assert "déjà répondu" in alice.callback_answers[-1].text
    assert "Votre réponse" in (now_shown(alice, second).plain_text or "")
    async with bot.db.unit() as uow:
        case = await uow.cases.by_ref("AIG-0001")
        assert case is not None and case.status == "nouveau"
