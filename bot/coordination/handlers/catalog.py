"""The catalog from chat: ``ressources``, ``ressource ajouter|retirer``, and a
catalog file (YAML or CSV) a coordinator sends to the bot.

A file is validated and planned against the database first (the same code as
``aiguillage catalog import --dry-run``); the summary waits for a confirmation
in a pending action that holds the file, and the confirmation plans again
before importing (the catalog may have changed meanwhile). An invalid file is
answered with its problems; nothing is imported.

A file merges into the catalog: entries it does not list stay active, and the
summary lists them. Replacing the whole catalog (deactivating those) is asked
for explicitly: a second button on Telegram, ``!remplacer`` typed on Matrix.
A file touches every région, so it is for national coordinators; régional
ones are told so. Files arrive from Telegram and
from Matrix (each transport downloads small .yaml/.yml/.csv files, before the
unit of work: bot/transports/telegram/transport.py, bot/transports/matrix/files.py).
Matrix has no buttons: the summary says what to type (``!confirmer`` or oui, ``!remplacer``,
``!annuler``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace

from bot.coordination.call import MISUSED, AdminCall, button_action
from bot.coordination.registry import continues, handles
from dialogs.catalog.entries import SECTIONS
from dialogs.catalog.load import Catalog, CatalogError, parse_catalog_file
from dialogs.coordination.catalog import (
    PlanView,
    dry_run_lines,
    file_refused,
    form_refused,
    imported_lines,
    parse_resource_line,
    resources_lines,
)
from dialogs.coordination.commands import FILTERS
from dialogs.kernel.events import Attachment, Text
from dialogs.kernel.flow import is_no, is_yes
from dialogs.kernel.replies import Msg, msg
from dialogs.kernel.textnorm import fold
from storage.repos.catalog import ImportPlan

# bot.coordination.router.CATALOG_UPLOAD (the router imports the handlers: not importable here).
CATALOG_UPLOAD = "catalogue.fichier"
CONFIRM_IMPORT = "catalogue.import"
CATALOG_SUFFIXES = (".yaml", ".yml", ".csv")
# Typed on Matrix (``!remplacer``) instead of the Telegram button: replace the whole catalog.
REPLACE_WORDS = frozenset({"remplacer", "replace"})


def plan_view(plan: ImportPlan) -> PlanView:
    return PlanView(
        added=tuple((e.table, e.id) for e in plan.added),
        changed=tuple((e.table, e.id) for e in plan.changed),
        disabled=tuple((e.table, e.id) for e in plan.disabled),
    )


def sections_of(catalog: Catalog) -> list[str]:
    return [s for s in SECTIONS if s in catalog.sections]


# -- resources ------------------------------------------------------------------------------


@handles("ressources")
async def list_resources(call: AdminCall) -> None:
    assert call.parsed is not None
    resources = await call.uow.catalog.active_resources()
    resources.sort(key=lambda r: (r.name.lower(), r.id))
    await call.say(*resources_lines(resources, call.parsed.get(FILTERS), call.prefix))


@handles("ressource.ajouter")
async def add_resource(call: AdminCall) -> None:
    assert call.parsed is not None and call.parsed.text is not None
    found = parse_resource_line(call.parsed.text)
    if isinstance(found, tuple):
        call.outcome = MISUSED
        await call.say(*form_refused(found, call.prefix))
        return
    existing = await call.uow.catalog.resource(found.id)
    if existing is not None and existing.active:
        await call.say(msg("admin.catalog.exists", name=existing.name, slug=existing.id))
        return
    await call.uow.catalog.save_resource(found, call.now)
    key = "admin.catalog.reactivated" if existing is not None else "admin.catalog.added"
    await call.say(msg(key, name=found.name, slug=found.id))


@handles("ressource.retirer")
async def remove_resource(call: AdminCall) -> None:
    assert call.parsed is not None and call.parsed.slug is not None
    row = await call.uow.catalog.resource(call.parsed.slug)
    if row is None or not row.active:
        await call.not_found(msg("admin.catalog.unknown", slug=call.parsed.slug))
        return
    row.active = False
    row.updated_at = call.now
    await call.say(msg("admin.catalog.removed", name=row.name, slug=row.id))


# -- catalog files ----------------------------------------------------------------------------


@handles(CATALOG_UPLOAD)
async def catalog_file(call: AdminCall) -> None:
    """A document from a coordinator with no pending action."""
    assert isinstance(call.event, Attachment)
    await dry_run(call, call.event)


async def dry_run(call: AdminCall, event: Attachment) -> None:
    name = event.name or ""
    if not name.lower().endswith(CATALOG_SUFFIXES):
        await call.say(msg("admin.catalog.file.not_catalog"))
        return
    if event.content is None:
        await call.say(
            msg(
                "admin.catalog.file.unreadable",
                file=name,
                maximum=msg("admin.catalog.file.max_size"),
            )
        )
        return
    if call.actor.regions is not None:
        await call.refuse(msg("admin.catalog.file.national_only"))
        return
    try:
        catalog = parse_catalog_file(name, event.content)
    except CatalogError as exc:
        call.outcome = MISUSED
        await call.finish()
        await call.say(*file_refused(name, exc.issues))
        return
    full = plan_view(await call.uow.catalog.plan_import(catalog))
    merge = replace(full, disabled=())
    typed = call.transport == "matrix"
    lines = dry_run_lines(name, merge, sections_of(catalog), full.disabled, typed)
    if full.empty:
        await call.finish()
        await call.say(*lines)
        return
    data = {"name": name, "content": base64.b64encode(event.content).decode("ascii")}
    if typed:
        await call.ask(CONFIRM_IMPORT, data, (*lines, msg("admin.catalog.file.confirm_typed")))
        return
    rows: list[tuple[tuple[Msg, str], ...]] = [
        (
            (msg("admin.catalog.file.button.import"), "import"),
            (msg("admin.catalog.file.button.cancel"), "cancel"),
        )
    ]
    if full.disabled:
        rows.append(((msg("admin.catalog.file.button.replace"), "replace"),))
    await call.ask(CONFIRM_IMPORT, data, lines, buttons=tuple(rows))


@continues(CONFIRM_IMPORT)
async def confirm_import(call: AdminCall) -> None:
    assert call.pending is not None
    event = call.event
    if isinstance(event, Attachment):
        await dry_run(call, event)  # another file replaces the one waiting
        return
    action = button_action(event)
    typed = event.text if isinstance(event, Text) else ""
    if action == "cancel" or (action is None and is_no(typed)):
        await call.finish()
        await call.say(msg("admin.catalog.file.cancelled"))
        return
    replacing = action == "replace" or (action is None and fold(typed) in REPLACE_WORDS)
    if action != "import" and not replacing and not is_yes(typed):
        if call.transport == "matrix":
            await call.say(msg("admin.catalog.file.confirm_typed"))
        else:
            await call.say(msg("admin.catalog.file.confirm_retry", cancel=f"{call.prefix}annuler"))
        return
    data = dict(call.pending.data)
    await call.finish()
    name = str(data.get("name", ""))
    try:
        content = base64.b64decode(str(data.get("content", "")), validate=True)
        catalog = parse_catalog_file(name, content)
    except (binascii.Error, CatalogError):
        await call.say(msg("admin.catalog.file.expired"))
        return
    # Merge unless asked to replace: what the file does not list stays active.
    planned = await call.uow.catalog.plan_import(catalog)
    if not replacing:
        planned = replace(planned, disabled=())
    plan = await call.uow.catalog.apply(planned, call.now)
    await call.say(*imported_lines(name, plan_view(plan), sections_of(catalog)))
