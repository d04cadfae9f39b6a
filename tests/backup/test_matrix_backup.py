"""With Matrix configured against a real Synapse: the backup carries the bot's key
store, and after a wipe and a restore the bot still reads and writes its
aiguilleur's encrypted room (a lost store would leave it a device without keys)."""

# ruff: noqa: F811  (pytest injects the imported fixtures by name)

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

from nio import RoomCreateResponse

from bot.transports.matrix.service import ENCRYPTION
from tests.backup.support import cli, plain
from tests.backup.test_backup_restore import wipe
from tests.fakes.synapse import synapse, synapse_users  # noqa: F401  (fixtures)
from tests.transports.matrix.conftest import World, world  # noqa: F401  (fixture)


def cli_config(world: World, path: Path) -> Path:
    config = world.config()
    assert config.matrix is not None
    path.write_text(
        f'[database]\nurl = "{config.database.url}"\n'
        "[matrix]\n"
        f'homeserver = "{config.matrix.homeserver}"\n'
        f'user_id = "{config.matrix.user_id}"\n'
        f'access_token = "{config.matrix.access_token}"\n'
        f'device_id = "{config.matrix.device_id}"\n'
        f'store_path = "{config.matrix.store_path}"\n',
        encoding="utf-8",
    )
    return path


async def test_encrypted_room_read_after_restore(world: World, tmp_path: Path) -> None:
    bot = await world.start()
    alix = await world.member("alix", store=tmp_path / "alix-store")
    await alix.sync()
    await world.aiguilleurs(("alix", alix, 3))
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
    first = await world.case(world.tg.user("Camille"))
    assert (await alix.message(first, "Nouvelle demande")).decrypted
    await world.stop()

    config = cli_config(world, tmp_path / "config.toml")
    saved = tmp_path / "sauvegarde"
    done = await asyncio.to_thread(cli, "backup", str(saved), "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Magasin de clés Matrix copié" in plain(done.stdout)

    store = world.config().matrix.store_path  # type: ignore[union-attr]
    shutil.rmtree(store)
    await wipe(world.config().database.url)
    done = await asyncio.to_thread(
        cli, "restore", str(saved), "--config", str(config), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "Magasin de clés Matrix restauré" in plain(done.stdout) and any(store.iterdir())

    await world.start()
    dominique = world.tg.user("Dominique")
    second = await world.case(dominique)
    offer = await alix.message(second, "Nouvelle demande")
    assert offer.decrypted
    # The bot decrypts Alix's encrypted answer with the restored keys.
    await alix.say(room, f"!accepter {second}")
    told = await dominique.wait_reply(timeout=10)
    assert "Alix Aiguilleuse" in (told.plain_text or "")
