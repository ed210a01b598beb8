"""the office runs itself: absences, closing days, enrolment links, rebooking requests,
services' settings over the town file

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from office.models.base import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["clerk_id"], ["clerks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_absences_clerk_id"), ["clerk_id"], unique=False)
    op.create_table(
        "closures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", sa.Time(), nullable=True),
        sa.Column("end", sa.Time(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("closures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_closures_day"), ["day"], unique=False)
    op.create_table(
        "service_settings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("effective_from", UTCDateTime(), nullable=False),
        sa.Column("bookable", sa.Boolean(), nullable=True),
        sa.Column("fee_cents", sa.Integer(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("documents", sa.JSON(), nullable=True),
        sa.Column("documents_en", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("service_settings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_settings_service_id"), ["service_id"], unique=False
        )
    with op.batch_alter_table("clerks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrolment_nonce", sa.String(length=32), nullable=True))
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rebooking_requested_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("rebooking_requested_at")
    with op.batch_alter_table("clerks", schema=None) as batch_op:
        batch_op.drop_column("enrolment_nonce")
    with op.batch_alter_table("service_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_settings_service_id"))
    op.drop_table("service_settings")
    with op.batch_alter_table("closures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_closures_day"))
    op.drop_table("closures")
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_absences_clerk_id"))
    op.drop_table("absences")
