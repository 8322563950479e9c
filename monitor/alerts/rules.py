"""Alerts on what hurts reputation, evaluated over a sliding window per provider group.

Mailbox providers judge a sender per provider, on the last day or so: a complaint spike at
Gmail gets mail to the spam folder at Gmail while the overall rate still looks fine. So the
rates are computed per provider group over ``window_hours`` (24 h) and compared with the
report's thresholds (``[report.thresholds]``) and the critical levels of ``[alerts.rules]``;
beside them, a mailbox failing polls in a row, a job failing, and the relay's queue backlog
and the age of its oldest message.

Each (rule, scope) is a condition stored in ``alert_conditions``: it is alerted when it
opens (and again when it worsens from warning to critical), stays quiet while it holds, and
sends one "resolved" message when it clears. At most ``max_per_hour`` messages go out per
hour; what is held back is announced at a later run while the condition still holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.channels import AlertChannels, log_alerts
from monitor.alerts.model import Alert, AlertKind, Severity
from monitor.alerts.outbox import add_alerts, deliver_pending
from monitor.store import ops
from monitor.store.db import session_scope
from monitor.store.models import AlertRecord
from monitor.store.queue import queue_summary
from reports.providers import ProviderMap, load_providers
from reports.thresholds import Thresholds

__all__ = ["Finding", "RuleLimits", "evaluate_rules", "findings", "rate_findings", "rules_job"]

log = logging.getLogger(__name__)

RULES = (
    AlertKind.COMPLAINT_RATE,
    AlertKind.HARD_BOUNCE_RATE,
    AlertKind.SENDER_REJECTIONS,
    AlertKind.DEFERRAL_RATE,
    AlertKind.MAILBOX_FAILING,
    AlertKind.JOB_FAILING,
    AlertKind.QUEUE_BACKLOG,
    AlertKind.QUEUE_AGE,
)
_RULE_VALUES = [r.value for r in RULES]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleLimits:
    """The limits of every rule (``[report.thresholds]`` and ``[alerts.rules]``)."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    sender_block_critical: float = 3.0
    deferral_warn: float = 10.0
    deferral_critical: float = 30.0
    mailbox_failures: int = 3
    job_failures: int = 1
    queue_backlog: int = 10_000
    queue_age_minutes: int = 240
    window_hours: int = 24
    max_per_hour: int = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A condition that holds now: ``rule`` for ``scope`` at ``severity``."""

    rule: AlertKind
    scope: str
    severity: Severity
    value: str
    summary: str


def _level(value: float, warn: float, critical: float) -> Severity | None:
    if value > critical:
        return Severity.CRITICAL
    if value > warn:
        return Severity.WARNING
    return None


def rate_findings(
    figures: Iterable[ops.GroupFigures], limits: RuleLimits, *, window: str
) -> list[Finding]:
    """The rate rules over one window's figures; groups under ``min_volume`` are not judged
    (three complaints out of ten messages say nothing about a reputation)."""
    t = limits.thresholds
    out = []
    for g in figures:
        if g.sent < t.min_volume:
            continue
        rules = (
            (AlertKind.COMPLAINT_RATE, g.complaints, t.complaint_warn, t.complaint_critical,
             "complaint rate"),
            (AlertKind.HARD_BOUNCE_RATE, g.hard_bounces, t.hard_bounce_warn,
             t.hard_bounce_critical, "hard-bounce rate"),
            (AlertKind.SENDER_REJECTIONS, g.sender_rejections, t.sender_block_warn,
             limits.sender_block_critical, "sender-side rejections"),
            (AlertKind.DEFERRAL_RATE, g.deferrals, limits.deferral_warn,
             limits.deferral_critical, "deferral rate"),
        )  # fmt: skip
        for rule, count, warn, critical, what in rules:
            pct = 100.0 * count / g.sent
            level = _level(pct, warn, critical)
            if level is None:
                continue
            limit = critical if level is Severity.CRITICAL else warn
            out.append(
                Finding(
                    rule=rule,
                    scope=g.group,
                    severity=level,
                    value=f"{pct:.2f}%",
                    summary=f"{g.group}: {what} {pct:.2f}% over {limit:g}% "
                    f"({count} of {g.sent} sent, last {window})",
                )
            )
    return out


def findings(
    session: Session, limits: RuleLimits, *, now: datetime, providers: ProviderMap | None = None
) -> list[Finding]:
    """Every condition that holds now, from the rows in the database."""
    window = timedelta(hours=limits.window_hours)
    figures = ops.group_figures(
        session, providers or load_providers(), since=now - window, until=now
    )
    out = rate_findings(figures.values(), limits, window=f"{limits.window_hours} h")
    jobs = ops.job_states(session)
    for name, (_lag, failures) in ops.mailbox_lag(
        ops.mailbox_states(session), jobs, now=now
    ).items():
        if failures >= limits.mailbox_failures:
            err = jobs[f"poll-{name}"].error or ""
            worse = failures >= 3 * limits.mailbox_failures
            summary = f"mailbox {name}: {failures} polls failed in a row: {err}"
            out.append(
                Finding(
                    rule=AlertKind.MAILBOX_FAILING,
                    scope=name,
                    severity=Severity.CRITICAL if worse else Severity.WARNING,
                    value=str(failures),
                    summary=summary,
                )
            )
    for name, st in jobs.items():
        if name.startswith("poll-") or st.failures_in_row < limits.job_failures:
            continue
        summary = f"job {name}: {st.failures_in_row} run(s) failed in a row: {st.error or ''}"
        out.append(
            Finding(
                rule=AlertKind.JOB_FAILING,
                scope=name,
                severity=Severity.WARNING,
                value=str(st.failures_in_row),
                summary=summary,
            )
        )
    out += _queue_findings(session, limits, now)
    return out


def _queue_findings(session: Session, limits: RuleLimits, now: datetime) -> list[Finding]:
    summary = queue_summary(session)
    out = []
    if limits.queue_backlog and summary.pending > limits.queue_backlog:
        text = f"relay queue: {summary.pending} recipients pending (limit {limits.queue_backlog})"
        out.append(
            Finding(
                rule=AlertKind.QUEUE_BACKLOG,
                scope="relay",
                severity=Severity.WARNING,
                value=str(summary.pending),
                summary=text,
            )
        )
    if limits.queue_age_minutes and summary.oldest is not None:
        minutes = (now - summary.oldest).total_seconds() / 60
        if minutes > limits.queue_age_minutes:
            text = (
                f"relay queue: oldest pending message waits {minutes:.0f} min "
                f"(limit {limits.queue_age_minutes})"
            )
            out.append(
                Finding(
                    rule=AlertKind.QUEUE_AGE,
                    scope="relay",
                    severity=Severity.CRITICAL,
                    value=f"{minutes:.0f}m",
                    summary=text,
                )
            )
    return out


def _sent_last_hour(session: Session, now: datetime) -> int:
    kinds = [*_RULE_VALUES, AlertKind.RESOLVED.value]
    q = select(func.count()).where(
        AlertRecord.category.in_(kinds), AlertRecord.created_at > now - timedelta(hours=1)
    )
    return int(session.scalar(q) or 0)


def evaluate_rules(
    session: Session, limits: RuleLimits, *, now: datetime, providers: ProviderMap | None = None
) -> tuple[list[Alert], int]:
    """Open, escalate and resolve the conditions; store the alerts this run announces.
    Returns the stored alerts and how many the hourly limit held back."""
    found = findings(session, limits, now=now, providers=providers)
    was_open = {(c.rule, c.scope): c for c in ops.open_conditions(session, _RULE_VALUES)}
    budget = limits.max_per_hour - _sent_last_hour(session, now)
    new: list[Alert] = []
    held = 0
    for f in found:
        row = ops.upsert_condition(session, f.rule.value, f.scope, severity=f.severity.value,
                                   value=f.value, detail=f.summary, now=now)  # fmt: skip
        was_open.pop((f.rule.value, f.scope), None)
        if row.notified == f.severity.value or (
            row.notified == Severity.CRITICAL.value and f.severity is Severity.WARNING
        ):
            continue  # announced at this level or worse: quiet until it clears
        if budget <= 0:
            held += 1
            continue
        budget -= 1
        row.notified = f.severity.value
        new.append(Alert(kind=f.rule, subject=f.scope, summary=f.summary, key=f.rule.value,
                         new_status=f.severity.value, level=f.severity))  # fmt: skip
    for (rule, scope), row in sorted(was_open.items()):
        if row.notified and budget <= 0:
            held += 1  # the resolution waits for the next run, like an opening
            continue
        row.active = False
        row.resolved_at = now
        if row.notified:
            budget -= 1
            summary = f"resolved: {row.detail or rule + ' ' + scope}"
            new.append(Alert(kind=AlertKind.RESOLVED, subject=scope, key=rule, summary=summary,
                             old_status=row.notified, new_status="ok"))  # fmt: skip
    stored = add_alerts(session, new, now=now) if new else []
    return stored, held


def rules_job(
    *,
    factory: sessionmaker[Session],
    now: Callable[[], datetime],
    limits: RuleLimits,
    channels: AlertChannels,
    max_attempts: int,
) -> dict[str, int]:
    """The daemon's hourly job: evaluate, store, log, then deliver what is pending."""
    with session_scope(factory, "evaluating the alert rules") as session:
        stored, held = evaluate_rules(session, limits, now=now())
        active = len(ops.open_conditions(session, _RULE_VALUES))
    log_alerts(stored)
    if held:
        log.warning("alert rules: %d message(s) held back by max_per_hour; sent later", held)
    deliver_pending(factory, channels, now=now, max_attempts=max_attempts)
    return {"alerts": len(stored), "held": held, "active": active}
