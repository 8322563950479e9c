"""job periods of the cluster, provider reputation feeds (issue 17, points 6 and 5)

``job_periods``: one row per singleton job and period, so that several daemons sharing one
PostgreSQL run each singleton job once per period. ``provider_feed_days``: one day of SNDS
(per IP) or Postmaster Tools (per domain) data. Additive only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_periods",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("period", sa.DateTime(timezone=True), nullable=False),
        sa.Column("node", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("job", "period", name=op.f("pk_job_periods")),
    )
    op.create_table(
        "provider_feed_days",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_feed_days")),
        sa.UniqueConstraint(
            "provider", "subject", "day", name=op.f("uq_provider_feed_days_provider_subject_day")
        ),
    )
    with op.batch_alter_table("provider_feed_days", schema=None) as batch_op:
        batch_op.create_index("ix_provider_feed_days_day", ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("provider_feed_days", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_feed_days_day")
    op.drop_table("provider_feed_days")
    op.drop_table("job_periods")
