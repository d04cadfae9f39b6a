"""Tables of the coordination side: coordinators added in chat (those of the
configuration file are not rows), aiguilleurs' inscriptions, interventions with
their time and funding, the log of admin commands (refusals included), and the
multi-step actions waiting for a person's next message (a form, a confirmation).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base

# Ways an intervention was paid for; the report sums time per way.
FUNDINGS = ("autofinancement", "subvention", "salarie", "contributif")
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"


class Coordinator(Base):
    """A coordinator added by another one. `regions` empty: every région."""

    __tablename__ = "coordinators"
    __table_args__ = (UniqueConstraint("transport", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "telegram" (numeric user id) or "matrix" (@user:server).
    transport: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    regions: Mapped[list[Any]]
    added_by: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Inscription(Base):
    """Someone who asked to become an aiguilleur; a coordinator approves it,
    which creates their catalog entry."""

    __tablename__ = "inscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    transport: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    themes: Mapped[list[Any]]
    regions: Mapped[list[Any]]
    capacity: Mapped[int] = mapped_column(Integer)
    # Where to answer (a Matrix direct room, a Telegram private chat) and in
    # which language; None for rows made before migration 0006.
    address: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(12), default=PENDING, index=True)
    # The catalog slug given on approval.
    aiguilleur_id: Mapped[str | None] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class Intervention(Base):
    """Time an aiguilleur spent on a case and how it was funded."""

    __tablename__ = "interventions"
    __table_args__ = (Index("ix_interventions_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # Catalog slug, no foreign key: history survives a catalog re-import.
    aiguilleur_id: Mapped[str] = mapped_column(String(64), index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    funding: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]


class CommandLog(Base):
    """Every admin command, who typed it and what came of it (ok, refused,
    misused, error): the trace a coordinator or an auditor can read."""

    __tablename__ = "command_log"
    __table_args__ = (Index("ix_command_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    transport: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    command: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    case_ref: Mapped[str | None] = mapped_column(String(16))


class PendingAction(Base):
    """A multi-step admin action waiting for the next message of one person in
    one chat: an inscription form, a catalog import to confirm. One per chat
    and person; a newer one replaces it."""

    __tablename__ = "pending_actions"

    transport: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(255), primary_key=True)
    actor: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Bumped at each step; buttons carry it, so a stale button is recognised.
    version: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
