"""Follow-up tables: nudges (rows, not pickled scheduler jobs) and case flags.

A nudge row is the whole truth about one follow-up question: APScheduler only
wakes the worker, which claims due rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), so several processes can share the table and a restart loses
nothing.

`state`: pending → sent → answered | escalated → answered; pending → cancelled;
sent → blocked (Telegram refused it: the person blocked the bot) → pending again
when they write to the bot. `due_at` is when the worker must next look at the
row (send it, or escalate the silence), NULL when nothing is left to do; a
cancelled row keeps the time it was due, for the listing (the worker only
claims pending and sent rows). `impact_step` names the typed answer the row
waits for: an impact question, or "aide" (what blocks, passed on to a human).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class Nudge(Base):
    __tablename__ = "nudges"
    __table_args__ = (
        Index("ix_nudges_state_due", "state", "due_at"),
        Index("ix_nudges_chat", "transport", "address", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Where to ask: the chat the case was confirmed in.
    transport: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(12))
    due_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    deferrals: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(String(16))
    answer_text: Mapped[str | None] = mapped_column(Text)
    impact_step: Mapped[str | None] = mapped_column(String(16))
    escalated_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CaseFlag(Base):
    """A standing condition of a case that people must know about, set once
    (the primary key makes "tell the coordinators once" race-free)."""

    __tablename__ = "case_flags"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    flag: Mapped[str] = mapped_column(String(32), primary_key=True)
    set_at: Mapped[datetime]
    data: Mapped[dict[str, Any]]
