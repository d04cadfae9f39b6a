"""Tables of the assignment domain: who was offered which case, and the waiting queue
(the aiguilleurs' Matrix rooms and the sync position are in storage/models/matrix.py).

An assignment row is the whole truth about one offer of one case to one
aiguilleur: ``offered`` → ``accepted`` | ``declined`` | ``expired``;
``accepted`` → ``returned`` (handed back) | ``closed`` (finished by the
aiguilleur) | ``ended`` (the person ended the relay). A coordinator's
``assigner``/``reassigner``/``clore`` (bot/coordination/) creates a row straight in
``accepted`` (``room_id`` empty when the aiguilleur has no Matrix room), withdraws
an offer (``offered`` → ``withdrawn``) and hands back or closes an accepted one
(``returned`` | ``closed``, with a reason). At most one row per case is
open (offered or accepted); the runtime checks it inside the unit of work.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dialogs.kernel.lifecycles import OPEN_STATES, AssignmentState
from storage.models.base import Base

__all__ = [
    "ACCEPTED",
    "CLOSED",
    "DECLINED",
    "ENDED",
    "EXPIRED",
    "OFFERED",
    "OPEN_STATES",
    "RETURNED",
    "WITHDRAWN",
    "Assignment",
    "CaseQueue",
]

# The states and their moves are a table in dialogs/kernel/lifecycles.py; the one
# writer is storage/repos/assignments.py (`AssignmentsRepo.offer` and `.move`).
OFFERED = AssignmentState.OFFERED
ACCEPTED = AssignmentState.ACCEPTED
DECLINED = AssignmentState.DECLINED
EXPIRED = AssignmentState.EXPIRED
RETURNED = AssignmentState.RETURNED
CLOSED = AssignmentState.CLOSED
ENDED = AssignmentState.ENDED
WITHDRAWN = AssignmentState.WITHDRAWN


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_state_deadline", "state", "deadline"),
        Index("ix_assignments_aiguilleur_state", "aiguilleur_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # The catalog slug; no foreign key so that a catalog re-import that drops a
    # person keeps the history of what they did.
    aiguilleur_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))
    room_id: Mapped[str] = mapped_column(String(255))
    # The offer message is also the root of the case's thread in that room;
    # known once the outbox has sent it.
    offer_event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # The offer's transaction id: its echo in the bot's own sync names the event
    # even before the outbox has recorded the send.
    offer_txn_id: Mapped[str | None] = mapped_column(String(64), index=True)
    deadline: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    # The person has been told once that their messages are passed on.
    person_noted: Mapped[bool] = mapped_column(default=False)
    contacts_shared: Mapped[bool] = mapped_column(default=False)
    offered_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class CaseQueue(Base):
    """Cases that asked for a person while nobody had room: offered in order
    (`queued_at`) as soon as someone frees up or comes back."""

    __tablename__ = "case_queue"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    queued_at: Mapped[datetime] = mapped_column(index=True)
