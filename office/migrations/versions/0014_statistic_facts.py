"""statistics kept as facts without personal data, to outlive the purge

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statistic_facts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("statistic_facts", schema=None) as batch_op:
        batch_op.create_index("ix_statistic_facts_day", ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("statistic_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_statistic_facts_day")
    op.drop_table("statistic_facts")
