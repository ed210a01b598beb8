"""clerks: the OpenID provider's issuer and subject of a single sign-on account

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clerks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_issuer", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("sso_subject", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint("uq_clerks_sso", ["sso_issuer", "sso_subject"])


def downgrade() -> None:
    with op.batch_alter_table("clerks", schema=None) as batch_op:
        batch_op.drop_constraint("uq_clerks_sso", type_="unique")
        batch_op.drop_column("sso_subject")
        batch_op.drop_column("sso_issuer")
