from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select

from storage.models.core import Person
from storage.session import DbSession, adopt, inserted_id, table_of

_BY_EXTERNAL_ID = select(Person).where(
    Person.transport == bindparam("transport"), Person.external_id == bindparam("external_id")
)
# A new person is written with a Core INSERT (`adopt`): the flush of a new object
# cost several times its INSERT; whether they exist is asked with Core columns.
_PEOPLE = table_of(Person)
_INSERT = insert(_PEOPLE)
_ID_BY_EXTERNAL_ID = select(_PEOPLE.c.id).where(
    _PEOPLE.c.transport == bindparam("transport"),
    _PEOPLE.c.external_id == bindparam("external_id"),
)


class PeopleRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def by_external_id(self, transport: str, external_id: str) -> Person | None:
        return await self.session.scalar(
            _BY_EXTERNAL_ID, {"transport": transport, "external_id": external_id}
        )

    async def by_id(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def record_consent(
        self,
        *,
        transport: str,
        external_id: str,
        display_name: str | None,
        locale: str,
        now: datetime,
    ) -> Person:
        known = await self.session.scalar(
            _ID_BY_EXTERNAL_ID, {"transport": transport, "external_id": external_id}
        )
        person = await self.by_id(known) if known is not None else None
        if person is None:
            values = {
                "transport": transport,
                "external_id": external_id,
                "display_name": display_name,
                "locale": locale,
                "consent_at": now,
                "created_at": now,
            }
            result = await self.session.execute(_INSERT, values)
            return adopt(self.session, Person, {"id": inserted_id(result), **values})
        person.consent_at = now
        person.locale = locale
        await self.session.flush()
        return person
