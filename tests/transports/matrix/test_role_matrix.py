"""Every declared coordination command on Matrix, against a real Synapse: typed in
the coordinators' room by a coordinator it is carried out (never refused, never
an error); typed by a stranger in a direct chat with the bot it is refused,
except what anyone may do."""

from __future__ import annotations

from nio import RoomCreateResponse
from sqlalchemy import select

from dialogs.assignment.commands import COMMANDS as DESK_COMMANDS
from dialogs.kernel.commands import Role, allowed
from storage.models.coordination import CommandLog
from tests.coordination.test_role_matrix import TYPED, typed
from tests.transports.matrix.conftest import World


async def test_every_command_in_the_coordinators_room_and_from_a_stranger(world: World) -> None:
    bot = await world.start()
    sam = await world.member("sam")
    created = await sam.client.room_create(is_direct=True, invite=[world.bot_user.user_id])
    assert isinstance(created, RoomCreateResponse), created
    direct = created.room_id
    await sam.message("!inscription")  # the bot joined the direct chat and greets
    ref = await world.case(world.tg.user("Camille"))
    coordinator, coordination = world.coordinator, world.coordinators_room

    for spec in TYPED:
        text = "!" + typed(spec)[1:].replace("AIG-0001", ref)
        await coordinator.say(coordination, text)
        answer = (await coordinator.message()).body
        assert "réservée aux" not in answer, f"{text} → {answer[:120]}"
        assert "n'a pas pu aboutir" not in answer, f"{text} → {answer[:120]}"
        if spec.bare:
            await coordinator.say(coordination, "!annuler")
            await coordinator.message("annulé")

        await sam.say(direct, text)
        refusal = (await sam.message()).body
        if DESK_COMMANDS.find(spec.words.split()[0]) is not None:
            # The aiguilleurs' own command of that name answers first (and refuses).
            assert "réservées aux aiguilleur" in refusal, f"{text} → {refusal[:120]}"
        else:
            refused = "réservée aux" in refusal
            assert refused != allowed(spec, Role.ANYONE), f"{text} → {refusal[:120]}"
        if spec.bare:
            await sam.say(direct, "!annuler")
            await sam.message("annulé")

    async with bot.db.unit() as uow:
        rows = (await uow.session.scalars(select(CommandLog))).all()
    assert len({row.command for row in rows if row.role == "coordinator"}) == len(TYPED)
    assert all(row.outcome != "error" for row in rows)
    # The aiguilleurs' own commands refused to the stranger are logged too.
    desk_words = {typed(spec)[1:].split()[0] for spec in TYPED} & set(DESK_COMMANDS.by_word)
    refused = {(row.command, row.actor) for row in rows if row.outcome == "refused"}
    for word in desk_words:
        spec = DESK_COMMANDS.find(word)
        assert spec is not None and (spec.name, sam.id) in refused, word
