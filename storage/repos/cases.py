from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, insert, select, update

from dialogs.kernel.lifecycles import CaseStatus, check_case_move
from storage.models.core import Case, CaseEvent, Counter
from storage.session import DbSession, adopt, inserted_id, table_of

CASE_COUNTER = "case"


# Built once: the runtime loads a person's cases for nearly every update.
_OF_PERSON = (
    select(Case)
    .where(Case.person_id == bindparam("person_id"))
    .order_by(Case.created_at.desc(), Case.id.desc())
    .limit(bindparam("limit"))
)


# Each new case takes the next number: the UPDATE locks the counter row until commit.
_COUNTER = table_of(Counter)
_NEXT_NUMBER = (
    update(_COUNTER)
    .where(_COUNTER.c.name == bindparam("counter"))
    .values(value=_COUNTER.c.value + 1)
    .returning(_COUNTER.c.value)
)


# A new case and its timeline are written with Core INSERTs, the objects then put in
# the session (`adopt`): a flush per new object cost several times its INSERT.
_CASES = table_of(Case)
_INSERT_CASE = insert(_CASES)
_EVENTS = table_of(CaseEvent)
_INSERT_EVENT = insert(_EVENTS)


def case_ref(number: int) -> str:
    return f"AIG-{number:04d}"


# Asked for every nudge sent (what it recalls): one column, prebuilt.
_PROPOSALS = (
    select(CaseEvent.data)
    .where(CaseEvent.case_id == bindparam("case_id"), CaseEvent.kind == "proposals")
    .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
    .limit(1)
)


class CasesRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def next_number(self) -> int:
        """Atomic increment: the UPDATE locks the counter row until commit, so two
        processes never get the same number."""
        value = await self.session.scalar(_NEXT_NUMBER, {"counter": CASE_COUNTER})
        if value is None:
            self.session.add(Counter(name=CASE_COUNTER, value=1))
            await self.session.flush()
            return 1
        return int(value)

    async def create(
        self,
        *,
        person_id: int | None,
        locale: str,
        sheet: Mapping[str, Any],
        now: datetime,
    ) -> Case:
        number = await self.next_number()
        place = sheet.get("place") or {}
        values: dict[str, Any] = {
            "number": number,
            "ref": case_ref(number),
            "person_id": person_id,
            "status": CaseStatus.NEW.value,
            "locale": locale,
            "lieu_name": sheet.get("lieu_name"),
            "departement": place.get("departement"),
            "commune": place.get("commune"),
            "postal_code": place.get("postal_code"),
            "region": sheet.get("region") or place.get("region"),
            "role": sheet.get("role"),
            "themes": list(sheet.get("themes") or []),
            "problem": sheet.get("problem"),
            "tried": sheet.get("tried"),
            "goal": sheet.get("goal"),
            "constraints": sheet.get("constraints"),
            "help": list(sheet.get("help") or []),
            "urgency": sheet.get("urgency"),
            "interests": [],
            "contact_requested": False,
            "created_at": now,
            "updated_at": now,
        }
        result = await self.session.execute(_INSERT_CASE, values)
        return adopt(self.session, Case, {"id": inserted_id(result), **values})

    async def by_id(self, case_id: int) -> Case | None:
        return await self.session.get(Case, case_id)

    async def by_ref(self, ref: str) -> Case | None:
        return await self.session.scalar(select(Case).where(Case.ref == ref.upper()))

    async def of_person(self, person_id: int, limit: int = 20) -> Sequence[Case]:
        result = await self.session.scalars(_OF_PERSON, {"person_id": person_id, "limit": limit})
        return result.all()

    async def add_event(
        self, case: Case, *, actor: str, kind: str, data: Mapping[str, Any], now: datetime
    ) -> CaseEvent:
        # The case's own pending changes (a move, an interest) first, as when the
        # event was flushed with them; nothing to do, nothing written.
        await self.session.flush()
        values = {"case_id": case.id, "at": now, "actor": actor, "kind": kind, "data": dict(data)}
        result = await self.session.execute(_INSERT_EVENT, values)
        return adopt(self.session, CaseEvent, {"id": inserted_id(result), **values})

    async def move(
        self,
        case: Case,
        to: CaseStatus,
        *,
        actor: str,
        kind: str,
        data: Mapping[str, Any] | None = None,
        now: datetime,
    ) -> CaseEvent:
        """The one writer of a case's status: checks the move against the table of
        dialogs/kernel/lifecycles.py (`ForbiddenMove` otherwise: a bug), writes it and
        records it on the timeline as `kind` with `data`."""
        case.status = check_case_move(case.status, to).value
        case.updated_at = now
        return await self.add_event(case, actor=actor, kind=kind, data=data or {}, now=now)

    async def record_interest(
        self, case: Case, resource_id: str, interested: bool, *, now: datetime
    ) -> None:
        """The person's choices among proposals, kept for the aiguilleur and reports."""
        chosen = [r for r in case.interests if r != resource_id]
        case.interests = [*chosen, resource_id] if interested else chosen
        case.updated_at = now
        kind = "interest_added" if interested else "interest_removed"
        await self.add_event(
            case, actor="person", kind=kind, data={"resource": resource_id}, now=now
        )

    async def request_contact(self, case: Case, *, now: datetime) -> None:
        case.contact_requested = True
        case.updated_at = now
        if case.status == CaseStatus.NEW:
            await self.move(
                case, CaseStatus.WAITING, actor="person", kind="contact_requested", now=now
            )
        else:
            await self.add_event(case, actor="person", kind="contact_requested", data={}, now=now)

    async def record_proposals(
        self, case: Case, resources: list[str], aiguilleurs: list[str], *, now: datetime
    ) -> None:
        await self.add_event(
            case,
            actor="bot",
            kind="proposals",
            data={"resources": resources, "aiguilleurs": aiguilleurs},
            now=now,
        )

    async def proposed_resources(self, case: Case) -> list[str]:
        """The resources proposed when the case was confirmed, best first."""
        data = await self.session.scalar(_PROPOSALS, {"case_id": case.id})
        return [str(r) for r in (data or {}).get("resources") or ()]

    async def retag_nudge_event(
        self, case: Case, *, nudge_id: int, kind: str, to: str, data: Mapping[str, Any]
    ) -> int:
        """Correct a nudge's line of the timeline (a question recorded as sent that
        Telegram then refused): same moment, new kind, `data` added."""
        rows = await self.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == kind)
        )
        changed = 0
        for row in rows.all():
            if row.data.get("nudge") == nudge_id:
                row.kind = to
                row.data = {**row.data, **data}
                changed += 1
        await self.session.flush()
        return changed

    async def timeline(self, case: Case) -> Sequence[CaseEvent]:
        result = await self.session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        )
        return result.all()

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count(Case.id))) or 0)

    async def listing(
        self,
        *,
        status: str | None = None,
        theme: str | None = None,
        region: str | None = None,
        regions: Collection[str] | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[Sequence[Case], int]:
        """A page of cases, newest first, and how many match in all. `regions`:
        a coordinator's scope (None: every case; else only cases of those régions)."""
        clauses: list[Any] = []
        if status is not None:
            clauses.append(Case.status == status)
        if region is not None:
            clauses.append(Case.region == region)
        if regions is not None:
            clauses.append(Case.region.in_(sorted(regions)))
        if theme is not None:
            # Theme ids are plain words, so their JSON text is a portable match
            # on SQLite and PostgreSQL alike.
            clauses.append(cast(Case.themes, Text).like(f'%"{theme}"%'))
        total = await self.session.scalar(select(func.count(Case.id)).where(*clauses))
        result = await self.session.scalars(
            select(Case)
            .where(*clauses)
            .order_by(Case.created_at.desc(), Case.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return result.all(), int(total or 0)
