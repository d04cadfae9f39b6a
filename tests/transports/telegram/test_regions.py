"""A région typed as the place of a tiers-lieu, on Telegram end to end: the real
python-telegram-bot Application against the fake Bot API (issue 14, item 4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import BotService
from storage.models.core import Case
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.transports.telegram.harness import answer, bot_config, choose, next_question, running_bot


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[BotService]:
    async with running_bot(bot_config(tg, tmp_path)) as service:
        yield service


async def at_place_question(user: FakeUser) -> None:
    await answer(user, "/start")
    await choose(user, "J'accepte")
    place_question = await answer(user, "Le Tiers")
    assert "Où se trouve" in (place_question.plain_text or ""), place_question.plain_text


@pytest.mark.parametrize(
    ("typed", "region", "count", "pick"),
    [
        ("Occitanie", "Occitanie", 13, "Haute-Garonne (31)"),
        ("grand est", "Grand Est", 10, "Bas-Rhin (67)"),
        ("Nouvelle Aquitaine", "Nouvelle-Aquitaine", 12, "Gironde (33)"),
        ("auvergne-rhone-alpes", "Auvergne-Rhône-Alpes", 12, "Rhône (69)"),
        ("Bretagne", "Bretagne", 4, "Finistère (29)"),
    ],
)
async def test_a_region_is_understood_then_its_departement_picked(
    tg: FakeTelegram, bot: BotService, typed: str, region: str, count: int, pick: str
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await at_place_question(alice)
    pick_list = await answer(alice, typed)
    text = pick_list.plain_text or ""
    assert text.startswith(f"{region}\u00a0: c'est noté. Dans quel département"), text
    assert "Plusieurs communes" not in text and "Je n'ai pas trouvé" not in text
    assert len(pick_list.labels) == count
    role = await choose(alice, pick)
    # Picked from the list: straight to the next question, no "C'est bien ça ?".
    assert "rôle" in (role.plain_text or ""), role.plain_text
    assert all("C'est bien ça" not in (m.plain_text or "") for m in alice.messages)
    # The pick list now records the answer and has no buttons left.
    answered = next(m for m in alice.messages if m.message_id == pick_list.message_id)
    assert answered.buttons == [] and pick in (answered.plain_text or "")
    assert tg.unanswered_callbacks() == []


async def test_a_town_typed_after_the_region_is_found_in_it(
    tg: FakeTelegram, bot: BotService
) -> None:
    alice = tg.user("Alice", language_code="fr")
    await at_place_question(alice)
    await answer(alice, "Île-de-France")
    confirm = await answer(alice, "Saint-Denis")  # also a commune of La Réunion
    assert "Saint-Denis, Seine-Saint-Denis (93), Île-de-France" in (confirm.plain_text or "")
    await alice.press("Oui, c'est ça")
    role = await next_question(alice)
    assert "rôle" in (role.plain_text or "")


async def test_the_case_carries_the_region_and_departement_picked(
    tg: FakeTelegram, bot: BotService
) -> None:
    from sqlalchemy import select

    alice = tg.user("Alice", language_code="fr")
    await at_place_question(alice)
    await answer(alice, "occitanie")
    await choose(alice, "Hérault (34)")
    await choose(alice, "Bénévole")
    await alice.press("Gestion")
    await alice.wait_reply()  # the keyboard redrawn with the theme ticked
    await choose(alice, "Valider")
    await answer(alice, "Nos adhésions sont dans un tableur que plus personne ne comprend.")
    await choose(alice, "Rien pour l'instant")
    await answer(alice, "Un outil simple pour les bénévoles.")
    await answer(alice, "Pas de budget")
    await alice.press("Découvrir des ressources")
    await alice.wait_reply()
    await choose(alice, "Valider")
    summary = await choose(alice, "Dans le mois")
    assert "Hérault (34), Occitanie" in (summary.plain_text or "")
    await alice.press("Confirmer")
    await next_question(alice)
    async with bot.db.unit() as uow:
        case = (await uow.session.scalars(select(Case))).one()
    assert (case.region, case.departement) == ("OCC", "34")
