"""Issue 14, items 18–21: the follow-up as people met it, driven through the real
python-telegram-bot Application against the fake Bot API, with a fake clock and
a policy in seconds."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import BotService
from bot.catalog.service import load_starter_catalog
from bot.config.followup import CoordinatorsConfig, FollowupConfig
from bot.runtime.clock import FakeClock
from tests.fakes.telegram_api import BotMessage, FakeTelegram, FakeUser
from tests.followup.e2e_support import (
    GRACE,
    POLICY,
    clock,
    nudge_after,
    nudge_states,
    timeline,
)
from tests.transports.telegram.harness import (
    answer,
    bot_config,
    choose,
    full_intake,
    next_question,
)


def service(tg: FakeTelegram, tmp_path: Path, coordinators: CoordinatorsConfig) -> BotService:
    config = dataclasses.replace(
        bot_config(tg, tmp_path),
        followup=FollowupConfig(policy=POLICY, grace=GRACE),
        coordinators=coordinators,
    )
    return BotService(config, clock=FakeClock(), rate_limit=False)


@pytest.fixture
async def bot(tg: FakeTelegram, coordinator: FakeUser, tmp_path: Path) -> AsyncIterator[BotService]:
    running = service(tg, tmp_path, CoordinatorsConfig(telegram_ids=(coordinator.id,)))
    await running.start()
    await load_starter_catalog(running.db, include_demo_aiguilleurs=False)
    try:
        yield running
    finally:
        await running.stop()


async def confirmed_request(user: FakeUser) -> BotMessage:
    """A whole intake, confirmed; returns the proposals message (left open)."""
    await full_intake(user)
    await user.press("Confirmer")
    while True:
        reply = await next_question(user)
        if "ressources libres" in (reply.plain_text or ""):
            await asyncio.sleep(0.2)
            assert not user.pending_replies
            return reply


# -- item 18: the proposals message left open -------------------------------------------


async def test_proposals_left_open_do_not_hold_the_nudge_and_text_answers_it(
    tg: FakeTelegram, bot: BotService, coordinator: FakeUser
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await confirmed_request(alice)  # she reads the proposals and leaves them there
    nudge = await nudge_after(bot, alice, timedelta(seconds=90))
    assert "AIG-0001" in (nudge.plain_text or "")
    assert "C'est lancé 🚀" in nudge.labels
    assert await nudge_states(bot) == [
        ("ouverture", "sent"),
        ("demarrage", "pending"),
        ("impact", "pending"),
    ]

    noted = await answer(alice, "On a regardé Dolibarr, on s'y met la semaine prochaine.")
    assert "j'ai ajouté votre réponse" in (noted.plain_text or "")
    events = await timeline(bot)
    answers = [d for k, d in events if k == "nudge_answer"]
    assert answers == [
        {
            "nudge": answers[0]["nudge"],
            "kind": "ouverture",
            "answer": "texte",
            "text": "On a regardé Dolibarr, on s'y met la semaine prochaine.",
        }
    ]
    assert "message" not in [k for k, _ in events]  # not filed as a note

    # Past the grace period: nobody is told "pas de réponse".
    clock(bot).advance(GRACE + timedelta(seconds=1))
    await bot.nudges.run_due()
    await coordinator.expect_silence(0.3)
    assert "escalated" not in [k for k, _ in await timeline(bot)]
    assert tg.unanswered_callbacks() == []


# -- item 20: a person who blocks the bot, then writes again ----------------------------


async def test_refused_nudge_is_not_shown_as_sent_and_follow_up_resumes_on_return(
    tg: FakeTelegram, bot: BotService, coordinator: FakeUser
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await confirmed_request(alice)
    tg.block(alice)
    clock(bot).advance(timedelta(seconds=90))
    await bot.nudges.run_due()
    blocked = await coordinator.wait_reply()
    assert "AIG-0001" in (blocked.plain_text or "") and "bloqué" in (blocked.plain_text or "")
    assert await nudge_states(bot) == [
        ("ouverture", "blocked"),
        ("demarrage", "cancelled"),
        ("impact", "cancelled"),
    ]
    listing = await answer(coordinator, "/relances AIG-0001")
    lines = (listing.plain_text or "").splitlines()
    assert "non remise" in lines[1] and "bloqué" in lines[1], lines
    assert not any("envoyée" in line for line in lines), lines
    history = await answer(coordinator, "/dossier AIG-0001")
    assert "non remise" in (history.plain_text or "")
    assert "envoie la relance" not in (history.plain_text or "")
    assert "nudge_sent" not in [k for k, _ in await timeline(bot)]

    # She unblocks the bot and writes: the coordinators hear of it, the
    # follow-up starts again with the question she never received.
    tg.unblock(alice)
    await alice.say("Bonjour, je suis de retour")
    await next_question(alice)
    back = await coordinator.wait_reply()
    assert "AIG-0001" in (back.plain_text or "") and "reprennent" in (back.plain_text or "")
    assert await nudge_states(bot) == [
        ("ouverture", "pending"),
        ("demarrage", "pending"),
        ("impact", "pending"),
    ]
    nudge = await nudge_after(bot, alice, timedelta(minutes=10))
    assert "C'est lancé 🚀" in nudge.labels
    assert ("ouverture", "sent") in await nudge_states(bot)
    kinds = [k for k, _ in await timeline(bot)]
    assert kinds.count("contact_blocked") == 1 and kinds.count("contact_unblocked") == 1
    assert kinds[-1] == "nudge_sent"

    # Blocked a second time: the coordinators are told again.
    tg.block(alice)
    clock(bot).advance(timedelta(seconds=300))
    await bot.nudges.run_due()
    again = await coordinator.wait_reply()
    assert "bloqué" in (again.plain_text or "")


# -- item 19: "J'ai besoin d'aide" ---------------------------------------------------------


async def test_help_with_nobody_configured_tells_the_truth_and_warns_at_start(
    tg: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.app")
    alone = service(tg, tmp_path, CoordinatorsConfig())
    await alone.start()
    await load_starter_catalog(alone.db, include_demo_aiguilleurs=False)
    try:
        warnings = [r.getMessage() for r in caplog.records if r.name == "bot.app"]
        assert len(warnings) == 1 and "help requests reach nobody" in warnings[0]
        alice = tg.user("Alice", language_code="fr")
        await confirmed_request(alice)
        await nudge_after(alone, alice, timedelta(seconds=90))
        told = await choose(alice, "J'ai besoin d'aide")
        text = told.plain_text or ""
        assert "va revenir vers vous" not in text
        assert "personne de l'équipe n'est joignable" in text
        # What she writes next is kept on her request.
        kept = await answer(alice, "On ne sait pas par où commencer.")
        assert "AIG-0001" in (kept.plain_text or "")
        kinds = [k for k, _ in await timeline(alone)]
        assert "escalated" in kinds and "message" in kinds
        # Nobody took the case over: the follow-up goes on.
        assert ("demarrage", "pending") in await nudge_states(alone)
    finally:
        await alone.stop()


async def test_help_reaches_the_coordinator_with_what_was_written_and_a_way_to_answer(
    tg: FakeTelegram, bot: BotService, coordinator: FakeUser
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await confirmed_request(alice)
    await nudge_after(bot, alice, timedelta(seconds=90))
    ack = await choose(alice, "J'ai besoin d'aide")
    assert "Décrivez-moi ce qui bloque" in (ack.plain_text or "")
    sos = await coordinator.wait_reply()
    assert "🆘" in (sos.plain_text or "") and "/repondre AIG-0001" in (sos.plain_text or "")
    # Nudges stop: a human has the case.
    assert await nudge_states(bot) == [
        ("ouverture", "answered"),
        ("demarrage", "cancelled"),
        ("impact", "cancelled"),
    ]

    forwarded = await answer(alice, "Le tableur est cassé & personne ne sait le réparer <3")
    assert "transmis" in (forwarded.plain_text or "")
    detail = await coordinator.wait_reply()
    assert "Le tableur est cassé & personne ne sait le réparer <3" in (detail.plain_text or "")
    assert "/repondre AIG-0001" in (detail.plain_text or "")

    done = await answer(coordinator, "/repondre AIG-0001 Je vous appelle demain à 10 h ?")
    assert "transmis" in (done.plain_text or "")
    reply = await next_question(alice)
    assert "Je vous appelle demain à 10 h ?" in (reply.plain_text or "")
    await answer(alice, "Oui, parfait !")
    back = await coordinator.wait_reply()
    assert "Oui, parfait !" in (back.plain_text or "")

    events = await timeline(bot)
    reasons = [d["reason"] for k, d in events if k == "escalated"]
    assert reasons == ["help", "help_text", "help_text"]
    assert [k for k, _ in events].count("coordination_reply") == 1
    # Past every due date: no more nudge, no silence alert.
    clock(bot).advance(timedelta(hours=1))
    assert await bot.nudges.run_due() == 0
    await alice.expect_silence(0.3)
    await coordinator.expect_silence(0.3)


# -- item 21: what a nudge says, and when ------------------------------------------------


async def test_nudges_recall_the_request_and_ask_about_impact_only_at_the_impact_nudge(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    proposals = await confirmed_request(alice)
    proposed = [label.lstrip("☆ ").strip() for label in proposals.labels if "☆" in label]
    assert proposed
    nudge = await nudge_after(bot, alice, timedelta(seconds=90))
    text = nudge.plain_text or ""
    assert "Nos adhésions sont dans un tableur" in text  # the problem, recalled
    assert proposed[0] in text  # and what was proposed
    # She never asked to be put in touch with anyone.
    assert "contacter" not in text and "personne indiquée" not in text
    assert "ouvrir les ressources proposées" in text

    bravo = await choose(alice, "C'est lancé")
    assert "Bravo" in (bravo.plain_text or "") and "quelques semaines" in (bravo.plain_text or "")
    await alice.expect_silence(0.3)  # no "how many hours" on the spot
    assert "impact" not in [k for k, _ in await timeline(bot)]

    # The impact nudge, planned at 15 minutes, asks what changed and recalls the request.
    clock(bot).advance(timedelta(seconds=300))
    assert await bot.nudges.run_due() == 0  # the question about starting is gone
    impact = await nudge_after(bot, alice, timedelta(seconds=900 - 390))
    impact_text = impact.plain_text or ""
    assert "AIG-0001" in impact_text and "Nos adhésions" in impact_text
    assert "ressources libres avez-vous adoptées" in impact_text
    assert impact.labels == ["Passer"]
    hours = await answer(alice, "Dolibarr, à la place du tableur")
    assert "heures par mois" in (hours.plain_text or "")
    await choose(alice, "Passer")
    done = await choose(alice, "3 à 5")
    assert "Merci beaucoup" in (done.plain_text or "")
    fields = [d["field"] for k, d in await timeline(bot) if k == "impact"]
    assert fields == ["ressources", "contacts"]
    assert await nudge_states(bot) == [
        ("ouverture", "answered"),
        ("demarrage", "cancelled"),
        ("impact", "answered"),
    ]


async def test_after_answering_a_nudge_mid_intake_the_intake_question_comes_again(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await confirmed_request(alice)
    reuse = await answer(alice, "/nouveau")  # a second request, left half-way
    assert reuse.labels
    clock(bot).advance(timedelta(seconds=90))
    for _ in range(8):  # held back an hour at a time while she is mid-intake
        await bot.nudges.run_due()
        await alice.expect_silence(0.05)
        clock(bot).advance(timedelta(hours=1))
    await bot.nudges.run_due()
    nudge = await next_question(alice)
    assert "C'est lancé 🚀" in nudge.labels
    await alice.press("En cours", message=nudge)
    noted = await next_question(alice)
    assert "en cours" in (noted.plain_text or "")
    again = await next_question(alice)
    assert again.plain_text == reuse.plain_text and again.labels == reuse.labels
    # Its buttons still work: the intake goes on where it was.
    await alice.press(again.labels[0], message=again)
    following = await next_question(alice)
    assert following.plain_text != reuse.plain_text


async def test_relances_lists_the_nudges_by_due_date(
    tg: FakeTelegram, bot: BotService, coordinator: FakeUser
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await confirmed_request(alice)
    await nudge_after(bot, alice, timedelta(seconds=90))
    await alice.press("Relancez-moi plus tard")
    await alice.wait_reply()  # the same message, now offering the delays
    await choose(alice, "Dans 1 semaine")
    listing = await answer(coordinator, "/relances AIG-0001")
    lines = (listing.plain_text or "").splitlines()[1:5]
    questions = [line.split(" — ")[0].lstrip("• ") for line in lines]
    # The question asked again in a week comes before those it pushed back.
    assert questions == [
        "ouverture des ressources",
        "ouverture des ressources",
        "démarrage de l'action",
        "ce que ça a changé",
    ], lines
    assert "répondue" in lines[0] and "prévue" in lines[1]
