"""What the engine may know about the world, handed in by the runtime.

The runtime loads it before each step, so the engine never queries anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseSummary:
    ref: str
    status: str
    created_at: datetime
    lieu_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reminder:
    """What a nudge recalls of its case, weeks after the request: the problem in
    a few words, the resources proposed (or kept), whether contact was asked
    for, and whether the action was already reported as started."""

    problem: str | None = None
    resources: tuple[str, ...] = ()
    contact: bool = False
    verified: bool = False
    # An impact nudge is still planned (it will ask what changed).
    impact_later: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class NudgeView:
    """A follow-up nudge as the dialog needs it: the one a button names, or the
    latest one of this chat still waiting for an answer."""

    id: int
    ref: str
    kind: str
    # None until answered; "texte" when the person only wrote something.
    answer: str | None = None
    # The typed answer this nudge waits for, if any: an impact question, or
    # "aide" (what blocks, after "J'ai besoin d'aide": passed on to a human).
    impact_step: str | None = None
    # Someone can be alerted about this case (its aiguilleur, or coordinators):
    # the person is never promised a human who does not exist.
    reachable: bool = True
    reminder: Reminder = Reminder()


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayView:
    """The person's case held by an aiguilleur (dialogs/assignment/relay.py): what they write
    outside an intake goes to that aiguilleur's thread."""

    assignment_id: int
    ref: str
    aiguilleur_name: str
    # The person was already told once that their messages are passed on.
    noted: bool = False
    contacts_shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    now: datetime
    locale_hint: str | None = None
    # The person's cases, newest first (for /statut).
    cases: tuple[CaseSummary, ...] = ()
    # Lieu answers of the person's latest case, offered for reuse by /nouveau.
    last_lieu: Mapping[str, Any] | None = None
    # Follow-up nudge concerned by this event (see NudgeView), loaded by the runtime.
    nudge: NudgeView | None = None
    # The case whose aiguilleur receives this person's messages, if any.
    relay: RelayView | None = None
