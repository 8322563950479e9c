"""the content check: campaign_content (a campaign's verdict) and content_scans (findings)

Issue 15, point 5: a sample of each campaign is scored by spamd and scanned by clamd before
delivery; a campaign whose sample is not clean is held with the findings until an operator
releases it. Additive only (the recipients' new ``scanning`` state is a string value).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_content",
        sa.Column("campaign", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("hold_reason", sa.Text(), nullable=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign", name=op.f("pk_campaign_content")),
    )
    op.create_table(
        "content_scans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "relay_message_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("queue_id", sa.String(length=32), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("spam_score", sa.Float(), nullable=True),
        sa.Column("spam_rules", sa.Text(), nullable=True),
        sa.Column("virus", sa.String(length=200), nullable=True),
        sa.Column("errors", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["relay_message_id"],
            ["relay_messages.id"],
            name=op.f("fk_content_scans_relay_message_id_relay_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_scans")),
    )
    with op.batch_alter_table("content_scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_content_scans_campaign"), ["campaign"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_content_scans_relay_message_id"), ["relay_message_id"], unique=False
        )
        batch_op.create_index(
            "ix_content_scans_state_created", ["state", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("content_scans", schema=None) as batch_op:
        batch_op.drop_index("ix_content_scans_state_created")
        batch_op.drop_index(batch_op.f("ix_content_scans_relay_message_id"))
        batch_op.drop_index(batch_op.f("ix_content_scans_campaign"))
    op.drop_table("content_scans")
    op.drop_table("campaign_content")
