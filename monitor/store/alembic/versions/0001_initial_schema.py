"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("old_status", sa.String(length=16), nullable=True),
        sa.Column("new_status", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_created_at"), ["created_at"], unique=False)

    op.create_table(
        "allowlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowlist")),
        sa.UniqueConstraint("scope", "value", name=op.f("uq_allowlist_scope_value")),
    )
    op.create_table(
        "auth_failure_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("reporting_mta", sa.String(length=255), nullable=True),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("auth_failure", sa.String(length=64), nullable=True),
        sa.Column("reported_domain", sa.String(length=255), nullable=True),
        sa.Column("original_mail_from", sa.String(length=320), nullable=True),
        sa.Column("original_message_id", sa.String(length=998), nullable=True),
        sa.Column("dkim_domain", sa.String(length=255), nullable=True),
        sa.Column("dkim_selector", sa.String(length=255), nullable=True),
        sa.Column("delivery_result", sa.String(length=32), nullable=True),
        sa.Column("arrival_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_failure_reports")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_auth_failure_reports_dedupe_key")),
    )
    with op.batch_alter_table("auth_failure_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_failure_reports_arrival_date"), ["arrival_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_auth_failure_reports_reported_domain"), ["reported_domain"], unique=False
        )

    op.create_table(
        "auth_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("check", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("record", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_results")),
    )
    with op.batch_alter_table("auth_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_auth_results_check_subject_at", ["check", "subject", "checked_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_auth_results_checked_at"), ["checked_at"], unique=False
        )

    op.create_table(
        "blocklist_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("target_type", sa.String(length=8), nullable=False),
        sa.Column("zone", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=True),
        sa.Column("meaning", sa.Text(), nullable=True),
        sa.Column("txt", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocklist_results")),
    )
    with op.batch_alter_table("blocklist_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blocklist_results_checked_at"), ["checked_at"], unique=False
        )
        batch_op.create_index(
            "ix_blocklist_results_target_zone_at", ["target", "zone", "checked_at"], unique=False
        )

    op.create_table(
        "check_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_states")),
        sa.UniqueConstraint(
            "category", "subject", "key", name=op.f("uq_check_states_category_subject_key")
        ),
    )
    op.create_table(
        "daemon_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_daemon_leases")),
    )
    op.create_table(
        "dmarc_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_name", sa.String(length=255), nullable=False),
        sa.Column("report_id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("policy_domain", sa.String(length=255), nullable=True),
        sa.Column("date_begin", sa.DateTime(timezone=True), nullable=True),
        sa.Column("date_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("policy_p", sa.String(length=16), nullable=True),
        sa.Column("policy_sp", sa.String(length=16), nullable=True),
        sa.Column("policy_np", sa.String(length=16), nullable=True),
        sa.Column("policy_pct", sa.Integer(), nullable=True),
        sa.Column("policy_adkim", sa.String(length=4), nullable=True),
        sa.Column("policy_aspf", sa.String(length=4), nullable=True),
        sa.Column("version", sa.String(length=16), nullable=True),
        sa.Column("generator", sa.String(length=255), nullable=True),
        sa.Column("n_records", sa.Integer(), nullable=False),
        sa.Column("total_messages", sa.BigInteger(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dmarc_reports")),
        sa.UniqueConstraint(
            "org_name", "report_id", name=op.f("uq_dmarc_reports_org_name_report_id")
        ),
    )
    with op.batch_alter_table("dmarc_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dmarc_reports_date_begin"), ["date_begin"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dmarc_reports_policy_domain"), ["policy_domain"], unique=False
        )

    op.create_table(
        "mailbox_cursors",
        sa.Column("mailbox", sa.String(length=100), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_mailbox_cursors")),
    )
    op.create_table(
        "processed_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("mailbox", sa.String(length=100), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("moved", sa.Boolean(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_items")),
        sa.UniqueConstraint(
            "mailbox", "uidvalidity", "uid", name=op.f("uq_processed_items_mailbox_uidvalidity_uid")
        ),
    )
    with op.batch_alter_table("processed_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processed_items_content_hash"), ["content_hash"], unique=False
        )

    op.create_table(
        "sent_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("queue_id", sa.String(length=64), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("verp_token", sa.String(length=64), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("envelope_sender", sa.String(length=320), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("recipient_domain", sa.String(length=255), nullable=False),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reply", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_messages")),
        sa.UniqueConstraint("queue_id", name=op.f("uq_sent_messages_queue_id")),
    )
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sent_messages_campaign"), ["campaign"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sent_messages_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sent_messages_recipient_domain"), ["recipient_domain"], unique=False
        )
        batch_op.create_index(
            "ix_sent_messages_recipient_sent_at", ["recipient", "sent_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sent_messages_sent_at"), ["sent_at"], unique=False)
        batch_op.create_index(
            "ix_sent_messages_state_next_attempt", ["state", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sent_messages_verp_token"), ["verp_token"], unique=False
        )

    op.create_table(
        "tls_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_name", sa.String(length=255), nullable=False),
        sa.Column("report_id", sa.String(length=255), nullable=False),
        sa.Column("start_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total_successful_sessions", sa.BigInteger(), nullable=False),
        sa.Column("total_failure_sessions", sa.BigInteger(), nullable=False),
        sa.Column("policies", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tls_reports")),
        sa.UniqueConstraint(
            "organization_name",
            "report_id",
            name=op.f("uq_tls_reports_organization_name_report_id"),
        ),
    )
    with op.batch_alter_table("tls_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tls_reports_start_datetime"), ["start_datetime"], unique=False
        )

    op.create_table(
        "dmarc_rows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "report_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=True),
        sa.Column("dkim_evaluated", sa.String(length=16), nullable=True),
        sa.Column("spf_evaluated", sa.String(length=16), nullable=True),
        sa.Column("header_from", sa.String(length=255), nullable=True),
        sa.Column("envelope_from", sa.String(length=255), nullable=True),
        sa.Column("envelope_to", sa.String(length=255), nullable=True),
        sa.Column("dkim_results", sa.JSON(), nullable=True),
        sa.Column("spf_results", sa.JSON(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_pk"],
            ["dmarc_reports.id"],
            name=op.f("fk_dmarc_rows_report_pk_dmarc_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dmarc_rows")),
    )
    with op.batch_alter_table("dmarc_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dmarc_rows_report_pk"), ["report_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_dmarc_rows_source_ip"), ["source_ip"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("recipient_domain", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("reply_code", sa.String(length=3), nullable=True),
        sa.Column("hard", sa.Boolean(), nullable=True),
        sa.Column("diagnostic", sa.Text(), nullable=True),
        sa.Column("remote_mta", sa.String(length=255), nullable=True),
        sa.Column("feedback_type", sa.String(length=32), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column(
            "sent_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("trust", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sent_message_id"],
            ["sent_messages.id"],
            name=op.f("fk_events_sent_message_id_sent_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_events_dedupe_key")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_address_kind_occurred", ["address", "kind", "occurred_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_events_campaign"), ["campaign"], unique=False)
        batch_op.create_index("ix_events_occurred_kind", ["occurred_at", "kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_events_recipient_domain"), ["recipient_domain"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_events_sent_message_id"), ["sent_message_id"], unique=False
        )

    op.create_table(
        "suppressions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column(
            "source_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_event_id"],
            ["events.id"],
            name=op.f("fk_suppressions_source_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("scope", "value", name=op.f("uq_suppressions_scope_value")),
    )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suppressions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_suppressions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_suppressions_source_event_id"), ["source_event_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppressions_source_event_id"))
        batch_op.drop_index(batch_op.f("ix_suppressions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_suppressions_created_at"))

    op.drop_table("suppressions")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_sent_message_id"))
        batch_op.drop_index(batch_op.f("ix_events_recipient_domain"))
        batch_op.drop_index("ix_events_occurred_kind")
        batch_op.drop_index(batch_op.f("ix_events_campaign"))
        batch_op.drop_index("ix_events_address_kind_occurred")

    op.drop_table("events")
    with op.batch_alter_table("dmarc_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dmarc_rows_source_ip"))
        batch_op.drop_index(batch_op.f("ix_dmarc_rows_report_pk"))

    op.drop_table("dmarc_rows")
    with op.batch_alter_table("tls_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tls_reports_start_datetime"))

    op.drop_table("tls_reports")
    with op.batch_alter_table("sent_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sent_messages_verp_token"))
        batch_op.drop_index("ix_sent_messages_state_next_attempt")
        batch_op.drop_index(batch_op.f("ix_sent_messages_sent_at"))
        batch_op.drop_index("ix_sent_messages_recipient_sent_at")
        batch_op.drop_index(batch_op.f("ix_sent_messages_recipient_domain"))
        batch_op.drop_index(batch_op.f("ix_sent_messages_message_id"))
        batch_op.drop_index(batch_op.f("ix_sent_messages_campaign"))

    op.drop_table("sent_messages")
    with op.batch_alter_table("processed_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_items_content_hash"))

    op.drop_table("processed_items")
    op.drop_table("mailbox_cursors")
    with op.batch_alter_table("dmarc_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dmarc_reports_policy_domain"))
        batch_op.drop_index(batch_op.f("ix_dmarc_reports_date_begin"))

    op.drop_table("dmarc_reports")
    op.drop_table("daemon_leases")
    op.drop_table("check_states")
    with op.batch_alter_table("blocklist_results", schema=None) as batch_op:
        batch_op.drop_index("ix_blocklist_results_target_zone_at")
        batch_op.drop_index(batch_op.f("ix_blocklist_results_checked_at"))

    op.drop_table("blocklist_results")
    with op.batch_alter_table("auth_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_results_checked_at"))
        batch_op.drop_index("ix_auth_results_check_subject_at")

    op.drop_table("auth_results")
    with op.batch_alter_table("auth_failure_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_failure_reports_reported_domain"))
        batch_op.drop_index(batch_op.f("ix_auth_failure_reports_arrival_date"))

    op.drop_table("auth_failure_reports")
    op.drop_table("allowlist")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_created_at"))

    op.drop_table("alerts")
