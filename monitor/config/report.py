"""``[report]``: the daily reputation report, its thresholds and its mail delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from monitor.config.smtp import SmtpSettings
from monitor.config.values import ClockTime, Count, MailAddress, WritableDir
from reports.thresholds import Thresholds

__all__ = ["ReportConfig", "ReportEmail", "ReportThresholds"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportThresholds(Thresholds):
    """``[report.thresholds]``: the verdict limits of ``reports.thresholds.Thresholds`` (one list
    of fields, defaults there: the Gmail/Yahoo bulk-sender limits), validated as config."""

    def __post_init__(self) -> None:
        if self.complaint_warn > self.complaint_critical:
            raise ValueError("complaint_warn must not exceed complaint_critical")
        if self.hard_bounce_warn > self.hard_bounce_critical:
            raise ValueError("hard_bounce_warn must not exceed hard_bounce_critical")
        if self.dmarc_pass_critical > self.dmarc_pass_warn:
            raise ValueError("dmarc_pass_critical must not exceed dmarc_pass_warn")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportEmail(SmtpSettings):
    #: Recipients of the daily report; empty: the report is only written to disk.
    to: tuple[MailAddress, ...] = ()
    timeout_seconds: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportConfig:
    #: Write a report every day (the daemon's job); the CLI works either way.
    enabled: bool = True
    #: Folder of the daily reports and their index.html.
    output_dir: WritableDir = Path("var/reports")
    #: Local time (``[daemon] timezone``) of the daily report on the previous day, ``HH:MM``.
    daily_at: ClockTime = "06:00"
    #: Days of history before the report day (trends, comparisons).
    trend_days: int = 30
    #: UTC days of DMARC aggregate reports read for the DMARC section.
    dmarc_days: int = 7
    #: Rows in the top-N tables (domains, IPs, campaigns, diagnostics).
    top_n: int = 10
    #: Reports to keep in output_dir (older ones are deleted); 0 keeps all.
    keep: Count = 0
    thresholds: ReportThresholds = field(default_factory=ReportThresholds)
    email: ReportEmail = field(default_factory=ReportEmail)

    def __post_init__(self) -> None:
        for key in ("trend_days", "dmarc_days", "top_n"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1")
