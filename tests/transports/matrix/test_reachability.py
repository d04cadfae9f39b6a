"""Aiguilleurs who cannot be reached on Matrix are not treated as reachable
(issue 14, item 12): offers go only to those who joined their room with the bot,
an offer moves on as soon as its aiguilleur leaves, coordinators hear about
invitations that fail or stay unanswered, and a coordinator's assignment to
someone outside their room says so instead of "X est prévenu·e"."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from dialogs.catalog.load import AiguilleurProfile, Catalog
from tests.transports.matrix.conftest import World
from tests.transports.matrix.test_scenarios import states


def plain(body: str) -> str:
    return body.replace("\u00a0", " ")


async def test_offers_only_in_joined_rooms_and_coordinators_told(world: World) -> None:
    bot = await world.start()
    assert bot.matrix is not None
    alix, basile, claude = (
        await world.member("alix"),
        await world.member("basile"),
        await world.member("claude"),
    )
    ghost = "@fantome-inexistant:test.local"
    people = (("alix", alix.id), ("basile", basile.id), ("claude", claude.id), ("fantome", ghost))
    catalog = Catalog(
        aiguilleurs=tuple(
            AiguilleurProfile(
                id=slug,
                name=f"{slug.capitalize()} Aiguilleuse",
                matrix_id=matrix_id,
                themes=("gestion",),
                capacity=2,
            )
            for slug, matrix_id in people
        ),
        sections=frozenset({"aiguilleurs"}),
    )
    async with bot.db.unit() as uow:
        await uow.catalog.apply(catalog, world.clock.now())
    coordinator, coordination = world.coordinator, world.coordinators_room

    # The account that does not exist cannot be invited: the coordinators hear it.
    assert await world.rooms() == 3
    failed = plain((await coordinator.message("Fantome Aiguilleuse", ghost)).body)
    assert "pas pu inviter" in failed
    room_a = await alix.join_invite()
    # Basile and Claude are invited and never answer.

    camille = world.tg.user("Camille")
    ref = await world.case(camille)
    await alix.message(ref, "Nouvelle demande")
    assert await states(world) == [("alix", "offered")]

    # Alix leaves her room: the offer moves on at the next tick, not after the hour.
    await alix.client.room_leave(room_a)
    deadline = time.monotonic() + 6
    while bot.matrix.joined(room_a, alix.id):
        assert time.monotonic() < deadline, "the bot never saw Alix leave"
        await asyncio.sleep(0.05)
    assert await bot.matrix.desk.tick() == 1
    # Nobody else has joined: the case waits, and nobody told Camille anyone helps.
    await coordinator.message(ref, "Personne n'est disponible")
    assert await states(world) == [("alix", "expired")]
    await camille.expect_silence(0.3)

    # Basile joins at last: the queue is served at once.
    await basile.join_invite()
    await basile.message(ref, "Nouvelle demande")
    assert await states(world) == [("alix", "expired"), ("basile", "offered")]

    # A coordinator gives it to Claude, who never joined: not "est prévenu·e".
    await coordinator.say(coordination, f"!assigner {ref} claude")
    answer = plain((await coordinator.message(f"Dossier {ref} confié à Claude")).body)
    assert "prévenu·e dans son salon" not in answer
    assert "n'a pas (encore) rejoint son salon" in answer
    # Basile, in his room, is told the offer went elsewhere (and that is said).
    assert "Basile Aiguilleuse, qui avait le dossier, est prévenu·e" in answer
    await basile.message(ref, "quelqu'un d'autre")
    # The person is not told "Claude s'occupe de votre demande".
    await camille.expect_silence(0.5)

    # An hour after the invitations, the coordinators hear about those unanswered.
    world.clock.advance(timedelta(hours=1, minutes=1))
    assert await bot.matrix.unanswered_invites() == 2  # Alix (left) and Claude
    unanswered = plain((await coordinator.message("Claude Aiguilleuse", claude.id)).body)
    assert "n'a pas rejoint son salon" in unanswered
    await coordinator.message("Alix Aiguilleuse", "n'a pas rejoint")
    assert await bot.matrix.unanswered_invites() == 0  # once
