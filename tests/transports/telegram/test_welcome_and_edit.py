"""The welcome and an edit of the sheet, on Telegram end to end: the real
python-telegram-bot Application against the fake Bot API (issue 14, item 9)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import BotService
from tests.fakes.telegram_api import FakeTelegram
from tests.transports.telegram.harness import (
    answer,
    bot_config,
    choose,
    full_intake,
    next_question,
    running_bot,
)


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[BotService]:
    async with running_bot(bot_config(tg, tmp_path)) as service:
        yield service


async def test_the_welcome_is_short_and_its_number_of_questions_is_true(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    welcome = await answer(alice, "/start")
    text = welcome.plain_text or ""
    assert len(text) < 500, len(text)
    for jargon in ("communs", "RGPD", "transition", "aiguilleur", "coordinat", "dizaine"):
        assert jargon not in text, jargon
    promised = int(re.search(r"poser (\d+) questions", text).group(1))  # type: ignore[union-attr]
    # Walk the intake and count the questions that record an answer on the sheet.
    summary = await full_intake(alice)
    sheet_lines = [
        line for line in (summary.plain_text or "").splitlines()[1:] if "\u00a0: " in line
    ]
    assert promised == len(sheet_lines) == 10


async def test_editing_one_answer_updates_the_sheet_in_place(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    summary = await full_intake(alice)
    before = len(alice.messages)
    await alice.press("Modifier une réponse")
    await next_question(alice)  # which answer?
    question = await choose(alice, "La réussite, ce serait")
    assert "réussite" in (question.plain_text or "")
    done = await answer(alice, "Un logiciel libre que tout le monde comprend.")
    assert "votre fiche, juste au-dessus, est à jour" in (done.plain_text or "")
    assert done.buttons == []
    # The sheet is the same message, now with the new answer and its buttons back.
    sheet = next(m for m in alice.messages if m.message_id == summary.message_id)
    assert "Un logiciel libre que tout le monde comprend." in (sheet.plain_text or "")
    assert "Un outil simple pour les bénévoles." not in (sheet.plain_text or "")
    assert any("Confirmer" in label for label in sheet.labels)
    # No second copy of the sheet was posted.
    posted = alice.messages[before:]
    assert sum("Votre fiche" in (m.plain_text or "") for m in posted) == 0
    await alice.press("Confirmer et envoyer", message=sheet.message_id)
    created = await next_question(alice)
    assert "AIG-0001" in (created.plain_text or "")
    assert tg.unanswered_callbacks() == []


async def test_a_deleted_sheet_is_sent_again_after_an_edit(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    summary = await full_intake(alice)
    await alice.press("Modifier une réponse")
    await next_question(alice)
    await choose(alice, "La réussite, ce serait")
    alice._messages[summary.message_id].deleted = True  # the person deleted the sheet
    await alice.say("Un logiciel libre que tout le monde comprend.")
    texts = [(await alice.wait_reply()).plain_text or "" for _ in range(2)]
    assert any("Votre fiche" in t and "Un logiciel libre" in t for t in texts), texts
    sheet = next(m for m in alice.messages if "Votre fiche" in (m.plain_text or ""))
    assert any("Confirmer" in label for label in sheet.labels)
