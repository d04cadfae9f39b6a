"""Contact requests on an installation without Matrix: the coordinators on
Telegram receive them and decide, with a button, who follows the person.

Rules:
- A request goes to every coordinator on Telegram whose régions cover the case
  (the configuration's `[coordinators] telegram_ids`, and those added in chat):
  the case sheet, the aiguilleurs proposed for it, and one button per suitable
  aiguilleur reachable on Telegram, plus « Je m'en occupe ».
- The buttons carry the case and the choice (``ctc:<ref>:<aiguilleur>``, ``*``
  for « Je m'en occupe »), not a version: a coordinator may hold several
  requests at once. A press is checked like the typed command — a coordinator,
  in scope, the case still free — and logged in `command_log` ("assigner").
- Assigning is `case_actions.assign`, as with ``/assigner``. The person is told
  who follows them; the coordinator who chose gets the person's Telegram link
  to put them in touch (the bot relays nothing without Matrix). The other
  coordinators are told who decided.
"""

from __future__ import annotations

from datetime import datetime

from bot.config.followup import CoordinatorsConfig
from bot.coordination import case_actions
from bot.coordination.call import AdminCall
from bot.coordination.roles import ConfiguredCoordinators
from bot.delivery import payloads
from bot.intake.case_views import answers_of
from dialogs.coordination.cases import regions_label
from dialogs.intake.sheet import sheet_lines
from dialogs.kernel.commands import Role
from dialogs.kernel.lifecycles import CaseStatus
from dialogs.kernel.replies import Button, Msg, Say, msg
from storage.db import UnitOfWork
from storage.models.assignment import ACCEPTED
from storage.models.catalog import Aiguilleur
from storage.models.core import Case

PREFIX = "ctc:"
TAKE = "*"
# Aiguilleurs offered as buttons, proposed ones first.
MAX_CHOICES = 4
MAX_DATA = 64  # bytes of Telegram callback data
TELEGRAM = "telegram"


async def recipients(uow: UnitOfWork, configured: ConfiguredCoordinators, case: Case) -> list[str]:
    """Telegram ids of the coordinators who may act on this case."""
    ids = sorted(configured.telegram_ids)
    for external_id, regions in await uow.coordination.scopes(TELEGRAM):
        if external_id in ids:
            continue
        if not regions or (case.region is not None and case.region in regions):
            ids.append(external_id)
    return ids


async def suitable(uow: UnitOfWork, case: Case) -> list[Aiguilleur]:
    """Aiguilleurs the case may go to from Telegram: those proposed for it, then
    others of its région; active, real and reachable on Telegram."""
    proposed: list[str] = []
    for event in await uow.cases.timeline(case):
        if event.kind == "proposals":
            proposed = [str(i) for i in event.data.get("aiguilleurs") or ()]
    rows = [
        a
        for a in await uow.catalog.active_aiguilleurs()
        if a.active and not a.demo and a.telegram_id
    ]
    rank = {slug: i for i, slug in enumerate(proposed)}
    chosen = [a for a in rows if a.id in rank]
    chosen.sort(key=lambda a: rank[a.id])
    chosen += [a for a in rows if a.id not in rank and case.region in (a.regions or ())]
    return [a for a in chosen if len(data(case.ref, a.id).encode()) <= MAX_DATA][:MAX_CHOICES]


def data(ref: str, choice: str) -> str:
    return f"{PREFIX}{ref}:{choice}"


def parse(raw: str) -> tuple[str, str] | None:
    ref, sep, choice = raw.removeprefix(PREFIX).partition(":")
    return (ref, choice) if sep and ref and choice else None


async def request_lines(uow: UnitOfWork, case: Case, proposed: list[Aiguilleur]) -> list[Msg]:
    person = await uow.people.by_id(case.person_id) if case.person_id else None
    shown = person.display_name if person is not None else None
    lieu: str | Msg = case.lieu_name or msg("escalation.nolieu")
    lines: list[Msg] = [
        msg("contact.request.title", ref=case.ref, lieu=lieu),
        msg("desk.offer.person", name=shown or msg("desk.someone")),
        *sheet_lines(answers_of(case)),
    ]
    if proposed:
        lines.append(msg("contact.request.ask", names=tuple(a.name for a in proposed)))
    else:
        lines.append(msg("contact.request.ask_nobody"))
    return lines


async def notify(
    uow: UnitOfWork,
    configured: ConfiguredCoordinators,
    config: CoordinatorsConfig,
    case: Case,
    now: datetime,
) -> int:
    """Send the request to the coordinators; how many were told."""
    ids = await recipients(uow, configured, case)
    if not ids:
        return 0
    proposed = await suitable(uow, case)
    lines = await request_lines(uow, case, proposed)
    rows = [
        (Button(label=msg("contact.request.assign", name=a.name), data=data(case.ref, a.id)),)
        for a in proposed
    ]
    rows.append((Button(label=msg("contact.request.take"), data=data(case.ref, TAKE)),))
    payload = payloads.say(Say(lines=tuple(lines), buttons=tuple(rows)), config.locale)
    for telegram_id in ids:
        await uow.outbox.enqueue(
            transport=TELEGRAM,
            address=telegram_id,
            payload=payload,
            now=now,
        )
    await uow.cases.add_event(
        case,
        actor="bot",
        kind="contact_sent_to_coordinators",
        data={"coordinators": len(ids), "proposed": [a.id for a in proposed]},
        now=now,
    )
    return len(ids)


# -- a coordinator's press ---------------------------------------------------------------


async def on_press(call: AdminCall, raw: str) -> None:
    """One of the request's buttons, pressed by someone the router resolved."""
    parsed = parse(raw)
    if call.actor.role != Role.COORDINATOR or parsed is None:
        await call.refuse(msg("admin.refused.coordinator"))
        return
    ref, choice = parsed
    call.case_ref = ref
    case = await call.uow.cases.by_ref(ref)
    if case is None:
        await call.not_found(msg("admin.cases.unknown", ref=ref))
        return
    if not call.in_scope(case.region):
        regions = regions_label(call.actor.regions or ())
        await call.refuse(msg("admin.refused.scope", regions=regions))
        return
    if case.status == CaseStatus.CLOSED:
        await call.refuse(msg("admin.cases.already_closed", ref=ref))
        return
    if await followed(call, case):
        return
    if choice == TAKE:
        await take(call, case)
        return
    target = await case_actions.active_aiguilleur(call, choice)
    if target is None:
        await call.not_found(msg("admin.cases.unknown_aiguilleur", slug=choice, prefix=call.prefix))
        return
    await case_actions.assign(call, case, target, replace=False)
    if call.outcome != "ok":
        return
    # `assign` told the person and the aiguilleur.
    await settled(call, case, msg("contact.request.done.assigned", ref=ref, name=target.name))
    await call.tell_coordinators(
        (msg("contact.request.decided", ref=ref, who=who(call), name=target.name),)
    )


async def followed(call: AdminCall, case: Case) -> bool:
    """True (and said) when someone follows the case already."""
    held = await call.uow.assignments.open_for_case(case.id)
    if held is not None and held.state == ACCEPTED:
        name = await case_actions.name_of(call, held.aiguilleur_id)
        await call.refuse(msg("contact.request.already", ref=case.ref, name=name))
        return True
    for event in reversed(await call.uow.cases.timeline(case)):
        if event.kind == "taken":
            name = str(event.data.get("name") or event.actor)
            await call.refuse(msg("contact.request.already", ref=case.ref, name=name))
            return True
        if event.kind in ("case_reopened", "assigned"):
            break
    return False


def who(call: AdminCall) -> str:
    return call.actor.name or call.actor.label


async def take(call: AdminCall, case: Case) -> None:
    uow, now, ref = call.uow, call.now, case.ref
    await uow.assignments.dequeue(case.id)
    data_ = {"previous_status": case.status, "name": who(call)}
    # A verified action stays counted as such (as with `assigner`).
    status = CaseStatus.VERIFIED if case.status == CaseStatus.VERIFIED else CaseStatus.ASSIGNED
    await uow.cases.move(case, status, actor=call.actor.label, kind="taken", data=data_, now=now)
    await settled(call, case, msg("contact.request.done.taken", ref=ref))
    told = (msg("contact.to_person.taken", name=who(call), ref=ref),)
    await case_actions.tell_person(call, case, told)
    await call.tell_coordinators((msg("contact.request.taken_by", ref=ref, who=who(call)),))


async def settled(call: AdminCall, case: Case, done: Msg) -> None:
    """The request's message loses its buttons; the coordinator who chose gets
    the person's Telegram link, to put them in touch."""
    proposed = await suitable(call.uow, case)
    await call.edit(*await request_lines(call.uow, case, proposed), done)
    person = await call.uow.people.by_id(case.person_id) if case.person_id else None
    if person is not None and person.transport == TELEGRAM:
        link = f"tg://user?id={person.external_id}"
        name = person.display_name or msg("desk.someone")
        await call.say(msg("contact.request.reach", link=link, name=name, ref=case.ref))
