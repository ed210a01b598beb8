"""what the console was told of each capture, sealed beside it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 23:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: captures stored before this revision have neither; a reloaded console
    # shows their pictures without the analysis.
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shot", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("reading", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("read_seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_column("read_seq")
        batch_op.drop_column("reading")
        batch_op.drop_column("shot")
