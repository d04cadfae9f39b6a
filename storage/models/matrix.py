"""Tables of the Matrix transport: the aiguilleurs' rooms and the sync position
(split out of the former storage/models/assignment.py, whose assignments are in
storage/models/assignment.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class MatrixRoom(Base):
    """The room where the bot talks with one aiguilleur (configured, joined on
    their invite, or created by the bot with them invited)."""

    __tablename__ = "matrix_rooms"

    aiguilleur_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_by_bot: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class MatrixSync(Base):
    """Small key-value store: the sync token (``next_batch``), saved after the
    events of a batch have been handled, so a restart neither replays nor skips."""

    __tablename__ = "matrix_sync"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
