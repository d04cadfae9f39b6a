"""Becoming an aiguilleur on Telegram: the inscription form (buttons and typed
answers), the coordinators' decision, and an aiguilleur updating their own
profile with the same form."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models.catalog import Aiguilleur
from storage.models.coordination import Inscription
from tests.coordination.support import Desk, ask, command_log, plain, press
from tests.fakes.telegram_api import FakeUser
from tests.transports.telegram.harness import next_question


async def toggle(user: FakeUser, label: str) -> str:
    """A theme button: the question is redrawn in place."""
    await user.press(label)
    reply = await user.wait_reply()
    assert reply.edited
    return plain(reply.plain_text) + "\n" + " | ".join(reply.labels)


async def inscriptions(desk: Desk) -> list[tuple[int, str, str]]:
    async with desk.db.unit() as uow:
        rows = await uow.session.scalars(select(Inscription).order_by(Inscription.id))
        return [(r.id, r.external_id, r.state) for r in rows.all()]


async def fill_in(user: FakeUser) -> str:
    """The whole form with buttons and one typed answer; returns the last answer."""
    first = await ask(user, "/inscription")
    assert "Devenir aiguilleur·euse" in first and "Question 1 sur 3" in first
    assert "✅ Gestion" in await toggle(user, "Gestion")
    redrawn = await toggle(user, "Numérique")
    assert "Choisis : Gestion, Numérique" in redrawn
    regions = await press(user, "Valider (2)")
    assert "Question 2 sur 3" in regions
    capacity = await ask(user, "Bretagne, pays de la loire")
    assert "Question 3 sur 3" in capacity
    summary = await press(user, "2")
    assert "Thèmes : Gestion, Numérique" in summary
    assert "Régions : Bretagne, Pays de la Loire" in summary
    assert "Demandes suivies en même temps : 2" in summary
    return await press(user, "Confirmer")


async def test_inscription_end_to_end_through_approval(desk: Desk) -> None:
    sent = await fill_in(desk.stranger)
    assert "Votre inscription n°1 est transmise" in sent
    told = plain((await next_question(desk.coordinator)).plain_text)
    assert "Nouvelle inscription" in told and "n°1 — Sam (Telegram" in told
    assert "/inscription valider 1" in told
    assert await inscriptions(desk) == [(1, str(desk.stranger.id), "pending")]
    assert "attend déjà" in await ask(desk.stranger, "/inscription")

    listing = await ask(desk.coordinator, "/inscriptions")
    assert "Inscriptions en attente (1)" in listing and "Gestion, Numérique" in listing
    approved = await ask(desk.coordinator, "/inscription valider 1")
    assert "Inscription n°1 validée : Sam est aiguilleur·euse (identifiant sam)" in approved
    welcome = plain((await next_question(desk.stranger)).plain_text)
    assert "Bienvenue" in welcome and "/admin" in welcome
    async with desk.db.unit() as uow:
        sam = await uow.catalog.aiguilleur("sam")
        assert sam is not None and sam.telegram_id == desk.stranger.id
        assert (sam.themes, sam.regions, sam.capacity) == (
            ["gestion", "numerique"],
            ["BRE", "PDL"],
            2,
        )
        assert sam.available and sam.matrix_id == ""
    assert await inscriptions(desk) == [(1, str(desk.stranger.id), "approved")]
    # Now an aiguilleur: their own commands, not the coordinators'.
    help_text = await ask(desk.stranger, "/admin")
    assert "/intervention" in help_text and "/dossiers" not in help_text
    assert "déjà validée" in await ask(desk.coordinator, "/inscription valider 1")
    assert "Aucune inscription en attente" in await ask(desk.coordinator, "/inscriptions")


async def test_typed_answers_retries_and_cancel(desk: Desk) -> None:
    user = desk.stranger
    await ask(user, "/inscription")
    assert "aucun thème" in await ask(user, "astrologie")
    assert "Question 2 sur 3" in await ask(user, "5 6")
    assert "pas reconnu ces régions" in await ask(user, "Atlantide")
    assert "Question 3 sur 3" in await ask(user, "toutes")
    assert "de 1 à 20" in await ask(user, "50")
    assert "Régions : partout" in await ask(user, "3")
    assert "oui pour envoyer" in await ask(user, "peut-être")
    assert "rien n'a été envoyé" in await ask(user, "non")
    assert await inscriptions(desk) == []
    # /annuler works at any step, and the conversation gets the chat back.
    await ask(user, "/inscription")
    assert "annulé" in await ask(user, "/annuler")
    assert "Aiguillage" in await ask(user, "bonjour")


async def test_rejection_tells_the_person_why(desk: Desk) -> None:
    await fill_in(desk.stranger)
    await next_question(desk.coordinator)
    rejected = await ask(desk.coordinator, "/inscription refuser 1 Pas de réseau <b>ici</b>")
    assert "Inscription n°1 refusée (Sam est prévenu·e)" in rejected
    told = plain((await next_question(desk.stranger)).plain_text)
    assert "pas été retenue" in told and "Raison : Pas de réseau <b>ici</b>" in told
    assert "déjà été refusée" in await ask(desk.coordinator, "/inscription valider 1")
    assert "pas d'inscription n°7" in await ask(desk.coordinator, "/inscription valider 7")
    async with desk.db.unit() as uow:
        count = await uow.session.scalar(select(func.count()).select_from(Aiguilleur))
    assert count == 1  # camille-durand only


async def test_an_aiguilleur_updates_their_own_profile(desk: Desk) -> None:
    user = desk.aiguilleur
    async with desk.db.unit() as uow:
        camille = await uow.catalog.aiguilleur("camille-durand")
        assert camille is not None
        camille.available = False
    first = await ask(user, "/inscription")
    assert "Votre profil" in first
    regions = await press(user, "Valider (1)")
    assert "Actuellement : Bretagne" in regions
    await ask(user, "Bretagne Normandie")
    await press(user, "5")
    updated = await press(user, "Confirmer")
    assert "Votre profil est à jour" in updated and "Normandie" in updated
    told = plain((await next_question(desk.coordinator)).plain_text)
    assert "Camille Durand (camille-durand) a mis à jour son profil" in told
    async with desk.db.unit() as uow:
        camille = await uow.catalog.aiguilleur("camille-durand")
        assert camille is not None
        assert (camille.regions, camille.capacity, camille.available) == (["BRE", "NOR"], 5, True)
    assert await inscriptions(desk) == []


async def test_deciding_is_for_coordinators(desk: Desk) -> None:
    for user in (desk.aiguilleur, desk.stranger):
        for command in ("/inscriptions", "/inscription valider 1", "/inscription refuser 1"):
            assert "réservée aux coordinateur·ices" in await ask(user, command)
    assert {outcome for _, _, outcome in await command_log(desk.db)} == {"refused"}
    # Anyone may start the form, coordinators included.
    assert "Devenir aiguilleur·euse" in await ask(desk.coordinator, "/inscription")
