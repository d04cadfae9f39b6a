"""Nothing is lost when the homeserver is down, nothing is sent twice, and
Synapse's rate limit is honoured: the outbox towards Matrix."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from datetime import timedelta

from nio import RoomSendError
from sqlalchemy import select

from bot.app import BotService
from bot.config.http import HttpConfig
from bot.delivery.outbox import RetryAfter, Sent
from bot.delivery.pacing import NoPacing
from bot.transports.matrix.sender import classify
from storage.models.core import OutboxMessage
from tests.transports.http.support import healthz
from tests.transports.matrix.conftest import Member, World


async def matrix_rows(world: World) -> list[OutboxMessage]:
    assert world.bot is not None
    async with world.bot.db.unit() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.transport == "matrix")
            .order_by(OutboxMessage.id)
        )
        return list(rows.all())


async def eventually(check: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def accepted_case(world: World) -> tuple[Member, str, str]:
    """Alix holds Camille's case; returns (alix, her room, the case's thread root)."""
    alix = await world.member("alix")
    await world.aiguilleurs(("alix", alix, 2))
    await world.rooms()
    room = await alix.join_invite()
    ref = await world.case(world.tg.user("Camille"))
    offer = await alix.message(ref, "Nouvelle demande")
    await alix.say(room, f"!accepter {ref}")
    await alix.message("Vous suivez la demande")
    return alix, room, offer.event_id


async def test_homeserver_down_then_back_delivers_once(private_world: World) -> None:
    world = private_world
    bot = await world.start()
    alix, _, _ = await accepted_case(world)
    camille = world.tg.get_user(next(u.id for u in world.tg.users))
    await camille.wait_reply()  # "Alix follows your request"

    await world.server.stop()
    await camille.say("Écrit pendant la panne")
    assert "transmis" in ((await camille.wait_reply()).plain_text or "")

    async def tried() -> bool:
        rows = await matrix_rows(world)
        return rows[-1].attempts >= 1 and rows[-1].state == "pending"

    await eventually(tried, "a failed attempt while the homeserver is down")
    (pending,) = [r for r in await matrix_rows(world) if r.state == "pending"]
    assert pending.payload["txn_id"] and pending.last_error

    await world.server.start()
    world.clock.advance(timedelta(minutes=5))
    bot.dispatcher.kick()
    relayed = await alix.message("Écrit pendant la panne")

    async def recorded() -> bool:
        rows = await matrix_rows(world)
        return next(r for r in rows if r.id == pending.id).state == "sent"

    await eventually(recorded, "the row marked sent")
    row = next(r for r in await matrix_rows(world) if r.id == pending.id)
    assert row.external_id == relayed.event_id
    # A crash between the send and its record sends the row again: the stored
    # transaction id makes Synapse answer with the same event, not a new one.
    assert bot.matrix is not None
    again = await bot.matrix.sender.send(row.address, row.payload)
    assert again == Sent(external_id=relayed.event_id)
    await alix.say(next(iter(alix.client.rooms)), "!mes-dossiers")
    await alix.message("Vos demandes en cours")
    copies = [e for e in alix.seen if "Écrit pendant la panne" in getattr(e, "body", "")]
    assert len(copies) == 1


async def test_rate_limit_is_honoured_then_lifted(private_world: World) -> None:
    world = private_world
    bot = await world.start()
    alix, _, _ = await accepted_case(world)
    admin = await world.server.admin()
    quoted = urllib.parse.quote(world.bot_user.user_id, safe="")
    path = f"/_synapse/admin/v1/users/{quoted}/override_ratelimit"
    # A strict limit for the bot's account: one message a second, no burst.
    await world.server.request(
        "POST", path, {"messages_per_second": 1, "burst_count": 1}, token=admin.access_token
    )
    camille = world.tg.get_user(next(u.id for u in world.tg.users))
    await camille.say("Premier")
    await camille.say("Second")
    await camille.say("Troisième")

    async def limited() -> bool:
        return any("M_LIMIT_EXCEEDED" in (r.last_error or "") for r in await matrix_rows(world))

    await eventually(limited, "a 429 from Synapse")
    assert bot.dispatcher.paused("matrix")
    # What docs/matrix.md tells operators to do: lift the limit for the bot.
    await world.server.override_ratelimit(world.bot_user.user_id)
    world.clock.advance(timedelta(minutes=5))
    bot.dispatcher.kick()
    for text in ("Premier", "Second", "Troisième"):
        await alix.message(text)
    relayed = [e.body for e in alix.seen if "💬" in getattr(e, "body", "")]
    assert [body.split("\n")[-1] for body in relayed] == ["Premier", "Second", "Troisième"]


def test_limit_exceeded_becomes_retry_after() -> None:
    error = RoomSendError("too many", "M_LIMIT_EXCEEDED", retry_after_ms=1500)
    result = classify(error)
    assert isinstance(result, RetryAfter) and result.seconds == 1.5 and "429" in result.reason
    assert classify(RoomSendError("no", "M_FORBIDDEN")) == RetryAfter(
        seconds=None, reason="M_FORBIDDEN: no"
    )
    assert type(classify(RoomSendError("bad", "M_BAD_JSON"))).__name__ == "Failed"


async def test_offer_posted_after_an_outage_gets_its_whole_delay(private_world: World) -> None:
    """The offer's delay (1 h here) counts from its posting in the room, not from
    its creation while the homeserver was down."""
    world = private_world
    bot = await world.start()
    assert bot.matrix is not None
    alix = await world.member("alix")
    await world.aiguilleurs(("alix", alix, 2))
    await world.rooms()
    await alix.join_invite()

    await world.server.stop()
    ref = await world.case(world.tg.user("Camille"))
    world.clock.advance(timedelta(hours=2))  # twice the offer's delay, still down
    assert await bot.matrix.desk.tick() == 0

    await world.server.start()
    world.clock.advance(timedelta(minutes=5))  # past the outbox's back-off
    bot.dispatcher.kick()
    offer = await alix.message(ref, "Nouvelle demande")
    assert "d'ici 1 h," in offer.body
    posted = world.clock.now()

    async def deadline_set() -> bool:
        async with bot.db.unit() as uow:
            row = await uow.assignments.by_offer_event(offer.event_id)
            return row is not None and row.deadline is not None

    await eventually(deadline_set, "the offer's deadline set at its posting")
    async with bot.db.unit() as uow:
        row = await uow.assignments.by_offer_event(offer.event_id)
        assert row is not None and row.deadline is not None
        assert row.deadline >= posted + timedelta(minutes=59)
    assert await bot.matrix.desk.tick() == 0  # not expired 15 s later
    world.clock.advance(timedelta(minutes=61))
    assert await bot.matrix.desk.tick() == 1
    await alix.message(ref, "Sans réponse")


async def test_healthz_degraded_while_the_homeserver_is_down_or_hung(
    private_world: World,
) -> None:
    world = private_world
    config = dataclasses.replace(world.config(), http=HttpConfig(host="127.0.0.1", port=0))
    world.bot = bot = BotService(config, clock=world.clock, rate_limit=False, pacer=NoPacing())
    await bot.start()
    status, body = await healthz(bot)
    assert (status, body["status"], body["matrix"]) == (200, "ok", "ok")

    # Hung: the homeserver takes the sync's request and never answers.
    pid = world.server.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        world.clock.advance(timedelta(minutes=1))
        status, body = await healthz(bot)
        # Degraded, not down: Telegram is still served, a restart would not help.
        assert (status, body["status"], body["matrix"]) == (200, "degraded", "stalled")
    finally:
        os.kill(pid, signal.SIGCONT)

    def matrix_is(state: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return (await healthz(bot))[1].get("matrix") == state

        return check

    await eventually(matrix_is("ok"), "the sync back after the homeserver woke up", 20)
    # Down: the sync fails at once.
    await world.server.stop()
    await eventually(matrix_is("unreachable"), "a failed sync while the homeserver is down", 20)
    assert (await healthz(bot))[1]["status"] == "degraded"
    await world.server.start()
    await eventually(matrix_is("ok"), "the sync back with the homeserver", 40)
    assert (await healthz(bot))[1]["status"] == "ok"
