"""The outbox towards a Bot API that misbehaves: 429 honoured, 5xx retried,
blocked chats not retried, order kept per chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from bot.coordination.call import AdminCall, Services
from bot.delivery.marks import SentMarks
from bot.delivery.outbox import Dispatcher
from bot.runtime.clock import FakeClock
from bot.transports.telegram.transport import TRANSPORT, TelegramSender, build_application
from dialogs.coordination.access import Actor
from dialogs.kernel.commands import Role
from dialogs.kernel.replies import msg
from storage.db import Database
from storage.migrate import upgrade
from storage.models.core import OutboxMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.transports.telegram.harness import TOKEN, bot_config


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def parts(
    tg: FakeTelegram, tmp_path: Path
) -> AsyncIterator[tuple[Database, Dispatcher, FakeClock]]:
    config = bot_config(tg, tmp_path)
    db = Database(config.database.url)
    await upgrade(db)
    clock = FakeClock()
    application = build_application(config.telegram, TOKEN)
    dispatcher = Dispatcher(db, clock, {TRANSPORT: TelegramSender(application)})
    await application.initialize()
    try:
        yield db, dispatcher, clock
    finally:
        await application.shutdown()
        await db.dispose()


async def queue(db: Database, clock: FakeClock, chat: int, *texts: str) -> None:
    async with db.unit() as uow:
        for text in texts:
            await uow.outbox.enqueue(
                transport=TRANSPORT,
                address=str(chat),
                payload={"kind": "send", "html": text, "buttons": []},
                now=clock.now(),
            )


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.unit() as uow:
        return list(
            (await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        )


async def test_retry_after_is_honoured_and_order_kept(
    tg: FakeTelegram, parts: tuple[Database, Dispatcher, FakeClock]
) -> None:
    db, dispatcher, clock = parts
    alice = tg.user("Alice")
    await queue(db, clock, alice.id, "un", "deux")
    tg.fail_next("sendMessage", status=429, retry_after=7)
    assert await dispatcher.deliver_due() == 0
    assert tg.stats.rate_limited == 1
    assert await dispatcher.deliver_due() == 0  # not before retry_after
    clock.advance(timedelta(seconds=8))
    assert await dispatcher.deliver_due() == 2
    assert [m.plain_text for m in alice.messages] == ["un", "deux"]


async def test_server_errors_are_retried_with_backoff(
    tg: FakeTelegram, parts: tuple[Database, Dispatcher, FakeClock]
) -> None:
    db, dispatcher, clock = parts
    alice = tg.user("Alice")
    await queue(db, clock, alice.id, "bonjour")
    tg.fail_next("sendMessage", status=502)
    assert await dispatcher.deliver_due() == 0
    (row,) = await rows(db)
    assert row.state == "pending" and row.attempts == 1
    clock.advance(timedelta(minutes=1))
    assert await dispatcher.deliver_due() == 1
    assert [m.plain_text for m in alice.messages] == ["bonjour"]


async def test_blocked_chat_is_not_retried(
    tg: FakeTelegram, parts: tuple[Database, Dispatcher, FakeClock]
) -> None:
    db, dispatcher, clock = parts
    alice, bob = tg.user("Alice"), tg.user("Bob")
    tg.block(alice)
    await queue(db, clock, alice.id, "pour Alice")
    await queue(db, clock, bob.id, "pour Bob")
    assert await dispatcher.deliver_due() == 1
    clock.advance(timedelta(hours=1))
    assert await dispatcher.deliver_due() == 0
    states = {row.address: (row.state, row.attempts) for row in await rows(db)}
    assert states[str(alice.id)] == ("failed", 1)
    assert states[str(bob.id)][0] == "sent"
    assert tg.stats.calls["sendMessage"] == 2


async def test_long_text_is_split_under_telegram_limit(
    tg: FakeTelegram, parts: tuple[Database, Dispatcher, FakeClock]
) -> None:
    db, dispatcher, clock = parts
    alice = tg.user("Alice")
    long_lines = "\n".join("ligne " + "é" * 90 for _ in range(120))
    await queue(db, clock, alice.id, long_lines)
    assert await dispatcher.deliver_due() == 1
    assert len(alice.messages) >= 3
    assert all(len(m.plain_text or "") <= 4096 for m in alice.messages)
    assert "\n".join(m.plain_text or "" for m in alice.messages) == long_lines


async def test_many_chats_at_once_each_row_recorded_once(
    tg: FakeTelegram, parts: tuple[Database, Dispatcher, FakeClock]
) -> None:
    """Chats served concurrently: every row sent and recorded once, with the id
    Telegram gave it, each chat in order."""
    db, dispatcher, clock = parts
    people = [tg.user(f"P{n}") for n in range(12)]
    for person in people:
        await queue(db, clock, person.id, "un", "deux", "trois")
    assert await dispatcher.deliver_due() == 36
    for person in people:
        assert [m.plain_text for m in person.messages] == ["un", "deux", "trois"]
    recorded = await rows(db)
    assert {(row.state, row.attempts) for row in recorded} == {("sent", 1)}
    for person in people:
        ids = [int(r.external_id or 0) for r in recorded if r.address == str(person.id)]
        assert ids == [m.message_id for m in person.messages]
    assert await dispatcher.deliver_due() == 0


async def test_marks_that_come_together_share_one_transaction(
    parts: tuple[Database, Dispatcher, FakeClock],
) -> None:
    """Sends that finish at the same moment (bot/delivery/marks.py) are recorded
    in one transaction; each waiter returns once its own row is committed."""
    db, _dispatcher, clock = parts
    await queue(db, clock, 1, *(f"m{n}" for n in range(12)))
    ids = [row.id for row in await rows(db)]
    marks = SentMarks(db, clock)
    commits = 0

    def count(_connection: object) -> None:
        nonlocal commits
        commits += 1

    for engine in db.sync_engines:
        event.listen(engine, "commit", count)
    try:
        await asyncio.gather(*(marks.mark(row_id, f"x{row_id}") for row_id in ids))
    finally:
        for engine in db.sync_engines:
            event.remove(engine, "commit", count)
    assert commits == 1
    recorded = await rows(db)
    assert [(r.state, r.external_id, r.attempts) for r in recorded] == [
        ("sent", f"x{row_id}", 1) for row_id in ids
    ]


@pytest.mark.parametrize(
    ("content", "filename", "mime"),
    [
        ("réf;lieu\nAIG-0001;La Fabrique\n".encode(), "dossiers.csv", "text/csv"),
        (bytes(range(256)) * 4, "archive.zip", "application/zip"),
    ],
    ids=["text", "binary"],
)
async def test_a_coordinator_receives_a_file(
    tg: FakeTelegram,
    parts: tuple[Database, Dispatcher, FakeClock],
    content: bytes,
    filename: str,
    mime: str,
) -> None:
    """`AdminCall.file("document", …)` as a coordination handler calls it: the
    coordinator's chat gets that very file (the row once held `data_b64`, which
    the Telegram sender never read)."""
    db, dispatcher, clock = parts
    coordinator = tg.user("Coline")
    async with db.unit() as uow:
        call = AdminCall(
            uow=uow,
            actor=Actor(
                transport=TRANSPORT, external_id=str(coordinator.id), role=Role.COORDINATOR
            ),
            now=clock.now(),
            locale="fr",
            prefix="/",
            transport=TRANSPORT,
            address=str(coordinator.id),
            services=Services(),
        )
        await call.file("document", content, filename, mime, caption=(msg("report.title"),))
    assert await dispatcher.deliver_due() == 1
    received = await coordinator.wait_reply()
    assert received.kind == "document"
    assert received.filename == filename
    assert received.data == content
    assert received.plain_text
