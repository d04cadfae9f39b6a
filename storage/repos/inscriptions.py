"""Inscriptions: people who asked to become aiguilleurs, until a coordinator
approves or rejects them. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from storage.models.coordination import APPROVED, PENDING, REJECTED, Inscription
from storage.session import DbSession


class InscriptionsRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def create(
        self,
        *,
        transport: str,
        external_id: str,
        address: str,
        locale: str,
        name: str,
        themes: list[str],
        regions: list[str],
        capacity: int,
        now: datetime,
    ) -> Inscription:
        row = Inscription(
            transport=transport,
            external_id=external_id,
            address=address,
            locale=locale,
            name=name,
            themes=list(themes),
            regions=list(regions),
            capacity=capacity,
            state=PENDING,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, inscription_id: int) -> Inscription | None:
        return await self.session.get(Inscription, inscription_id)

    async def pending(self) -> Sequence[Inscription]:
        result = await self.session.scalars(
            select(Inscription).where(Inscription.state == PENDING).order_by(Inscription.id)
        )
        return result.all()

    async def pending_of(self, transport: str, external_id: str) -> Inscription | None:
        """This person's inscription still waiting for a decision, if any."""
        return await self.session.scalar(
            select(Inscription)
            .where(
                Inscription.transport == transport,
                Inscription.external_id == external_id,
                Inscription.state == PENDING,
            )
            .order_by(Inscription.id.desc())
            .limit(1)
        )

    async def approve(
        self, row: Inscription, *, aiguilleur_id: str, decided_by: str, now: datetime
    ) -> None:
        row.state = APPROVED
        row.aiguilleur_id = aiguilleur_id
        row.decided_by = decided_by
        row.decided_at = now

    async def reject(self, row: Inscription, *, decided_by: str, now: datetime) -> None:
        row.state = REJECTED
        row.decided_by = decided_by
        row.decided_at = now
