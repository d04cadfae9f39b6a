"""What the follow-up's end-to-end tests share (their fixtures, the fake Bot API and a
coordinator on Telegram, are in conftest.py): a policy in seconds (the schedule a demo
would run), bringing a nudge due, and reading a case's timeline and nudges back."""

from __future__ import annotations

from datetime import timedelta

from bot.app import BotService
from bot.config.followup import PolicyStep
from bot.runtime.clock import FakeClock
from storage.models.core import Case
from tests.fakes.telegram_api import BotMessage, FakeUser
from tests.transports.telegram.harness import next_question

POLICY = (
    PolicyStep(kind="ouverture", after=timedelta(seconds=90)),
    PolicyStep(kind="demarrage", after=timedelta(seconds=300)),
    PolicyStep(kind="impact", after=timedelta(seconds=900)),
)
GRACE = timedelta(seconds=600)


def clock(bot: BotService) -> FakeClock:
    assert isinstance(bot.clock, FakeClock)
    return bot.clock


async def nudge_after(bot: BotService, user: FakeUser, delta: timedelta) -> BotMessage:
    clock(bot).advance(delta)
    await bot.nudges.run_due()
    return await next_question(user)


async def timeline(bot: BotService, ref: str = "AIG-0001") -> list[tuple[str, dict[str, object]]]:
    async with bot.db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert isinstance(case, Case)
        return [(e.kind, e.data) for e in await uow.cases.timeline(case)]


async def nudge_states(bot: BotService, ref: str = "AIG-0001") -> list[tuple[str, str]]:
    async with bot.db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert isinstance(case, Case)
        return [(n.kind, n.state) for n in await uow.nudges.list_for_case(case.id)]
