"""SQLAlchemy 2.0 models for the whole domain.

Designed up-front so later features add columns, not tables: the relay fills
``sent_messages``; ingestion fills ``events``, ``processed_items``, ``dmarc_*``,
``auth_failure_reports`` and ``tls_reports``; the checks fill ``*_results`` and
``check_states``; the suppression list lives in ``suppressions`` and ``allowlist``.

Idempotency lives in unique keys, not in process memory (STYLE.md 5): an event's
``dedupe_key``, a mailbox item's (mailbox, uidvalidity, uid), a DMARC report's
(org_name, report_id). Schema changes go through Alembic only (``monitor/store/alembic``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from monitor.enums import (
    CheckCategory,
    CheckStatus,
    EventKind,
    ItemOutcome,
    ListScope,
    MessageState,
    SuppressionReason,
    Trust,
)
from monitor.store.types import StrEnumType, UTCDateTime, utcnow

__all__ = [
    "AlertCondition",
    "AlertRecord",
    "AllowEntry",
    "AuthFailureReport",
    "AuthResult",
    "Base",
    "BlocklistResult",
    "CheckState",
    "DaemonLease",
    "DmarcReport",
    "DmarcRow",
    "Event",
    "JobRun",
    "MailboxCursor",
    "ProcessedItem",
    "RelayBackoff",
    "RelayMessage",
    "RelayTlsOutcome",
    "RelayWarmup",
    "SentMessage",
    "Suppression",
    "TlsReportRow",
    "WebhookOutbox",
]

# Deterministic constraint names so Alembic migrations are identical on both backends.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ADDR = 320  # RFC 5321 limits a path to 256 octets; leave room for unnormalised input


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 - SQLAlchemy reads it as class data
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


# --------------------------------------------------------------------------- sending


class RelayMessage(Base):
    """One message accepted by the relay: its envelope, what it says about itself, its body.

    Each of its recipients is a ``sent_messages`` row (state, attempts, next attempt); the
    body is dropped (set NULL) once every recipient is final, the row stays as history.
    """

    __tablename__ = "relay_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    queue_id: Mapped[str] = mapped_column(String(32), unique=True)
    submitted_by: Mapped[str] = mapped_column(String(100))
    envelope_sender: Mapped[str] = mapped_column(String(ADDR))  # "": the null reverse-path
    header_from: Mapped[str | None] = mapped_column(String(ADDR))
    message_id: Mapped[str | None] = mapped_column(String(998))
    campaign: Mapped[str | None] = mapped_column(String(200), index=True)
    stream: Mapped[str] = mapped_column(String(16), default="bulk")  # bulk, transactional
    size: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    smtputf8: Mapped[bool] = mapped_column(Boolean, default=False)
    body_8bit: Mapped[bool] = mapped_column(Boolean, default=False)
    dsn_ret: Mapped[str | None] = mapped_column(String(8))  # RFC 3461 RET=FULL|HDRS
    dsn_envid: Mapped[str | None] = mapped_column(String(100))  # RFC 3461 ENVID
    client_ip: Mapped[str | None] = mapped_column(String(45))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(index=True)


class SentMessage(Base):
    """One message to one recipient, from the relay queue or an imported send log."""

    __tablename__ = "sent_messages"
    __table_args__ = (
        Index("ix_sent_messages_recipient_sent_at", "recipient", "sent_at"),
        Index("ix_sent_messages_state_next_attempt", "state", "next_attempt_at"),
        # Covers the daily report's volume per day and provider (index-only, no row reads).
        Index("ix_sent_messages_sent_at_domain", "sent_at", "recipient_domain"),
        # Traffic shaping's fair claim (revision 0006): transactional mail first, then bulk
        # campaign by campaign, each read from its own due rows only.
        Index("ix_sent_messages_stream_due", "stream", "state", "next_attempt_at"),
        Index("ix_sent_messages_campaign_due", "campaign", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    queue_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    verp_token: Mapped[str | None] = mapped_column(String(64), index=True)
    campaign: Mapped[str | None] = mapped_column(String(200), index=True)
    envelope_sender: Mapped[str | None] = mapped_column(String(ADDR))
    recipient: Mapped[str] = mapped_column(String(ADDR))
    recipient_domain: Mapped[str] = mapped_column(String(255), index=True)
    source_ip: Mapped[str | None] = mapped_column(String(45))
    state: Mapped[MessageState] = mapped_column(StrEnumType(MessageState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_reply: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The relay's queue (revision 0004); NULL for send-log rows.
    relay_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("relay_messages.id", ondelete="SET NULL"), index=True
    )
    notify: Mapped[str | None] = mapped_column(String(32))  # RFC 3461 NOTIFY
    orcpt: Mapped[str | None] = mapped_column(String(ADDR))  # RFC 3461 ORCPT
    expires_at: Mapped[datetime | None]  # end of the queue lifetime
    remote_mx: Mapped[str | None] = mapped_column(String(255))
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # relay process delivering it
    lease_until: Mapped[datetime | None]
    final_at: Mapped[datetime | None]  # delivered, bounced or expired
    #: The relay message's stream (``transactional`` goes first; revision 0006); NULL for
    #: send-log rows.
    stream: Mapped[str | None] = mapped_column(String(16))


# --------------------------------------------------------------------------- events


class Event(Base):
    """Something that happened for one recipient: a bounce, a complaint, a delivery..."""

    __tablename__ = "events"
    __table_args__ = (
        # (occurred_at, kind) is the prefix of ix_events_report_window, which serves every
        # query the narrower index served; revision 0007 dropped it (storage per event).
        Index("ix_events_address_kind_occurred", "address", "kind", "occurred_at"),
        # Covers the daily report's 31-day trend (day x provider x kind x hard x trust) so the
        # millions of events in the window are counted from the index alone.
        Index(
            "ix_events_report_window", "occurred_at", "kind", "trust", "hard", "recipient_domain"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[EventKind] = mapped_column(StrEnumType(EventKind))
    address: Mapped[str | None] = mapped_column(String(ADDR))  # None: report withheld it
    recipient_domain: Mapped[str | None] = mapped_column(String(255), index=True)
    reason: Mapped[str | None] = mapped_column(String(32))  # parsers.records.Reason value
    status: Mapped[str | None] = mapped_column(String(16))  # RFC 3463 X.Y.Z
    reply_code: Mapped[str | None] = mapped_column(String(3))
    hard: Mapped[bool | None] = mapped_column(Boolean)
    diagnostic: Mapped[str | None] = mapped_column(Text)
    remote_mta: Mapped[str | None] = mapped_column(String(255))
    feedback_type: Mapped[str | None] = mapped_column(String(32))
    campaign: Mapped[str | None] = mapped_column(String(200), index=True)
    source_ip: Mapped[str | None] = mapped_column(String(45))
    message_id: Mapped[str | None] = mapped_column(String(998))
    sent_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("sent_messages.id", ondelete="SET NULL"), index=True
    )
    trust: Mapped[Trust] = mapped_column(StrEnumType(Trust), default=Trust.LOCAL)
    source: Mapped[str] = mapped_column(String(100))  # "imap:bounces", "relay", "web", "cli"
    source_ref: Mapped[str | None] = mapped_column(String(200))  # e.g. processed item id
    occurred_at: Mapped[datetime]
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    details: Mapped[dict[str, Any] | None]

    sent_message: Mapped[SentMessage | None] = relationship()


# --------------------------------------------------------------------------- suppression


class Suppression(Base):
    """An address (or a whole domain) that must not be mailed."""

    __tablename__ = "suppressions"
    __table_args__ = (
        UniqueConstraint("scope", "value"),
        # the relay's RCPT index polls for what changed since its last look (revision 0004)
        Index("ix_suppressions_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    scope: Mapped[ListScope] = mapped_column(StrEnumType(ListScope))
    value: Mapped[str] = mapped_column(String(ADDR))  # normalised address or domain
    reason: Mapped[SuppressionReason] = mapped_column(StrEnumType(SuppressionReason))
    source_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    note: Mapped[str | None] = mapped_column(Text)

    source_event: Mapped[Event | None] = relationship()


class AllowEntry(Base):
    """An address or domain that is never suppressed, whatever the events say."""

    __tablename__ = "allowlist"
    __table_args__ = (UniqueConstraint("scope", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[ListScope] = mapped_column(StrEnumType(ListScope))
    value: Mapped[str] = mapped_column(String(ADDR))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- mailboxes


class MailboxCursor(Base):
    """Where polling of one configured mailbox stands."""

    __tablename__ = "mailbox_cursors"

    mailbox: Mapped[str] = mapped_column(String(100), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProcessedItem(Base):
    """One mailbox message we have dealt with: the exactly-once ledger."""

    __tablename__ = "processed_items"
    __table_args__ = (
        UniqueConstraint("mailbox", "uidvalidity", "uid"),
        # retention prunes by age (revision 0007)
        Index("ix_processed_items_processed_at", "processed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)  # sha256 hex
    size: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(32))  # parsers.records.Kind value
    outcome: Mapped[ItemOutcome] = mapped_column(StrEnumType(ItemOutcome))
    error: Mapped[str | None] = mapped_column(Text)
    moved: Mapped[bool] = mapped_column(Boolean, default=False)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- reports


class DmarcReport(Base):
    """One DMARC aggregate report (RFC 7489 Appendix C / RFC 9990)."""

    __tablename__ = "dmarc_reports"
    __table_args__ = (UniqueConstraint("org_name", "report_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    org_name: Mapped[str] = mapped_column(String(255))
    report_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(ADDR))
    policy_domain: Mapped[str | None] = mapped_column(String(255), index=True)
    date_begin: Mapped[datetime | None] = mapped_column(index=True)
    date_end: Mapped[datetime | None]
    policy_p: Mapped[str | None] = mapped_column(String(16))
    policy_sp: Mapped[str | None] = mapped_column(String(16))
    policy_np: Mapped[str | None] = mapped_column(String(16))
    policy_pct: Mapped[int | None] = mapped_column(Integer)
    policy_adkim: Mapped[str | None] = mapped_column(String(4))
    policy_aspf: Mapped[str | None] = mapped_column(String(4))
    version: Mapped[str | None] = mapped_column(String(16))
    generator: Mapped[str | None] = mapped_column(String(255))
    n_records: Mapped[int] = mapped_column(Integer, default=0)
    total_messages: Mapped[int] = mapped_column(BigInteger, default=0)
    warnings: Mapped[list[Any] | None]
    source: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class DmarcRow(Base):
    """One ``<record>`` of an aggregate report."""

    __tablename__ = "dmarc_rows"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    report_pk: Mapped[int] = mapped_column(
        ForeignKey("dmarc_reports.id", ondelete="CASCADE"), index=True
    )
    source_ip: Mapped[str | None] = mapped_column(String(45), index=True)
    count: Mapped[int] = mapped_column(BigInteger)
    disposition: Mapped[str | None] = mapped_column(String(16))
    dkim_evaluated: Mapped[str | None] = mapped_column(String(16))
    spf_evaluated: Mapped[str | None] = mapped_column(String(16))
    header_from: Mapped[str | None] = mapped_column(String(255))
    envelope_from: Mapped[str | None] = mapped_column(String(255))
    envelope_to: Mapped[str | None] = mapped_column(String(255))
    dkim_results: Mapped[list[Any] | None]
    spf_results: Mapped[list[Any] | None]
    reasons: Mapped[list[Any] | None]
    warnings: Mapped[list[Any] | None]


class AuthFailureReport(Base):
    """An RFC 6591 DMARC/DKIM/SPF failure report."""

    __tablename__ = "auth_failure_reports"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    reporting_mta: Mapped[str | None] = mapped_column(String(255))
    source_ip: Mapped[str | None] = mapped_column(String(45))
    auth_failure: Mapped[str | None] = mapped_column(String(64))
    reported_domain: Mapped[str | None] = mapped_column(String(255), index=True)
    original_mail_from: Mapped[str | None] = mapped_column(String(ADDR))
    original_message_id: Mapped[str | None] = mapped_column(String(998))
    dkim_domain: Mapped[str | None] = mapped_column(String(255))
    dkim_selector: Mapped[str | None] = mapped_column(String(255))
    delivery_result: Mapped[str | None] = mapped_column(String(32))
    arrival_date: Mapped[datetime | None] = mapped_column(index=True)
    details: Mapped[dict[str, Any] | None]
    source: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class TlsReportRow(Base):
    """An RFC 8460 SMTP TLS report (policies kept as JSON; one row per report)."""

    __tablename__ = "tls_reports"
    __table_args__ = (UniqueConstraint("organization_name", "report_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organization_name: Mapped[str] = mapped_column(String(255))
    report_id: Mapped[str] = mapped_column(String(255))
    start_datetime: Mapped[datetime | None] = mapped_column(index=True)
    end_datetime: Mapped[datetime | None]
    total_successful_sessions: Mapped[int] = mapped_column(BigInteger, default=0)
    total_failure_sessions: Mapped[int] = mapped_column(BigInteger, default=0)
    policies: Mapped[list[Any] | None]
    source: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- checks


class BlocklistResult(Base):
    """One answer of one DNS blocklist for one target (history: every run is kept)."""

    __tablename__ = "blocklist_results"
    __table_args__ = (Index("ix_blocklist_results_target_zone_at", "target", "zone", "checked_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    target: Mapped[str] = mapped_column(String(255))  # IP address or domain
    target_type: Mapped[str] = mapped_column(String(8))  # ip4, ip6, domain
    zone: Mapped[str] = mapped_column(String(255))
    status: Mapped[CheckStatus] = mapped_column(StrEnumType(CheckStatus))
    codes: Mapped[list[Any] | None]  # A records returned
    meaning: Mapped[str | None] = mapped_column(Text)
    txt: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AuthResult(Base):
    """One DNS authentication check (SPF, DKIM, DMARC, PTR, MX, MTA-STS, TLS-RPT)."""

    __tablename__ = "auth_results"
    __table_args__ = (Index("ix_auth_results_check_subject_at", "check", "subject", "checked_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    check: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255))  # domain, IP or selector._domainkey.domain
    status: Mapped[CheckStatus] = mapped_column(StrEnumType(CheckStatus))
    summary: Mapped[str | None] = mapped_column(Text)
    record: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(String(64))  # e.g. DKIM key hash
    details: Mapped[dict[str, Any] | None]
    checked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CheckState(Base):
    """The latest status of one (category, subject, key) and since when it holds."""

    __tablename__ = "check_states"
    __table_args__ = (UniqueConstraint("category", "subject", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[CheckCategory] = mapped_column(StrEnumType(CheckCategory))
    subject: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))  # zone, or check name
    status: Mapped[CheckStatus] = mapped_column(StrEnumType(CheckStatus))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    since: Mapped[datetime]
    last_checked_at: Mapped[datetime]
    detail: Mapped[str | None] = mapped_column(Text)


class AlertRecord(Base):
    """A change worth telling someone about, and whether it was delivered."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    key: Mapped[str | None] = mapped_column(String(255))
    severity: Mapped[str] = mapped_column(String(16))  # info, warning, critical
    old_status: Mapped[str | None] = mapped_column(String(16))
    new_status: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Channels (``webhook``, ``email``) that took it, so a retry skips them (revision 0002).
    delivered_via: Mapped[list[Any] | None]


# --------------------------------------------------------------------------- webhooks


class WebhookOutbox(Base):
    """One fact (an event, a blocklist alert) to POST to one configured webhook endpoint.

    Written in the same transaction as the fact itself (``monitor.store.webhooks``), so a
    committed event is always announced and an event rolled back never is; delivered at
    least once by the daemon's webhook job, retried with back-off (revision 0005).
    """

    __tablename__ = "webhook_outbox"
    __table_args__ = (
        UniqueConstraint("endpoint", "fact_key"),
        Index("ix_webhook_outbox_state_next_attempt", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(64))  # [web.webhooks.NAME]
    topic: Mapped[str] = mapped_column(String(32))  # event kind, or "blocklist"
    #: The event's ``dedupe_key``, or ``alert:<id>``: one announcement per fact and endpoint.
    fact_key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16), default="pending")  # delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- content


class CampaignContent(Base):
    """What the content check knows of one campaign (the ``X-Campaign`` of its messages, or
    the submission user of mail without one): ``pending`` until its first message is
    judged, then ``clear`` or ``held`` (revision 0009, ``monitor.store.content``)."""

    __tablename__ = "campaign_content"

    campaign: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # pending, clear, held
    messages: Mapped[int] = mapped_column(Integer, default=0)  # accepted since first seen
    scans: Mapped[int] = mapped_column(Integer, default=0)  # messages sampled for a scan
    hold_reason: Mapped[str | None] = mapped_column(Text)  # the findings that held it
    held_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ContentScan(Base):
    """One sampled message and what the scanners said of it (revision 0009)."""

    __tablename__ = "content_scans"
    __table_args__ = (Index("ix_content_scans_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    relay_message_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("relay_messages.id", ondelete="SET NULL"),
        index=True,
    )
    queue_id: Mapped[str] = mapped_column(String(32))
    campaign: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(16))  # pending, done
    #: ``pass``, ``hold`` (findings), ``pass-unscanned`` (a scanner was down, fail-open).
    verdict: Mapped[str | None] = mapped_column(String(16))
    spam_score: Mapped[float | None] = mapped_column(Float)
    spam_rules: Mapped[str | None] = mapped_column(Text)
    virus: Mapped[str | None] = mapped_column(String(200))
    errors: Mapped[str | None] = mapped_column(Text)  # scanners that gave no verdict, why
    created_at: Mapped[datetime]
    scanned_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]


class RelayBackoff(Base):
    """One back-off of the relay's traffic shaping: a destination group suspended for one
    source address after a sender-side "slow down" reply, then ramping back (revision 0006).
    Read by ``deliverwatch queue`` (those in force) and the daily report (those of the day).
    """

    __tablename__ = "relay_backoffs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(255))  # a group id, or a domain on its own
    source_ip: Mapped[str] = mapped_column(String(45))  # "" when the system picks it
    started_at: Mapped[datetime] = mapped_column(index=True)
    suspended_until: Mapped[datetime]
    ramp_until: Mapped[datetime] = mapped_column(index=True)
    factor: Mapped[float] = mapped_column(Float)  # share of the limits the ramp starts from
    reply: Mapped[str] = mapped_column(Text)


class RelayWarmup(Base):
    """Messages begun today per source address and destination group while the address
    warms up (revision 0006): a relay that restarts keeps the day's tally, so the daily
    cap holds."""

    __tablename__ = "relay_warmup"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source_ip: Mapped[str] = mapped_column(String(45), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    sent: Mapped[int] = mapped_column(Integer)


class RelayTlsOutcome(Base):
    """Outbound connections per day, destination domain, TLS policy (``dane``, ``sts-enforce``
    or ``opportunistic``) and outcome (``tls``, ``plain``, ``tls-failed``, ``no-mx``): our own
    view of TLS to each destination, beside received TLS-RPT reports (revision 0006)."""

    __tablename__ = "relay_tls_outcomes"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    policy: Mapped[str] = mapped_column(String(32), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


# --------------------------------------------------------------------------- daemon


class DaemonLease(Base):
    """Who runs the daemon on this database (informational; the lock itself is OS/DB level)."""

    __tablename__ = "daemon_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))  # host:pid
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class JobRun(Base):
    """One run of one daemon job: when, how it ended and what it said (revision 0007).

    ``deliverwatch status``, the metrics and the job-failure alert read it; a failed run keeps
    its cause. A run still ``running`` with no end is a run in progress (or a killed daemon's).
    """

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(255))  # host:pid
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))  # running, ok, failed
    summary: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any] | None]


class AlertCondition(Base):
    """One alert rule's state for one scope (a provider group, a mailbox, a job, the queue):
    open while the condition holds, so it is alerted once and "resolved" once (revision 0007).
    """

    __tablename__ = "alert_conditions"
    __table_args__ = (UniqueConstraint("rule", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(255))
    severity: Mapped[str] = mapped_column(String(16))  # warning, critical
    active: Mapped[bool] = mapped_column(Boolean)
    value: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    #: Severity last announced ("" none yet: the rate limit held it back).
    notified: Mapped[str] = mapped_column(String(16), default="")
    resolved_at: Mapped[datetime | None]


class JobPeriod(Base):
    """One run of a singleton job for one period, on PostgreSQL with several daemons.

    The primary key is what makes "once per period" hold across nodes: the node that inserts
    the row runs the job; a row whose ``finished_at`` stays empty belongs to a node that died
    in the middle, and the next leader runs that period again (job bodies are idempotent).
    """

    __tablename__ = "job_periods"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[datetime] = mapped_column(primary_key=True)
    node: Mapped[str] = mapped_column(String(255))  # host:pid
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class ProviderFeedDay(Base):
    """One day of a provider's reputation feed for one subject (issue 17, point 5).

    ``provider`` is ``snds`` (subject: a sending IP) or ``postmaster`` (subject: a domain);
    ``data`` is the parsed record as JSON. A later fetch of the same day replaces it (the
    providers revise their figures for a few days).
    """

    __tablename__ = "provider_feed_days"
    __table_args__ = (
        UniqueConstraint("provider", "subject", "day"),
        Index("ix_provider_feed_days_day", "day"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255))
    day: Mapped[date]
    data: Mapped[dict[str, Any]]
    fetched_at: Mapped[datetime]
