"""What aiguilleurs and coordinators read on Matrix after the fixes of issue 14
(items 14–17), typed in rooms of a real Synapse: nudges after an aiguilleur
closes a case, next-page hints that keep their filters, the inscription's
texts, help and sheets."""

from __future__ import annotations

from datetime import timedelta

from dialogs.catalog import AiguilleurProfile, Catalog
from dialogs.catalog_types import Resource
from tests.matrix.conftest import World


def plain(body: str) -> str:
    return body.replace("\u00a0", " ")


async def test_closing_cancels_nudges_and_next_pages_keep_filters(world: World) -> None:
    bot = await world.start()
    alix = await world.member("alix")
    others = tuple(
        AiguilleurProfile(
            id=f"renfort-{n:02d}",
            name=f"Renfort {n:02d}",
            matrix_id="",
            themes=("gestion",),
            regions=("BRE",),
        )
        for n in range(12)
    )
    alix_profile = AiguilleurProfile(
        id="alix", name="Alix Aiguilleuse", matrix_id=alix.id, themes=("gestion",), capacity=2
    )
    tools = tuple(
        Resource(
            id=f"outil-{n:02d}",
            name=f"Outil {n:02d}",
            url=f"https://outil-{n:02d}.example.org",
            summary="Un outil libre de gestion.",
            themes=("gestion",),
            kind="logiciel",
        )
        for n in range(12)
    )
    catalog = Catalog(
        aiguilleurs=(alix_profile, *others),
        resources=tools,
        sections=frozenset({"aiguilleurs", "resources"}),
    )
    async with bot.db.unit() as uow:
        await uow.catalog.apply(catalog, world.clock.now())
    await world.rooms()
    room = await alix.join_invite()
    ref = await world.case(world.tg.user("Camille"))
    await alix.message(ref, "Nouvelle demande")
    now = world.clock.now()
    async with bot.db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        await uow.nudges.schedule(
            case_id=case.id,
            transport="telegram",
            address="123",
            locale="fr",
            steps=[("ouverture", now + timedelta(days=3)), ("demarrage", now + timedelta(days=14))],
            now=now,
        )
    coordinator, coordination = world.coordinator, world.coordinators_room
    await coordinator.say(coordination, f"!relances {ref}")
    before = plain((await coordinator.message(f"Relances du dossier {ref}")).body)
    assert before.count("prévue le") == 2

    # The aiguilleur closes the case: its planned nudges go, as with a coordinator's !clore.
    await alix.say(room, f"!accepter {ref}")
    await alix.message("Vous suivez la demande")
    await alix.say(room, f"!clore {ref}")
    await alix.message(ref, "close")
    await coordinator.say(coordination, f"!relances {ref}")
    after = plain((await coordinator.message(f"Relances du dossier {ref}")).body)
    assert "prévue" not in after and after.count("annulée") == 2

    # The next page of a filtered list keeps its filters.
    await coordinator.say(coordination, "!aiguilleurs gestion bretagne")
    people = plain((await coordinator.message("Aiguilleur·euses")).body)
    assert "!aiguilleurs gestion BRE page 2" in people
    await coordinator.say(coordination, "!aiguilleurs gestion BRE page 2")
    second = plain((await coordinator.message("Aiguilleur·euses")).body)
    assert "Page 2 sur 2" in second and "Renfort 11" in second
    await coordinator.say(coordination, "!ressources gestion")
    resources = plain((await coordinator.message("Ressources du catalogue")).body)
    assert "!ressources gestion page 2" in resources
