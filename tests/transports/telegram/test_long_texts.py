"""Long texts end to end (python-telegram-bot against the fake Bot API): a paste
the Telegram app sent in parts is one answer (dialogs/intake/bursts.py), and a sheet
too long for one message is confirmed without losing any of its parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import BotService
from bot.runtime.clock import FakeClock
from storage.models.core import Conversation
from tests.fakes.telegram_api import BotMessage, FakeTelegram, FakeUser
from tests.transports.telegram.harness import (
    TOKEN,
    answer,
    bot_config,
    choose,
    next_question,
    running_bot,
)


class Time:
    """The fake Bot API's clock (the date of each message a person sends) and the
    bot's, moved together: people take time between answers."""

    def __init__(self) -> None:
        self.seconds = 1_800_000_000.0
        self.clock = FakeClock()

    def __call__(self) -> float:
        return self.seconds

    def pass_(self, seconds: float) -> None:
        self.seconds += seconds
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def time() -> Time:
    return Time()


@pytest.fixture
async def tg(time: Time) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, clock=time) as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path, time: Time) -> AsyncIterator[BotService]:
    async with running_bot(bot_config(tg, tmp_path), clock=time.clock) as service:
        yield service


def paragraph(seed: str, length: int) -> str:
    words = [f"{seed}{n}" for n in range(length)]
    return " ".join(words)[:length].rstrip() + "."


async def to_problem(user: FakeUser, time: Time) -> None:
    for step in ("/start", "J'accepte", "La Fabrique", "29200", "Oui, c'est ça", "Bénévole"):
        time.pass_(20)
        if step in ("/start", "La Fabrique", "29200"):
            await answer(user, step)
        else:
            await choose(user, step)
    time.pass_(20)
    await user.press("Gestion")
    await user.wait_reply()
    question = await choose(user, "Valider")
    assert "Racontez-nous le problème" in (question.plain_text or "")


async def state_of(bot: BotService, user: FakeUser) -> dict[str, object]:
    async with bot.db.unit() as uow:
        row = await uow.session.scalar(
            select(Conversation).where(Conversation.address == str(user.id))
        )
    assert row is not None
    return dict(row.state)


async def test_a_paste_split_in_4096_and_the_rest_is_refused_whole(
    tg: FakeTelegram, bot: BotService, time: Time
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await to_problem(alice, time)
    paste = paragraph("adhesions", 5000)
    # The Telegram app (Android) cuts every 4,096 characters and sends both at once.
    time.pass_(30)
    await alice.say(paste[:4096])
    await alice.say(paste[4096:])
    first = await next_question(alice)
    assert "4096 caractères" in (first.plain_text or "")
    second = await next_question(alice)
    text = second.plain_text or ""
    assert "Je les ai réunis" in text and f"{len(paste)} caractères" in text, text
    assert "Racontez-nous le problème" in text  # the same question, not the next one
    await alice.expect_silence(0.3)
    state = await state_of(bot, alice)
    assert state["stage"] == "problem" and "problem" not in state["answers"]  # type: ignore[operator]
    # The advice matches what the bot does: shorten now, details after the sheet.
    assert "plusieurs fois" not in text and "une fois la fiche envoyée" in text

    # A minute later, the shortened text is the answer.
    time.pass_(60)
    short = paragraph("tableur", 2500)
    tried = await answer(alice, short)
    assert "Qu'avez-vous déjà essayé" in (tried.plain_text or ""), tried.plain_text
    state = await state_of(bot, alice)
    assert state["answers"]["problem"] == short  # type: ignore[index]


async def test_a_paste_cut_at_a_paragraph_is_one_answer(
    tg: FakeTelegram, bot: BotService, time: Time
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await to_problem(alice, time)
    # The desktop app cuts at the last paragraph break (and Telegram trims it):
    # the first part alone is a valid answer and moves the intake on.
    head, tail = paragraph("adhesions", 2300), paragraph("cotisations", 600)
    time.pass_(30)
    await alice.say(head)
    time.pass_(1)
    await alice.say(tail)
    tried = await next_question(alice)
    assert "Qu'avez-vous déjà essayé" in (tried.plain_text or "")
    again = await next_question(alice)
    text = again.plain_text or ""
    assert "Je les ai réunis" in text and "Qu'avez-vous déjà essayé" in text, text
    # The first copy's button is stale; the one asked again works.
    await alice.press("Rien pour l'instant", message=tried)
    answered = await alice.wait_callback_answer()
    assert "plus actif" in answered.text
    time.pass_(20)
    goal = await choose(alice, "Rien pour l'instant")
    assert "ressemblerait la réussite" in (goal.plain_text or ""), goal.plain_text
    state = await state_of(bot, alice)
    answers = state["answers"]
    assert answers["problem"] == head + "\n" + tail  # type: ignore[index]
    assert answers["tried"] is None  # type: ignore[index]


async def test_an_answer_after_a_pause_is_the_next_answer(
    tg: FakeTelegram, bot: BotService, time: Time
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await to_problem(alice, time)
    problem = paragraph("adhesions", 2300)
    time.pass_(30)
    await answer(alice, problem)
    time.pass_(15)
    goal = await answer(alice, "Un tableur partagé, sans succès.")
    assert "ressemblerait la réussite" in (goal.plain_text or ""), goal.plain_text
    state = await state_of(bot, alice)
    assert state["answers"]["problem"] == problem  # type: ignore[index]
    assert state["answers"]["tried"] == "Un tableur partagé, sans succès."  # type: ignore[index]


async def test_confirming_a_sheet_longer_than_a_message_keeps_every_part(
    tg: FakeTelegram, bot: BotService, time: Time
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await to_problem(alice, time)
    texts = {
        "problem": paragraph("probleme", 2900),
        "tried": paragraph("essai", 1450),
        "goal": paragraph("objectif", 1450),
        "constraints": paragraph("contrainte", 1450),
    }
    for field in ("problem", "tried", "goal", "constraints"):
        time.pass_(30)
        await alice.say(texts[field])
        await next_question(alice)
    time.pass_(30)
    await alice.press("Découvrir des ressources")
    await alice.wait_reply()
    await choose(alice, "Valider")
    time.pass_(30)
    await alice.press("Dans le mois")
    parts: list[BotMessage] = []
    while not parts or not parts[-1].labels:
        reply = await alice.wait_reply()
        if not reply.edited:
            parts.append(reply)
    assert len(parts) >= 2, "the sheet fits in one message: make the answers longer"
    assert (parts[0].plain_text or "").startswith("📋 Votre fiche"), parts[0].plain_text
    last = parts[-1]
    assert "Tout est juste" in (last.plain_text or "")
    whole = "".join(p.plain_text or "" for p in parts)
    assert all(text in whole for text in texts.values())

    time.pass_(30)
    await alice.press("Confirmer")
    await next_question(alice)
    shown = {m.message_id: m for m in alice.messages}
    # The first parts are as they were; the last keeps its own text, the answer below.
    assert [shown[p.message_id].plain_text for p in parts[:-1]] == [
        p.plain_text for p in parts[:-1]
    ]
    last_now = shown[last.message_id]
    last_text = last_now.plain_text or ""
    assert not last_text.startswith("📋 Votre fiche"), last_text[:80]
    assert last_text.startswith((last.plain_text or "")[:200])
    assert "Votre réponse\xa0: ✅ Confirmer et envoyer" in last_text
    assert last_now.labels == []
