"""Becoming an aiguilleur: ``inscription`` (anyone, Telegram or a Matrix direct
chat with the bot), ``inscriptions``, ``inscription valider N`` and
``inscription refuser N [raison]`` (coordinators).

The form (dialogs/coordination/inscription.py) runs through a pending action: each
answer comes back here with the form's JSON state. A finished form becomes an
``inscriptions`` row, remembering the chat to answer in, and the coordinators
are told how to approve it. An aiguilleur who fills in the form updates their
own profile at once (a coordinator already approved them, or added them with
``aiguilleur ajouter``) and becomes available.

Approval creates or updates the catalog entry. On Matrix the direct chat where
the form was filled in becomes the aiguilleur's room with the bot, so offers
arrive where they already talk to it.
"""

from __future__ import annotations

import dataclasses
import logging

from bot.coordination.call import AdminCall, button_action
from bot.coordination.handlers.people import serve_queue
from bot.coordination.registry import continues, handles
from dialogs.assignment.desk import aiguilleur_help
from dialogs.catalog.load import AiguilleurProfile
from dialogs.coordination.access import any_in_scope
from dialogs.coordination.inscription import (
    Ask,
    Cancelled,
    Done,
    Form,
    InscriptionView,
    answer,
    pending_lines,
    start,
    summary_lines,
    to_coordinators,
)
from dialogs.coordination.people import slugify, unique_slug
from dialogs.kernel.events import Text
from dialogs.kernel.replies import Msg, msg
from storage.models.coordination import PENDING, Inscription
from storage.repos.catalog import AIGUILLEURS, aiguilleur_profile

log = logging.getLogger(__name__)

FORM = "inscription"


def view(row: Inscription) -> InscriptionView:
    return InscriptionView(
        id=row.id,
        name=row.name,
        transport=row.transport,
        external_id=row.external_id,
        themes=tuple(row.themes),
        regions=tuple(row.regions),
        capacity=row.capacity,
    )


def name_of(call: AdminCall) -> str:
    """Their name as their chat app shows it (Telegram's first name, Matrix's
    display name), else their Matrix account's local part."""
    if call.actor.name:
        return call.actor.name[:120]
    if call.transport == "matrix":
        return call.actor.external_id.lstrip("@").split(":", 1)[0][:120]
    return call.actor.external_id


async def ask_step(call: AdminCall, step: Ask) -> None:
    await call.ask(
        FORM, step.data, step.prompt.lines, buttons=step.prompt.buttons, redraw=step.redraw
    )


# -- the form ----------------------------------------------------------------------------


@handles("inscription")
async def start_form(call: AdminCall) -> None:
    typed = call.transport == "matrix"  # no buttons there
    if call.actor.aiguilleur_id is not None:
        row = await call.uow.catalog.aiguilleur(call.actor.aiguilleur_id)
        if row is not None:
            form = start(row.themes, row.regions, row.capacity, update=True, typed=typed)
            await ask_step(call, form)
            return
    waiting = await call.uow.inscriptions.pending_of(call.transport, call.actor.external_id)
    if waiting is not None:
        await call.say(msg("admin.inscription.waiting", number=waiting.id))
        return
    await ask_step(call, start(typed=typed))


@continues(FORM)
async def continue_form(call: AdminCall) -> None:
    assert call.pending is not None
    event = call.event
    pressed = button_action(event)
    typed = event.text if isinstance(event, Text) else None
    form = Form.from_json(call.pending.data)
    result = answer(call.pending.data, pressed=pressed, typed=typed)
    match result:
        case Ask():
            await ask_step(call, result)
        case Cancelled():
            await call.finish()
            await call.say(msg("admin.inscription.cancelled"))
        case Done():
            await call.finish()
            if form.update and call.actor.aiguilleur_id is not None:
                await update_profile(call, call.actor.aiguilleur_id, result)
            else:
                await submit(call, result)


async def update_profile(call: AdminCall, slug: str, done: Done) -> None:
    row = await call.uow.catalog.aiguilleur(slug)
    if row is None:
        await submit(call, done)
        return
    row.themes = list(done.themes)
    row.regions = list(done.regions)
    row.capacity = done.capacity
    row.available = True
    row.updated_at = call.now
    await call.uow.session.flush()
    await serve_queue(call)
    summary = summary_lines(done.themes, done.regions, done.capacity)
    await call.say(msg("admin.inscription.updated"), *summary)
    await call.tell_coordinators(
        (msg("admin.inscription.updated.coordinators", name=row.name, slug=row.id), *summary)
    )


async def submit(call: AdminCall, done: Done) -> None:
    row = await call.uow.inscriptions.create(
        transport=call.transport,
        external_id=call.actor.external_id,
        address=call.address,
        locale=call.locale,
        name=name_of(call),
        themes=list(done.themes),
        regions=list(done.regions),
        capacity=done.capacity,
        now=call.now,
    )
    told = await call.tell_coordinators(to_coordinators(view(row)))
    if not told:
        log.warning("inscription %s: no coordinator to tell", row.id)
    await call.say(msg("admin.inscription.sent", number=row.id))


# -- decisions ---------------------------------------------------------------------------


@handles("inscriptions")
async def list_pending(call: AdminCall) -> None:
    rows = [
        row
        for row in await call.uow.inscriptions.pending()
        if any_in_scope(call.actor, row.regions)
    ]
    await call.say(*pending_lines([view(row) for row in rows], call.prefix))


async def pending_in_scope(call: AdminCall) -> Inscription | None:
    assert call.parsed is not None and call.parsed.number is not None
    number = call.parsed.number
    row = await call.uow.inscriptions.get(number)
    if row is None:
        await call.not_found(msg("admin.inscription.unknown", number=number))
        return None
    if row.state != PENDING:
        await call.say(msg(f"admin.inscription.already.{row.state}", number=number))
        return None
    if not any_in_scope(call.actor, row.regions):
        await call.refuse(msg("admin.inscription.out_of_scope", number=number))
        return None
    return row


async def tell_person(call: AdminCall, row: Inscription, lines: tuple[Msg, ...]) -> None:
    address = row.address or row.external_id
    await call.tell(row.transport, address, lines, locale=row.locale or call.locale)


@handles("inscription.valider")
async def approve(call: AdminCall) -> None:
    row = await pending_in_scope(call)
    if row is None:
        return
    existing = await call.uow.coordination.aiguilleur_by_identity(row.transport, row.external_id)
    if existing is not None:
        profile = dataclasses.replace(
            aiguilleur_profile(existing),
            themes=tuple(row.themes),
            regions=tuple(row.regions),
            capacity=row.capacity,
            available=True,
        )
    else:
        slug = unique_slug(slugify(row.name), set(await call.uow.catalog.ids(AIGUILLEURS)))
        profile = AiguilleurProfile(
            id=slug,
            name=row.name,
            matrix_id=row.external_id if row.transport == "matrix" else "",
            telegram_id=int(row.external_id) if row.transport == "telegram" else None,
            themes=tuple(row.themes),
            regions=tuple(row.regions),
            capacity=row.capacity,
            available=True,
        )
    await call.uow.catalog.save_aiguilleur(profile, call.now)
    await call.uow.inscriptions.approve(
        row, aiguilleur_id=profile.id, decided_by=call.actor.label, now=call.now
    )
    has_room = await call.uow.matrix.room_of(profile.id) is not None
    if row.transport == "matrix" and row.address and not has_room:
        await call.uow.matrix.set_room(profile.id, row.address, created_by_bot=False, now=call.now)
    await serve_queue(call)
    welcome = msg("admin.inscription.approved.person", slug=profile.id)
    if row.transport == "matrix":
        # Their commands are the desk's (offers, cases), not the coordination's.
        await tell_person(call, row, (welcome, *aiguilleur_help()))
    else:
        next_step = msg("admin.inscription.approved.next", command="/admin")
        await tell_person(call, row, (welcome, next_step))
    await call.say(msg("admin.inscription.approved", number=row.id, name=row.name, slug=profile.id))


@handles("inscription.refuser")
async def reject(call: AdminCall) -> None:
    assert call.parsed is not None
    row = await pending_in_scope(call)
    if row is None:
        return
    await call.uow.inscriptions.reject(row, decided_by=call.actor.label, now=call.now)
    reason = call.parsed.text
    lines = (
        (msg("admin.inscription.rejected.person"), msg("admin.inscription.reason", reason=reason))
        if reason
        else (msg("admin.inscription.rejected.person"),)
    )
    await tell_person(call, row, lines)
    await call.say(msg("admin.inscription.rejected", number=row.id, name=row.name))
