"""The Matrix side counts in /metrics too: the aiguilleurs' events handled by the
desk, next to the Telegram updates, against a real Synapse."""

from __future__ import annotations

from bot.transports.matrix.sender import TRANSPORT as MATRIX
from bot.transports.telegram.transport import TRANSPORT as TELEGRAM
from tests.transports.matrix.conftest import World


async def test_desk_events_are_counted_by_transport(world: World) -> None:
    bot = await world.start()
    assert bot.metrics.count(MATRIX, "handled") == 0
    alix = await world.member("alix")
    await world.aiguilleurs(("alix", alix, 2))
    assert await world.rooms() == 1
    room = await alix.join_invite()
    camille = world.tg.user("Camille")
    ref = await world.case(camille)
    await alix.message(ref, "Nouvelle demande")

    await alix.say(room, f"!accepter {ref}")
    await camille.wait_reply()
    # The person writes on Telegram: relayed to the thread (a Telegram update).
    await camille.say("Merci !")
    await alix.message("Merci !")
    assert bot.metrics.count(MATRIX, "handled") >= 1
    assert bot.metrics.count(MATRIX, "error") == 0
    assert bot.metrics.count(TELEGRAM, "handled") > 0
    exposition = bot.metrics.render(None)
    assert 'aiguillage_updates_total{transport="matrix",outcome="handled"}' in exposition
    assert 'aiguillage_handler_duration_seconds_count{transport="matrix"}' in exposition
