"""Who may do what: three roles, and a coordinator's régions.

Coordinators from the configuration file see every région; those added in chat
may be scoped to some (a regional network acts on its régions only). An
aiguilleur who is also a coordinator acts as a coordinator.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialogs.coordination.grammar import Spec


class Role(StrEnum):
    COORDINATOR = "coordinator"
    AIGUILLEUR = "aiguilleur"
    ANYONE = "anyone"


RANK = {Role.ANYONE: 0, Role.AIGUILLEUR: 1, Role.COORDINATOR: 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """The person typing a command, as the runtime resolved them."""

    transport: str
    external_id: str
    role: Role
    name: str | None = None
    # Régions a coordinator acts on; None: all of them.
    regions: frozenset[str] | None = None
    # Their catalog slug when they are an aiguilleur.
    aiguilleur_id: str | None = None

    @property
    def label(self) -> str:
        """How they appear on a case's timeline."""
        if self.aiguilleur_id:
            return f"aiguilleur:{self.aiguilleur_id}"
        return f"{self.role.value}:{self.transport}:{self.external_id}"


def allowed(spec: Spec, role: Role) -> bool:
    return RANK[role] >= RANK[spec.role]


def in_scope(actor: Actor, region: str | None) -> bool:
    """A case (or aiguilleur, by one of their régions) this coordinator may act on.
    A case without a région belongs to every network: national coordinators only."""
    if actor.regions is None:
        return True
    return region is not None and region in actor.regions


def any_in_scope(actor: Actor, regions: list[str] | tuple[str, ...]) -> bool:
    if actor.regions is None:
        return True
    return bool(set(regions) & actor.regions)
