"""What a coordinator does to a case — assign, reassign, close, reopen — with
the aiguilleurs and the person told, in the unit of work of the command.

Rules (coordinators decide; the desk of bot/assignment/executor.py carries it out):
- ``assigner`` gives the case straight to the aiguilleur (an ``accepted``
  assignment, status "attribue"): no offer to answer, the coordination already
  agreed with them. An offer waiting for someone else is withdrawn; an offer
  waiting for this very aiguilleur is accepted on their behalf. A case someone
  already follows needs ``reassigner``, which hands it back (``returned``) and
  tells the previous aiguilleur.
- The aiguilleur hears it in their Matrix room (the message is the case's
  thread root, so the relay works as after an accepted offer), or on Telegram
  when they have no room; the person is told who follows them when the relay
  can work (a Matrix room).
- Without Matrix the assignment is recorded all the same (``room_id`` empty),
  and the person is told who follows them (the coordination connects them).
- ``clore`` cancels pending nudges, closes the open assignment (told) and takes
  the case out of the queue; ``rouvrir`` sets the status the case's situation
  calls for and, when the person asked for someone, looks for an aiguilleur.
"""

from __future__ import annotations

from bot.coordination.call import AdminCall
from bot.delivery import payloads
from bot.intake.case_views import answers_of
from bot.transports.matrix.sender import TRANSPORT as MATRIX
from dialogs.assignment.desk import DeskEffect, Drain, FindAiguilleur, Tell, ToPerson
from dialogs.assignment.relay import buttons as relay_buttons
from dialogs.coordination.cases import status_label
from dialogs.intake.sheet import sheet_lines
from dialogs.kernel.context import RelayView
from dialogs.kernel.lifecycles import CaseStatus
from dialogs.kernel.render import render
from dialogs.kernel.replies import Msg, msg
from storage.models.assignment import ACCEPTED, CLOSED, RETURNED, WITHDRAWN, Assignment
from storage.models.catalog import Aiguilleur
from storage.models.core import Case

# Reason stored on assignments a coordinator ended (they may give their own).
COORDINATION = "coordination"
TELEGRAM = "telegram"


def locale_of(call: AdminCall) -> str:
    """Aiguilleurs read the bot's language (the desk's), else the coordinators'."""
    desk = call.services.desk
    return desk.locale if desk is not None else call.services.coordinators.locale


async def active_aiguilleur(call: AdminCall, slug: str) -> Aiguilleur | None:
    row = await call.uow.catalog.aiguilleur(slug)
    if row is None or not row.active or row.demo:
        return None
    return row


async def name_of(call: AdminCall, slug: str) -> str:
    row = await call.uow.catalog.aiguilleur(slug)
    return row.name if row is not None else slug


# -- telling aiguilleurs -------------------------------------------------------------


def in_their_room(call: AdminCall, row: Assignment, person: Aiguilleur | None) -> bool:
    """They joined the room the assignment's messages go to (an invitation left
    unanswered, or an account that does not exist, reaches nobody)."""
    desk = call.services.desk
    if desk is None or not row.room_id or person is None:
        return False
    return desk.joined(row.room_id, person.matrix_id)


async def tell_aiguilleur(call: AdminCall, row: Assignment, lines: tuple[Msg, ...]) -> bool:
    """In the case's thread of their room, else on Telegram; False: unreachable
    (also when the message waits in a room they have not joined)."""
    person = await call.uow.catalog.aiguilleur(row.aiguilleur_id)
    if call.services.desk is not None and row.room_id:
        html = render(locale_of(call), lines).html
        payload = payloads.message(html, thread=row.offer_event_id)
        await call.uow.outbox.enqueue(
            transport=MATRIX, address=row.room_id, payload=payload, now=call.now
        )
        call.queued += 1
        return in_their_room(call, row, person)
    if person is not None and person.telegram_id:
        await call.tell(TELEGRAM, str(person.telegram_id), lines, locale=locale_of(call))
        return True
    return False


async def announce(call: AdminCall, case: Case, row: Assignment, target: Aiguilleur) -> Msg:
    """Tell the aiguilleur the case is theirs; returns the line for the coordinator."""
    lieu: str | Msg = case.lieu_name or msg("escalation.nolieu")
    title = msg("admin.cases.to_aiguilleur.title", ref=case.ref, lieu=lieu)
    person = await call.uow.people.by_id(case.person_id) if case.person_id else None
    shown = person.display_name if person is not None else None
    asked_by = msg("desk.offer.person", name=shown or msg("desk.someone"))
    sheet = (asked_by, *sheet_lines(answers_of(case), third_person=True))
    if call.services.desk is not None and row.room_id:
        how = msg("admin.cases.to_aiguilleur.matrix", ref=case.ref)
        if row.offer_event_id:
            # Their own offer, accepted for them: the thread exists already.
            payload = payloads.message(
                render(locale_of(call), (title, how)).html, thread=row.offer_event_id
            )
        else:
            # A new thread root: once sent, its event id is the case's thread.
            html = render(locale_of(call), (title, *sheet, how)).html
            payload = payloads.message(html, assignment=row.id)
        queued = await call.uow.outbox.enqueue(
            transport=MATRIX, address=row.room_id, payload=payload, now=call.now
        )
        if not row.offer_event_id:
            row.offer_txn_id = str(queued.payload["txn_id"])
        call.queued += 1
        if not in_their_room(call, row, target):
            # The sheet waits in the room; nobody reads it yet.
            return msg("admin.cases.told.not_joined", name=target.name)
        return msg("admin.cases.told.matrix", name=target.name)
    if target.telegram_id:
        how = msg("admin.cases.to_aiguilleur.telegram")
        lines = (title, *sheet, how)
        await call.tell(TELEGRAM, str(target.telegram_id), lines, locale=locale_of(call))
        return msg("admin.cases.told.telegram", name=target.name)
    return msg("admin.cases.told.nobody", name=target.name)


async def load_warning(call: AdminCall, target: Aiguilleur, *, has_offer: bool) -> Msg | None:
    """Coordinators may go past a pause or a full load; they are reminded.
    `has_offer`: the case is already offered to them (counted in their load)."""
    if not target.available:
        return msg("admin.cases.warn.paused", name=target.name)
    held = (await call.uow.catalog.active_case_counts()).get(target.id, 0) - int(has_offer)
    if held >= target.capacity:
        return msg(
            "admin.cases.warn.at_capacity", name=target.name, count=held, capacity=target.capacity
        )
    return None


# -- assign ------------------------------------------------------------------------


async def assign(call: AdminCall, case: Case, target: Aiguilleur, *, replace: bool) -> None:
    uow, now, ref = call.uow, call.now, case.ref
    held = await uow.assignments.open_for_case(case.id)
    if held is not None and held.state == ACCEPTED:
        if held.aiguilleur_id == target.id:
            await call.refuse(msg("admin.cases.already_holder", name=target.name, ref=ref))
            return
        if not replace:
            name = await name_of(call, held.aiguilleur_id)
            await call.refuse(
                msg(
                    "admin.cases.use_reassign",
                    ref=ref,
                    name=name,
                    prefix=call.prefix,
                    slug=target.id,
                )
            )
            return
    has_offer = held is not None and held.aiguilleur_id == target.id
    warning = await load_warning(call, target, has_offer=has_offer)
    lines: list[Msg] = [msg("admin.cases.assigned", ref=ref, name=target.name)]
    previous: Assignment | None = None
    if held is not None and has_offer:
        row = held  # their offer, still waiting: accepted on their behalf
        await uow.assignments.move(row, ACCEPTED, now=now)
    else:
        if held is not None:
            previous = held
            ended = RETURNED if held.state == ACCEPTED else WITHDRAWN
            await uow.assignments.move(held, ended, now=now, reason=COORDINATION)
            told = msg(f"admin.cases.to_aiguilleur.{ended}", ref=ref)
            if await tell_aiguilleur(call, held, (told,)):
                name = await name_of(call, held.aiguilleur_id)
                lines.append(msg("admin.cases.told.previous", name=name))
        room = await uow.matrix.room_of(target.id) if call.services.desk is not None else None
        row = await uow.assignments.offer(
            case=case, aiguilleur_id=target.id, room_id=room or "", deadline=now, now=now
        )
        await uow.assignments.move(row, ACCEPTED, now=now)
    await uow.assignments.dequeue(case.id)
    data = {
        "aiguilleur": target.id,
        "previous": previous.aiguilleur_id if previous is not None else None,
        "previous_status": case.status,
    }
    # A verified action stays counted as such.
    status = CaseStatus.VERIFIED if case.status == CaseStatus.VERIFIED else CaseStatus.ASSIGNED
    await uow.cases.move(case, status, actor=call.actor.label, kind="assigned", data=data, now=now)
    lines.append(await announce(call, case, row, target))
    if warning is not None:
        lines.append(warning)
    desk = call.services.desk
    if desk is not None:
        effects: list[DeskEffect] = []
        # The person hears who helps them once that person can read the case.
        if in_their_room(call, row, target):
            view = RelayView(assignment_id=row.id, ref=ref, aiguilleur_name=target.name)
            effects.append(
                Tell(
                    to=ToPerson(ref=ref),
                    lines=(msg("relay.accepted", name=target.name, ref=ref),),
                    buttons=relay_buttons(view),
                )
            )
        elif row.room_id:
            # Told once they join their room (bot.assignment.rooms: joined_now).
            await desk.tell_on_join(uow, row.id, now)
        if previous is not None:
            effects.append(Drain())  # the previous aiguilleur may have room now
        await desk.apply(uow, tuple(effects))
    else:
        # Without Matrix nothing is relayed: the person learns who follows them,
        # and that the coordination puts them in touch.
        told = msg("contact.to_person.assigned", name=target.name, ref=ref)
        await tell_person(call, case, (told,))
    await call.say(*lines)


async def tell_person(call: AdminCall, case: Case, lines: tuple[Msg, ...]) -> None:
    """In the person's latest conversation; nobody when it was forgotten."""
    person = await call.uow.people.by_id(case.person_id) if case.person_id else None
    chat = await call.uow.assignments.person_chat(person.id) if person is not None else None
    if person is None or chat is None:
        return
    await call.tell(chat.transport, chat.address, lines, locale=person.locale)


# -- close and reopen ------------------------------------------------------------------


async def close(call: AdminCall, case: Case, reason: str | None) -> None:
    uow, now, ref = call.uow, call.now, case.ref
    if case.status == CaseStatus.CLOSED:
        await call.refuse(msg("admin.cases.already_closed", ref=ref))
        return
    lines: list[Msg] = [msg("admin.cases.closed", ref=ref)]
    held = await uow.assignments.open_for_case(case.id)
    desk = call.services.desk
    accepted = held is not None and held.state == ACCEPTED
    if held is not None:
        await uow.assignments.move(
            held, CLOSED if accepted else WITHDRAWN, now=now, reason=reason or COORDINATION
        )
        key = "closed" if accepted else "closed_offer"
        if await tell_aiguilleur(call, held, (msg(f"admin.cases.to_aiguilleur.{key}", ref=ref),)):
            lines.append(
                msg("admin.cases.told.previous", name=await name_of(call, held.aiguilleur_id))
            )
        if accepted and desk is not None and held.room_id:
            # The relay ends: the person's next messages are answered by the bot.
            told = Tell(to=ToPerson(ref=ref), lines=(msg("admin.cases.to_person.closed", ref=ref),))
            await desk.apply(uow, (told,))
    await uow.assignments.dequeue(case.id)
    cancelled = await uow.nudges.cancel_for_case(case.id, reason="closed", now=now)
    if cancelled:
        lines.append(msg("admin.cases.closed.nudges", count=cancelled))
    data = {
        "previous_status": case.status,
        "text": reason,
        "cancelled_nudges": cancelled,
        "aiguilleur": held.aiguilleur_id if held is not None else None,
    }
    await uow.cases.move(
        case, CaseStatus.CLOSED, actor=call.actor.label, kind="case_closed", data=data, now=now
    )
    if desk is not None and held is not None:
        await desk.apply(uow, (Drain(),))  # the aiguilleur has room again
    await call.say(*lines)


async def reopen(call: AdminCall, case: Case) -> None:
    uow, now, ref = call.uow, call.now, case.ref
    if case.status != CaseStatus.CLOSED:
        await call.refuse(msg("admin.cases.not_closed", ref=ref, status=status_label(case.status)))
        return
    held = await uow.assignments.open_for_case(case.id)
    if held is not None:
        status = CaseStatus.ASSIGNED if held.state == ACCEPTED else CaseStatus.PROPOSED
    elif case.contact_requested:
        status = CaseStatus.WAITING
    else:
        status = CaseStatus.NEW
    data = {"status": status.value, "previous_status": CaseStatus.CLOSED.value}
    await uow.cases.move(
        case, status, actor=call.actor.label, kind="case_reopened", data=data, now=now
    )
    desk = call.services.desk
    if desk is not None and held is None and case.contact_requested:
        # The person asked for someone: offered again, or queued (both recorded).
        await desk.apply(uow, (FindAiguilleur(ref=ref),))
    await call.say(msg("admin.cases.reopened", ref=ref, status=status_label(case.status)))
