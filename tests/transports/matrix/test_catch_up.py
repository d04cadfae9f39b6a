"""A sync resumed from the saved token after a gap (a restart; in a cluster,
another process taking the matrix-sync role) reads every event of the gap,
not only the last ten that Synapse returns by default."""

from __future__ import annotations

import asyncio

from nio import RoomMessageNotice, RoomMessageText

from tests.transports.matrix.conftest import World

# More than Synapse's default timeline limit (10 events per room and sync).
WRITTEN = 15


async def test_every_command_written_while_the_bot_was_away_is_answered(world: World) -> None:
    coordinator = world.coordinator
    room = world.coordinators_room
    bot = await world.start()
    assert bot.matrix is not None
    await coordinator.until(lambda: bot.matrix and bot.matrix.last_sync, "the bot's first sync")
    await world.stop()

    for _ in range(WRITTEN):
        await coordinator.say(room, "!aide")
    bot = await world.start()

    def answers() -> list[str]:
        return [
            e.event_id
            for e in coordinator.seen
            if isinstance(e, RoomMessageText | RoomMessageNotice)
            and e.sender != coordinator.id
            and "!dossiers" in e.body
        ]

    await coordinator.until(lambda: len(set(answers())) >= WRITTEN, f"{WRITTEN} answers")
    await asyncio.sleep(0.5)
    await coordinator.sync()
    assert len(set(answers())) == WRITTEN
