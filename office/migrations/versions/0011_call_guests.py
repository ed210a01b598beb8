"""guests of a call: interpreters and companions invited by link

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from office.models.base import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_guests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("appointment_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("invited_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=True),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by"], ["clerks.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("call_guests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_guests_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_call_guests_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_guests_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_guests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_guests_expires_at"))
        batch_op.drop_index(batch_op.f("ix_call_guests_call_id"))
        batch_op.drop_index(batch_op.f("ix_call_guests_appointment_id"))
    op.drop_table("call_guests")
