"""/mesdonnees and /oublier end to end: python-telegram-bot against the fake Bot
API, the person's file parsed as they would open it, the erasure checked in the
database; and the bot's own log at DEBUG level holding nothing personal."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import BotService, run_chat
from bot.config.load import Config, DatabaseConfig
from bot.runtime.clock import FakeClock
from storage.models.core import Case, Conversation, Person
from tests import databases
from tests.fakes.telegram_api import BotMessage, FakeTelegram, FakeUser
from tests.transports.telegram.harness import (
    BotProcess,
    answer,
    bot_config,
    choose,
    full_intake,
    next_question,
    running_bot,
)

PROBLEM = "Nos adhésions sont dans un tableur que plus personne ne comprend."


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path, clock: FakeClock) -> AsyncIterator[BotService]:
    async with running_bot(bot_config(tg, tmp_path), clock=clock) as service:
        yield service


async def confirmed_case(user: FakeUser, lieu: str) -> None:
    await full_intake(user, lieu=lieu)
    done = await choose(user, "Confirmer")
    assert "AIG-0001" in (done.plain_text or "")


async def my_data(user: FakeUser) -> tuple[BotMessage, dict[str, object]]:
    """Send /mesdonnees and open the file that comes back."""
    await user.say("/mesdonnees")
    while True:
        reply = await next_question(user)
        if reply.kind == "document":
            break
    assert reply.filename == "aiguillage-mes-donnees.json"
    assert reply.data is not None
    return reply, json.loads(reply.data.decode("utf-8"))


async def test_mesdonnees_sends_a_file_with_the_persons_answers(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Zéphyrine", last_name="Testeuse", language_code="fr")
    await confirmed_case(alice, "La Fabrique du Port")
    document, data = await my_data(alice)
    assert "Voici tout ce qu'Aiguillage garde sur vous" in (document.plain_text or "")
    person = data["person"]
    assert isinstance(person, dict)
    assert person["display_name"] == "Zéphyrine Testeuse"
    assert person["external_id"] == str(alice.id)
    [case] = data["cases"]  # type: ignore[misc]
    assert case["ref"] == "AIG-0001"
    sheet = case["sheet"]
    assert sheet["lieu_name"] == "La Fabrique du Port"
    assert sheet["problem"] == PROBLEM
    assert sheet["goal"] == "Un outil simple pour les bénévoles."
    assert sheet["region"] == "BRE" and sheet["themes"] == ["gestion"]
    assert case["events"][0]["kind"] == "submitted"
    assert data["format"] == 1
    await alice.expect_silence()  # between requests, the file is the whole answer


async def test_oublier_asks_then_erases_and_starts_afresh(
    tg: FakeTelegram, bot: BotService, clock: FakeClock
) -> None:
    alice = tg.user("Zéphyrine", last_name="Testeuse", language_code="fr")
    bob = tg.user("Bob", language_code="fr")
    await confirmed_case(alice, "La Fabrique du Port")
    await full_intake(bob, lieu="Le Bazar")
    # A pause, as people take one: twenty-odd messages in a few seconds would
    # meet the flood limit (bot/runtime/flood.py).
    clock.advance(timedelta(minutes=1))

    ask = await answer(alice, "/oublier")
    assert "effacer vos données" in (ask.plain_text or "")
    assert ask.labels == ["Oui, tout effacer", "Non, garder mes données"]
    kept = await choose(alice, "Non, garder mes données")
    assert "on continue" in (kept.plain_text or "")

    await answer(alice, "/oublier")
    goodbye = await choose(alice, "Oui, tout effacer")
    assert "vos données sont effacées" in (goodbye.plain_text or "")
    assert tg.unanswered_callbacks() == []

    async with bot.db.unit() as uow:
        s = uow.session
        people = (await s.scalars(select(Person.display_name))).all()
        assert people == ["Bob"]
        chats = (await s.scalars(select(Conversation.address))).all()
        assert chats == [str(bob.id)]
        case = await s.scalar(select(Case).where(Case.ref == "AIG-0001"))
        assert case is not None
        assert (case.lieu_name, case.problem, case.person_id) == (None, None, None)
        assert (case.region, case.themes, case.status) == ("BRE", ["gestion"], "clos")

    # A new message is a first contact: welcome and consent again.
    welcome = await answer(alice, "bonjour")
    assert "Aiguillage" in (welcome.plain_text or "")
    assert "J'accepte" in welcome.labels
    _, data = await my_data(alice)
    assert data["person"] is None and data["cases"] == []
    # Bob's intake was not disturbed.
    summary = await choose(bob, "Confirmer")
    assert "AIG-0002" in (summary.plain_text or "")


async def test_english_names_and_menus(tg: FakeTelegram, bot: BotService) -> None:
    carol = tg.user("Carol", language_code="en")
    nothing = await answer(carol, "/mydata")
    assert "I keep nothing about you" in (nothing.plain_text or "")
    nothing = await answer(carol, "/forget")
    assert "I keep nothing about you" in (nothing.plain_text or "")
    french = dict(tg.commands(language_code="fr"))
    english = dict(tg.commands(language_code="en"))
    assert french["mesdonnees"] == "Recevoir toutes mes données"
    assert french["oublier"] == "Effacer mes données"
    assert english["mydata"] == "Get all my data" and english["forget"] == "Erase my data"
    async with bot.db.unit() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Conversation)) == 0


async def test_debug_logs_hold_no_personal_data(tg: FakeTelegram, tmp_path: Path) -> None:
    """`aiguillage run` at log_level DEBUG, as a real process: an intake, the
    file, the erasure; then not one of the person's words, their name or their
    Telegram id in its output (libraries included)."""
    process = BotProcess(tg, tmp_path)
    process.config.write_text('[telegram]\npoll_timeout = 1\n[bot]\nlog_level = "DEBUG"\n')
    user = tg.user("Zéphyrine", last_name="Quelquepart", language_code="fr", user_id=8123456789)
    lieu = "La Fabrique Zorglub"
    process.start()
    try:
        await asyncio.wait_for(confirmed_case(user, lieu), 60)
        _, data = await my_data(user)
        assert "Zorglub" in json.dumps(data, ensure_ascii=False)
        await answer(user, "/oublier")
        goodbye = await choose(user, "Oui, tout effacer")
        assert "vos données sont effacées" in (goodbye.plain_text or "")
    finally:
        await process.stop()
    log = process.log.read_text(encoding="utf-8")
    assert " DEBUG bot.runtime.core: handled telegram:" in log  # DEBUG was really on
    secrets = [
        lieu,
        "Zorglub",
        PROBLEM,
        "tableur",
        "Un outil simple pour les bénévoles",
        "Pas de budget",
        "Zéphyrine",
        "Quelquepart",
        str(user.id),
    ]
    leaked = [s for s in secrets if s in log]
    assert leaked == [], f"personal data in the log: {leaked}"


async def test_console_prints_the_file(tmp_path: Path) -> None:
    script = ["1", "Café des Possibles", "/mesdonnees", "/oublier", "1"]

    def read_line() -> str:
        return script.pop(0) + "\n" if script else ""  # "" is Ctrl-D

    out = io.StringIO()
    config = Config(data_dir=tmp_path, database=DatabaseConfig(url=databases.url(tmp_path)))
    await run_chat(config, out=out, read_line=read_line)
    screen = out.getvalue()
    caption, _, rest = screen.partition("--- aiguillage-mes-donnees.json ---")
    assert "Voici tout ce qu'Aiguillage garde sur vous" in caption
    # The file, then the question asked again (the place: we were answering it).
    data, end = json.JSONDecoder().raw_decode(rest.lstrip())
    assert data["conversation"]["state"]["answers"]["lieu_name"] == "Café des Possibles"
    assert "Où se trouve" in rest.lstrip()[end:]
    assert "vos données sont effacées" in rest
