"""`!stats` and `!rapport` typed in the coordinators' Matrix room, against a real
Synapse: the report comes as a notice, then its chart as an m.image whose file
is a PNG."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from nio import RoomCreateResponse, RoomEncryptedImage, RoomMessageImage
from nio.crypto.attachments import decrypt_attachment

from bot.reports.chart import PNG_MAGIC
from bot.transports.matrix.service import ENCRYPTION
from tests.reports.report_scenario import seed
from tests.transports.matrix.conftest import Member, World


async def download(world: World, mxc: str, member: Member | None = None) -> bytes:
    """Authenticated media (Synapse's default since 1.120)."""
    server, media_id = mxc.removeprefix("mxc://").split("/", 1)
    url = f"{world.server.base_url}/_matrix/client/v1/media/download/{server}/{media_id}"
    token = (member or world.coordinator).user.access_token
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.read()


async def test_report_and_chart_in_the_coordinators_room(world: World) -> None:
    bot = await world.start()
    await seed(bot.db)
    coordinator, room = world.coordinator, world.coordinators_room

    await coordinator.say(room, "!stats")
    stats = await coordinator.message("Chiffres du moment")
    assert "Demandes ouvertes" in stats.body

    await coordinator.say(room, "!rapport 2026-03-01 2026-03-31")
    report = await coordinator.message("Rapport du 01/03/2026 au 31/03/2026")
    assert "Nextcloud plutôt que Google Drive" in report.body

    def image() -> RoomMessageImage | None:
        return next((e for e in coordinator.seen if isinstance(e, RoomMessageImage)), None)

    found: RoomMessageImage = await coordinator.until(image, "the report's chart")
    assert found.sender == world.bot_user.user_id
    content = found.source["content"]
    assert content["info"]["mimetype"] == "image/png"
    assert (content["info"]["w"], content["info"]["h"]) == (1200, 550)
    assert content["filename"] == "rapport.png" and "Demandes par thème" in content["body"]
    png = await download(world, found.url)
    assert png.startswith(PNG_MAGIC) and len(png) == content["info"]["size"]


async def test_chart_in_an_encrypted_coordinators_room(world: World, tmp_path: Path) -> None:
    """The file itself is encrypted; the coordinator's client decrypts it."""
    chloe = await world.member("chloe", store=tmp_path / "chloe-store")
    await chloe.sync()  # publishes her device keys
    created = await chloe.client.room_create(
        name="coordination chiffrée", invite=[world.bot_user.user_id], initial_state=[ENCRYPTION]
    )
    assert isinstance(created, RoomCreateResponse), created
    room = created.room_id
    bot = await world.start(coordinators_room=room, coordinators=(chloe.id,))
    await seed(bot.db)

    def joined() -> bool:
        found = chloe.client.rooms.get(room)
        return found is not None and world.bot_user.user_id in found.users

    await chloe.until(joined, "the bot in the room")
    await chloe.say(room, "!rapport 2026-03-01 2026-03-31")
    report = await chloe.message("Rapport du 01/03/2026 au 31/03/2026")
    assert report.decrypted

    def image() -> RoomEncryptedImage | None:
        return next((e for e in chloe.seen if isinstance(e, RoomEncryptedImage)), None)

    found: RoomEncryptedImage = await chloe.until(image, "the encrypted chart")
    sealed = await download(world, found.url, chloe)
    assert not sealed.startswith(PNG_MAGIC)
    png = decrypt_attachment(sealed, found.key["k"], found.hashes["sha256"], found.iv)
    assert png.startswith(PNG_MAGIC)
