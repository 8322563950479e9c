"""The one result shape every DNS-authentication check returns, so the CLI table, the JSON
output, the history store and the alert rules treat SPF, DKIM, DMARC, PTR, MX, MTA-STS and
TLS-RPT alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["ONE_CLICK_FIX", "AuthResult", "CheckKind", "Status", "worst"]


class CheckKind(StrEnum):
    """Which check produced a result."""

    SPF = "spf"
    DKIM = "dkim"
    DMARC = "dmarc"
    PTR = "ptr"
    MX = "mx"
    MTA_STS = "mta-sts"
    TLS_RPT = "tls-rpt"
    #: RFC 8058, judged on our mail enclosed in verified bounces and complaints (not DNS)
    ONE_CLICK = "one-click"


#: What to do when one-click unsubscribe is missing or unsigned.
ONE_CLICK_FIX = (
    "Send every bulk message with List-Unsubscribe: <https://...> and List-Unsubscribe-Post: "
    "List-Unsubscribe=One-Click, both in the DKIM signature's h= list (RFC 8058)."
)


class Status(StrEnum):
    """PASS: nothing to do. WARN: weak, fix soon. FAIL: broken or missing. UNKNOWN: the check
    could not complete (timeout, SERVFAIL), which is never read as either."""

    PASS = "pass"  # noqa: S105 - a check status, not a password
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"


_ORDER = (Status.PASS, Status.WARN, Status.UNKNOWN, Status.FAIL)


def worst(statuses: list[Status]) -> Status:
    """FAIL > UNKNOWN > WARN > PASS."""
    return max(statuses, key=_ORDER.index, default=Status.PASS)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthResult:
    """One check of one subject (``example.com``, ``s1._domainkey.example.com``, an IP)."""

    kind: CheckKind
    subject: str
    status: Status
    findings: tuple[str, ...] = ()  # codes, e.g. "p_none_unenforced"
    record: str | None = None  # what is published now (for change detection)
    fix: str | None = None  # what to publish / do, for the table
    details: dict[str, str] = field(default_factory=dict)

    @property
    def problem(self) -> bool:
        """A failing or weak record: exit status 1."""
        return self.status in (Status.FAIL, Status.WARN)

    @property
    def incomplete(self) -> bool:
        return self.status is Status.UNKNOWN
