"""Coordination tests on Telegram: a bot with one configured coordinator, one
aiguilleur known by their Telegram id, and anyone else; cases created through
the repositories when the intake itself is not what a test is about."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import BotService
from bot.config.followup import CoordinatorsConfig
from bot.config.reports import ReportConfig
from storage.db import Database
from storage.models.catalog import Aiguilleur
from storage.models.coordination import CommandLog
from tests.fakes.telegram_api import BotMessage, FakeTelegram, FakeUser
from tests.transports.telegram.harness import bot_config, next_question

COORDINATOR_ID = 700_001
AIGUILLEUR_ID = 700_002
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(slots=True)
class Desk:
    tg: FakeTelegram
    bot: BotService
    coordinator: FakeUser
    aiguilleur: FakeUser
    stranger: FakeUser

    @property
    def db(self) -> Database:
        return self.bot.db


async def say(user: FakeUser, text: str) -> str:
    """Type a command, return the plain text of the bot's answer."""
    await user.say(text)
    reply: BotMessage = await next_question(user)
    return reply.plain_text or ""


def plain(text: str | None) -> str:
    """French typography puts no-break spaces before ':' and inside « »: read them as
    plain ones."""
    return (text or "").replace("\u00a0", " ")


async def ask(user: FakeUser, text: str) -> str:
    """Type a command, return the bot's answer with plain spaces."""
    return plain(await say(user, text))


async def press(user: FakeUser, label: str) -> str:
    """Press a button, return the bot's next answer with plain spaces."""
    await user.press(label)
    return plain((await next_question(user)).plain_text)


@asynccontextmanager
async def coordination_desk(
    tg: FakeTelegram, data_dir: Path, **coordinators: Any
) -> AsyncIterator[Desk]:
    config = bot_config(tg, data_dir)
    config = dataclasses.replace(
        config,
        coordinators=CoordinatorsConfig(telegram_ids=(COORDINATOR_ID,), **coordinators),
        # No weekly digest: at start it would greet the coordinator (the real
        # clock is past this week's slot) before the answer a test waits for.
        report=ReportConfig(digest=None),
    )
    service = BotService(config, rate_limit=False)
    await service.start()
    try:
        async with service.db.unit() as uow:
            uow.session.add(aiguilleur_row("camille-durand", telegram_id=AIGUILLEUR_ID))
        yield Desk(
            tg=tg,
            bot=service,
            coordinator=tg.user(first_name="Coralie", user_id=COORDINATOR_ID, language_code="fr"),
            aiguilleur=tg.user(first_name="Camille", user_id=AIGUILLEUR_ID, language_code="fr"),
            stranger=tg.user(first_name="Sam", language_code="fr"),
        )
    finally:
        await service.stop()


def aiguilleur_row(slug: str, **fields: Any) -> Aiguilleur:
    values: dict[str, Any] = {
        "id": slug,
        "name": slug.replace("-", " ").title(),
        "matrix_id": f"@{slug}:example.org",
        "telegram_id": None,
        "themes": ["gestion"],
        "regions": ["BRE"],
        "capacity": 3,
        "available": True,
        "demo": False,
        "active": True,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return Aiguilleur(**values)


async def make_case(db: Database, sheet: Mapping[str, Any], now: datetime = T0) -> str:
    """A confirmed case, as the intake would store it; returns its ref."""
    values: dict[str, Any] = {
        "lieu_name": "La Fabrique",
        "place": {"departement": "29", "region": "BRE", "commune": "Brest"},
        "themes": ["gestion"],
        "problem": "Nos adhésions sont dans un tableur.",
        "help": ["decouvrir"],
    }
    values.update(sheet)
    async with db.unit() as uow:
        case = await uow.cases.create(person_id=None, locale="fr", sheet=values, now=now)
        await uow.cases.add_event(case, actor="person", kind="submitted", data={}, now=now)
        return case.ref


async def command_log(db: Database) -> list[tuple[str, str, str]]:
    """(role, command, outcome) of every logged command, oldest first."""
    async with db.unit() as uow:
        rows = await uow.session.scalars(select(CommandLog).order_by(CommandLog.id))
        return [(r.role, r.command, r.outcome) for r in rows.all()]
