"""The intake on Telegram, end to end: python-telegram-bot's Application talks HTTP
to a fake Bot API on loopback while test users type and press buttons."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import BotService
from bot.config.followup import CoordinatorsConfig
from storage.db import Database
from storage.models.core import Case, Conversation, ProcessedUpdate
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.transports.telegram.harness import (
    BotProcess,
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


async def count_cases(db: Database) -> int:
    async with db.unit() as uow:
        return await uow.cases.count()


async def test_two_people_complete_intakes_at_once(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    bob = tg.user("Bob", language_code="fr")
    summaries = await asyncio.gather(
        full_intake(alice, place="29200", lieu="La Fabrique"),
        full_intake(bob, place="Lyon", lieu="Le Bazar Commun"),
    )
    assert "La Fabrique" in (summaries[0].plain_text or "")
    assert "Le Bazar Commun" in (summaries[1].plain_text or "")
    done_a, done_b = await asyncio.gather(choose(alice, "Confirmer"), choose(bob, "Confirmer"))
    refs = {
        done_a.plain_text.split("référence ")[1][:8],
        done_b.plain_text.split("référence ")[1][:8],
    }  # type: ignore[union-attr]
    assert refs == {"AIG-0001", "AIG-0002"}
    async with bot.db.unit() as uow:
        cases = (await uow.session.scalars(select(Case).order_by(Case.number))).all()
    by_lieu = {c.lieu_name: c for c in cases}
    assert by_lieu["La Fabrique"].region == "BRE"
    assert by_lieu["Le Bazar Commun"].region == "ARA"
    assert by_lieu["La Fabrique"].themes == ["gestion"]
    assert tg.unanswered_callbacks() == []


async def test_commands_are_registered_in_french_and_english(
    tg: FakeTelegram, bot: BotService
) -> None:
    french = dict(tg.commands(language_code="fr"))
    english = dict(tg.commands(language_code="en"))
    default = dict(tg.commands())
    assert {"aide", "annuler", "retour", "recommencer", "statut", "nouveau"} <= set(french)
    assert {"help", "cancel", "back", "restart", "status", "new"} <= set(english)
    assert default == french
    assert french["statut"].startswith("Mes demandes")


async def test_statut_shows_the_case(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    await full_intake(alice)
    await choose(alice, "Confirmer")
    status = await answer(alice, "/statut")
    assert "AIG-0001" in (status.plain_text or "")
    assert "en cours de lecture" in (status.plain_text or "")


async def test_nouveau_offers_the_lieu_of_the_last_case(tg: FakeTelegram, bot: BotService) -> None:
    """The person's cases are loaded only when a step reads them
    (bot/runtime/lazy_context.py): /nouveau does, mid-intake answers do not."""
    alice = tg.user("Alice", language_code="fr")
    await full_intake(alice, lieu="La Friche")
    await choose(alice, "Confirmer")
    reuse = await answer(alice, "/nouveau")
    assert "La Friche" in (reuse.plain_text or ""), alice.dump()
    assert "Quel est votre rôle" not in (reuse.plain_text or "")


async def test_duplicated_update_is_processed_once(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    await full_intake(alice)
    await alice.press("Confirmer")
    await next_question(alice)
    assert await count_cases(bot.db) == 1
    # Telegram delivers the confirming tap again (a crash before the offset moved).
    history = tg._history  # update_id -> update body, as sent to the bot
    tg.redeliver(max(history))
    await tg.wait_delivered()
    await alice.expect_silence(0.5)
    assert await count_cases(bot.db) == 1
    async with bot.db.unit() as uow:
        processed = await uow.session.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert processed == len(history)


async def test_stale_button_is_answered_and_changes_nothing(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    welcome = await answer(alice, "/start")
    await choose(alice, "J'accepte")
    await answer(alice, "Le Local")
    # The welcome's buttons, as Alice saw them, pressed again.
    await alice.press("Je refuse", message=welcome)
    reply = await alice.wait_callback_answer()
    assert "plus actif" in reply.text
    question = await answer(alice, "35000")
    assert "Ille-et-Vilaine" in (question.plain_text or "")
    assert tg.unanswered_callbacks() == []


async def test_double_tap_records_once(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    summary = await full_intake(alice)
    await alice.press("Confirmer", message=summary)
    await alice.press("Confirmer", message=summary)
    await next_question(alice)
    await asyncio.sleep(0.5)
    assert await count_cases(bot.db) == 1
    answers = [a.text for a in alice.callback_answers]
    assert any("plus actif" in a for a in answers)


@pytest.mark.parametrize(
    "send",
    [
        lambda u: u.send_photo(),
        lambda u: u.send_voice(),
        lambda u: u.send_sticker(),
        lambda u: u.send_document("statuts.pdf"),
    ],
    ids=["photo", "voice", "sticker", "document"],
)
async def test_non_text_message_gets_an_answer_and_the_question_again(
    tg: FakeTelegram, bot: BotService, send: object
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await answer(alice, "/start")
    await choose(alice, "J'accepte")
    await send(alice)  # type: ignore[operator]
    reply = await next_question(alice)
    assert "Je ne sais lire que du texte" in (reply.plain_text or "")
    assert "Comment s'appelle votre tiers-lieu" in (reply.plain_text or "")


@pytest.mark.parametrize(
    ("how", "value", "region_label"),
    [
        ("say", "29200", "Bretagne"),
        ("say", "Bouches-du-Rhône", "Provence-Alpes-Côte d'Azur"),
        ("say", "974", "La Réunion"),
        ("location", (43.6045, 1.4440), "Occitanie"),  # Toulouse
    ],
    ids=["postal-code", "departement", "overseas", "location"],
)
async def test_place_maps_to_region(
    tg: FakeTelegram, bot: BotService, how: str, value: object, region_label: str
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await answer(alice, "/start")
    await choose(alice, "J'accepte")
    await answer(alice, "Le Tiers")
    if how == "say":
        await alice.say(str(value))
    else:
        lat, lon = value  # type: ignore[misc]
        await alice.share_location(lat, lon)
    confirm = await next_question(alice)
    assert region_label in (confirm.plain_text or "")
    role = await choose(alice, "Oui, c'est ça")
    assert "rôle" in (role.plain_text or "")


async def test_english_speaker_gets_english(tg: FakeTelegram, bot: BotService) -> None:
    bob = tg.user("Bob", language_code="en")
    welcome = await answer(bob, "/start")
    assert "Hello and welcome" in (welcome.plain_text or "")
    question = await choose(bob, "I agree")
    assert "name of your place" in (question.plain_text or "")


async def test_user_text_is_escaped_in_html(tg: FakeTelegram, bot: BotService) -> None:
    alice = tg.user("Alice", language_code="fr")
    summary = await full_intake(alice, lieu="<b>Tiers & Lieu</b>")
    assert "<b>Tiers & Lieu</b>" in (summary.plain_text or "")
    assert "&lt;b&gt;Tiers &amp; Lieu&lt;/b&gt;" in (summary.text or "")


async def test_bot_killed_mid_intake_resumes_where_the_person_was(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    """kill -9 twice mid-intake. A message whose send was cut by the kill may be
    sent twice (Telegram has no idempotency key); answers are never lost."""
    process = BotProcess(tg, tmp_path)
    process.start()
    try:
        alice = tg.user("Alice", language_code="fr")
        await answer(alice, "/start")
        await choose(alice, "J'accepte")
        await answer(alice, "La Friche")
        await answer(alice, "44000")
        process.kill()
        # Alice keeps answering while the bot is down: nothing may be lost.
        await alice.press("Oui, c'est ça")
        await alice.say("Salariée de l'association")
        process.start()
        await wait_for_text(alice, "Sur quel(s) thème(s)")
        process.kill()
        process.start()
        await alice.say("/aide")
        await wait_for_text(alice, "Commandes")
        await alice.press("Énergie")
        await wait_for_text(alice, "Valider (1)")
        await alice.press("Valider (1)")
        await wait_for_text(alice, "Racontez-nous le problème")
        await process.stop()
        db = Database(process.database_url)
        try:
            async with db.unit() as uow:
                row = await uow.session.scalar(select(Conversation))
            assert row is not None
            answers = row.state["answers"]
            assert answers["lieu_name"] == "La Friche"
            assert answers["region"] == "PDL"
            assert answers["role"] == "Salariée de l'association"
            assert answers["themes"] == ["energie"]
            assert row.state["stage"] == "problem"
        finally:
            await db.dispose()
    finally:
        await process.stop()


async def wait_for_text(user: FakeUser, expected: str, timeout: float = 20.0) -> None:
    """Consume bot messages (new or edited) until one contains `expected`."""
    seen: list[str] = []
    while True:
        try:
            reply = await user.wait_reply(timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"never saw {expected!r}; saw {seen}") from exc
        seen.append(reply.plain_text or "")
        if expected in seen[-1] or any(expected in label for label in reply.labels):
            return


async def answer_and_expect(user: FakeUser, text: str, expected: str) -> None:
    reply = await answer(user, text)
    assert expected in (reply.plain_text or ""), reply.plain_text


async def test_confirmed_sheet_gets_proposals_and_choices_are_stored(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    from bot.catalog.service import load_starter_catalog

    # Without Matrix, a coordinator on Telegram is who can take a contact request.
    config = dataclasses.replace(
        bot_config(tg, tmp_path), coordinators=CoordinatorsConfig(telegram_ids=(700_001,))
    )
    service = BotService(config, rate_limit=False)
    await service.start()
    try:
        await load_starter_catalog(service.db, include_demo_aiguilleurs=True)
        alice = tg.user("Alice", language_code="fr")
        await full_intake(alice)
        await alice.press("Confirmer")
        texts: list[str] = []
        while not any("ressources libres" in t for t in texts):
            texts.append((await next_question(alice)).plain_text or "")
        proposals = alice.last_bot_message
        assert proposals is not None
        assert "Pourquoi" in (proposals.plain_text or "")
        first = next(label for label in proposals.labels if label.startswith("☆"))
        await alice.press(first)
        redrawn = await alice.wait_reply()
        assert any(label.startswith("✅") for label in redrawn.labels)
        await alice.press("Être mis·e en relation")
        await wait_for_text(alice, "C'est noté")
        async with service.db.unit() as uow:
            case = await uow.cases.by_ref("AIG-0001")
            assert case is not None
            assert len(case.interests) == 1
            assert case.contact_requested
            kinds = [e.kind for e in await uow.cases.timeline(case)]
        assert kinds[:2] == ["submitted", "proposals"]
        assert "interest_added" in kinds and "contact_requested" in kinds
        assert tg.unanswered_callbacks() == []
    finally:
        await service.stop()
