"""Several dispatchers on one database: outbox rows claimed with a lease
(bot/delivery/outbox.py, storage/repos/outbox.py). Every row sent once and each
conversation in order across processes; a process that dies mid-send has its
rows taken over after the lease, the row it was sending sent once more and
counted in /metrics, never a third time."""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.delivery.outbox import Dispatcher
from bot.delivery.pacing import NoPacing
from bot.delivery.payloads import Message, Payload
from bot.delivery.results import RetryAfter, Scope, SendResult, Sent
from bot.runtime.clock import FakeClock, SystemClock
from bot.transports.http.metrics import Metrics
from storage.db import Database
from storage.migrate import upgrade
from storage.models.core import OutboxMessage
from tests.fakes import postgres as pg

TELEGRAM = "telegram"
# Owners on machines of their own: only the end of their lease frees their rows.
ON_A = "machine-a-101-aaaa"
ON_B = "machine-b-202-bbbb"
ON_C = "machine-c-303-cccc"


class Recorder:
    """A sender that records what reaches each chat, and by whom; `hold` makes
    the sends of one text hang until `answer` is set (a send in flight when the
    process dies, or when it is asked to stop)."""

    def __init__(self, log: list[tuple[str, str, str]], owner: str, hold: str = "") -> None:
        self.log = log
        self.owner = owner
        self.hold = hold
        self.holding = asyncio.Event()
        self.answer = asyncio.Event()
        self.delay: Callable[[], float] = lambda: 0.0

    async def send(self, address: str, payload: Payload) -> SendResult:
        assert isinstance(payload, Message)
        self.log.append((self.owner, address, payload.html))
        if payload.html == self.hold:
            self.holding.set()
            await self.answer.wait()
        await asyncio.sleep(self.delay())
        return Sent(external_id=f"{address}:{payload.html}")


def dispatcher(
    db: Database,
    clock: FakeClock | SystemClock,
    sender: Recorder,
    may_send: Callable[[], bool] | None = None,
) -> Dispatcher:
    return Dispatcher(
        db,
        clock,
        {TELEGRAM: sender},
        pacer=NoPacing(),
        owner=sender.owner,
        may_send={TELEGRAM: may_send} if may_send is not None else None,
    )


async def queue(db: Database, now_of: Callable[[], object], chat: str, *texts: str) -> None:
    async with db.unit() as uow:
        for text in texts:
            await uow.outbox.enqueue(
                transport=TELEGRAM,
                address=chat,
                payload={"kind": "send", "html": text, "buttons": []},
                now=now_of(),  # type: ignore[arg-type]
            )


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.unit() as uow:
        found = await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(found.all())


def resumed(metrics: Metrics, outcome: str) -> float:
    """`aiguillage_outbox_resumed_total` as /metrics exposes it."""
    for family in text_string_to_metric_families(metrics.render(None)):
        for sample in family.samples:
            if sample.name == "aiguillage_outbox_resumed_total" and sample.labels == {
                "transport": TELEGRAM,
                "outcome": outcome,
            }:
                return sample.value
    raise AssertionError("no aiguillage_outbox_resumed_total sample")


async def test_three_processes_send_every_row_once_in_order(
    postgres_server: pg.PostgresServer,
) -> None:
    """300 rows over 30 conversations, queued in waves while three dispatchers
    (each its own engine and connections, as three processes) deliver them."""
    url = postgres_server.create_database("outbox_lease_three")
    setup = Database(url)
    await upgrade(setup)
    clock = SystemClock()
    log: list[tuple[str, str, str]] = []
    engines = [Database(url) for _ in range(3)]
    senders = [Recorder(log, owner) for owner in (ON_A, ON_B, ON_C)]
    chance = random.Random(16)
    for sender in senders:
        sender.delay = lambda: chance.uniform(0.0, 0.004)
    dispatchers = [dispatcher(db, clock, s) for db, s in zip(engines, senders, strict=True)]
    runs = [asyncio.create_task(d.run(idle_seconds=0.2)) for d in dispatchers]
    chats = [f"{9000 + n}" for n in range(30)]
    try:
        for wave in range(10):
            for chat in chats:
                await queue(setup, clock.now, chat, f"{chat}-{wave}")
            # Each process is woken by its own updates: here, by turns.
            dispatchers[wave % 3].kick()
            await asyncio.sleep(0.01)
        for _ in range(600):
            if len(log) >= 300 and all(r.state == "sent" for r in await rows(setup)):
                break
            await asyncio.sleep(0.05)
    finally:
        for d in dispatchers:
            d.stop()
        await asyncio.gather(*runs, return_exceptions=True)
        for db in engines:
            await db.dispose()
    recorded = await rows(setup)
    await setup.dispose()
    assert len(recorded) == 300
    assert {(r.state, r.attempts, r.lease_owner, r.takeovers) for r in recorded} == {
        ("sent", 1, None, None)
    }
    sends = Counter((address, text) for _, address, text in log)
    assert len(sends) == 300 and set(sends.values()) == {1}
    per_chat: dict[str, list[str]] = defaultdict(list)
    for _, address, text in log:
        per_chat[address].append(text)
    for chat in chats:
        assert per_chat[chat] == [f"{chat}-{wave}" for wave in range(10)]
    by_owner = Counter(owner for owner, _, _ in log)
    assert len(by_owner) >= 2, by_owner  # the work was really shared


async def test_a_dead_process_rows_are_taken_over_after_the_lease(database: Database) -> None:
    """A dies while sending the first row of a conversation (cancelled, nothing
    released). B waits for the lease, then sends that row once more (counted)
    and the rest of the conversation in order; the other conversations were
    never held."""
    clock = FakeClock()
    log: list[tuple[str, str, str]] = []
    await queue(database, clock.now, "1", "x1", "x2", "x3")
    await queue(database, clock.now, "2", "y1", "y2")
    a_sender = Recorder(log, ON_A, hold="x1")
    a = dispatcher(database, clock, a_sender)
    crashing = asyncio.create_task(a.deliver_due())
    await a_sender.holding.wait()
    for _ in range(200):  # chat 2 goes on beside the hung send
        if sum(r.state == "sent" for r in await rows(database)) == 2:
            break
        await asyncio.sleep(0.01)
    crashing.cancel()  # the process dies: no result, no release
    await asyncio.gather(crashing, return_exceptions=True)
    held = {r.payload["html"]: r for r in await rows(database)}
    assert {t: (held[t].state, held[t].lease_owner) for t in ("x1", "x2", "x3")} == {
        t: ("pending", ON_A) for t in ("x1", "x2", "x3")
    }

    metrics = Metrics([TELEGRAM])
    b = dispatcher(database, clock, Recorder(log, ON_B))
    b.on_resumed = metrics.count_resumed
    assert await b.deliver_due() == 0  # A's lease still runs
    clock.advance(timedelta(seconds=30))
    assert await b.deliver_due() == 0
    clock.advance(timedelta(seconds=31))
    assert await b.deliver_due() == 3
    assert [(o, t) for o, a_, t in log if a_ == "1"] == [
        (ON_A, "x1"),
        (ON_B, "x1"),
        (ON_B, "x2"),
        (ON_B, "x3"),
    ]
    assert [t for o, a_, t in log if a_ == "2"] == ["y1", "y2"]
    assert resumed(metrics, "resent") == 1
    assert resumed(metrics, "given_up") == 0
    final = {r.payload["html"]: r for r in await rows(database)}
    assert final["x1"].takeovers == 1 and final["x2"].takeovers is None
    assert {r.state for r in final.values()} == {"sent"}


async def test_a_row_is_never_sent_a_third_time(database: Database) -> None:
    """Two processes die in turn while sending the same row: the third gives it
    up (failed, counted) and sends the rest of the conversation."""
    clock = FakeClock()
    log: list[tuple[str, str, str]] = []
    await queue(database, clock.now, "1", "x1", "x2")
    for owner in (ON_A, ON_B):
        sender = Recorder(log, owner, hold="x1")
        crashing = asyncio.create_task(dispatcher(database, clock, sender).deliver_due())
        await sender.holding.wait()
        crashing.cancel()
        await asyncio.gather(crashing, return_exceptions=True)
        clock.advance(timedelta(seconds=61))
    metrics = Metrics([TELEGRAM])
    c = dispatcher(database, clock, Recorder(log, ON_C))
    c.on_resumed = metrics.count_resumed
    assert await c.deliver_due() == 1
    assert [(o, t) for o, _, t in log] == [(ON_A, "x1"), (ON_B, "x1"), (ON_C, "x2")]
    final = {r.payload["html"]: r for r in await rows(database)}
    assert (final["x1"].state, final["x1"].takeovers) == ("failed", 1)
    assert "third time" in (final["x1"].last_error or "")
    assert resumed(metrics, "given_up") == 1
    assert resumed(metrics, "resent") == 0  # C counted only its give-up


async def test_a_dead_process_on_this_machine_is_taken_over_at_once(
    database: Database,
) -> None:
    """A restarted bot does not wait for the lease of its own previous run: on
    this machine a dead pid is known dead (on SQLite, any other owner is)."""
    clock = FakeClock()
    await queue(database, clock.now, "1", "x1", "x2")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = f"{socket.gethostname()}-{gone.pid}-dead"
    async with database.unit() as uow:
        await uow.outbox.claim(
            TELEGRAM, clock.now(), owner=dead, until=clock.now() + timedelta(seconds=60)
        )
    log: list[tuple[str, str, str]] = []
    metrics = Metrics([TELEGRAM])
    restarted = dispatcher(database, clock, Recorder(log, ON_B))
    restarted.on_resumed = metrics.count_resumed
    assert await restarted.deliver_due() == 2
    assert [t for _, _, t in log] == ["x1", "x2"]
    assert resumed(metrics, "resent") == 1


async def test_rows_left_unsent_are_released(database: Database) -> None:
    """A conversation held back by a retry gives back its later rows, and a
    clean stop gives back every row in hand: neither waits for a lease, and
    neither counts as a takeover."""
    clock = FakeClock()
    log: list[tuple[str, str, str]] = []
    await queue(database, clock.now, "1", "x1", "x2", "x3")

    class Busy(Recorder):
        async def send(self, address: str, payload: Payload) -> SendResult:
            return RetryAfter(seconds=5, reason="busy", scope=Scope.CHAT)

    assert await dispatcher(database, clock, Busy(log, ON_A)).deliver_due() == 0
    assert {(r.payload["html"], r.lease_owner) for r in await rows(database)} == {
        ("x1", None),
        ("x2", None),
        ("x3", None),
    }

    clock.advance(timedelta(seconds=6))
    sender = Recorder(log, ON_B, hold="x2")
    stopping = dispatcher(database, clock, sender)
    run = asyncio.create_task(stopping.run(idle_seconds=0.2))
    await sender.holding.wait()
    stopping.stop()
    sender.answer.set()  # the send in hand finishes; no other starts
    await run
    leased = {r.payload["html"]: (r.state, r.lease_owner) for r in await rows(database)}
    assert leased == {"x1": ("sent", None), "x2": ("sent", None), "x3": ("pending", None)}
    metrics = Metrics([TELEGRAM])
    after = dispatcher(database, clock, Recorder(log, ON_C))
    after.on_resumed = metrics.count_resumed
    assert await after.deliver_due() == 1
    assert [(o, t) for o, _, t in log] == [(ON_B, "x1"), (ON_B, "x2"), (ON_C, "x3")]
    assert resumed(metrics, "resent") == 0


async def test_a_lane_this_process_may_not_send_on_claims_nothing(database: Database) -> None:
    """`may_send` false (Matrix, in a process that does not sync): the rows are
    left to the process that may send them, unleased."""
    clock = FakeClock()
    log: list[tuple[str, str, str]] = []
    await queue(database, clock.now, "1", "x1")
    syncing = False
    follower = dispatcher(database, clock, Recorder(log, ON_A), may_send=lambda: syncing)
    assert await follower.deliver_due() == 0
    assert [(r.state, r.lease_owner) for r in await rows(database)] == [("pending", None)]
    syncing = True
    assert await follower.deliver_due() == 1
    assert log == [(ON_A, "1", "x1")]
