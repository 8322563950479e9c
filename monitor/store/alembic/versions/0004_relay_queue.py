"""the relay's queue: relay_messages, queue columns of sent_messages, suppressions.updated_at

The built-in relay (issue 13) keeps each accepted message (envelope, body) in
``relay_messages`` and each of its recipients as a ``sent_messages`` row, so that bounces
and complaints about relayed mail verify without any send-log import. The RCPT-time
suppression index asks "what changed since" through an index on ``suppressions.updated_at``.
Additive only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("queue_id", sa.String(length=32), nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column("envelope_sender", sa.String(length=320), nullable=False),
        sa.Column("header_from", sa.String(length=320), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("smtputf8", sa.Boolean(), nullable=False),
        sa.Column("body_8bit", sa.Boolean(), nullable=False),
        sa.Column("dsn_ret", sa.String(length=8), nullable=True),
        sa.Column("dsn_envid", sa.String(length=100), nullable=True),
        sa.Column("client_ip", sa.String(length=45), nullable=True),
        sa.Column("hold_reason", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_messages")),
        sa.UniqueConstraint("queue_id", name=op.f("uq_relay_messages_queue_id")),
    )
    with op.batch_alter_table("relay_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relay_messages_campaign"), ["campaign"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_relay_messages_received_at"), ["received_at"], unique=False
        )
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "relay_message_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("notify", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("orcpt", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("remote_mx", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("final_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_sent_messages_relay_message_id"), ["relay_message_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_sent_messages_relay_message_id_relay_messages"),
            "relay_messages",
            ["relay_message_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index("ix_suppressions_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_index("ix_suppressions_updated_at")
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_sent_messages_relay_message_id_relay_messages"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_sent_messages_relay_message_id"))
        for column in (
            "final_at",
            "lease_until",
            "lease_owner",
            "remote_mx",
            "expires_at",
            "orcpt",
            "notify",
            "relay_message_id",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("relay_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_messages_received_at"))
        batch_op.drop_index(batch_op.f("ix_relay_messages_campaign"))
    op.drop_table("relay_messages")
