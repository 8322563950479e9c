"""What the bulk-sender compliance check reads from the store: the stored one-click checks,
TLS-RPT reports of the big providers, complaints and deliveries over a window, and the
authentication check states (the daily report judges those instead of asking DNS again)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.enums import CheckCategory, EventKind, MessageState, Trust
from monitor.store.models import CheckState, Event, SentMessage, TlsReportRow

__all__ = ["ComplianceFacts", "auth_states", "compliance_facts"]

#: TLS-RPT reporters that are "the big providers" (RFC 8460 organization-name as they send it).
BIG_PROVIDERS = {
    "google": "Gmail",
    "yahoo": "Yahoo",
    "microsoft": "Microsoft (Outlook.com)",
    "apple": "Apple iCloud",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplianceFacts:
    """Measured over ``[since, until)``."""

    since: datetime
    until: datetime
    #: From domain -> (status, detail) of the stored ``one-click`` check (RFC 8058 on our
    #: own mail enclosed in verified bounces and complaints).
    one_click: dict[str, tuple[str, str | None]]
    #: Provider -> (successful sessions, failed sessions), from TLS-RPT reports.
    tls: dict[str, tuple[int, int]]
    complaints: int  # verified or local complaints
    delivered: int  # deliveries (relay events, else the sent log's delivered rows)
    #: Recipient domain -> (deliveries over TLS, in plain text), from the relay's own
    #: delivered events (``details.tls``), for the domains asked about.
    delivery_tls: dict[str, tuple[int, int]]


def _provider(org: str) -> str | None:
    low = org.lower()
    return next((name for key, name in BIG_PROVIDERS.items() if key in low), None)


#: Most recent deliveries read per run to measure TLS (a sample: enough for a share).
TLS_SAMPLE = 20_000


def _delivery_tls(
    session: Session, since: datetime, until: datetime, domains: Sequence[str]
) -> dict[str, tuple[int, int]]:
    seen: dict[str, tuple[int, int]] = {}
    if not domains:
        return seen
    q = (
        select(Event.recipient_domain, Event.details)
        .where(
            Event.kind == EventKind.DELIVERED,
            Event.source == "relay",
            Event.occurred_at >= since,
            Event.occurred_at < until,
            Event.recipient_domain.in_(sorted(set(domains))),
        )
        .order_by(Event.id.desc())
        .limit(TLS_SAMPLE)
    )
    for domain, details in session.execute(q):
        tls = (details or {}).get("tls")
        if isinstance(tls, bool) and domain:
            yes, no = seen.get(str(domain), (0, 0))
            seen[str(domain)] = (yes + tls, no + (not tls))
    return seen


def compliance_facts(
    session: Session, *, since: datetime, until: datetime, provider_domains: Sequence[str] = ()
) -> ComplianceFacts:
    one_click = {
        str(subject): (str(status), detail)
        for subject, status, detail in session.execute(
            select(CheckState.subject, CheckState.status, CheckState.detail).where(
                CheckState.category == CheckCategory.AUTH, CheckState.key == "one-click"
            )
        )
    }
    tls: dict[str, tuple[int, int]] = {}
    reports = select(
        TlsReportRow.organization_name,
        TlsReportRow.total_successful_sessions,
        TlsReportRow.total_failure_sessions,
    ).where(TlsReportRow.start_datetime >= since, TlsReportRow.start_datetime < until)
    for org, ok, failed in session.execute(reports):
        name = _provider(str(org))
        if name is not None:
            good, bad = tls.get(name, (0, 0))
            tls[name] = (good + int(ok or 0), bad + int(failed or 0))
    in_window = (Event.occurred_at >= since, Event.occurred_at < until)
    complaints = session.scalar(
        select(func.count()).where(
            *in_window, Event.kind == EventKind.COMPLAINED, Event.trust != Trust.UNVERIFIED
        )
    )
    delivered = session.scalar(
        select(func.count()).where(
            *in_window, Event.kind == EventKind.DELIVERED, Event.trust != Trust.UNVERIFIED
        )
    )
    if not delivered:  # a send-log import records outcomes as rows, not events
        delivered = session.scalar(
            select(func.count()).where(
                SentMessage.state == MessageState.DELIVERED,
                SentMessage.sent_at >= since,
                SentMessage.sent_at < until,
            )
        )
    return ComplianceFacts(
        delivery_tls=_delivery_tls(session, since, until, provider_domains),
        since=since,
        until=until,
        one_click=one_click,
        tls=tls,
        complaints=int(complaints or 0),
        delivered=int(delivered or 0),
    )


def auth_states(session: Session) -> list[tuple[str, str, str, str | None]]:
    """(check, subject, status, detail) of every stored authentication check."""
    q = select(CheckState.key, CheckState.subject, CheckState.status, CheckState.detail).where(
        CheckState.category == CheckCategory.AUTH
    )
    return [(str(k), str(s), str(st), d) for k, s, st, d in session.execute(q)]
