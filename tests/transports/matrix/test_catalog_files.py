"""A catalog file (YAML or CSV) sent to the bot on Matrix, against a real
Synapse: refused with its problems, or a dry run confirmed by typing
``!confirmer`` (a merge) or ``!remplacer`` (the whole catalog) then imported;
in a plain room and in an encrypted one (the file is then encrypted in the
media repository)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from nio import (
    JoinResponse,
    RoomCreateResponse,
    RoomInviteResponse,
    RoomSendResponse,
    UploadResponse,
)
from sqlalchemy import func, select

from bot.transports.matrix.service import ENCRYPTION
from storage.models.catalog import Aiguilleur, Resource
from storage.models.coordination import PendingAction
from tests.coordination.test_catalog_commands import INVALID_YAML, VALID_CSV, VALID_YAML
from tests.transports.matrix.conftest import Member, World


def plain(body: str) -> str:
    return body.replace("\u00a0", " ")


async def send_file(member: Member, room_id: str, name: str, text: str) -> str:
    """Upload then post an ``m.file`` (encrypted when the room is)."""
    data = text.encode("utf-8")
    room = member.client.rooms.get(room_id)
    encrypt = bool(room is not None and room.encrypted)
    uploaded, keys = await member.client.upload(
        io.BytesIO(data),
        content_type="text/plain",
        filename=name,
        encrypt=encrypt,
        filesize=len(data),
    )
    assert isinstance(uploaded, UploadResponse), uploaded
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": name,
        "info": {"size": len(data), "mimetype": "text/plain"},
    }
    if keys is not None:
        content["file"] = {**keys, "url": uploaded.content_uri}
    else:
        content["url"] = uploaded.content_uri
    sent = await member.client.room_send(
        room_id, "m.room.message", content, ignore_unverified_devices=True
    )
    assert isinstance(sent, RoomSendResponse), sent
    return sent.event_id


async def counts(world: World) -> tuple[int, int, int]:
    """(active resources, active aiguilleurs, pending actions)."""
    assert world.bot is not None
    async with world.bot.db.unit() as uow:
        resources = await uow.session.scalar(
            select(func.count()).select_from(Resource).where(Resource.active.is_(True))
        )
        people = await uow.session.scalar(
            select(func.count()).select_from(Aiguilleur).where(Aiguilleur.active.is_(True))
        )
        pending = await uow.session.scalar(select(func.count()).select_from(PendingAction))
    return int(resources or 0), int(people or 0), int(pending or 0)


async def test_catalog_file_in_the_coordinators_room(world: World) -> None:
    await world.start()
    coordinator, room = world.coordinator, world.coordinators_room

    await send_file(coordinator, room, "catalogue.yaml", INVALID_YAML)
    refused = plain((await coordinator.message("Catalogue catalogue.yaml refusé")).body)
    assert "rien n'a été importé" in refused and "Corrigez le fichier" in refused
    assert await counts(world) == (0, 0, 0)

    await send_file(coordinator, room, "catalogue.yaml", VALID_YAML)
    summary = plain((await coordinator.message("Catalogue catalogue.yaml valide")).body)
    assert "Simulation" in summary and "!confirmer" in summary and "!annuler" in summary
    assert await counts(world) == (0, 0, 1)
    await coordinator.say(room, "peut-être")
    assert "!confirmer" in (await coordinator.message("Écrivez")).body
    await coordinator.say(room, "!confirmer")
    await coordinator.message("Catalogue catalogue.yaml importé")
    assert await counts(world) == (2, 1, 0)
    assert world.bot is not None
    async with world.bot.db.unit() as uow:
        garradin = await uow.catalog.resource("garradin")
        assert garradin is not None and garradin.url == "https://garradin.eu"

    # The same resources in CSV: nothing to change, nothing to confirm.
    await send_file(coordinator, room, "ressources.csv", VALID_CSV)
    assert "à jour" in (await coordinator.message("ressources.csv")).body
    assert await counts(world) == (2, 1, 0)

    # Someone else in the room is told, in one line, that the import is not theirs.
    dominique = await world.member("dominique")
    invited = await coordinator.client.room_invite(room, dominique.id)
    assert isinstance(invited, RoomInviteResponse), invited
    joined = await dominique.client.join(room)
    assert isinstance(joined, JoinResponse), joined
    await send_file(dominique, room, "catalogue.yml", VALID_YAML)
    await dominique.message("Seul·es les coordinateur·ices peuvent importer")
    await coordinator.message("Seul·es les coordinateur·ices peuvent importer")
    # A file that is not a catalog is not read at all (answers come in order).
    await send_file(coordinator, room, "compte-rendu.pdf", "%PDF")
    await coordinator.say(room, "!ressources")
    await coordinator.message("Ressources du catalogue (2)")
    said = [getattr(e, "body", "") for e in coordinator.seen if e.sender != coordinator.id]
    assert not any("Je ne lis" in body or "compte-rendu" in body for body in said)
    assert await counts(world) == (2, 1, 0)

    # A file with one resource merges (framadate stays) unless `!remplacer` is typed;
    # the summary shows what replacing would deactivate (issue 15).
    one = "\n".join(VALID_CSV.splitlines()[:2])
    await send_file(coordinator, room, "une.csv", one)
    summary = plain((await coordinator.message("Catalogue une.csv valide")).body)
    assert "1 entrée(s) de la base absente(s) du fichier restent actives" in summary
    assert "!remplacer" in summary and "- ressource framadate" in summary
    await coordinator.say(room, "!confirmer")
    await coordinator.message("une.csv", "déjà à jour")
    assert await counts(world) == (2, 1, 0)
    await send_file(coordinator, room, "une.csv", one)
    await coordinator.message("Catalogue une.csv valide")
    await coordinator.say(room, "!remplacer")
    replaced = plain((await coordinator.message("Catalogue une.csv importé")).body)
    assert "0 ajout(s), 0 modification(s), 1 désactivation(s)" in replaced
    assert await counts(world) == (1, 1, 0)


async def test_encrypted_catalog_file(world: World, tmp_path: Path) -> None:
    claude = await world.member("claude", store=tmp_path / "claude-store")
    await claude.sync()  # publishes the device keys
    await world.start(coordinators=(world.coordinator.id, claude.id))
    created = await claude.client.room_create(
        name="catalogue", invite=[world.bot_user.user_id], initial_state=[ENCRYPTION]
    )
    assert isinstance(created, RoomCreateResponse), created
    room = created.room_id

    async def bot_joined() -> bool:
        await claude.sync()
        found = claude.client.rooms.get(room)
        return found is not None and world.bot_user.user_id in found.users

    for _ in range(40):
        if await bot_joined():
            break
    else:
        raise AssertionError("the bot never joined the encrypted room")

    await send_file(claude, room, "catalogue.yaml", VALID_YAML)
    summary = await claude.message("Catalogue catalogue.yaml valide")
    assert summary.decrypted and "!confirmer" in summary.body
    await claude.say(room, "oui")
    await claude.message("Catalogue catalogue.yaml importé")
    assert await counts(world) == (2, 1, 0)
