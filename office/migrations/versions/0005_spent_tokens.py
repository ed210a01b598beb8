"""spent one-time tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:12:03.511208
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import office.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spent_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("spent_at", office.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", office.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    with op.batch_alter_table("spent_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spent_tokens_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("spent_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spent_tokens_expires_at"))
    op.drop_table("spent_tokens")
