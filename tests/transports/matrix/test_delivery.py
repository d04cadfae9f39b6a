"""Nothing is lost when the homeserver is down, nothing is sent twice, and
Synapse's rate limit is honoured: the outbox towards Matrix."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from datetime import timedelta

from nio import RoomSendError
from sqlalchemy import select

from bot.delivery.outbox import RetryAfter, Sent
from bot.delivery.payloads import from_row
from bot.transports.matrix.sender import classify
from storage.models.core import OutboxMessage
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
    again = await bot.matrix.sender.send(row.address, from_row(row.payload))
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
