"""Outbox rows are claimed with a lease (owner, until) so that several processes
deliver side by side, and a row taken over from a dead process is counted

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.core

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("lease_until", storage.models.core.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("takeovers", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_outbox_chat", ["transport", "state", "address", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_chat")
        batch_op.drop_column("takeovers")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
