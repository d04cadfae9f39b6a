from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.models.core import Person
from storage.session import DbSession


class PeopleRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def by_external_id(self, transport: str, external_id: str) -> Person | None:
        return await self.session.scalar(
            select(Person).where(Person.transport == transport, Person.external_id == external_id)
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
        person = await self.by_external_id(transport, external_id)
        if person is None:
            person = Person(
                transport=transport,
                external_id=external_id,
                display_name=display_name,
                locale=locale,
                created_at=now,
            )
            self.session.add(person)
        person.consent_at = now
        person.locale = locale
        await self.session.flush()
        return person
