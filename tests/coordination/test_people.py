"""People commands on Telegram: the aiguilleurs' list and its régional scope,
adding, pausing, capacity, training, coordinators, announcements; each as a
coordinator, an aiguilleur and a stranger."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dialogs.catalog.load import AiguilleurProfile
from storage.models.assignment import ACCEPTED, Assignment
from storage.models.catalog import Aiguilleur
from storage.models.coordination import Coordinator
from tests.coordination.support import (
    COORDINATOR_ID,
    T0,
    Desk,
    aiguilleur_row,
    ask,
    command_log,
    make_case,
)
from tests.transports.telegram.harness import next_question

SCOPED_ID = 700_003

PEOPLE_COMMANDS = (
    "/aiguilleurs",
    "/aiguilleur ajouter 700009 Alix Martin",
    "/aiguilleur pause camille-durand",
    "/aiguilleur reprendre camille-durand",
    "/aiguilleur capacite camille-durand 5",
    "/aiguilleur formation camille-durand",
    "/coordinateurs",
    "/coordinateur ajouter 700009",
    "/coordinateur retirer 700009",
    "/annonce Bonjour",
)


async def person(desk: Desk, slug: str) -> Aiguilleur:
    async with desk.db.unit() as uow:
        row = await uow.catalog.aiguilleur(slug)
        assert row is not None
        return row


async def add_people(desk: Desk) -> None:
    async with desk.db.unit() as uow:
        uow.session.add(aiguilleur_row("dominique", regions=["PDL"], themes=["numerique"]))
        uow.session.add(aiguilleur_row("eden", regions=[], themes=["energie"]))
        uow.session.add(aiguilleur_row("fictive", demo=True))


@pytest.mark.parametrize("command", PEOPLE_COMMANDS)
async def test_people_commands_are_for_coordinators(desk: Desk, command: str) -> None:
    for user in (desk.aiguilleur, desk.stranger):
        assert "réservée aux coordinateur·ices" in await ask(user, command)
    assert [outcome for _, _, outcome in await command_log(desk.db)] == ["refused", "refused"]
    assert (await person(desk, "camille-durand")).available


async def test_aiguilleurs_list_shows_load_and_filters(desk: Desk) -> None:
    await add_people(desk)
    ref = await make_case(desk.db, {})
    async with desk.db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        uow.session.add(
            Assignment(
                case_id=case.id,
                aiguilleur_id="camille-durand",
                state=ACCEPTED,
                room_id="!room:example.org",
                offered_at=T0,
                updated_at=T0,
            )
        )
    listing = await ask(desk.coordinator, "/aiguilleurs")
    assert "Aiguilleur·euses (3)" in listing
    assert "Camille Durand (camille-durand) — Gestion — Bretagne — 1/3 demandes" in listing
    assert "Eden (eden) — Énergie — partout" in listing
    assert "fictive" not in listing  # demonstration people are not real aiguilleurs
    in_pdl = await ask(desk.coordinator, "/aiguilleurs pays-de-la-loire")
    assert "dominique" in in_pdl and "eden" in in_pdl and "camille-durand" not in in_pdl
    assert "Aucun·e" in await ask(desk.coordinator, "/aiguilleurs mobilite")
    assert "s'écrit ainsi" in await ask(desk.coordinator, "/aiguilleurs n'importe-quoi")


async def test_regional_coordinators_see_and_act_in_their_regions(desk: Desk) -> None:
    await add_people(desk)
    added = await ask(desk.coordinator, f"/coordinateur ajouter {SCOPED_ID} pdl")
    assert f"Telegram {SCOPED_ID} est coordinateur·ice (régions : Pays de la Loire)" in added
    scoped = desk.tg.user(first_name="Pia", user_id=SCOPED_ID, language_code="fr")
    listing = await ask(scoped, "/aiguilleurs")
    assert "dominique" in listing
    assert "camille-durand" not in listing and "eden" not in listing
    refused = await ask(scoped, "/aiguilleur pause camille-durand")
    assert "ne travaille dans aucune de vos régions" in refused
    assert (await person(desk, "camille-durand")).available
    assert "Dominique est en pause" in await ask(scoped, "/aiguilleur pause dominique")
    assert not (await person(desk, "dominique")).available
    # Coordinators within their régions only; their new aiguilleurs start there.
    beyond = await ask(scoped, "/coordinateur ajouter 700010 bretagne")
    assert "dans vos propres régions" in beyond
    assert "Pays de la Loire" in await ask(scoped, "/coordinateur ajouter 700010")
    await ask(desk.coordinator, "/coordinateur ajouter 700012")  # national
    assert "dans vos propres régions" in await ask(scoped, "/coordinateur retirer 700012")
    assert "n'est plus" in await ask(scoped, "/coordinateur retirer 700010")
    await ask(scoped, "/aiguilleur ajouter 700011 Gaby Roux")
    assert (await person(desk, "gaby-roux")).regions == ["PDL"]
    log = await command_log(desk.db)
    assert ("coordinator", "aiguilleur.pause", "refused") in log
    assert ("coordinator", "coordinateur.ajouter", "refused") in log


async def test_add_pause_resume_capacity_and_training(desk: Desk) -> None:
    added = await ask(desk.coordinator, "/aiguilleur ajouter @alix:example.org Alix Martin")
    assert "identifiant alix-martin" in added and "/inscription" in added
    alix = await person(desk, "alix-martin")
    assert alix.matrix_id == "@alix:example.org" and alix.telegram_id is None
    assert alix.themes == [] and not alix.available
    again = await ask(desk.coordinator, "/aiguilleur ajouter @alix:example.org Alix")
    assert "déjà aiguilleur·euse (identifiant alix-martin)" in again
    await ask(desk.coordinator, "/aiguilleur ajouter 700009 Alix Martin")
    namesake = await person(desk, "alix-martin-2")
    assert namesake.telegram_id == 700_009 and namesake.matrix_id == ""
    assert "pas un identifiant Telegram" in await ask(
        desk.coordinator, "/aiguilleur ajouter 99999999999999999999 Trop"
    )

    assert "en pause" in await ask(desk.coordinator, "/aiguilleur pause camille-durand")
    assert not (await person(desk, "camille-durand")).available
    assert "déjà en pause" in await ask(desk.coordinator, "/aiguilleur pause camille-durand")
    resumed = await ask(desk.coordinator, "/aiguilleur reprendre camille-durand")
    assert "de nouveau disponible" in resumed
    assert (await person(desk, "camille-durand")).available

    assert "5 demande(s)" in await ask(desk.coordinator, "/aiguilleur capacite camille-durand 5")
    assert (await person(desk, "camille-durand")).capacity == 5
    assert "de 1 à 20" in await ask(desk.coordinator, "/aiguilleur capacite camille-durand 50")
    assert (await person(desk, "camille-durand")).capacity == 5

    trained = await ask(desk.coordinator, "/aiguilleur formation camille-durand")
    assert "a suivi la formation" in trained
    assert (await person(desk, "camille-durand")).trained_at is not None
    assert "formé·e le" in await ask(desk.coordinator, "/aiguilleurs")

    unknown = await ask(desk.coordinator, "/aiguilleur pause personne")
    assert "Aucun·e aiguilleur·euse actif·ve" in unknown
    log = await command_log(desk.db)
    assert ("coordinator", "aiguilleur.formation", "ok") in log
    assert ("coordinator", "aiguilleur.pause", "not_found") in log


async def test_coordinators_are_listed_added_and_removed(desk: Desk) -> None:
    listing = await ask(desk.coordinator, "/coordinateurs")
    assert f"Telegram {COORDINATOR_ID} — régions : partout — fichier de configuration" in listing
    added = await ask(desk.coordinator, "/coordinateur ajouter @claude:example.org bretagne idf")
    assert "régions : Bretagne, Île-de-France" in added
    await ask(desk.coordinator, f"/coordinateur ajouter {SCOPED_ID}")
    listing = await ask(desk.coordinator, "/coordinateurs")
    assert "Matrix @claude:example.org — régions : Bretagne, Île-de-France — ajouté·e" in listing
    assert f"Telegram {SCOPED_ID} — régions : partout — ajouté·e dans le chat" in listing
    # The new national coordinator may use the commands at once.
    newcomer = desk.tg.user(first_name="Noa", user_id=SCOPED_ID, language_code="fr")
    assert "Coordinateur·ices (3)" in await ask(newcomer, "/coordinateurs")

    configured = await ask(desk.coordinator, f"/coordinateur retirer {COORDINATOR_ID}")
    assert "fichier de configuration" in configured and "pas dans le chat" in configured
    already = await ask(desk.coordinator, f"/coordinateur ajouter {COORDINATOR_ID}")
    assert "déjà coordinateur·ice (fichier de configuration)" in already
    log = await command_log(desk.db)
    assert ("coordinator", "coordinateur.retirer", "refused") in log
    assert ("coordinator", "coordinateur.ajouter", "ok") in log
    removed = await ask(desk.coordinator, "/coordinateur retirer @claude:example.org")
    assert "n'est plus coordinateur·ice" in removed
    assert "n'est pas coordinateur·ice" in await ask(
        desk.coordinator, "/coordinateur retirer @claude:example.org"
    )
    async with desk.db.unit() as uow:
        rows = (await uow.session.scalars(select(Coordinator))).all()
        assert {(r.external_id, r.active) for r in rows} == {
            ("@claude:example.org", False),
            (str(SCOPED_ID), True),
        }


async def test_announcement_reaches_aiguilleurs_on_telegram(desk: Desk) -> None:
    async with desk.db.unit() as uow:
        # Matrix only, and Matrix is not configured here: nobody can reach them.
        await uow.catalog.save_aiguilleur(
            AiguilleurProfile(
                id="hugo", name="Hugo Petit", matrix_id="@hugo:example.org", themes=("gestion",)
            ),
            T0,
        )
    answer = await ask(desk.coordinator, "/annonce Réunion <b>jeudi</b> à 18 h & pot")
    assert "Annonce envoyée à 1 aiguilleur·euse(s)" in answer
    assert "pas joint·es : Hugo Petit" in answer
    told = (await next_question(desk.aiguilleur)).plain_text or ""
    assert "Annonce de la coordination" in told and "Coralie" in told
    assert "Réunion <b>jeudi</b> à 18 h & pot" in told
