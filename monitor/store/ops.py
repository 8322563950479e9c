"""The SQL of operations: job runs, alert conditions, and the figures status, metrics and the
alert rules read (rates per provider group over a window, mailbox cursors, listings).

Every figure is counted in the database and grouped before it reaches Python: a 24-hour
window of a large sender holds millions of rows, the grouped answer a few hundred.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.enums import CheckCategory, CheckStatus, EventKind, Trust
from monitor.store.ingest_repo import cut
from monitor.store.models import (
    AlertCondition,
    CheckState,
    Event,
    JobRun,
    MailboxCursor,
    SentMessage,
)
from reports.providers import OTHER, ProviderMap
from reports.sides import reason_side

__all__ = [
    "GroupFigures",
    "JobState",
    "MailboxState",
    "check_states",
    "conditions",
    "event_counts",
    "finish_job_run",
    "group_figures",
    "job_states",
    "mailbox_states",
    "start_job_run",
    "upsert_condition",
]

#: What a job run may end as (``running``: not ended yet, or its daemon was killed).
OK, FAILED, SKIPPED, RUNNING = "ok", "failed", "skipped", "running"


# --------------------------------------------------------------------------- job runs


def start_job_run(session: Session, job: str, *, node: str, now: datetime) -> int:
    row = JobRun(job=job, node=node, started_at=now, outcome=RUNNING)
    session.add(row)
    session.flush()
    return row.id


def finish_job_run(
    session: Session,
    run_id: int,
    *,
    outcome: str,
    now: datetime,
    summary: str | None = None,
    error: str | None = None,
    counts: dict[str, Any] | None = None,
) -> None:
    row = session.get(JobRun, run_id)
    if row is None:  # pruned under us (a run longer than the retention): nothing to finish
        return
    row.finished_at = now
    row.outcome = outcome
    row.summary = cut(summary, 2000)
    row.error = cut(error, 2000)
    row.counts = counts


@dataclass(frozen=True, slots=True, kw_only=True)
class JobState:
    job: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    summary: str | None
    error: str | None
    counts: dict[str, Any] | None
    node: str
    #: Failed runs since the last good one (0 when the last finished run was good).
    failures_in_row: int
    last_ok_at: datetime | None


def job_states(session: Session, *, recent: int = 50) -> dict[str, JobState]:
    """Each job's last run, its failures in a row and its last good run (from the last
    ``recent`` runs of the job: more failures in a row than that read as ``recent``)."""
    jobs = [j for (j,) in session.execute(select(JobRun.job).distinct())]
    out: dict[str, JobState] = {}
    for job in jobs:
        rows = session.scalars(
            select(JobRun).where(JobRun.job == job).order_by(JobRun.started_at.desc(),
                                                            JobRun.id.desc()).limit(recent)
        ).all()  # fmt: skip
        failures, last_ok = 0, None
        for row in rows:
            if row.outcome in (RUNNING, SKIPPED):
                continue
            if row.outcome == OK:
                last_ok = row.finished_at
                break
            failures += 1
        if last_ok is None:
            last_ok = session.scalar(
                select(func.max(JobRun.finished_at)).where(JobRun.job == job, JobRun.outcome == OK)
            )
        top = rows[0]
        out[job] = JobState(
            job=job,
            started_at=top.started_at,
            finished_at=top.finished_at,
            outcome=top.outcome,
            summary=top.summary,
            error=top.error,
            counts=top.counts,
            node=top.node,
            failures_in_row=failures,
            last_ok_at=last_ok,
        )
    return out


# --------------------------------------------------------------------------- mailboxes


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxState:
    mailbox: str
    last_poll_at: datetime | None
    last_error: str | None
    last_uid: int


def mailbox_states(session: Session) -> dict[str, MailboxState]:
    return {
        c.mailbox: MailboxState(
            mailbox=c.mailbox,
            last_poll_at=c.last_poll_at,
            last_error=c.last_error,
            last_uid=c.last_uid,
        )
        for c in session.scalars(select(MailboxCursor))
    }


# --------------------------------------------------------------------------- checks


def check_states(session: Session, category: CheckCategory) -> list[tuple[str, str, str, str]]:
    """(subject, key, status, detail) of one category, problems first."""
    rows = session.execute(
        select(CheckState.subject, CheckState.key, CheckState.status, CheckState.detail)
        .where(CheckState.category == category)
        .order_by(CheckState.subject, CheckState.key)
    )
    return [(s, k, CheckStatus(st).value, d or "") for s, k, st, d in rows]


# --------------------------------------------------------------------------- rates


@dataclass(slots=True)
class GroupFigures:
    """What one provider group got in a window (counts; rates are the caller's)."""

    group: str
    sent: int = 0
    delivered: int = 0
    complaints: int = 0
    hard_bounces: int = 0
    sender_rejections: int = 0
    deferrals: int = 0
    events: dict[str, int] = field(default_factory=dict)


def _group_of(providers: ProviderMap, domain: str | None, host: str | None) -> str:
    return providers.by_domain(domain) or providers.by_mx(host) or OTHER


def group_figures(
    session: Session, providers: ProviderMap, *, since: datetime, until: datetime
) -> dict[str, GroupFigures]:
    """Sent and the reputation events per provider group over ``[since, until)``.

    Sent: messages whose ``sent_at`` falls in the window (relay queue and send logs).
    Events: unverified ones (forged bounces) never count against us. A domain outside the
    consumer lists joins a group by the MX its mail went to.
    """
    out: dict[str, GroupFigures] = {}

    def get(group: str) -> GroupFigures:
        return out.setdefault(group, GroupFigures(group))

    sent = (
        select(SentMessage.recipient_domain, SentMessage.remote_mx, func.count())
        .where(SentMessage.sent_at >= since, SentMessage.sent_at < until)
        .group_by(SentMessage.recipient_domain, SentMessage.remote_mx)
    )
    for domain, host, n in session.execute(sent):
        get(_group_of(providers, domain, host)).sent += int(n)
    events = (
        select(
            Event.recipient_domain, Event.remote_mta, Event.kind, Event.hard, Event.reason,
            func.count(),
        )
        .where(Event.occurred_at >= since, Event.occurred_at < until)
        .where(Event.trust != Trust.UNVERIFIED)
        .where(Event.kind.in_([EventKind.DELIVERED, EventKind.DEFERRED, EventKind.BOUNCED,
                               EventKind.COMPLAINED]))
        .group_by(Event.recipient_domain, Event.remote_mta, Event.kind, Event.hard, Event.reason)
    )  # fmt: skip
    for edomain, ehost, kind, hard, reason, n in session.execute(events):
        _add_event(get(_group_of(providers, edomain, ehost)), EventKind(kind), hard, reason, int(n))
    return out


def _add_event(g: GroupFigures, kind: EventKind, hard: bool | None, reason: str | None,
               n: int) -> None:  # fmt: skip
    g.events[kind.value] = g.events.get(kind.value, 0) + n
    if kind is EventKind.DELIVERED:
        g.delivered += n
    elif kind is EventKind.COMPLAINED:
        g.complaints += n
    elif kind is EventKind.DEFERRED:
        g.deferrals += n
        if reason_side(reason) == "sender":
            g.sender_rejections += n  # a rate limit or a temporary block is ours to fix
    elif kind is EventKind.BOUNCED:
        if reason_side(reason) == "sender":
            g.sender_rejections += n
        elif hard:
            g.hard_bounces += n


def event_counts(
    session: Session, providers: ProviderMap, *, since: datetime
) -> list[tuple[str, str, str, int]]:
    """(kind, reason, provider group, count) of the events since ``since`` (metrics)."""
    q = (
        select(Event.recipient_domain, Event.remote_mta, Event.kind, Event.reason, func.count())
        .where(Event.occurred_at >= since)
        .group_by(Event.recipient_domain, Event.remote_mta, Event.kind, Event.reason)
    )
    acc: dict[tuple[str, str, str], int] = {}
    for domain, host, kind, reason, n in session.execute(q):
        key = (EventKind(kind).value, reason or "", _group_of(providers, domain, host))
        acc[key] = acc.get(key, 0) + int(n)
    return [(k, r, g, n) for (k, r, g), n in sorted(acc.items())]


# --------------------------------------------------------------------------- conditions


def conditions(session: Session, *, active_only: bool = False) -> list[AlertCondition]:
    q = select(AlertCondition).order_by(AlertCondition.rule, AlertCondition.scope)
    if active_only:
        q = q.where(AlertCondition.active.is_(True))
    return list(session.scalars(q))


def upsert_condition(
    session: Session,
    rule: str,
    scope: str,
    *,
    severity: str,
    value: str,
    detail: str,
    now: datetime,
) -> AlertCondition:
    """The condition row of (rule, scope), made active; ``since`` kept while it stays open."""
    row = session.scalar(
        select(AlertCondition).where(AlertCondition.rule == rule, AlertCondition.scope == scope)
    )
    if row is None:
        row = AlertCondition(rule=rule, scope=scope, notified="", since=now, active=False)
        session.add(row)
    if not row.active:
        row.since = now
        row.notified = ""
        row.resolved_at = None
    row.active = True
    row.severity = severity
    row.value = value
    row.detail = detail or None
    row.last_seen_at = now
    session.flush()
    return row


def open_conditions(session: Session, rules: Iterable[str]) -> list[AlertCondition]:
    return list(
        session.scalars(
            select(AlertCondition).where(
                AlertCondition.active.is_(True), AlertCondition.rule.in_(list(rules))
            )
        )
    )


def relay_results(session: Session, *, since: datetime) -> dict[str, int]:
    """Delivery attempts of the relay since ``since`` by result (delivered, deferred,
    bounced): every relay process records them as events, so one query sees them all."""
    q = (
        select(Event.kind, func.count())
        .where(Event.occurred_at >= since, Event.source == "relay")
        .group_by(Event.kind)
    )
    return {EventKind(k).value: int(n) for k, n in session.execute(q)}


def mailbox_lag(
    mailboxes: dict[str, MailboxState], jobs: dict[str, JobState], *, now: datetime
) -> dict[str, tuple[float | None, int]]:
    """Per mailbox: seconds since its last good poll (None: never) and failures in a row."""
    out: dict[str, tuple[float | None, int]] = {}
    for name in sorted({*mailboxes, *(j.removeprefix("poll-") for j in jobs
                                      if j.startswith("poll-"))}):  # fmt: skip
        job = jobs.get(f"poll-{name}")
        cursor = mailboxes.get(name)
        good = job.last_ok_at if job is not None else None
        if good is None and cursor is not None and cursor.last_error is None:
            good = cursor.last_poll_at
        lag = (now - good).total_seconds() if good is not None else None
        out[name] = (lag, job.failures_in_row if job is not None else 0)
    return out
