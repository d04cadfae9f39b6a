"""An aiguilleur's encrypted room: the bot joins it on their invite, posts the
offer encrypted and reads their encrypted answer (persistent store, unverified
device)."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from pathlib import Path

from nio import RoomCreateResponse

from bot.transports.matrix.service import ENCRYPTION
from tests.transports.matrix.conftest import World


async def test_encrypted_room(world: World, tmp_path: Path) -> None:
    bot = await world.start()
    alix = await world.member("alix", store=tmp_path / "alix-store")
    await alix.sync()  # publishes her device keys
    await world.aiguilleurs(("alix", alix, 2))
    created = await alix.client.room_create(
        name="mes demandes", invite=[world.bot_user.user_id], initial_state=[ENCRYPTION]
    )
    assert isinstance(created, RoomCreateResponse), created
    room = created.room_id

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        async with bot.db.unit() as uow:
            if await uow.matrix.room_of("alix") == room:
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the bot never took Alix's room")

    camille = world.tg.user("Camille")
    ref = await world.case(camille)
    offer = await alix.message(ref, "Nouvelle demande")
    assert offer.decrypted
    raw = await world.server.request(
        "GET",
        f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/event/"
        f"{urllib.parse.quote(offer.event_id)}",
        token=alix.user.access_token,
    )
    assert raw["type"] == "m.room.encrypted" and ref not in str(raw["content"])

    await alix.say(room, f"!accepter {ref}")
    told = await camille.wait_reply()
    assert "Alix Aiguilleuse" in (told.plain_text or "")
    confirmed = await alix.message("Vous suivez la demande")
    assert confirmed.decrypted
