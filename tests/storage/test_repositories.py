"""Repositories on SQLite and PostgreSQL: dedup by primary key, case numbering,
outbox ordering, aware UTC times."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from storage.repos.conversations import ChatRow
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


async def test_a_chats_row_answers_what_each_update_would_ask(database: Database) -> None:
    """The chat's row carries four answers (storage/repos/conversations.py) that the
    runtime reads instead of asking: each agrees with the query it spares."""
    chat = {"transport": "telegram", "address": "501"}

    async def row_and_queries() -> tuple[ChatRow, tuple[bool, bool, bool, bool]]:
        async with database.unit() as uow:
            row = await uow.conversations.for_update(**chat)
            assert row is not None
            asked = (
                await uow.nudges.any_blocked(**chat),
                await uow.nudges.awaiting_text(**chat) is not None,
                bool(await uow.cases.of_person(person_id)),
                await uow.coordination.pending(**chat, actor="501", now=NOW) is not None,
            )
        return row, asked

    async with database.unit() as uow:
        person = await uow.people.record_consent(
            transport="telegram", external_id="501", display_name="A", locale="fr", now=NOW
        )
        person_id = person.id
        await uow.conversations.save(None, **chat, person_id=person_id, state={}, now=NOW)
    row, asked = await row_and_queries()
    assert (row.nudges_blocked, row.nudge_awaits_text, row.has_cases, row.pending_action) == (
        False,
        False,
        False,
        False,
    )
    assert asked == (False, False, False, False)

    async with database.unit() as uow:
        case = await uow.cases.create(person_id=person_id, locale="fr", sheet={}, now=NOW)
        first, _pending = await uow.nudges.schedule(
            case_id=case.id,
            **chat,
            locale="fr",
            steps=[("j7", NOW), ("j30", NOW + timedelta(days=30))],
            now=NOW,
        )
        await uow.nudges.mark_sent(first.id, now=NOW, escalate_at=NOW + timedelta(days=2))
        await uow.coordination.set_pending(
            **chat,
            actor="501",
            kind="inscription",
            data={},
            now=NOW,
            expires_at=NOW + timedelta(hours=1),
        )
    row, asked = await row_and_queries()
    assert (row.nudges_blocked, row.nudge_awaits_text, row.has_cases, row.pending_action) == (
        False,
        True,
        True,
        True,
    )
    assert asked == (False, True, True, True)

    async with database.unit() as uow:
        await uow.nudges.mark_blocked([first.id], now=NOW)
    row, asked = await row_and_queries()
    assert (row.nudges_blocked, row.nudge_awaits_text) == (True, False)
    assert asked[:2] == (True, False)
