"""job periods of the cluster (issue 17, point 6)

``job_periods``: one row per singleton job and period, so that several daemons sharing one
PostgreSQL run each singleton job once per period. Additive only.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0005"
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


def downgrade() -> None:
    op.drop_table("job_periods")
