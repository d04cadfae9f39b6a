"""An intake interrupted at the name of the place while the Bot API or the
database misbehaves, and the check that each answer given meanwhile was read
exactly once."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import BotService
from storage.models.core import Conversation, ProcessedUpdate
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.transports.telegram.harness import answer, choose, next_question

APOLOGY = "problème technique"


async def at_lieu_question(user: FakeUser) -> None:
    """Consent given, the person is asked the name of their place."""
    await answer(user, "/start")
    question = await choose(user, "J'accepte")
    assert "Comment s'appelle" in (question.plain_text or "")


async def place_answered_once(bot: BotService, tg: FakeTelegram, user: FakeUser) -> None:
    """La Friche then 44000 were each read once, in order, with no apology."""
    place = await next_question(user, timeout=30)
    assert "Où se trouve" in (place.plain_text or ""), user.dump()
    confirm = await next_question(user, timeout=30)
    assert "Loire-Atlantique" in (confirm.plain_text or ""), user.dump()
    await tg.wait_delivered(timeout=20)
    await user.expect_silence(0.5)
    async with bot.db.unit() as uow:
        row = await uow.session.scalar(select(Conversation))
        claimed = await uow.session.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert row is not None and row.state["answers"]["lieu_name"] == "La Friche"
    assert row.state["stage"] == "place_confirm"
    assert claimed == len(tg._history)
    texts = [m.plain_text or "" for m in user.messages]
    assert sum("Où se trouve" in t for t in texts) == 1
    assert sum("Loire-Atlantique" in t for t in texts) == 1
    assert not any(APOLOGY in t for t in texts)
