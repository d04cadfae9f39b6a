"""Aiguilleurs in Matrix, end to end: offers, answers, time-outs, the queue and
the relay, against a real Synapse and the fake Bot API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.models.assignment import Assignment
from storage.models.coordination import CommandLog
from storage.models.core import Case, ProcessedUpdate
from tests.transports.matrix.conftest import World
from tests.transports.telegram.harness import next_question


def thread_of(event: object) -> str | None:
    relates = getattr(event, "source", {}).get("content", {}).get("m.relates_to") or {}
    return relates.get("event_id") if relates.get("rel_type") == "m.thread" else None


async def states(world: World) -> list[tuple[str, str]]:
    assert world.bot is not None
    async with world.bot.db.unit() as uow:
        rows = await uow.session.scalars(select(Assignment).order_by(Assignment.id))
        return [(row.aiguilleur_id, row.state) for row in rows]


async def test_offer_accept_by_command_and_relay_both_ways(world: World) -> None:
    await world.start()
    alix = await world.member("alix")
    await world.aiguilleurs(("alix", alix, 2))
    assert await world.rooms() == 1
    room = await alix.join_invite()
    camille = world.tg.user("Camille")
    ref = await world.case(camille)

    offer = await alix.message(ref, "Nouvelle demande")
    # A readable sheet, every piece of user text escaped in the HTML.
    assert "La Fabrique <b>&</b> Cie" in offer.body
    assert "Camille" in offer.body and "!accepter" in offer.body
    html = offer.source["content"]["formatted_body"]
    assert "La Fabrique &lt;b&gt;&amp;&lt;/b&gt; Cie" in html
    assert "<script>" not in html and "&lt;script&gt;" in html

    await alix.say(room, f"!accepter {ref.lower()}")
    told = await camille.wait_reply()
    assert "Alix Aiguilleuse" in (told.plain_text or "") and ref in (told.plain_text or "")
    confirmed = await alix.message("Vous suivez la demande")
    assert thread_of(confirmed) == offer.event_id

    # The aiguilleur writes in the case's thread: the person reads it on Telegram.
    await alix.say(room, "Bonjour <i>Camille</i> & co", thread=offer.event_id)
    relayed = await camille.wait_reply()
    assert "Alix Aiguilleuse" in (relayed.plain_text or "")
    assert "Bonjour <i>Camille</i> & co" in (relayed.plain_text or "")

    # The person writes outside an intake: it goes to the thread, noted once.
    await camille.say("Merci ! On se parle jeudi ?")
    note = await camille.wait_reply()
    assert "transmis" in (note.plain_text or "")
    back = await alix.message("On se parle jeudi")
    assert thread_of(back) == offer.event_id and "Camille" in back.body
    await camille.say("Deuxième message")
    await alix.message("Deuxième message")
    await camille.expect_silence(0.3)

    # Contacts only with the person's agreement; then the person ends the relay.
    await camille.press("Donner mon contact")
    assert "contact" in ((await next_question(camille)).plain_text or "")
    shared = await alix.message("tg://user?id=")
    assert str(camille.id) in shared.body
    await camille.press("Terminer la mise en relation")
    assert "terminée" in ((await next_question(camille)).plain_text or "")
    await alix.message("a mis fin")
    assert await states(world) == [("alix", "ended")]
    # The bot answers the person itself again.
    await camille.say("Bonjour ?")
    assert (await camille.wait_reply()).plain_text


async def test_accept_by_reaction_and_listing(world: World) -> None:
    await world.start()
    alix = await world.member("alix")
    await world.aiguilleurs(("alix", alix, 2))
    await world.rooms()
    room = await alix.join_invite()
    camille = world.tg.user("Camille")
    ref = await world.case(camille)
    offer = await alix.message(ref, "Nouvelle demande")

    await alix.react(room, offer.event_id, "👍🏽")
    told = await camille.wait_reply()
    assert "Alix Aiguilleuse" in (told.plain_text or "")
    await alix.message("Vous suivez la demande")
    await alix.say(room, "!mes-dossiers")
    listing = await alix.message("Vos demandes en cours")
    assert ref in listing.body and "suivie par vous" in listing.body
    await alix.say(room, f"!dossier {ref}")
    sheet = await alix.message(f"Demande {ref}")
    assert "tableur" in sheet.body
    await alix.say(room, f"!note {ref} appel prévu lundi")
    await alix.message("Note ajoutée")
    await alix.say(room, f"!action {ref}")
    await alix.message("Action vérifiée")
    assert world.bot is not None
    async with world.bot.db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None and case.status == "action_verifiee"
        kinds = [e.kind for e in await uow.cases.timeline(case)]
    assert {"offered", "accepted", "note", "action_verified"} <= set(kinds)


async def test_decline_goes_to_the_next_candidate(world: World) -> None:
    await world.start()
    alix, basile = await world.member("alix"), await world.member("basile")
    await world.aiguilleurs(("alix", alix, 2), ("basile", basile, 2))
    assert await world.rooms() == 2
    room_a = await alix.join_invite()
    room_b = await basile.join_invite()
    camille = world.tg.user("Camille")
    ref = await world.case(camille)

    await alix.message(ref, "Nouvelle demande")
    await alix.say(room_a, f"!refuser {ref} pas le temps ce mois-ci")
    await alix.message("proposée à quelqu'un d'autre")
    offer = await basile.message(ref, "Nouvelle demande")
    assert await states(world) == [("alix", "declined"), ("basile", "offered")]
    # 👎 on the second offer: nobody is left, the case waits and coordinators hear.
    await basile.react(room_b, offer.event_id, "👎")
    await world.coordinator.message(ref, "Personne n'est disponible")
    assert [s for _, s in await states(world)] == ["declined", "declined"]


async def test_no_answer_goes_to_the_next_candidate(world: World) -> None:
    bot = await world.start()
    alix, basile = await world.member("alix"), await world.member("basile")
    await world.aiguilleurs(("alix", alix, 2), ("basile", basile, 2))
    await world.rooms()
    await alix.join_invite()
    await basile.join_invite()
    ref = await world.case(world.tg.user("Camille"))
    await alix.message(ref, "Nouvelle demande")

    assert bot.matrix is not None
    assert await bot.matrix.desk.tick() == 0  # not yet
    world.clock.advance(timedelta(hours=1, minutes=1))
    assert await bot.matrix.desk.tick() == 1
    await alix.message(ref, "Sans réponse")
    await basile.message(ref, "Nouvelle demande")
    assert await states(world) == [("alix", "expired"), ("basile", "offered")]


async def test_queue_when_nobody_has_room_then_offered_when_freed(world: World) -> None:
    await world.start()
    alix = await world.member("alix")
    await world.aiguilleurs(("alix", alix, 1))
    await world.rooms()
    room = await alix.join_invite()
    first = await world.case(world.tg.user("Camille"))
    await alix.message(first, "Nouvelle demande")
    await alix.say(room, f"!accepter {first}")
    await alix.message("Vous suivez la demande")

    second = await world.case(world.tg.user("Dominique"), lieu="Le Bazar")
    queued = await world.coordinator.message(second, "Personne n'est disponible")
    assert "Le Bazar" in queued.body
    assert world.bot is not None
    async with world.bot.db.unit() as uow:
        case = await uow.cases.by_ref(second)
        assert case is not None and case.status == "en_attente"
        # What the person is told: waiting for someone, not "offered" (issue 14, item 6).
        assert await world.bot.runtime.contact_requested(uow, case) == "queued"

    await alix.say(room, f"!clore {first}")
    await alix.message("close")
    await alix.message(second, "Nouvelle demande")
    # Unavailable people get nothing; coming back serves the queue.
    await alix.say(room, "!dispo off")
    await alix.message("plus de nouvelle demande")
    third = await world.case(world.tg.user("Eden"), lieu="La Friche")
    await world.coordinator.message(third, "Personne n'est disponible")
    await alix.say(room, f"!refuser {second}")
    await alix.message("proposée à quelqu'un d'autre")
    await alix.say(room, "!dispo on")
    await alix.message(third, "Nouvelle demande")


async def test_strangers_and_other_aiguilleurs_are_refused(world: World) -> None:
    await world.start()
    alix, basile = await world.member("alix"), await world.member("basile")
    stranger = await world.member("stranger")
    await world.aiguilleurs(("alix", alix, 2), ("basile", basile, 2))
    await world.rooms()
    await alix.join_invite()
    room_b = await basile.join_invite()
    ref = await world.case(world.tg.user("Camille"))
    await alix.message(ref, "Nouvelle demande")

    await basile.say(room_b, f"!accepter {ref}")
    assert ref in (await basile.message("ne vous est pas confiée")).body
    await basile.say(room_b, "!clore AIG-9999")
    await basile.message("AIG-9999", "ne vous est pas confiée")
    await basile.say(room_b, f"!refuser {ref}")
    await basile.message("ne vous est pas confiée")

    # A stranger in the coordinators' room is told these commands are not theirs.
    invited = await world.coordinator.client.room_invite(world.coordinators_room, stranger.id)
    assert not hasattr(invited, "status_code") or invited.status_code is None
    joined_room = await stranger.join_invite()
    await stranger.say(joined_room, f"!accepter {ref}")
    await stranger.message("réservées aux aiguilleur")
    # And the bot does not join rooms strangers invite it to.
    created = await stranger.client.room_create(invite=[world.bot_user.user_id])
    await alix.say(next(iter(alix.client.rooms)), "!aide")
    await alix.message("Commandes d'Aiguillage", "!accepter AIG-0042")
    assert world.bot is not None and world.bot.matrix is not None
    assert created.room_id not in world.bot.matrix.client.rooms  # type: ignore[union-attr]
    assert await states(world) == [("alix", "offered")]
    # Every refusal is in the command log, with who typed it.
    async with world.bot.db.unit() as uow:
        rows = (await uow.session.scalars(select(CommandLog).order_by(CommandLog.id))).all()
    logged = [(r.actor, r.role, r.command, r.outcome, r.case_ref) for r in rows]
    assert logged == [
        (basile.id, "aiguilleur", "accepter", "refused", ref),
        (basile.id, "aiguilleur", "clore", "refused", "AIG-9999"),
        (basile.id, "aiguilleur", "refuser", "refused", ref),
        (stranger.id, "anyone", "accepter", "refused", ref),
    ]


async def test_restart_neither_replays_nor_misses(world: World) -> None:
    await world.start()
    alix = await world.member("alix")
    await world.aiguilleurs(("alix", alix, 2))
    await world.rooms()
    room = await alix.join_invite()
    ref = await world.case(world.tg.user("Camille"))
    await alix.message(ref, "Nouvelle demande")
    await alix.say(room, "!mes-dossiers")
    await alix.message("Vos demandes en cours")

    await world.stop()
    await alix.say(room, f"!accepter {ref}")  # while the bot is away
    bot = await world.start()
    await alix.message("Vous suivez la demande")
    await alix.say(room, "!mes-dossiers")
    await alix.message("Vos demandes en cours")
    async with bot.db.unit() as uow:
        seen = await uow.session.scalar(
            select(func.count()).select_from(ProcessedUpdate).where(
                ProcessedUpdate.transport == "matrix"
            )
        )
        case = await uow.cases.by_ref(ref)
        assert isinstance(case, Case) and case.status == "attribue"
    assert seen == 3
    # No listing answered twice (a replay would have produced a second one).
    listings = [e for e in alix.seen if "Vos demandes en cours" in getattr(e, "body", "")]
    assert len(listings) == 2
