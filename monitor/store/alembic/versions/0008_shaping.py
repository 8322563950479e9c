"""the relay's traffic shaping: back-off episodes, the stream of each queued recipient

Issue 16: a sender-side "slow down" reply suspends a destination group for one source
address and then ramps it back; each episode is a row, so ``deliverwatch queue`` shows those
in force and the daily report those of the day. ``relay_warmup`` keeps the day's count per
new source address and group, so a warm-up cap survives a restart. ``relay_tls_outcomes`` counts outbound connections per
day, destination, MTA-STS policy and TLS outcome, for the report. ``sent_messages.stream`` (transactional or
bulk, copied from the relay message) with two indexes lets the claim take transactional mail
first and bulk mail campaign by campaign without scanning the queue. Additive only.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stream", sa.String(length=16), nullable=True))
        batch_op.create_index(
            "ix_sent_messages_stream_due", ["stream", "state", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_sent_messages_campaign_due", ["campaign", "state", "next_attempt_at"], unique=False
        )
    op.create_table(
        "relay_backoffs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("source_ip", sa.String(length=45), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ramp_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("factor", sa.Float(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_backoffs")),
    )
    with op.batch_alter_table("relay_backoffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relay_backoffs_started_at"), ["started_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_relay_backoffs_ramp_until"), ["ramp_until"], unique=False
        )


    op.create_table(
        "relay_warmup",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source_ip", sa.String(length=45), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source_ip", "group_key", name=op.f("pk_relay_warmup")),
    )


    op.create_table(
        "relay_tls_outcomes",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "domain", "policy", "outcome", name=op.f("pk_relay_tls_outcomes")
        ),
    )


def downgrade() -> None:
    op.drop_table("relay_tls_outcomes")
    op.drop_table("relay_warmup")
    with op.batch_alter_table("relay_backoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_backoffs_ramp_until"))
        batch_op.drop_index(batch_op.f("ix_relay_backoffs_started_at"))
    op.drop_table("relay_backoffs")
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sent_messages_campaign_due")
        batch_op.drop_index("ix_sent_messages_stream_due")
        batch_op.drop_column("stream")
