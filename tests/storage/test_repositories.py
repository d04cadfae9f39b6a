"""Repositories on SQLite and PostgreSQL: dedup by primary key, case numbering,
outbox ordering, aware UTC times."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from storage.repos.inbox import DuplicateUpdate

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


async def test_same_update_claimed_twice_is_refused(database: Database) -> None:
    async with database.unit() as uow:
        await uow.inbox.claim("telegram", "42", NOW)
    with pytest.raises(DuplicateUpdate):
        async with database.unit() as uow:
            await uow.inbox.claim("telegram", "42", NOW)
    async with database.unit() as uow:
        await uow.inbox.claim("console", "42", NOW)  # other transport, other id space


async def test_concurrent_claims_of_one_update_let_one_through(database: Database) -> None:
    async def claim() -> bool:
        try:
            async with database.unit() as uow:
                await uow.inbox.claim("telegram", "7", NOW)
                await asyncio.sleep(0.05)
            return True
        except DuplicateUpdate:
            return False

    results = await asyncio.gather(*(claim() for _ in range(4)))
    assert sorted(results) == [False, False, False, True]


async def test_old_processed_ids_are_purged(database: Database) -> None:
    async with database.unit() as uow:
        await uow.inbox.claim("telegram", "1", NOW - timedelta(days=3))
        await uow.inbox.claim("telegram", "2", NOW)
    async with database.unit() as uow:
        assert await uow.inbox.purge_before(NOW - timedelta(days=2)) == 1


async def test_cases_are_numbered_without_gaps_or_repeats(database: Database) -> None:
    async def create() -> str:
        async with database.unit() as uow:
            case = await uow.cases.create(
                person_id=None, locale="fr", sheet={"lieu_name": "L"}, now=NOW
            )
            return case.ref

    refs = await asyncio.gather(*(create() for _ in range(5)))
    assert sorted(refs) == [f"AIG-000{i}" for i in range(1, 6)]


async def test_times_come_back_aware_utc(database: Database) -> None:
    paris = datetime(2026, 7, 1, 12, 0, tzinfo=UTC).astimezone()
    async with database.unit() as uow:
        case = await uow.cases.create(person_id=None, locale="fr", sheet={}, now=paris)
    async with database.unit() as uow:
        loaded = await uow.cases.by_ref(case.ref)
    assert loaded is not None
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at == paris


async def test_outbox_keeps_order_per_chat_and_holds_a_delayed_chat(database: Database) -> None:
    async with database.unit() as uow:
        first = await uow.outbox.enqueue(
            transport="telegram", address="1", payload={"n": 1}, now=NOW
        )
        await uow.outbox.enqueue(transport="telegram", address="1", payload={"n": 2}, now=NOW)
        await uow.outbox.enqueue(transport="telegram", address="2", payload={"n": 3}, now=NOW)
    async with database.unit() as uow:
        due = await uow.outbox.due("telegram", NOW)
        assert [row.payload["n"] for row in due] == [1, 2, 3]
        await uow.outbox.retry_later(first.id, at=NOW + timedelta(seconds=30), error="429")
    async with database.unit() as uow:
        due = await uow.outbox.due("telegram", NOW)
        # Chat 1 waits for its first message; chat 2 is not held up.
        assert [row.payload["n"] for row in due] == [3]
        later = await uow.outbox.due("telegram", NOW + timedelta(seconds=31))
        assert [row.payload["n"] for row in later] == [1, 2, 3]
