"""Each transport delivers on its own (bot/delivery/outbox.py, one lane each):
a homeserver that hangs does not hold what people are told on Telegram, and a
Telegram backlog does not hold what aiguilleurs are told on Matrix.

Times are the fake Bot API's records (`ApiCall.at`, the wall clock) against
the moment the person's update was pushed; the bound asserted is the issue's
1 s with a generous margin for a loaded machine, and in every case far below
the time the other transport is held."""

from __future__ import annotations

import asyncio
import time

from bot.app import BotService
from bot.delivery import payloads
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.transports.matrix.conftest import World
from tests.transports.matrix.test_delivery import accepted_case, matrix_rows

# How long the homeserver stays frozen at most, and the bound asserted on a
# Telegram reply meanwhile (the 1 s; the margin is for a shared machine).
FREEZE = 15.0
REPLY_BOUND = 3.0
# Rows queued to one Telegram chat: at one a second per chat, a pass over them
# takes this many seconds.
BACKLOG = 40


def first_send_after(tg: FakeTelegram, person: FakeUser, since: float) -> float:
    """Seconds from `since` to the bot's first message to `person` after it."""
    times = [
        call.at
        for call in tg.calls
        if call.method == "sendMessage"
        and call.status == 200
        and str(call.params.get("chat_id")) == str(person.id)
        and call.at >= since
    ]
    assert times, f"nothing sent to {person.first_name}"
    return min(times) - since


async def test_a_frozen_homeserver_does_not_hold_telegram_replies(private_world: World) -> None:
    world = private_world
    await world.start()
    alix, _, _ = await accepted_case(world)
    camille = world.tg.get_user(next(u.id for u in world.tg.users))
    await camille.wait_reply()  # "Alix follows your request"
    dana = world.tg.user("Dana")

    with world.server.frozen():
        frozen_at = time.monotonic()
        # Camille writes to Alix: the relay waits for the homeserver, her
        # acknowledgement on Telegram must not.
        said = time.time()
        await camille.say("Écrit pendant le gel")
        ack = await camille.wait_reply(timeout=FREEZE)
        assert "transmis" in (ack.plain_text or "")
        camille_delay = first_send_after(world.tg, camille, said)
        # Someone new starts an intake meanwhile.
        said = time.time()
        await dana.say("bonjour")
        await dana.wait_reply(timeout=FREEZE)
        dana_delay = first_send_after(world.tg, dana, said)
        # The relay is still waiting: the homeserver really is frozen.
        pending = [r for r in await matrix_rows(world) if r.state == "pending"]
        assert any("Écrit pendant le gel" in str(r.payload) for r in pending)
        held = time.monotonic() - frozen_at
    assert held < FREEZE
    assert camille_delay < REPLY_BOUND, camille_delay
    assert dana_delay < REPLY_BOUND, dana_delay

    # Thawed: the send in hand completes and the relay is out, once.
    await alix.message("Écrit pendant le gel")
    await asyncio.sleep(0.5)
    await alix.sync()
    copies = [e for e in alix.seen if "Écrit pendant le gel" in getattr(e, "body", "")]
    assert len(copies) == 1


async def test_a_telegram_backlog_does_not_hold_matrix(private_world: World) -> None:
    world = private_world
    # Paced as in production: one message a second per Telegram chat.
    world.bot = BotService(world.config(), clock=world.clock, rate_limit=True)
    await world.bot.start()
    bot = world.bot
    alix, _, _ = await accepted_case(world)
    camille = world.tg.get_user(next(u.id for u in world.tg.users))
    await camille.wait_reply()
    dana = world.tg.user("Dana")
    # A backlog in one chat (a long answer in many parts, a broadcast...).
    async with bot.db.unit() as uow:
        await uow.outbox.enqueue_all(
            transport="telegram",
            address=str(dana.id),
            payloads=[payloads.message(f"Partie {n}") for n in range(BACKLOG)],
            now=world.clock.now(),
        )
    bot.dispatcher.kick()
    await dana.wait_reply(timeout=5)  # the backlog is being worked through

    began, said = time.monotonic(), time.time()
    await camille.say("Pendant l'embouteillage")
    relayed = await alix.message("Pendant l'embouteillage")
    relay_delay = time.monotonic() - began
    delivered = sum(1 for c in world.tg.calls if str(c.params.get("chat_id")) == str(dana.id))
    # Dana's chat is still being worked through while the relay is out.
    assert delivered < BACKLOG, delivered
    assert relayed.body.endswith("Pendant l'embouteillage")
    assert relay_delay < BACKLOG / 4, relay_delay
    # Nor does it hold another Telegram chat: Camille's acknowledgement.
    ack = await camille.wait_reply()
    assert "transmis" in (ack.plain_text or "")
    assert first_send_after(world.tg, camille, said) < REPLY_BOUND
