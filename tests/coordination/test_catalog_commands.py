"""Catalog commands on Telegram: the resources' list, adding and removing one,
and a catalog file sent to the bot (refused with its problems, or a dry run
confirmed then imported); each as a coordinator, an aiguilleur and a stranger."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.catalog.service import starter_catalog
from bot.coordination.handlers.catalog import CATALOG_UPLOAD as HANDLER_NAME
from bot.coordination.router import CATALOG_UPLOAD
from storage.models.catalog import Aiguilleur, Resource
from storage.models.coordination import PendingAction
from tests.coordination.support import T0, Desk, ask, command_log, plain, press
from tests.fakes.telegram_api import FakeUser
from tests.transports.telegram.harness import next_question

VALID_YAML = """\
resources:
  - id: garradin
    name: Garradin
    url: https://garradin.eu
    summary: Gestion d'association libre, adhésions et comptabilité.
    themes: [gestion]
    kind: outil
    license: AGPL-3.0
    libre: true
  - id: framadate
    name: Framadate
    url: https://framadate.org
    summary: Sondages pour trouver une date, sans compte.
    themes: [gestion, gouvernance]
    kind: outil
    license: CECILL-B
    libre: true
aiguilleurs:
  - id: alix
    name: Alix Martin
    matrix_id: "@alix:example.org"
    themes: [numerique]
    capacity: 2
"""

INVALID_YAML = """\
resources:
  - id: Garradin Bad
    name: Garradin
    url: garradin
    summary: Gestion d'association.
    themes: [astrologie]
    kind: outil
    license: AGPL-3.0
    libre: true
"""

VALID_CSV = "\n".join(
    (
        "id;name;url;summary;themes;kind;license;libre",
        "garradin;Garradin;https://garradin.eu;"
        "Gestion d'association libre, adhésions et comptabilité.;gestion;outil;AGPL-3.0;oui",
        "framadate;Framadate;https://framadate.org;"
        "Sondages pour trouver une date, sans compte.;gestion, gouvernance;outil;CECILL-B;oui",
    )
)

RESOURCE_COMMANDS = (
    "/ressources",
    "/ressource ajouter Garradin | https://garradin.eu | gestion | AGPL-3.0 | Gestion",
    "/ressource retirer garradin",
)


async def send_file(user: FakeUser, name: str, content: str | bytes) -> str:
    data = content.encode("utf-8") if isinstance(content, str) else content
    await user.send_document(name, data)
    return plain((await next_question(user)).plain_text)


async def counts(desk: Desk) -> tuple[int, int, int]:
    """(active resources, active aiguilleurs, pending actions)."""
    async with desk.db.unit() as uow:
        resources = await uow.session.scalar(
            select(func.count()).select_from(Resource).where(Resource.active.is_(True))
        )
        people = await uow.session.scalar(
            select(func.count()).select_from(Aiguilleur).where(Aiguilleur.active.is_(True))
        )
        pending = await uow.session.scalar(select(func.count()).select_from(PendingAction))
    return int(resources or 0), int(people or 0), int(pending or 0)


async def seed_starter(desk: Desk) -> int:
    catalog = starter_catalog(include_demo_aiguilleurs=False)
    async with desk.db.unit() as uow:
        await uow.catalog.apply(catalog, T0)
    return len(catalog.resources)


def test_the_upload_handler_has_the_router_name() -> None:
    assert HANDLER_NAME == CATALOG_UPLOAD


@pytest.mark.parametrize("command", RESOURCE_COMMANDS)
async def test_resource_commands_are_for_coordinators(desk: Desk, command: str) -> None:
    for user in (desk.aiguilleur, desk.stranger):
        assert "réservée aux coordinateur·ices" in await ask(user, command)
    assert [outcome for _, _, outcome in await command_log(desk.db)] == ["refused", "refused"]


async def test_resources_list_filters_and_pages(desk: Desk) -> None:
    assert "Aucune ressource" in await ask(desk.coordinator, "/ressources")
    total = await seed_starter(desk)
    listing = await ask(desk.coordinator, "/ressources")
    assert f"Ressources du catalogue ({total})" in listing
    assert "Page 1 sur" in listing and "/ressources page 2" in listing
    gestion = await ask(desk.coordinator, "/ressources gestion")
    assert "Gestion" in gestion and f"({total})" not in gestion
    last = await ask(desk.coordinator, "/ressources page 99")
    assert "Page" in last and "sur" in last and "la suite" not in last


async def test_add_and_remove_a_resource(desk: Desk) -> None:
    added = await ask(
        desk.coordinator,
        "/ressource ajouter Garradin | https://garradin.eu | gestion, compta | AGPL-3.0 | "
        "Gestion d'association <libre>",
    )
    assert "Ressource ajoutée : Garradin (identifiant garradin)" in added
    async with desk.db.unit() as uow:
        row = await uow.catalog.resource("garradin")
        assert row is not None and row.themes == ["gestion"] and row.libre
        assert row.summary == "Gestion d'association <libre>"
    assert "garradin" in await ask(desk.coordinator, "/ressources")
    again = await ask(
        desk.coordinator, "/ressource ajouter Garradin | https://garradin.eu | gestion | MIT | X"
    )
    assert "déjà au catalogue" in again

    refused = await ask(
        desk.coordinator, "/ressource ajouter Truc | pas-une-url | astrologie | ??? | résumé"
    )
    assert "pas été ajoutée" in refused
    assert "url : adresse web invalide" in refused and "thème inconnu « astrologie »" in refused
    assert "licence « ??? » invalide" in refused
    assert "nom | lien | thèmes | licence | résumé" in refused
    parts = await ask(desk.coordinator, "/ressource ajouter Truc | https://truc.org")
    assert "il faut 5 parties" in parts

    removed = await ask(desk.coordinator, "/ressource retirer garradin")
    assert "Ressource retirée : Garradin" in removed
    async with desk.db.unit() as uow:
        row = await uow.catalog.resource("garradin")
        assert row is not None and not row.active  # kept, never deleted
    assert "Aucune ressource active" in await ask(desk.coordinator, "/ressource retirer garradin")
    back = await ask(
        desk.coordinator, "/ressource ajouter Garradin | https://garradin.eu | gestion | MIT | X"
    )
    assert "remise au catalogue" in back
    log = await command_log(desk.db)
    assert ("coordinator", "ressource.ajouter", "misused") in log
    assert ("coordinator", "ressource.retirer", "not_found") in log


async def test_invalid_catalog_file_imports_nothing(desk: Desk) -> None:
    before = await counts(desk)
    answer = await send_file(desk.coordinator, "catalogue.yaml", INVALID_YAML)
    assert "Catalogue catalogue.yaml refusé, rien n'a été importé (3 problème(s))" in answer
    assert "catalogue.yaml, ligne 2, resources[0], champ « id »" in answer
    assert "ligne 4" in answer and "« url »" in answer and "astrologie" in answer
    assert "Corrigez le fichier" in answer
    assert await counts(desk) == before
    broken = await send_file(desk.coordinator, "liste.csv", b"\xff\xfe not utf-8")
    assert "refusé" in broken and "UTF-8" in broken
    other = await send_file(desk.coordinator, "notes.pdf", b"%PDF-1.4 fake\n")
    assert "que des fichiers de catalogue" in other
    assert await counts(desk) == before


async def test_valid_catalog_file_is_confirmed_then_imported(desk: Desk) -> None:
    before = await counts(desk)
    summary = await send_file(desk.coordinator, "catalogue.yaml", VALID_YAML)
    assert "Catalogue catalogue.yaml valide. Simulation" in summary
    assert "Ressources : 2 ajout(s), 0 modification(s), 0 désactivation(s)" in summary
    # The file merges: camille-durand is not in it and stays, unless replacing.
    assert "Aiguilleur·euses : 1 ajout(s), 0 modification(s), 0 désactivation(s)" in summary
    assert "+ ressource garradin (ajout)" in summary
    assert "1 entrée(s) de la base absente(s) du fichier restent actives" in summary
    assert "- aiguilleur·euse camille-durand" in summary
    assert await counts(desk) == (before[0], before[1], 1)  # nothing written yet

    imported = await press(desk.coordinator, "Importer")
    assert "Catalogue catalogue.yaml importé" in imported
    assert await counts(desk) == (2, before[1] + 1, 0)
    async with desk.db.unit() as uow:
        camille = await uow.catalog.aiguilleur("camille-durand")
        assert camille is not None and camille.active
    async with desk.db.unit() as uow:
        alix = await uow.catalog.aiguilleur("alix")
        assert alix is not None and alix.capacity == 2

    # The same resources as a spreadsheet: nothing to change.
    same = await send_file(desk.coordinator, "ressources.csv", VALID_CSV)
    assert "déjà à jour" in same
    assert (await counts(desk))[2] == 0


async def test_replacing_the_whole_catalog_is_asked_for(desk: Desk) -> None:
    """Issue 15: the starter catalog survives a one-resource file unless the
    coordinator presses « Remplacer tout le catalogue », shown with what it disables."""
    total = await seed_starter(desk)
    one = "\n".join(VALID_CSV.splitlines()[:2])  # garradin only
    summary = await send_file(desk.coordinator, "une.csv", one)
    assert "Ressources : 1 ajout(s), 0 modification(s), 0 désactivation(s)" in summary
    assert f"{total} entrée(s) de la base absente(s) du fichier restent actives" in summary
    assert "Remplacer tout le catalogue" in summary and "- ressource " in summary
    question = desk.coordinator.last_bot_message
    assert question is not None
    assert question.labels == ["Importer", "Annuler", "Remplacer tout le catalogue"]
    assert "importé" in await press(desk.coordinator, "Importer")
    assert (await counts(desk))[0] == total + 1  # merged: nothing deactivated

    summary = await send_file(desk.coordinator, "une.csv", one)
    assert "déjà à jour" not in summary and f"{total} entrée(s)" in summary
    replaced = await press(desk.coordinator, "Remplacer tout le catalogue")
    assert "Catalogue une.csv importé" in replaced
    assert f"0 ajout(s), 0 modification(s), {total} désactivation(s)" in replaced
    assert await counts(desk) == (1, 1, 0)
    # Now the file is the whole catalog: nothing left to merge or replace.
    assert "déjà à jour" in await send_file(desk.coordinator, "une.csv", one)


async def test_catalog_import_can_be_cancelled(desk: Desk) -> None:
    before = await counts(desk)
    await send_file(desk.coordinator, "catalogue.yaml", VALID_YAML)
    assert "oui / non" in await ask(desk.coordinator, "peut-être")
    assert "Import annulé" in await press(desk.coordinator, "Annuler")
    assert await counts(desk) == before
    # A stale button of that summary does nothing.
    await desk.coordinator.press("Importer")
    answered = await desk.coordinator.wait_callback_answer()
    assert answered.text and "plus actif" in answered.text
    await send_file(desk.coordinator, "catalogue.yaml", VALID_YAML)
    assert "annulé" in await ask(desk.coordinator, "/annuler")
    await send_file(desk.coordinator, "catalogue.yaml", VALID_YAML)
    assert "Catalogue catalogue.yaml importé" in await ask(desk.coordinator, "oui")
    assert (await counts(desk))[0] == 2


async def test_files_from_others_are_not_catalogs(desk: Desk) -> None:
    for user in (desk.aiguilleur, desk.stranger):
        answer = await send_file(user, "catalogue.yaml", VALID_YAML)
        assert "Catalogue" not in answer and "Aiguillage" in answer
    assert (await counts(desk))[0] == 0


async def test_regional_coordinators_cannot_import_whole_catalogs(desk: Desk) -> None:
    await ask(desk.coordinator, "/coordinateur ajouter 700003 bretagne")
    scoped = desk.tg.user(first_name="Pia", user_id=700_003, language_code="fr")
    answer = await send_file(scoped, "catalogue.yaml", VALID_YAML)
    assert "réservé aux coordinateur·ices nationaux·ales" in answer
    assert (await counts(desk))[0] == 0
