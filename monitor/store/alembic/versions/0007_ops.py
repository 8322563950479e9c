"""operations: the record of job runs, alert conditions, retention indexes, a redundant index

``job_runs`` keeps every daemon job run (status, metrics, the job-failure alert);
``alert_conditions`` one row per (rule, scope) so a condition is alerted once and resolved
once. ``processed_items.processed_at`` gets the index the nightly prune walks.
``ix_events_occurred_kind`` is dropped: (occurred_at, kind) is the prefix of
``ix_events_report_window``, which serves every query it served (bytes per event, issue 17).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=255), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index("ix_job_runs_job_started", ["job", "started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_runs_started_at"), ["started_at"], unique=False)
    op.create_table(
        "alert_conditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("since", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("notified", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_conditions")),
        sa.UniqueConstraint("rule", "scope", name=op.f("uq_alert_conditions_rule_scope")),
    )
    with op.batch_alter_table("processed_items", schema=None) as batch_op:
        batch_op.create_index("ix_processed_items_processed_at", ["processed_at"], unique=False)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_occurred_kind")


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_occurred_kind", ["occurred_at", "kind"], unique=False)
    with op.batch_alter_table("processed_items", schema=None) as batch_op:
        batch_op.drop_index("ix_processed_items_processed_at")
    op.drop_table("alert_conditions")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_runs_started_at"))
        batch_op.drop_index("ix_job_runs_job_started")
    op.drop_table("job_runs")
