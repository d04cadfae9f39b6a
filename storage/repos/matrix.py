"""The bot's Matrix bookkeeping: aiguilleurs' rooms and the sync position."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.models.catalog import Aiguilleur
from storage.models.matrix import MatrixRoom, MatrixSync
from storage.session import DbSession

SYNC_TOKEN = "next_batch"


class MatrixRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    async def room_of(self, aiguilleur_id: str) -> str | None:
        row = await self.session.get(MatrixRoom, aiguilleur_id)
        return row.room_id if row is not None else None

    async def room_row(self, aiguilleur_id: str) -> MatrixRoom | None:
        return await self.session.get(MatrixRoom, aiguilleur_id)

    async def room_rows(self) -> list[MatrixRoom]:
        result = await self.session.scalars(select(MatrixRoom).order_by(MatrixRoom.aiguilleur_id))
        return list(result.all())

    async def rooms(self) -> dict[str, str]:
        """Aiguilleur slug → room id."""
        result = await self.session.scalars(select(MatrixRoom))
        return {row.aiguilleur_id: row.room_id for row in result.all()}

    async def owner_of(self, room_id: str) -> str | None:
        return await self.session.scalar(
            select(MatrixRoom.aiguilleur_id).where(MatrixRoom.room_id == room_id)
        )

    async def set_room(
        self, aiguilleur_id: str, room_id: str, *, created_by_bot: bool, now: datetime
    ) -> None:
        """Point the aiguilleur at `room_id` (a configured room replaces a joined one)."""
        taken = await self.session.scalar(select(MatrixRoom).where(MatrixRoom.room_id == room_id))
        if taken is not None and taken.aiguilleur_id != aiguilleur_id:
            await self.session.delete(taken)
            await self.session.flush()
        row = await self.session.get(MatrixRoom, aiguilleur_id)
        if row is None:
            self.session.add(
                MatrixRoom(
                    aiguilleur_id=aiguilleur_id,
                    room_id=room_id,
                    created_by_bot=created_by_bot,
                    created_at=now,
                )
            )
        else:
            row.room_id = room_id
            row.created_by_bot = created_by_bot
        await self.session.flush()

    # -- who is who (the catalog's aiguilleurs, seen from Matrix) ---------------------

    async def aiguilleur_by_matrix_id(self, matrix_id: str) -> Aiguilleur | None:
        """An active, real (not demo) aiguilleur with this Matrix id."""
        return await self.session.scalar(
            select(Aiguilleur)
            .where(
                Aiguilleur.matrix_id == matrix_id,
                Aiguilleur.active.is_(True),
                Aiguilleur.demo.is_(False),
            )
            # Two catalog entries may share a Matrix id: always the same one. Without ORDER BY,
            # PostgreSQL returns heap order, which an UPDATE of either row changes.
            .order_by(Aiguilleur.id)
            .limit(1)
        )

    async def set_available(self, aiguilleur_id: str, available: bool, now: datetime) -> None:
        row = await self.session.get(Aiguilleur, aiguilleur_id)
        if row is not None:
            row.available = available
            row.updated_at = now
            await self.session.flush()

    async def without_room(self) -> list[Aiguilleur]:
        """Active real aiguilleurs with a Matrix id and no room with the bot yet."""
        result = await self.session.scalars(
            select(Aiguilleur)
            .outerjoin(MatrixRoom, MatrixRoom.aiguilleur_id == Aiguilleur.id)
            .where(
                Aiguilleur.active.is_(True),
                Aiguilleur.demo.is_(False),
                Aiguilleur.matrix_id != "",
                MatrixRoom.room_id.is_(None),
            )
            .order_by(Aiguilleur.id)
        )
        return list(result.all())

    # -- sync position (and other small values) ----------------------------------

    async def sync_token(self) -> str | None:
        return await self.value(SYNC_TOKEN)

    async def save_sync_token(self, token: str, now: datetime) -> None:
        await self.set_value(SYNC_TOKEN, token, now)

    async def value(self, key: str) -> str | None:
        row = await self.session.get(MatrixSync, key[:64])
        return row.value if row is not None else None

    async def set_value(self, key: str, value: str, now: datetime) -> None:
        row = await self.session.get(MatrixSync, key[:64])
        if row is None:
            self.session.add(MatrixSync(key=key[:64], value=value, updated_at=now))
        else:
            row.value = value
            row.updated_at = now
        await self.session.flush()
