"""Resolve who is typing a command: coordinator (configuration file, or added in
chat and maybe scoped to régions), aiguilleur (the catalog), or anyone."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.followup import CoordinatorsConfig
from dialogs.coordination.access import Actor
from dialogs.kernel.commands import Role
from storage.db import UnitOfWork


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfiguredCoordinators:
    """National coordinators from the configuration file."""

    telegram_ids: frozenset[str] = frozenset()
    matrix_ids: frozenset[str] = frozenset()

    @classmethod
    def of(cls, config: CoordinatorsConfig) -> ConfiguredCoordinators:
        return cls(
            telegram_ids=frozenset(str(i) for i in config.telegram_ids),
            matrix_ids=frozenset(config.matrix_ids),
        )

    def has(self, transport: str, external_id: str) -> bool:
        ids = self.telegram_ids if transport == "telegram" else self.matrix_ids
        return external_id in ids


async def resolve_actor(
    uow: UnitOfWork,
    configured: ConfiguredCoordinators,
    transport: str,
    external_id: str,
    name: str | None = None,
) -> Actor:
    aiguilleur = await uow.coordination.aiguilleur_by_identity(transport, external_id)
    slug = aiguilleur.id if aiguilleur is not None else None
    shown = aiguilleur.name if aiguilleur is not None else name
    if configured.has(transport, external_id):
        return Actor(
            transport=transport,
            external_id=external_id,
            role=Role.COORDINATOR,
            name=shown,
            aiguilleur_id=slug,
        )
    row = await uow.coordination.coordinator(transport, external_id)
    if row is not None:
        return Actor(
            transport=transport,
            external_id=external_id,
            role=Role.COORDINATOR,
            name=row.name or shown,
            regions=frozenset(row.regions) if row.regions else None,
            aiguilleur_id=slug,
        )
    role = Role.AIGUILLEUR if aiguilleur is not None else Role.ANYONE
    return Actor(
        transport=transport, external_id=external_id, role=role, name=shown, aiguilleur_id=slug
    )


async def is_coordinator(
    uow: UnitOfWork, configured: ConfiguredCoordinators, transport: str, external_id: str
) -> bool:
    actor = await resolve_actor(uow, configured, transport, external_id)
    return actor.role == Role.COORDINATOR
