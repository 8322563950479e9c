"""The relay's traffic shaping in the database: back-off episodes and the mail that waits.

The delivery engine keeps its throttles in memory (they change with every message); what an
operator or the report must see outlives the process: each back-off episode is a row
(``record_backoff``), and mail sent back to the queue by shaping is a ``deferred`` recipient
whose last reply starts with ``WAITING_PREFIX`` (``monitor.relay.delivery.courier``), counted
here by what it waits for (``waiting_by_cause``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.enums import MessageState
from monitor.store.models import (
    RelayBackoff,
    RelayTlsOutcome,
    RelayWarmup,
    SentMessage,
    TlsReportRow,
)

__all__ = [
    "WAITING_PREFIX",
    "BackoffRow",
    "add_tls_outcomes",
    "add_warmup_counts",
    "backoffs_between",
    "backoffs_in_force",
    "record_backoff",
    "tls_outcomes",
    "tlsrpt_by_domain",
    "waiting_by_cause",
    "warmup_counts",
]

#: How the last reply of a recipient that shaping sent back to the queue begins.
WAITING_PREFIX = "4.7.0 deferred: "


@dataclass(frozen=True, slots=True)
class BackoffRow:
    group: str
    source_ip: str
    started_at: datetime
    suspended_until: datetime
    ramp_until: datetime
    factor: float
    reply: str


def record_backoff(session: Session, row: BackoffRow) -> None:
    session.add(
        RelayBackoff(
            group_key=row.group[:255],
            source_ip=row.source_ip[:45],
            started_at=row.started_at,
            suspended_until=row.suspended_until,
            ramp_until=row.ramp_until,
            factor=row.factor,
            reply=row.reply[:2000],
        )
    )


def _rows(session: Session, *where: object) -> list[BackoffRow]:
    b = RelayBackoff
    q = select(b.group_key, b.source_ip, b.started_at, b.suspended_until, b.ramp_until,
               b.factor, b.reply).where(*where).order_by(b.started_at, b.id)  # type: ignore[arg-type]  # fmt: skip
    return [BackoffRow(*row) for row in session.execute(q)]


def backoffs_in_force(session: Session, now: datetime) -> list[BackoffRow]:
    """Episodes still suspending or ramping at ``now`` (the latest per group and source)."""
    latest: dict[tuple[str, str], BackoffRow] = {}
    for row in _rows(session, RelayBackoff.ramp_until > now):
        latest[(row.group, row.source_ip)] = row
    return list(latest.values())


def backoffs_between(session: Session, start: datetime, end: datetime) -> list[BackoffRow]:
    """Episodes begun in ``[start, end)`` (the report's day)."""
    return _rows(session, RelayBackoff.started_at >= start, RelayBackoff.started_at < end)


def waiting_by_cause(session: Session) -> dict[str, int]:
    """Recipients shaping sent back to the queue, by cause (``rate cap of gmail from
    192.0.2.1``, ``back-off for gmail``, ``warm-up cap of ...``): the reply up to its first
    ``": "`` after the prefix."""
    q = (
        select(SentMessage.last_reply, func.count())
        .where(
            SentMessage.relay_message_id.is_not(None),
            SentMessage.state == MessageState.DEFERRED,
            SentMessage.last_reply.startswith(WAITING_PREFIX, autoescape=True),
        )
        .group_by(SentMessage.last_reply)
    )
    causes: dict[str, int] = {}
    for reply, count in session.execute(q):
        cause = str(reply).removeprefix(WAITING_PREFIX).split(": ", 1)[0]
        causes[cause] = causes.get(cause, 0) + int(count)
    return dict(sorted(causes.items()))


def add_warmup_counts(session: Session, counts: Mapping[tuple[date, str, str], int]) -> None:
    """Add ``(day, group, source) -> messages`` to the stored warm-up tally."""
    for (day, group, source), n in counts.items():
        row = session.get(RelayWarmup, (day, source[:45], group[:255]))
        if row is None:
            session.add(RelayWarmup(day=day, source_ip=source[:45], group_key=group[:255], sent=n))
        else:
            row.sent += n


def warmup_counts(session: Session, day: date) -> list[tuple[date, str, str, int]]:
    """The tally of ``day``: (day, group, source, messages)."""
    w = RelayWarmup
    q = select(w.day, w.group_key, w.source_ip, w.sent).where(w.day == day)
    return [(d, g, ip, int(n)) for d, g, ip, n in session.execute(q)]


def add_tls_outcomes(session: Session, counts: Mapping[tuple[date, str, str, str], int]) -> None:
    """Add ``(day, domain, policy, outcome) -> connections`` to the stored counts."""
    for (day, domain, policy, outcome), n in counts.items():
        key = (day, domain[:255], policy[:32], outcome[:32])
        row = session.get(RelayTlsOutcome, key)
        if row is None:
            session.add(RelayTlsOutcome(day=key[0], domain=key[1], policy=key[2],
                                        outcome=key[3], count=n))  # fmt: skip
        else:
            row.count += n


def tls_outcomes(session: Session, day: date) -> list[tuple[str, str, str, int]]:
    """(domain, policy, outcome, connections) of ``day``, by domain."""
    t = RelayTlsOutcome
    q = select(t.domain, t.policy, t.outcome, t.count).where(t.day == day)
    return [(d, p, o, int(n)) for d, p, o, n in session.execute(q.order_by(t.domain, t.policy))]


#: (reporting organisation, policy domain, successful sessions, failed sessions,
#: ((result type, sending MTA IP or "", failed sessions), ...)) of one received TLS-RPT policy.
TlsRptPolicy = tuple[str, str, int, int, tuple[tuple[str, str, int], ...]]


def tlsrpt_by_domain(session: Session, day: date) -> list[TlsRptPolicy]:
    """The policies of the TLS-RPT reports whose period starts on ``day`` (UTC), one per
    (report, policy domain): RFC 8460 reports cover UTC days, as the relay's own counts do,
    so the two can be set side by side per domain."""
    start = datetime.combine(day, time(), UTC)
    q = select(TlsReportRow.organization_name, TlsReportRow.policies).where(
        TlsReportRow.start_datetime >= start,
        TlsReportRow.start_datetime < start + timedelta(days=1),
    )
    out: list[TlsRptPolicy] = []
    for org, policies in session.execute(q.order_by(TlsReportRow.id)):
        for p in policies or ():
            if not isinstance(p, dict) or not p.get("policy_domain"):
                continue
            failures = tuple(
                (
                    str(f.get("result_type") or "unknown"),
                    str(f.get("sending_mta_ip") or ""),
                    _int(f.get("failed_session_count")),
                )
                for f in p.get("failure_details") or ()
                if isinstance(f, dict)
            )
            out.append((str(org), str(p["policy_domain"]).lower().rstrip("."),
                        _int(p.get("total_successful_sessions")),
                        _int(p.get("total_failure_sessions")), failures))  # fmt: skip
    return out


def _int(value: Any) -> int:
    """A count from a report's JSON; anything else (a hostile report) counts as nothing."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
