"""What aiguilleurs and coordinators read on Matrix after the fixes of issue 14
(items 14–17), typed in rooms of a real Synapse: nudges after an aiguilleur
closes a case, next-page hints that keep their filters, the inscription's
texts, help and sheets."""

from __future__ import annotations

from datetime import timedelta

from dialogs.catalog.entries import Resource
from dialogs.catalog.load import AiguilleurProfile, Catalog
from tests.transports.matrix.conftest import World


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


async def test_added_aiguilleur_help_sheet_and_coordinator_outside_their_room(
    world: World,
) -> None:
    await world.start()
    coordinator, coordination = world.coordinator, world.coordinators_room
    nina = await world.member("nina")
    # A coordinator adds an aiguilleur: the room the bot makes for her has a word in it.
    await coordinator.say(coordination, f"!aiguilleur ajouter {nina.id} Nina Nouvelle")
    await coordinator.message("Nina Nouvelle")
    assert await world.rooms() == 1
    room = await nina.join_invite()
    welcome = await nina.message("Bonjour Nina Nouvelle")
    assert "!accepter AIG-0042" in welcome.body and "!intervention" in welcome.body
    assert "!admin" not in welcome.body

    # Her !aide lists !intervention too.
    await nina.say(room, "!aide")
    help_text = await nina.message("Commandes d'Aiguillage")
    assert "!intervention AIG-0042" in help_text.body and "!dispo" in help_text.body

    # The sheet she reads speaks of the person's role, not "Votre rôle".
    async with world.bot.db.unit() as uow:  # type: ignore[union-attr]
        person = await uow.catalog.aiguilleur("nina-nouvelle")
        assert person is not None
        person.themes = ["gestion"]
        person.available = True
    ref = await world.case(world.tg.user("Camille"))
    offer = plain((await nina.message(ref, "Nouvelle demande")).body)
    assert "Votre rôle" not in offer and "Rôle de la personne" in offer
    await nina.say(room, f"!accepter {ref}")
    await nina.message("Vous suivez la demande")
    await nina.say(room, f"!dossier {ref}")
    sheet = plain((await nina.message(f"Demande {ref}")).body)
    assert "Votre rôle" not in sheet and "Rôle de la personne" in sheet

    # A coordinator typing !dossier in a direct chat with the bot gets the case.
    created = await coordinator.client.room_create(
        is_direct=True, invite=[world.bot_user.user_id]
    )
    direct = created.room_id  # type: ignore[union-attr]
    await coordinator.say(direct, f"!dossier {ref}")
    answer = plain((await coordinator.message(f"Dossier {ref}")).body)
    assert "réservées aux aiguilleur" not in answer and "Quimper" in answer
    assert "Rôle de la personne" in answer
