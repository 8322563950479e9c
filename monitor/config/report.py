"""``[report]``: the daily reputation report, its thresholds and its mail delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from monitor.config.secret import Secret

__all__ = ["ReportConfig", "ReportEmail", "ReportThresholds"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportThresholds:
    """Percentages; defaults are the Gmail/Yahoo bulk-sender limits and common practice."""

    complaint_warn: float = 0.1
    complaint_critical: float = 0.3
    hard_bounce_warn: float = 2.0
    hard_bounce_critical: float = 5.0
    #: Bounces for sender-side reasons (blocked, spam, reputation, auth) over sent.
    sender_block_warn: float = 1.0
    dmarc_pass_warn: float = 98.0
    dmarc_pass_critical: float = 90.0
    #: Messages a scope needs before its rates are judged (fewer: "too little volume").
    min_volume: int = 100

    def __post_init__(self) -> None:
        if self.complaint_warn > self.complaint_critical:
            raise ValueError("complaint_warn must not exceed complaint_critical")
        if self.hard_bounce_warn > self.hard_bounce_critical:
            raise ValueError("hard_bounce_warn must not exceed hard_bounce_critical")
        if self.dmarc_pass_critical > self.dmarc_pass_warn:
            raise ValueError("dmarc_pass_critical must not exceed dmarc_pass_warn")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportEmail:
    #: Recipients of the daily report; empty: the report is only written to disk.
    to: tuple[str, ...] = ()
    sender: str = "deliverwatch@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    starttls: bool = True
    username: str = ""
    password: Secret | None = None
    timeout_seconds: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportConfig:
    #: Write a report every day (the daemon's job); the CLI works either way.
    enabled: bool = True
    #: Folder of the daily reports and their index.html.
    output_dir: Path = Path("var/reports")
    #: Local time (``[daemon] timezone``) of the daily report on the previous day, ``HH:MM``.
    daily_at: str = "06:00"
    #: Days of history before the report day (trends, comparisons).
    trend_days: int = 30
    #: UTC days of DMARC aggregate reports read for the DMARC section.
    dmarc_days: int = 7
    #: Rows in the top-N tables (domains, IPs, campaigns, diagnostics).
    top_n: int = 10
    #: Reports to keep in output_dir (older ones are deleted); 0 keeps all.
    keep: int = 0
    thresholds: ReportThresholds = field(default_factory=ReportThresholds)
    email: ReportEmail = field(default_factory=ReportEmail)

    def __post_init__(self) -> None:
        for key in ("trend_days", "dmarc_days", "top_n"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1")
