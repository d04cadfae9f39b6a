"""Case commands typed in the coordinators' Matrix room (``!dossiers``,
``!dossier``, ``!assigner``, ``!clore``…), against a real Synapse: the
aiguilleur a coordinator chooses sees the case in their room, talks with the
person in its thread, and hears when the coordination closes it."""

from __future__ import annotations

from tests.transports.matrix.conftest import World
from tests.transports.matrix.test_scenarios import states, thread_of


def plain(body: str) -> str:
    return body.replace("\u00a0", " ")


async def test_case_commands_in_the_coordinators_room(world: World) -> None:
    await world.start()
    alix, basile = await world.member("alix"), await world.member("basile")
    await world.aiguilleurs(("alix", alix, 2), ("basile", basile, 2))
    assert await world.rooms() == 2
    room_a = await alix.join_invite()
    room_b = await basile.join_invite()
    camille = world.tg.user("Camille")
    ref = await world.case(camille)
    offer = await alix.message(ref, "Nouvelle demande")
    coordinator, room = world.coordinator, world.coordinators_room

    await coordinator.say(room, "!dossiers")
    listing = await coordinator.message("Dossiers", "1 au total")
    assert ref in listing.body and "proposé à Alix Aiguilleuse" in listing.body
    await coordinator.say(room, "!dossiers attribue")
    assert "Aucun dossier" in (await coordinator.message("Dossiers", "0 au total")).body

    await coordinator.say(room, f"!dossier {ref}")
    sheet = plain((await coordinator.message(f"Dossier {ref}")).body)
    assert "Quimper" in sheet and "tableur <script>" in sheet
    assert "la personne : demande à parler à un·e aiguilleur·euse" in sheet
    assert "Aiguillage : propose le dossier à Alix Aiguilleuse" in sheet

    # The coordinator gives the case to Basile: Alix's offer is withdrawn.
    await coordinator.say(room, f"!assigner {ref} basile")
    done = plain((await coordinator.message(f"Dossier {ref} confié à Basile Aiguilleuse")).body)
    assert "prévenu·e dans son salon Matrix" in done
    withdrawn = await alix.message(ref, "quelqu'un d'autre")
    assert thread_of(withdrawn) == offer.event_id
    given = await basile.message(ref, "la coordination vous la confie")
    assert "tableur <script>" in given.body and "!clore" in given.body
    told = await camille.wait_reply()
    assert "Basile Aiguilleuse" in (told.plain_text or "")
    assert await states(world) == [("alix", "withdrawn"), ("basile", "accepted")]

    # The assignment message is the case's thread: the relay works both ways.
    await basile.say(room_b, "Bonjour, je vous appelle demain ?", thread=given.event_id)
    relayed = await camille.wait_reply()
    assert "je vous appelle demain" in (relayed.plain_text or "")
    await camille.say("Oui, merci !")
    assert "transmis" in ((await camille.wait_reply()).plain_text or "")
    back = await basile.message("Oui, merci")
    assert thread_of(back) == given.event_id
    await basile.say(room_b, "!mes-dossiers")
    mine = await basile.message("Vos demandes en cours")
    assert ref in mine.body and "suivie par vous" in mine.body

    # Assigning again to the same person, or to someone else, is refused politely.
    await coordinator.say(room, f"!assigner {ref} alix")
    hint = plain((await coordinator.message("déjà suivi par Basile Aiguilleuse")).body)
    assert f"!reassigner {ref} alix" in hint

    await coordinator.say(room, f"!clore {ref} action terminée")
    closed = plain((await coordinator.message(f"Dossier {ref} clos")).body)
    assert "Basile Aiguilleuse, qui avait le dossier, est prévenu·e" in closed
    end = await basile.message(ref, "La coordination a clos")
    assert thread_of(end) == given.event_id
    assert "est close" in ((await camille.wait_reply()).plain_text or "")
    assert await states(world) == [("alix", "withdrawn"), ("basile", "closed")]

    await coordinator.say(room, f"!dossier {ref}")
    timeline = plain((await coordinator.message(f"Dossier {ref}", "Historique")).body)
    assert "— clos —" in timeline
    # A Matrix coordinator is shown by their Matrix id.
    assert (
        f"{coordinator.id} : confie le dossier à Basile Aiguilleuse, suivi jusque-là par Alix"
        in timeline
    )
    # Relayed messages: who, when, how long — not the words.
    assert "Basile Aiguilleuse : message relayé (33 caractères)" in timeline
    assert "la personne : message relayé (12 caractères)" in timeline
    assert "je vous appelle" not in timeline
    assert f"{coordinator.id} : clôt le dossier : « action terminée »" in timeline
    await coordinator.say(room, f"!relances {ref}")
    await coordinator.message(f"Aucune relance pour le dossier {ref}")

    # Aiguilleurs in their room (where !dossiers lists their own cases), and
    # strangers in the coordinators' room, are refused.
    await alix.say(room_a, f"!assigner {ref} alix")
    await alix.message("réservée aux coordinateur·ices")
    stranger = await world.member("stranger")
    await coordinator.client.room_invite(room, stranger.id)
    joined = await stranger.join_invite()
    await stranger.say(joined, f"!clore {ref}")
    await stranger.message("réservée aux coordinateur·ices")
