"""Everything kept about one person, and its erasure (RGPD).

Erasure keeps anonymous statistics and nothing that leads back to someone:
- a case keeps its reference, status, dates, locale, région, themes, help kinds,
  urgency, interests, contact request, and its timeline's kinds, dates, ids and
  figures (hours, ranges); it loses the lieu's name, commune, postal code and
  département, the role when typed freely, every text (problem, tried, goal,
  constraints, messages, nudge answers, notes, relay texts) and its person;
- assignments and interventions stay (the aiguilleurs' history) without their
  free texts (decline reasons, notes);
- nudges stay as counts, without their chat address or typed answers;
- the person row, conversations, queued or sent messages to them, admin forms
  in progress and unapproved inscriptions are deleted.

An erased case carries a `personal_data_erased` event: it is both the audit
trail and the marker that the retention purge skips it. Nothing here commits.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, exists, func, or_, select, update

from dialogs.kernel.lifecycles import SETTLED_STATUSES, CaseStatus
from dialogs.kernel.options import ROLES
from storage.models.assignment import ENDED, Assignment, CaseQueue
from storage.models.catalog import Aiguilleur
from storage.models.coordination import APPROVED, Inscription, Intervention, PendingAction
from storage.models.core import Case, CaseEvent, Conversation, OutboxMessage, Person
from storage.models.followup import Nudge
from storage.repos.assignments import AssignmentsRepo
from storage.repos.cases import CasesRepo
from storage.repos.nudges import PENDING, SENT
from storage.session import DbSession

ERASED = "personal_data_erased"
CLOSED = CaseStatus.CLOSED
# A case whose follow-up is over (SETTLED_STATUSES) keeps its status on erasure; any
# earlier status becomes "clos" (nobody is left to follow up).
# Free-text columns of a case, with the place finer than the région.
CASE_TEXTS = (
    "lieu_name",
    "commune",
    "postal_code",
    "departement",
    "problem",
    "tried",
    "goal",
    "constraints",
)
# Timeline data whose strings are ids or closed choices (kept on erasure). Any
# other string, "text" first, is dropped; numbers, booleans and None are kept.
KEPT_STRING_KEYS = frozenset(
    {
        "themes",
        "resource",
        "resources",
        "aiguilleur",
        "aiguilleurs",
        "kind",
        "answer",
        "field",
        "range",
        "reason",
        "until",
        "by",
        "previous_status",
    }
)


def scrub_event_data(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if is_kept(key, value)}


def is_kept(key: str, value: object) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    return key in KEPT_STRING_KEYS and is_ids(value)


def is_ids(value: object) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def mentions(ref: str) -> re.Pattern[str]:
    """A case reference in a message, not the start of a longer one (AIG-1000
    is not AIG-10000)."""
    return re.compile(re.escape(ref) + r"(?!\d)")


class PrivacyRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    # -- lookups ---------------------------------------------------------------------

    async def person(
        self, person_id: int | None, transport: str, external_id: str
    ) -> Person | None:
        if person_id is not None:
            return await self.session.get(Person, person_id)
        return await self.session.scalar(
            select(Person).where(Person.transport == transport, Person.external_id == external_id)
        )

    async def cases_of(self, person_id: int) -> list[Case]:
        """All of them (`CasesRepo.of_person` stops at 20), oldest first."""
        result = await self.session.scalars(
            select(Case).where(Case.person_id == person_id).order_by(Case.created_at, Case.id)
        )
        return list(result.all())

    async def chats_of(self, person_id: int) -> set[tuple[str, str]]:
        result = await self.session.execute(
            select(Conversation.transport, Conversation.address).where(
                Conversation.person_id == person_id
            )
        )
        return {(t, a) for t, a in result.all()}

    async def is_erased(self, case_id: int) -> bool:
        return bool(
            await self.session.scalar(
                select(exists().where(CaseEvent.case_id == case_id, CaseEvent.kind == ERASED))
            )
        )

    # -- export ------------------------------------------------------------------------

    async def export(
        self, *, person_id: int | None, transport: str, address: str, external_id: str
    ) -> dict[str, Any]:
        """Everything about the person, JSON-ready: their row, the chat's
        conversation, every case with its timeline, nudges, assignments and
        interventions, inscriptions and admin forms in progress."""
        person = await self.person(person_id, transport, external_id)
        conversation = await self.session.scalar(
            select(Conversation).where(
                Conversation.transport == transport, Conversation.address == address
            )
        )
        cases = await self.cases_of(person.id) if person is not None else []
        case_ids = [c.id for c in cases]
        events = await self._grouped(
            select(CaseEvent)
            .where(CaseEvent.case_id.in_(case_ids))
            .order_by(CaseEvent.at, CaseEvent.id)
        )
        nudges = await self._grouped(
            select(Nudge)
            .where(
                or_(
                    Nudge.case_id.in_(case_ids),
                    (Nudge.transport == transport) & (Nudge.address == address),
                )
            )
            .order_by(Nudge.created_at, Nudge.id)
        )
        assignments = await self._grouped(
            select(Assignment).where(Assignment.case_id.in_(case_ids)).order_by(Assignment.id)
        )
        interventions = await self._grouped(
            select(Intervention)
            .where(Intervention.case_id.in_(case_ids))
            .order_by(Intervention.at, Intervention.id)
        )
        names = await self._aiguilleur_names(
            [a.aiguilleur_id for rows in assignments.values() for a in rows]
            + [i.aiguilleur_id for rows in interventions.values() for i in rows]
        )
        inscriptions = (
            await self.session.scalars(
                select(Inscription)
                .where(Inscription.transport == transport, Inscription.external_id == external_id)
                .order_by(Inscription.id)
            )
        ).all()
        forms = (
            await self.session.scalars(
                select(PendingAction).where(
                    PendingAction.transport == transport, PendingAction.address == address
                )
            )
        ).all()
        return {
            "person": person_json(person) if person is not None else None,
            "conversation": (
                {
                    "transport": conversation.transport,
                    "address": conversation.address,
                    "updated_at": iso(conversation.updated_at),
                    "state": conversation.state,
                }
                if conversation is not None
                else None
            ),
            "cases": [
                case_json(
                    case,
                    events.get(case.id, []),
                    nudges.get(case.id, []),
                    assignments.get(case.id, []),
                    interventions.get(case.id, []),
                    names,
                )
                for case in cases
            ],
            "inscriptions": [
                {
                    "name": i.name,
                    "themes": i.themes,
                    "regions": i.regions,
                    "capacity": i.capacity,
                    "state": i.state,
                    "created_at": iso(i.created_at),
                    "decided_at": iso(i.decided_at),
                }
                for i in inscriptions
            ],
            "forms_in_progress": [
                {"kind": f.kind, "data": f.data, "created_at": iso(f.created_at)} for f in forms
            ],
        }

    async def _grouped(self, query: Any) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = {}
        for row in (await self.session.scalars(query)).all():
            grouped.setdefault(row.case_id, []).append(row)
        return grouped

    async def _aiguilleur_names(self, ids: Iterable[str]) -> dict[str, str]:
        wanted = set(ids)
        if not wanted:
            return {}
        result = await self.session.execute(
            select(Aiguilleur.id, Aiguilleur.name).where(Aiguilleur.id.in_(wanted))
        )
        return {i: n for i, n in result.all()}

    # -- erasure -------------------------------------------------------------------------

    async def erase_person(
        self,
        *,
        person_id: int | None,
        transport: str,
        external_id: str,
        chats: Collection[tuple[str, str]],
        by: str,
        now: datetime,
    ) -> int:
        """Erase a person (found by id, else by their external id) and their
        chats' traces. Returns how many cases were anonymised."""
        person = await self.person(person_id, transport, external_id)
        everywhere = set(chats)
        cases: list[Case] = []
        if person is not None:
            everywhere |= await self.chats_of(person.id)
            cases = await self.cases_of(person.id)
            external_id = person.external_id
            transport = person.transport
        for case in cases:
            await self.erase_case(case, by=by, now=now, settle=True)
            case.person_id = None
        for chat_transport, address in everywhere:
            await self.erase_chat(chat_transport, address, now=now)
        # An approved inscription is an aiguilleur's catalog entry now, which
        # the coordinators manage; the others are only this person's request.
        await self.session.execute(
            delete(Inscription).where(
                Inscription.transport == transport,
                Inscription.external_id == external_id,
                Inscription.state != APPROVED,
            )
        )
        if person is not None:
            await self.session.flush()
            await self.session.execute(delete(Person).where(Person.id == person.id))
        return len(cases)

    async def erase_chat(self, transport: str, address: str, *, now: datetime) -> None:
        """The conversation, messages queued or sent to it, admin forms in
        progress, and the chat's address on nudges (which stop)."""
        chat = (Nudge.transport == transport) & (Nudge.address == address)
        await self.session.execute(
            delete(Conversation).where(
                Conversation.transport == transport, Conversation.address == address
            )
        )
        await self.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.transport == transport, OutboxMessage.address == address
            )
        )
        await self.session.execute(
            delete(PendingAction).where(
                PendingAction.transport == transport, PendingAction.address == address
            )
        )
        await self._stop_nudges(chat, now)
        await self.session.execute(
            update(Nudge).where(chat).values(address="", answer_text=None, updated_at=now)
        )

    async def _stop_nudges(self, where: Any, now: datetime) -> None:
        await self.session.execute(
            update(Nudge)
            .where(where, Nudge.state == PENDING)
            .values(state="cancelled", due_at=None, cancel_reason="erased", updated_at=now)
        )
        # Asked already: no silence is escalated about someone who is gone.
        await self.session.execute(
            update(Nudge).where(where, Nudge.state == SENT).values(due_at=None, updated_at=now)
        )

    async def erase_case(self, case: Case, *, by: str, now: datetime, settle: bool) -> None:
        """Anonymise one case (idempotent). `settle`: the person is gone, so an
        unfinished case is closed and its open offer or relay ended."""
        first_time = not await self.is_erased(case.id)
        for column in CASE_TEXTS:
            setattr(case, column, None)
        if case.role not in ROLES:
            case.role = None
        data: dict[str, Any] = {"by": by}
        for event in (
            await self.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))
        ).all():
            scrubbed = scrub_event_data(event.data or {})
            if scrubbed != event.data:
                event.data = scrubbed
        of_case = Nudge.case_id == case.id
        await self._stop_nudges(of_case, now)
        await self.session.execute(
            update(Nudge).where(of_case).values(address="", answer_text=None, updated_at=now)
        )
        await self.session.execute(
            update(Intervention).where(Intervention.case_id == case.id).values(note=None)
        )
        await self.session.execute(
            update(Assignment).where(Assignment.case_id == case.id).values(reason=None)
        )
        if settle:
            assignments = AssignmentsRepo(self.session)
            for row in await assignments.open_rows_of_case(case.id):
                await assignments.move(row, ENDED, now=now)
            await self.session.execute(delete(CaseQueue).where(CaseQueue.case_id == case.id))
        await self.delete_messages_about(case.ref)
        if settle and case.status not in SETTLED_STATUSES:
            # The erasure is the timeline entry of the closing.
            data["previous_status"] = case.status
            await CasesRepo(self.session).move(
                case, CaseStatus.CLOSED, actor=by, kind=ERASED, data=data, now=now
            )
        elif first_time:
            self.session.add(CaseEvent(case_id=case.id, at=now, actor=by, kind=ERASED, data=data))
        await self.session.flush()

    async def delete_messages_about(self, ref: str) -> int:
        """Queued or sent messages naming the case (offers, relays, alerts): their
        text holds the sheet or what the person wrote."""
        pattern = mentions(ref)
        rows = (
            await self.session.execute(
                select(OutboxMessage.id, OutboxMessage.payload).where(
                    cast(OutboxMessage.payload, Text).like(f"%{ref}%")
                )
            )
        ).all()
        ids = [row_id for row_id, payload in rows if pattern.search(str(payload))]
        if ids:
            await self.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        return len(ids)

    # -- retention -------------------------------------------------------------------------

    async def expired_cases(self, cutoff: datetime, limit: int | None = 200) -> list[Case]:
        """Closed cases untouched since `cutoff` that still hold personal data."""
        result = await self.session.scalars(
            select(Case)
            .where(
                Case.status == CLOSED,
                Case.updated_at < cutoff,
                ~exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == ERASED),
            )
            .order_by(Case.updated_at, Case.id)
            .limit(limit)
        )
        return list(result.all())

    async def forgettable_people(
        self, cutoff: datetime, assume_erased: Collection[int] = (), limit: int | None = 200
    ) -> list[Person]:
        """People known since before `cutoff`, silent since, and none of whose
        cases holds personal data any more (or ever had one). `assume_erased`:
        case ids about to be erased (a dry run counts them as erased)."""
        holding = select(Case.id).where(
            Case.person_id == Person.id,
            ~exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == ERASED),
        )
        if assume_erased:
            holding = holding.where(Case.id.not_in(list(assume_erased)))
        recent = select(Conversation.id).where(
            Conversation.person_id == Person.id, Conversation.updated_at >= cutoff
        )
        result = await self.session.scalars(
            select(Person)
            .where(Person.created_at < cutoff, ~holding.exists(), ~recent.exists())
            .order_by(Person.id)
            .limit(limit)
        )
        return list(result.all())

    async def stale_anonymous_chats(self, cutoff: datetime, limit: int | None = 500) -> list[int]:
        """Conversations of nobody (consent never given) idle since `cutoff`."""
        result = await self.session.scalars(
            select(Conversation.id)
            .where(Conversation.person_id.is_(None), Conversation.updated_at < cutoff)
            .order_by(Conversation.id)
            .limit(limit)
        )
        return list(result.all())

    async def delete_conversations(self, ids: Collection[int]) -> None:
        if ids:
            await self.session.execute(delete(Conversation).where(Conversation.id.in_(list(ids))))

    async def sent_before(self, moment: datetime) -> int:
        """Messages sent (or given up) before `moment`: what
        `OutboxRepo.purge_sent_before` would delete."""
        return int(
            await self.session.scalar(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.state != PENDING, OutboxMessage.sent_at < moment
                )
            )
            or 0
        )


def person_json(person: Person) -> dict[str, Any]:
    return {
        "transport": person.transport,
        "external_id": person.external_id,
        "display_name": person.display_name,
        "locale": person.locale,
        "consent_at": iso(person.consent_at),
        "created_at": iso(person.created_at),
    }


def case_json(
    case: Case,
    events: list[CaseEvent],
    nudges: list[Nudge],
    assignments: list[Assignment],
    interventions: list[Intervention],
    names: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "ref": case.ref,
        "status": case.status,
        "locale": case.locale,
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
        "sheet": {
            "lieu_name": case.lieu_name,
            "departement": case.departement,
            "commune": case.commune,
            "postal_code": case.postal_code,
            "region": case.region,
            "role": case.role,
            "themes": case.themes,
            "problem": case.problem,
            "tried": case.tried,
            "goal": case.goal,
            "constraints": case.constraints,
            "help": case.help,
            "urgency": case.urgency,
        },
        "interests": case.interests,
        "contact_requested": case.contact_requested,
        "events": [
            {"at": iso(e.at), "actor": e.actor, "kind": e.kind, "data": e.data} for e in events
        ],
        "nudges": [
            {
                "kind": n.kind,
                "state": n.state,
                "due_at": iso(n.due_at),
                "sent_at": iso(n.sent_at),
                "answered_at": iso(n.answered_at),
                "answer": n.answer,
                "answer_text": n.answer_text,
            }
            for n in nudges
        ],
        # Who helped, and when: no aiguilleur's contact details, no free text.
        "assignments": [
            {
                "aiguilleur": names.get(a.aiguilleur_id, a.aiguilleur_id),
                "state": a.state,
                "offered_at": iso(a.offered_at),
                "decided_at": iso(a.decided_at),
                "contacts_shared": a.contacts_shared,
            }
            for a in assignments
        ],
        "interventions": [
            {
                "aiguilleur": names.get(i.aiguilleur_id, i.aiguilleur_id),
                "minutes": i.minutes,
                "funding": i.funding,
                "at": iso(i.at),
                "note": i.note,
            }
            for i in interventions
        ],
    }
