"""Buttons as people really press them, end to end (python-telegram-bot against the
fake Bot API): a double tap on a button that redraws its own message, a forged
press, a press on another person's message, what a toggle question records,
and /statut once everything was forgotten."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import BotService
from bot.catalog.service import load_starter_catalog
from bot.config.followup import CoordinatorsConfig
from bot.runtime.clock import FakeClock
from storage.models.core import Conversation
from tests.fakes.telegram_api import BotMessage, FakeTelegram, FakeUser, _Callback
from tests.transports.telegram.harness import (
    answer,
    bot_config,
    choose,
    full_intake,
    next_question,
    running_bot,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path, clock: FakeClock) -> AsyncIterator[BotService]:
    async with running_bot(bot_config(tg, tmp_path), clock=clock) as service:
        yield service


async def to_themes(user: FakeUser) -> BotMessage:
    """From /start to the themes question; returns it as the person sees it."""
    await answer(user, "/start")
    await choose(user, "J'accepte")
    await answer(user, "La Fabrique")
    await answer(user, "29200")
    await choose(user, "Oui, c'est ça")
    themes = await choose(user, "Bénévole")
    assert "Sur quel(s) thème(s)" in (themes.plain_text or "")
    return themes


def now_shown(user: FakeUser, message: BotMessage) -> BotMessage:
    """The message as it is on the person's screen now (after any edit)."""
    return next(m for m in user.messages if m.message_id == message.message_id)


async def settle(tg: FakeTelegram, user: FakeUser) -> None:
    """Every update handled and every press answered."""
    await tg.wait_delivered()
    await user.expect_silence(0.3)
    assert tg.unanswered_callbacks() == []


async def conversation_state(bot: BotService, user: FakeUser) -> dict[str, object]:
    async with bot.db.unit() as uow:
        row = await uow.session.scalar(
            select(Conversation).where(Conversation.address == str(user.id))
        )
    assert row is not None
    return dict(row.state)


async def test_double_tap_on_a_theme_keeps_the_live_keyboard(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    themes = await to_themes(alice)
    # Two taps on "Gestion" as the message was: the second arrives after the first
    # redrew the message (its buttons carry the next version).
    await alice.press("Gestion", message=themes)
    await alice.press("Gestion", message=themes)
    redrawn = await alice.wait_reply()
    assert redrawn.edited and "✅ Gestion" in redrawn.labels
    await settle(tg, alice)
    assert any("plus actif" in a for a in alice.callback_answers)
    live = now_shown(alice, themes)
    assert "✅ Gestion" in live.labels and "Valider (1)" in live.labels, alice.dump()

    # The live keyboard still works, and the record names the themes chosen.
    await alice.press("Numérique")
    await alice.wait_reply()
    await alice.press("Valider (2)")
    problem = await next_question(alice)
    assert "Racontez-nous le problème" in (problem.plain_text or "")
    record = now_shown(alice, themes)
    assert record.labels == []
    assert "Votre réponse\xa0: Gestion, Numérique" in (record.plain_text or ""), record.plain_text
    assert "Valider (" not in (record.plain_text or "")


async def test_kinds_of_help_are_recorded_by_name(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    await full_intake(alice)
    state = await conversation_state(bot, alice)
    assert state["answers"]["help"] == ["decouvrir"]  # type: ignore[index]
    help_question = next(m for m in alice.messages if "type d'aide" in (m.plain_text or ""))
    assert "Votre réponse\xa0: Découvrir des ressources" in (help_question.plain_text or "")


@pytest.fixture
async def with_coordinator(
    tg: FakeTelegram, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[BotService]:
    """Without Matrix, contact is offered when a coordinator on Telegram can take it."""
    config = dataclasses.replace(
        bot_config(tg, tmp_path), coordinators=CoordinatorsConfig(telegram_ids=(700_001,))
    )
    async with running_bot(config, clock=clock) as service:
        yield service


async def test_double_tap_on_a_star_keeps_the_contact_button(
    tg: FakeTelegram, with_coordinator: BotService, clock: FakeClock
) -> None:
    bot = with_coordinator
    await load_starter_catalog(bot.db, include_demo_aiguilleurs=True)
    alice = tg.user("Alice", language_code="fr")
    await full_intake(alice)
    clock.advance(timedelta(minutes=1))  # people pause; the flood limit counts
    await alice.press("Confirmer")
    while True:
        proposals = await next_question(alice)
        if "ressources libres" in (proposals.plain_text or ""):
            break
    star = next(label for label in proposals.labels if label.startswith("☆"))
    await alice.press(star, message=proposals)
    await alice.press(star, message=proposals)
    await alice.wait_reply()
    await settle(tg, alice)
    live = now_shown(alice, proposals)
    assert "🤝 Être mis·e en relation" in live.labels, alice.dump()
    assert any(label.startswith("✅") for label in live.labels)
    await alice.press("Être mis·e en relation")
    noted = await next_question(alice)
    assert "C'est noté" in (noted.plain_text or "")
    async with bot.db.unit() as uow:
        case = await uow.cases.by_ref("AIG-0001")
        assert case is not None and case.contact_requested
        assert len(case.interests) == 1


def forge_press(
    tg: FakeTelegram, presser: FakeUser, message: BotMessage, data: str, chat: FakeUser
) -> str:
    """A callback the Telegram apps never send: `presser` pressing `data` on
    `message`, a message of `chat`'s conversation."""
    query_id = f"forged-{tg._next_callback}"
    tg._next_callback += 1
    tg._callbacks[query_id] = _Callback(query_id, presser.id, message.message_id, data, tg.clock())
    shown = json.loads(json.dumps(message.raw))
    shown["chat"] = chat.chat
    tg.push_update(
        {
            "callback_query": {
                "id": query_id,
                "from": presser.user_json,
                "message": shown,
                "chat_instance": "1",
                "data": data,
            }
        }
    )
    return query_id


async def test_a_button_of_someone_elses_chat_changes_nothing(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    mallory = tg.user("Mallory", language_code="fr")
    welcome = await answer(alice, "/start")
    before = await conversation_state(bot, alice)
    _, refuse = welcome.button("Je refuse")
    query = forge_press(tg, mallory, welcome, refuse, chat=alice)
    await settle(tg, alice)
    assert "plus actif" in tg._callbacks[query].answer.text  # type: ignore[union-attr]
    # Alice's conversation is as it was, her buttons too; Mallory has none.
    assert await conversation_state(bot, alice) == before
    assert now_shown(alice, welcome).labels == ["J'accepte", "Je refuse"]
    assert mallory.messages == []
    async with bot.db.unit() as uow:
        chats = (await uow.session.scalars(select(Conversation.address))).all()
    assert chats == [str(alice.id)]
    # Alice's own press still works.
    lieu = await choose(alice, "J'accepte")
    assert "Comment s'appelle votre tiers-lieu" in (lieu.plain_text or "")


async def test_a_forged_press_on_the_live_question_leaves_its_buttons(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    themes = await to_themes(alice)
    for data in ("garbage", "999:done", "0:th:gestion"):
        forge_press(tg, alice, themes, data, chat=alice)
    await settle(tg, alice)
    assert [a.text for a in alice.callback_answers][-3:] == ["Ce bouton n'est plus actif."] * 3
    # "0:" is a well-formed old version, but this message shows the current one.
    live = now_shown(alice, themes)
    assert "Valider (0)" in live.labels
    state = await conversation_state(bot, alice)
    assert state["stage"] == "themes" and state["draft"] == {}


async def test_statut_after_oublier_says_there_is_nothing(
    tg: FakeTelegram, bot: BotService, clock: FakeClock
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await answer(alice, "/start")
    await choose(alice, "J'accepte")
    await answer(alice, "/oublier")
    goodbye = await choose(alice, "Oui, tout effacer")
    assert "vos données sont effacées" in (goodbye.plain_text or "")
    status = await answer(alice, "/statut")
    text = status.plain_text or ""
    assert "aucune demande en cours" in text, text
    assert "Aiguillage" not in text and status.labels == []
    # Nothing was stored by asking.
    async with bot.db.unit() as uow:
        assert (await uow.session.scalars(select(Conversation))).all() == []
