"""What an alert is: a change worth telling a human about, with its severity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["Alert", "AlertKind", "Severity"]


class AlertKind(StrEnum):
    """Transitions worth telling a human about."""

    NEWLY_LISTED = "newly_listed"
    DELISTED = "delisted"
    SPF_NOW_FAILING = "spf_now_failing"
    DKIM_KEY_CHANGED = "dkim_key_changed"
    DKIM_KEY_MISSING = "dkim_key_missing"
    DMARC_WEAKENED = "dmarc_weakened"
    CHECK_NOW_FAILING = "check_now_failing"
    # the reputation and operations rules (``monitor.alerts.rules``), one per rule
    COMPLAINT_RATE = "complaint_rate"
    HARD_BOUNCE_RATE = "hard_bounce_rate"
    SENDER_REJECTIONS = "sender_rejections"
    DEFERRAL_RATE = "deferral_rate"
    MAILBOX_FAILING = "mailbox_failing"
    JOB_FAILING = "job_failing"
    QUEUE_BACKLOG = "queue_backlog"
    QUEUE_AGE = "queue_age"
    #: A rule's condition cleared (``key`` names the rule).
    RESOLVED = "resolved"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


_SEVERITY = {
    AlertKind.NEWLY_LISTED: Severity.CRITICAL,
    AlertKind.DELISTED: Severity.INFO,
    AlertKind.SPF_NOW_FAILING: Severity.CRITICAL,
    AlertKind.DKIM_KEY_CHANGED: Severity.WARNING,
    AlertKind.DKIM_KEY_MISSING: Severity.CRITICAL,
    AlertKind.DMARC_WEAKENED: Severity.WARNING,
    AlertKind.CHECK_NOW_FAILING: Severity.WARNING,
    AlertKind.COMPLAINT_RATE: Severity.WARNING,
    AlertKind.HARD_BOUNCE_RATE: Severity.WARNING,
    AlertKind.SENDER_REJECTIONS: Severity.WARNING,
    AlertKind.DEFERRAL_RATE: Severity.WARNING,
    AlertKind.MAILBOX_FAILING: Severity.WARNING,
    AlertKind.JOB_FAILING: Severity.WARNING,
    AlertKind.QUEUE_BACKLOG: Severity.WARNING,
    AlertKind.QUEUE_AGE: Severity.WARNING,
    AlertKind.RESOLVED: Severity.INFO,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One event; ``subject`` is the IP/domain/record it concerns, ``key`` the zone or check."""

    kind: AlertKind
    subject: str
    summary: str
    detail: str = ""
    key: str = ""
    old_status: str | None = None
    new_status: str | None = None
    id: int | None = None  # set once stored
    created_at: datetime | None = None
    #: The rules' alerts are a warning or critical by how far over the limit; None: by kind.
    level: Severity | None = None

    @property
    def severity(self) -> Severity:
        return self.level if self.level is not None else _SEVERITY[self.kind]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "subject": self.subject,
            "key": self.key,
            "summary": self.summary,
            "detail": self.detail,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }
