"""Case commands: ``dossiers`` (filtered, paged), ``dossier`` (sheet and
timeline), ``assigner``/``reassigner``, ``clore``/``rouvrir`` and ``relances``
(list, postpone, cancel).

The router checked the role; each handler checks that the case exists and lies
in the coordinator's régions, then loads rows into the views of
`dialogs.coordination.cases` (what is said) or calls `bot.coordination.case_actions` (what
is done)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.coordination import case_actions
from bot.coordination.call import AdminCall
from bot.coordination.registry import handles
from bot.intake.case_views import answers_of
from dialogs.coordination.cases import (
    PAGE_SIZE,
    CaseRow,
    Entry,
    Holder,
    NudgeRow,
    case_lines,
    days_label,
    listing_lines,
    moment,
    nudge_lines,
    pages_of,
    region_label,
    regions_label,
)
from dialogs.coordination.commands import DAYS, FILTERS
from dialogs.followup.steps import HELP_STEP
from dialogs.kernel.commands import Parsed
from dialogs.kernel.lifecycles import CaseStatus
from dialogs.kernel.replies import msg
from storage.models.assignment import Assignment
from storage.models.core import Case, CaseEvent


def parsed(call: AdminCall) -> Parsed:
    assert call.parsed is not None  # handlers run for typed commands only
    return call.parsed


async def find_case(call: AdminCall) -> Case | None:
    """The case the command names, if it exists and is in the actor's régions
    (the answer is given here otherwise)."""
    ref = parsed(call).ref or ""
    case = await call.uow.cases.by_ref(ref)
    if case is None:
        await call.not_found(msg("admin.cases.unknown", ref=ref))
        return None
    call.case_ref = case.ref
    if not call.in_scope(case.region):
        regions = regions_label(call.actor.regions or ())
        await call.refuse(msg("admin.refused.scope", regions=regions))
        return None
    return case


async def holder_of(call: AdminCall, row: Assignment | None) -> Holder | None:
    if row is None:
        return None
    return Holder(name=await case_actions.name_of(call, row.aiguilleur_id), state=row.state)


def case_row(case: Case, holder: Holder | None) -> CaseRow:
    return CaseRow(
        ref=case.ref,
        created_at=case.created_at,
        status=case.status,
        lieu_name=case.lieu_name,
        region=case.region,
        themes=tuple(case.themes or ()),
        holder=holder,
    )


# -- reading -------------------------------------------------------------------------


@handles("dossiers")
async def list_cases(call: AdminCall) -> None:
    filters = parsed(call).get(FILTERS)
    scope = call.actor.regions
    if filters.region is not None and not call.in_scope(filters.region):
        await call.refuse(
            msg(
                "admin.cases.scope_filter",
                region=region_label(filters.region),
                regions=regions_label(scope or ()),
            )
        )
        return
    page = filters.page
    query = {"status": filters.status, "theme": filters.theme, "region": filters.region}
    offset = (page - 1) * PAGE_SIZE
    cases, total = await call.uow.cases.listing(
        **query, regions=scope, offset=offset, limit=PAGE_SIZE
    )
    if not cases and total:
        # Past the last page: show the last one.
        page = pages_of(total)
        offset = (page - 1) * PAGE_SIZE
        cases, total = await call.uow.cases.listing(
            **query, regions=scope, offset=offset, limit=PAGE_SIZE
        )
    open_rows = await call.uow.assignments.open_of_cases([c.id for c in cases])
    rows = [case_row(c, await holder_of(call, open_rows.get(c.id))) for c in cases]
    await call.say(
        *listing_lines(
            rows, filters=filters, page=page, total=total, prefix=call.prefix, scope=scope
        )
    )


@handles("dossier")
async def show_case(call: AdminCall) -> None:
    case = await find_case(call)
    if case is None:
        return
    events = await call.uow.cases.timeline(case)
    held = (await call.uow.assignments.open_of_cases([case.id])).get(case.id)
    person = await call.uow.people.by_id(case.person_id) if case.person_id else None
    entries = [Entry(at=e.at, actor=e.actor, kind=e.kind, data=e.data or {}) for e in events]
    await call.say(
        *case_lines(
            case_row(case, await holder_of(call, held)),
            answers_of(case),
            person.display_name if person is not None else None,
            entries,
            await actor_names(call, events),
        )
    )


async def actor_names(call: AdminCall, events: Sequence[CaseEvent]) -> dict[str, str]:
    """Display names of the aiguilleurs (by slug) and coordinators (by label) a
    timeline mentions."""
    slugs: set[str] = set()
    coordinators: set[str] = set()
    for event in events:
        actor = event.actor
        if actor.startswith("coordinator:"):
            coordinators.add(actor)
        elif actor.startswith("aiguilleur:"):
            slugs.add(actor.split(":", 1)[1])
        elif actor not in ("person", "bot") and ":" not in actor:
            slugs.add(actor)  # the aiguilleurs' own commands record their slug
        data = event.data or {}
        for key in ("aiguilleur", "previous"):
            if isinstance(data.get(key), str):
                slugs.add(data[key])
        slugs.update(a for a in data.get("aiguilleurs") or () if isinstance(a, str))
    names: dict[str, str] = {}
    for slug in slugs:
        row = await call.uow.catalog.aiguilleur(slug)
        if row is not None:
            names[slug] = row.name
    for label in coordinators:
        _, transport, external_id = label.split(":", 2)
        added = await call.uow.coordination.coordinator(transport, external_id)
        if added is not None and added.name:
            names[label] = added.name
        elif transport == "matrix":
            names[label] = external_id
    return names


# -- acting ----------------------------------------------------------------------------


@handles("assigner", "reassigner")
async def assign(call: AdminCall) -> None:
    case = await find_case(call)
    if case is None:
        return
    if case.status == CaseStatus.CLOSED:
        await call.refuse(msg("admin.cases.closed_case", ref=case.ref, prefix=call.prefix))
        return
    slug = parsed(call).slug or ""
    target = await case_actions.active_aiguilleur(call, slug)
    if target is None:
        await call.not_found(msg("admin.cases.unknown_aiguilleur", slug=slug, prefix=call.prefix))
        return
    await case_actions.assign(call, case, target, replace=parsed(call).name == "reassigner")


@handles("clore")
async def close(call: AdminCall) -> None:
    case = await find_case(call)
    if case is not None:
        await case_actions.close(call, case, parsed(call).text)


@handles("rouvrir")
async def reopen(call: AdminCall) -> None:
    case = await find_case(call)
    if case is not None:
        await case_actions.reopen(call, case)


# -- nudges ----------------------------------------------------------------------------


@handles("relances")
async def list_nudges(call: AdminCall) -> None:
    case = await find_case(call)
    if case is None:
        return
    rows = [
        NudgeRow(
            kind=n.kind,
            state=n.state,
            due_at=n.due_at,
            sent_at=n.sent_at,
            answered_at=n.answered_at,
            escalated_at=n.escalated_at,
            answer=n.answer,
        )
        for n in await call.uow.nudges.list_for_case(case.id)
    ]
    await call.say(*nudge_lines(case.ref, rows, call.prefix))


@handles("repondre")
async def reply_to_person(call: AdminCall) -> None:
    """``repondre AIG-0042 texte``: a coordinator answers the person who asked
    for help on a nudge. The message goes to the chat the nudges went to; what
    the person writes back comes to the coordinators again (dialogs/followup/steps.py)."""
    case = await find_case(call)
    if case is None:
        return
    text = parsed(call).text or ""
    asked = await call.uow.nudges.last_asked_of_case(case.id)
    if asked is None:
        await call.say(msg("admin.cases.reply.unreachable", ref=case.ref))
        return
    lines = (
        msg("followup.coordination_reply", ref=case.ref, text=text),
        msg("followup.coordination_reply.hint"),
    )
    await call.tell(asked.transport, asked.address, lines, locale=asked.locale)
    if asked.impact_step is None:
        await call.uow.nudges.set_impact_step(asked.id, HELP_STEP, now=call.now)
    await call.uow.cases.add_event(
        case, actor=call.actor.label, kind="coordination_reply", data={"text": text}, now=call.now
    )
    await call.say(msg("admin.cases.reply.sent", ref=case.ref))


@handles("relances.reporter")
async def postpone_nudges(call: AdminCall) -> None:
    case = await find_case(call)
    if case is None:
        return
    days = parsed(call).get(DAYS)
    pending = await call.uow.nudges.pending_of_case(case.id)
    moved = []
    for nudge in pending:
        # Quiet hours are checked again when a nudge comes due (bot/followup/nudges.py).
        until = max(nudge.due_at or call.now, call.now) + timedelta(days=days)
        if await call.uow.nudges.postpone(nudge.id, until=until, now=call.now):
            moved.append(until)
    if not moved:
        await call.say(msg("admin.cases.nudges.nothing_pending", ref=case.ref))
        return
    data = {"days": days, "count": len(moved)}
    await call.uow.cases.add_event(
        case, actor=call.actor.label, kind="nudges_postponed", data=data, now=call.now
    )
    await call.say(
        msg(
            "admin.cases.nudges.postponed_by",
            ref=case.ref,
            duration=days_label(days),
            count=len(moved),
            when=moment(min(moved)),
        )
    )


@handles("relances.annuler")
async def cancel_nudges(call: AdminCall) -> None:
    case = await find_case(call)
    if case is None:
        return
    cancelled = await call.uow.nudges.cancel_for_case(case.id, reason="coordination", now=call.now)
    if not cancelled:
        await call.say(msg("admin.cases.nudges.nothing_pending", ref=case.ref))
        return
    await call.uow.cases.add_event(
        case,
        actor=call.actor.label,
        kind="nudges_cancelled",
        data={"count": cancelled},
        now=call.now,
    )
    await call.say(msg("admin.cases.nudges.cancelled_count", ref=case.ref, count=cancelled))
