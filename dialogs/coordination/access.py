"""Who may act where: the actor typing a command, and a coordinator's régions.

Coordinators from the configuration file see every région; those added in chat
may be scoped to some (a regional network acts on its régions only). An
aiguilleur who is also a coordinator acts as a coordinator. Which role a
command needs is the grammar's (`dialogs.kernel.commands`: `Role`, `allowed`).
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.kernel.commands import Role


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
