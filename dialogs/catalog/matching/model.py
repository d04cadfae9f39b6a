"""What goes into the matching engine and what comes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialogs.catalog.load import AiguilleurProfile
from dialogs.kernel.replies import Msg


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchQuery:
    text: str
    themes: tuple[str, ...] = ()  # chosen by the person; () = "je ne sais pas encore"
    region: str | None = None  # région code of the lieu
    limit: int = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class AiguilleurCandidate:
    """An aiguilleur with the live data the runtime loads for each match: how
    many cases they hold now, and when the bot last proposed them (rotation)."""

    profile: AiguilleurProfile
    active_cases: int = 0
    last_proposed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal:
    id: str
    score: float
    why: tuple[Msg, ...]  # short reasons, most telling first


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchResult:
    resources: tuple[Proposal, ...]
    aiguilleurs: tuple[Proposal, ...]
    # The themes used: the person's, or those inferred from the text when they
    # chose "je ne sais pas encore" (to be confirmed with them).
    themes: tuple[str, ...]
    themes_inferred: bool = False
