"""Typed records that parsers produce: what a message *is* and the facts it carries.

Every parser in this package returns these frozen dataclasses; nothing else crosses the
``parsers`` boundary. They hold no behaviour beyond small derived properties, so the monitor
can store them and the reports can aggregate them without importing any parsing code.

Conventions (STYLE.md section 3): datetimes are timezone-aware UTC; addresses are ``str``,
stripped of ``<>`` and with the domain lower-cased; closed vocabularies are Enums whose value
is the wire/CLI spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "Action",
    "AuthFailureKind",
    "DmarcAggregate",
    "DmarcRecord",
    "Feedback",
    "FeedbackType",
    "Kind",
    "Original",
    "Reason",
    "Recipient",
    "Report",
    "Side",
    "TlsFailureDetail",
    "TlsPolicy",
    "TlsReport",
]


class Kind(StrEnum):
    """What a message is, as decided by ``parsers.parse_message``."""

    BOUNCE = "bounce"  # permanent failure (DSN action failed, or a non-standard bounce)
    DELAY = "delay"  # temporary failure, the MTA will retry (DSN action delayed)
    DELIVERY = "delivery"  # DSN action delivered / relayed / expanded
    COMPLAINT = "complaint"  # ARF abuse/fraud/virus/other/not-spam/opt-out, JMRP
    AUTH_FAILURE = "auth-failure"  # RFC 6591 DMARC/DKIM/SPF failure report
    DMARC_AGGREGATE = "dmarc-aggregate"  # RFC 7489 Appendix C / RFC 9990 XML
    TLS_REPORT = "tls-report"  # RFC 8460 JSON
    AUTO_REPLY = "auto-reply"  # RFC 3834 and vacation/out-of-office texts
    UNKNOWN = "unknown"  # not something we act on, or damaged input (see Report.error)


class Reason(StrEnum):
    """Why a recipient failed: Sisimai 5's taxonomy plus three non-bounce reasons."""

    USER_UNKNOWN = "userunknown"
    HOST_UNKNOWN = "hostunknown"
    MAILBOX_FULL = "mailboxfull"
    FILTERED = "filtered"
    REJECTED = "rejected"
    BLOCKED = "blocked"
    SPAM_DETECTED = "spamdetected"
    POLICY_VIOLATION = "policyviolation"
    EXPIRED = "expired"
    SUSPEND = "suspend"
    NO_RELAYING = "norelaying"
    SECURITY_ERROR = "securityerror"
    SYSTEM_ERROR = "systemerror"
    NETWORK_ERROR = "networkerror"
    TOO_MANY_CONN = "toomanyconn"
    MESG_TOO_BIG = "mesgtoobig"
    EXCEED_LIMIT = "exceedlimit"
    CONTENT_ERROR = "contenterror"
    MAILER_ERROR = "mailererror"
    NOT_ACCEPT = "notaccept"
    HAS_MOVED = "hasmoved"
    SYNTAX_ERROR = "syntaxerror"
    SYSTEM_FULL = "systemfull"
    VIRUS_DETECTED = "virusdetected"
    AUTH_FAILURE = "authfailure"
    BAD_REPUTATION = "badreputation"
    REQUIRE_PTR = "requireptr"
    NOT_COMPLIANT_RFC = "notcompliantrfc"
    SPEEDING = "speeding"
    ON_HOLD = "onhold"
    UNDEFINED = "undefined"
    # not failures
    FEEDBACK = "feedback"
    VACATION = "vacation"
    DELIVERED = "delivered"


class Side(StrEnum):
    """Whose problem a bounce is: the sending side's (its IP, domain, authentication, rate,
    content) or the recipient's (mailbox unknown, full, disabled, moved, refusing)."""

    SENDER = "sender"
    RECIPIENT = "recipient"


class Action(StrEnum):
    """RFC 3464 section 2.3.3 Action field values."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    EXPANDED = "expanded"


class FeedbackType(StrEnum):
    """IANA Feedback-Type registry (RFC 5965 7.3, RFC 6591) plus the pre-RFC ``opt-out``."""

    ABUSE = "abuse"
    FRAUD = "fraud"
    VIRUS = "virus"
    OTHER = "other"
    NOT_SPAM = "not-spam"
    AUTH_FAILURE = "auth-failure"
    OPT_OUT = "opt-out"  # draft-era ARF; means "unsubscribe me"


class AuthFailureKind(StrEnum):
    """RFC 6591 section 3.2 Auth-Failure values."""

    ADSP = "adsp"
    BODYHASH = "bodyhash"
    DMARC = "dmarc"
    REVOKED = "revoked"
    SIGNATURE = "signature"
    SPF = "spf"


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """One recipient a report is about, with everything known of its fate."""

    address: str | None  # None when the report does not disclose it (redacted ARF)
    reason: Reason
    action: Action | None = None
    status: str | None = None  # RFC 3463 X.Y.Z (Sisimai-style X.0.9xx when inferred)
    reply_code: str | None = None  # SMTP reply code, e.g. "550"
    hard: bool | None = None  # None for non-bounces (feedback, vacation, delivered)
    diagnostic: str | None = None
    diagnostic_type: str | None = None  # "smtp", "x-unix", ... (RFC 3464 2.3.6)
    remote_mta: str | None = None
    smtp_command: str | None = None  # the command that failed: RCPT, DATA, MAIL, ...
    original_recipient: str | None = None  # RFC 3464 Original-Recipient
    last_attempt_date: datetime | None = None
    will_retry_until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Original:
    """What we can recover of the message that caused the report (RFC 3462/5965 enclosure)."""

    message_id: str | None = None
    from_: str | None = None
    to: str | None = None
    subject: str | None = None
    date: datetime | None = None
    list_id: str | None = None
    feedback_id: str | None = None  # Google's Feedback-ID
    campaign: str | None = None  # our X-Campaign-ID header
    verp_token: str | None = None  # token from the return path or our tracking header
    return_path: str | None = None
    headers_only: bool = False  # text/rfc822-headers, or a truncated enclosure
    # RFC 2369 / RFC 8058 fields and the DKIM h= lists, so the monitor can tell whether our
    # bulk mail really carries one-click unsubscribe (parsers.unsubscribe judges them)
    list_unsubscribe: str | None = None
    list_unsubscribe_post: str | None = None
    precedence: str | None = None
    dkim_signed: tuple[str, ...] = ()  # each DKIM-Signature's h= tag, lower-cased


@dataclass(frozen=True, slots=True, kw_only=True)
class Feedback:
    """RFC 5965 / RFC 6591 machine-readable part, or what a non-ARF FBL mail tells."""

    feedback_type: FeedbackType | None
    is_arf: bool
    user_agent: str | None = None
    version: str | None = None
    original_mail_from: str | None = None
    original_rcpt_to: tuple[str, ...] = ()
    source_ip: str | None = None  # the address only; redacted forms kept verbatim
    arrival_date: datetime | None = None
    reporting_mta: str | None = None
    reported_domain: tuple[str, ...] = ()
    reported_uri: tuple[str, ...] = ()
    incidents: int | None = None
    removal_recipient: str | None = None
    original_message_id: str | None = None
    # RFC 6591 auth-failure fields
    auth_failure: str | None = None
    dkim_domain: str | None = None
    dkim_identity: str | None = None
    dkim_selector: str | None = None
    dkim_canonicalized_header: str | None = None
    dkim_canonicalized_body: str | None = None
    spf_dns: str | None = None
    delivery_result: str | None = None
    identity_alignment: str | None = None
    extensions: tuple[tuple[str, str], ...] = ()  # unknown fields, in order


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcRecord:
    """One ``<record>`` of an aggregate report."""

    source_ip: str | None  # None when the report left it empty (flagged in ``warnings``)
    count: int
    disposition: str | None
    dkim_evaluated: str | None  # policy_evaluated/dkim: pass|fail
    spf_evaluated: str | None
    header_from: str | None
    envelope_from: str | None = None
    envelope_to: str | None = None
    reasons: tuple[tuple[str, str | None], ...] = ()  # (type, comment) policy overrides
    dkim_results: tuple[
        tuple[str | None, str | None, str | None], ...
    ] = ()  # domain, selector, result
    spf_results: tuple[tuple[str | None, str | None, str | None], ...] = ()  # domain, scope, result
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcAggregate:
    """Report metadata and published policy; rows stream separately (they may be millions)."""

    org_name: str | None
    report_id: str | None
    date_begin: int | None  # epoch seconds, as in the XML
    date_end: int | None
    policy_domain: str | None
    email: str | None = None
    extra_contact_info: str | None = None
    version: str | None = None
    generator: str | None = None
    policy_p: str | None = None
    policy_sp: str | None = None
    policy_np: str | None = None
    policy_pct: int | None = None
    policy_adkim: str | None = None
    policy_aspf: str | None = None
    policy_fo: str | None = None
    policy_psd: str | None = None
    policy_testing: str | None = None
    n_records: int = 0
    total_messages: int = 0
    well_formed: bool = True
    warnings: tuple[str, ...] = ()
    records: tuple[DmarcRecord, ...] | None = None  # only when the caller asked for rows


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsFailureDetail:
    result_type: str
    sending_mta_ip: str | None = None
    receiving_mx_hostname: str | None = None
    receiving_mx_helo: str | None = None
    receiving_ip: str | None = None
    failed_session_count: int = 0
    additional_information: str | None = None
    failure_reason_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsPolicy:
    policy_type: str | None
    policy_domain: str | None
    policy_strings: tuple[str, ...] = ()
    mx_hosts: tuple[str, ...] = ()
    total_successful_sessions: int = 0
    total_failure_sessions: int = 0
    failure_details: tuple[TlsFailureDetail, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsReport:
    organization_name: str | None
    report_id: str | None
    start_datetime: datetime | None
    end_datetime: datetime | None
    contact_info: str | None = None
    policies: tuple[TlsPolicy, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def total_successful_sessions(self) -> int:
        return sum(p.total_successful_sessions for p in self.policies)

    @property
    def total_failure_sessions(self) -> int:
        return sum(p.total_failure_sessions for p in self.policies)


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The result of ``parse_message``: what the message is and whom it concerns."""

    kind: Kind
    recipients: tuple[Recipient, ...] = ()
    original: Original | None = None
    feedback: Feedback | None = None
    dmarc: DmarcAggregate | None = None
    tls: TlsReport | None = None
    error: str | None = None  # why the message could not be understood (kind UNKNOWN)
    family: str | None = None  # which detector decided, e.g. "rfc3464", "lhost:postfix"
    reporting_mta: str | None = None
    arrival_date: datetime | None = None
    message_id: str | None = None  # Message-ID of the report itself
    subject: str | None = None
    from_: str | None = None
    received_at: datetime | None = None  # passed in by the caller; parsers never read the clock
    warnings: tuple[str, ...] = field(default=())
