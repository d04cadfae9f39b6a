"""People commands on Matrix, against a real Synapse: the aiguilleurs' list and
an announcement from the coordinators' room, an intervention recorded in an
aiguilleur's room, and an inscription in a direct chat through approval."""

from __future__ import annotations

from nio import RoomCreateResponse
from sqlalchemy import select

from storage.models.coordination import Inscription
from tests.transports.matrix.conftest import World


async def test_coordinators_room_and_aiguilleur_room(world: World) -> None:
    await world.start()
    alix = await world.member("alix")
    await world.aiguilleurs(("alix", alix, 2))
    await world.rooms()
    room = await alix.join_invite()
    coordinator, coordination = world.coordinator, world.coordinators_room

    await coordinator.say(coordination, "!aiguilleurs")
    listing = await coordinator.message("Aiguilleur·euses (1)")
    assert "Alix Aiguilleuse (alix)" in listing.body and "0/2 demandes" in listing.body

    await coordinator.say(coordination, "!annonce Réunion jeudi <b>18 h</b>")
    await coordinator.message("Annonce envoyée à 1")
    told = await alix.message("Annonce de la coordination", "Réunion jeudi <b>18 h</b>")
    assert "&lt;b&gt;" in told.source["content"]["formatted_body"]

    # In her own room the aiguilleur may not use the coordinators' commands...
    await alix.say(room, "!aiguilleurs")
    await alix.message("réservée aux coordinateur·ices")
    # ...but records her time on a case she took on.
    camille = world.tg.user("Camille")
    ref = await world.case(camille)
    await alix.say(room, f"!intervention {ref} 1h subvention")
    await alix.message("ne vous a pas été confié")
    offer = await alix.message(ref, "Nouvelle demande")
    await alix.say(room, f"!accepter {ref}")
    await alix.message("Vous suivez la demande")
    await camille.wait_reply()  # told who helps them
    # A form waiting in her room does not swallow what she writes in a case's thread.
    await alix.say(room, "!inscription")
    await alix.message("Votre profil", "Question 1 sur 3")
    await alix.say(room, "Bonjour Camille", thread=offer.event_id)
    relayed = await camille.wait_reply()
    assert "Bonjour Camille" in (relayed.plain_text or "")
    await alix.say(room, "numérique")
    await alix.message("Question 2 sur 3")
    await alix.say(room, "!annuler")
    await alix.message("annulé")
    await alix.say(room, f"!intervention {ref} 1h30 autofinancement premier appel")
    recorded = await alix.message("Intervention notée", ref)
    assert "1 h 30" in recorded.body and "autofinancement" in recorded.body
    assert world.bot is not None
    async with world.bot.db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        total = await uow.interventions.case_total(case.id)
    assert (total.count, total.minutes) == (1, 90)


async def test_inscription_in_a_direct_chat_through_approval(world: World) -> None:
    bot = await world.start()
    zoe = await world.member("zoe")
    await zoe.client.set_displayname("Zoé Martin")
    created = await zoe.client.room_create(is_direct=True, invite=[world.bot_user.user_id])
    assert isinstance(created, RoomCreateResponse), created
    direct = created.room_id
    await zoe.message("devenir aiguilleur·euse", "!inscription")  # the bot joined and greets

    await zoe.say(direct, "!inscription")
    first = await zoe.message("Question 1 sur 3", "1. Mobilité")
    # No buttons on Matrix: the question says to type the answer.
    assert "Touchez" not in first.body and "Valider" not in first.body
    assert "Écrivez-les en réponse" in first.body
    await zoe.say(direct, "gestion, compta et numérique")
    await zoe.message("Question 2 sur 3")
    await zoe.say(direct, "Bretagne, PDL")
    await zoe.message("Question 3 sur 3")
    await zoe.say(direct, "2")
    summary = await zoe.message("Récapitulatif")
    assert "Gestion, Numérique" in summary.body and "Pays de la Loire" in summary.body
    await zoe.say(direct, "oui")
    await zoe.message("inscription n°1 est transmise")

    coordinator, coordination = world.coordinator, world.coordinators_room
    told = await coordinator.message("Nouvelle inscription", zoe.id)
    assert "!inscription valider 1" in told.body
    await coordinator.say(coordination, "!inscriptions")
    await coordinator.message("Inscriptions en attente (1)")
    await coordinator.say(coordination, "!inscription valider 1")
    approved = await coordinator.message("Inscription n°1 validée")
    welcome = await zoe.message("Bienvenue")
    # Her commands are an aiguilleur's, not the coordination's.
    assert "!accepter AIG-0042" in welcome.body and "!intervention" in welcome.body
    assert "!admin" not in welcome.body and "!inscriptions" not in welcome.body

    async with bot.db.unit() as uow:
        row = (await uow.session.scalars(select(Inscription))).one()
        assert row.state == "approved" and row.aiguilleur_id is not None
        slug = row.aiguilleur_id
        person = await uow.catalog.aiguilleur(slug)
        assert person is not None and person.matrix_id == zoe.id and person.available
        assert person.name == "Zoé Martin"  # her display name, not her user name
        assert person.themes == ["gestion", "numerique"] and person.regions == ["BRE", "PDL"]
        # The direct chat is now her room with the bot: offers will come there.
        assert await uow.matrix.room_of(slug) == direct
    assert slug in approved.body and slug in welcome.body

    # As an aiguilleur now, her own commands answer in that room.
    await zoe.say(direct, "!mes-dossiers")
    await zoe.message("aucune demande en cours")
