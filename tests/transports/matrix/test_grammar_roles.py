"""The one command grammar on a real Synapse: each role's commands in French and
in English, a command of another role refused politely, the help of each role,
and one reading per message (its processed update, its command-log line)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from nio import RoomCreateResponse
from sqlalchemy import select

import bot.assignment.desk as desk_module
from storage.models.coordination import CommandLog
from tests.transports.matrix.conftest import World


def plain(body: str) -> str:
    return body.replace("\u00a0", " ")


async def test_each_role_in_both_languages_and_refused_elsewhere(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every reading of a Matrix message goes through the desk's `parse`: count them.
    read: list[str] = []
    real_parse = desk_module.parse

    def counted(text: str, *rest: Any) -> Any:
        read.append(text)
        return real_parse(text, *rest)

    monkeypatch.setattr(desk_module, "parse", counted)
    bot = await world.start()
    alix = await world.member("alix")
    await world.aiguilleurs(("alix", alix, 2))
    await world.rooms()
    room = await alix.join_invite()
    ref = await world.case(world.tg.user("Camille"))
    await alix.message(ref, "Nouvelle demande")

    # The aiguilleur, in English: !accept is !accepter.
    await alix.say(room, f"!accept {ref}")
    await alix.message("Vous suivez la demande", ref)
    await alix.say(room, "!mine")
    await alix.message(ref, "Vos demandes en cours")
    # Their help: exactly their commands (the desk's and !intervention).
    await alix.say(room, "!help")
    helped = plain((await alix.message("Commandes d'Aiguillage")).body)
    assert "!accepter AIG-0042" in helped and "!intervention AIG-0042" in helped
    assert "!assigner" not in helped and "!inscription" not in helped

    # A coordinator's command typed by the aiguilleur: refused politely, and logged.
    await alix.say(room, f"!assign {ref} alix")
    refusal = plain((await alix.message("réservée aux coordinateur·ices")).body)
    assert "n'a pas pu aboutir" not in refusal

    # The coordinator, in English, in their room: !cases is !dossiers; !help is theirs.
    coordinator, coordination = world.coordinator, world.coordinators_room
    await coordinator.say(coordination, "!cases attribue")
    listing = plain((await coordinator.message(ref)).body)
    assert "réservée" not in listing
    await coordinator.say(coordination, "!help")
    theirs = plain((await coordinator.message("Commandes de coordination")).body)
    assert "!assigner" in theirs and "!aiguilleur pause" in theirs and "!dispo" not in theirs

    # Someone who is neither, in a direct chat: an aiguilleur's command is not theirs,
    # the coordination's help lists what anyone may do.
    sam = await world.member("sam")
    created = await sam.client.room_create(is_direct=True, invite=[world.bot_user.user_id])
    assert isinstance(created, RoomCreateResponse), created
    await sam.message("!inscription")  # the bot joined the direct chat and greets
    await sam.say(created.room_id, "!admin")
    anyone = plain((await sam.message("Commandes de coordination")).body)
    assert "!inscription" in anyone and "!dossiers" not in anyone and "!intervention" not in anyone
    await sam.say(created.room_id, f"!accepter {ref}")
    await sam.message("réservées aux aiguilleur")

    assert bot.db is not None
    async with bot.db.unit() as uow:
        rows = (await uow.session.scalars(select(CommandLog).order_by(CommandLog.id))).all()
    logged = [(row.role, row.command, row.outcome) for row in rows]
    assert ("aiguilleur", "assigner", "refused") in logged
    assert ("coordinator", "dossiers", "ok") in logged
    assert ("anyone", "accepter", "refused") in logged
    # One line per command typed, whatever the route, and each message read once.
    assert len([r for r in logged if r[1] == "assigner"]) == 1
    typed = [
        f"!accept {ref}",
        "!mine",
        "!help",
        f"!assign {ref} alix",
        "!cases attribue",
        "!help",
        "!admin",
        f"!accepter {ref}",
    ]
    assert Counter(read) == Counter(typed)
