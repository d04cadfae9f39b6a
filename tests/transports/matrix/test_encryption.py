"""An aiguilleur's encrypted room: the bot joins it on their invite, posts the
offer encrypted and reads their encrypted answer (persistent store, unverified
device)."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from pathlib import Path

from nio import (
    ForwardedRoomKeyEvent,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageNotice,
    ToDeviceResponse,
)

from bot.transports.matrix.service import ENCRYPTION
from tests.fakes.synapse import RegisteredUser
from tests.transports.matrix.conftest import Member, World


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


def accept_keys_from_their_creator(member: Member) -> None:
    """nio, as a client, takes forwarded room keys only from its own user's
    verified devices; Element (matrix-rust-sdk) also takes a key forwarded by the
    very device that created the session. The test's phone does as Element."""
    olm = member.client.olm
    assert olm is not None
    own_rule = olm._should_accept_forward

    def should_accept(sender: str, sender_key: str, event: ForwardedRoomKeyEvent) -> bool:
        creator = (event.source.get("content") or {}).get("sender_key")
        requested = event.session_id in olm.outgoing_key_requests
        return (requested and creator == sender_key) or own_rule(sender, sender_key, event)

    olm._should_accept_forward = should_accept  # type: ignore[method-assign]


async def test_a_device_signed_in_after_the_offer_reads_it(world: World, tmp_path: Path) -> None:
    await world.start(new_rooms="encrypted")
    alix = await world.member("alix", store=tmp_path / "alix-laptop")
    await alix.sync()  # publishes her laptop's keys
    await world.aiguilleurs(("alix", alix, 2))
    assert await world.rooms() == 1
    await alix.join_invite()
    ref = await world.case(world.tg.user("Camille"))
    offer = await alix.message(ref, "Nouvelle demande")
    assert offer.decrypted

    # Her phone signs in afterwards: the offer reaches it as an unreadable event.
    login = await world.server.request(
        "POST",
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": alix.user.localpart},
            "password": alix.user.password,
            "device_id": "PHONE",
            "initial_device_display_name": "téléphone",
        },
    )
    phone_user = RegisteredUser(
        user_id=alix.id,
        access_token=login["access_token"],
        device_id=login["device_id"],
        password=alix.user.password,
    )
    phone = Member(world.server, phone_user, tmp_path / "alix-phone")
    world.members.append(phone)
    await phone.sync()
    await phone.sync()  # keys uploaded, the bot's device known
    accept_keys_from_their_creator(phone)
    sealed = await phone.until(
        lambda: next(
            (e for e in phone.seen if isinstance(e, MegolmEvent) and e.event_id == offer.event_id),
            None,
        ),
        "the offer, still sealed",
    )
    # As Element does: ask her own devices and the sender's for the key.
    await phone.client.request_room_key(sealed)
    asked = sealed.as_key_request(
        world.bot_user.user_id, phone_user.device_id, request_id=sealed.session_id
    )
    sent = await phone.client.to_device(asked)
    assert isinstance(sent, ToDeviceResponse), sent

    # The bot answers: the phone now reads the sheet.
    def opened() -> object:
        event = phone.client.decrypt_event(sealed)
        return event if isinstance(event, RoomMessageNotice) else None

    def key_arrived() -> bool:
        olm = phone.client.olm
        assert olm is not None
        return (
            olm.inbound_group_store.get(sealed.room_id, sealed.sender_key, sealed.session_id)
            is not None
        )

    await phone.until(key_arrived, "the room key from the bot")
    sheet = opened()
    assert isinstance(sheet, RoomMessageNotice)
    assert ref in sheet.body and "Nouvelle demande" in sheet.body
