"""Repositories of the Matrix side, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialogs.catalog.load import AiguilleurProfile, Catalog
from storage.db import Database

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


async def test_assignments_queue_rooms_and_sync_token(database: Database) -> None:
    profile = AiguilleurProfile(id="alix", name="Alix", matrix_id="@alix:x", themes=("gestion",))
    async with database.unit() as uow:
        await uow.catalog.apply(
            Catalog(aiguilleurs=(profile,), sections=frozenset({"aiguilleurs"})), NOW
        )
        case = await uow.cases.create(person_id=None, locale="fr", sheet={}, now=NOW)
        await uow.matrix.set_room("alix", "!a:x", created_by_bot=True, now=NOW)
        offer = await uow.assignments.offer(
            case=case, aiguilleur_id="alix", room_id="!a:x", deadline=NOW, now=NOW
        )
        offer.offer_txn_id = "aig-1"
        assert await uow.assignments.enqueue(case.id, NOW) is True
        assert await uow.assignments.enqueue(case.id, NOW) is False  # told once
        await uow.matrix.save_sync_token("s1", NOW)
        await uow.matrix.save_sync_token("s2", NOW)
    async with database.unit() as uow:
        assert await uow.catalog.active_case_counts() == {"alix": 1}
        assert [c.id for c in await uow.assignments.waiting()] == [case.id]
        assert await uow.assignments.expired_ids(NOW + timedelta(seconds=1)) == [offer.id]
        await uow.assignments.set_offer_event_by_txn("aig-1", "$offer")
        found = await uow.assignments.by_offer_event("$offer")
        assert found is not None and found.id == offer.id
        assert await uow.assignments.tried(case.id) == {"alix"}
        assert await uow.matrix.sync_token() == "s2"
        assert await uow.matrix.owner_of("!a:x") == "alix"
        assert await uow.matrix.without_room() == []
        person = await uow.matrix.aiguilleur_by_matrix_id("@alix:x")
        assert person is not None and person.id == "alix"
        await uow.assignments.move(found, "declined", now=NOW, reason="non")
        await uow.assignments.dequeue(case.id)
    async with database.unit() as uow:
        assert await uow.catalog.active_case_counts() == {}
        assert await uow.assignments.waiting() == []
        # A configured room replaces the one the bot created.
        await uow.matrix.set_room("alix", "!b:x", created_by_bot=False, now=NOW)
        assert await uow.matrix.rooms() == {"alix": "!b:x"}


async def test_shared_matrix_id_always_finds_the_same_aiguilleur(database: Database) -> None:
    """Two catalog entries with one Matrix id: the first by id, even after the other was
    updated (PostgreSQL then returns rows in another order when nothing orders them)."""
    profiles = tuple(
        AiguilleurProfile(id=slug, name=slug.capitalize(), matrix_id="@duo:x", themes=("gestion",))
        for slug in ("alix", "bao")
    )
    async with database.unit() as uow:
        await uow.catalog.apply(
            Catalog(aiguilleurs=profiles, sections=frozenset({"aiguilleurs"})), NOW
        )
    for available in (False, True):
        async with database.unit() as uow:
            await uow.matrix.set_available("alix", available, NOW)
        async with database.unit() as uow:
            person = await uow.matrix.aiguilleur_by_matrix_id("@duo:x")
            assert person is not None and person.id == "alix"
