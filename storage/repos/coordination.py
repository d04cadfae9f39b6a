"""Coordination bookkeeping: coordinators added in chat, the admin command log
and the pending multi-step actions. Interventions and inscriptions have their
own repositories (storage/repos/interventions.py, storage/repos/inscriptions.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select

from storage.models.catalog import Aiguilleur
from storage.models.coordination import CommandLog, Coordinator, PendingAction
from storage.session import DbSession, table_of

# Every update a person sends asks whether an admin action waits for them; the
# answer is nearly always no. A Core statement built once answers that for a
# fraction of what `session.get` costs (a cache key, the ORM loading path).
_PENDING_TABLE = table_of(PendingAction)
_ANY_PENDING = select(_PENDING_TABLE.c.expires_at).where(
    _PENDING_TABLE.c.transport == bindparam("transport"),
    _PENDING_TABLE.c.address == bindparam("address"),
    _PENDING_TABLE.c.actor == bindparam("actor"),
)
# Whether anyone in a chat has a pending action: the chat's row carries it
# (storage/repos/conversations.py), so that most updates skip `pending`.
ANY_PENDING_IN_CHAT = (
    select(_PENDING_TABLE.c.actor)
    .where(
        _PENDING_TABLE.c.transport == bindparam("transport"),
        _PENDING_TABLE.c.address == bindparam("address"),
    )
    .limit(1)
)

# Who may receive a new case's contact request (bot/coordination/contact_requests.py),
# asked for every new case: two columns as plain values, not ORM objects.
_COORDINATORS_TABLE = table_of(Coordinator)
_SCOPES = (
    select(_COORDINATORS_TABLE.c.external_id, _COORDINATORS_TABLE.c.regions)
    .where(
        _COORDINATORS_TABLE.c.transport == bindparam("transport"),
        _COORDINATORS_TABLE.c.active.is_(True),
    )
    .order_by(_COORDINATORS_TABLE.c.id)
)


class CoordinationRepo:
    def __init__(self, session: DbSession) -> None:
        self.session = session

    # -- coordinators --------------------------------------------------------------

    async def coordinator(self, transport: str, external_id: str) -> Coordinator | None:
        return await self.session.scalar(
            select(Coordinator).where(
                Coordinator.transport == transport,
                Coordinator.external_id == external_id,
                Coordinator.active.is_(True),
            )
        )

    async def scopes(self, transport: str) -> list[tuple[str, list[Any]]]:
        """The active coordinators of a transport: (external id, régions), in the
        order `coordinators` gives."""
        result = await self.session.execute(_SCOPES, {"transport": transport})
        return [(row.external_id, row.regions) for row in result]

    async def coordinators(self) -> Sequence[Coordinator]:
        result = await self.session.scalars(
            select(Coordinator).where(Coordinator.active.is_(True)).order_by(Coordinator.id)
        )
        return result.all()

    async def add_coordinator(
        self,
        *,
        transport: str,
        external_id: str,
        name: str | None,
        regions: list[str],
        added_by: str,
        now: datetime,
    ) -> Coordinator:
        """Add, or reactivate and rescope, a coordinator."""
        row = await self.session.scalar(
            select(Coordinator).where(
                Coordinator.transport == transport, Coordinator.external_id == external_id
            )
        )
        if row is None:
            row = Coordinator(
                transport=transport,
                external_id=external_id,
                created_at=now,
                regions=[],
                added_by=added_by,
            )
            self.session.add(row)
        row.name = name or row.name
        row.regions = list(regions)
        row.added_by = added_by
        row.active = True
        row.updated_at = now
        await self.session.flush()
        return row

    async def remove_coordinator(self, transport: str, external_id: str, now: datetime) -> bool:
        row = await self.coordinator(transport, external_id)
        if row is None:
            return False
        row.active = False
        row.updated_at = now
        return True

    async def aiguilleur_by_identity(self, transport: str, external_id: str) -> Aiguilleur | None:
        """The active aiguilleur behind a chat identity (Matrix id or Telegram id)."""
        if transport == "telegram":
            if not external_id.lstrip("-").isdigit():
                return None
            clause = Aiguilleur.telegram_id == int(external_id)
        else:
            clause = Aiguilleur.matrix_id == external_id
        return await self.session.scalar(
            select(Aiguilleur)
            .where(clause, Aiguilleur.active.is_(True))
            .order_by(Aiguilleur.id)
            .limit(1)
        )

    # -- command log ---------------------------------------------------------------

    async def log_command(
        self,
        *,
        transport: str,
        actor: str,
        role: str,
        command: str,
        outcome: str,
        case_ref: str | None,
        now: datetime,
    ) -> None:
        self.session.add(
            CommandLog(
                at=now,
                transport=transport,
                actor=actor,
                role=role,
                command=command[:64],
                outcome=outcome,
                case_ref=case_ref,
            )
        )

    async def command_log(self, limit: int = 50) -> Sequence[CommandLog]:
        result = await self.session.scalars(
            select(CommandLog).order_by(CommandLog.at.desc(), CommandLog.id.desc()).limit(limit)
        )
        return result.all()

    # -- pending actions -------------------------------------------------------------

    async def pending(
        self, transport: str, address: str, actor: str, now: datetime
    ) -> PendingAction | None:
        found = await self.session.execute(
            _ANY_PENDING, {"transport": transport, "address": address, "actor": actor}
        )
        if found.first() is None:
            return None
        row = await self.session.get(PendingAction, (transport, address, actor))
        if row is not None and row.expires_at <= now:
            await self.session.delete(row)
            return None
        return row

    async def set_pending(
        self,
        *,
        transport: str,
        address: str,
        actor: str,
        kind: str,
        data: dict[str, Any],
        now: datetime,
        expires_at: datetime,
    ) -> PendingAction:
        row = await self.session.get(PendingAction, (transport, address, actor))
        if row is None:
            row = PendingAction(
                transport=transport, address=address, actor=actor, version=0, created_at=now
            )
            self.session.add(row)
        row.kind = kind
        row.data = dict(data)
        row.version = (row.version or 0) + 1
        row.expires_at = expires_at
        await self.session.flush()
        return row

    async def clear_pending(self, transport: str, address: str, actor: str) -> None:
        await self.session.execute(
            delete(PendingAction).where(
                PendingAction.transport == transport,
                PendingAction.address == address,
                PendingAction.actor == actor,
            )
        )
