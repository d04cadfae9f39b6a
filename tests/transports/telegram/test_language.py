"""/langue and /language on Telegram end to end, and the resource summaries in
the chosen language: the real python-telegram-bot Application against the fake
Bot API (issue 14, item 8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import BotService
from dialogs.catalog.load import Catalog, parse_catalog_yaml
from storage.models.core import Conversation, Person
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.transports.telegram.harness import (
    answer,
    bot_config,
    choose,
    full_intake,
    next_question,
    running_bot,
)

CATALOG = """
resources:
  - id: garradin
    name: Garradin
    url: https://garradin.eu
    summary: "Logiciel libre de gestion d'association : adhésions, cotisations, comptabilité."
    summary_en: "Free software to run an association: members, fees, accounts."
    themes: [gestion]
    kind: outil
    tags: [adhesions, adherents, cotisations, tableur]
    license: AGPL-3.0
    libre: true
    replaces: [Excel]
  - id: paheko-guide
    name: Guide des adhésions
    url: https://guide.example.org
    summary: "Guide pour tenir le fichier des adhésions d'un tiers-lieu sans tableur."
    themes: [gestion]
    kind: guide
    tags: [adhesions, adherents, tableur]
    license: CC-BY-SA-4.0
    libre: true
    replaces: [Excel]
"""


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[BotService]:
    async with running_bot(bot_config(tg, tmp_path)) as service:
        catalog = parse_catalog_yaml(CATALOG)
        async with service.db.unit() as uow:
            await uow.catalog.apply(
                Catalog(resources=catalog.resources, sections=frozenset({"resources"})),
                datetime.now(UTC),
            )
        yield service


async def choose_language(user: FakeUser, command: str, label: str) -> str:
    """Type the command, press the language; the text asked again after it."""
    question = await answer(user, command)
    assert question.labels == ["🇫🇷 Français", "🇬🇧 English"]
    await user.press(label)
    texts: list[str] = []
    while len(texts) < 2:  # the choice recorded in place, then the question again
        texts.append((await user.wait_reply()).plain_text or "")
    return "\n".join(texts)


async def test_a_french_speaker_switches_to_english_and_reads_english_summaries(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await full_intake(alice)
    said = await choose_language(alice, "/langue", "English")
    assert "I will speak English with you" in said
    assert "Your sheet" in said  # the summary, asked again in English
    assert any("Confirm and send" in label for label in alice.last_bot_message.labels)  # type: ignore[union-attr]
    await alice.press("Confirm and send")
    texts: list[str] = []
    while not any("free resources" in t for t in texts):
        texts.append((await next_question(alice)).plain_text or "")
    proposals = texts[-1]
    assert "Free software to run an association" in proposals
    assert "sans tableur. (in French)" in proposals
    assert "Logiciel libre de gestion" not in proposals
    async with bot.db.unit() as uow:
        row = await uow.session.scalar(select(Conversation))
        person = await uow.session.scalar(select(Person))
    assert row is not None and row.state["locale"] == "en"
    assert person is not None and person.locale == "en"
    assert tg.unanswered_callbacks() == []


async def test_language_before_starting_and_back_to_french(
    tg: FakeTelegram, bot: BotService
) -> None:
    bob = tg.user("Bob", language_code="fr")
    said = await choose_language(bob, "/language", "English")
    assert "Hello and welcome" in said
    await choose(bob, "I agree")
    said = await choose_language(bob, "/langue", "Français")
    assert "je vous parle désormais en français" in said
    assert "nom de votre lieu" in said or "Comment s'appelle" in said
    menu = dict(tg.commands(language_code="en"))
    assert "language" in menu and "langue" in dict(tg.commands(language_code="fr"))
