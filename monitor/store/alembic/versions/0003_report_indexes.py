"""covering indexes for the daily report

The report counts about 3.5 million events (31 days of a 10-million-event store) by day,
provider, kind, hardness and trust, and the sent messages of the same days by provider.
Reading those columns from the table costs a row lookup per event (about 7 s on SQLite);
from a covering index it is an index-only scan (about 2 s). Additive only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_report_window",
            ["occurred_at", "kind", "trust", "hard", "recipient_domain"],
            unique=False,
        )
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sent_messages_sent_at_domain", ["sent_at", "recipient_domain"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sent_messages_sent_at_domain")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_report_window")
