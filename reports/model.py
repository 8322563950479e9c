"""What the monitor hands the report (``ReportInput``) and what comes out (``DailyReport``).

The input is small pre-grouped rows (the SQL side already counted them), as plain tuples so
the monitor needs no pandas and the reports package no database. The output is plain frozen
dataclasses: the HTML template, the JSON export and the tests read the same figures.

Rates are percentages (``0.25`` means 0.25 %) or ``None`` where the denominator is unknown or
zero: a report must say "not available" rather than divide by zero or show a made-up 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from reports.thresholds import Thresholds

__all__ = [
    "BlocklistRow",
    "CampaignComplaints",
    "CheckRow",
    "ComplianceRow",
    "ContentHoldRow",
    "ContentSection",
    "DailyReport",
    "DiagnosticRow",
    "DmarcFailing",
    "DmarcReporter",
    "DmarcSection",
    "DmarcSource",
    "Figures",
    "HistoryInRow",
    "HistoryRow",
    "ReasonRow",
    "ReportInput",
    "StateRow",
    "SuppressionGrowth",
    "Thresholds",
    "TrendPoint",
    "Unverified",
    "Verdict",
]

# --------------------------------------------------------------------------- input

#: (day "YYYY-MM-DD", provider group, kind, hard, trust, n)
EventTrendRow = tuple[str, str, str, bool, str, int]
#: (day, provider group, n)
SentTrendRow = tuple[str, str, int]
#: (dimension "domain"|"ip"|"campaign", value or None, kind, hard, trust, n)
DimEventRow = tuple[str, str | None, str, bool, str, int]
#: (dimension, value or None, n)
DimSentRow = tuple[str, str | None, int]
#: (reason or None, hard, trust, n)
ReasonInRow = tuple[str | None, bool, str, int]
#: (diagnostic, reason, status, hard, trust, n)
DiagnosticInRow = tuple[str | None, str | None, str | None, bool, str, int]
#: (subject, key, status, since, last checked, detail)
StateRow = tuple[str, str, str, datetime, datetime, str | None]
#: (subject, key, day, status, n)
HistoryInRow = tuple[str, str, str, str, int]
#: (source ip, header_from, dkim evaluated, spf evaluated, count)
DmarcInRow = tuple[str | None, str | None, str | None, str | None, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplianceRow:
    """One bulk-sender requirement (``monitor.checks.compliance``)."""

    key: str
    subject: str
    status: str  # pass, fail, unknown, unmeasured
    detail: str
    fix: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentHoldRow:
    campaign: str
    held_since: str
    held_recipients: int
    findings: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentSection:
    """Scans finished on the report day by verdict, and the campaigns held now."""

    scans: dict[str, int]
    holds: list[ContentHoldRow]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportInput:
    day: date
    timezone: str
    generated_at: datetime
    days: tuple[str, ...]  # the trend window, oldest first, the report day last
    event_trend: list[EventTrendRow] = field(default_factory=list)
    sent_trend: list[SentTrendRow] = field(default_factory=list)
    day_events: list[DimEventRow] = field(default_factory=list)
    day_sent: list[DimSentRow] = field(default_factory=list)
    reasons: list[ReasonInRow] = field(default_factory=list)
    diagnostics: list[DiagnosticInRow] = field(default_factory=list)
    campaign_complaints_window: list[tuple[str | None, int]] = field(default_factory=list)
    suppression_growth: list[tuple[str, str, int]] = field(default_factory=list)
    suppression_totals: list[tuple[str, int]] = field(default_factory=list)
    blocklist_states: list[StateRow] = field(default_factory=list)
    blocklist_history: list[HistoryInRow] = field(default_factory=list)
    auth_states: list[StateRow] = field(default_factory=list)
    auth_history: list[HistoryInRow] = field(default_factory=list)
    dmarc_rows: list[DmarcInRow] = field(default_factory=list)
    dmarc_reporters: list[tuple[str, int, int]] = field(default_factory=list)
    dmarc_days: tuple[str, str] | None = None
    own_ips: tuple[str, ...] = ()
    one_click_unsubscribes: int = 0  # RFC 8058 POSTs received in the window (source "web")
    delist_urls: dict[str, str] = field(default_factory=dict)  # DNSBL zone -> removal page
    #: The relay's back-offs begun that day: (group, source IP, started, suspended until,
    #: ramped back by, factor the ramp started from, the reply that caused it).
    relay_backoffs: list[tuple[str, str, datetime, datetime, datetime, float, str]] = field(
        default_factory=list
    )
    #: The relay's outbound connections that day: (domain, MTA-STS policy, outcome, count).
    relay_tls: list[tuple[str, str, str, int]] = field(default_factory=list)
    #: Received TLS-RPT policies whose period starts that day: (reporting organisation, policy
    #: domain, successful, failed, ((result type, sending MTA IP or "", failed), ...)).
    tlsrpt: list[tuple[str, str, int, int, tuple[tuple[str, str, int], ...]]] = field(
        default_factory=list
    )
    top_n: int = 10
    #: The Gmail/Yahoo bulk-sender requirements as judged when the report was made; None:
    #: not judged (nothing in ``[sending]``).
    compliance: list[ComplianceRow] | None = None
    #: The relay's content check (``[relay.content]``); None: not configured.
    content: ContentSection | None = None


# --------------------------------------------------------------------------- output


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    """Counts and rates for one scope (a day, a provider group, a domain, an IP, a campaign)."""

    key: str = ""
    label: str = ""
    sent: int = 0
    delivered: int = 0
    deferred: int = 0
    bounced: int = 0
    hard_bounced: int = 0
    soft_bounced: int = 0
    complaints: int = 0
    unsubscribes: int = 0
    auto_replies: int = 0
    opens: int = 0  # people's: machines' (mail privacy proxies, link scanners) are apart
    clicks: int = 0
    machine_opens: int = 0
    machine_clicks: int = 0
    #: Part of ``delivered`` derived from the send log (sent minus bounced) where no delivery
    #: was recorded; ``delivered_basis`` says "events", "derived", "mixed" or "none".
    delivered_derived: int = 0
    delivered_basis: str = "none"
    bounce_rate: float | None = None
    hard_bounce_rate: float | None = None
    complaint_rate: float | None = None
    unsubscribe_rate: float | None = None
    open_rate: float | None = None  # people's unique opens / delivered
    click_rate: float | None = None  # people's unique clicks / delivered


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendPoint:
    day: str
    group: str
    sent: int
    delivered: int
    bounced: int
    complaints: int
    bounce_rate: float | None
    complaint_rate: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasonRow:
    reason: str
    side: str  # "recipient", "sender" (our reputation or set-up), "transient", "other"
    hard: int
    soft: int
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnosticRow:
    diagnostic: str
    reason: str
    status: str
    hard: bool
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignComplaints:
    campaign: str
    complaints: int
    delivered: int
    complaint_rate: float | None
    complaints_window: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Unverified:
    bounces_day: int
    complaints_day: int
    bounces_window: int
    complaints_window: int
    diagnostics: list[DiagnosticRow]


@dataclass(frozen=True, slots=True, kw_only=True)
class SuppressionGrowth:
    reasons: list[str]
    days: list[str]
    counts: dict[str, list[int]]  # reason -> per-day new entries
    added_day: dict[str, int]
    totals: dict[str, int]  # active entries now, per reason


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckRow:
    subject: str
    key: str
    status: str
    since: str
    last_checked: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryRow:
    subject: str
    key: str
    bad_days: int
    first_bad: str
    last_bad: str
    current: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BlocklistRow:
    subject: str
    zone: str
    status: str
    since: str
    detail: str
    #: The list's removal (delisting) page from the zone catalogue; "" when it has none.
    delist_url: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcSource:
    source_ip: str
    messages: int
    passed: int
    pass_rate: float | None
    own: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcFailing:
    source_ip: str
    header_from: str
    messages: int
    spf_failed: bool
    dkim_failed: bool
    dmarc_failed: bool  # both failed: the message failed DMARC as a whole
    own: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcReporter:
    org_name: str
    reports: int
    messages: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcSection:
    first_day: str
    last_day: str
    messages: int
    passed: int
    pass_rate: float | None
    own_messages: int
    own_pass_rate: float | None
    sources: list[DmarcSource]
    failing: list[DmarcFailing]
    reporters: list[DmarcReporter]


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    key: str
    title: str
    level: str  # "ok", "warning", "critical", "unknown"
    value: str  # what was measured, in words
    threshold: str  # the published limit it was held against
    action: str  # one line: what to do


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayBackoffRow:
    """One back-off of the relay's traffic shaping (a provider asked us to slow down)."""

    group: str
    source_ip: str  # "" when the system picked the address
    started_at: str
    suspended_until: str
    ramp_until: str
    factor: float  # share of the limits the ramp started from
    reply: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayTlsRow:
    """The relay's connections to one destination that day, by MTA-STS policy and outcome."""

    domain: str
    policy: str  # "sts-enforce" or "opportunistic"
    outcome: str  # "tls", "plain", "tls-failed", "no-mx"
    connections: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsComparisonRow:
    """One policy domain on one day: the relay's own connections (per MTA-STS policy: TLS,
    plain, failed) beside the sessions the receivers' TLS-RPT reports counted, and a verdict
    when the two views disagree (None: they agree, or only one side is known)."""

    domain: str
    ours: tuple[tuple[str, int, int, int], ...]  # (policy, tls, plain, failed)
    reporters: tuple[str, ...]  # organisations whose reports name the domain; () = none
    reported_successful: int
    reported_failed: int
    failure_types: tuple[tuple[str, int], ...]  # (result type, failed sessions), most first
    reported_failed_from_us: int  # failed sessions whose sending MTA IP is one of ours
    verdict: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedRow:
    """A provider's own figures for one day and subject (a domain, an IP), beside ours."""

    provider: str  # "Google Postmaster Tools", "Microsoft SNDS"
    subject: str
    theirs: tuple[tuple[str, str], ...]  # (label, value as shown)
    ours: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyReport:
    day: str
    timezone: str
    generated_at: str
    days: list[str]
    groups: dict[str, str]  # provider group id -> label, report order
    totals: Figures
    previous: Figures  # the trend window before the day, summed (what changed)
    by_provider: list[Figures]
    by_domain: list[Figures]
    by_ip: list[Figures]
    by_campaign: list[Figures]
    reasons: list[ReasonRow]
    diagnostics: list[DiagnosticRow]
    complaining_campaigns: list[CampaignComplaints]
    unverified: Unverified
    suppressions: SuppressionGrowth
    trend: list[TrendPoint]
    blocklists: list[BlocklistRow]
    blocklist_history: list[HistoryRow]
    auth: list[CheckRow]
    auth_history: list[HistoryRow]
    dmarc: DmarcSection | None
    verdicts: list[Verdict]
    thresholds: Thresholds
    volume_known: bool
    compliance: list[ComplianceRow] | None = None
    content: ContentSection | None = None
    #: The relay's back-offs begun that day (its traffic shaping), oldest first.
    relay_backoffs: list[RelayBackoffRow] = field(default_factory=list)
    #: TLS of the relay's connections per destination: our own view beside TLS-RPT.
    relay_tls: list[RelayTlsRow] = field(default_factory=list)
    #: Per policy domain, the relay's connections beside what TLS-RPT reports said that day.
    tls_comparison: list[TlsComparisonRow] = field(default_factory=list)
    #: The providers' own reputation feeds for the day (SNDS, Postmaster Tools), if any.
    feeds: list[FeedRow] = field(default_factory=list)
