"""The root ``Config``: one field per top-level TOML table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from monitor.config.checks import AlertsConfig, ChecksConfig, SendingConfig
from monitor.config.core import DaemonConfig, DatabaseConfig, LoggingConfig, SuppressionConfig
from monitor.config.mailbox import MAILBOX_NAME, MailboxConfig
from monitor.config.ops import MetricsConfig, RetentionConfig
from monitor.config.relay import RelayConfig
from monitor.config.report import ReportConfig
from monitor.config.web import WebConfig

__all__ = ["Config"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    suppression: SuppressionConfig = field(default_factory=SuppressionConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    #: IMAP mailboxes to poll, by name (``[mailboxes.bounces]``).
    mailboxes: dict[str, MailboxConfig] = field(default_factory=dict)
    sending: SendingConfig = field(default_factory=SendingConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
    web: WebConfig = field(default_factory=WebConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    #: Where the file was loaded from (None for built-in defaults). Not a TOML key.
    source: Path | None = field(default=None, metadata={"internal": True})

    def __post_init__(self) -> None:
        for name in self.mailboxes:
            if not MAILBOX_NAME.fullmatch(name):
                raise ValueError(
                    f"mailboxes.{name}: a mailbox name is 1-40 letters, digits, '-' or '_'"
                )
