"""Catalog tables: libre resources and aiguilleurs.

Ids are the catalog's slugs, so an import is an upsert by primary key. Rows are
never deleted by an import: an entry missing from the file is made inactive,
because cases may reference it later. Lists are JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class Resource(Base):
    __tablename__ = "resources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(1000))
    summary: Mapped[str] = mapped_column(Text)
    # English summary, optional (dialogs/catalog_types.Resource.summary_en).
    summary_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    themes: Mapped[list[Any]]
    kind: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[Any]]
    license: Mapped[str] = mapped_column(String(64))
    libre: Mapped[bool] = mapped_column(Boolean)
    replaces: Mapped[list[Any]]
    regions: Mapped[list[Any]]
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Aiguilleur(Base):
    __tablename__ = "aiguilleurs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    matrix_id: Mapped[str] = mapped_column(String(255))
    telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    themes: Mapped[list[Any]]
    regions: Mapped[list[Any]]
    capacity: Mapped[int] = mapped_column(Integer)
    available: Mapped[bool] = mapped_column(Boolean)
    # Fictional demonstration people: loaded only by `aiguillage chat`.
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # When the bot last proposed this person (UTC): rotation among equals.
    last_proposed_at: Mapped[datetime | None]
    # Completed the aiguilleur training (recorded by a coordinator).
    trained_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
